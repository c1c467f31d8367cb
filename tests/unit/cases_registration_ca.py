"""Golden cases for registration.conditional_access and registration.temporary_access_pass.

The coverage tenant (`cases_coverage`: scope all, users 1-10 enabled members, 11 a guest, 12 disabled) with
Conditional Access policies on registering security info; each case changes one thing."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from auditor.policy.models import Policy
from auditor.snapshot.conditional_access import (
    CaGrant,
    CaPolicy,
    CaUsers,
    ConditionalAccessState,
    Members,
    NamedLocation,
)
from auditor.snapshot.models import Section, Snapshot

from .cases_cloud import baseline_policy
from .cases_coverage import USERS, coverage_snapshot, policy_with

Case = Callable[[], tuple[Policy, Snapshot]]
SOURCE = "graph:GET /identity/conditionalAccess/policies, /identity/conditionalAccess/namedLocations"
EXEMPT = "11111111-2222-4333-8444-555555555555"
ACTION = "urn:user:registersecurityinfo"


def ca_policy(name: str = "Secure registration", *, state: str = "enabled", controls: tuple[str, ...] = ("mfa",),
              operator: str = "OR", **changes: Any) -> CaPolicy:
    users = changes.pop("users", CaUsers(include_users=["All"]))
    return CaPolicy(id=f"id-{name}", display_name=name, state=state, user_actions=[ACTION], users=users,
                    client_app_types=["all"], grant=CaGrant(operator=operator, built_in=list(controls)), **changes)


def ca_state(*policies: CaPolicy, groups: list[Members] | None = None) -> ConditionalAccessState:
    return ConditionalAccessState(policies=list(policies), groups=groups or [],
                                  named_locations=[NamedLocation(id="office", display_name="Office", kind="ip",
                                                                 trusted=True)])


def ca_snapshot(*policies: CaPolicy, groups: list[Members] | None = None, **overrides: Any) -> Snapshot:
    state = ca_state(*policies, groups=groups)
    return coverage_snapshot(conditional_access=Section[ConditionalAccessState].ok(SOURCE, state), **overrides)


def exempt_group(*members: int) -> Members:
    return Members(id=EXEMPT, display_name="Registration-Exempt", user_ids=[USERS[n - 1].id for n in members])


def _ok(factory: Callable[[], Snapshot]) -> Case:
    return lambda: (baseline_policy(), factory())


def ca_policy_file(**changes: Any) -> Policy:
    sspr = baseline_policy().model_dump(exclude_none=True)["sspr"]
    sspr["registration"]["conditional_access"] = {**sspr["registration"]["conditional_access"], **changes}
    return policy_with(sspr=sspr)


CASES: dict[str, dict[str, Case]] = {
    "registration.conditional_access": {
        "pass": _ok(lambda: ca_snapshot(ca_policy())),
        "fail": _ok(lambda: ca_snapshot(ca_policy(users=CaUsers(include_users=["All"], exclude_groups=[EXEMPT])),
                                        groups=[exempt_group(2, 3)])),
        "fail: no policy": _ok(lambda: ca_snapshot()),
        "fail: report-only": _ok(lambda: ca_snapshot(ca_policy(state="enabledForReportingButNotEnforced"))),
        "fail: MFA or a compliant device": _ok(lambda: ca_snapshot(ca_policy(controls=("mfa", "compliantDevice")))),
        "fail: outside trusted locations only": _ok(lambda: ca_snapshot(ca_policy(
            include_locations=["All"], exclude_locations=["AllTrusted"]))),
        "pass: trusted locations exempt": lambda: (ca_policy_file(trusted_locations_exempt=True), ca_snapshot(
            ca_policy(include_locations=["All"], exclude_locations=["AllTrusted"]))),
        "fail: platforms": _ok(lambda: ca_snapshot(ca_policy(include_platforms=["windows"]))),
        "pass: two policies, one each": _ok(lambda: ca_snapshot(
            ca_policy("A", users=CaUsers(include_users=["All"], exclude_groups=[EXEMPT])),
            ca_policy("B", users=CaUsers(include_groups=[EXEMPT])), groups=[exempt_group(2, 3)])),
        "pass: break-glass excluded": lambda: (ca_policy_file(break_glass=[USERS[1].upn.upper()]), ca_snapshot(
            ca_policy(users=CaUsers(include_users=["All"], exclude_users=[USERS[1].id])))),
        "unknown: device filter": _ok(lambda: ca_snapshot(ca_policy(device_filter="exclude: device.isCompliant"))),
        "unknown: group unread": _ok(lambda: ca_snapshot(
            ca_policy(users=CaUsers(include_users=["All"], exclude_groups=[EXEMPT])),
            groups=[Members(id=EXEMPT, error="HTTP 403")])),
    },
}


def tap_snapshot(state: str = "enabled", include: tuple[str, ...] = ("all_users",), **overrides: Any) -> Snapshot:
    from auditor.snapshot.models import MethodConfiguration, MethodsPolicyState, TapSettings

    tap = MethodConfiguration(id="TemporaryAccessPass", state=state, include_target_ids=list(include),
                              target_types={t.lower(): "group" for t in include},
                              temporary_access_pass=TapSettings(is_usable_once=True, default_lifetime_minutes=60))
    methods = MethodsPolicyState(migration_state="migrationComplete", configurations=[tap])
    return ca_snapshot(ca_policy(), methods_policy=Section[MethodsPolicyState].ok(
        "graph:GET /policies/authenticationMethodsPolicy", methods), **overrides)


def tap_pilot_snapshot() -> Snapshot:
    from auditor.snapshot.tenant import ScopeGroup, ScopeGroupsState

    groups = ScopeGroupsState(groups=[ScopeGroup(query=EXEMPT, why=["methods"], found=True, id=EXEMPT,
                                                 user_ids=[USERS[0].id])])
    return tap_snapshot(include=(EXEMPT,), scope_groups=Section[ScopeGroupsState].ok(
        "graph:GET /groups/{id}/transitiveMembers", groups))


CASES["registration.temporary_access_pass"] = {
    "pass": lambda: (ca_policy_file(temporary_access_pass="forbidden"), tap_snapshot(state="disabled")),
    "pass: allowed": lambda: (ca_policy_file(temporary_access_pass="allowed"), tap_snapshot()),
    "fail": lambda: (ca_policy_file(temporary_access_pass="forbidden"), tap_snapshot()),
    "fail: a group": lambda: (ca_policy_file(temporary_access_pass="forbidden"), tap_pilot_snapshot()),
}
