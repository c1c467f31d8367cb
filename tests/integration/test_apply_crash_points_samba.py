"""The crash-point test of test_apply_crash_points.py against a real Samba AD DC: `apply --yes` killed with SIGKILL
at each crash point in turn (an ACE added to a DACL, two password ages, the GPO's GptTmpl.inf and its version in
LDAP and GPT.INI), `rollback --yes` after each, and the raw descriptors, attributes and SYSVOL file read back
byte for byte. The GPO version only moves forward (a lower one would make DCs skip the restored setting)."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from samba_fixtures import fresh_dc
from test_remediation_samba import GPO_DN, raw_state

from auditor.cli import main
from auditor.exit_codes import Exit
from auditor.lab.server import LabServer
from auditor.lab_domain import samba
from auditor.lab_domain.samba import SambaDC
from auditor.remediation.changes import load_plan

pytestmark = pytest.mark.samba
ROOT = Path(__file__).resolve().parents[2]
KEY = "crash-test-key-0123456789abcdef-0123456789"
MOVES_FORWARD = ("GPT.INI", f"{GPO_DN}:versionNumber")


@pytest.fixture(name="dc")
def dc_fixture() -> Iterator[SambaDC]:
    dc = fresh_dc("demo")
    try:
        with dc:
            yield dc
    finally:
        samba.remove(dc)


@pytest.fixture(name="cloud")
def cloud_fixture() -> Iterator[str]:
    with LabServer("baseline") as server:  # a tenant that complies: the plan writes AD, and the cloud's smart
        # lockout that hybrid.lockout derives from the demo domain's lockout policy
        yield server.graph_url


@pytest.fixture(autouse=True)
def keyed(dc: SambaDC, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SSPR_LOCK_DIR", str(tmp_path / "locks"))
    monkeypatch.setenv("SSPR_PLAN_KEY", KEY)
    monkeypatch.setenv("SSPR_AD_PASSWORD", dc.admin_password)
    monkeypatch.delenv("SSPR_TEST_CRASH_AT", raising=False)


def test_rollback_restores_the_directory_byte_for_byte_after_a_kill_at_every_crash_point(
        dc: SambaDC, cloud: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    policy = tmp_path / "policy.yaml"
    shutil.copy(ROOT / "policies" / "baseline.yaml", policy)
    plan = tmp_path / "plan.json"
    assert main(["plan", str(policy), "--graph-url", cloud, "--auth", "lab", "--ad-host", dc.address,
                 "--ad-user", dc.admin_upn, "--ad-ca-file", str(dc.ca_file), "--out", str(plan)]) == Exit.changes
    original = raw_state(dc)
    points: list[str] = []
    for point in range(1, 100):
        backup = tmp_path / f"backup-{point}.json"
        process = subprocess.run([sys.executable, "-m", "auditor.cli", "apply", str(plan), "--yes", "--backup",
                                  str(backup)], cwd=ROOT, env={**os.environ, "SSPR_TEST_CRASH_AT": str(point)},
                                 capture_output=True, text=True, timeout=300, check=False)
        if process.returncode == 0:
            assert f"applied {len(load_plan(plan).changes)} change(s)" in process.stdout, process.stderr
            break
        assert process.returncode == -signal.SIGKILL, process.stderr
        found = re.search(rf"crash point {point}: (.+)", process.stderr)
        assert found, process.stderr
        points.append(found.group(1))
        capsys.readouterr()
        assert main(["rollback", str(backup), "--yes"]) == Exit.ok, capsys.readouterr()
        now = raw_state(dc)
        for key, value in original.items():
            if key not in MOVES_FORWARD:
                assert now[key] == value, f"{key} not restored after a kill at point {point}: {points[-1]}"
        assert int(now[f"{GPO_DN}:versionNumber"]) >= int(original[f"{GPO_DN}:versionNumber"])
    else:
        pytest.fail("apply never ran to its end")
    assert any("GptTmpl.inf written, the GPO version not yet bumped" in p for p in points)
    assert any("versionNumber written, GPT.INI not yet" in p for p in points)
    for change in range(1, 5):
        assert f"change {change}: intent recorded, before the write" in points
        assert f"change {change}: read back, before its result is recorded" in points
