"""The Password Rule Settings writer's plan: only what the failing `password_protection` findings ask for.

An existing object gets exactly the values whose findings fail (and never one that passes); a tenant with no
object gets one created with every template value; an empty custom banned list asked for is a manual step
(the words are a decision); `off` turns the on-premises check off and nothing else. The property test runs the
plan on the snapshot (a field update, as test_remediation_planner.py does) and audits again: every promised
fix passes, and nothing that passed or was unknown before fails after.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from auditor.checks.base import Status
from auditor.checks.registry import run_checks
from auditor.graph_fields import PASSWORD_RULE_DEFAULTS, PASSWORD_RULE_TEMPLATE, password_rule_values
from auditor.lab.emulator import SETTING_TEMPLATES
from auditor.policy.models import Policy
from auditor.remediation.changes import FindingRef, GraphPasswordRulesChange, Plan, object_key
from auditor.remediation.describe import describe_plan
from auditor.remediation.planner import make_plan
from auditor.remediation.powershell import render_powershell
from auditor.remediation.writers.graph import GraphWriter, _same_rules, _values_with
from auditor.snapshot.models import PasswordRulesState, Section, Snapshot
from tests.unit.cases_cloud import baseline_policy, compliant_snapshot

TODAY = date(2025, 6, 1)
SETTING_ID = "8b16b029-bb31-48c8-b4df-5ee419596688"


def rules(**changes: Any) -> PasswordRulesState:
    base = PasswordRulesState(setting_id=SETTING_ID, banned_on_premises_enabled=True, banned_on_premises_mode="Enforce",
                              custom_list_enabled=True, custom_list_size=2, lockout_threshold=10,
                              lockout_duration_seconds=60)
    return base.model_copy(update=changes)


def snapshot_with(state: PasswordRulesState) -> Snapshot:
    return compliant_snapshot(password_rules=Section[PasswordRulesState].ok("graph:GET /groupSettings", state))


def policy_with(**protection: Any) -> Policy:
    """The baseline with other password_protection values (in memory: its findings carry no policy key, so the
    planner must tell them apart without one, as it must for a setting a policy file leaves to its default)."""
    data = baseline_policy().model_dump()
    data["password_protection"] = {**data["password_protection"], **protection}
    return Policy.model_validate(data)


def plan_for(policy: Policy, snapshot: Snapshot) -> Plan:
    return make_plan(policy, snapshot, run_checks(policy, snapshot, today=TODAY))


def rules_changes(plan: Plan) -> list[GraphPasswordRulesChange]:
    return [c for c in plan.changes if isinstance(c, GraphPasswordRulesChange)]


def settings_of(change: GraphPasswordRulesChange) -> dict[str, tuple[Any, Any]]:
    return {s.name: (s.old, s.new) for s in change.settings}


def protection_findings(policy: Policy, snapshot: Snapshot) -> dict[FindingRef, Status]:
    return {FindingRef.of(f): f.status for f in run_checks(policy, snapshot, today=TODAY)
            if f.check == "password_protection"}


def simulate(snapshot: Snapshot, plan: Plan) -> Snapshot:
    """The snapshot as it reads after the plan's Password Rule Settings change (a created object gets an id)."""
    section = snapshot.password_rules
    assert section is not None and section.value is not None
    state = section.value
    for change in rules_changes(plan):
        update: dict[str, Any] = {s.name: s.new for s in change.settings}
        if change.setting_id is None:
            update |= {"setting_id": "created", "custom_list_size": 0}
        state = state.model_copy(update=update)
    return snapshot.model_copy(update={"password_rules": section.model_copy(update={"value": state})})


# -- what it plans ---------------------------------------------------------------------------------

def test_a_threshold_above_the_maximum_is_set_to_the_maximum_and_nothing_else() -> None:
    plan = plan_for(policy_with(lockout_threshold_at_most=10), snapshot_with(rules(lockout_threshold=20)))
    [change] = plan.changes
    assert isinstance(change, GraphPasswordRulesChange) and change.writer == "graph" and change.reversible
    assert change.setting_id == SETTING_ID and change.target == f"graph /groupSettings/{SETTING_ID}"
    assert settings_of(change) == {"lockout_threshold": (20, 10)}
    assert [ref.target for ref in change.fixes] == ["smart lockout threshold"]
    assert set(change.depends_on) == {"password_rules"}
    assert object_key(change) == f"graph:groupSettings/{PASSWORD_RULE_TEMPLATE}"
    assert any("lockout_threshold: 20 → 10" in line for line in describe_plan(plan))


def test_audit_mode_and_a_short_duration_are_one_change_of_two_values() -> None:
    plan = plan_for(baseline_policy(), snapshot_with(rules(banned_on_premises_mode="Audit",
                                                           lockout_duration_seconds=30)))
    [change] = rules_changes(plan)
    assert settings_of(change) == {"banned_on_premises_mode": ("Audit", "Enforce"),
                                   "lockout_duration_seconds": (30, 60)}
    assert {ref.target for ref in change.fixes} == {"password protection on-premises",
                                                     "smart lockout duration (seconds)"}


def test_off_turns_the_on_premises_check_off_and_leaves_the_mode() -> None:
    [change] = rules_changes(plan_for(policy_with(on_premises="off"), snapshot_with(rules())))
    assert settings_of(change) == {"banned_on_premises_enabled": (True, False)}


def test_enforce_on_a_disabled_check_in_enforce_mode_only_enables_it() -> None:
    [change] = rules_changes(plan_for(baseline_policy(), snapshot_with(rules(banned_on_premises_enabled=False))))
    assert settings_of(change) == {"banned_on_premises_enabled": (False, True)}


def test_an_empty_custom_list_asked_for_is_manual_with_the_reason() -> None:
    policy = policy_with(custom_banned_list=True)
    plan = plan_for(policy, snapshot_with(rules(custom_list_enabled=False, custom_list_size=0)))
    assert rules_changes(plan) == []
    [step] = [m for m in plan.manual if m.finding.check == "password_protection"]
    assert step.finding.target == "custom banned password list"
    assert "which words to ban" in step.why_manual and "no writer" not in step.why_manual


def test_a_custom_list_with_words_is_switched_on_or_off_as_asked() -> None:
    [on] = rules_changes(plan_for(policy_with(custom_banned_list=True),
                                  snapshot_with(rules(custom_list_enabled=False, custom_list_size=3))))
    assert settings_of(on) == {"custom_list_enabled": (False, True)}
    [off] = rules_changes(plan_for(policy_with(custom_banned_list=False), snapshot_with(rules())))
    assert settings_of(off) == {"custom_list_enabled": (True, False)}


def test_a_compliant_or_unread_setting_plans_nothing() -> None:
    assert rules_changes(plan_for(baseline_policy(), snapshot_with(rules()))) == []
    unread = compliant_snapshot(password_rules=Section[PasswordRulesState].failed("graph:GET /groupSettings", "403"))
    plan = plan_for(baseline_policy(), unread)
    assert rules_changes(plan) == [] and any(u.finding.check == "password_protection" for u in plan.unplanned)


def test_no_object_means_creating_one_with_every_value() -> None:
    policy = policy_with(lockout_threshold_at_most=5, custom_banned_list=None)
    plan = plan_for(policy, snapshot_with(PasswordRulesState()))
    [change] = plan.changes
    assert isinstance(change, GraphPasswordRulesChange) and change.setting_id is None
    assert "template 5cf42378-d67d-4f36-ba46-e8b86229381d" in change.target and change.reversible
    assert settings_of(change) == {
        "banned_on_premises_enabled": (None, True), "banned_on_premises_mode": (None, "Enforce"),
        "custom_list_enabled": (None, True),  # the policy does not ask: the template's default
        "lockout_threshold": (None, 5), "lockout_duration_seconds": (None, 60)}
    assert {ref.target for ref in change.fixes} == {"password protection on-premises", "smart lockout threshold"}
    assert "rollback deletes it" in (change.note or "")
    assert password_rule_values({s.name: s.new for s in change.settings}) == [
        ("BannedPasswordCheckOnPremisesMode", "Enforce"), ("EnableBannedPasswordCheckOnPremises", "True"),
        ("EnableBannedPasswordCheck", "True"), ("LockoutDurationInSeconds", "60"), ("LockoutThreshold", "5"),
        ("BannedPasswordList", "")]


def test_creating_keeps_what_passing_checks_saw() -> None:
    """The check reads an absent custom list as off: a new object must not switch it on behind a passing finding."""
    policy = policy_with(custom_banned_list=False, lockout_duration_seconds_at_least=120)
    [change] = rules_changes(plan_for(policy, snapshot_with(PasswordRulesState())))
    assert settings_of(change)["custom_list_enabled"] == (None, False)
    assert settings_of(change)["lockout_threshold"] == (None, 10)  # passes on the default: stays it


def test_creating_for_an_unknown_on_premises_check_takes_the_policys_mode() -> None:
    policy = policy_with(on_premises="off", lockout_threshold_at_most=5)
    snapshot = snapshot_with(PasswordRulesState())
    before = protection_findings(policy, snapshot)
    [change] = rules_changes(plan_for(policy, snapshot))
    assert settings_of(change)["banned_on_premises_enabled"] == (None, False)
    assert [ref.target for ref in change.fixes] == ["smart lockout threshold"]
    after = protection_findings(policy, simulate(snapshot, plan_for(policy, snapshot)))
    on_premises = next(ref for ref in before if ref.target == "password protection on-premises")
    assert before[on_premises] == Status.unknown and after[on_premises] == Status.passed


def test_the_plan_file_round_trips_a_creation_and_powershell_covers_both_kinds(tmp_path: Any) -> None:
    from auditor.remediation.changes import load_plan, save_plan

    created = plan_for(baseline_policy(), snapshot_with(PasswordRulesState()))
    assert load_plan(save_plan(created, tmp_path / "plan.json")) == created
    script = render_powershell(created)
    assert "New-MgGroupSetting -TemplateId '5cf42378-d67d-4f36-ba46-e8b86229381d'" in script
    assert "@{ Name = 'BannedPasswordList'; Value = '' }" in script and "Directory.ReadWrite.All" in script
    updated = render_powershell(plan_for(baseline_policy(), snapshot_with(rules(lockout_threshold=20))))
    assert f"Update-MgGroupSetting -GroupSettingId '{SETTING_ID}' -Values $values" in updated
    assert "if ($current -ne '20')" in updated and "'LockoutThreshold' = '10'" in updated
    assert "GroupSettings.ReadWrite.All" in updated and "Microsoft.Graph.Groups" in updated


# -- the property ----------------------------------------------------------------------------------

_maybe_int = st.one_of(st.none(), st.integers(1, 60))


@st.composite
def rules_state(draw: st.DrawFn) -> PasswordRulesState:
    if draw(st.booleans()):
        return PasswordRulesState()
    return PasswordRulesState(
        setting_id=SETTING_ID, banned_on_premises_enabled=draw(st.one_of(st.none(), st.booleans())),
        banned_on_premises_mode=draw(st.sampled_from([None, "Audit", "Enforce", "enforce", "Enforced"])),
        custom_list_enabled=draw(st.one_of(st.none(), st.booleans())), custom_list_size=draw(st.integers(0, 3)),
        lockout_threshold=draw(_maybe_int), lockout_duration_seconds=draw(st.one_of(st.none(), st.integers(5, 300))))


@st.composite
def protection(draw: st.DrawFn) -> dict[str, Any]:
    return {"on_premises": draw(st.sampled_from(["enforce", "audit", "off"])),
            "custom_banned_list": draw(st.sampled_from([None, True, False])),
            "lockout_threshold_at_most": draw(st.integers(1, 50)),
            "lockout_duration_seconds_at_least": draw(st.integers(5, 300))}


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(state=rules_state(), wanted=protection())
def test_the_plan_fixes_what_it_promises_and_breaks_nothing(state: PasswordRulesState, wanted: dict[str, Any]) -> None:
    policy = policy_with(**wanted)
    snapshot = snapshot_with(state)
    plan = plan_for(policy, snapshot)
    before = protection_findings(policy, snapshot)
    after = protection_findings(policy, simulate(snapshot, plan))
    promised = {ref for change in rules_changes(plan) for ref in change.fixes}
    assert all(after[ref] == Status.passed for ref in promised), (promised, after)
    manual = {m.finding for m in plan.manual}
    for ref, status in before.items():
        if status == Status.failed:
            assert ref in promised or ref in manual, ref
        else:
            assert after[ref] != Status.failed, ("a change broke a finding that did not fail", ref)
    for change in rules_changes(plan):  # never a value whose finding passes, on an existing object
        if change.setting_id is not None:
            assert all(s.old != s.new for s in change.settings)
            assert change.fixes


# -- the writer's pure parts -----------------------------------------------------------------------

STORED = [{"name": "BannedPasswordCheckOnPremisesMode", "value": "Audit"},
          {"name": "EnableBannedPasswordCheckOnPremises", "value": "True"},
          {"name": "EnableBannedPasswordCheck", "value": "True"},
          {"name": "LockoutDurationInSeconds", "value": "60"},
          {"name": "LockoutThreshold", "value": "20"},
          {"name": "BannedPasswordList", "value": "fabrikam\tspring2024\u00a0 "}]


def test_the_patch_body_keeps_every_other_value_byte_for_byte() -> None:
    values = _values_with(STORED, {"LockoutThreshold": "10"})
    assert values == [(v["name"], "10" if v["name"] == "LockoutThreshold" else v["value"]) for v in STORED]
    partial = _values_with(STORED[:2], {"LockoutThreshold": "10"})  # Graph takes the whole collection
    assert [name for name, _ in partial] == [name for name, _ in PASSWORD_RULE_DEFAULTS[:2]] + [
        "EnableBannedPasswordCheck", "LockoutDurationInSeconds", "LockoutThreshold", "BannedPasswordList"]
    assert dict(partial)["LockoutThreshold"] == "10" and dict(partial)["BannedPasswordList"] == ""


def test_state_of_reads_old_new_and_a_replaced_object() -> None:
    plan = plan_for(baseline_policy(), snapshot_with(rules(banned_on_premises_mode="Audit", lockout_threshold=20)))
    [change] = rules_changes(plan)
    setting = {"id": SETTING_ID, "templateId": PASSWORD_RULE_TEMPLATE, "values": STORED}
    assert GraphWriter.state_of(change, {"json": setting}).state == "old"
    done = {**setting, "values": [{**v, "value": {"LockoutThreshold": "10", "BannedPasswordCheckOnPremisesMode":
                                                  "Enforce"}.get(v["name"], v["value"])} for v in STORED]}
    assert GraphWriter.state_of(change, {"json": done}).state == "new"
    other = GraphWriter.state_of(change, {"json": {**setting, "id": "another"}})
    assert other.state == "other" and "the plan was made for" in other.detail
    assert GraphWriter.state_of(change, {"json": None}).state == "other"
    created = rules_changes(plan_for(baseline_policy(), snapshot_with(PasswordRulesState())))[0]
    assert GraphWriter.state_of(created, {"json": None}).state == "old"
    assert GraphWriter.state_of(created, {"json": setting}).state == "other"


def test_same_rules_compares_every_backed_up_value_exactly() -> None:
    setting = {"id": SETTING_ID, "values": STORED}
    assert _same_rules(setting, setting) and _same_rules(None, None)
    assert not _same_rules(setting, None) and not _same_rules(None, setting)
    trimmed = {**setting, "values": [{**v, "value": v["value"].strip()} for v in STORED]}
    assert not _same_rules(trimmed, setting)


def test_the_emulator_and_the_writer_know_the_same_template() -> None:
    """Two copies of one Microsoft fact (the far side of the wire keeps its own): they must agree."""
    name, values = SETTING_TEMPLATES[PASSWORD_RULE_TEMPLATE]
    assert name == "Password Rule Settings"
    assert [(n, default) for n, _, default in values] == list(PASSWORD_RULE_DEFAULTS)
