"""ad.acl.tier0_reach: the writeback rights (Reset Password, write pwdLastSet, write lockoutTime) do not reach
protected accounts unless the policy accepts it.

Protected accounts are those AdminSDHolder protects: adminCount=1, or a member (nested, or by primary group) of
a protected group, anywhere in the domain. The rights reach one either through its own DACL (an OU's ACE before
SDProp stamps it, or an explicit ACE) or through AdminSDHolder's DACL, which SDProp copies onto every protected
account within the hour. Since Entra Connect 2.0.3.0, Set-ADSyncPasswordWritebackPermissions no longer stamps
AdminSDHolder unless asked to (-IncludeAdminSdHolders, "not recommended", "following Windows security guidance").
The sync account's reach is accepted by `directory.rights.admin_sd_holder`; another principal's by
`directory.delegates.tier0`. The domain's own admins already hold tier 0.

dSHeuristics' dwAdminSDExMask ([MS-ADTS] 3.1.1.6.1.4, Appendix C) may exclude Account, Server, Print and Backup
Operators from SDProp: an account protected only through those groups is then not tier 0 here (its own DACL is
judged by the other delegation checks); with the mask unread, such accounts are unknown (`auditor.derive.sdprop`).
"""

from __future__ import annotations

from auditor.ad.rights import WRITEBACK_POWERS
from auditor.checks.ad import access_control, declared, directory_state, sample, wanted
from auditor.checks.base import CheckSpec, Context, Evidence, Finding, Fix, Severity, Status
from auditor.derive.delegation import Holder, Index, containers_of, holders
from auditor.derive.sdprop import protection
from auditor.policy.models import Directory

KEY = "directory.delegates.tier0"
SYNC_KEY = "directory.rights.admin_sd_holder"
VERSION_HISTORY = "https://learn.microsoft.com/entra/identity/hybrid/connect/reference-connect-version-history"
WHY = ("Entra Connect 2.0.3.0 stopped stamping AdminSDHolder by default, following Windows security guidance, and "
       "Microsoft marks -IncludeAdminSdHolders \"not recommended\"")

SPEC = CheckSpec(
    id="ad.acl.tier0_reach",
    title="Writeback rights do not reach protected (tier-0) accounts unless accepted",
    severity=Severity.critical,
    policy_key=KEY,
    also_reads=(SYNC_KEY,),
    sections=("directory",),
    changed_attributes=("nTSecurityDescriptor", "adminCount"),
    references=(
        VERSION_HISTORY,
        "https://learn.microsoft.com/entra/identity/hybrid/connect/how-to-connect-configure-ad-ds-connector-account",
        "https://learn.microsoft.com/windows-server/identity/ad-ds/plan/security-best-practices/"
        "appendix-c--protected-accounts-and-groups-in-active-directory",
    ),
    fix=Fix(
        portal="Remove the ACE from CN=AdminSDHolder,CN=System (or from the protected account), or move protected "
               "accounts out of the OUs others administer",
        powershell="dsacls 'CN=AdminSDHolder,CN=System,<domain DN>' /R '<DOMAIN>\\<principal>'",
        console="Active Directory Users and Computers",
        shell="PowerShell with the AD DS tools (dsacls)",
    ),
    description="Evaluates AdminSDHolder's DACL and every protected account's owner and DACL for who, besides the "
                "domain's admins, can reset the password or write pwdLastSet/lockoutTime.",
)


def evaluate(ctx: Context) -> list[Finding]:
    directory = wanted(ctx)
    state = directory_state(ctx)
    control = access_control(ctx, state)
    index = Index.of(control)
    containers = containers_of(control)
    sync_sid = state.service_account.sid if state.service_account else None
    admins = set(control.admin_sids)
    reach: dict[str, list[tuple[str, Holder]]] = {}
    holder_dacl = state.admin_sd_holder.dacl
    findings: list[Finding] = []
    if holder_dacl is None:
        findings.append(ctx.result(Status.unknown, target=state.admin_sd_holder.dn, key=KEY,
                                   reason=state.admin_sd_holder.error or "AdminSDHolder's descriptor was not read"))
    else:
        for held in holders(holder_dacl.model_copy(update={"owner": None}), state.admin_sd_holder.dn,
                            WRITEBACK_POWERS, index, containers):
            reach.setdefault(held.sid, []).append(("every protected account (AdminSDHolder, copied by SDProp)", held))
    unread = []
    sdprop = protection(control)
    for account in sdprop.protected:
        dacl = state.dacls.get(account.dacl_key) if account.dacl_key else None
        if dacl is None:
            unread.append(account.dn)
            continue
        for held in holders(dacl, account.dn, WRITEBACK_POWERS, index, containers):
            reach.setdefault(held.sid, []).append((account.dn, held))
    protected_names = {a.dn: ", ".join(a.privileged_via) or f"adminCount={a.admin_count}"
                       for a in sdprop.protected}
    for sid, items in sorted(reach.items(), key=lambda item: item[1][0][1].name.lower()):
        if sid in admins or _accepted(items[0][1], sid, sync_sid, directory):
            continue
        first = items[0][1]
        targets = sorted({where for where, _ in items})
        is_sync = sid == sync_sid
        key = SYNC_KEY if is_sync else KEY
        findings.append(ctx.result(
            Status.failed, target=first.name, key=key,
            expected="no writeback right over protected accounts (or accepted by the policy)",
            actual=sorted({h.label for _, h in items}),
            evidence=[*(Evidence(source=where, field=f"{h.label} (protected: {protected_names.get(where, 'all')})",
                                 value=h.source()) for where, h in items[:20]),
                      Evidence(source=VERSION_HISTORY, field="Entra Connect 2.0.3.0", value=WHY)],
            reason=(f"{first.name} can {first.label.lower()} on {len(targets)} protected object(s) "
                    f"({sample(targets)}): a writeback or helpdesk path into tier 0. {WHY}; accept it only by "
                    f"setting {key}")))
    if unread:
        findings.append(ctx.result(Status.unknown, target=f"{len(unread)} protected account(s)", key=KEY,
                                   actual=unread[:50], reason="their descriptors were not read"))
    mask = Evidence(source=sdprop.source or "dSHeuristics", field="dwAdminSDExMask (16th character of dSHeuristics)",
                    value=f"excludes {', '.join(sdprop.mask_groups) or 'no group'}" if sdprop.mask_groups is not None
                    else sdprop.why_unknown)
    if sdprop.unknown:
        names = sorted(a.name or a.dn for a in sdprop.unknown)
        findings.append(ctx.result(
            Status.unknown, target=f"{len(sdprop.unknown)} account(s) protected only as operators", key=KEY,
            actual=names[:50], evidence=[mask],
            reason=f"{sample(names)} count as protected only through Account, Server, Print or Backup Operators, "
                   f"which dwAdminSDExMask may exclude from SDProp, and the mask is not known ({sdprop.why_unknown})"))
    if not findings:
        excluded = [a.name or a.dn for a in sdprop.excluded]
        findings.append(ctx.result(
            Status.passed, target=f"{len(sdprop.protected)} protected account(s) and AdminSDHolder",
            key=KEY, expected="no writeback right over protected accounts (or accepted by the policy)",
            actual="none besides the domain's admins",
            evidence=[Evidence(source=state.admin_sd_holder.dn, field="protected accounts",
                               value=len(sdprop.protected)), mask,
                      *([Evidence(source=sdprop.source or "dSHeuristics", field="not protected (dwAdminSDExMask)",
                                  value=sorted(excluded))] if excluded else [])]))
    return findings


def _accepted(holder: Holder, sid: str, sync_sid: str | None, directory: Directory) -> bool:
    if sid == sync_sid:
        return directory.rights.admin_sd_holder
    return declared(holder, directory.delegates.tier0)
