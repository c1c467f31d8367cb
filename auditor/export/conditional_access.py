"""The `sspr.registration.conditional_access` section of an export, from the live Conditional Access policies.

What registering must require is read off the enabled policies on `urn:user:registersecurityinfo` (a block
outside trusted locations, an authentication strength, a managed device, or MFA), and the export asks the check's
own rule (`derive.registration_ca.judge`) which of them leaves the fewest in-scope users uncovered, so the two
never disagree. The users the live policies leave uncovered are exported as `break_glass`, each with why: that is
the live state, and the comment asks for a review (only emergency access accounts belong there). The Temporary
Access Pass is `allowed` when its configuration is enabled, else `forbidden`.
"""

from __future__ import annotations

from auditor.derive.figures import resolve_scope
from auditor.derive.registration_ca import ENFORCED, Directory, Person, Requirement, judge
from auditor.derive.sspr_methods import TAP
from auditor.export.blocks import Block, Leaf, readable
from auditor.findings import Unreadable
from auditor.snapshot.conditional_access import CaPolicy, ConditionalAccessState
from auditor.snapshot.models import MethodsPolicyState, Snapshot

KEY = "conditional_access"


def _candidates(policy: CaPolicy, directory: Directory) -> list[Requirement]:
    grant = policy.grant
    if grant is None:
        return []
    built_in = {c.lower() for c in grant.built_in}
    exempt = bool(policy.include_locations and "all" in {x.lower() for x in policy.include_locations}
                  and policy.exclude_locations and all(directory.trusted(x) for x in policy.exclude_locations))
    out = []
    if "block" in built_in and exempt:
        out.append(Requirement("block_untrusted_locations"))
    if grant.strength_id:
        out.append(Requirement("authentication_strength", grant.strength_name or grant.strength_id,
                               trusted_locations_exempt=exempt))
    if built_in & {"compliantdevice", "domainjoineddevice"}:
        out.append(Requirement("compliant_or_joined_device", trusted_locations_exempt=exempt))
    if "mfa" in built_in or grant.strength_id:
        out.append(Requirement("mfa", trusted_locations_exempt=exempt))
    return out


def conditional_access_block(snapshot: Snapshot) -> Block:
    state, source, why = readable(snapshot, "conditional_access")
    if why:
        return Block(KEY, unreadable=why)
    assert isinstance(state, ConditionalAccessState)
    enabled = [p for p in state.registration_policies() if p.state == ENFORCED]
    if not enabled:
        return Block(KEY, unreadable=f"{source}: no enabled policy on urn:user:registersecurityinfo, so registering "
                                     "security info requires nothing: declare what it must require by hand")
    directory = Directory(state)
    try:
        scope = resolve_scope(snapshot)
    except Unreadable as exc:
        return Block(KEY, unreadable=f"the SSPR scope could not be read, so who is covered is unknown: {exc.reason}")
    users_value, _, _ = readable(snapshot, "cloud_users")
    users = users_value.by_id() if users_value is not None else {}
    people = [Person(uid, getattr(users.get(uid), "upn", "") or uid, bool(getattr(users.get(uid), "guest", False)))
              for uid in sorted(scope.ids)]
    best: tuple[int, Requirement, str, list[tuple[Person, str]]] | None = None
    for policy in enabled:
        for need in _candidates(policy, directory):
            uncovered = [(p, v.why) for p in people
                         if (v := judge(p, state, need, directory)).status == "uncovered"]
            if best is None or len(uncovered) < best[0]:
                best = (len(uncovered), need, policy.display_name, uncovered)
    if best is None:
        return Block(KEY, unreadable=f"{source}: the enabled policies on urn:user:registersecurityinfo grant none of "
                                     "the controls the policy file can name (MFA, an authentication strength, a "
                                     "managed device, a block outside trusted locations)")
    _, need, name, uncovered = best
    where = f"{source} '{name}'"
    children: list[Leaf | Block] = [Leaf("require", need.control, where, required=True)]
    if need.strength:
        children.append(Leaf("authentication_strength", need.strength, f"{where} authenticationStrength"))
    if need.trusted_locations_exempt:
        children.append(Leaf("trusted_locations_exempt", True, f"{where} excludes only trusted locations"))
    children.append(Leaf("break_glass", [p.upn for p, _ in uncovered],
                         "the in-scope users the live policies leave out: review, only emergency access accounts "
                         "belong here", before=tuple(f"{p.upn}: {why}" for p, why in uncovered[:50])))
    children.append(_tap(snapshot))
    return Block(KEY, children)


def _tap(snapshot: Snapshot) -> Leaf:
    methods, source, why = readable(snapshot, "methods_policy")
    if why:
        return Leaf("temporary_access_pass", absent=why)
    assert isinstance(methods, MethodsPolicyState)
    config = methods.configuration(TAP)
    state = config.state if config is not None else "absent"
    return Leaf("temporary_access_pass", "allowed" if state == "enabled" else "forbidden",
                f"{source} {TAP}.state = {state}")
