"""sspr.gates: a reset needs the number of verification methods the policy asks for."""

from __future__ import annotations

from auditor.checks.base import CheckSpec, Context, Evidence, Finding, Fix, Severity, Status

SPEC = CheckSpec(
    id="sspr.gates",
    title="A password reset needs the required number of verification methods",
    severity=Severity.high,
    policy_key="sspr.methods_required",
    sections=("sspr_policy",),
    references=("https://learn.microsoft.com/entra/identity/authentication/concept-sspr-howitworks",),
    fix=Fix(portal="Entra admin center > Protection > Password reset > Authentication methods > "
                   "Number of methods required to reset"),
)


def evaluate(ctx: Context) -> list[Finding]:
    sspr = ctx.policy.sspr
    assert sspr is not None
    if sspr.scope.value == "none":
        return [ctx.result(Status.not_applicable, reason="the policy turns SSPR off for users")]
    live = ctx.section("sspr_policy")
    evidence = [Evidence(source=ctx.source("sspr_policy"), field="numberOfAuthenticationMethodsRequired",
                         value=live.methods_required)]
    return [ctx.compare(sspr.methods_required, live.methods_required, evidence,
                        what="the number of methods required")]
