"""The Conditional Access policy on registering security info, planned and applied against the lab emulator
through the real msgraph-sdk client: created report-only (targeting the SSPR group, excluding the break-glass
account, granting MFA), read back; rollback deletes it; `enforce: true` turns the created policy on as a change
of its own, and rollback turns it back to report-only."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from auditor.graph_fields import REGISTRATION_POLICY_NAME, REPORT_ONLY
from auditor.lab.server import LabServer
from auditor.remediation.apply import load_backup
from auditor.remediation.changes import GraphCaPolicyChange
from tests.helpers.remediation import apply, rollback
from tests.integration.test_password_rules_lab import clear_log, findings, make, targets, writes

PILOT = "7f3c2a10-5b6d-4e8f-9a1b-2c3d4e5f6a7b"
BREAK_GLASS = "0d6f1e2a-9b3c-4d5e-8f70-1a2b3c4d5e6f"
POLICY = """\
sspr:
  scope: selected
  group: {{id: {pilot}, name: SSPR-Pilot}}
  methods_required: 1
  methods: {{email: true}}
  registration:
    conditional_access:
      require: mfa
      break_glass: [breakglass01@fabrikam-lab.onmicrosoft.com]
      enforce: {enforce}
"""


def policy(tmp_path: Path, enforce: bool) -> Path:
    path = tmp_path / f"registration-{enforce}.yaml"
    path.write_text(POLICY.format(pilot=PILOT, enforce=str(enforce).lower()))
    return path


@pytest.fixture(name="lab")
def lab_fixture() -> Any:
    with LabServer("demo") as server:
        server.state.tenant.conditional_access_policies.clear()  # nothing covers registration
        yield server


def ours(lab: LabServer) -> list[dict[str, Any]]:
    return [p for p in lab.state.tenant.conditional_access_policies if p["displayName"] == REGISTRATION_POLICY_NAME]


def status(lab: LabServer, policy_file: Path) -> set[str]:
    return {f.status.value for f in findings(lab, policy_file)[1] if f.check == "registration.conditional_access"}


def test_plan_creates_the_policy_report_only_and_rollback_deletes_it(lab: LabServer, tmp_path: Path) -> None:
    report_only = policy(tmp_path, enforce=False)
    assert "fail" in status(lab, report_only)
    plan = make(lab, report_only)
    [change] = [c for c in plan.changes if isinstance(c, GraphCaPolicyChange)]
    assert change.policy_id is None and change.setting.new == REPORT_ONLY
    assert change.include_groups == [PILOT] and change.exclude_users == [BREAK_GLASS] and change.built_in == ["mfa"]
    clear_log(lab)
    result = apply(plan, targets(lab), yes=True, backup_path=tmp_path / "backup.json")
    assert result.outcome == "applied", result.message
    assert [w for w in writes(lab) if "conditionalAccess" in w[1]] == [
        ("POST", "/v1.0/identity/conditionalAccess/policies", 201)]
    [created] = ours(lab)
    assert created["state"] == REPORT_ONLY
    assert created["conditions"]["applications"]["includeUserActions"] == ["urn:user:registersecurityinfo"]
    assert created["conditions"]["users"]["includeGroups"] == [PILOT]
    assert created["conditions"]["users"]["excludeUsers"] == [BREAK_GLASS]
    assert created["grantControls"]["builtInControls"] == ["mfa"]
    assert "fail" in status(lab, report_only)  # report-only enforces nothing
    again = make(lab, report_only)  # without enforce the next plan only says how to turn it on
    assert not [c for c in again.changes if isinstance(c, GraphCaPolicyChange)]
    assert any("enforce: true" in step.why_manual for step in again.manual)
    clear_log(lab)
    restored = rollback(load_backup(tmp_path / "backup.json"), targets(lab), yes=True)
    assert restored.outcome == "restored", restored.message
    assert [w for w in writes(lab) if "conditionalAccess" in w[1]] == [
        ("DELETE", f"/v1.0/identity/conditionalAccess/policies/{created['id']}", 204)]
    assert ours(lab) == []


def test_enforce_turns_the_created_policy_on_and_the_check_passes(lab: LabServer, tmp_path: Path) -> None:
    assert apply(make(lab, policy(tmp_path, enforce=False)), targets(lab), yes=True,
                 backup_path=tmp_path / "create.json").outcome == "applied"
    enforced = policy(tmp_path, enforce=True)
    plan = make(lab, enforced)
    [change] = [c for c in plan.changes if isinstance(c, GraphCaPolicyChange)]
    assert change.policy_id == ours(lab)[0]["id"] and (change.setting.old, change.setting.new) == (REPORT_ONLY,
                                                                                                   "enabled")
    assert apply(plan, targets(lab), yes=True, backup_path=tmp_path / "enforce.json").outcome == "applied"
    assert ours(lab)[0]["state"] == "enabled"
    # the live scope passes now (the policy's group is not among what this helper's collect reads: unknown there)
    after = {f.target: f.status.value for f in findings(lab, enforced)[1]
             if f.check == "registration.conditional_access"}
    assert after["in-scope users"] == "pass" and "fail" not in after.values(), after
    restored = rollback(load_backup(tmp_path / "enforce.json"), targets(lab), yes=True)
    assert restored.outcome == "restored", restored.message
    assert ours(lab)[0]["state"] == REPORT_ONLY
