"""sspr.methods: SSPR offers exactly the methods the policy allows, as the migration state decides
(the rules are in `auditor.sspr_methods`)."""

from __future__ import annotations

from auditor.checks.base import CheckSpec, Context, Evidence, Finding, Fix, Severity, Status, Unreadable
from auditor.snapshot.models import MethodsPolicyState, SsprPolicyState
from auditor.sspr_methods import (
    LEGACY_METHOD_FIELDS,
    METHOD_CONFIGS,
    enabled_in_methods_policy,
    rule_for,
    uses_legacy,
    uses_methods_policy,
)

SPEC = CheckSpec(
    id="sspr.methods",
    title="SSPR offers only the verification methods the policy allows",
    severity=Severity.medium,
    policy_key="sspr.methods",
    sections=("sspr_policy", "methods_policy"),
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
    ),
)

def evaluate(ctx: Context) -> list[Finding]:
    sspr = ctx.policy.sspr
    assert sspr is not None
    if sspr.scope.value == "none":
        return [ctx.result(Status.not_applicable, reason="the policy turns SSPR off for users")]
    methods_policy: MethodsPolicyState = ctx.section("methods_policy")
    state = methods_policy.migration_state
    if state not in ("preMigration", "migrationInProgress", "migrationComplete"):
        raise Unreadable(f"unrecognised policyMigrationState {state!r}; cannot tell which policy governs methods")
    legacy = _legacy_or_none(ctx)
    findings = []
    for method, wanted in sspr.methods.model_dump().items():
        findings.append(_method_finding(ctx, method, wanted, state, legacy, methods_policy))
    return findings


def _legacy_or_none(ctx: Context) -> SsprPolicyState | Unreadable:
    try:
        return ctx.section("sspr_policy")
    except Unreadable as exc:
        return exc


def _method_finding(
    ctx: Context, method: str, wanted: bool, state: str,
    legacy: SsprPolicyState | Unreadable, methods_policy: MethodsPolicyState,
) -> Finding:
    key = f"sspr.methods.{method}"
    evidence: list[Evidence] = []
    offered = False
    if uses_methods_policy(method, state):
        policy_on = enabled_in_methods_policy(method, methods_policy)
        offered = offered or policy_on
        evidence.append(Evidence(source=ctx.source("methods_policy"),
                                 field=f"{'/'.join(METHOD_CONFIGS[method])}.state (migration: {state})",
                                 value=policy_on))
    if uses_legacy(method, state):
        if isinstance(legacy, Unreadable):
            if not offered:  # only a legacy "on" could change the verdict, and we cannot see it
                return ctx.result(Status.unknown, target=method, expected=wanted, key=key,
                                  evidence=evidence + legacy.evidence, reason=legacy.reason)
        else:
            legacy_on = bool(getattr(legacy, method))
            offered = offered or legacy_on
            evidence.append(Evidence(source=ctx.source("sspr_policy"), field=LEGACY_METHOD_FIELDS[method],
                                     value=legacy_on))
    rule = rule_for(method, state)
    if offered == wanted:
        return ctx.result(Status.passed, target=method, expected=wanted, actual=offered, evidence=evidence, key=key)
    verb = "offered" if offered else "not offered"
    return ctx.result(Status.failed, target=method, expected=wanted, actual=offered, evidence=evidence, key=key,
                      reason=f"{method} is {verb} for SSPR (decided by: {rule})")

