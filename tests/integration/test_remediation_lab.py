"""Remediation end to end against the lab emulator, through the real msgraph-sdk and portal clients.

demo → plan → apply --yes → check: every finding the plan said it could fix passes (the Password Rule
Settings too: test_password_rules_lab.py covers them alone, and a tenant without them), manual
steps are listed and never written; a target changed by hand makes apply refuse with nothing
written (the emulator's request log shows no write); a 500 on the third write stops apply at
that change and rollback restores every object byte for byte; a second apply writes nothing;
no token reaches the plan, the backup, the PowerShell script or the logs.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from auditor.app.audit import ExitPolicy, audit
from auditor.checks.base import Status
from auditor.cli import main
from auditor.endpoints import Endpoints
from auditor.exit_codes import Exit
from auditor.lab.emulator import Faults
from auditor.lab.server import LabServer
from auditor.policy.loader import load_policy
from auditor.readers.collect import CollectOptions, collect
from auditor.readers.credentials import LabTokenCredential
from auditor.readers.reach import Reached
from auditor.remediation.apply import Targets, load_backup
from auditor.remediation.changes import FindingRef, Plan, load_plan, save_plan
from auditor.remediation.planner import make_plan
from auditor.remediation.powershell import render_powershell
from tests.helpers.remediation import apply, rollback

ROOT = Path(__file__).resolve().parents[2]
BASELINE = ROOT / "policies" / "baseline.yaml"
TOKEN = "s3cret-lab-token-do-not-leak-0123456789"
WRITES = {"PUT", "PATCH", "POST", "DELETE"}


@pytest.fixture(name="lab")
def lab_fixture() -> Iterator[LabServer]:
    with LabServer("demo") as server:
        yield server


def credential() -> LabTokenCredential:
    return LabTokenCredential(token=TOKEN)


def snapshot_of(lab: LabServer) -> Any:
    endpoints = Endpoints(graph_url=lab.graph_url, portal_url=lab.portal_url, portal=True)
    return collect(CollectOptions(Reached(endpoints, origin="lab:demo", graph_credential=credential(),
                                          portal_credential=credential())))


def targets(lab: LabServer) -> Targets:
    endpoints = Endpoints(graph_url=lab.graph_url, portal_url=lab.portal_url, portal=True)
    return Targets(endpoints, graph_credential=credential(), portal_credential=credential())


def make(lab: LabServer) -> tuple[Plan, list[Any]]:
    policy = load_policy(BASELINE)
    findings = audit(policy, snapshot_of(lab), ExitPolicy()).findings
    return make_plan(policy, snapshot_of(lab), findings), findings


def tenant_state(lab: LabServer, *, server_stamps: bool = True) -> str:
    """Every object a plan may write, as canonical JSON (the bytes rollback must reproduce).

    Graph stamps the methods policy's `lastModifiedDateTime` itself on every PATCH: no client can
    put it back, so a comparison after that object was written leaves it out (`server_stamps=False`).
    """
    tenant = lab.state.tenant
    methods = dict(tenant.authentication_methods_policy)
    if not server_stamps:
        methods.pop("lastModifiedDateTime", None)
    return json.dumps({"sspr": tenant.password_reset_policies, "onprem": tenant.on_premises_password_reset_policies,
                       "authorization": tenant.authorization_policy, "methods": methods,
                       "group_settings": tenant.group_settings}, sort_keys=True)


def clear_log(lab: LabServer) -> None:
    """Clear the request log once the requests already answered are in it.

    The emulator records a request after its response went out, so the client can be back
    before the record lands: wait until the log stops growing (bounded), then clear it.
    """
    seen = -1
    for _ in range(200):
        count = len(lab.requests())
        if count == seen:
            break
        seen = count
        time.sleep(0.02)
    lab.state.clear_log()


def writes(lab: LabServer) -> list[tuple[str, str]]:
    return [(r.method, r.path) for r in lab.requests() if r.method in WRITES]


def test_demo_plan_apply_check_passes_every_fixable_finding(lab: LabServer, tmp_path: Path) -> None:
    plan, before = make(lab)
    fixable = {ref for change in plan.changes for ref in change.fixes}
    assert len(plan.changes) >= 8 and fixable
    assert {c.kind for c in plan.changes} >= {"portal.sspr_policy", "portal.onprem_writeback",
                                              "graph.authorization_policy", "graph.methods_policy",
                                              "graph.password_rules"}
    clear_log(lab)
    result = apply(plan, targets(lab), yes=True, backup_path=tmp_path / "backup.json")
    assert result.outcome == "applied", result.message
    assert all(c.status == "applied" for c in result.changes)
    # only the planned objects were written, one write per change
    written_paths = {path for _, path in writes(lab)}
    assert written_paths <= {"/api/PasswordReset/PasswordResetPolicies",
                             "/api/PasswordReset/OnPremisesPasswordResetPolicies",
                             "/v1.0/policies/authorizationPolicy", "/v1.0/policies/authenticationMethodsPolicy",
                             *(f"/v1.0/policies/authenticationMethodsPolicy/authenticationMethodConfigurations/{c}"
                               for c in ("Email", "Sms", "Voice", "MicrosoftAuthenticator", "SoftwareOath")),
                             "/v1.0/groupSettings/8b16b029-bb31-48c8-b4df-5ee419596688",
                             "/v1.0/identity/conditionalAccess/policies"}  # the registration policy, report-only
    assert len(writes(lab)) == len(plan.changes)
    after = audit(load_policy(BASELINE), snapshot_of(lab), ExitPolicy()).findings
    status = {FindingRef.of(f): f.status for f in after}
    assert {ref: status.get(ref) for ref in fixable} == dict.fromkeys(fixable, Status.passed)
    still_failing = {FindingRef.of(f) for f in after if f.status == Status.failed}
    assert still_failing == {m.finding for m in plan.manual} & still_failing
    assert {FindingRef.of(f) for f in before if f.status == Status.failed} == fixable | {m.finding for m in plan.manual}


def test_a_target_changed_by_hand_makes_apply_refuse_and_write_nothing(lab: LabServer, tmp_path: Path) -> None:
    plan, _ = make(lab)
    body = httpx.get(f"{lab.portal_url}/PasswordReset/PasswordResetPolicies", headers={"Authorization": "Bearer x"})
    edited = {**body.json(), "registrationReconfirmIntevalInDays": 90}  # the plan says 0 → 180
    assert httpx.put(f"{lab.portal_url}/PasswordReset/PasswordResetPolicies", json=edited,
                     headers={"Authorization": "Bearer x"}).status_code == 200
    state = tenant_state(lab)
    clear_log(lab)
    result = apply(plan, targets(lab), yes=True, backup_path=tmp_path / "backup.json")
    assert result.outcome == "refused"
    assert "stale" in result.message and "reconfirm_days is 90" in result.message
    assert writes(lab) == [] and tenant_state(lab) == state
    assert not (tmp_path / "backup.json").exists()


@pytest.mark.parametrize("fail_after", [2, 7, 8])  # 8: the Password Rule Settings, the last write
def test_a_failure_mid_apply_stops_and_rollback_restores_byte_for_byte(lab: LabServer, tmp_path: Path,
                                                                       fail_after: int) -> None:
    plan, _ = make(lab)
    stamps = fail_after < 8  # the 8th change writes the methods policy, which Graph stamps on every PATCH
    original = tenant_state(lab, server_stamps=stamps)
    lab.faults = Faults(fail_writes_after=fail_after)  # the emulator answers 500 from write number fail_after + 1
    result = apply(plan, targets(lab), yes=True, backup_path=tmp_path / "backup.json")
    failed = str(fail_after + 1)
    assert result.outcome == "failed" and result.failed_change == failed
    assert f"change {failed} failed" in result.message and "HTTP 500" in result.message
    statuses = [c.status for c in result.changes]
    assert statuses == ["applied"] * fail_after + ["failed"] + ["not_attempted"] * (len(plan.changes) - fail_after - 1)
    assert tenant_state(lab, server_stamps=stamps) != original
    lab.faults = Faults()
    restored = rollback(load_backup(tmp_path / "backup.json"), targets(lab), yes=True)
    assert restored.outcome == "restored", restored.message
    assert tenant_state(lab, server_stamps=stamps) == original
    backup = json.loads((tmp_path / "backup.json").read_text())
    sspr = next(o for o in backup["objects"] if o["key"] == "portal:PasswordResetPolicies")
    assert sspr["data"]["json"]["enablementType"] == 1 and "securityQuestions" in sspr["data"]["json"]


def test_applying_the_same_plan_twice_writes_nothing_the_second_time(lab: LabServer, tmp_path: Path) -> None:
    plan, _ = make(lab)
    assert apply(plan, targets(lab), yes=True, backup_path=tmp_path / "1.json").outcome == "applied"
    state = tenant_state(lab)
    clear_log(lab)
    second = apply(plan, targets(lab), yes=True, backup_path=tmp_path / "2.json")
    assert second.outcome == "nothing_to_do" and {c.status for c in second.changes} == {"already"}
    assert writes(lab) == [] and tenant_state(lab) == state


def test_dry_run_reads_only(lab: LabServer, tmp_path: Path) -> None:
    plan, _ = make(lab)
    clear_log(lab)
    result = apply(plan, targets(lab), backup_path=tmp_path / "b.json")
    assert result.outcome == "dry_run" and writes(lab) == [] and not (tmp_path / "b.json").exists()


def test_no_token_in_plan_backup_script_or_logs(lab: LabServer, tmp_path: Path,
                                                caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    plan, _ = make(lab)
    save_plan(plan, tmp_path / "plan.json")
    (tmp_path / "plan.ps1").write_text(render_powershell(load_plan(tmp_path / "plan.json")))
    lab.faults = Faults(fail_writes_after=4)
    apply(plan, targets(lab), yes=True, backup_path=tmp_path / "backup.json")
    lab.faults = Faults()
    rollback(load_backup(tmp_path / "backup.json"), targets(lab), yes=True)
    for name in ("plan.json", "plan.ps1", "backup.json"):
        assert TOKEN not in (tmp_path / name).read_text(), name
    assert TOKEN not in caplog.text
    assert "Bearer" not in (tmp_path / "backup.json").read_text()


def test_cli_plan_apply_check_rollback(lab: LabServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = ["--graph-url", lab.graph_url, "--portal", "--portal-url", lab.portal_url, "--portal-auth", "lab"]
    plan_file, script, backup = tmp_path / "plan.json", tmp_path / "plan.ps1", tmp_path / "backup.json"
    original = tenant_state(lab, server_stamps=False)
    assert main(["plan", str(BASELINE), *source, "--out", str(plan_file), "--powershell", str(script)]) == 4
    out = capsys.readouterr().out
    assert "methods_required: 1 → 2" in out and "plan written" in out
    assert script.read_bytes().startswith(b"\xef\xbb\xbf") and b"\r\n" in script.read_bytes()
    assert main(["apply", str(plan_file)]) == 0
    assert "dry run" in capsys.readouterr().out and tenant_state(lab, server_stamps=False) == original
    assert main(["apply", str(plan_file), "--yes", "--backup", str(backup)]) == 0
    assert "applied" in capsys.readouterr().out
    reports = tmp_path / "reports"
    main(["check", str(BASELINE), *source, "--out", str(reports), "--format", "json,html"])
    report = json.loads((reports / "sspr-audit.json").read_text()) if (reports / "sspr-audit.json").exists() \
        else json.loads(next(reports.glob("*.json")).read_text())
    cloud = [f for f in report["findings"] if not f["check"].startswith("ad.")]
    assert all(f["status"] != "fail" or f["fixable"] is False for f in cloud)
    assert main(["apply", str(plan_file), "--yes", "--backup", str(tmp_path / "again.json")]) == 0
    assert "nothing to do" in capsys.readouterr().out
    assert main(["rollback", str(backup), "--yes"]) == 0
    assert tenant_state(lab, server_stamps=False) == original
    stale = tmp_path / "stale.json"
    assert main(["plan", str(BASELINE), *source, "--out", str(stale)]) == 4
    httpx.patch(f"{lab.graph_url}/policies/authenticationMethodsPolicy",
                json={"policyMigrationState": "preMigration"}, headers={"Authorization": "Bearer x"})
    assert main(["apply", str(stale), "--yes", "--backup", str(tmp_path / "never.json")]) == Exit.refused
    assert "stale" in capsys.readouterr().err and not (tmp_path / "never.json").exists()


def test_a_plan_records_the_auth_it_was_read_with_and_apply_reuses_it(
        lab: LabServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Read with no --auth from loopback URLs, the state is read with the lab's token for Graph and the portal
    alike (the default --portal-auth azure-cli is not what was used): the plan says so, and apply writes with it."""
    plan_file = tmp_path / "plan.json"
    source = ["--graph-url", lab.graph_url, "--portal", "--portal-url", lab.portal_url]
    assert main(["plan", str(BASELINE), *source, "--out", str(plan_file)]) == Exit.changes
    recorded = json.loads(plan_file.read_text())["source"]["endpoints"]
    assert (recorded["auth"], recorded["portal_auth"]) == ("lab", "lab")
    assert (recorded["graph_url"], recorded["portal_url"]) == (lab.graph_url, lab.portal_url)
    capsys.readouterr()
    assert main(["apply", str(plan_file)]) == Exit.ok  # a dry run, with the recorded credentials
    assert "dry run" in capsys.readouterr().out
