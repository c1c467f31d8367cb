"""ad.service_account: the sync account the policy names exists and is enabled."""

from __future__ import annotations

from auditor.checks.ad import directory_state, wanted
from auditor.checks.base import CheckSpec, Context, Evidence, Finding, Fix, Severity, Status

KEY = "directory.service_account"

SPEC = CheckSpec(
    id="ad.service_account",
    title="The sync service account exists and is enabled",
    severity=Severity.critical,
    policy_key=KEY,
    sections=("directory",),
    changed_attributes=("userAccountControl",),
    references=(
        "https://learn.microsoft.com/entra/identity/hybrid/connect/reference-connect-accounts-permissions",
        "https://learn.microsoft.com/entra/identity/hybrid/cloud-sync/how-to-install",
    ),
    fix=Fix(
        portal="Active Directory Users and Computers > find the AD DS connector account > Enable Account (or "
               "correct directory.service_account in the policy)",
        powershell="Enable-ADAccount -Identity '<sync account>'",
        console="Active Directory Users and Computers",
        shell="PowerShell (ActiveDirectory module)",
        fills=(("<sync account>", "sync_account"),),
    ),
    description="Writeback runs as the Entra Connect AD DS connector account (MSOL_… or a gMSA for cloud sync).",
    # Cloud Sync: the provisioning agent's installation wizard creates the gMSA (cloud-sync/how-to-install,
    # how-to-prerequisites: "credentials to create the ... cloud sync gMSA")
    manual=("the sync account belongs to the sync engine: create or enable it with the Entra Connect wizard, or, "
            "for Cloud Sync (directory.sync_engine: cloud_sync), with the provisioning agent's installation wizard, "
            "which creates its gMSA (provAgentgMSA$); not by hand"),
)


def evaluate(ctx: Context) -> list[Finding]:
    name = wanted(ctx).service_account
    state = directory_state(ctx)
    account = state.service_account
    if account is None:
        return [ctx.result(Status.failed, target=name, expected="exists and enabled", actual="not found",
                           evidence=[Evidence(source=ctx.source("directory"), field="sAMAccountName", value=name)],
                           reason=f"no user or managed service account named {name!r} in {state.base_dn}")]
    evidence = [Evidence(source=account.dn, field="objectSid", value=account.sid),
                Evidence(source=account.dn, field="userAccountControl", value=account.user_account_control),
                Evidence(source=account.dn, field="groups (nested included)", value=[g.name for g in account.groups])]
    if not account.enabled:
        return [ctx.result(Status.failed, target=account.dn, expected="exists and enabled", actual="disabled",
                           evidence=evidence, reason="the account is disabled (userAccountControl bit 0x2): "
                                                     "writeback and sync stop")]
    return [ctx.result(Status.passed, target=account.dn, expected="exists and enabled", actual="enabled",
                       evidence=evidence)]
