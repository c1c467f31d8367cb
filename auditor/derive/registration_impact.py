"""Who a Conditional Access policy on registering security info would block once it is enforced: the users it
covers who cannot meet its grant. Pure: the snapshot's sections in, a count out; what cannot be counted from
the snapshot is said, never guessed.

* MFA (or an authentication strength; Microsoft's built-in ones all require MFA, concept-authentication-
  strengths): the covered users whose userRegistrationDetails.isMfaCapable is false ("registered a strong
  authentication method that's allowed by the authentication methods policy",
  https://learn.microsoft.com/graph/api/resources/userregistrationdetails).
* A compliant or hybrid-joined device: the snapshot holds no device data (devices and their registered owners
  are not read), so who has one is not counted: the preview says so.
* Blocking outside trusted locations: where a user registers from is not in any snapshot: not counted.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from auditor.derive.registration_ca import Directory, Person, covers
from auditor.snapshot.conditional_access import CaPolicy, ConditionalAccessState
from auditor.snapshot.tenant import CloudUsersState, RegistrationState, ScopeGroupsState

DEVICES_NOT_READ = ("who has a compliant or hybrid-joined device is not counted: the snapshot holds no device "
                    "data (GET /devices with registeredOwners is not read)")
LOCATIONS_OFFLINE = ("who would register from outside a trusted location cannot be counted offline: the snapshot "
                     "holds no sign-in locations")


@dataclass(frozen=True)
class Target:
    """The users a policy takes in and its grant, as a create would write it or the live policy holds it."""

    include_all: bool
    include_groups: tuple[str, ...]
    exclude_users: frozenset[str]
    built_in: tuple[str, ...]
    strength_id: str | None
    live: CaPolicy | None = None
    """For a policy that exists (turning it on): who it covers is judged on its own conditions."""


@dataclass(frozen=True)
class BlockImpact:
    covered: int
    blocked: tuple[str, ...] = ()
    not_judged: tuple[str, ...] = field(default_factory=tuple)


def blocked_by(target: Target, users: CloudUsersState | None, registration: RegistrationState | None,
               groups: ScopeGroupsState | None, ca: ConditionalAccessState | None) -> BlockImpact:
    if users is None:
        return BlockImpact(0, not_judged=("the tenant's users were not read",))
    covered, unknown = _covered(target, users, groups, ca)
    notes = list(unknown)
    controls = {c.lower() for c in target.built_in}
    mfa = "mfa" in controls or target.strength_id is not None
    device = bool(controls & {"compliantdevice", "domainjoineddevice"})
    if "block" in controls:
        notes.append(LOCATIONS_OFFLINE)
        return BlockImpact(len(covered), not_judged=tuple(notes))
    if device:
        notes.append(DEVICES_NOT_READ)
    if not mfa:
        return BlockImpact(len(covered), not_judged=tuple(notes))
    if registration is None:
        notes.append("who has an MFA-capable method is not counted: userRegistrationDetails was not read")
        return BlockImpact(len(covered), not_judged=tuple(notes))
    rows = registration.by_id()
    blocked, unread = [], 0
    for person in covered:
        row = rows.get(person.id.lower())
        capable = row.mfa_capable if row is not None else None
        if capable is None:
            unread += 1
        elif not capable:
            blocked.append(person.upn)
    if device:  # OR with a device: those without MFA may still register from a compliant or joined device
        notes.append(f"{len(blocked)} covered user(s) have no MFA-capable method; each is blocked unless "
                     "registering from a compliant or hybrid-joined device")
        blocked = []
    if unread:
        notes.append(f"{unread} covered user(s) have no userRegistrationDetails.isMfaCapable: not counted")
    return BlockImpact(len(covered), tuple(sorted(blocked, key=str.lower)), tuple(notes))


def _covered(target: Target, users: CloudUsersState, groups: ScopeGroupsState | None,
             ca: ConditionalAccessState | None) -> tuple[list[Person], list[str]]:
    people = [Person(u.id, u.upn or u.id, u.guest) for u in users.users if u.enabled]
    if target.live is not None:
        if ca is None:
            return [], ["the Conditional Access policies were not read"]
        directory = Directory(ca)
        judged = [(p, covers(target.live, p, directory)) for p in people]
        unknown = sum(1 for _, (value, _why) in judged if value is None)
        return ([p for p, (value, _why) in judged if value is True],
                [f"whether the policy covers {unknown} user(s) is unknown"] if unknown else [])
    members: set[str] = set()
    notes: list[str] = []
    for group_id in target.include_groups:
        group = groups.find(group_id) if groups is not None else None
        if group is None or group.error:
            notes.append(f"the members of group {group_id} were not read: its users are not counted")
            continue
        members |= {m.lower() for m in group.user_ids}
    return ([p for p in people if p.id.lower() not in target.exclude_users
             and (target.include_all or p.id.lower() in members)], notes)
