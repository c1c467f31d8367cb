"""The `directory` section of an export: what the domain holds today, each value with its evidence.

Which account and OUs come from the discovery (`auditor.readers.discovery`) or, for a snapshot collected
with a policy, from that policy's read. The values are judged as the checks judge them, so that `check`
against the same domain passes where a policy value can say what is there:
- a right is `true` only when every target OU passes it down to user objects (false = not asked: the
  comment says where it is missing);
- `minimum_days` is the highest minimum age that applies to in-scope users (the winning GPO, the domain
  head's minPwdAge, the fine-grained policies that win for them);
- a contact attribute is listed only when every in-scope user has it in `+CC NUMBER` form;
- temporary passwords and privileged users are allowed when some in-scope user is one (with how many).
What no value can say (a user whose own DACL keeps the rights out) becomes an expiring waiver (`waivers`).
"""

from __future__ import annotations

from auditor.ad.dn import dn_key, rdn_value
from auditor.ad.phone import phone_problem
from auditor.ad.rights import DOMAIN_DNS_CLASS, UNEXPIRE_PASSWORD, USER_CLASS, WRITEBACK_RIGHTS
from auditor.ad.sd import effective_right, inherited_right
from auditor.ad.sync_engines import is_gmsa, named_for_cloud_sync
from auditor.checks.ad import describe, sample
from auditor.derive import gpo_precedence
from auditor.export.blocks import Block, Leaf, readable
from auditor.export.seams import lockout_block, reach_leaf
from auditor.portal_fields import ONPREM_FIELDS
from auditor.snapshot.directory import DirectoryDiscovery, DirectoryState, ServiceAccount, SysvolState
from auditor.snapshot.models import OnPremisesWritebackState, Snapshot


def directory_block(snapshot: Snapshot) -> Block:
    state, source, why = readable(snapshot, "directory")
    discovery = snapshot.directory_discovery
    found = discovery.value if discovery is not None and discovery.readable else None
    if why:
        if discovery is not None and discovery.readable and found is not None:
            why = f"{why} ({_found_summary(found)})"
        elif discovery is not None and not discovery.readable:
            why = f"{discovery.source} could not be read: {discovery.error}"
        return Block("directory", unreadable=why)
    assert isinstance(state, DirectoryState)
    account = state.service_account
    if account is None:
        return Block("directory", unreadable=f"{source}: no account {state.service_account_query!r}")
    return Block("directory", [
        _service_account(state, account, found),
        _target_ous(state, found, source),
        _rights(state, account),
        _sync_engine(state, account, snapshot),
        _password_age(state, snapshot),
        _contact_attributes(state, source),
        _users(state, source),
        lockout_block(state, snapshot),
        _delegates(state, source),
    ], comment="On-premises AD: the account writeback runs as, the synced OUs and what they must hold.")


def _found_summary(found: DirectoryDiscovery) -> str:
    return (f"{len(found.candidates)} sync account candidate(s), {len(found.target_ous)} target OU(s) found in "
            f"{found.base_dn}")


def _service_account(state: DirectoryState, account: ServiceAccount, found: DirectoryDiscovery | None) -> Leaf:
    if found is None:
        return Leaf("service_account", state.service_account_query,
                    f"{account.dn} (the account the snapshot was collected for)")
    chosen, *others = found.candidates
    why = [chosen.named_as] if chosen.named_as else []
    if chosen.reset_on:
        why.append(f"Reset Password reaches its user objects from {len(chosen.reset_on)} of "
                   f"{len(found.target_ous)} target OU(s)")
    before = [f"sync account: {account.dn}: " + "; ".join(why or ["the best of the candidates"])]
    before += [f"  evidence: {grant}" for grant in chosen.grants]
    for other in others:
        what = "; ".join(filter(None, [other.named_as, f"Reset Password from {len(other.reset_on)} target OU(s)"]))
        before.append(f"  also a candidate: {other.sam_account_name} ({other.dn}): {what}")
    if others:
        before.append("  a helpdesk delegation looks like a sync account from its ACEs: check which one "
                      "Entra Connect or cloud sync uses")
    return Leaf("service_account", account.sam_account_name, f"ldap:{account.dn} sAMAccountName",
                before=tuple(before))


def _target_ous(state: DirectoryState, found: DirectoryDiscovery | None, source: str) -> Leaf:
    users = state.users_by_target()
    before = []
    for ou in state.target_ous:
        synced = found.synced_users.get(ou.dn) if found is not None else None
        note = f"{len(users.get(dn_key(ou.dn), []))} in-scope users in AD" if ou.exists else "no such object"
        before.append(f"{ou.dn}: {note}" + (f", {synced} synced users in Graph" if synced is not None else ""))
    if found is not None and found.elsewhere:
        before.append(f"synced users outside {found.base_dn} (another domain, not read here): "
                      + ", ".join(f"{dn} ({n})" for dn, n in sorted(found.elsewhere.items())))
    where = found.target_ous_from if found is not None else "the snapshot's directory read"
    return Leaf("target_ous", [ou.dn for ou in state.target_ous], f"{source}: {where}", before=tuple(before))


def _rights(state: DirectoryState, account: ServiceAccount) -> Block:
    children: list[Leaf | Block] = []
    unread = [ou.dn for ou in state.target_ous if ou.dacl is None]
    held_rights = []
    for right in WRITEBACK_RIGHTS:
        if unread:
            children.append(Leaf(right.name, absent=f"the DACL of {', '.join(unread)} was not read"))
            continue
        held = [ou.dn for ou in state.target_ous
                if ou.dacl is not None and inherited_right(ou.dacl, account.token_sids, right, USER_CLASS).granted]
        missing = [ou.dn for ou in state.target_ous if ou.dn not in held]
        if not missing:
            held_rights.append(right)
            children.append(Leaf(right.name, True, f"ldap:nTSecurityDescriptor of every target OU: {right.label} "
                                                   f"for {account.sam_account_name}, inherited by user objects"))
        else:
            children.append(Leaf(right.name, False, f"ldap:nTSecurityDescriptor: {right.label} not passed down by "
                                                    f"{', '.join(missing)}" + (f" (held on {', '.join(held)}; "
                                                                                "set true once it is granted)"
                                                                                if held else "")))
    domain = state.domain.dacl
    if domain is None:
        children.append(Leaf("unexpire_password", absent=f"the DACL of {state.domain.dn} was not read"))
    else:
        decision = effective_right(domain, account.token_sids, UNEXPIRE_PASSWORD, DOMAIN_DNS_CLASS)
        children.append(Leaf("unexpire_password", decision.granted,
                             f"ldap:nTSecurityDescriptor of {state.domain.dn}: Unexpire Password "
                             f"{describe(decision, account)}"))
    holder = state.admin_sd_holder.dacl
    if holder is None:
        children.append(Leaf("admin_sd_holder", absent=f"the DACL of {state.admin_sd_holder.dn} was not read"))
    else:
        stamped = [r for r in held_rights if effective_right(holder, account.token_sids, r, USER_CLASS).granted]
        on = bool(held_rights) and len(stamped) == len(held_rights)
        children.append(Leaf("admin_sd_holder", on, f"ldap:nTSecurityDescriptor of {state.admin_sd_holder.dn}: "
                                                    f"{len(stamped)} of the {len(held_rights)} held rights"))
    children.append(reach_leaf(state))
    return Block("rights", children)


def _sync_engine(state: DirectoryState, account: ServiceAccount, snapshot: Snapshot) -> Leaf:
    """cloud_sync when the sync account is a gMSA that Cloud Sync's agent names its own (provAgentgMSA$) or that the
    tenant's Cloud Sync writeback flag points to; connect otherwise. The comment names the evidence, and what
    ad.sync_engine would find against it."""
    flag_field = ONPREM_FIELDS["cloud_sync_writeback_enabled"]
    live, flag_source, flag_why = readable(snapshot, "onprem_writeback")
    flag = live.cloud_sync_writeback_enabled if isinstance(live, OnPremisesWritebackState) else None
    gmsa = is_gmsa(account.object_classes)
    named = named_for_cloud_sync(account.sam_account_name)
    engine = "cloud_sync" if gmsa and (named or flag is True) else "connect"
    kind = "a gMSA (msDS-GroupManagedServiceAccount)" if gmsa else "no gMSA"
    before = [f"sync account {account.sam_account_name}: {kind}"
              + (", named as Cloud Sync's agent names its gMSA (provAgentgMSA$)" if named else ""),
              f"tenant: {flag_field} = {_json(flag)}" if flag_why is None
              else f"tenant: {flag_field} not read ({flag_why})"]
    found = state.cloud_sync_accounts
    if found is None or found.error is not None:
        before.append("Cloud Sync gMSAs in the domain: not read" + (f" ({found.error})" if found else ""))
    else:
        before.append(f"Cloud Sync gMSAs in {state.base_dn}: "
                      + (", ".join(a.sam_account_name for a in found.accounts if a.gmsa) or "none"))
        if engine == "connect" and flag is True and any(a.gmsa for a in found.accounts):
            before.append("  Cloud Sync writes back and its gMSA is in this domain, but the sync account is not it: "
                          "ad.sync_engine fails; check which account writes back")
    return Leaf("sync_engine", engine, f"{flag_source} {flag_field} and ldap:{account.dn} objectClass",
                before=tuple(before))


def _password_age(state: DirectoryState, snapshot: Snapshot) -> Block:
    sysvol, sysvol_source, sysvol_why = readable(snapshot, "sysvol")
    seen: list[tuple[int, str]] = []
    gaps: list[str] = []
    if sysvol_why:
        gaps.append(sysvol_why)
    else:
        assert isinstance(sysvol, SysvolState)
        outcome = gpo_precedence.domain_password_age(state, sysvol)
        possible = outcome.possible_values()
        if possible is None or None in possible:
            gaps.append("the GPOs linked to the domain head do not settle MinimumPasswordAge: "
                        + ("; ".join(gpo_precedence.describe_uncertain(outcome)) or "no GPO sets it"))
        else:
            name = outcome.winner.applied.describe() if outcome.winner is not None else "a GPO"
            seen += [(int(days), f"{name} MinimumPasswordAge") for days in possible]
    if state.min_pwd_age_days is None:
        gaps.append(f"{state.base_dn} returned no minPwdAge")
    else:
        seen.append((state.min_pwd_age_days, f"{state.base_dn} minPwdAge"))
    psos = state.password_settings_by_dn()
    winners: dict[str, int] = {}
    for user in state.in_scope_users():
        if user.resultant_pso:
            winners[dn_key(user.resultant_pso)] = winners.get(dn_key(user.resultant_pso), 0) + 1
    for key, count in sorted(winners.items()):
        pso = psos.get(key)
        if pso is None or pso.min_age_days is None:
            gaps.append(f"the fine-grained policy {key} that wins for {count} user(s) was not read")
        else:
            seen.append((pso.min_age_days, f"{pso.name} msDS-MinimumPasswordAge (wins for {count} in-scope users)"))
    fine = Leaf("include_fine_grained", True,
                "the fine-grained policies are read" if state.password_settings_readable else
                "the Password Settings Container was not visible to the bind account: the check says unknown")
    if gaps:
        return Block("password_age", [Leaf("minimum_days", absent="; ".join(gaps)), fine])
    highest = max(days for days, _ in seen)
    each = ", ".join(f"{what} = {days}" for days, what in seen)
    return Block("password_age", [
        Leaf("minimum_days", highest, f"the highest that applies ({sysvol_source}; {each})"
                                      + ("; 0 lets a reset through at once" if highest else "")),
        fine,
    ])


def _contact_attributes(state: DirectoryState, source: str) -> Leaf:
    users = state.in_scope_users()
    chosen: list[str] = []
    said = []
    for name in ("mobile", "telephoneNumber"):
        values = [(u, u.attribute(name)) for u in users]
        filled = [u for u, v in values if v is not None and v.strip()]
        if not filled:
            said.append(f"{name}: set on no in-scope user")
            continue
        bad = [u for u, v in values if phone_problem(v, allow_extension=name == "telephoneNumber")]
        if bad:
            names = [u.sam_account_name or rdn_value(u.dn) for u in bad]
            said.append(f"{name}: left out, {len(bad)} of {len(users)} not in +CC NUMBER form or missing "
                        f"({sample(names)}); add it once they are fixed")
        else:
            chosen.append(name)
            said.append(f"{name}: +CC NUMBER on all {len(users)}")
    return Leaf("contact_attributes", chosen, f"{source} in-scope users: " + "; ".join(said))


def _users(state: DirectoryState, source: str) -> Block:
    users = state.in_scope_users()
    temporary = [u.sam_account_name or rdn_value(u.dn) for u in users if u.pwd_last_set == 0]
    privileged = [u.sam_account_name or rdn_value(u.dn) for u in users if u.privileged_via or u.admin_count == 1]
    unread = [u for u in users if u.pwd_last_set is None]
    temporary_leaf = (Leaf("allow_temporary_password", absent=f"pwdLastSet was not returned for {len(unread)} users")
                      if unread else
                      Leaf("allow_temporary_password", bool(temporary),
                           f"{source} pwdLastSet = 0 on {len(temporary)} in-scope user(s)"
                           + (f": {sample(temporary)}" if temporary else "")))
    return Block("users", [
        temporary_leaf,
        Leaf("allow_privileged", bool(privileged),
             f"{source} adminCount=1 or a protected group: {len(privileged)} in-scope user(s)"
             + (f": {sample(privileged)}" if privileged else "")),
    ])


def _delegates(state: DirectoryState, source: str) -> Block:
    """Who else can reset in-scope users' passwords today, each entry with where its power comes from (the ACE's
    trustee is listed: a group accepts every account inside it, as `ad.acl.delegates` judges)."""
    from auditor.checks.ad.acl.delegates import found

    control = state.access_control
    if control is None or any(not d.complete for d in state.dacls.values()):
        why = f"{source}: this snapshot did not read who else holds rights"
        return Block("delegates", [Leaf("accepted", absent=why), Leaf("tier0", absent=why)])
    sync_sid = state.service_account.sid if state.service_account else None
    admins = set(control.admin_sids)
    by_account, reached, _ = found(state, control)
    entries: dict[str, list[str]] = {}
    for sid, held in by_account.items():
        if sid == sync_sid or sid in admins:
            continue
        for holder in held:
            entries.setdefault(holder.trustee, []).append(f"{holder.name} ({len(reached[sid])} in-scope users): "
                                                          f"{holder.source()}")
    names = sorted(entries, key=str.lower)
    before = tuple(f"{name} ← {line}" for name in names for line in dict.fromkeys(entries[name]))
    return Block("delegates", [
        Leaf("accepted", names, f"{source} owners and DACLs of the in-scope users: {len(names)} delegate(s) "
                                "besides the sync account and the domain's admins", before=before),
        Leaf("tier0", [], "none accepted over protected accounts: ad.acl.tier0_reach lists who reaches them"),
    ], comment="Who besides the sync account and the domain's admins can reset in-scope users' passwords.")


def _json(value: bool | None) -> str:
    return "null" if value is None else str(value).lower()
