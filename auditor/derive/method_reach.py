"""Whom each SSPR method reaches in a snapshot: the in-scope users, the method targets' members,
and the legacy toggles, combined by the rules of `auditor.derive.sspr_methods` (shared by sspr.methods,
sspr.methods_available and the planner)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from auditor.derive.figures import resolve_scope, users_by_id
from auditor.derive.sspr_methods import (
    ALL_USERS,
    Reach,
    TargetsUnread,
    carrying_configurations,
    group_members_map,
    legacy_offers,
    reach,
    reaches_everyone,
    target_kind,
    undetermined,
    uses_legacy,
    uses_methods_policy,
)
from auditor.findings import Evidence, Unreadable, section_value
from auditor.snapshot.models import MethodConfiguration, MethodsPolicyState, Snapshot, SsprPolicyState

APP = ("mobile_app_notification", "mobile_app_code")


def distinct_methods(methods: Iterable[str]) -> int:
    """How many methods count towards a reset: the Authenticator app's notification and code count once
    (concept-sspr-howitworks: with two methods required and the app enabled, two other methods are needed)."""
    names = set(methods)
    return len(names - set(APP)) + (1 if names & set(APP) else 0)


@dataclass(frozen=True)
class MethodReach:
    """One method: `everyone` (all in-scope users, whoever they are) or the in-scope `users` it reaches."""

    method: str
    everyone: bool
    users: frozenset[str] = frozenset()
    via: tuple[str, ...] = ()
    """What offers it: configuration ids and/or the legacy toggle."""
    targeted: tuple[str, ...] = ()
    """Human-readable targeting of each carrying configuration, e.g. `Email: include group X`."""

    def count(self, in_scope: frozenset[str]) -> int:
        return len(in_scope) if self.everyone else len(self.users & in_scope)

    def reaches(self, user: str) -> bool:
        return self.everyone or user in self.users

    @property
    def nobody(self) -> bool:
        return not self.everyone and not self.users


@dataclass
class Audience:
    """The in-scope users (resolved once, only when a method's targeting needs them)."""

    snapshot: Snapshot
    _scope: frozenset[str] | Unreadable | None = None
    _scope_evidence: tuple[Evidence, ...] = ()
    _members: dict[str, frozenset[str] | str] | Unreadable | None = None
    notes: list[str] = field(default_factory=list)

    def in_scope(self) -> frozenset[str]:
        if self._scope is None:
            try:
                resolved = resolve_scope(self.snapshot)
                self._scope, self._scope_evidence = resolved.ids, resolved.evidence
                if resolved.note:
                    self.notes.append(resolved.note)
            except Unreadable as exc:
                self._scope = exc
        if isinstance(self._scope, Unreadable):
            raise self._scope
        return self._scope

    @property
    def scope_evidence(self) -> tuple[Evidence, ...]:
        return self._scope_evidence

    def members(self) -> dict[str, frozenset[str] | str]:
        if self._members is None:
            try:
                groups = section_value(self.snapshot, "scope_groups")
            except Unreadable as exc:  # the reason and the section's evidence name the input not read
                self._members = Unreadable(f"the method target groups' members were not read ({exc.reason})",
                                           exc.evidence)
            else:
                self._members = group_members_map(groups.groups)
        if isinstance(self._members, Unreadable):
            raise self._members
        return self._members

    def upns(self, ids: frozenset[str] | set[str]) -> list[str]:
        section = self.snapshot.cloud_users
        people = users_by_id(section.value) if section is not None and section.readable and section.value else {}
        return sorted(((people[i].upn if i in people else i) for i in ids), key=str.casefold)


def method_reach(method: str, state: str | None, legacy: SsprPolicyState | None,
                 methods_policy: MethodsPolicyState, audience: Audience) -> MethodReach:
    """Whom `method` reaches. Raises Unreadable when that depends on something not read."""
    via: list[str] = []
    if uses_legacy(method, state) and legacy_offers(method, legacy):
        via.append("legacy SSPR setting")
        # the legacy toggle offers the method to everyone SSPR covers: targeting cannot narrow it
        return MethodReach(method, True, via=tuple(via))
    if not uses_methods_policy(method, state):
        return MethodReach(method, False)
    configs = carrying_configurations(method, methods_policy)
    targeted = tuple(_describe_targets(c, method) for c in configs)
    if any(reaches_everyone(c, method) for c in configs):
        return MethodReach(method, True, via=tuple(c.id for c in configs), targeted=targeted)
    why = undetermined(method, methods_policy)
    if why is not None:  # an absent flag is not false: whom the method reaches cannot be told
        raise Unreadable(why)
    if not configs:
        return MethodReach(method, False)
    in_scope = audience.in_scope()
    try:
        found: Reach = reach(method, methods_policy, in_scope, audience.members())
    except TargetsUnread as exc:
        raise Unreadable(f"{method} is enabled for targeted groups, and {exc}: whom it reaches cannot be told") \
            from None
    return MethodReach(method, False, found.users, via=found.configurations, targeted=targeted)


def _describe_targets(config: MethodConfiguration, method: str) -> str:
    def one(target: str) -> str:
        kind = target_kind(config, target)
        return target if kind in (ALL_USERS, "group") else f"{target} ({kind or 'no targetType'})"

    def shown(ids: list[str]) -> str:
        return ", ".join(one(t) for t in ids)

    include, exclude = config.include_target_ids, config.exclude_target_ids
    passwordless = config.passwordless_only_target_ids if method == "mobile_app_notification" else []
    shown_include = shown(include) if include else "nobody (includeTargets is empty)"
    text = f"{config.id}: includes {shown_include}"
    if passwordless:
        text += (f"; authenticationMode deviceBasedPush (passwordless only, not counted for notifications) for "
                 f"{', '.join(passwordless)}")
    if method == "mobile_app_code" and config.id.lower() == "microsoftauthenticator":
        text += "; isSoftwareOathEnabled true (the app's code is allowed)"
    return text + (f"; excludes {shown(exclude)}" if exclude else "")

