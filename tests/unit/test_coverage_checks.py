"""The coverage checks beyond their golden cases: the scope inference, unknown reasons, the edges
of each rule, the report's coverage counts and its CSV downloads."""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote

import pytest

from auditor.checks.base import Finding, Status
from auditor.checks.registry import all_checks, run_check
from auditor.derive.figures import UserRef, coverage_report
from auditor.policy.models import Policy
from auditor.render.coverage_view import LIST_LIMIT, coverage_view, csv_href
from auditor.snapshot.models import Section, Snapshot
from auditor.snapshot.tenant import (
    GpoRegistryValue,
    GpoSignInResetState,
    IntuneSignInResetState,
    PasswordRulesState,
    RegistrationState,
    ScopeGroup,
    ScopeGroupsState,
    SecureScoreState,
)

from .cases_cloud import baseline_policy
from .cases_coverage import (
    PILOT,
    USERS,
    coverage_snapshot,
    intune,
    pilot_policy,
    policy_with,
    record,
    registration_section,
    secure_score,
    selected_scope_snapshot,
    user,
    users_section,
)

CHECKS = {check.spec.id: check for check in all_checks()}
NON_PREMIUM = "HTTP 403: Authentication_RequestFromNonPremiumTenantOrB2CTenant: Tenant is not a B2C tenant"
PORTAL_OFF = "the portal reader is off"


def run(check_id: str, policy: Policy, snapshot: Snapshot) -> list[Finding]:
    return run_check(CHECKS[check_id], policy, snapshot)


def findings_of_check(check_id: str, policy: Policy, snapshot: Snapshot) -> list[Finding]:
    return list(run(check_id, policy, snapshot))


def one(check_id: str, policy: Policy, snapshot: Snapshot, target: str | None = None) -> Finding:
    findings = [f for f in run(check_id, policy, snapshot) if target is None or f.target == target]
    assert len(findings) == 1, findings
    return findings[0]


def portal_off(**overrides: Any) -> Snapshot:
    return coverage_snapshot(sspr_policy=Section.failed("portal", PORTAL_OFF), **overrides)


# --- sspr.scope: inferred from isSsprEnabled when the portal is not read ----------------------------


def test_scope_all_is_inferred_when_every_member_is_enabled() -> None:
    finding = one("sspr.scope", baseline_policy(), portal_off())
    assert finding.status == Status.passed and finding.actual == "all"
    assert "inferred" in finding.reason and PORTAL_OFF in finding.reason
    assert finding.evidence[0].field == "isSsprEnabled (inferred)"


def test_inferred_selected_scope_fails_a_policy_of_all() -> None:
    records = [record(u, enabled=u.id != USERS[0].id) for u in USERS[:10]]
    finding = one("sspr.scope", baseline_policy(), portal_off(registration_details=registration_section(records)))
    assert finding.status == Status.failed and finding.actual == "selected"
    assert "inferred" in finding.reason


def test_admins_do_not_sway_the_inference() -> None:
    # the admin policy governs admins: an enabled admin does not make "none" look like "selected"
    records = [record(u, enabled=False) for u in USERS[1:10]] + [record(USERS[0], enabled=True, admin=True)]
    policy = policy_with(sspr={**baseline_policy().model_dump()["sspr"], "scope": "none",
                               "methods_required": 1})
    finding = one("sspr.scope", policy, portal_off(registration_details=registration_section(records)))
    assert finding.status == Status.passed and finding.actual == "none"


def test_inferred_group_is_compared_with_the_policy_groups_members() -> None:
    members = USERS[:5]
    groups = ScopeGroupsState(groups=[ScopeGroup(query=PILOT, why=["policy"], found=True, id=PILOT,
                                                 display_name="SSPR-Pilot", user_ids=[m.id for m in members])])
    same = [record(u, enabled=u in members) for u in USERS[:10]]
    snapshot = portal_off(registration_details=registration_section(same),
                          scope_groups=Section[ScopeGroupsState].ok("graph:test", groups))
    findings = {f.target: f for f in run("sspr.scope", pilot_policy(), snapshot)}
    assert findings["tenant"].status == Status.passed
    assert findings["scope group"].status == Status.passed and "inferred" in findings["scope group"].reason
    other = [record(u, enabled=u in USERS[5:]) for u in USERS[:10]]
    snapshot = portal_off(registration_details=registration_section(other),
                          scope_groups=Section[ScopeGroupsState].ok("graph:test", groups))
    findings = {f.target: f for f in run("sspr.scope", pilot_policy(), snapshot)}
    assert findings["scope group"].status == Status.failed


def test_inferred_group_without_the_group_read_is_unknown() -> None:
    records = [record(u, enabled=u in USERS[:5]) for u in USERS[:10]]
    snapshot = portal_off(registration_details=registration_section(records))  # scope_groups holds no group
    findings = {f.target: f for f in run("sspr.scope", pilot_policy(), snapshot)}
    assert findings["scope group"].status == Status.unknown and "was not read" in findings["scope group"].reason


def test_scope_unknown_when_neither_portal_nor_registration_is_readable() -> None:
    snapshot = portal_off(registration_details=Section.failed("graph:test", NON_PREMIUM))
    finding = one("sspr.scope", baseline_policy(), snapshot)
    assert finding.status == Status.unknown
    assert PORTAL_OFF in finding.reason and "Authentication_RequestFromNonPremiumTenantOrB2CTenant" in finding.reason


def test_portal_readable_keeps_the_portal_verdict() -> None:
    records = [record(u, enabled=False) for u in USERS[:10]]  # isSsprEnabled disagrees: the portal wins
    snapshot = coverage_snapshot(registration_details=registration_section(records))
    finding = one("sspr.scope", baseline_policy(), snapshot)
    assert finding.status == Status.passed and "inferred" not in (finding.reason or "")


# --- registration.coverage -------------------------------------------------------------------------


def test_no_premium_licence_makes_registration_unknown_with_the_reason() -> None:
    snapshot = coverage_snapshot(registration_details=Section.failed("graph:test", NON_PREMIUM))
    finding = one("registration.coverage", baseline_policy(), snapshot)
    assert finding.status == Status.unknown
    assert "Authentication_RequestFromNonPremiumTenantOrB2CTenant" in finding.reason


def test_users_without_a_record_are_never_counted_registered() -> None:
    # 8 registered, 2 with no record: 80% known; 100% if both were registered, so it depends on them
    records = [record(u) for u in USERS[:8]]
    finding = one("registration.coverage", baseline_policy(),
                  coverage_snapshot(registration_details=registration_section(records)))
    assert finding.status == Status.unknown and "no registration record" in finding.reason
    assert finding.actual["no_record"] == 2 and finding.actual["registered"] == 8
    # with 3 unregistered as well, no record can lift it to 90%: fail
    records = [record(u, registered=i >= 3) for i, u in enumerate(USERS[:8])]
    finding = one("registration.coverage", baseline_policy(),
                  coverage_snapshot(registration_details=registration_section(records)))
    assert finding.status == Status.failed
    assert finding.actual["unregistered_users"][:3] == sorted(u.upn for u in USERS[:3])


def test_nobody_in_scope_is_not_applicable_not_pass() -> None:
    snapshot = selected_scope_snapshot([])
    live, asked = findings_of_check("registration.coverage", baseline_policy(), snapshot)
    assert live.status == Status.not_applicable and "no user is in this scope" in live.reason
    # the policy asks for all users: they are judged too, and the live finding says so
    assert "the policy asks for all users" in live.reason and asked.target.startswith("users in the scope the policy")


def test_the_scope_the_policy_asks_for_is_judged_beside_the_live_one() -> None:
    # the live scope is a pilot of 9 registered users; the policy's `all` brings in an unregistered one
    records = [record(u, enabled=not u.guest, registered=u.id != USERS[9].id) for u in USERS if u.enabled]
    snapshot = selected_scope_snapshot(USERS[:9], registration_details=registration_section(records))
    policy = policy_with(coverage={"registration_min_percent": 100})
    live, asked = findings_of_check("registration.coverage", policy, snapshot)
    assert live.target == "in-scope users" and live.actual["in_scope"] == 9 and live.status == Status.passed
    assert asked.status == Status.failed and asked.actual["not_registered"] == 1
    members = [u for u in USERS if u.enabled and not u.guest]  # `all` covers enabled members
    assert asked.actual["in_scope"] == len(members) and asked.target == (
        f"users in the scope the policy asks for (all users, {len(members)} users)")
    # the same scope in force and asked: one finding, as before
    assert len(findings_of_check("registration.coverage", policy, coverage_snapshot())) == 1


def test_registration_coverage_is_inferred_without_the_portal() -> None:
    finding = one("registration.coverage", baseline_policy(), portal_off())
    assert finding.status == Status.passed and "inferred" in finding.reason and finding.actual["scope"] == "inferred"


# --- licensing.in_scope ----------------------------------------------------------------------------


def test_licences_not_required_is_not_applicable() -> None:
    finding = one("licensing.in_scope", policy_with(coverage={"require_license": False}), coverage_snapshot())
    assert finding.status == Status.not_applicable


def test_licences_are_matched_by_service_plan_from_the_policy() -> None:
    other_plan = "eec0eb4f-6444-4f95-aba0-50c24d67f998"
    policy = policy_with(coverage={"license_service_plans": [other_plan]})
    finding = one("licensing.in_scope", policy, coverage_snapshot())
    assert finding.status == Status.failed and finding.actual["unlicensed"] == 10


def test_only_users_in_scope_need_a_licence_and_the_policy_scope_is_judged_too() -> None:
    unlicensed_outsider = [*USERS[:9], user(10, licensed=False), *USERS[10:]]
    snapshot = selected_scope_snapshot(USERS[:9], cloud_users=users_section(unlicensed_outsider))
    live, asked = findings_of_check("licensing.in_scope", baseline_policy(), snapshot)
    assert live.status == Status.passed and "this is the scope in force" in live.reason
    # the case: the pilot passes, but the `all` the policy asks for would bring in an unlicensed user
    assert asked.status == Status.failed and asked.actual["unlicensed"] == 1
    pilot = pilot_policy()  # the policy asks for the pilot group that is in force: judged once
    assert len(findings_of_check("licensing.in_scope", pilot, snapshot)) == 1


@pytest.mark.parametrize("check_id", ["licensing.in_scope", "registration.coverage"])
def test_an_unreadable_portal_keeps_the_policy_scope_fail(check_id: str) -> None:
    """Issue #30: with the portal answering 403, the finding for the scope the policy asks for disappeared.
    The pilot (5 users) is in force; the policy asks for all 10, who hold an unlicensed and 2 unregistered users."""
    unlicensed = users_section([*USERS[:9], user(10, licensed=False), *USERS[10:]])
    records = registration_section([record(u, enabled=u in USERS[:5], registered=u not in USERS[8:10])
                                    for u in USERS if u.enabled and not u.guest])
    snapshot = selected_scope_snapshot(USERS[:5], cloud_users=unlicensed, registration_details=records)
    normal = findings_of_check(check_id, baseline_policy(), snapshot)
    forbidden = snapshot.model_copy(update={"sspr_policy": Section.failed(
        "portal:GET /PasswordReset/PasswordResetPolicies", "HTTP 403: Forbidden")})
    broken = findings_of_check(check_id, baseline_policy(), forbidden)
    asked = [f for f in normal if f.target.startswith("users in the scope the policy asks for")]
    assert len(asked) == 1 and asked[0].status == Status.failed
    kept = [f for f in broken if f.target == asked[0].target]
    assert len(kept) == 1, [(f.target, f.status) for f in broken]
    assert (kept[0].status, kept[0].actual, kept[0].reason) == (asked[0].status, asked[0].actual, asked[0].reason)
    assert any("403" in str(e.value) or e.source.startswith("portal:") for e in kept[0].evidence)
    # the scope in force is inferred from isSsprEnabled (the pilot's 5 users) and says so
    (live,) = [f for f in broken if f.target == "in-scope users"]
    assert live.status == Status.passed and "inferred" in live.reason and live.actual["in_scope"] == 5


# --- scope.group_members --------------------------------------------------------------------------


def test_group_rule_is_not_applicable_unless_scope_is_selected() -> None:
    finding = one("scope.group_members", baseline_policy(), coverage_snapshot())
    assert finding.status == Status.not_applicable and "sspr.scope is all" in finding.reason


def test_a_missing_group_fails_and_an_unread_one_is_unknown() -> None:
    missing = ScopeGroupsState(groups=[ScopeGroup(query=PILOT, why=["policy"], found=False)])
    snapshot = coverage_snapshot(scope_groups=Section[ScopeGroupsState].ok("graph:test", missing))
    finding = one("scope.group_members", pilot_policy(), snapshot)
    assert finding.status == Status.failed and "does not exist" in finding.reason
    finding = one("scope.group_members", pilot_policy(), coverage_snapshot())
    assert finding.status == Status.unknown and "was not read" in finding.reason


def test_group_guests_and_size() -> None:
    findings = {f.target: f for f in run("scope.group_members", pilot_policy(scope_group={"min_members": 5}),
                                         selected_scope_snapshot([*USERS[:3], USERS[10]]))}
    assert findings["scope group"].status == Status.failed and findings["scope group"].actual == {"enabled_members": 3}
    assert findings["guests in scope group"].status == Status.failed
    assert "intended users" not in findings  # intended: any
    allowed = {f.target: f.status for f in run("scope.group_members", pilot_policy(scope_group={"allow_guests": True}),
                                               selected_scope_snapshot([*USERS[:3], USERS[10]]))}
    assert "guests in scope group" not in allowed and allowed["scope group"] == Status.passed


def test_synced_members_rule_ignores_cloud_only_users() -> None:
    users = [*USERS[:9], user(10, synced=False), *USERS[10:]]
    snapshot = selected_scope_snapshot(USERS[:9], cloud_users=users_section(users))
    finding = one("scope.group_members", pilot_policy(scope_group={"intended": "synced_members"}), snapshot,
                  target="intended users")
    assert finding.status == Status.passed
    finding = one("scope.group_members", pilot_policy(scope_group={"intended": "all_members"}), snapshot,
                  target="intended users")
    assert finding.status == Status.failed and finding.actual["missing_users"] == [users[9].upn]


# --- secure_score.sspr ----------------------------------------------------------------------------


def test_secure_score_projection_is_an_estimate() -> None:
    snapshot = coverage_snapshot(secure_score=Section[SecureScoreState].ok("graph:test", secure_score(0.6, 4)))
    finding = one("secure_score.sspr", baseline_policy(), snapshot)
    assert finding.status == Status.failed
    assert finding.actual["projected_score"] == 1.0 and finding.actual["projected_change"] == 0.4
    assert finding.actual["projection"].startswith("estimate:") and "an estimate" in finding.reason


def test_secure_score_projection_for_a_group_scope_counts_its_enabled_members() -> None:
    snapshot = selected_scope_snapshot(USERS[:5], secure_score=Section[SecureScoreState].ok(
        "graph:test", secure_score(0.3, 7)))
    finding = one("secure_score.sspr", pilot_policy(), snapshot)
    assert finding.actual["projected_score"] == 0.5  # 5 of the 10 users Secure Score counts


def test_a_missing_control_is_unknown() -> None:
    state = SecureScoreState(found=False)
    snapshot = coverage_snapshot(secure_score=Section[SecureScoreState].ok("graph:test", state))
    finding = one("secure_score.sspr", baseline_policy(), snapshot)
    assert finding.status == Status.unknown and "SelfServicePasswordReset" in finding.reason


# --- password_protection ----------------------------------------------------------------------------


def test_no_settings_object_is_not_enforce_and_lockout_uses_the_documented_defaults() -> None:
    snapshot = coverage_snapshot(password_rules=Section[PasswordRulesState].ok("graph:test", PasswordRulesState()))
    findings = {f.target: f for f in run("password_protection", baseline_policy(), snapshot)}
    on_premises = findings["password protection on-premises"]
    assert on_premises.status == Status.failed and on_premises.actual == "not configured (defaults)"
    assert findings["smart lockout threshold"].status == Status.passed
    assert findings["smart lockout threshold"].actual == {"value": 10, "default": True}
    audit = policy_with(password_protection={"on_premises": "audit"})
    findings = {f.target: f for f in run("password_protection", audit, snapshot)}
    assert findings["password protection on-premises"].status == Status.unknown


def test_on_premises_off_and_short_lockout() -> None:
    rules = PasswordRulesState(setting_id="x", banned_on_premises_enabled=False, banned_on_premises_mode="Enforce",
                               lockout_threshold=5, lockout_duration_seconds=30)
    snapshot = coverage_snapshot(password_rules=Section[PasswordRulesState].ok("graph:test", rules))
    findings = {f.target: f for f in run("password_protection", baseline_policy(), snapshot)}
    assert findings["password protection on-premises"].actual == "off"
    assert findings["smart lockout threshold"].status == Status.passed  # 5 <= 10
    assert findings["smart lockout duration (seconds)"].status == Status.failed  # 30 < 60


# --- client.sign_in_reset ----------------------------------------------------------------------------


def gpo(value: int | None, linked: bool = True) -> dict[str, Any]:
    """The GPO sections: one GPO setting `value`, linked (or not) to the OU holding the member computers."""
    from auditor.snapshot.directory import DirectoryState, GpoLink, GroupPolicy
    from tests.unit.cases_ad import BASE, compliant_directory

    guid, where = "{F99FD350-CB8B-54E4-A5CE-4AF8C2B2227E}", f"OU=Workstations,{BASE}"
    values = [GpoRegistryValue(guid, "Workstations", linked, value, (where,) if linked else ())]
    state = compliant_directory(gpos=[GroupPolicy(dn=f"CN={guid},CN=Policies,CN=System,{BASE}", guid=guid,
                                                  display_name="Workstations",
                                                  links=[GpoLink(container=where)] if linked else [])],
                                member_computers={where: 2}, blocks_inheritance=[])
    return {"gpo_sign_in_reset": Section[GpoSignInResetState].ok("smb:test", GpoSignInResetState(gpos_read=1,
                                                                                                 values=values)),
            "directory": Section[DirectoryState].ok("ldaps://test", state)}


def test_sign_in_reset_passes_from_either_source() -> None:
    snapshot = coverage_snapshot(intune_sign_in_reset=Section.failed("graph:test", "HTTP 403: denied"),
                                 **gpo(1))
    finding = one("client.sign_in_reset", baseline_policy(), snapshot)
    assert finding.status == Status.passed and finding.actual["enabled_by"] == ["Group Policy"]


def test_sign_in_reset_is_unknown_while_a_source_is_unread() -> None:
    snapshot = coverage_snapshot(intune_sign_in_reset=Section[IntuneSignInResetState].ok("graph:test", intune("0")))
    finding = one("client.sign_in_reset", baseline_policy(), snapshot)  # GPO not read in the golden snapshot
    assert finding.status == Status.unknown and "not read in this test" in finding.reason


def test_an_unlinked_gpo_does_not_count() -> None:
    snapshot = coverage_snapshot(intune_sign_in_reset=Section[IntuneSignInResetState].ok("graph:test", intune(None)),
                                 **gpo(1, linked=False))
    assert one("client.sign_in_reset", baseline_policy(), snapshot).status == Status.failed


def test_policy_wanting_the_link_off() -> None:
    policy = policy_with(client={"sign_in_reset": False})
    snapshot = coverage_snapshot(intune_sign_in_reset=Section[IntuneSignInResetState].ok("graph:test", intune("0")),
                                 **gpo(None))
    assert one("client.sign_in_reset", policy, snapshot).status == Status.passed
    assert one("client.sign_in_reset", policy, coverage_snapshot()).status == Status.failed


# --- the report's coverage section ----------------------------------------------------------------


def test_coverage_report_counts_and_lists() -> None:
    records = [record(u, registered=u.id != USERS[0].id) for u in USERS[:9]]  # USERS[9] has no record
    users = [*USERS[:8], user(9, licensed=False), *USERS[9:]]
    report = coverage_report(baseline_policy(), coverage_snapshot(registration_details=registration_section(records),
                                                                   cloud_users=users_section(users)))
    assert (report.users_total, report.enabled_members, report.guests, report.disabled) == (12, 10, 1, 1)
    assert (report.in_scope, report.registered, report.not_registered, report.no_record) == (10, 8, 1, 1)
    assert report.registered_percent == 80.0 and (report.licensed, report.unlicensed) == (9, 1)
    assert [u.detail for u in report.unregistered_users] == ["not registered for SSPR", "no registration record"]
    assert (report.licence_seats, report.licence_seats_used) == (25, 10)
    assert report.activity.resets == 2 and len(report.activity.days) == 31 and report.unavailable == {}


def test_coverage_report_says_what_it_could_not_count() -> None:
    snapshot = coverage_snapshot(registration_details=Section.failed("graph:test", NON_PREMIUM),
                                 secure_score=Section.failed("graph:test", "HTTP 403: Authorization_RequestDenied"))
    report = coverage_report(baseline_policy(), snapshot)
    assert report.in_scope == 10 and report.registered is None
    assert set(report.unavailable) == {"registration", "secure_score"}
    view = coverage_view(report)
    assert view is not None and [t.tone for t in view.tiles][1] == "unknown"


def test_csv_download_escapes_formulas_and_lists_everyone() -> None:
    users = [UserRef(id=str(i), upn=f"u{i}@x.test", display_name=f"User {i}", detail="d") for i in range(1200)]
    users.append(UserRef(id="evil", upn="=HYPERLINK(\"http://x\")@x.test", display_name="+cmd", detail="d"))
    href = csv_href(users)
    rows = unquote(href.split(",", 1)[1]).lstrip("\ufeff").splitlines()
    assert len(rows) == 1 + len(users)
    assert rows[-1].startswith("\"'=HYPERLINK(") and ",'+cmd," in rows[-1]
    report = coverage_report(baseline_policy(), coverage_snapshot()).model_copy(update={"unregistered_users": users})
    view = coverage_view(report)
    listed = next(item for item in view.lists if item.key == "unregistered")
    assert len(listed.users) == LIST_LIMIT and listed.total == len(users) and listed.truncated


def test_registration_details_state_round_trips_compactly() -> None:
    state = RegistrationState(records=[record(u) for u in USERS[:2]])
    text = state.model_dump_json()
    assert text.startswith('{"records":[["') and RegistrationState.model_validate_json(text) == state


def test_tenant_strings_in_the_coverage_section_stay_text() -> None:
    from datetime import UTC, datetime

    from auditor.derive.figures import ActivitySummary, WritebackChange
    from auditor.render.html import HtmlRenderer
    from tests.helpers.report_factory import parse_html, realistic_report

    hostile = '<script>alert(1)</script>"><img src=x onerror=alert(2)>'
    report = coverage_report(baseline_policy(), coverage_snapshot())
    activity = report.activity
    assert isinstance(activity, ActivitySummary)
    activity = activity.model_copy(update={"writeback_changes": [
        WritebackChange(at=datetime(2025, 1, 2, 9, tzinfo=UTC), enabled=False, initiated_by=hostile)]})
    report = report.model_copy(update={"activity": activity, "unregistered_users": [
        UserRef(id="1", upn=hostile, display_name=hostile, detail="not registered for SSPR")]})
    page = HtmlRenderer().render(realistic_report().model_copy(update={"coverage": report})).decode()
    dom = parse_html(page)
    assert not dom.tags("script") and not dom.tags("img")
    assert hostile in dom.text
    assert not [name for _, attrs in dom.elements for name in attrs if name.startswith("on")]
