"""sspr.notify_admins: all admins are told when another admin resets their password."""

from __future__ import annotations

from auditor.checks.base import CheckSpec, Context, Finding, Fix, Severity
from auditor.checks.sspr import portal_fixer, portal_setting
from auditor.fixes.fixer import on

SPEC = CheckSpec(
    id="sspr.notify_admins",
    title="All admins are notified when another admin resets their password",
    severity=Severity.medium,
    policy_key="sspr.notifications.notify_admins",
    sections=("sspr_policy",),
    audit_log="sspr_settings",
    references=("https://learn.microsoft.com/entra/identity/authentication/concept-sspr-howitworks",),
    fix=Fix(portal="Entra admin center > Protection > Password reset > Notifications > "
                   "Notify all admins when other admins reset their password?"),
)


def evaluate(ctx: Context) -> list[Finding]:
    assert ctx.policy.sspr is not None
    return [portal_setting(ctx, "sspr.notifications.notify_admins", what="notifying admins on admin resets")]


FIXER = portal_fixer("sspr.notifications.notify_admins", after=("sspr.notify_users",),
                     summary=lambda live, sspr: f"notify all admins when an admin resets: {on(live.notify_admins)} → "
                                                f"{on(sspr.notifications.notify_admins)}")
