"""registration.temporary_access_pass: whether the Temporary Access Pass reaches in-scope users, as the policy
allows or forbids, with its settings (one-time use, lifetimes) as evidence.

A Temporary Access Pass is "a time-limited passcode that ... can be used to ... register other authentication
methods" (howto-authentication-temporary-access-pass): like a password plus registration, whoever holds one can
register methods and then reset the password. Admins issue it, for onboarding and recovery.
"""

from __future__ import annotations

from auditor.checks.base import CheckSpec, Context, Evidence, Finding, Fix, OptionalSection, Severity, Status
from auditor.checks.scope_views import SCOPE_OPTIONAL, in_both_scopes
from auditor.derive.figures import ScopeResolution, folded
from auditor.derive.sspr_methods import TAP, TargetsUnread, config_reach, group_members_map, target_kind
from auditor.snapshot.models import MethodsPolicyState

KEY = "sspr.registration.conditional_access.temporary_access_pass"

SPEC = CheckSpec(
    id="registration.temporary_access_pass",
    title="The Temporary Access Pass reaches in-scope users only as the policy allows",
    severity=Severity.medium,
    policy_key=KEY,
    sections=("methods_policy", "cloud_users", "sspr_policy", "registration_details", "scope_groups"),
    optional=(
        *SCOPE_OPTIONAL,
        OptionalSection("scope_groups", "read when a scope is a selected group or the pass targets groups: whom it "
                        "reaches is then unknown, naming the group"),
    ),
    references=(
        "https://learn.microsoft.com/entra/identity/authentication/howto-authentication-temporary-access-pass",
        "https://learn.microsoft.com/graph/api/resources/temporaryaccesspassauthenticationmethodconfiguration",
    ),
    fix=Fix(
        portal="Entra admin center > Protection > Authentication methods > Policies > Temporary Access Pass: "
               "disable it, or target it only at the groups that onboard or recover accounts; prefer one-time use",
        graph="PATCH /policies/authenticationMethodsPolicy/authenticationMethodConfigurations/TemporaryAccessPass",
    ),
    description="A Temporary Access Pass lets its holder register methods, and so reset the password.",
    manual=("who may be issued a Temporary Access Pass is the organisation's decision: disable the method or narrow "
            "its targets to the groups that onboard or recover accounts"),
)


def evaluate(ctx: Context) -> list[Finding]:
    allowed = ctx.policy.value_at(KEY)
    if allowed is None:
        return [ctx.result(Status.not_applicable, reason=f"the policy has no `{KEY}` (not audited)")]
    methods: MethodsPolicyState = ctx.section("methods_policy")
    return in_both_scopes(ctx, lambda scope, target, who, also: _judge(ctx, methods, allowed, scope, target, who,
                                                                       also))


def _judge(ctx: Context, methods: MethodsPolicyState, allowed: str, scope: ScopeResolution, target: str, who: str,
           also: str) -> Finding:
    also = (f" (scope {scope.note})" if scope.basis == "inferred" else "") + also
    config = methods.configuration(TAP)
    source = ctx.source("methods_policy")
    expected = {"temporary_access_pass": allowed}
    if config is None:  # Graph expands every method's configuration on GET: one missing is a partial answer
        return ctx.result(Status.unknown, target=target, expected=expected,
                          evidence=[*scope.evidence, Evidence(source=source, field=f"{TAP}.state", value=None)],
                          reason=f"the methods policy was read without its {TAP} configuration, so whether a "
                                 f"Temporary Access Pass reaches {who} users is not known{also}")
    if config.state != "enabled":
        state = config.state
        return ctx.result(Status.passed, target=target, expected=expected, actual={"state": state},
                          evidence=[*scope.evidence, Evidence(source=source, field=f"{TAP}.state", value=state)],
                          reason=f"the Temporary Access Pass is {state}: it reaches no {who} user{also}")
    settings = config.temporary_access_pass
    shown = settings.model_dump() if settings is not None else {}
    evidence = [*scope.evidence, Evidence(source=source, field=f"{TAP}.state", value="enabled"),
                Evidence(source=source, field=f"{TAP}.includeTargets", value=config.include_target_ids),
                Evidence(source=source, field=f"{TAP}.excludeTargets", value=config.exclude_target_ids),
                Evidence(source=source, field=f"{TAP} settings", value=shown)]
    reasons: list[str] = []
    targets_groups = any(t.lower() != "all_users" and target_kind(config, t) == "group"
                         for t in (*config.include_target_ids, *config.exclude_target_ids))
    groups = ctx.section_or_none("scope_groups", reasons, evidence) if targets_groups else None
    members = group_members_map(groups.groups if groups is not None else [])
    try:
        reached = config_reach(config, scope.ids, members)
    except TargetsUnread as exc:
        return ctx.result(Status.unknown, target=target, expected=expected, evidence=evidence,
                          reason=f"whom the Temporary Access Pass reaches is unknown: {exc}{also}")
    listed = folded(sorted(_names(ctx, reached)))
    once = "one-time" if shown.get("is_usable_once") else "reusable within its lifetime"
    actual = {"state": "enabled", "reaches": len(reached), "users": listed, **shown}
    if reached and allowed == "forbidden":
        return ctx.result(Status.failed, target=target, expected=expected, actual=actual, evidence=evidence,
                          reason=f"the Temporary Access Pass ({once}) is enabled for {len(reached)} of "
                                 f"{len(scope.ids)} {who} users; the policy forbids it{also}")
    return ctx.result(Status.passed, target=target, expected=expected, actual=actual, evidence=evidence,
                      reason=f"the Temporary Access Pass ({once}) is enabled for {len(reached)} of {len(scope.ids)} "
                             f"{who} users; the policy {'allows it' if allowed == 'allowed' else 'forbids it'}"
                             f"{also}")


def _names(ctx: Context, ids: frozenset[str]) -> list[str]:
    """The users' UPNs, for the evidence: from `GET /users`, else from their registration record (the UPN is an
    optional field of both: a user row without one still names the user), else the object id."""
    users = ctx.section_or_none("cloud_users", [], [])
    records = ctx.section_or_none("registration_details", [], [])
    names = users.by_id() if users is not None else {}
    registered = records.by_id() if records is not None else {}
    return [getattr(names.get(u.lower()), "upn", "") or getattr(registered.get(u.lower()), "upn", "") or u
            for u in ids]
