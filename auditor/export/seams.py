"""The parts of an export's `directory` section that look across the Entra/AD seam (issue #35).

`lockout`: judged as `hybrid.lockout` judges it, so that `check` against the same tenant and domain passes.
`compare_with_smart_lockout` is true when every AD value (domain head, the GPOs that may win, the PSOs that win
for in-scope users) keeps behind Entra's smart lockout today, and `threshold_multiple` the largest multiple
(1 to 10) every non-zero AD threshold reaches; false, with where it falls short, when one does not (set it true
once fixed); absent when a value was not read.
"""

from __future__ import annotations

from auditor.ad.dn import dn_key
from auditor.checks.hybrid.lockout import (
    NEVER_LABEL,
    Lockouts,
    Value,
    cloud_of,
    domain_values,
    duration_ok,
    duration_value,
)
from auditor.export.blocks import Block, Leaf, readable
from auditor.snapshot.directory import DirectoryState, SysvolState
from auditor.snapshot.models import Snapshot, SyncFeaturesState
from auditor.snapshot.tenant import DomainsState, PasswordRulesState, SsprActivityState

MULTIPLE_CAP = 10  # the policy model's bound


def reach_leaf(state: DirectoryState) -> Leaf:
    """`rights.allow_beyond_target_ous`: true when the sync account's Reset Password reaches users outside the
    target OUs today (with who), as `ad.acl.reach_beyond` judges it."""
    reach = state.reach_beyond
    if reach is None or reach.error is not None:
        return Leaf("allow_beyond_target_ous", absent=reach.error if reach is not None else
                    "this snapshot did not read where the sync account's rights reach")
    if not reach.users:
        where = f"grants at {', '.join(p.dn for p in reach.grant_points)} reach no user yet" if reach.grant_points \
            else "no container outside the target OUs grants Reset Password"
        return Leaf("allow_beyond_target_ous", False, f"ldap:nTSecurityDescriptor of {reach.containers_read} "
                                                      f"containers: {where}")
    protected = [u.sam_account_name or u.dn for u in reach.users if u.protected]
    names = [u.sam_account_name or u.dn for u in reach.users]
    return Leaf("allow_beyond_target_ous", True,
                f"ldap:nTSecurityDescriptor: Reset Password from {', '.join(p.dn for p in reach.grant_points)} "
                f"reaches {len(names)} user(s) outside the target OUs ({len(protected)} protected); set false once "
                "the grant is narrowed", before=(f"reached: {', '.join(names[:20])}",
                                                 f"protected among them: {', '.join(protected) or 'none'}"))


def lockout_block(state: DirectoryState, snapshot: Snapshot) -> Block:
    rules, rules_source, rules_why = readable(snapshot, "password_rules")
    sysvol, _, sysvol_why = readable(snapshot, "sysvol")
    directory_source = snapshot.directory.source if snapshot.directory is not None else "directory"
    gaps = [why for why in (rules_why, sysvol_why) if why]
    if gaps:
        return _absent("; ".join(gaps))
    assert isinstance(rules, PasswordRulesState) and isinstance(sysvol, SysvolState)
    cloud = cloud_of(rules, rules_source)
    groups = [domain_values(state, sysvol, directory_source), *_pso_values(state)]
    values = [v for group in groups for v in (*group.thresholds, *group.durations)]
    unread = [f"{v.field} on {v.source}: {v.error}" for v in values if v.error is not None]
    if unread:
        return _absent("; ".join(unread))
    each = ", ".join(f"{v.field.split(':')[0]} on {v.source} = {NEVER_LABEL if v.never else v.value}"
                     for v in values)
    entra = f"Entra: threshold {cloud.threshold}, duration {cloud.duration} s ({rules_source})"
    short: list[str] = []
    locking: list[int] = []
    for group in groups:  # as the check judges: durations matter only where AD locks out at all
        counts = [v.value for v in group.thresholds if v.value]
        if not counts:
            continue
        locking += counts
        short += [f"{v.field} {v.value} ≤ Entra's {cloud.threshold}" for v in group.thresholds
                  if v.value and v.value <= cloud.threshold]
        short += [f"{v.field} {NEVER_LABEL if v.never else f'{v.value} s'} ≥ Entra's {cloud.duration} s"
                  for v in group.durations if duration_ok(v, cloud.duration) is False]
    if short:
        return Block("lockout", [
            Leaf("compare_with_smart_lockout", False, f"AD locks out before Entra: {'; '.join(short)} ({entra}; "
                                                      f"{each}); set true once fixed"),
        ])
    multiple = min([MULTIPLE_CAP, *(count // cloud.threshold for count in locking)])
    return Block("lockout", [
        Leaf("compare_with_smart_lockout", True, f"{entra}; {each}"),
        Leaf("threshold_multiple", max(1, multiple), "the largest multiple of Entra's threshold every AD threshold "
                                                     "reaches" + ("" if locking else " (AD never locks out)")),
    ])


def agent_leaf(snapshot: Snapshot) -> Leaf:
    """`password_protection.agent_on_every_dc`: true when every DC runs the DC agent, as `hybrid.dc_agents` reads
    it; false (naming the DCs without one) when one does not; absent when not read."""
    state, source, why = readable(snapshot, "directory")
    agents = state.password_protection_agents if isinstance(state, DirectoryState) else None
    if why or agents is None or agents.error is not None:
        return Leaf("agent_on_every_dc", absent=why or (agents.error if agents is not None else
                                                        "the DC agents' service connection points were not read"))
    missing = [dc.dns_host_name or dc.dn for dc in agents.domain_controllers if dc.agent is None]
    if missing:
        return Leaf("agent_on_every_dc", False, f"{source}: no DC agent service connection point below "
                                                f"{', '.join(missing)}; set true once it is installed")
    return Leaf("agent_on_every_dc", True, f"{source}: a DC agent service connection point below each of the "
                                           f"{len(agents.domain_controllers)} domain controller(s)")


def authentication_leaves(snapshot: Snapshot) -> list[Leaf]:
    """`writeback.federated_domains_allowed` (true when a verified domain is federated today) and
    `writeback.password_hash_sync` (the sync features' passwordSyncEnabled), as `hybrid.authentication` reads them."""
    domains, source, why = readable(snapshot, "domains")
    if why or not isinstance(domains, DomainsState) or not domains.verified():
        federated = Leaf("federated_domains_allowed", absent=why or f"{source}: no verified domain listed")
    else:
        names = [d.id for d in domains.verified() if d.federated]
        federated = Leaf("federated_domains_allowed", bool(names),
                         f"{source} authenticationType: " + ", ".join(f"{d.id} {d.authentication_type}"
                                                                     for d in domains.verified()))
    sync, sync_source, sync_why = readable(snapshot, "sync_features")
    value = sync.password_sync_enabled if isinstance(sync, SyncFeaturesState) else None
    phs = (Leaf("password_hash_sync", value, f"{sync_source} features.passwordSyncEnabled") if value is not None
           else Leaf("password_hash_sync", absent=sync_why or f"{sync_source} features.passwordSyncEnabled was not "
                                                              "in the response"))
    return [federated, phs]


def failed_writebacks_leaf(snapshot: Snapshot) -> Leaf:
    """`writeback.max_failed_writebacks`: the failed writebacks of the SSPR audit window (the threshold that passes
    today, as `writeback.health` counts them); absent when the log was not read or holds no event (unknown there)."""
    state, source, why = readable(snapshot, "sspr_activity")
    if why or not isinstance(state, SsprActivityState):
        return Leaf("max_failed_writebacks", absent=why or f"{source}: no audit window read")
    window = f"{state.window_start:%Y-%m-%d} to {state.window_end:%Y-%m-%d}"
    if state.events == 0:
        return Leaf("max_failed_writebacks", absent=f"{source}: no SSPR audit event from {window} (not collected, "
                                                    "not retained, or unused): nothing to set a threshold from")
    failures = state.writeback_failures
    if not failures:
        return Leaf("max_failed_writebacks", 0, f"{source}: no failed writeback among {state.events} event(s) "
                                                f"from {window}")
    latest = failures[-1]
    return Leaf("max_failed_writebacks", len(failures),
                f"{source}: {len(failures)} failed writeback(s) from {window}, the latest {latest.at:%Y-%m-%d %H:%M} "
                f"UTC ({latest.reason}); lower it once writeback is repaired")


def _absent(why: str) -> Block:
    return Block("lockout", [Leaf("compare_with_smart_lockout", absent=why)])


def _pso_values(state: DirectoryState) -> list[Lockouts]:
    """Threshold and duration (seconds) of each PSO that wins for in-scope users (windows: not judged)."""
    winners = {dn_key(u.resultant_pso) for u in state.in_scope_users() if u.resultant_pso}
    out: list[Lockouts] = []
    for key, pso in sorted(state.password_settings_by_dn().items()):
        if key not in winners:
            continue
        lockout = pso.lockout
        if lockout is None:
            missing = Value(pso.dn, "msDS-Lockout*", None, "its lockout attributes were not read")
            out.append(Lockouts([missing], [], []))
            continue
        out.append(Lockouts([Value(pso.dn, "msDS-LockoutThreshold", lockout.threshold,
                                   lockout.error if lockout.threshold is None else None)],
                            [duration_value(pso.dn, "msDS-LockoutDuration (seconds)", lockout)], []))
    return out
