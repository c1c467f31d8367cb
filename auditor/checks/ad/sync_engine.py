"""ad.sync_engine: the policy's `directory.sync_engine` is the engine that really writes passwords back here.

The AD checks judge Entra Connect's rule set or Cloud Sync's (`sync_engine`); judging the wrong one passes or fails
the wrong rights, so what the tenant and the domain say is compared with the policy:

- the tenant: the portal's `cloudProvisioningEnablementForTenant` ("Write back passwords with Microsoft Entra Cloud
  Sync", https://learn.microsoft.com/entra/identity/hybrid/cloud-sync/how-to-install, "Enable password writeback in
  the portal"; auditor/portal_fields.py);
- the domain: accounts named as the agent's installer names its gMSA, `provAgentgMSA$`
  (https://learn.microsoft.com/entra/identity/hybrid/cloud-sync/gmsa-cloud-sync: "The account appears as
  domain\\provAgentgMSA$"), read by readers/cloud_sync.py;
- the sync account the policy names: Cloud Sync runs its agent, and writes back, as a gMSA (gmsa-cloud-sync, "Password
  Writeback": the rights go to "<gmsa account>"); Entra Connect's Express install names its connector account
  MSOL_… (https://learn.microsoft.com/entra/identity/hybrid/connect/reference-connect-accounts-permissions).

Cloud Sync may run beside Entra Connect, each in its own domains (tutorial-enable-cloud-sync-sspr-writeback), so the
tenant's flag alone says nothing about this domain: Cloud Sync writes back here when the flag is on and its agent's
gMSA is in this domain (or is the policy's account).
"""

from __future__ import annotations

from auditor.ad.sync_engines import is_gmsa, named_for_cloud_sync, named_for_connect
from auditor.checks.ad import directory_state, wanted
from auditor.checks.base import CheckSpec, Context, Evidence, Finding, Fix, OptionalSection, Severity, Status
from auditor.portal_fields import ONPREM_FIELDS
from auditor.snapshot.directory import DirectoryState
from auditor.snapshot.models import OnPremisesWritebackState

KEY = "directory.sync_engine"
FLAG = ONPREM_FIELDS["cloud_sync_writeback_enabled"]

SPEC = CheckSpec(
    id="ad.sync_engine",
    title="The policy judges the engine that writes back (Connect or Cloud Sync)",
    severity=Severity.high,
    policy_key=KEY,
    sections=("directory", "onprem_writeback"),
    changed_attributes=("sAMAccountName",),
    audit_log="writeback",
    optional=(OptionalSection("onprem_writeback", "the tenant's Cloud Sync writeback flag is not known: a Cloud Sync "
                              "gMSA in the domain, or sync_engine: cloud_sync, is then unknown; the sync account's "
                              "own kind still fails a mismatch"),),
    references=(
        "https://learn.microsoft.com/entra/identity/hybrid/cloud-sync/gmsa-cloud-sync",
        "https://learn.microsoft.com/entra/identity/hybrid/cloud-sync/how-to-install",
        "https://learn.microsoft.com/entra/identity/authentication/tutorial-enable-cloud-sync-sspr-writeback",
        "https://learn.microsoft.com/entra/identity/hybrid/connect/reference-connect-accounts-permissions",
    ),
    fix=Fix(portal="Set directory.sync_engine (and directory.service_account) in the policy to the engine that "
                   "writes passwords back to this domain: cloud_sync with its gMSA (provAgentgMSA$) when the Entra "
                   "admin center > Protection > Password reset > On-premises integration has \"Write back passwords "
                   "with Microsoft Entra Cloud Sync\" on and the agent runs against this domain; connect with the "
                   "AD DS connector account otherwise",
            console="the policy file"),
    description="Compares directory.sync_engine with the tenant's cloudProvisioningEnablementForTenant, the Cloud "
                "Sync gMSAs (provAgentgMSA$) in the domain and the kind of the sync account the policy names.",
    manual="which engine writes back is the policy's declaration: correct the policy, or the tenant and domain",
)


def evaluate(ctx: Context) -> list[Finding]:
    directory = wanted(ctx)
    state = directory_state(ctx)
    declared = directory.sync_engine
    found = state.cloud_sync_accounts
    if found is None or found.error is not None:
        return [ctx.result(Status.unknown, target=state.base_dn, expected=declared,
                           evidence=[Evidence(source=ctx.source("directory"), field="provAgentgMSA* accounts",
                                              value=found.error if found else None)],
                           reason=(f"the Cloud Sync accounts could not be read: {found.error}" if found else
                                   "this snapshot did not look for Cloud Sync's gMSA (older snapshot): collect again"))]
    flag, flag_evidence = _tenant_flag(ctx)
    account = state.service_account
    gmsas = [a.sam_account_name for a in found.accounts if a.gmsa]
    evidence = [*flag_evidence,
                Evidence(source=state.base_dn, field="provAgentgMSA* gMSAs", value=gmsas),
                Evidence(source=account.dn if account else ctx.source("directory"), field="sync account objectClass",
                         value=account.object_classes if account else None)]
    wrong = _contradictions(declared, flag, gmsas, state)
    if wrong:
        return [ctx.result(Status.failed, target=state.base_dn, expected=declared, actual=wrong,
                           evidence=evidence, reason=f"the policy judges {_name(declared)}'s rule set, but "
                                                     + "; ".join(wrong))]
    missing = _undecided(declared, flag, gmsas)
    if missing:
        return [ctx.result(Status.unknown, target=state.base_dn, expected=declared, evidence=evidence,
                           reason=missing)]
    return [ctx.result(Status.passed, target=state.base_dn, expected=declared, actual=declared, evidence=evidence,
                       reason=_why_passed(declared, flag, gmsas))]


def _tenant_flag(ctx: Context) -> tuple[bool | None, list[Evidence]]:
    reasons: list[str] = []
    evidence: list[Evidence] = []
    live: OnPremisesWritebackState | None = ctx.section_or_none("onprem_writeback", reasons, evidence)
    if live is None:
        return None, [*evidence, Evidence(source="(onprem_writeback)", field=FLAG, value="; ".join(reasons))]
    return live.cloud_sync_writeback_enabled, [Evidence(source=ctx.source("onprem_writeback"), field=FLAG,
                                                        value=live.cloud_sync_writeback_enabled)]


def _contradictions(declared: str, flag: bool | None, gmsas: list[str], state: DirectoryState) -> list[str]:
    """What the tenant and the domain say against the policy's engine."""
    out: list[str] = []
    account = state.service_account
    name = account.sam_account_name if account else None
    if declared == "connect":
        if name and named_for_cloud_sync(name):
            out.append(f"the sync account {name} is named as Cloud Sync's agent names its gMSA")
        if flag is True and gmsas:
            out.append(f"the tenant writes back with Cloud Sync ({FLAG} is true) and Cloud Sync's gMSA "
                       f"{', '.join(gmsas)} is in {state.base_dn}")
        elif flag is True and account is not None and is_gmsa(account.object_classes):
            out.append(f"the tenant writes back with Cloud Sync ({FLAG} is true) and the sync account {name} is a "
                       "gMSA, as Cloud Sync's agent runs (a custom gMSA carries no telling name)")
        return out
    if name and named_for_connect(name):
        out.append(f"the sync account {name} is named as Entra Connect names its AD DS connector account")
    elif account is not None and not is_gmsa(account.object_classes):
        out.append(f"the sync account {name} is no group managed service account (objectClass "
                   f"{', '.join(account.object_classes)}), and Cloud Sync's agent runs as a gMSA")
    if flag is False:
        out.append(f"the tenant's Cloud Sync writeback is off ({FLAG} is false)")
    return out


def _undecided(declared: str, flag: bool | None, gmsas: list[str]) -> str | None:
    """Why the verdict needs the tenant's flag and does not have it (None: decided)."""
    if flag is not None:
        return None
    if declared == "cloud_sync":
        return f"the tenant's {FLAG} is not known: whether Cloud Sync writes back is not known"
    if gmsas:
        return (f"Cloud Sync's gMSA {', '.join(gmsas)} is in the domain and the tenant's {FLAG} is not known: "
                "whether Cloud Sync writes back here is not known")
    return None


def _why_passed(declared: str, flag: bool | None, gmsas: list[str]) -> str:
    if declared == "cloud_sync":
        return f"the tenant writes back with Cloud Sync ({FLAG} is true) and the sync account is a gMSA"
    if gmsas:
        return f"Cloud Sync's gMSA {', '.join(gmsas)} is here but its writeback is off ({FLAG} is false)"
    if flag is None:
        return (f"no Cloud Sync gMSA (provAgentgMSA$) in the domain; the tenant's {FLAG} was not read, and Cloud "
                "Sync could write back here only through its agent's account")
    return "no Cloud Sync gMSA (provAgentgMSA$) in the domain" + (
        f"; Cloud Sync writeback is on in the tenant ({FLAG}) for other domains" if flag else "")


def _name(engine: str) -> str:
    return "Cloud Sync" if engine == "cloud_sync" else "Entra Connect"
