"""On-premises checks: the sync account's rights, who really gets them, password age, users.

Shared helpers live here (the registry skips packages, so this module is not a check).
"""

from __future__ import annotations

from auditor.ad.rights import WRITEBACK_RIGHTS, Right
from auditor.ad.sd import AceFact, Decision
from auditor.checks.base import Context, Evidence, Unreadable
from auditor.derive.delegation import Holder
from auditor.policy.models import Directory
from auditor.snapshot.directory import AccessControl, DirectoryState, ServiceAccount

USER_SAMPLE = 10  # users named in a reason before "and N more"


def wanted(ctx: Context) -> Directory:
    directory = ctx.policy.directory
    assert directory is not None  # the runner makes the check not_applicable otherwise
    return directory


def directory_state(ctx: Context) -> DirectoryState:
    """The directory section, refusing one collected for another sync account than the policy's."""
    state: DirectoryState = ctx.section("directory")
    asked = wanted(ctx).service_account
    if state.service_account_query.lower() != asked.lower():
        raise Unreadable(
            f"the snapshot was read for sync account {state.service_account_query!r} but the policy names "
            f"{asked!r}: collect again with this policy",
            [Evidence(source=ctx.source("directory"), field="service account", value=state.service_account_query)],
        )
    return state


# Cloud Sync's gMSA gets, for password writeback, Reset Password, write lockoutTime and write pwdLastSet on
# descendant user objects and Unexpire Password on the domain root; no Change Password
# (https://learn.microsoft.com/entra/identity/hybrid/cloud-sync/gmsa-cloud-sync, "Password Writeback";
# Set-AADCloudSyncPermissions -PermissionType PasswordWriteBack grants it:
# https://learn.microsoft.com/entra/identity/hybrid/cloud-sync/how-to-gmsa-cmdlets).
CLOUD_SYNC_RIGHTS = frozenset({"reset_password", "write_lockout_time", "write_pwd_last_set"})


def required_rights(directory: Directory) -> list[Right]:
    """The writeback rights the policy asks for on user objects, in the tutorial's order: for Cloud Sync,
    only those its gMSA is granted."""
    return [r for r in WRITEBACK_RIGHTS if getattr(directory.rights, r.name)
            and (directory.sync_engine == "connect" or r.name in CLOUD_SYNC_RIGHTS)]


def needs_unexpire(directory: Directory) -> bool:
    """Unexpire Password on the domain head may be needed: asked for (always, or when passwords expire), or always
    part of Cloud Sync's writeback rights."""
    return directory.rights.unexpire_password is not False or directory.sync_engine == "cloud_sync"


def unexpire_always(directory: Directory) -> bool:
    """Unexpire Password is required whether or not passwords expire: the policy says true, or Cloud Sync's gMSA
    holds it by default (gmsa-cloud-sync, Password Writeback)."""
    return directory.rights.unexpire_password is True or directory.sync_engine == "cloud_sync"


def right_key(right: Right) -> str:
    return f"directory.rights.{right.name}"


def principal_name(account: ServiceAccount | None, sid: str) -> str:
    """Who an ACE's SID is, in terms of the sync account: itself, one of its groups, or a well-known SID."""
    if account is not None:
        if sid == account.sid:
            return account.sam_account_name
        for group in account.groups:
            if group.sid == sid:
                return f"group {group.name}"
    return {"S-1-1-0": "Everyone", "S-1-5-11": "Authenticated Users"}.get(sid, sid)


def describe(decision: Decision, account: ServiceAccount | None) -> str:
    if decision.ace is None:
        return "no ACE grants it"
    how = "granted" if decision.ace.allow else "denied"
    return f"{how} to {principal_name(account, decision.ace.sid)} by {decision.ace.sddl()}"


def ace_evidence(source: str, field: str, ace: AceFact | None) -> Evidence:
    return Evidence(source=source, field=field, value=ace.sddl() if ace is not None else "no matching ACE")


def sample(names: list[str]) -> str:
    shown = ", ".join(names[:USER_SAMPLE])
    return shown + (f" and {len(names) - USER_SAMPLE} more" if len(names) > USER_SAMPLE else "")


def in_scope_label(state: DirectoryState, directory: Directory) -> str:
    return f"{len(state.in_scope_users())} in-scope users under {len(directory.target_ous)} target OU(s)"


def access_control(ctx: Context, state: DirectoryState) -> AccessControl:
    """The delegation view of the directory, or Unreadable when this snapshot did not read it whole."""
    control = state.access_control
    if control is None:
        raise Unreadable("this snapshot did not read who else holds rights (older snapshot): collect again",
                         [Evidence(source=ctx.source("directory"), field="access_control", value=None)])
    partial = [key for key, dacl in state.dacls.items() if not dacl.complete]
    if partial:
        raise Unreadable("the users' descriptors were kept only for the sync account's SIDs: collect again",
                         [Evidence(source=ctx.source("directory"), field="dacls (complete)", value=False)])
    return control


def declared(holder: Holder, names: list[str]) -> bool:
    """The policy list names the account, the ACE's trustee or a group between them (sAMAccountName or SID,
    compared without case)."""
    wanted = {n.strip().lower() for n in names}
    trustee_sid = holder.ace.sid if holder.ace is not None else None
    candidates = {holder.sid.lower(), holder.name.lower(), holder.trustee.lower(),
                  *(v.split(" (primary group)")[0].lower() for v in holder.via)}
    if trustee_sid:
        candidates.add(trustee_sid.lower())
    return bool(candidates & wanted)
