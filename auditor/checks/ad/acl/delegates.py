"""ad.acl.delegates: only the sync account, the domain's own admins and the declared delegates can reset the
password of, or write pwdLastSet/lockoutTime on, an in-scope user.

Every way to hold that power counts: explicit and inherited ACEs, GenericAll, all extended rights, write all
properties, WriteDacl and WriteOwner (each lets a principal grant itself the rest) and ownership; grants to groups
reach every account inside them (`auditor.derive.delegation`).
"""

from __future__ import annotations

from dataclasses import replace

from auditor.ad.dn import dn_key, parent
from auditor.ad.rights import PASSWORD_POWERS
from auditor.checks.ad import access_control, declared, directory_state, in_scope_label, sample, wanted
from auditor.checks.base import CheckSpec, Context, Evidence, Finding, Fix, Severity, Status
from auditor.derive.delegation import Holder, Index, containers_of, holders
from auditor.snapshot.directory import AccessControl, DirectoryState

KEY = "directory.delegates.accepted"

SPEC = CheckSpec(
    id="ad.acl.delegates",
    title="Only declared delegates can reset the passwords of in-scope users",
    severity=Severity.high,
    policy_key=KEY,
    sections=("directory",),
    changed_attributes=("nTSecurityDescriptor",),
    references=(
        "https://learn.microsoft.com/windows-server/identity/ad-ds/plan/security-best-practices/"
        "implementing-least-privilege-administrative-models",
        "https://learn.microsoft.com/windows/win32/adschema/r-user-force-change-password",
        "https://learn.microsoft.com/openspecs/windows_protocols/ms-dtyp/4b8b2ab1-88e2-4e3f-a6ac-e6b3f7a2cad7",
    ),
    fix=Fix(
        portal="Active Directory Users and Computers > View > Advanced Features > the OU or user > Properties > "
               "Security > Advanced: remove the principal's entry (or declare it under directory.delegates.accepted)",
        powershell="dsacls '<DN where the ACE is set>' /R '<DOMAIN>\\<principal>'",
        console="Active Directory Users and Computers",
        shell="PowerShell with the AD DS tools (dsacls)",
    ),
    description="Reads every in-scope user's owner and full DACL, expands each trustee group (nested and primary "
                "groups), and decides per account with its own token whether it can reset the password, write "
                "pwdLastSet or lockoutTime, or rewrite the DACL or owner.",
)


def found(state: DirectoryState, control: AccessControl) -> tuple[dict[str, list[Holder]], dict[str, set[str]], int]:
    """Account SID → its holders (first per power), account SID → users reached, and users whose DACL was not read.

    Shared with `export` (the delegates it writes) so both see the same people."""
    index = Index.of(control)
    containers = containers_of(control)
    memo: dict[tuple[str, str], list[Holder]] = {}
    by_account: dict[str, dict[str, Holder]] = {}
    reached: dict[str, set[str]] = {}
    unread = 0
    for user in state.in_scope_users():
        dacl = state.dacl_of(user)
        if dacl is None or user.dacl_key is None:
            unread += 1
            continue
        key = (user.dacl_key, dn_key(parent(user.dn)))
        if key not in memo:
            memo[key] = holders(dacl, user.dn, PASSWORD_POWERS, index, containers)
        for holder in memo[key]:
            powers = by_account.setdefault(holder.sid, {})
            if holder.power not in powers:  # the first user names where an explicit ACE or ownership is
                explicit = holder.ace is None or not holder.ace.inherited
                powers[holder.power] = replace(holder, where=user.dn) if explicit else holder
            reached.setdefault(holder.sid, set()).add(user.dn)
    return {sid: list(powers.values()) for sid, powers in by_account.items()}, reached, unread


def is_accepted(holder: Holder, control: AccessControl, sync_sid: str | None, names: list[str]) -> bool:
    return holder.sid == sync_sid or holder.sid in set(control.admin_sids) or declared(holder, names)


def evaluate(ctx: Context) -> list[Finding]:
    directory = wanted(ctx)
    state = directory_state(ctx)
    control = access_control(ctx, state)
    sync_sid = state.service_account.sid if state.service_account else None
    by_account, reached, unread = found(state, control)
    names = directory.delegates.accepted
    findings: list[Finding] = []
    accepted: list[str] = []
    for sid, held in sorted(by_account.items(), key=lambda item: item[1][0].name.lower()):
        if all(is_accepted(h, control, sync_sid, names) for h in held):
            if sid != sync_sid and sid not in control.admin_sids:
                accepted.append(held[0].name)
            continue
        users = sorted(reached[sid])
        first = held[0]
        findings.append(ctx.result(
            Status.failed, target=first.name, key=KEY,
            expected="the sync account, the domain's admins or a declared delegate",
            actual=sorted({h.label for h in held}),
            evidence=[*(Evidence(source=h.where, field=h.label, value=h.source()) for h in held),
                      Evidence(source=ctx.source("directory"), field="in-scope users reached", value=len(users))],
            reason=f"{first.name} is not declared in {KEY} but can {_verbs(held)} {len(users)} in-scope user(s) "
                   f"({sample(users)}): {first.source()}"))
    if unread:
        findings.append(ctx.result(Status.unknown, target=f"{unread} user(s) whose descriptor was not read", key=KEY,
                                   reason="the DC returned no nTSecurityDescriptor for these users"))
    if not findings:
        findings.append(ctx.result(
            Status.passed, target=in_scope_label(state, directory), key=KEY,
            expected="the sync account, the domain's admins or a declared delegate",
            actual="no other principal holds the power",
            evidence=[Evidence(source=ctx.source("directory"), field="declared delegates holding it",
                               value=accepted)]))
    return findings


def _verbs(held: list[Holder]) -> str:
    words = {"reset_password": "reset the password of", "write_pwd_last_set": "write pwdLastSet on",
             "write_lockout_time": "write lockoutTime on", "write_dacl": "rewrite the DACL of",
             "write_owner": "take ownership of", "owner": "own"}
    return ", ".join(dict.fromkeys(words.get(h.power, h.label) for h in held))
