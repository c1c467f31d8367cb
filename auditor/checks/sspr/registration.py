"""sspr.registration: users must register at sign-in and reconfirm as often as the policy says."""

from __future__ import annotations

from auditor.checks.base import CheckSpec, Context, Evidence, Finding, Fix, Severity, Status

SPEC = CheckSpec(
    id="sspr.registration",
    title="Users register for SSPR at sign-in and reconfirm their methods on schedule",
    severity=Severity.medium,
    policy_key="sspr.registration",
    sections=("sspr_policy",),
    references=("https://learn.microsoft.com/entra/identity/authentication/howto-sspr-deployment",),
    fix=Fix(portal="Entra admin center > Protection > Password reset > Registration > Require users to register "
                   "when signing in / Number of days before users are asked to reconfirm"),
)


def evaluate(ctx: Context) -> list[Finding]:
    sspr = ctx.policy.sspr
    assert sspr is not None
    if sspr.scope.value == "none":
        return [ctx.result(Status.not_applicable, reason="the policy turns SSPR off for users")]
    live = ctx.section("sspr_policy")
    source = ctx.source("sspr_policy")
    wanted = sspr.registration
    return [
        ctx.compare(wanted.require_on_sign_in, live.registration_required_on_sign_in,
                    [Evidence(source=source, field="registrationRequiredOnSignIn",
                              value=live.registration_required_on_sign_in)],
                    target="register at sign-in", key="sspr.registration.require_on_sign_in",
                    what="registration at sign-in"),
        ctx.compare(wanted.reconfirm_days, live.reconfirm_days,
                    [Evidence(source=source, field="registrationReconfirmIntevalInDays", value=live.reconfirm_days)],
                    target="reconfirm interval", key="sspr.registration.reconfirm_days",
                    what="the reconfirmation interval in days"),
    ]
