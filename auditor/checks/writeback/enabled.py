"""writeback.enabled: password writeback to on-premises AD is on (or off) as the policy says."""

from __future__ import annotations

from auditor.checks.base import CheckSpec, Context, Evidence, Finding, Fix, Severity, Status
from auditor.checks.writeback import onprem_change
from auditor.fixes.fixer import FixContext, Fixer
from auditor.portal_fields import ONPREM_FIELDS
from auditor.snapshot.models import OnPremisesWritebackState

SPEC = CheckSpec(
    id="writeback.enabled",
    title="Password writeback to on-premises Active Directory is enabled",
    severity=Severity.high,
    policy_key="writeback.enabled",
    sections=("onprem_writeback",),
    audit_log="writeback",
    references=(
        "https://learn.microsoft.com/entra/identity/authentication/tutorial-enable-sspr-writeback",
        "https://learn.microsoft.com/entra/identity/authentication/concept-sspr-writeback",
    ),
    fix=Fix(portal="Entra admin center > Protection > Password reset > On-premises integration > "
                   "Enable password write back for synced users (and in Entra Connect: Optional features > "
                   "Password writeback)"),
)


ENTRA_CONNECT, CLOUD_SYNC = "Entra Connect writeback", "Cloud Sync writeback"


def evaluate(ctx: Context) -> list[Finding]:
    wanted = ctx.policy.writeback
    assert wanted is not None
    live = ctx.section("onprem_writeback")
    source = ctx.source("onprem_writeback")
    evidence = [Evidence(source=source, field=ONPREM_FIELDS["writeback_enabled"], value=live.writeback_enabled),
                Evidence(source=source, field=ONPREM_FIELDS["writeback_supported"], value=live.writeback_supported)]
    findings = [_entra_connect(ctx, wanted.enabled, live, evidence)]
    if wanted.cloud_sync is not None:
        findings.append(ctx.compare(
            wanted.cloud_sync, live.cloud_sync_writeback_enabled,
            [Evidence(source=source, field=ONPREM_FIELDS["cloud_sync_writeback_enabled"],
                      value=live.cloud_sync_writeback_enabled)],
            target=CLOUD_SYNC, key="writeback.cloud_sync", what="Cloud Sync password writeback"))
    return findings


def _entra_connect(ctx: Context, wanted: bool, live: OnPremisesWritebackState, evidence: list[Evidence]) -> Finding:
    """Which field is the switch is not documented by Microsoft: public tools read `enablementForTenant` as "the
    tenant's on-premises integration is on" and O365Essentials (Set-O365PasswordReset) PUTs
    `passwordWritebackSupported` to turn writeback on and off (tests/fixtures/real/portal/FIELDS.md). So writeback
    counts as on only when both are true, and as off only when either is false: never a pass on one reading."""
    target = ENTRA_CONNECT
    tenant, supported = ONPREM_FIELDS["writeback_enabled"], ONPREM_FIELDS["writeback_supported"]
    both = f"{tenant} and {supported}"
    fields = {tenant: live.writeback_enabled, supported: live.writeback_supported}
    off = [k for k, v in fields.items() if v is False]
    if not off and any(v is None for v in fields.values()):
        missing = [k for k, v in fields.items() if v is None]
        return ctx.result(Status.unknown, target=target, expected=wanted, evidence=evidence,
                          reason=f"{', '.join(missing)} was not in the response; writeback counts as on only when "
                                 f"{both} are both true")
    actual = not off
    if actual == wanted:
        return ctx.result(Status.passed, target=target, expected=wanted, actual=actual, evidence=evidence,
                          reason=None if actual else f"off: {', '.join(off)} is false")
    if wanted:
        return ctx.result(Status.failed, target=target, expected=True, actual=False, evidence=evidence,
                          reason=f"password writeback is off: {', '.join(off)} is false (writeback counts as on "
                                 f"only when {both} are both true)")
    return ctx.result(Status.failed, target=target, expected=False, actual=True, evidence=evidence,
                      reason=f"password writeback is on ({both} are true), but the policy wants it off")


def fix(fx: FixContext, failing: list[Finding]) -> None:
    wanted = fx.policy.writeback
    if wanted is None:
        return
    onprem_change(fx, [f for f in failing if f.target == ENTRA_CONNECT], "writeback_enabled", wanted.enabled,
                  "password writeback", lambda live: live.writeback_supported)
    onprem_change(fx, [f for f in failing if f.target == CLOUD_SYNC], "cloud_sync_writeback_enabled",
                  wanted.cloud_sync, "Cloud Sync password writeback", lambda live: True)


FIXER = Fixer(plan=fix)
