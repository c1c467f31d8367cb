"""sspr.helpdesk: "Contact your administrator" leads where the policy says."""

from __future__ import annotations

from auditor.checks.base import CheckSpec, Context, Evidence, Finding, Fix, Severity
from auditor.checks.sspr import portal_change
from auditor.fixes.fixer import FixContext, Fixer
from auditor.portal_fields import SSPR_FIELDS

SPEC = CheckSpec(
    id="sspr.helpdesk",
    title="The SSPR helpdesk link points where the policy says",
    severity=Severity.low,
    policy_key="sspr.helpdesk",
    sections=("sspr_policy",),
    audit_log="sspr_settings",
    references=("https://learn.microsoft.com/entra/identity/authentication/howto-sspr-customization",),
    fix=Fix(portal="Entra admin center > Protection > Password reset > Customization > "
                   "Customize helpdesk link / Custom helpdesk email or URL"),
)


def evaluate(ctx: Context) -> list[Finding]:
    assert ctx.policy.sspr is not None
    wanted = ctx.policy.sspr.helpdesk
    live = ctx.section("sspr_policy")
    source = ctx.source("sspr_policy")
    findings = [ctx.compare(wanted.customize, live.customize_helpdesk,
                            [Evidence(source=source, field=SSPR_FIELDS["customize_helpdesk"],
                                      value=live.customize_helpdesk)],
                            target="customize link", key="sspr.helpdesk.customize",
                            what="the custom helpdesk link")]
    if wanted.customize:
        findings.append(ctx.compare(
            wanted.email_or_url, live.helpdesk_email_or_url,
            [Evidence(source=source, field=SSPR_FIELDS["helpdesk_email_or_url"], value=live.helpdesk_email_or_url)],
            target="helpdesk target", key="sspr.helpdesk.email_or_url", what="the helpdesk email or URL"))
    return findings


def fix(fx: FixContext, failing: list[Finding]) -> None:
    sspr = fx.policy.sspr
    if sspr is not None:
        keys = ("sspr.helpdesk.customize", "sspr.helpdesk.email_or_url") if sspr.helpdesk.customize else \
            ("sspr.helpdesk.customize",)
        portal_change(fx, failing, lambda live: "custom helpdesk link", keys)


FIXER = Fixer(plan=fix, after=("sspr.notify_admins",))
