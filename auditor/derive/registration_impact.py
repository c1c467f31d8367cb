"""Who a Conditional Access policy on registering security info would block once it is enforced: the users it
covers who cannot meet its grant. Pure: the snapshot's sections in, a count out; what cannot be counted from
the snapshot is said, never guessed.

* MFA (or an authentication strength; Microsoft's built-in ones all require MFA, concept-authentication-
  strengths): the covered users whose userRegistrationDetails.isMfaCapable is false ("registered a strong
  authentication method that's allowed by the authentication methods policy",
  https://learn.microsoft.com/graph/api/resources/userregistrationdetails).
* A compliant or hybrid-joined device (compliantDevice: device.isCompliant; domainJoinedDevice: device.trustType
  "ServerAd", https://learn.microsoft.com/graph/api/resources/device): the covered users who own no enabled device
  that meets it (`GET /devices` with registeredOwners, read only when the policy asks for this control). A user
  whose only candidate devices lack a field the count needs is unknown, counted apart. A device without a
  registered owner (hybrid-joined devices usually have none: "The registered owner is set at the time of
  registration", device-list-registeredowners) is attributed to nobody: the preview says how many there are,
  since a user counted as blocked may still sign in on one.
* Blocking outside trusted locations: where a user registers from is not in any snapshot: not counted.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from auditor.derive.registration_ca import Directory, Person, covers
from auditor.snapshot.conditional_access import CaPolicy, ConditionalAccessState
from auditor.snapshot.devices import DeviceRow, DevicesState
from auditor.snapshot.tenant import CloudUsersState, RegistrationState, ScopeGroupsState

DEVICES_NOT_READ = ("who has a compliant or hybrid-joined device is not counted: the snapshot holds no device "
                    "data (GET /devices with registeredOwners is read only when the policy's "
                    "sspr.registration.conditional_access.require is compliant_or_joined_device)")
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
    operator: str = "OR"
    """grantControls.operator: OR (any one control) or AND (every control)."""


@dataclass(frozen=True)
class BlockImpact:
    covered: int
    blocked: tuple[str, ...] = ()
    not_judged: tuple[str, ...] = field(default_factory=tuple)
    unknown: tuple[str, ...] = ()
    """Covered users for whom the data cannot tell (a control's data missing for them), apart from `blocked`."""


def blocked_by(target: Target, users: CloudUsersState | None, registration: RegistrationState | None,
               groups: ScopeGroupsState | None, ca: ConditionalAccessState | None,
               devices: DevicesState | None = None) -> BlockImpact:
    if users is None:
        return BlockImpact(0, not_judged=("the tenant's users were not read",))
    covered, unknown = _covered(target, users, groups, ca)
    notes = list(unknown)
    controls = {c.lower() for c in target.built_in}
    if "block" in controls:
        notes.append(LOCATIONS_OFFLINE)
        return BlockImpact(len(covered), not_judged=tuple(notes))
    tests: list[Callable[[Person], bool | None]] = []
    if "mfa" in controls or target.strength_id is not None:
        tests.append(_mfa_test(registration, covered, notes))
    wanted = controls & {"compliantdevice", "domainjoineddevice"}
    if wanted:
        tests.append(_device_test(devices, wanted, target.operator, notes))
    if not tests:
        return BlockImpact(len(covered), not_judged=tuple(notes))
    blocked, undecided = [], []
    for person in covered:
        met = _combine([test(person) for test in tests], target.operator)
        if met is False:
            blocked.append(person.upn)
        elif met is None:
            undecided.append(person.upn)
    if undecided:
        notes.append(f"{len(undecided)} covered user(s) unknown: the data above does not tell whether they meet "
                     "the grant")
    return BlockImpact(len(covered), _sorted(blocked), tuple(notes), _sorted(undecided))


def _sorted(upns: list[str]) -> tuple[str, ...]:
    return tuple(sorted(upns, key=str.lower))


def _combine(values: list[bool | None], operator: str) -> bool | None:
    """Three-valued OR / AND: a None (unknown) decides nothing the known values do not."""
    if operator.upper() == "AND":
        return False if False in values else (True if all(v is True for v in values) else None)
    return True if True in values else (False if all(v is False for v in values) else None)


def _mfa_test(registration: RegistrationState | None, covered: list[Person],
              notes: list[str]) -> Callable[[Person], bool | None]:
    if registration is None:
        notes.append("who has an MFA-capable method is not counted: userRegistrationDetails was not read")
        return lambda person: None
    rows = registration.by_id()

    def capable(person: Person) -> bool | None:
        row = rows.get(person.id.lower())
        return row.mfa_capable if row is not None else None

    unread = sum(1 for person in covered if capable(person) is None)
    if unread:
        notes.append(f"{unread} covered user(s) have no userRegistrationDetails.isMfaCapable: not counted")
    return capable


def _device_test(devices: DevicesState | None, wanted: set[str], operator: str,
                 notes: list[str]) -> Callable[[Person], bool | None]:
    """Whether a person owns an enabled device that meets the grant's device controls (None: cannot tell)."""
    if devices is None:
        notes.append(DEVICES_NOT_READ)
        return lambda person: None
    owned: dict[str, list[bool | None]] = {}
    unowned = unknown_owner = 0
    lacking: dict[str, int] = {}
    for device in devices.devices:
        meets = _meets(device, wanted, operator)
        for missing in device.missing:
            lacking[missing] = lacking.get(missing, 0) + 1
        if device.owners is None:
            unknown_owner += meets is not False
            continue
        if not device.owners:
            unowned += meets is not False
        for owner in device.owners:
            owned.setdefault(owner.lower(), []).append(meets)
    if lacking:
        notes.append("devices the count cannot judge: " + ", ".join(f"{n} with {what}"
                                                                   for what, n in sorted(lacking.items())))
    if unowned or unknown_owner:
        notes.append(f"{unowned + unknown_owner} enabled device(s) that meet or may meet the grant are attributed "
                     f"to nobody ({unowned} with no registered owner, as hybrid-joined devices usually are; "
                     f"{unknown_owner} whose owners were not sent): a user counted as blocked may still register "
                     "from one")

    def has_one(person: Person) -> bool | None:
        found = owned.get(person.id.lower(), [])
        return True if True in found else (None if None in found else False)

    return has_one


def _meets(device: DeviceRow, wanted: set[str], operator: str) -> bool | None:
    """An enabled device that is compliant (compliantDevice) and/or hybrid joined (domainJoinedDevice), combined
    as the grant's operator combines them; None when a field it needs was not sent."""
    if device.lacks("accountEnabled"):
        return None
    if not device.enabled:
        return False
    checks: list[bool | None] = []
    if "compliantdevice" in wanted:
        checks.append(None if device.lacks("isCompliant") else device.compliant is True)
    if "domainjoineddevice" in wanted:
        checks.append(device.hybrid_joined)
    return _combine(checks, operator)


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
