"""sspr.notify_users: users are told when their password is reset."""

from __future__ import annotations

from auditor.checks.base import CheckSpec, Context, Finding, Fix, Severity
from auditor.checks.sspr import portal_fixer, portal_setting
from auditor.fixes.fixer import on

SPEC = CheckSpec(
    id="sspr.notify_users",
    title="Users are notified when their password is reset",
    severity=Severity.medium,
    policy_key="sspr.notifications.notify_users",
    sections=("sspr_policy",),
    audit_log="sspr_settings",
    references=("https://learn.microsoft.com/entra/identity/authentication/concept-sspr-howitworks",),
    fix=Fix(portal="Entra admin center > Protection > Password reset > Notifications > "
                   "Notify users on password resets?"),
)


def evaluate(ctx: Context) -> list[Finding]:
    assert ctx.policy.sspr is not None
    return [portal_setting(ctx, "sspr.notifications.notify_users", what="notifying users on reset")]


FIXER = portal_fixer("sspr.notifications.notify_users", after=("sspr.registration",),
                     summary=lambda live, sspr: f"notify users on password reset: {on(live.notify_users)} → "
                                                f"{on(sspr.notifications.notify_users)}")
