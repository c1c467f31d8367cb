"""writeback.enabled: password writeback to on-premises AD is on (or off) as the policy says."""

from __future__ import annotations

from auditor.checks.base import CheckSpec, Context, Evidence, Finding, Fix, Severity

SPEC = CheckSpec(
    id="writeback.enabled",
    title="Password writeback to on-premises Active Directory is enabled",
    severity=Severity.high,
    policy_key="writeback.enabled",
    sections=("onprem_writeback",),
    references=(
        "https://learn.microsoft.com/entra/identity/authentication/tutorial-enable-sspr-writeback",
        "https://learn.microsoft.com/entra/identity/authentication/concept-sspr-writeback",
    ),
    fix=Fix(portal="Entra admin center > Protection > Password reset > On-premises integration > "
                   "Enable password write back for synced users (and in Entra Connect: Optional features > "
                   "Password writeback)"),
)


def evaluate(ctx: Context) -> list[Finding]:
    wanted = ctx.policy.writeback
    assert wanted is not None
    live = ctx.section("onprem_writeback")
    source = ctx.source("onprem_writeback")
    evidence = [Evidence(source=source, field="enablementForTenant", value=live.writeback_enabled),
                Evidence(source=source, field="passwordWritebackSupported", value=live.writeback_supported)]
    findings = [ctx.compare(wanted.enabled, live.writeback_enabled, evidence, target="Entra Connect writeback",
                            what="password writeback")]
    if wanted.cloud_sync is not None:
        findings.append(ctx.compare(
            wanted.cloud_sync, live.cloud_sync_writeback_enabled,
            [Evidence(source=source, field="cloudProvisioningEnablementForTenant",
                      value=live.cloud_sync_writeback_enabled)],
            target="Cloud Sync writeback", key="writeback.cloud_sync", what="Cloud Sync password writeback"))
    return findings
