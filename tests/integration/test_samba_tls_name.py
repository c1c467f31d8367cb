"""A DC reached by IP whose certificate names only its host name: plan, apply and rollback with
--ad-tls-name, the name recorded in the plan and overridable on apply and rollback (issue 11)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from samba_fixtures import fresh_dc, require_samba, state_dir

from auditor.lab_domain import samba
from auditor.lab_domain.samba import SambaDC
from auditor.remediation.changes import Plan, save_plan

pytestmark = [pytest.mark.samba, pytest.mark.roundtrip]

ROOT = Path(__file__).resolve().parents[2]
BASELINE = ROOT / "policies" / "baseline.yaml"


@pytest.fixture(scope="module", name="dc")
def dc_fixture() -> Iterator[SambaDC]:
    dc = fresh_dc("demo")
    samba.reissue_certificate(dc, name_address=False)
    try:
        with dc:
            yield dc
    finally:
        samba.remove(dc)


@pytest.fixture(scope="module", name="graph_url")
def graph_url_fixture() -> Iterator[str]:
    from auditor.lab.server import LabServer

    with LabServer("demo") as server:
        yield server.graph_url


def run(dc: SambaDC, *args: str) -> subprocess.CompletedProcess[str]:
    require_samba()
    env = {**os.environ, "SSPR_LAB_DIR": str(state_dir()), "SSPR_AD_PASSWORD": dc.admin_password}
    return subprocess.run([sys.executable, "-m", "auditor.cli", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=600, env=env)


def make_plan(dc: SambaDC, graph_url: str, plan: Path, *tls: str) -> subprocess.CompletedProcess[str]:
    return run(dc, "plan", str(BASELINE), "--graph-url", graph_url, "--auth", "lab", "--ad-host", dc.address,
               "--ad-user", dc.admin_upn, "--ad-ca-file", str(dc.ca_file), *tls, "--out", str(plan))


def test_the_certificate_does_not_name_the_address(dc: SambaDC, graph_url: str, tmp_path: Path) -> None:
    # without the name the AD read fails closed: nothing in AD is planned
    result = make_plan(dc, graph_url, tmp_path / "plan.json")
    assert "does not name" in result.stdout + result.stderr, result.stdout + result.stderr
    plan = json.loads((tmp_path / "plan.json").read_text())
    assert not [c for c in plan["changes"] if c["kind"].startswith(("ldap", "sysvol"))]


def test_a_plan_made_with_the_tls_name_applies_and_rolls_back(dc: SambaDC, graph_url: str, tmp_path: Path) -> None:
    plan_file = tmp_path / "plan.json"
    made = make_plan(dc, graph_url, plan_file, "--ad-tls-name", dc.fqdn)
    assert made.returncode == 4, made.stdout + made.stderr
    plan = json.loads(plan_file.read_text())
    assert plan["source"]["endpoints"]["ad"]["tls_name"] == dc.fqdn
    ad_changes = [c for c in plan["changes"] if c["kind"].startswith(("ldap", "sysvol"))]
    assert ad_changes, plan["changes"]

    dry = run(dc, "apply", str(plan_file))
    assert dry.returncode == 0, dry.stdout + dry.stderr
    assert f"AD {dc.address} (ldaps, TLS name {dc.fqdn}, CA {dc.ca_file})" in dry.stdout

    # the recorded name is wrong: an override on the command line wins (and is shown)
    plan["source"]["endpoints"]["ad"]["tls_name"] = "wrong.example.test"
    save_plan(Plan.model_validate(plan).sealed(), plan_file)  # the digest covers the source: recompute it
    backup = tmp_path / "backup.json"
    applied = run(dc, "apply", str(plan_file), "--yes", "--backup", str(backup), "--ad-tls-name", dc.fqdn)
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert f"TLS name {dc.fqdn}" in applied.stdout and "wrong.example.test" not in applied.stdout
    assert "FAILED" not in applied.stdout

    refused = run(dc, "rollback", str(backup), "--yes", "--ad-tls-name", "wrong.example.test")
    assert refused.returncode != 0 and "does not name" in refused.stdout + refused.stderr
    restored = run(dc, "rollback", str(backup), "--yes", "--ad-tls-name", dc.fqdn)
    assert restored.returncode == 0, restored.stdout + restored.stderr
    assert "RESTORED" in restored.stdout
