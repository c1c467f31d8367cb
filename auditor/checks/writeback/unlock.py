"""writeback.unlock: users can unlock their on-premises account without a reset, as the policy says."""

from __future__ import annotations

from auditor.checks.base import CheckSpec, Context, Evidence, Finding, Fix, Severity
from auditor.checks.writeback import onprem_change
from auditor.fixes.fixer import FixContext, Fixer
from auditor.portal_fields import ONPREM_FIELDS

SPEC = CheckSpec(
    id="writeback.unlock",
    title="Users can unlock their on-premises account without resetting their password",
    severity=Severity.low,
    policy_key="writeback.unlock",
    sections=("onprem_writeback",),
    audit_log="sspr_settings",
    references=("https://learn.microsoft.com/entra/identity/authentication/tutorial-enable-sspr-writeback",),
    fix=Fix(portal="Entra admin center > Protection > Password reset > On-premises integration > "
                   "Allow users to unlock accounts without resetting their password"),
)


def evaluate(ctx: Context) -> list[Finding]:
    wanted = ctx.policy.writeback
    assert wanted is not None
    live = ctx.section("onprem_writeback")
    source = ctx.source("onprem_writeback")
    evidence = [Evidence(source=source, field=ONPREM_FIELDS["unlock_enabled"], value=live.unlock_enabled),
                Evidence(source=source, field=ONPREM_FIELDS["unlock_supported"], value=live.unlock_supported)]
    return [ctx.compare(wanted.unlock, live.unlock_enabled, evidence, what="unlock without reset")]


def fix(fx: FixContext, failing: list[Finding]) -> None:
    if fx.policy.writeback is not None:
        onprem_change(fx, failing, "unlock_enabled", fx.policy.writeback.unlock, "unlock without reset",
                      lambda live: live.unlock_supported)


FIXER = Fixer(plan=fix, after=("writeback.enabled",))
