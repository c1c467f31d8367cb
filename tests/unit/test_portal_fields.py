"""The portal's *OptionAllowed flags and skip-registration settings (issue 13, item 3), read from one field map.

The public PUT body (tests/fixtures/real/portal/, ALYADO-ADM-Public) and O365Essentials' capture of a real
tenant carry every `*OptionAllowed` flag and `skipRegistrationAllowed` / `skipRegistrationMaxAllowedDays`;
before this change the reader dropped them, so a method the tenant may not offer still counted as offered.
"""

from __future__ import annotations

import json
from pathlib import Path

from auditor.checks.base import Status
from auditor.checks.registry import all_checks, run_check, run_checks
from auditor.portal_fields import METHOD_ALLOWED, METHOD_ENABLED, SSPR_FIELDS
from auditor.readers.portal import PasswordResetPoliciesWire, sspr_state_from_wire
from auditor.remediation.planner import make_plan, solve_methods
from auditor.snapshot.models import Section, SsprPolicyState
from tests.unit.cases_cloud import baseline_policy, compliant_methods, compliant_snapshot, compliant_sspr

REAL = (Path(__file__).resolve().parents[1] / "fixtures" / "real" / "portal"
        / "PasswordResetPolicies.put-body.alya-all-users.json")


def test_the_real_put_body_reads_every_mapped_field() -> None:
    body = json.loads(REAL.read_text())
    state = sspr_state_from_wire(PasswordResetPoliciesWire.model_validate({"objectId": "default", **body}))
    assert state.enablement == "all" and state.not_allowed == []
    assert (state.skip_registration_allowed, state.skip_registration_max_days) == (True, 7)
    for name, field in SSPR_FIELDS.items():
        if field in body and name not in ("enablement", "group_ids"):
            assert getattr(state, name) == body[field], name


def test_a_disallowed_method_is_read_and_never_counts_as_offered() -> None:
    body = json.loads(REAL.read_text())
    body[METHOD_ALLOWED["email"]] = False
    state = sspr_state_from_wire(PasswordResetPoliciesWire.model_validate({"objectId": "default", **body}))
    assert state.email is True and state.not_allowed == ["email"]

    # before migration only the legacy settings decide: a disallowed email is not offered
    sspr = compliant_sspr().model_copy(update={"not_allowed": ["email"]})
    snapshot = compliant_snapshot(
        methods_policy=Section.ok("graph:test", compliant_methods("preMigration")),
        sspr_policy=Section[SsprPolicyState].ok("portal:test", sspr))
    check = next(c for c in all_checks() if c.spec.id == "sspr.methods")
    email = next(f for f in run_check(check, baseline_policy(), snapshot) if f.target == "email")
    assert email.status == Status.failed, email.reason  # a pass before *OptionAllowed was read
    assert any(e.field == METHOD_ALLOWED["email"] and e.value is False for e in email.evidence)
    assert any(e.field == METHOD_ENABLED["email"] and e.value is True for e in email.evidence)

    # the planner knows turning the toggle on changes nothing while the portal disallows the method
    wanted = {m: m != "office_phone" and m != "security_questions" for m in METHOD_ENABLED}
    solution = solve_methods(wanted, "preMigration", sspr, compliant_methods("preMigration"))
    assert "emailOptionAllowed = false" in solution.unresolved["email"]
    assert "email" not in solution.legacy
    # once migrated, the methods policy offers it: the plan's migration change fixes the finding
    plan = make_plan(baseline_policy(), snapshot, run_checks(baseline_policy(), snapshot))
    fixed = {ref.target for c in plan.changes for ref in c.fixes if ref.check == "sspr.methods"}
    assert "email" in fixed


def test_skipping_registration_longer_than_the_policy_allows_fails_and_is_planned() -> None:
    policy = baseline_policy()
    assert policy.sspr.registration.max_skip_days == 7
    check = next(c for c in all_checks() if c.spec.id == "sspr.registration")

    def skip_finding(**live: object):
        snapshot = compliant_snapshot(sspr_policy=Section[SsprPolicyState].ok(
            "portal:test", compliant_sspr().model_copy(update=live)))
        return next(f for f in run_check(check, policy, snapshot) if f.target == "skip registration"), snapshot

    assert skip_finding()[0].status == Status.passed
    assert skip_finding(skip_registration_allowed=False)[0].status == Status.passed
    assert skip_finding(skip_registration_allowed=None)[0].status == Status.unknown
    assert skip_finding(skip_registration_max_days=None)[0].status == Status.unknown
    finding, snapshot = skip_finding(skip_registration_max_days=14)
    assert finding.status == Status.failed and "up to 14 day(s)" in (finding.reason or "")
    plan = make_plan(policy, snapshot, run_checks(policy, snapshot))
    [change] = [c for c in plan.changes if any(s.name == "skip_registration_max_days" for s in c.settings_list())]
    assert [(s.old, s.new) for s in change.settings_list()] == [(14, 7)]


def test_a_policy_that_forbids_skipping_plans_skip_off() -> None:
    policy = baseline_policy()
    registration = policy.sspr.registration.model_copy(update={"max_skip_days": 0})
    policy = policy.model_copy(update={"sspr": policy.sspr.model_copy(update={"registration": registration})})
    snapshot = compliant_snapshot()
    findings = run_checks(policy, snapshot)
    assert any(f.target == "skip registration" and f.status == Status.failed for f in findings)
    plan = make_plan(policy, snapshot, findings)
    settings = [s for c in plan.changes for s in c.settings_list() if s.name.startswith("skip_")]
    assert [(s.name, s.old, s.new) for s in settings] == [("skip_registration_allowed", True, False)]


def test_every_policy_key_pair_names_a_policy_field_a_snapshot_field_and_a_wire_field() -> None:
    """Issue 12: a policy key → snapshot field pair is written once (POLICY_KEYS); the checks, planner and
    exporter derive from it, so each pair must resolve on all three sides."""
    from pydantic import BaseModel

    from auditor.policy.models import Policy
    from auditor.portal_fields import POLICY_KEYS, SSPR_FIELDS
    from auditor.snapshot.models import SsprPolicyState

    for key, field in POLICY_KEYS.items():
        model: type[BaseModel] | None = Policy
        for part in key.split("."):
            assert model is not None and part in model.model_fields, key
            annotation = model.model_fields[part].annotation
            candidates = [a for a in getattr(annotation, "__args__", (annotation,)) if isinstance(a, type)]
            model = next((a for a in candidates if issubclass(a, BaseModel)), None)
        assert field in SsprPolicyState.model_fields, field
        assert field in SSPR_FIELDS, field


def test_the_export_and_the_checks_agree_on_every_pair() -> None:
    """A policy exported from a state, checked against that state, passes every one-to-one setting."""
    from auditor.checks.registry import run_checks
    from auditor.export import export_text
    from auditor.policy.loader import parse_policy
    from auditor.portal_fields import POLICY_KEYS
    from tests.unit.cases_cloud import compliant_snapshot

    snapshot = compliant_snapshot()
    text, _ = export_text(snapshot)
    policy = parse_policy(text.encode(), "exported.yaml")
    findings = {f.policy_location.key: f.status.value for f in run_checks(policy, snapshot)
                if f.policy_location is not None and f.policy_location.key in POLICY_KEYS}
    assert {"sspr.methods_required", "sspr.registration.require_on_sign_in", "sspr.registration.reconfirm_days",
            "sspr.notifications.notify_users", "sspr.notifications.notify_admins"} <= set(findings), findings
    assert set(findings.values()) == {"pass"}, findings
