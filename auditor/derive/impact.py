"""Who a change to the SSPR policy brings into scope or leaves out, before anyone applies it.

A change of scope (none/selected/all), of the selected group, of the number of methods a reset needs or of
the legacy method toggles changes who can reset. The preview judges the snapshot as it is and as it would be
after the change (the portal policy with the new values), with the same rules the checks use:
the users in scope (`figures.resolve_scope`), licences by service plan (`figures.licence_stats`),
registration (`figures.registration_stats`) and the methods each user is offered (`method_reach`).
A method configuration's `state` and the methods policy's migration state are previewed the same way (the
methods policy as it would read after the change); method targets are never changed by a plan.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from auditor.derive.figures import (
    CoverageReport,
    PolicyScopeCounts,
    ScopeResolution,
    UserRef,
    licence_plans,
    registration_stats,
    resolve_scope,
    scope_counts,
    scope_of,
    users_by_id,
)
from auditor.derive.method_reach import Audience, distinct_methods, method_reach
from auditor.derive.sspr_methods import LEGACY_METHOD_FIELDS, METHOD_CONFIGS, REGISTERED_METHOD, known_state
from auditor.findings import Unreadable, section_value
from auditor.policy.models import Policy, Scope
from auditor.snapshot.models import MethodsPolicyState, Snapshot, SsprPolicyState

WHO_FIELDS = frozenset({"enablement", "group_ids", "methods_required", *LEGACY_METHOD_FIELDS})
"""`SsprPolicyState` fields whose change changes who can reset."""


@dataclass(frozen=True)
class ScopeImpact:
    before: int
    after: int
    brought_in: tuple[UserRef, ...] = ()
    left_out: tuple[UserRef, ...] = ()
    unlicensed: tuple[UserRef, ...] = ()
    """Among those brought in: no active service plan the policy accepts."""
    unregistered: tuple[UserRef, ...] = ()
    """Among those brought in: not registered for SSPR (or no registration record)."""
    cannot_reach: tuple[UserRef, ...] = ()
    """In scope after the change and offered fewer methods than a reset needs (but not before)."""
    can_reach: tuple[UserRef, ...] = ()
    """In scope after the change and offered enough methods, who were short of them before."""
    must_register: tuple[UserRef, ...] = ()
    """In scope before and after, offered enough methods, but registered for fewer of them than a reset then
    needs (they could reset before): they must register another method first."""
    unknown: tuple[str, ...] = ()
    """What could not be judged, and why."""


def touches_who(updates: dict[str, Any]) -> bool:
    return bool(WHO_FIELDS & updates.keys())


def after_change(snapshot: Snapshot, updates: dict[str, Any]) -> Snapshot:
    """The snapshot as it would read once the portal policy holds `updates`."""
    return _changed(snapshot, "sspr_policy", lambda policy: policy.model_copy(update=updates))


def with_configuration(snapshot: Snapshot, configuration_id: str, updates: dict[str, Any]) -> Snapshot:
    """The snapshot as it would read once one method configuration holds `updates` (`state`, ...)."""
    def change(policy: MethodsPolicyState) -> MethodsPolicyState:
        return policy.model_copy(update={"configurations": [
            c.model_copy(update=updates) if c.id.lower() == configuration_id.lower() else c
            for c in policy.configurations]})

    return _changed(snapshot, "methods_policy", change)


def with_migration_state(snapshot: Snapshot, state: str | None) -> Snapshot:
    """The snapshot as it would read once the methods policy's migration state is `state`."""
    return _changed(snapshot, "methods_policy", lambda policy: policy.model_copy(update={"migration_state": state}))


def _changed(snapshot: Snapshot, name: str, change: Callable[[Any], Any]) -> Snapshot:
    """`snapshot` with section `name`'s value changed; Unreadable (with the reason) when it was not read."""
    value = section_value(snapshot, name)
    section = getattr(snapshot, name)
    return snapshot.model_copy(update={name: section.model_copy(update={"value": change(value)})})


def scope_impact(snapshot: Snapshot, updates: dict[str, Any], plans: list[str]) -> ScopeImpact:
    """The users `updates` to the portal policy bring in or leave out, and who among them cannot reset."""
    return impact_between(snapshot, after_change(snapshot, updates), plans)


def impact_between(snapshot: Snapshot, after: Snapshot, plans: list[str]) -> ScopeImpact:
    """Who is brought in or left out from `snapshot` to `after`, and who among them cannot reset."""
    unknown: list[str] = []
    try:
        old, new = resolve_scope(snapshot), resolve_scope(after)
    except Unreadable as exc:
        return ScopeImpact(0, 0, unknown=(f"who is in scope: {exc.reason}",))
    users, records = _value(snapshot, "cloud_users"), _value(snapshot, "registration_details")
    people = users_by_id(users) if users is not None else {}
    brought = _refs(new.ids - old.ids, people)
    left = _refs(old.ids - new.ids, people)
    entering = ScopeResolution(new.basis, new.enablement, new.ids - old.ids, ())
    _, stats, licences = scope_counts(entering, records, users, plans)
    unlicensed = tuple(licences.unlicensed) if licences is not None else ()
    unregistered = tuple(stats.not_registered + stats.no_record) if stats is not None else ()
    if licences is None:
        unknown.append("licences: the user list was not read")
    if stats is None:
        unknown.append("registration: the registration details were not read")
    cannot: tuple[UserRef, ...] = ()
    can: tuple[UserRef, ...] = ()
    again: tuple[UserRef, ...] = ()
    try:
        offers_after = _Offers(after)
        offers_before = _Offers(snapshot) if old.ids else None
        short_after = offers_after.short(new.ids)
        short_before = offers_before.short(old.ids) if offers_before is not None else frozenset()
        cannot = _refs(short_after - short_before, people)
        can = _refs((short_before & new.ids) - short_after, people)
        kept = (old.ids & new.ids) - short_after
        if offers_before is not None and kept and records is not None:
            by_id = records.by_id()
            if any(r.methods for r in by_id.values()):
                again = _refs(frozenset(u for u in kept if u in by_id
                                        and offers_after.unusable(u, by_id[u].methods)
                                        and not offers_before.unusable(u, by_id[u].methods)), people)
            else:
                unknown.append("registered methods: this snapshot has no methodsRegistered (collect it again)")
    except Unreadable as exc:
        unknown.append(f"methods offered: {exc.reason}")
    return ScopeImpact(len(old.ids), len(new.ids), brought, left, unlicensed, unregistered, cannot, can, again,
                       tuple(unknown))


REGISTER_AT_SIGN_IN = "registration_required_on_sign_in"


@dataclass(frozen=True)
class SignInPrompt:
    """Who "Require users to register when signing in" would interrupt: the users in scope once the change is
    written who are not registered. Microsoft: they are "prompted to register each time they sign in until they
    complete their registration"; the interrupt can be dismissed and does not break a signed-in session
    (https://learn.microsoft.com/entra/identity/authentication/concept-sspr-howitworks
    #require-users-to-register-when-they-sign-in)."""

    in_scope: int
    prompted: tuple[UserRef, ...] = ()
    unknown: tuple[str, ...] = ()


def turns_on_sign_in_registration(snapshot: Snapshot, updates: dict[str, Any]) -> bool:
    """The change asks for registration at sign-in and the portal's policy does not hold it now (or was not
    read: the preview then still counts who it would prompt)."""
    if updates.get(REGISTER_AT_SIGN_IN) is not True:
        return False
    live: SsprPolicyState | None = _value(snapshot, "sspr_policy")
    return live is None or live.registration_required_on_sign_in is not True


def sign_in_prompt(after: Snapshot) -> SignInPrompt:
    """The unregistered users in scope on `after` (the state once the change is written); what cannot be
    counted is said, never guessed (no registration records: nobody is counted, and the preview says why)."""
    try:
        scope = resolve_scope(after)
    except Unreadable as exc:
        return SignInPrompt(0, unknown=(f"who is in scope: {exc.reason}",))
    users, records = _value(after, "cloud_users"), _value(after, "registration_details")
    if records is None:
        return SignInPrompt(len(scope.ids), unknown=("registration: the registration details were not read",))
    stats = registration_stats(scope, records, users)
    return SignInPrompt(len(scope.ids), tuple(sorted((*stats.not_registered, *stats.no_record),
                                                     key=lambda u: (u.upn.casefold(), u.id))))


class _Offers:
    """The methods each in-scope user is offered, and how many a reset needs (as `sspr.methods_available`
    counts them); Unreadable when a method's reach was not read."""

    def __init__(self, snapshot: Snapshot) -> None:
        legacy: SsprPolicyState | None = _value(snapshot, "sspr_policy")
        if legacy is None or not legacy.methods_required:
            raise Unreadable("the number of methods a reset needs was not read")
        methods_policy: MethodsPolicyState = section_value(snapshot, "methods_policy")
        state = methods_policy.migration_state
        if not known_state(state):
            raise Unreadable(f"unrecognised policyMigrationState {state!r}")
        audience = Audience(snapshot)
        self.reach = [method_reach(method, state, legacy, methods_policy, audience) for method in METHOD_CONFIGS]
        self.required = int(legacy.methods_required)

    def offered(self, user: str) -> set[str]:
        return {r.method for r in self.reach if r.reaches(user)}

    def short(self, in_scope: frozenset[str]) -> frozenset[str]:
        """The in-scope users offered fewer distinct methods than a reset needs."""
        return frozenset(user for user in in_scope if distinct_methods(self.offered(user)) < self.required)

    def unusable(self, user: str, registered: tuple[str, ...]) -> bool:
        """Registered for fewer of the methods offered to `user` than a reset needs."""
        usable = {REGISTERED_METHOD[m] for m in registered if m in REGISTERED_METHOD} & self.offered(user)
        return distinct_methods(usable) < self.required


def _value(snapshot: Snapshot, name: str) -> Any:
    """Section `name`'s value, or None when it was not read (the callers say what that leaves unjudged)."""
    try:
        return section_value(snapshot, name)
    except Unreadable:
        return None


def _refs(ids: frozenset[str], people: dict[str, Any]) -> tuple[UserRef, ...]:
    out = [UserRef(id=i, upn=people[i].upn if i in people else "", display_name=people[i].display_name
                   if i in people else "") for i in ids]
    return tuple(sorted(out, key=lambda u: (u.upn.casefold(), u.id)))


def policy_scope(snapshot: Snapshot, policy: Policy) -> ScopeResolution | None:
    """The users the scope the policy asks for would cover, when it is not the scope in force (None: the same,
    or the policy says nothing about scope). Raises Unreadable when the policy's group was not read.

    Without the portal's policy the scope in force is inferred (`figures.resolve_scope`); the scope the policy
    asks for is then judged whenever it covers other users than the inferred one, or that could not be inferred:
    an unreadable portal never hides the policy's own scope."""
    sspr = policy.sspr
    if sspr is None:
        return None
    updates: dict[str, Any] = {"enablement": sspr.scope.value}
    if sspr.scope == Scope.selected and sspr.group is not None:
        group_id = sspr.group.id
        if group_id is None:
            try:
                groups = section_value(snapshot, "scope_groups")
            except Unreadable as exc:
                raise Unreadable(f"the policy's SSPR group {sspr.group.name!r} was not read: {exc.reason}",
                                 exc.evidence) from None
            found = groups.find(None, sspr.group.name)
            if found is None or not found.id:
                raise Unreadable(f"the policy's SSPR group {sspr.group.name!r} was not read")
            group_id = found.id
        updates["group_ids"] = [group_id]
    else:
        updates["group_ids"] = []
    try:
        live: SsprPolicyState = section_value(snapshot, "sspr_policy")
    except Unreadable as portal:
        return _asked_without_portal(snapshot, policy, updates, portal)
    if live.enablement == updates["enablement"] and (
            updates["enablement"] != Scope.selected.value
            or {g.lower() for g in live.group_ids} == {g.lower() for g in updates["group_ids"]}):
        return None
    return resolve_scope(after_change(snapshot, updates))


def _asked_without_portal(snapshot: Snapshot, policy: Policy, updates: dict[str, Any],
                          portal: Unreadable) -> ScopeResolution | None:
    """The policy's scope resolved from its own statement (the users and groups, no portal); None when the
    inferred scope in force covers exactly these users. Its evidence names the portal it could not use."""
    stated = f"{policy.source_file or 'the policy'} (sspr.scope)"
    asked = scope_of(snapshot, updates["enablement"], updates["group_ids"], stated)
    try:
        current = resolve_scope(snapshot)
    except Unreadable:
        current = None
    if current is not None and current.ids == asked.ids:
        return None
    return ScopeResolution(asked.basis, asked.enablement, asked.ids, (*asked.evidence, *portal.evidence), asked.note)


def scope_label(scope: ScopeResolution) -> str:
    return {"all": "all users", "none": "nobody", "selected": "the selected group"}[scope.enablement]


def with_policy_scope(report: CoverageReport, policy: Policy, snapshot: Snapshot) -> CoverageReport:
    """`report` with the counts of the scope the policy asks for, when that is not the one in force."""
    try:
        asked = policy_scope(snapshot, policy)
    except Unreadable as exc:
        wanted = policy.sspr.scope.value if policy.sspr is not None else "selected"
        unavailable = PolicyScopeCounts.model_validate({"scope": wanted, "in_scope": 0, "unavailable": exc.reason})
        return report.model_copy(update={"policy_scope": unavailable})
    if asked is None:
        return report
    counts, _, _ = scope_counts(asked, _value(snapshot, "registration_details"), _value(snapshot, "cloud_users"),
                                licence_plans(policy))
    return report.model_copy(update={"policy_scope": PolicyScopeCounts(scope=asked.enablement, **counts)})
