"""Who can register security info without the control the policy asks for: Conditional Access on the user
action `urn:user:registersecurityinfo`, judged per user. Pure: the snapshot's models in, verdicts out.

What each part of a policy means (Microsoft Learn):
* Only `enabled` policies are enforced; `enabledForReportingButNotEnforced` (report-only) evaluates and logs
  but "doesn't enforce" (concept-conditional-access-report-only), and `disabled` does nothing
  (learn.microsoft.com/graph/api/resources/conditionalaccesspolicy: state).
* All policies that apply are enforced together: "all policies are enforced in two phases ... all requirements
  must be satisfied" (concept-conditional-access-policies), so one policy that applies with the control covers
  the user whatever the others say.
* Users: include then exclude; "exclusions take precedence" (concept-conditional-access-users-groups). Groups
  are taken transitively (nested groups count: concept-conditional-access-users-groups, "Group membership").
  Roles apply to their active holders. `includeUsers` may hold `All`, `None` or `GuestsOrExternalUsers`.
* Guests: guestOrExternalUserTypes (conditionalaccessguestsorexternalusers). A `userType` Guest is an internal
  guest or a B2B collaboration guest, which the user list alone does not tell apart: a condition that names one
  and not the other leaves guests unknown. A member is matched only by b2bCollaborationMember, for members whose
  UPN carries `#EXT#` (an invited account); the other types are not directory users of this tenant.
* Grant controls: with operator OR any one listed control satisfies the policy, with AND all of them
  (conditionalaccessgrantcontrols): OR meets the requirement only if every alternative does.
* A condition narrows the policy: a platform, client app, location or risk condition, an authentication flow,
  or a device filter (which needs the registering device's properties: not evaluable offline, so `unknown`).
  A condition Graph sends that this tool does not model (Graph adds them: servicePrincipalRiskLevels, beta's
  agentIdRiskLevels) is `unknown` too, never ignored.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from auditor.snapshot.conditional_access import CaGrant, CaPolicy, ConditionalAccessState, GuestCondition

Control = Literal["mfa", "authentication_strength", "compliant_or_joined_device", "block_untrusted_locations"]
ENFORCED = "enabled"
REPORT_ONLY = "enabledForReportingButNotEnforced"
TRUSTED = "alltrusted"
GUEST_TYPES = frozenset({"internalguest", "b2bcollaborationguest"})
# Microsoft's built-in authentication strengths all require multifactor authentication
# (concept-authentication-strengths: Multifactor, Passwordless MFA, Phishing-resistant MFA).


@dataclass(frozen=True)
class Requirement:
    control: Control
    strength: str | None = None
    trusted_locations_exempt: bool = False
    break_glass: frozenset[str] = frozenset()
    """Lower-case UPNs or object ids that may be left uncovered."""


@dataclass(frozen=True)
class Person:
    id: str
    upn: str
    guest: bool


@dataclass(frozen=True)
class Verdict:
    status: Literal["covered", "uncovered", "unknown", "exempt"]
    why: str
    """The policy that covers them, or each policy or exclusion responsible, or what is unknown."""


Tri = bool | None  # None: not known


def _any(values: Iterable[Tri]) -> Tri:
    seen_unknown = False
    for value in values:
        if value is True:
            return True
        seen_unknown |= value is None
    return None if seen_unknown else False


class Directory:
    """Group and role members, each a set of lower-case user ids or the reason they are unknown."""

    def __init__(self, state: ConditionalAccessState) -> None:
        self.groups = {g.id.lower(): (g.error or frozenset(u.lower() for u in g.user_ids)) for g in state.groups}
        self.group_names = {g.id.lower(): g.display_name for g in state.groups}
        self.roles = {r.id.lower(): (r.error or frozenset(u.lower() for u in r.user_ids)) for r in state.roles}
        self.role_names = {r.id.lower(): r.display_name for r in state.roles}
        self.locations = {n.id.lower(): n for n in state.named_locations}
        self.unread: dict[str, str] = {}
        """The groups and roles a verdict needed whose members could not be read: label → why (issue #30: the
        data is then unreadable, not merely undecidable offline)."""

    def in_group(self, group_id: str, user: str) -> Tri:
        members = self.groups.get(group_id.lower(), "not read")
        if isinstance(members, str):
            self.unread.setdefault(self.group_label(group_id), members)
            return None
        return user in members

    def in_role(self, role_id: str, user: str) -> Tri:
        members = self.roles.get(role_id.lower(), "not read")
        if isinstance(members, str):
            self.unread.setdefault(self.role_label(role_id), members)
            return None
        return user in members

    def group_label(self, group_id: str) -> str:
        name = self.group_names.get(group_id.lower())
        return f"group '{name}'" if name else f"group {group_id}"

    def role_label(self, role_id: str) -> str:
        name = self.role_names.get(role_id.lower())
        return f"role '{name}'" if name else f"role {role_id}"

    def location_label(self, location_id: str) -> str:
        found = self.locations.get(location_id.lower())
        return f"'{found.display_name}'" if found else location_id

    def trusted(self, location_id: str) -> bool:
        if location_id.lower() == TRUSTED:
            return True
        found = self.locations.get(location_id.lower())
        return bool(found is not None and found.trusted)


def _guest_match(condition: GuestCondition | None, person: Person) -> Tri:
    if condition is None:
        return False
    types = {t.lower() for t in condition.types}
    if not person.guest:
        return "b2bcollaborationmember" in types and "#ext#" in person.upn.lower()
    if condition.tenants == "enumerated":
        return None  # the guest's home tenant is not read
    named = types & (GUEST_TYPES | {"otherexternaluser"})
    if types >= GUEST_TYPES:
        return True
    return None if named else False


def _who(policy: CaPolicy, person: Person, directory: Directory) -> tuple[Tri, str]:
    """Whether the policy's user conditions take `person` in, and if not (or unknown) why."""
    u, uid = policy.users, person.id.lower()
    specials = {x.lower() for x in u.include_users}
    included = _any([
        "all" in specials,
        "guestsorexternalusers" in specials and person.guest,
        uid in {x.lower() for x in u.include_users},
        _any(directory.in_group(g, uid) for g in u.include_groups),
        _any(directory.in_role(r, uid) for r in u.include_roles),
        _guest_match(u.include_guests, person),
    ])
    if included is False:
        return False, f"'{policy.display_name}' does not include them"
    reasons: list[tuple[Tri, str]] = []
    if uid in {x.lower() for x in u.exclude_users}:
        reasons.append((True, "excludes them by name"))
    if "guestsorexternalusers" in {x.lower() for x in u.exclude_users} and person.guest:
        reasons.append((True, "excludes guests"))
    reasons += [(directory.in_group(g, uid), f"excludes {directory.group_label(g)}") for g in u.exclude_groups]
    reasons += [(directory.in_role(r, uid), f"excludes {directory.role_label(r)}") for r in u.exclude_roles]
    reasons.append((_guest_match(u.exclude_guests, person), "excludes guest or external user types "
                    f"{', '.join(u.exclude_guests.types) if u.exclude_guests else ''}"))
    for value, why in reasons:
        if value is True:
            return False, f"'{policy.display_name}' {why}"
    unknown = [why for value, why in reasons if value is None]
    if unknown:
        return None, f"'{policy.display_name}' {unknown[0]}, whose members could not be read or told apart"
    if included is None:
        return None, f"whether '{policy.display_name}' includes them is unknown (a group, role or guest type it " \
                     f"names could not be resolved)"
    return True, ""


def covers(policy: CaPolicy, person: Person, directory: Directory) -> tuple[Tri, str]:
    """Whether the policy's user conditions take `person` in (None: unknown), and if not why."""
    return _who(policy, person, directory)


def _narrowing(policy: CaPolicy, need: Requirement, directory: Directory) -> list[str]:
    """The conditions that leave some registrations of an included user outside the policy."""
    out = []
    if policy.include_platforms is not None and (
            "all" not in {p.lower() for p in policy.include_platforms} or policy.exclude_platforms):
        out.append(f"applies only on platforms {policy.include_platforms}"
                   + (f" except {policy.exclude_platforms}" if policy.exclude_platforms else ""))
    apps = {a.lower() for a in policy.client_app_types}
    if "all" not in apps and not {"browser", "mobileappsanddesktopclients"} <= apps:
        out.append(f"applies only to client apps {policy.client_app_types}")
    if policy.include_locations is not None:
        block_outside = (need.control == "block_untrusted_locations" or need.trusted_locations_exempt)
        everywhere = "all" in {x.lower() for x in policy.include_locations}
        untrusted_excluded = [x for x in policy.exclude_locations
                              if not (block_outside and directory.trusted(x))]
        if not everywhere:
            out.append("applies only at locations "
                       + ", ".join(directory.location_label(x) for x in policy.include_locations))
        elif untrusted_excluded:
            out.append("does not apply at "
                       + ", ".join(directory.location_label(x) for x in untrusted_excluded))
    if policy.sign_in_risk:
        out.append(f"applies only at sign-in risk {policy.sign_in_risk}")
    if policy.user_risk:
        out.append(f"applies only at user risk {policy.user_risk}")
    out += [f"applies only to {c}" for c in policy.other_conditions]
    return out


def _control_ok(control: str, need: Requirement, grant: CaGrant) -> bool:
    name = control.lower()
    if name == "block":
        return True  # nobody it applies to can register at all
    if need.control == "mfa":
        return name == "mfa" or name.startswith("strength:")
    if need.control == "authentication_strength":
        wanted = (need.strength or "").lower()
        return name.startswith("strength:") and wanted in {(grant.strength_id or "").lower(),
                                                           (grant.strength_name or "").lower()}
    if need.control == "compliant_or_joined_device":
        return name in ("compliantdevice", "domainjoineddevice")
    return False  # block_untrusted_locations: only a block, on the location condition


def grant_meets(policy: CaPolicy, need: Requirement) -> tuple[bool, str]:
    """Whether the policy's grant controls require what the policy file asks, and if not what they require."""
    grant = policy.grant
    if grant is None:
        return False, f"'{policy.display_name}' has no grant controls"
    controls = [*grant.built_in, *([f"strength:{grant.strength_name or grant.strength_id}"]
                                   if grant.strength_id else []), *grant.other]
    if not controls:
        return False, f"'{policy.display_name}' requires no control"
    if need.control == "block_untrusted_locations":
        ok = "block" in {c.lower() for c in grant.built_in}
        return ok, "" if ok else f"'{policy.display_name}' does not block"
    oks = [_control_ok(c, need, grant) for c in controls]
    met = all(oks) if grant.operator.upper() == "OR" else any(oks)
    shown = f" {grant.operator.upper()} ".join(controls)
    return met, "" if met else f"'{policy.display_name}' requires {shown}, not {_wanted(need)}"


def _wanted(need: Requirement) -> str:
    return {"mfa": "MFA", "authentication_strength": f"the authentication strength '{need.strength}'",
            "compliant_or_joined_device": "a compliant or hybrid-joined device",
            "block_untrusted_locations": "a block outside trusted locations"}[need.control]


def _block_scope_ok(policy: CaPolicy, need: Requirement) -> bool:
    """For block_untrusted_locations: the block covers every location but trusted ones."""
    if need.control != "block_untrusted_locations":
        return True
    return policy.include_locations is not None and "all" in {x.lower() for x in policy.include_locations} \
        and bool(policy.exclude_locations)


def judge(person: Person, state: ConditionalAccessState, need: Requirement,
          directory: Directory | None = None) -> Verdict:
    directory = directory or Directory(state)
    blockers: list[str] = []
    unknowns: list[str] = []
    for policy in state.registration_policies():
        met, why_not = grant_meets(policy, need)
        if met and not _block_scope_ok(policy, need):
            met, why_not = False, f"'{policy.display_name}' blocks, but not only outside trusted locations"
        applies, why = _who(policy, person, directory)
        if policy.state != ENFORCED:
            if met and applies is not False:
                shown = "report-only" if policy.state == REPORT_ONLY else policy.state
                blockers.append(f"'{policy.display_name}' is {shown} (not enforced)")
            continue
        if applies is False:
            if met and "does not include" not in why:
                blockers.append(why)
            continue
        if not met:
            blockers.append(why_not)
            continue
        narrowed = _narrowing(policy, need, directory)
        if narrowed:
            blockers.append(f"'{policy.display_name}' {'; '.join(narrowed)}")
            continue
        if applies is None:
            unknowns.append(why)
            continue
        if policy.unmodelled_conditions:
            unknowns.append(f"'{policy.display_name}' sets a condition this tool does not model "
                            f"({', '.join(policy.unmodelled_conditions)}), which may leave them out")
            continue
        if policy.device_filter:
            unknowns.append(f"'{policy.display_name}' has a device filter ({policy.device_filter}), which cannot "
                            "be evaluated offline")
            continue
        return Verdict("covered", f"'{policy.display_name}'")
    if unknowns:
        return Verdict("unknown", "; ".join(unknowns))
    why = "; ".join(dict.fromkeys(blockers)) or "no policy on registering security info includes them"
    if {person.upn.lower(), person.id.lower()} & need.break_glass:
        return Verdict("exempt", f"a declared break-glass account ({why})")
    return Verdict("uncovered", why)
