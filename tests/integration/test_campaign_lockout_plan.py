"""Planned changes for two issue 35 checks, end to end: plan → apply → the check passes → rollback restores exactly.

The registration campaign (`methods_policy.registration_campaign`) against the lab emulator through the real
msgraph-sdk client: only `registrationEnforcement.authenticationMethodsRegistrationCampaign.state` changes, the
rest of `registrationEnforcement` (targets, snooze, a property this tool does not know) is sent back as read, and
rollback puts the whole object back. Then the cloud half of `hybrid.lockout` against the emulator and the demo's
Samba domain (AD threshold 5, duration 1800 s): smart lockout's threshold and duration go into the one Password
Rule Settings change the password_protection fixer already makes, never a second write of that object.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from samba_fixtures import baseline_policy, collect_ad, demo_dc_fixture, running, settings  # noqa: F401

from auditor.checks.base import Status
from auditor.checks.registry import run_checks
from auditor.endpoints import Endpoints
from auditor.lab.server import LabServer
from auditor.lab_domain.samba import SambaDC
from auditor.policy.loader import load_policy
from auditor.policy.models import Policy
from auditor.readers.collect import CollectOptions, collect
from auditor.readers.credentials import LabTokenCredential
from auditor.remediation.apply import load_backup
from auditor.remediation.changes import GraphMethodsPolicyChange, GraphPasswordRulesChange, Plan
from auditor.remediation.planner import make_plan
from auditor.remediation.session import Targets
from auditor.snapshot.models import Snapshot
from tests.helpers.remediation import apply, rollback

CAMPAIGN_POLICY = """\
methods_policy:
  migration_state: migrationInProgress
  registration_campaign: enabled
"""
UNKNOWN = "enforceRegistrationAfterAllowedSnoozes"  # a beta property (graph-rest-beta): not modelled by this tool


@pytest.fixture(name="lab")
def lab_fixture() -> Iterator[LabServer]:
    with LabServer("demo") as server:
        yield server


def credential() -> LabTokenCredential:
    return LabTokenCredential(token="lab-token")


def cloud(lab: LabServer) -> Snapshot:
    return collect(CollectOptions(Targets(Endpoints(graph_url=lab.graph_url), origin="lab:demo",
                                          graph_credential=credential())))


def settle(lab: LabServer) -> None:
    seen = -1
    for _ in range(200):
        if len(lab.requests()) == seen:
            return
        seen = len(lab.requests())
        time.sleep(0.02)


def writes(lab: LabServer) -> list[tuple[str, str]]:
    settle(lab)
    return [(r.method, r.path) for r in lab.requests() if r.method in ("POST", "PATCH", "DELETE", "PUT")]


def methods_policy(lab: LabServer) -> dict[str, Any]:
    return {k: v for k, v in lab.state.tenant.authentication_methods_policy.items() if k != "lastModifiedDateTime"}


def outcomes(policy: Policy, snapshot: Snapshot, check: str) -> dict[str, Status]:
    return {f.target: f.status for f in run_checks(policy, snapshot) if f.check == check}


# -- the registration campaign ---------------------------------------------------------------------------------

def test_the_campaign_state_alone_is_planned_written_and_rolled_back(lab: LabServer, tmp_path: Path) -> None:
    campaign = lab.state.tenant.authentication_methods_policy["registrationEnforcement"][
        "authenticationMethodsRegistrationCampaign"]
    campaign[UNKNOWN] = True
    before = json.dumps(methods_policy(lab), sort_keys=True)
    path = tmp_path / "policy.yaml"
    path.write_text(CAMPAIGN_POLICY)
    policy = load_policy(path)
    snapshot = cloud(lab)
    assert outcomes(policy, snapshot, "methods_policy.registration_campaign") == {
        "registration campaign": Status.failed}
    plan = make_plan(policy, snapshot, run_checks(policy, snapshot))
    [change] = plan.changes
    assert isinstance(change, GraphMethodsPolicyChange)
    assert change.target == "graph /policies/authenticationMethodsPolicy"
    assert (change.setting.name, change.setting.old, change.setting.new) == (
        "registration_campaign_state", "default", "enabled")
    assert [ref.check for ref in change.fixes] == ["methods_policy.registration_campaign"]

    lab.state.clear_log()
    targets = Targets(Endpoints(graph_url=lab.graph_url), graph_credential=credential())
    result = apply(plan, targets, policy=policy, yes=True, backup_path=tmp_path / "backup.json")
    assert result.outcome == "applied", result.message
    assert writes(lab) == [("PATCH", "/v1.0/policies/authenticationMethodsPolicy")]
    written = methods_policy(lab)
    assert written["registrationEnforcement"] == {"authenticationMethodsRegistrationCampaign": {
        **json.loads(before)["registrationEnforcement"]["authenticationMethodsRegistrationCampaign"],
        "state": "enabled"}}  # targets, snooze and the unknown property kept
    assert written["policyMigrationState"] == "migrationInProgress"
    assert set(outcomes(policy, cloud(lab), "methods_policy.registration_campaign").values()) == {Status.passed}
    assert apply(plan, targets, policy=policy, yes=True, backup_path=tmp_path / "again.json").outcome == "nothing_to_do"

    restored = rollback(load_backup(tmp_path / "backup.json"), targets, yes=True)
    assert restored.outcome == "restored", restored.message
    assert json.dumps(methods_policy(lab), sort_keys=True) == before


def test_a_campaign_changed_by_hand_after_apply_is_left_alone(lab: LabServer, tmp_path: Path) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text(CAMPAIGN_POLICY)
    policy = load_policy(path)
    snapshot = cloud(lab)
    plan = make_plan(policy, snapshot, run_checks(policy, snapshot))
    targets = Targets(Endpoints(graph_url=lab.graph_url), graph_credential=credential())
    assert apply(plan, targets, policy=policy, yes=True, backup_path=tmp_path / "backup.json").outcome == "applied"
    campaign = lab.state.tenant.authentication_methods_policy["registrationEnforcement"][
        "authenticationMethodsRegistrationCampaign"]
    campaign["snoozeDurationInDays"] = 3  # someone's edit after the apply
    kept = rollback(load_backup(tmp_path / "backup.json"), targets, yes=True)
    assert kept.outcome == "partial" and kept.objects[0].status == "changed", kept.message
    assert "registrationEnforcement" in (kept.objects[0].detail or "")
    assert campaign["state"] == "enabled" and campaign["snoozeDurationInDays"] == 3


# -- hybrid.lockout, the cloud half -----------------------------------------------------------------------------

@pytest.fixture(name="demo_domain")
def demo_domain_fixture() -> Iterator[SambaDC]:
    yield from running("demo")  # written to, then rolled back: its own clone


def hybrid_snapshot(lab: LabServer, dc: SambaDC, policy: Policy) -> Snapshot:
    on_premises = collect_ad(dc, policy)
    names = [n for n in type(on_premises).model_fields if n not in ("tool_version", "origin", "created_at")
             and getattr(on_premises, n, None) is not None]
    return cloud(lab).model_copy(update={n: getattr(on_premises, n) for n in names})


def password_rules(plan: Plan) -> GraphPasswordRulesChange:
    [change] = [c for c in plan.changes if isinstance(c, GraphPasswordRulesChange)]
    return change


@pytest.mark.samba
@pytest.mark.roundtrip
def test_smart_lockout_moves_with_ad_in_the_one_password_rules_change(lab: LabServer, demo_domain: SambaDC,
                                                                       tmp_path: Path) -> None:
    policy = baseline_policy()
    before = json.dumps(lab.state.tenant.group_settings, sort_keys=True)
    snapshot = hybrid_snapshot(lab, demo_domain, policy)
    assert outcomes(policy, snapshot, "hybrid.lockout") == {
        "AD lockout threshold against smart lockout": Status.failed,
        "AD lockout duration against smart lockout duration": Status.failed,
        "CN=PSO-Sales,CN=Password Settings Container,CN=System,DC=corp,DC=example,DC=test": Status.passed}
    plan = make_plan(policy, snapshot, run_checks(policy, snapshot))
    change = password_rules(plan)  # one change of the object: password_protection's and hybrid.lockout's values
    values = {s.name: (s.old, s.new) for s in change.settings}
    # AD: threshold 5, twice Entra's at most → 2 (below the policy's 10); AD duration 1800 s → Entra's 1801 s
    assert values["lockout_threshold"] == (20, 2) and values["lockout_duration_seconds"] == (60, 1801)
    assert {(ref.check, ref.target) for ref in change.fixes} >= {
        ("hybrid.lockout", "AD lockout threshold against smart lockout"),
        ("hybrid.lockout", "AD lockout duration against smart lockout duration"),
        ("password_protection", "smart lockout threshold")}
    assert not [m for m in plan.manual if m.finding.check == "hybrid.lockout"]

    targets = Targets(Endpoints(graph_url=lab.graph_url), graph_credential=credential(), ad=settings(demo_domain))
    lab.state.clear_log()
    result = apply(plan, targets, policy=policy, yes=True, backup_path=tmp_path / "backup.json")
    assert result.outcome == "applied", result.message
    assert [w for w in writes(lab) if "groupSettings" in w[1]] == [
        ("PATCH", "/v1.0/groupSettings/8b16b029-bb31-48c8-b4df-5ee419596688")]  # written once
    after = hybrid_snapshot(lab, demo_domain, policy)
    assert set(outcomes(policy, after, "hybrid.lockout").values()) == {Status.passed}
    assert set(outcomes(policy, after, "password_protection").values()) == {Status.passed}

    restored = rollback(load_backup(tmp_path / "backup.json"), targets, yes=True)
    assert restored.outcome == "restored", restored.message
    assert json.dumps(lab.state.tenant.group_settings, sort_keys=True) == before


@pytest.mark.samba
def test_an_ad_threshold_no_smart_lockout_fits_stays_manual(lab: LabServer, demo_dc: SambaDC) -> None:
    policy = baseline_policy()  # read only: the module's demo domain
    snapshot = hybrid_snapshot(lab, demo_dc, policy)
    assert snapshot.directory is not None and snapshot.directory.value is not None
    lockout = snapshot.directory.value.lockout
    assert lockout is not None
    low = snapshot.directory.value.model_copy(update={"lockout": lockout.model_copy(update={"threshold": 1})})
    sysvol = snapshot.sysvol
    snapshot = snapshot.model_copy(update={
        "directory": snapshot.directory.model_copy(update={"value": low}),
        "sysvol": sysvol.model_copy(update={"value": _gpo_bad_count(sysvol.value, 1)}) if sysvol else None})
    plan = make_plan(policy, snapshot, run_checks(policy, snapshot))
    manual = {m.finding.target: m.why_manual for m in plan.manual if m.finding.check == "hybrid.lockout"}
    assert list(manual) == ["AD lockout threshold against smart lockout"]
    assert "no smart lockout threshold of 1 or more is below it" in manual["AD lockout threshold against smart lockout"]
    change = password_rules(plan)  # the duration is still fixed in the cloud
    assert {s.name: s.new for s in change.settings}["lockout_duration_seconds"] == 1801
    assert {s.name: s.new for s in change.settings}["lockout_threshold"] == 10  # password_protection's alone


def _gpo_bad_count(sysvol: Any, count: int) -> Any:
    """The SYSVOL section with the LockoutBadCount of every GPO template that sets one set to `count`."""
    templates = [t.model_copy(update={"lockout_bad_count": count}) if t.lockout_bad_count is not None else t
                 for t in sysvol.templates]
    own = count if sysvol.lockout_bad_count is not None else None
    return sysvol.model_copy(update={"templates": templates, "lockout_bad_count": own})
