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
