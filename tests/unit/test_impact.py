"""auditor.derive.impact on snapshots built in Python: who a gates change makes register again, counted the way
sspr.methods_available counts methods (the Authenticator's notification and code are one)."""

from __future__ import annotations

from auditor.derive.impact import after_change, scope_impact
from auditor.snapshot.models import Section
from auditor.snapshot.tenant import RegistrationRow, RegistrationState
from tests.unit.cases_coverage import AAD_PREMIUM_PLAN, USERS, coverage_snapshot

ONE_EMAIL, TWO, APP_ONLY, NOTHING = USERS[0], USERS[1], USERS[2], USERS[3]


def snapshot_with(methods: dict[str, tuple[str, ...]]):  # type: ignore[no-untyped-def]
    records = [RegistrationRow(u.id, u.upn, True, True, True, False, False, methods.get(u.id, ("email", "mobilePhone")))
               for u in USERS if u.enabled and not u.guest]
    base = coverage_snapshot(registration_details=Section[RegistrationState].ok("graph:test", RegistrationState(
        records=records)))
    return after_change(base, {"methods_required": 1})


def test_raising_the_gates_names_who_must_register_another_method() -> None:
    snapshot = snapshot_with({ONE_EMAIL.id: ("email",), TWO.id: ("email", "mobilePhone"),
                              APP_ONLY.id: ("microsoftAuthenticatorPush", "softwareOneTimePasscode"),
                              NOTHING.id: ()})
    impact = scope_impact(snapshot, {"methods_required": 2}, [AAD_PREMIUM_PLAN])
    # every method is offered to everyone here: nobody is short of offered methods, only of registered ones
    assert impact.cannot_reach == () and impact.brought_in == impact.left_out == ()
    # the app's notification and code are one method; a user with nothing registered could not reset before either
    assert {u.id for u in impact.must_register} == {ONE_EMAIL.id.lower(), APP_ONLY.id.lower()}
    assert impact.unknown == ()


def test_lowering_the_gates_asks_nobody_to_register() -> None:
    snapshot = after_change(snapshot_with({ONE_EMAIL.id: ("email",)}), {"methods_required": 2})
    assert scope_impact(snapshot, {"methods_required": 1}, [AAD_PREMIUM_PLAN]).must_register == ()


def test_a_snapshot_without_registered_methods_says_it_cannot_tell() -> None:
    snapshot = snapshot_with({u.id: () for u in USERS})
    impact = scope_impact(snapshot, {"methods_required": 2}, [AAD_PREMIUM_PLAN])
    assert impact.must_register == () and any("methodsRegistered" in why for why in impact.unknown)


# -- Conditional Access on registering security info: who it would block once enforced -------------------------

def _ca_change(built_in: list[str], exclude: list[str] = ()):  # type: ignore[no-untyped-def,assignment]
    from auditor.remediation.changes import GraphCaPolicyChange, SettingChange

    return GraphCaPolicyChange(id="1", target="graph ca (new)", summary="create", display_name="reg",
                               policy_id=None, setting=SettingChange(name="state", old=None,
                                                                     new="enabledForReportingButNotEnforced"),
                               include_users=["All"], exclude_users=list(exclude), built_in=built_in)


def test_the_registration_policy_preview_names_who_has_no_mfa_capable_method() -> None:
    from auditor.policy.models import Policy
    from auditor.remediation.impact import impact_lines, impacts_of

    members = [u for u in USERS if u.enabled]
    records = [RegistrationRow(u.id, u.upn, True, True, True, False, u.guest, ("email",), u.id != TWO.id)
               for u in members if u.id != NOTHING.id]  # NOTHING has no registration row: not counted
    snapshot = coverage_snapshot(registration_details=Section[RegistrationState].ok("graph:test", RegistrationState(
        records=records)))
    policy = Policy.model_validate({"version": 1})
    [mfa] = impacts_of([_ca_change(["mfa"], exclude=[ONE_EMAIL.id])], policy, snapshot)
    assert mfa.blocked == [TWO.upn] and mfa.counts == {"blocked": 1, "unknown": 1}  # NOTHING: unknown, apart
    assert mfa.in_scope_after == len(members) - 1  # the break-glass account is left out
    assert any("1 covered user(s) have no userRegistrationDetails.isMfaCapable" in n for n in mfa.not_judged)
    assert "blocks 1 of" in impact_lines([mfa])[0]
    [device] = impacts_of([_ca_change(["compliantDevice", "domainJoinedDevice"])], policy, snapshot)
    assert device.blocked == [] and any("no device data" in n for n in device.not_judged)
    [where] = impacts_of([_ca_change(["block"])], policy, snapshot)
    assert any("cannot be counted offline" in n for n in where.not_judged)


# -- "Require users to register when signing in": who it would prompt ----------------------------------------

def _sign_in_change(*extra: tuple[str, object, object]):  # type: ignore[no-untyped-def]
    from auditor.fixes.changes import PortalSsprChange
    from auditor.remediation.changes import SettingChange

    settings = [SettingChange(name="registration_required_on_sign_in", old=False, new=True)]
    settings += [SettingChange(name=name, old=old, new=new) for name, old, new in extra]
    return PortalSsprChange(id="3", target="portal PasswordResetPolicies", summary="register at sign-in",
                            settings=settings)


def _unregistered_snapshot(sign_in: bool = False):  # type: ignore[no-untyped-def]
    members = [u for u in USERS if u.enabled and not u.guest]
    records = [RegistrationRow(u.id, u.upn, True, u.id != TWO.id, True, False, False, ("email",))
               for u in members if u.id != NOTHING.id]  # TWO is not registered; NOTHING has no record
    base = coverage_snapshot(registration_details=Section[RegistrationState].ok("graph:test", RegistrationState(
        records=records)))
    return after_change(base, {"registration_required_on_sign_in": sign_in})


def test_turning_on_registration_at_sign_in_names_who_it_will_prompt() -> None:
    from auditor.policy.models import Policy
    from auditor.remediation.impact import impact_lines, impacts_of

    policy = Policy.model_validate({"version": 1})
    [impact] = impacts_of([_sign_in_change()], policy, _unregistered_snapshot())
    assert sorted(impact.prompted) == sorted([TWO.upn, NOTHING.upn]) and impact.counts == {"prompted": 2}
    assert impact.brought_in == impact.left_out == 0
    [line] = impact_lines([impact])
    assert "prompts 2 of the" in line and "at each sign-in until they register" in line and TWO.upn in line
    # already on: nothing to preview; a change that widens the scope too counts the users it brings in
    assert impacts_of([_sign_in_change()], policy, _unregistered_snapshot(sign_in=True)) == []
    [both] = impacts_of([_sign_in_change(("enablement", "selected", "all"))], policy, _unregistered_snapshot())
    assert both.counts["prompted"] >= 2 and both.in_scope_after >= both.in_scope_before


def test_the_prompt_preview_says_when_registration_was_not_read() -> None:
    from auditor.policy.models import Policy
    from auditor.remediation.impact import impacts_of

    snapshot = after_change(coverage_snapshot(registration_details=Section[RegistrationState].failed(
        "graph:test", "403 Forbidden")), {"registration_required_on_sign_in": False})
    [impact] = impacts_of([_sign_in_change()], Policy.model_validate({"version": 1}), snapshot)
    assert impact.prompted == [] and any("registration details were not read" in n for n in impact.not_judged)
