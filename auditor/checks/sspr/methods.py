"""sspr.methods: SSPR offers exactly the methods the policy allows, as the migration state decides
(the rules are in `auditor.derive.sspr_methods`)."""

from __future__ import annotations

from auditor.checks.base import (
    CheckSpec,
    Context,
    Evidence,
    Finding,
    Fix,
    OptionalSection,
    Severity,
    Status,
    Unreadable,
)
from auditor.derive.figures import folded
from auditor.derive.method_reach import Audience, method_reach
from auditor.derive.sspr_methods import (
    APP_CODE,
    AUTHENTICATOR,
    LEGACY_METHOD_FIELDS,
    METHOD_CONFIGS,
    OATH_FLAG,
    known_state,
    rule_for,
    uses_legacy,
    uses_methods_policy,
)
from auditor.portal_fields import METHOD_ALLOWED
from auditor.snapshot.models import MethodConfiguration, MethodsPolicyState, SsprPolicyState

SPEC = CheckSpec(
    id="sspr.methods",
    title="SSPR offers only the verification methods the policy allows",
    severity=Severity.medium,
    policy_key="sspr.methods",
    sections=("sspr_policy", "methods_policy", "scope_groups", "cloud_users", "registration_details"),
    optional=(
        OptionalSection("sspr_policy", "a method the legacy toggles could offer (security questions always, every "
                        "method before migration is complete) is unknown, with the portal's reason; a method the "
                        "methods policy alone decides stands"),
        OptionalSection("scope_groups", "read only when a method targets groups (or the SSPR scope is a selected "
                    "group): that method's reach is unknown, naming the section; a method every in-scope user "
                    "gets, or nobody gets, stands"),
        OptionalSection("cloud_users", "read only when a method targets groups, to know the in-scope users it reaches: "
                    "that method's reach is unknown; the UPNs shown fall back to object ids"),
        OptionalSection("registration_details", "read only to infer the in-scope users of a targeted method when the "
                        "portal's policy was not read; without both, that method is unknown"),
    ),
    references=(
        "https://learn.microsoft.com/entra/identity/authentication/concept-sspr-howitworks",
        "https://learn.microsoft.com/entra/identity/authentication/how-to-authentication-methods-manage",
    ),
    fix=Fix(
        portal="Before migration: Protection > Password reset > Authentication methods. After migration: "
               "Protection > Authentication methods > Policies (per method: Enable, target users)",
        graph="PATCH /policies/authenticationMethodsPolicy/authenticationMethodConfigurations/{id} "
              '{"@odata.type": "#microsoft.graph.<method>AuthenticationMethodConfiguration", "state": "enabled"}',
        powershell="Update-MgPolicyAuthenticationMethodPolicyAuthenticationMethodConfiguration "
                   "-AuthenticationMethodConfigurationId <id> -BodyParameter @{...; state = 'enabled'}",
        shell="PowerShell (Microsoft Graph module)",
    ),
)

def evaluate(ctx: Context) -> list[Finding]:
    sspr = ctx.policy.sspr
    assert sspr is not None
    if sspr.scope.value == "none":
        return [ctx.result(Status.not_applicable, reason="the policy turns SSPR off for users")]
    methods_policy: MethodsPolicyState = ctx.section("methods_policy")
    state = methods_policy.migration_state
    if not known_state(state):
        raise Unreadable(f"unrecognised policyMigrationState {state!r}; cannot tell which policy governs methods")
    legacy = _legacy_or_none(ctx)
    audience = Audience(ctx.snapshot)
    findings = []
    for method, wanted in sspr.methods.model_dump().items():
        try:
            findings.append(_method_finding(ctx, method, wanted, state, legacy, methods_policy, audience))
        except Unreadable as exc:
            findings.append(ctx.result(Status.unknown, target=method, expected=wanted, key=f"sspr.methods.{method}",
                                       evidence=exc.evidence, reason=exc.reason))
    return findings


def _legacy_or_none(ctx: Context) -> SsprPolicyState | Unreadable:
    try:
        return ctx.section("sspr_policy")
    except Unreadable as exc:
        return exc


def _method_finding(
    ctx: Context, method: str, wanted: bool, state: str | None,
    legacy: SsprPolicyState | Unreadable, methods_policy: MethodsPolicyState, audience: Audience,
) -> Finding:
    key = f"sspr.methods.{method}"
    evidence: list[Evidence] = []
    rule = rule_for(method, state)
    if uses_methods_policy(method, state):
        configs = [c for c in (methods_policy.configuration(i) for i in METHOD_CONFIGS[method]) if c is not None]
        evidence.append(Evidence(
            source=ctx.source("methods_policy"),
            field=f"{'/'.join(METHOD_CONFIGS[method])}.state, includeTargets, excludeTargets"
                  + (f", MicrosoftAuthenticator.{OATH_FLAG}" if method == APP_CODE else "")
                  + f" (migration: {state})",
            value={c.id: _configuration_evidence(method, c) for c in configs} or "not configured"))
    readable_legacy = None if isinstance(legacy, Unreadable) else legacy
    if uses_legacy(method, state) and readable_legacy is not None:
        evidence.append(Evidence(source=ctx.source("sspr_policy"), field=LEGACY_METHOD_FIELDS[method],
                                 value=bool(getattr(readable_legacy, method))))
        if method in readable_legacy.not_allowed:
            evidence.append(Evidence(source=ctx.source("sspr_policy"), field=METHOD_ALLOWED[method], value=False))
    found = method_reach(method, state, readable_legacy, methods_policy, audience)
    if isinstance(legacy, Unreadable) and uses_legacy(method, state) and not found.everyone:
        # only a legacy "on" could change the verdict, and we cannot see it
        return ctx.result(Status.unknown, target=method, expected=wanted, key=key,
                          evidence=evidence + legacy.evidence, reason=legacy.reason)
    if found.everyone or found.nobody:
        offered = found.everyone
        if offered == wanted:
            return ctx.result(Status.passed, target=method, expected=wanted, actual=offered, evidence=evidence,
                              key=key, reason=f"decided by: {rule}")
        verb = "offered to every in-scope user" if offered else "offered to no in-scope user"
        detail = f" ({'; '.join(found.targeted)})" if found.targeted and not offered else ""
        return ctx.result(Status.failed, target=method, expected=wanted, actual=offered, evidence=evidence, key=key,
                          reason=f"{method} is {verb} for SSPR{detail} (decided by: {rule})")
    # the methods policy targets groups: judge by the in-scope users it actually reaches
    in_scope = audience.in_scope()
    reached = found.users & in_scope
    missed = in_scope - reached
    evidence += list(audience.scope_evidence)
    actual = {"in_scope": len(in_scope), "reached": len(reached), "not_reached": len(missed),
              "reached_users" if not wanted else "not_reached_users":
                  folded(audience.upns(reached if not wanted else missed))}
    targets = "; ".join(found.targeted)
    if wanted and not missed:
        return ctx.result(Status.passed, target=method, expected=wanted, actual=actual, evidence=evidence, key=key,
                          reason=f"{method} reaches all {len(in_scope)} in-scope users ({targets})")
    if not wanted and not reached:
        return ctx.result(Status.passed, target=method, expected=wanted, actual=actual, evidence=evidence, key=key,
                          reason=f"{method} reaches none of the {len(in_scope)} in-scope users ({targets})")
    if wanted:
        return ctx.result(Status.failed, target=method, expected=wanted, actual=actual, evidence=evidence, key=key,
                          reason=f"{method} reaches only {len(reached)} of {len(in_scope)} in-scope users: "
                                 f"{len(missed)} do not get it ({targets}; decided by: {rule})")
    return ctx.result(Status.failed, target=method, expected=wanted, actual=actual, evidence=evidence, key=key,
                      reason=f"{method} is offered to {len(reached)} of {len(in_scope)} in-scope users although the "
                             f"policy does not allow it ({targets}; decided by: {rule})")


def _configuration_evidence(method: str, config: MethodConfiguration) -> dict[str, object]:
    shown: dict[str, object] = {"state": config.state, "include": config.include_target_ids,
                                "exclude": config.exclude_target_ids}
    users = sorted(t for t, kind in config.target_types.items() if kind == "user")
    if users:
        shown["user_targets"] = users  # targetType user: the user itself, not a group
    if method == APP_CODE and config.id.lower() == AUTHENTICATOR:
        shown[OATH_FLAG] = config.is_software_oath_enabled  # the app's code needs it true (how-to-...-manage)
    return shown
