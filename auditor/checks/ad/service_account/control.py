"""ad.service_account.control: nobody but the domain's own admins can take over the sync account.

Taking it over means: resetting its password; rewriting its DACL or owner (then granting oneself the rest);
writing its servicePrincipalName (Kerberoasting its password); writing `member` of a group through which it holds
its rights (adding oneself gains them); and, for a gMSA, being allowed to retrieve its managed password
(msDS-GroupMSAMembership). With password hash sync the account holds DS-Replication-Get-Changes-All on the domain
(learn.microsoft.com/entra/identity/hybrid/connect/reference-connect-accounts-permissions), so control over it is
control over every password hash in the domain: the finding is then critical.

A gMSA's password is retrieved by the hosts that run the service (New-ADServiceAccount
-PrincipalsAllowedToRetrieveManagedPassword sets msDS-GroupMSAMembership:
https://learn.microsoft.com/powershell/module/activedirectory/new-adserviceaccount). For Cloud Sync's gMSA that is the
provisioning agent's server, which "should be a tier 0 server"; "Installing the agent on a domain controller is
supported" (https://learn.microsoft.com/entra/identity/hybrid/cloud-sync/how-to-prerequisites). Domain controllers
(Domain Controllers, ENTERPRISE DOMAIN CONTROLLERS) are therefore accepted as readers of the managed password; any other
host is a takeover path to judge (waive it when that server is tier 0).
"""

from __future__ import annotations

from auditor.ad.rights import (
    DOMAIN_DNS_CLASS,
    GROUP_CLASS,
    READ_MANAGED_PASSWORD,
    REPLICATION_GET_CHANGES_ALL,
    RESET_PASSWORD,
    USER_CLASS,
    WRITE_DACL,
    WRITE_MEMBER,
    WRITE_OWNER,
    WRITE_SPN,
    WRITEBACK_RIGHTS,
)
from auditor.ad.sd import covers, effective_right
from auditor.ad.wellknown import DOMAIN_CONTROLLERS_RID, ENTERPRISE_DOMAIN_CONTROLLERS, SELF
from auditor.checks.ad import access_control, directory_state
from auditor.checks.base import CheckSpec, Context, Evidence, Finding, Fix, Severity, Status
from auditor.derive.delegation import Holder, Index, containers_of, holders
from auditor.snapshot.directory import DirectoryState, ServiceAccount

KEY = "directory.service_account"
ACCOUNT_POWERS = (RESET_PASSWORD, WRITE_DACL, WRITE_OWNER, WRITE_SPN)
GROUP_POWERS = (WRITE_MEMBER, WRITE_DACL, WRITE_OWNER)
MANAGED_PASSWORD = "its managed password"

SPEC = CheckSpec(
    id="ad.service_account.control",
    title="Only the domain's admins can take over the sync account",
    severity=Severity.high,
    policy_key=KEY,
    sections=("directory",),
    changed_attributes=("nTSecurityDescriptor",),
    references=(
        "https://learn.microsoft.com/entra/identity/hybrid/connect/reference-connect-accounts-permissions",
        "https://learn.microsoft.com/entra/identity/hybrid/connect/how-to-connect-configure-ad-ds-connector-account",
        "https://learn.microsoft.com/windows-server/identity/ad-ds/manage/group-managed-service-accounts/"
        "group-managed-service-accounts/group-managed-service-accounts-overview",
    ),
    fix=Fix(
        portal="Active Directory Users and Computers > the sync account (and its groups) > Properties > Security > "
               "Advanced: remove every entry but SYSTEM, Administrators, Domain Admins and Enterprise Admins; "
               "Set-ADSyncRestrictedPermissions does this for the account",
        powershell="Import-Module ADSyncConfig; Set-ADSyncRestrictedPermissions -ADConnectorAccountDN '<account DN>' "
                   "-Credential (Get-Credential)",
        console="Active Directory Users and Computers",
        shell="PowerShell on the Entra Connect server (ADSyncConfig module)",
    ),
    description="Reads the sync account's owner and DACL, the DACLs of the groups that carry its rights and, for a "
                "gMSA, msDS-GroupMSAMembership; any account besides the domain's admins that can take it over fails.",
)


def evaluate(ctx: Context) -> list[Finding]:
    state = directory_state(ctx)
    account = state.service_account
    if account is None:
        return [ctx.result(Status.unknown, target=state.service_account_query,
                           reason="the sync account does not exist (see ad.service_account)")]
    control = access_control(ctx, state)
    index = Index.of(control)
    containers = containers_of(control)
    found: list[tuple[str, Holder]] = []
    own = control.service_account
    if own is None or own.dacl is None:
        return [ctx.result(Status.unknown, target=account.dn,
                           reason=(own.error if own else None) or "the sync account's descriptor was not read")]
    found += [("the account", h) for h in holders(own.dacl, account.dn, ACCOUNT_POWERS, index, containers)]
    carriers = _carrying_groups(state, account)
    read = {g.dn.lower(): g for g in control.service_account_groups}
    unread = {dn: (read[dn].error if dn in read else None) or "its descriptor was not read"
              for dn in carriers if dn not in read or read[dn].dacl is None}
    for group in control.service_account_groups:
        if group.dacl is None or group.dn.lower() not in carriers:
            continue
        found += [(f"its group {carriers[group.dn.lower()]}", h)
                  for h in holders(group.dacl, group.dn, GROUP_POWERS, index, containers, GROUP_CLASS)]
    if control.managed_password_readers is not None:
        readers = control.managed_password_readers.model_copy(update={"owner": None})
        found += [(MANAGED_PASSWORD, h)
                  for h in holders(readers, account.dn, (READ_MANAGED_PASSWORD,), index, containers)]
    replication = (effective_right(state.domain.dacl, account.token_sids, REPLICATION_GET_CHANGES_ALL,
                                   DOMAIN_DNS_CLASS).granted if state.domain.dacl is not None else None)
    admins = set(control.admin_sids)
    dcs = {f"{state.domain_sid}-{DOMAIN_CONTROLLERS_RID}", ENTERPRISE_DOMAIN_CONTROLLERS}
    bad: dict[str, list[tuple[str, Holder]]] = {}
    for what, holder in found:
        if holder.sid in admins or holder.sid in (account.sid, SELF):
            continue
        if what == MANAGED_PASSWORD and index.token(holder.sid) & dcs:
            continue  # the agent on a DC: supported (how-to-prerequisites), and a DC is tier 0 already
        bad.setdefault(holder.sid, []).append((what, holder))
    findings = []
    for _, items in sorted(bad.items(), key=lambda item: item[1][0][1].name.lower()):
        first = items[0][1]
        powers = sorted({f"{h.label} on {what}" for what, h in items})
        finding = ctx.result(
            Status.failed, target=first.name, key=KEY, expected="only the domain's admins",
            actual=powers,
            evidence=[*(Evidence(source=h.where, field=f"{h.label} ({what})", value=h.source()) for what, h in items),
                      Evidence(source=state.domain.dn, field="sync account holds Replicating Directory Changes All",
                               value=replication)],
            reason=f"{first.name} can take over the sync account {account.sam_account_name}: {'; '.join(powers)}"
                   + (". The account holds Replicating Directory Changes All, so this is control over every password "
                      "hash in the domain" if replication else ""))
        if replication:
            finding = finding.model_copy(update={"severity": Severity.critical})
        findings.append(finding)
    if control.managed_password_readers_error is not None:
        findings.append(ctx.result(
            Status.unknown, target=account.dn, key=KEY, expected="only the domain's admins",
            evidence=[Evidence(source=account.dn, field="msDS-GroupMSAMembership", value=None)],
            reason=f"who may retrieve the managed password of the gMSA {account.sam_account_name} is not known: "
                   f"{control.managed_password_readers_error}"))
    # a group through which the account holds its rights, whose DACL was not read: who can write its `member` (and
    # so gain the account's rights) is not known, which is never a pass
    for dn, why in sorted(unread.items()):
        findings.append(ctx.result(
            Status.unknown, target=carriers[dn], key=KEY, expected="only the domain's admins",
            evidence=[Evidence(source=dn, field="nTSecurityDescriptor (owner, DACL)", value=None)],
            reason=f"the sync account {account.sam_account_name} holds its rights through group {carriers[dn]}, "
                   f"whose descriptor was not read ({why}): who can add members to it is not known"))
    if not findings:
        findings.append(ctx.result(
            Status.passed, target=account.dn, key=KEY, expected="only the domain's admins",
            actual="only the domain's admins",
            evidence=[Evidence(source=account.dn, field="groups carrying its rights", value=sorted(carriers.values())),
                      Evidence(source=state.domain.dn, field="sync account holds Replicating Directory Changes All",
                               value=replication)]))
    return findings


def _carrying_groups(state: DirectoryState, account: ServiceAccount) -> dict[str, str]:
    """DN (lower case) → name of the account's groups named by an ACE that gives it writeback rights on a target
    OU or a right on the domain head: the groups through which it holds its power."""
    sids: set[str] = set()
    for ou in state.target_ous:
        for ace in ou.dacl.aces if ou.dacl else ():
            if ace.allow and any(covers(ace, r, USER_CLASS) for r in WRITEBACK_RIGHTS):
                sids.add(ace.sid)
    for ace in state.domain.dacl.aces if state.domain.dacl else ():
        if ace.allow and ace.object_type is not None and ace.mask & 0x100:
            sids.add(ace.sid)
    return {g.dn.lower(): g.name for g in account.groups if g.dn and g.sid in sids and g.sid != account.sid}
