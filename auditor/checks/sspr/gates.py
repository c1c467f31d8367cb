"""sspr.gates: a reset needs the number of verification methods the policy asks for."""

from __future__ import annotations

from auditor.checks.base import CheckSpec, Context, Finding, Fix, Severity, Status
from auditor.checks.sspr import portal_fixer, portal_setting

SPEC = CheckSpec(
    id="sspr.gates",
    title="A password reset needs the required number of verification methods",
    severity=Severity.high,
    policy_key="sspr.methods_required",
    sections=("sspr_policy",),
    audit_log="sspr_settings",
    references=("https://learn.microsoft.com/entra/identity/authentication/concept-sspr-howitworks",),
    fix=Fix(portal="Entra admin center > Protection > Password reset > Authentication methods > "
                   "Number of methods required to reset"),
)


def evaluate(ctx: Context) -> list[Finding]:
    sspr = ctx.policy.sspr
    assert sspr is not None
    if sspr.scope.value == "none":
        return [ctx.result(Status.not_applicable, reason="the policy turns SSPR off for users")]
    return [portal_setting(ctx, "sspr.methods_required", what="the number of methods required")]


FIXER = portal_fixer("sspr.methods_required", after=("sspr.scope",),
                     summary=lambda live, sspr: f"methods required to reset: {live.methods_required} → "
                                                f"{sspr.methods_required}")
