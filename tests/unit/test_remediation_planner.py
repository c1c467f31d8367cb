"""The planner: failing findings + policy + snapshot → typed changes and manual steps, pure.

The strongest test simulates the plan on the snapshot (each cloud change's settings use the
snapshot's field names, so this is a field update) and audits the result: every finding the
plan says it fixes must pass, for any mix of drift hypothesis draws.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from auditor.checks.base import Status
from auditor.checks.registry import run_checks
from auditor.exit_codes import Exit
from auditor.policy.models import Policy, Waiver
from auditor.remediation.changes import (
    FindingRef,
    GraphMethodConfigurationChange,
    Plan,
    PlanError,
    load_plan,
    object_key,
    save_plan,
)
from auditor.remediation.describe import describe_plan
from auditor.remediation.planner import make_plan, plan_exit_code, solve_methods, with_fixability
from auditor.snapshot.models import (
    AuthorizationPolicyState,
    MethodConfiguration,
    MethodsPolicyState,
    OnPremisesWritebackState,
    Section,
    Snapshot,
    SsprPolicyState,
)
from tests.unit.cases_cloud import baseline_policy, compliant_methods, compliant_snapshot, compliant_sspr

TODAY = date(2025, 6, 1)


def plan_for(policy: Policy, snapshot: Snapshot) -> Plan:
    return make_plan(policy, snapshot, run_checks(policy, snapshot, today=TODAY))


def simulate(snapshot: Snapshot, plan: Plan) -> Snapshot:
    """The snapshot as it would read after every cloud change of `plan` (a test-only model)."""
    sections: dict[str, Any] = {name: value for name, value in snapshot if isinstance(value, Section)}

    def update(name: str, changes: dict[str, Any]) -> None:
        section = sections[name]
        sections[name] = section.model_copy(update={"value": section.value.model_copy(update=changes)})

    for change in plan.changes:
        values = {s.name: s.new for s in change.settings_list()}
        if change.kind == "portal.sspr_policy":
            update("sspr_policy", values)
        elif change.kind == "portal.onprem_writeback":
            update("onprem_writeback", values)
        elif change.kind == "graph.authorization_policy":
            update("authorization_policy", values)
        elif change.kind == "graph.methods_policy":
            update("methods_policy", values)
        elif change.kind == "graph.password_rules":
            update("password_rules", values | ({"setting_id": "created"} if change.setting_id is None else {}))
        elif isinstance(change, GraphMethodConfigurationChange):
            policy = sections["methods_policy"].value
            configs = [c.model_copy(update=values) if c.id == change.configuration_id else c
                       for c in policy.configurations]
            update("methods_policy", {"configurations": configs})
        else:
            raise AssertionError(f"not a cloud change: {change.kind}")
    return snapshot.model_copy(update=sections)


def failing(policy: Policy, snapshot: Snapshot) -> set[FindingRef]:
    return {FindingRef.of(f) for f in run_checks(policy, snapshot, today=TODAY) if f.status == Status.failed}


# -- simple cases ------------------------------------------------------------------------------

def test_a_compliant_tenant_plans_nothing() -> None:
    plan = plan_for(baseline_policy(), compliant_snapshot())
    assert plan.changes == [] and plan.manual == []
    assert plan_exit_code(plan) == Exit.incomplete  # the AD sections were not collected


def test_one_drift_is_one_change_with_its_old_and_new_value() -> None:
    snapshot = compliant_snapshot(sspr_policy=Section[SsprPolicyState].ok(
        "portal:test", compliant_sspr().model_copy(update={"methods_required": 1})))
    plan = plan_for(baseline_policy(), snapshot)
    [change] = plan.changes
    assert change.kind == "portal.sspr_policy" and change.writer == "portal" and change.reversible
    assert [(s.name, s.old, s.new) for s in change.settings_list()] == [("methods_required", 1, 2)]
    assert [f.check for f in change.fixes] == ["sspr.gates"]
    assert set(change.depends_on) == {"sspr_policy"} and change.depends_on["sspr_policy"].startswith("sha256:")
    assert plan_exit_code(plan) == Exit.changes
    assert any("methods_required: 1 → 2" in line for line in describe_plan(plan))


def test_waived_and_unknown_findings_are_not_planned() -> None:
    policy = baseline_policy()
    waiver = Waiver(check="admin_sspr", reason="break-glass", owner="it", expires=date(2030, 1, 1))
    policy = policy.model_copy(update={"waivers": [waiver]})
    snapshot = compliant_snapshot(
        authorization_policy=Section[AuthorizationPolicyState].ok(
            "graph:test", AuthorizationPolicyState(allowed_to_use_sspr=True)),
        sspr_policy=Section[SsprPolicyState].failed("portal", "HTTP 403"))
    plan = plan_for(policy, snapshot)
    assert plan.changes == []
    assert {u.finding.check for u in plan.unplanned} >= {"sspr.gates", "sspr.scope"}


def test_selected_scope_sets_the_group_by_id_or_asks_for_it() -> None:
    policy = baseline_policy()
    with_id = {**policy.sspr.model_dump(), "scope": "selected",
               "group": {"id": "7f3c2a10-5b6d-4e8f-9a1b-2c3d4e5f6a7b", "name": "Pilot"}}
    plan = plan_for(Policy.model_validate({**policy.model_dump(), "sspr": with_id}), compliant_snapshot())
    [change] = plan.changes
    assert {s.name: s.new for s in change.settings_list()} == {
        "enablement": "selected", "group_ids": ["7f3c2a10-5b6d-4e8f-9a1b-2c3d4e5f6a7b"], "group_name": "Pilot"}
    by_name = {**policy.sspr.model_dump(), "scope": "selected", "group": {"name": "Pilot"}}
    plan = plan_for(Policy.model_validate({**policy.model_dump(), "sspr": by_name}), compliant_snapshot())
    assert plan.changes == []
    assert [m.finding.check for m in plan.manual] == ["sspr.scope"]
    assert "object id" in plan.manual[0].why_manual


def test_writeback_not_supported_is_manual_not_a_doomed_write() -> None:
    snapshot = compliant_snapshot(onprem_writeback=Section[OnPremisesWritebackState].ok(
        "portal:test", OnPremisesWritebackState(writeback_enabled=False, writeback_supported=False,
                                                unlock_enabled=True, unlock_supported=True)))
    plan = plan_for(baseline_policy(), snapshot)
    assert plan.changes == [] and [m.finding.check for m in plan.manual] == ["writeback.enabled"]
    assert "Entra Connect" in plan.manual[0].why_manual
    assert plan_exit_code(plan) == Exit.manual


def test_each_object_field_is_written_by_one_change_only() -> None:
    snapshot = compliant_snapshot(sspr_policy=Section[SsprPolicyState].ok("portal:test", compliant_sspr().model_copy(
        update={"enablement": "selected", "methods_required": 1, "notify_users": False, "security_questions": True,
                "office_phone": True, "reconfirm_days": 0})))
    plan = plan_for(baseline_policy(), snapshot)
    written = [(object_key(c), s.name) for c in plan.changes for s in c.settings_list()]
    assert len(written) == len(set(written))
    assert [c.id for c in plan.changes] == [str(i) for i in range(1, len(plan.changes) + 1)]


# -- the methods solver ---------------------------------------------------------------------------

WANT = {"mobile_app_notification": True, "mobile_app_code": True, "email": True, "mobile_phone": True,
        "office_phone": False, "security_questions": False}


def test_office_phone_off_keeps_voice_for_mobile_by_disallowing_office_phone() -> None:
    methods = compliant_methods().model_copy(update={"configurations": [
        c.model_copy(update={"is_office_phone_allowed": True}) if c.id == "Voice" else c
        for c in compliant_methods().configurations]})
    solution = solve_methods(WANT, "migrationComplete", compliant_sspr(), methods)
    assert solution.configs == {"Voice": {"is_office_phone_allowed": (True, False)}}
    assert solution.legacy == {} and solution.unresolved == {}


def test_app_notification_without_the_app_code_turns_off_only_the_apps_code() -> None:
    """The app's code is its own control (isSoftwareOathEnabled, how-to-authentication-methods-manage "OATH
    tokens"): notifications without codes keep Authenticator enabled (main disabled it, losing notifications)."""
    wanted = {**WANT, "mobile_app_code": False}
    solution = solve_methods(wanted, "migrationComplete", compliant_sspr(), compliant_methods())
    assert solution.unresolved == {}
    assert solution.configs["MicrosoftAuthenticator"] == {"is_software_oath_enabled": (None, False)}
    assert solution.configs["SoftwareOath"] == {"state": ("enabled", "disabled")}


def test_app_code_from_authenticator_turns_on_its_oath_flag() -> None:
    methods = compliant_methods().model_copy(update={"configurations": [
        c.model_copy(update={"is_software_oath_enabled": False}) if c.id == "MicrosoftAuthenticator" else
        c.model_copy(update={"state": "disabled"}) if c.id == "SoftwareOath" else c
        for c in compliant_methods().configurations]})
    solution = solve_methods(WANT, "migrationComplete", compliant_sspr(), methods)
    assert solution.unresolved == {}
    assert solution.configs == {"MicrosoftAuthenticator": {"is_software_oath_enabled": (False, True)}}


def test_before_migration_only_legacy_toggles_change() -> None:
    legacy = compliant_sspr().model_copy(update={"email": False, "security_questions": True})
    solution = solve_methods(WANT, "preMigration", legacy, compliant_methods("preMigration"))
    assert solution.legacy == {"email": (False, True), "security_questions": (True, False)}
    assert solution.configs == {}


def test_without_the_legacy_policy_legacy_governed_methods_are_unresolved() -> None:
    solution = solve_methods(WANT, "migrationInProgress", None, compliant_methods("migrationInProgress"))
    assert "security_questions" in solution.unresolved and "collect with --portal" in solution.unresolved[
        "security_questions"]
    assert "email" not in solution.unresolved  # offered by the methods policy, which is enough


# -- the property: the plan fixes what it says it fixes -------------------------------------------

_state = st.sampled_from(["preMigration", "migrationInProgress", "migrationComplete"])


@st.composite
def drifted(draw: st.DrawFn) -> Snapshot:
    sspr = SsprPolicyState(
        enablement=draw(st.sampled_from(["none", "selected", "all"])), group_ids=["g1"], group_name="G",
        methods_required=draw(st.sampled_from([1, 2])),
        **{m: draw(st.booleans()) for m in WANT},
        questions_to_register=3, questions_to_reset=3,
        registration_required_on_sign_in=draw(st.booleans()), reconfirm_days=draw(st.sampled_from([0, 90, 180])),
        notify_users=draw(st.booleans()), notify_admins=draw(st.booleans()), customize_helpdesk=draw(st.booleans()),
        helpdesk_email_or_url=None)
    configs = [MethodConfiguration(id=c, state=draw(st.sampled_from(["enabled", "disabled"])),
                                   is_office_phone_allowed=draw(st.booleans()) if c == "Voice" else None)
               for c in ("MicrosoftAuthenticator", "SoftwareOath", "Email", "Sms", "Voice", "Fido2")]
    methods = MethodsPolicyState(migration_state=draw(_state), configurations=configs)
    return compliant_snapshot(
        sspr_policy=Section[SsprPolicyState].ok("portal:test", sspr),
        methods_policy=Section[MethodsPolicyState].ok("graph:test", methods),
        authorization_policy=Section[AuthorizationPolicyState].ok(
            "graph:test", AuthorizationPolicyState(allowed_to_use_sspr=draw(st.booleans()))),
        onprem_writeback=Section[OnPremisesWritebackState].ok("portal:test", OnPremisesWritebackState(
            writeback_enabled=draw(st.booleans()), writeback_supported=True, unlock_enabled=draw(st.booleans()),
            unlock_supported=True)))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(snapshot=drifted(), target_state=_state)
def test_every_change_the_plan_promises_fixes_its_finding(snapshot: Snapshot, target_state: str) -> None:
    policy = baseline_policy()
    policy = Policy.model_validate({**policy.model_dump(), "methods_policy": {"migration_state": target_state}})
    findings = run_checks(policy, snapshot, today=TODAY)
    plan = make_plan(policy, snapshot, findings)
    after = failing(policy, simulate(snapshot, plan))
    promised = {ref for change in plan.changes for ref in change.fixes}
    assert not promised & after, f"still failing after the plan: {promised & after}"
    assert after <= {m.finding for m in plan.manual}, "a failure the plan neither fixes nor lists as manual"
    for finding in with_fixability(findings, plan):
        if finding.status == Status.failed:
            assert finding.fixable is (FindingRef.of(finding) in promised)
        else:
            assert finding.fixable is None


# -- the plan file --------------------------------------------------------------------------------

def test_plan_round_trips_and_an_edited_plan_is_refused(tmp_path: Path) -> None:
    snapshot = compliant_snapshot(authorization_policy=Section[AuthorizationPolicyState].ok(
        "graph:test", AuthorizationPolicyState(allowed_to_use_sspr=True)))
    plan = plan_for(baseline_policy(), snapshot)
    path = save_plan(plan, tmp_path / "plan.json")
    assert load_plan(path) == plan
    path.write_text(path.read_text().replace('"new": false', '"new": true'))
    with pytest.raises(PlanError, match="edited after it was written"):
        load_plan(path)
    (tmp_path / "bad.json").write_text("{}")
    with pytest.raises(PlanError, match="not a valid sspr-auditor plan"):
        load_plan(tmp_path / "bad.json")


def test_the_planner_finds_the_right_from_the_typed_subject_never_the_text() -> None:
    """Issue 12: AdminSDHolder has one finding per right under one policy key; the subject tells them apart."""
    from auditor.ad.rights import CHANGE_PASSWORD, RESET_PASSWORD, WRITEBACK_RIGHTS
    from auditor.checks.ad.acl.writeback_rights import _right_of
    from auditor.findings import Finding, Severity, Subject
    from auditor.policy.models import Location

    def holder(right: str | None, expected: str) -> Finding:
        return Finding(check="ad.acl.writeback_rights", title="t", status=Status.failed, severity=Severity.high,
                       target="CN=AdminSDHolder,CN=System,DC=x", expected=expected,
                       policy_location=Location(file="p", line=1, column=1, key="directory.rights.admin_sd_holder"),
                       subject=Subject(right=right) if right else None)

    reset, change = holder("reset_password", "misleading text"), holder("change_password", RESET_PASSWORD.label)
    assert _right_of(reset, list(WRITEBACK_RIGHTS)) == RESET_PASSWORD
    assert _right_of(change, list(WRITEBACK_RIGHTS)) == CHANGE_PASSWORD
    assert _right_of(holder(None, RESET_PASSWORD.label + " for sync"), list(WRITEBACK_RIGHTS)) is None
    assert FindingRef.of(reset) != FindingRef.of(change)


# -- a defaulted key is planned like a written one (issue 32) ----------------------------------

def _baseline_without(tmp_path: Path, *lines: str) -> Policy:
    from auditor.policy.loader import load_policy
    from tests.unit.cases_cloud import BASELINE

    text = BASELINE.read_text(encoding="utf-8")
    for line in lines:
        assert line in text
        text = text.replace(line, "")
    path = tmp_path / "policy.yaml"
    path.write_text(text, encoding="utf-8")
    return load_policy(path)


@pytest.mark.parametrize("written", [True, False])
def test_a_defaulted_reconfirm_interval_is_planned_like_a_written_one(tmp_path: Path, written: bool) -> None:
    policy = (_baseline_without(tmp_path) if written else
              _baseline_without(tmp_path, "    reconfirm_days: 180\n"))
    assert policy.value_at("sspr.registration.reconfirm_days") == 180  # the default is the baseline's value
    snapshot = compliant_snapshot(sspr_policy=Section[SsprPolicyState].ok(
        "portal:test", compliant_sspr().model_copy(update={"reconfirm_days": 90})))
    plan = plan_for(policy, snapshot)
    [change] = plan.changes
    assert change.kind == "portal.sspr_policy"
    assert [(s.name, s.old, s.new) for s in change.settings_list()] == [("reconfirm_days", 90, 180)]
    assert [(f.check, f.target) for f in change.fixes] == [("sspr.registration", "reconfirm interval")]
    assert plan.manual == []
