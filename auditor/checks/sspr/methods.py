"""sspr.methods: SSPR offers exactly the methods the policy allows, as the migration state decides.

Microsoft (how-to-authentication-methods-manage): before migration only the legacy SSPR
settings decide which methods SSPR offers; while migrating, a method is offered when the legacy
SSPR settings *or* the authentication methods policy enable it; once migration is complete,
only the authentication methods policy decides. Security questions live in the legacy policy
in every state.
"""

from __future__ import annotations

from auditor.checks.base import CheckSpec, Context, Evidence, Finding, Fix, Severity, Status, Unreadable
from auditor.snapshot.models import MethodsPolicyState, SsprPolicyState

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

# Which methods-policy configurations carry each SSPR method (reference/graph.md mapping).
METHOD_CONFIGS: dict[str, tuple[str, ...]] = {
    "mobile_app_notification": ("MicrosoftAuthenticator",),
    "mobile_app_code": ("MicrosoftAuthenticator", "SoftwareOath"),
    "email": ("Email",),
    "mobile_phone": ("Sms", "Voice"),
    "office_phone": ("Voice",),
    "security_questions": (),
}


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
    uses_legacy = state != "migrationComplete" or method == "security_questions"
    uses_policy = state != "preMigration" and method != "security_questions"
    evidence: list[Evidence] = []
    offered = False
    if uses_policy:
        policy_on = _enabled_in_methods_policy(method, methods_policy)
        offered = offered or policy_on
        evidence.append(Evidence(source=ctx.source("methods_policy"),
                                 field=f"{'/'.join(METHOD_CONFIGS[method])}.state (migration: {state})",
                                 value=policy_on))
    if uses_legacy:
        if isinstance(legacy, Unreadable):
            if not offered:  # only a legacy "on" could change the verdict, and we cannot see it
                return ctx.result(Status.unknown, target=method, expected=wanted, key=key,
                                  evidence=evidence + legacy.evidence, reason=legacy.reason)
        else:
            legacy_on = bool(getattr(legacy, method))
            offered = offered or legacy_on
            evidence.append(Evidence(source=ctx.source("sspr_policy"), field=_LEGACY_FIELDS[method],
                                     value=legacy_on))
    rule = {"preMigration": "legacy SSPR settings only", "migrationInProgress": "legacy SSPR or methods policy",
            "migrationComplete": "methods policy only"}[state]
    if method == "security_questions":
        rule = "legacy SSPR settings (in every migration state)"
    if offered == wanted:
        return ctx.result(Status.passed, target=method, expected=wanted, actual=offered, evidence=evidence, key=key)
    verb = "offered" if offered else "not offered"
    return ctx.result(Status.failed, target=method, expected=wanted, actual=offered, evidence=evidence, key=key,
                      reason=f"{method} is {verb} for SSPR (decided by: {rule})")


def _enabled_in_methods_policy(method: str, policy: MethodsPolicyState) -> bool:
    for config_id in METHOD_CONFIGS[method]:
        config = policy.configuration(config_id)
        if config is None or config.state != "enabled":
            continue
        if method == "office_phone" and not config.is_office_phone_allowed:
            continue
        return True
    return False


_LEGACY_FIELDS = {
    "mobile_app_notification": "mobileAppNotificationEnabled",
    "mobile_app_code": "mobileAppCodeEnabled",
    "email": "emailOptionEnabled",
    "mobile_phone": "mobilePhoneOptionEnabled",
    "office_phone": "officePhoneOptionEnabled",
    "security_questions": "securityQuestionsOptionEnabled",
}
