"""Crash-safe apply, tested as SQLite tests crashes (https://www.sqlite.org/testing.html, "crash testing").

`sspr-audit apply --yes` runs as a real process against the lab emulator, through the real msgraph-sdk
and portal clients, and is killed with SIGKILL at crash point 1, then (after `rollback --yes`) at
point 2, and so on until a run passes every point (`SSPR_TEST_CRASH_AT`, auditor/remediation/crashpoints.py):
before and after each journal record, inside the writes that are a GET and a PUT, and between
the five writes to the portal's one SSPR policy object. After each kill, `rollback --yes` must
bring every object back byte for byte, with the backup signed (SSPR_PLAN_KEY) as CI runs it.

A SIGTERM while apply waits on a stalled HTTP request must end it promptly with 128 + 15, the lock
released, and leave a backup rollback restores from (issue 29: it was lost in an asyncio callback,
and a backup cut between two writes to one object was refused as untrustworthy).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from auditor.cli import main
from auditor.exit_codes import Exit
from auditor.lab.emulator import Faults
from auditor.lab.server import LabServer

ROOT = Path(__file__).resolve().parents[2]
KEY = "crash-test-key-0123456789abcdef-0123456789"
WRITES = {"PUT", "PATCH", "POST", "DELETE"}


@pytest.fixture(name="lab")
def lab_fixture() -> Iterator[LabServer]:
    with LabServer("demo") as server:
        yield server


@pytest.fixture(autouse=True)
def keyed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SSPR_LOCK_DIR", str(tmp_path / "locks"))
    monkeypatch.setenv("SSPR_PLAN_KEY", KEY)
    monkeypatch.delenv("SSPR_TEST_CRASH_AT", raising=False)


def source(lab: LabServer) -> list[str]:
    return ["--graph-url", lab.graph_url, "--portal", "--portal-url", lab.portal_url, "--portal-auth", "lab"]


def tenant_state(lab: LabServer) -> str:
    """Every object the plan writes, as the emulator holds it, in canonical JSON.

    Graph stamps the methods policy's `lastModifiedDateTime` itself on every PATCH, and gives a
    re-created groupSetting a new id: no client can put those back, so they are left out.
    """
    tenant = lab.state.tenant
    methods = {k: v for k, v in tenant.authentication_methods_policy.items() if k != "lastModifiedDateTime"}
    return json.dumps({"sspr": tenant.password_reset_policies, "onprem": tenant.on_premises_password_reset_policies,
                       "authorization": tenant.authorization_policy, "methods": methods,
                       "group_settings": [{k: v for k, v in s.items() if k != "id"} for s in tenant.group_settings]},
                      sort_keys=True)


def make_plan(lab: LabServer, tmp_path: Path) -> Path:
    policy = tmp_path / "policy.yaml"
    shutil.copy(ROOT / "policies" / "baseline.yaml", policy)
    plan = tmp_path / "plan.json"
    assert main(["plan", str(policy), *source(lab), "--out", str(plan)]) == Exit.changes
    return plan


def start_apply(plan: Path, backup: Path, **env: str) -> subprocess.Popen[str]:
    # the plan names the endpoints it was made from (the lab's) and how to sign in to them
    return subprocess.Popen([sys.executable, "-m", "auditor.cli", "apply", str(plan), "--yes", "--backup", str(backup)],
                            cwd=ROOT, env={**os.environ, **env}, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def rollback(backup: Path) -> int:
    return main(["rollback", str(backup), "--yes"])


def test_rollback_restores_byte_for_byte_after_a_kill_at_every_crash_point(lab: LabServer, tmp_path: Path,
                                                                           capsys: pytest.CaptureFixture[str]) -> None:
    plan = make_plan(lab, tmp_path)
    changes = len(json.loads(plan.read_text())["changes"])
    original = tenant_state(lab)
    points: list[str] = []
    for point in range(1, 200):
        backup = tmp_path / f"backup-{point}.json"
        process = start_apply(plan, backup, SSPR_TEST_CRASH_AT=str(point))
        out, err = process.communicate(timeout=300)
        if process.returncode == 0:  # fewer than `point` crash points: this run passed them all
            assert f"applied {changes} change(s)" in out, err
            break
        assert process.returncode == -signal.SIGKILL, err
        found = re.search(rf"crash point {point}: (.+)", err)
        assert found, err
        points.append(found.group(1))
        capsys.readouterr()
        # the backup exists from the first crash point on (it is written before the first one)
        assert rollback(backup) == Exit.ok, capsys.readouterr()
        assert tenant_state(lab) == original, f"not restored after a kill at point {point}: {points[-1]}"
    else:
        pytest.fail("apply never ran to its end")
    # every kind of point was hit, the writes inside one object included
    assert points[0] == "the backup is written, before the first change"
    for change in range(1, changes + 1):
        assert f"change {change}: intent recorded, before the write" in points
        assert f"change {change}: written, before the read-back" in points
        assert f"change {change}: read back, before its result is recorded" in points
    assert sum("inside the write" in p for p in points) >= 5  # the portal's SSPR policy: GET, then PUT
    assert points[-1] == "every change applied and recorded"
    # and the run that finished rolls back too
    assert rollback(tmp_path / f"backup-{len(points) + 1}.json") == Exit.ok
    assert tenant_state(lab) == original


def test_sigterm_while_a_write_stalls_stops_apply_and_rollback_restores(lab: LabServer, tmp_path: Path,
                                                                       capsys: pytest.CaptureFixture[str]) -> None:
    plan = make_plan(lab, tmp_path)
    original = tenant_state(lab)
    # the second write (the second change to the portal's one SSPR object) is made, then never answered
    lab.faults = Faults(fail_writes_after=1, fail_writes_with="stall")
    written = lab.state.writes_succeeded
    backup = tmp_path / "backup.json"
    process = start_apply(plan, backup)
    try:
        for _ in range(6000):  # until the stalled write is made: apply now waits for its answer inside asyncio
            if lab.state.writes_succeeded >= written + 2 or process.poll() is not None:
                break
            time.sleep(0.01)
        assert process.poll() is None, process.communicate()
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=120)  # a bound for a hung run, not a timing assertion
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    lab.faults = Faults()
    assert process.returncode == 128 + signal.SIGTERM, err
    assert "interrupted by SIGTERM" in err and "Traceback" not in err
    # the journal says change 2 was being written: rollback takes the lock (it was released) and restores
    assert json.loads(backup.read_text())["journal"][-1]["event"] == "intent"
    capsys.readouterr()
    assert rollback(backup) == Exit.ok, capsys.readouterr()
    assert tenant_state(lab) == original
