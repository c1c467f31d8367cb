"""Who is actually covered: the in-scope users, their registration and licences, Secure Score's
view of SSPR, and the SSPR activity, computed from a snapshot with no I/O.

The checks (`licensing.in_scope`, `registration.coverage`, `secure_score.sspr`, `sspr.scope`)
and the report's coverage section use the same functions, so every count in the report is the
count the checks judged.

Definitions (the report says them too):

* **in scope**: enabled member accounts (not guests) that the SSPR policy in force covers: every
  one when the scope is *all*, the group's transitive members when it is *selected*, nobody when
  *none*. When the portal's policy cannot be read, the scope is **inferred** from
  `userRegistrationDetails.isSsprEnabled` (Microsoft's own per-user verdict), and every count
  says so.
* **registered**: an in-scope user whose registration record has `isSsprRegistered`; a user with
  no record is counted apart (*no record*), never as registered.
* **licensed**: an in-scope user with an active service plan among the policy's
  `license_service_plans` (by default AAD_PREMIUM and AAD_PREMIUM_P2).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from auditor.derive.memo import memo
from auditor.findings import Evidence, Unreadable, section_value
from auditor.graph_fields import AAD_PREMIUM_P2_PLAN, AAD_PREMIUM_PLAN
from auditor.policy.models import Location, Policy, Scope
from auditor.snapshot.models import Snapshot
from auditor.snapshot.tenant import (
    CloudUsersState,
    RegistrationState,
    ScopeGroup,
    ScopeGroupsState,
    SecureScoreState,
    SsprActivityState,
    UserRow,
)

INFERRED = "inferred from userRegistrationDetails.isSsprEnabled (the portal's SSPR policy was not read)"
DEFAULT_PLANS = (AAD_PREMIUM_PLAN, AAD_PREMIUM_P2_PLAN)
SHOWN_IN_FINDINGS = 25
_value = section_value  # one rule for "a section or why it is missing" (auditor.findings)


def _source(snapshot: Snapshot, name: str) -> str:
    section = getattr(snapshot, name, None)
    return section.source if section is not None else name


# --- scope -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ScopeResolution:
    basis: Literal["portal", "inferred"]
    enablement: Literal["none", "selected", "all"]
    ids: frozenset[str]
    """Lower-case object ids of the in-scope users."""
    evidence: tuple[Evidence, ...]
    note: str | None = None


def enabled_members(users: CloudUsersState) -> dict[str, UserRow]:
    """Enabled member accounts by lower-case id (the same dict for the same state: do not change it)."""
    return memo("members", (users,), lambda: {u.id.lower(): u for u in users.users if u.enabled and not u.guest})


def users_by_id(users: CloudUsersState) -> dict[str, UserRow]:
    """Every user by lower-case id (the same dict for the same state: do not change it)."""
    return memo("users", (users,), users.by_id)


def member_ids(group: ScopeGroup) -> frozenset[str]:
    """Lower-case ids of the users among the group's transitive members."""
    return memo("group", (group,), lambda: frozenset(i.lower() for i in group.user_ids))


def _records_by_id(records: RegistrationState) -> dict[str, Any]:
    return memo("records", (records,), records.by_id)


def resolve_scope(snapshot: Snapshot) -> ScopeResolution:
    """The users the SSPR policy in force covers; inferred from registration details without the portal."""
    return memo("scope", (snapshot,), lambda: _resolve_scope(snapshot))


def _resolve_scope(snapshot: Snapshot) -> ScopeResolution:
    try:
        live = _value(snapshot, "sspr_policy")
    except Unreadable as portal:
        try:
            records: RegistrationState = _value(snapshot, "registration_details")
        except Unreadable as exc:
            raise Unreadable(f"the SSPR scope could not be read ({portal.reason}) nor inferred "
                             f"from registration details ({exc.reason})", [*portal.evidence, *exc.evidence]) from None
        inferred = infer_scope(snapshot, records)
        # the finding that counts this scope carries the portal's (section) evidence: the input it could not use
        return ScopeResolution(inferred.basis, inferred.enablement, inferred.ids,
                               (*inferred.evidence, *portal.evidence), inferred.note)
    return scope_of(snapshot, live.enablement, live.group_ids, _source(snapshot, "sspr_policy"))


def scope_of(snapshot: Snapshot, enablement: str, group_ids: list[str], source: str) -> ScopeResolution:
    """The users an SSPR scope of `enablement` (none/selected/all, over `group_ids`) covers in this snapshot:
    the portal's live scope, or the one a policy asks for (`source` names where the scope was stated)."""
    evidence = [Evidence(source=source, field="enablementType", value=enablement)]
    if enablement == Scope.none.value:
        return ScopeResolution("portal", "none", frozenset(), tuple(evidence))
    members = enabled_members(_value(snapshot, "cloud_users"))
    if enablement == Scope.all.value:
        return ScopeResolution("portal", "all", frozenset(members), tuple(evidence))
    groups: ScopeGroupsState = _value(snapshot, "scope_groups")
    evidence.append(Evidence(source=source, field="passwordResetEnabledGroupIds", value=group_ids))
    ids: set[str] = set()
    notes = []
    for group_id in group_ids:
        group = groups.find(group_id)
        if group is None:
            raise Unreadable(f"the SSPR scope group {group_id} was not read in this snapshot")
        if group.error is not None:
            raise Unreadable(f"the members of the SSPR scope group {group.display_name or group_id} could not be "
                             f"read: {group.error}")
        if not group.found:
            notes.append(f"the scope group {group_id} does not exist, so it covers nobody")
            continue
        ids |= member_ids(group)
        evidence.append(Evidence(source=_source(snapshot, "scope_groups"), field=f"{group.display_name} members",
                                 value=len(group.user_ids)))
    return ScopeResolution("portal", "selected", frozenset(ids & members.keys()), tuple(evidence),
                           "; ".join(notes) or None)


def infer_scope(snapshot: Snapshot, records: RegistrationState) -> ScopeResolution:
    """Scope from isSsprEnabled: all when every member (admins aside) has it, none when nobody does.

    Admins are left out of the all/none/selected verdict because the admin SSPR policy, not the
    user policy, governs them. A selected group that holds every member looks like `all` here.
    """
    members = None
    with contextlib.suppress(Unreadable):  # registration details alone still tell who is enabled for SSPR
        members = enabled_members(_value(snapshot, "cloud_users"))
    candidates = [r for r in records.records if not r.guest and (members is None or r.id.lower() in members)]
    judged = [r for r in candidates if not r.admin]
    on = sum(1 for r in judged if r.sspr_enabled)
    enablement: Literal["none", "selected", "all"] = (
        "none" if on == 0 else "all" if on == len(judged) else "selected")
    ids = frozenset(r.id.lower() for r in candidates if r.sspr_enabled)
    evidence = (Evidence(source=_source(snapshot, "registration_details"), field="isSsprEnabled (inferred)",
                         value={"members_enabled": on, "members": len(judged)}),)
    return ScopeResolution("inferred", enablement, ids, evidence, INFERRED)


# --- registration and licences ---------------------------------------------------------------------


class UserRef(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    upn: str
    display_name: str = ""
    detail: str = Field("", description="Why the user is listed")


@dataclass(frozen=True)
class RegistrationStats:
    in_scope: int
    registered: int
    not_registered: list[UserRef]
    no_record: list[UserRef]

    @property
    def percent(self) -> float | None:
        return round(100 * self.registered / self.in_scope, 2) if self.in_scope else None


def registration_stats(scope: ScopeResolution, records: RegistrationState,
                       users: CloudUsersState | None) -> RegistrationStats:
    return memo("registration", (scope, records, users), lambda: _registration_stats(scope, records, users))


def _registration_stats(scope: ScopeResolution, records: RegistrationState,
                        users: CloudUsersState | None) -> RegistrationStats:
    by_id = _records_by_id(records)
    people = users_by_id(users) if users is not None else {}
    registered = 0
    missing, no_record = [], []
    for uid in sorted(scope.ids):
        record = by_id.get(uid)
        person = people.get(uid)
        name = person.display_name if person else ""
        if record is None:
            no_record.append(UserRef(id=uid, upn=person.upn if person else "", display_name=name,
                                     detail="no registration record"))
        elif record.sspr_registered:
            registered += 1
        else:
            missing.append(UserRef(id=uid, upn=record.upn, display_name=name, detail="not registered for SSPR"))
    return RegistrationStats(len(scope.ids), registered, _by_upn(missing), _by_upn(no_record))


@dataclass(frozen=True)
class LicenceStats:
    in_scope: int
    licensed: int
    unlicensed: list[UserRef]

    @property
    def percent(self) -> float | None:
        return round(100 * self.licensed / self.in_scope, 2) if self.in_scope else None


def licence_stats(scope: ScopeResolution, users: CloudUsersState, plans: list[str] | tuple[str, ...]) -> LicenceStats:
    key = tuple(sorted(p.lower() for p in plans))
    return memo(f"licences {key}", (scope, users), lambda: _licence_stats(scope, users, key))


def _licence_stats(scope: ScopeResolution, users: CloudUsersState, plans: tuple[str, ...]) -> LicenceStats:
    wanted = set(plans)
    people = users_by_id(users)
    # decide once per distinct set of service plans, not once per user
    good = [bool(wanted & set(plan_set)) for plan_set in users.plan_sets]
    licensed = 0
    missing = []
    for uid in sorted(scope.ids):
        person = people.get(uid)
        if person is not None and 0 <= person.plan_set < len(good) and good[person.plan_set]:
            licensed += 1
            continue
        missing.append(UserRef(id=uid, upn=person.upn if person else "", display_name=person.display_name if person
                               else "", detail="no active Entra ID P1/P2 service plan" if person
                               else "not in the user list"))
    return LicenceStats(len(scope.ids), licensed, _by_upn(missing))


def _by_upn(users: list[UserRef]) -> list[UserRef]:
    return sorted(users, key=lambda u: (u.upn.casefold(), u.id))


def shown(users: list[UserRef], limit: int = SHOWN_IN_FINDINGS) -> list[str]:
    """The first UPNs of a list, for a finding (the report's coverage section and CSV have them all)."""
    return folded([u.upn or u.id for u in users], limit)


def folded(names: list[str], limit: int = SHOWN_IN_FINDINGS) -> list[str]:
    """The first `limit` names, then "... and N more"."""
    return names[:limit] + ([f"... and {len(names) - limit} more"] if len(names) > limit else [])


# --- Secure Score: current and projected ------------------------------------------------------------


class SecureScoreProjection(BaseModel):
    model_config = ConfigDict(frozen=True)

    score: float
    change: float
    estimate: bool = True
    basis: str


def control_max(state: SecureScoreState) -> float | None:
    if state.max_score:
        return state.max_score
    if state.score is not None and state.percent:
        return round(state.score * 100 / state.percent, 2)
    return None


def control_percent(state: SecureScoreState) -> float | None:
    if state.percent is not None:
        return state.percent
    top = control_max(state)
    return round(100 * state.score / top, 2) if state.score is not None and top else None


def project_secure_score(policy: Policy, snapshot: Snapshot, state: SecureScoreState) -> SecureScoreProjection | None:
    """The control's score if the policy's SSPR scope were applied: an estimate, since Secure Score counts
    its own users (`total`) and recomputes once a day."""
    top = control_max(state)
    if policy.sspr is None or top is None or state.score is None:
        return None
    total = state.total
    if policy.sspr.scope == Scope.all:
        score, basis = top, "scope all: Secure Score would count no user without SSPR"
    elif policy.sspr.scope == Scope.none:
        score, basis = 0.0, "scope none: nobody would have SSPR"
    elif not total:
        return None
    else:
        group = policy.sspr.group
        try:
            members = enabled_members(_value(snapshot, "cloud_users"))
            groups: ScopeGroupsState = _value(snapshot, "scope_groups")
        except Unreadable:
            return None
        found: ScopeGroup | None = groups.find(group.id if group else None, group.name if group else None)
        if found is None or not found.found or found.error:
            return None
        covered = len(member_ids(found) & members.keys())
        score = round(top * min(covered, total) / total, 2)
        basis = (f"scope selected: {covered} enabled members of {found.display_name or found.query} out of "
                 f"the {total} users Secure Score counts")
    return SecureScoreProjection(score=round(score, 2), change=round(score - state.score, 2), basis=basis)


# --- the report's coverage section ------------------------------------------------------------------


class ActivityPoint(BaseModel):
    model_config = ConfigDict(frozen=True)

    day: date
    resets: int
    resets_failed: int
    unlocks: int
    blocked: int
    registrations: int
    other: int


class WritebackChange(BaseModel):
    model_config = ConfigDict(frozen=True)

    at: datetime
    enabled: bool
    initiated_by: str | None


class ActivitySummary(BaseModel):
    model_config = ConfigDict(frozen=True)

    window_start: datetime
    window_end: datetime
    window_days: int
    events: int
    resets: int
    resets_failed: int
    unlocks: int
    blocked: int
    blocked_users: int
    registrations: int
    other: int
    writeback_enabled: int
    writeback_disabled: int
    writeback_failures: int = Field(0, description="Resets, changes or unlocks that failed on the on-premises write "
                                                   "(judged by writeback.health)")
    writeback_changes: list[WritebackChange] = Field(default_factory=list)
    days: list[ActivityPoint] = Field(default_factory=list, description="One point per day of the window, oldest first")


class ScoreHistoryPoint(BaseModel):
    model_config = ConfigDict(frozen=True)

    day: date
    percent: float | None
    count: int | None
    total: int | None


class SecureScoreSummary(BaseModel):
    model_config = ConfigDict(frozen=True)

    control: str
    as_of: datetime | None
    score: float | None
    max_score: float | None
    percent: float | None
    count: int | None
    total: int | None
    implementation_status: str | None
    projected: SecureScoreProjection | None = None
    history: list[ScoreHistoryPoint] = Field(default_factory=list)


class ScopeCounts(BaseModel):
    """How many users a scope covers, and how many of them are registered and licensed."""

    model_config = ConfigDict(frozen=True)

    in_scope: int | None = None
    registered: int | None = None
    not_registered: int | None = None
    no_record: int | None = None
    registered_percent: float | None = None
    licensed: int | None = None
    unlicensed: int | None = None
    licensed_percent: float | None = None


class PolicyScopeCounts(ScopeCounts):
    """The coverage counts for the scope the policy asks for, when that is not the scope in force."""

    scope: Literal["none", "selected", "all"]
    unavailable: str | None = Field(None, description="Why the policy's scope could not be resolved")


class CoverageReport(ScopeCounts):
    """Counts and lists behind the coverage checks, for the report (see the module's definitions)."""

    scope_basis: Literal["portal", "inferred"] | None = Field(None, description="How the in-scope users were found")
    scope: Literal["none", "selected", "all"] | None = None
    scope_note: str | None = None
    users_total: int | None = None
    enabled_members: int | None = None
    guests: int | None = None
    disabled: int | None = None
    registration_min_percent: float | None = None
    licence_seats: int | None = Field(None, description="Enabled units of the SKUs carrying a counted service plan")
    licence_seats_used: int | None = None
    unregistered_users: list[UserRef] = Field(default_factory=list, description="Not registered, then no record")
    unlicensed_users: list[UserRef] = Field(default_factory=list)
    secure_score: SecureScoreSummary | None = None
    activity: ActivitySummary | None = None
    unavailable: dict[str, str] = Field(default_factory=dict, description="Part of the section → why it is missing")
    policy_scope: PolicyScopeCounts | None = Field(
        None, description="The same counts for the scope the policy asks for, when it is not the one in force")
    policy_location: Location | None = Field(
        None, description="Where the policy file declares `coverage` (SARIF anchors the section there); null when "
                          "it does not")


def licence_plans(policy: Policy) -> list[str]:
    """The service plans that count as Entra ID P1 or better: the policy's, else AAD_PREMIUM and AAD_PREMIUM_P2."""
    return list(policy.coverage.license_service_plans) if policy.coverage else list(DEFAULT_PLANS)


def scope_counts(scope: ScopeResolution, records: RegistrationState | None, users: CloudUsersState | None,
                 plans: list[str]) -> tuple[dict[str, Any], RegistrationStats | None, LicenceStats | None]:
    """The `ScopeCounts` fields of one scope (those that could be counted), and the stats behind them."""
    counts: dict[str, Any] = {"in_scope": len(scope.ids)}
    stats = registration_stats(scope, records, users) if records is not None else None
    if stats is not None:
        counts.update(registered=stats.registered, not_registered=len(stats.not_registered),
                      no_record=len(stats.no_record), registered_percent=stats.percent)
    licences = licence_stats(scope, users, plans) if users is not None else None
    if licences is not None:
        counts.update(licensed=licences.licensed, unlicensed=len(licences.unlicensed),
                      licensed_percent=licences.percent)
    return counts, stats, licences


def coverage_report(policy: Policy, snapshot: Snapshot) -> CoverageReport:
    """Every count the coverage checks use, or why it could not be counted."""
    data: dict[str, Any] = {}
    unavailable: dict[str, str] = {}
    coverage = policy.coverage
    plans = licence_plans(policy)
    users = _optional(snapshot, "cloud_users", unavailable, "users")
    if users is not None:
        data.update(users_total=len(users.users), enabled_members=len(enabled_members(users)),
                    guests=sum(1 for u in users.users if u.guest),
                    disabled=sum(1 for u in users.users if not u.enabled))
    try:
        scope: ScopeResolution | None = resolve_scope(snapshot)
    except Unreadable as exc:
        scope = None
        unavailable["scope"] = exc.reason
    if scope is not None:
        data.update(scope_basis=scope.basis, scope=scope.enablement, scope_note=scope.note)
        records = _optional(snapshot, "registration_details", unavailable, "registration")
        counts, stats, licences = scope_counts(scope, records, users, plans)
        data.update(counts)
        if stats is not None:
            data["unregistered_users"] = [*stats.not_registered, *stats.no_record]
        if licences is not None:
            data["unlicensed_users"] = licences.unlicensed
        elif "users" in unavailable:
            unavailable["licences"] = unavailable["users"]
    if coverage is not None:
        data["registration_min_percent"] = coverage.registration_min_percent
    skus = _optional(snapshot, "subscribed_skus", unavailable, "subscriptions")
    if skus is not None:
        data["licence_seats"], data["licence_seats_used"] = skus.seats_with({p.lower() for p in plans})
    score = _optional(snapshot, "secure_score", unavailable, "secure_score")
    if score is not None:
        data["secure_score"] = secure_score_summary(policy, snapshot, score)
    activity = _optional(snapshot, "sspr_activity", unavailable, "activity")
    if activity is not None:
        data["activity"] = activity_summary(activity)
    declared = policy.location("coverage")
    return CoverageReport(**data, unavailable=unavailable,
                          policy_location=declared if declared is not None and declared.key == "coverage" else None)


def _optional(snapshot: Snapshot, name: str, unavailable: dict[str, str], label: str) -> Any:
    try:
        return _value(snapshot, name)
    except Unreadable as exc:
        unavailable[label] = exc.reason
        return None


def secure_score_summary(policy: Policy, snapshot: Snapshot, state: SecureScoreState) -> SecureScoreSummary:
    return SecureScoreSummary(
        control=state.control, as_of=state.as_of, score=state.score, max_score=control_max(state),
        percent=control_percent(state), count=state.count, total=state.total,
        implementation_status=state.implementation_status,
        projected=project_secure_score(policy, snapshot, state) if state.found else None,
        history=[ScoreHistoryPoint(day=p.day, percent=p.percent, count=p.counted, total=p.total)
                 for p in state.history],
    )


def activity_summary(state: SsprActivityState) -> ActivitySummary:
    """Totals over the window and one point per day (days without events at zero), oldest first."""
    from datetime import timedelta

    by_day = {day.day: day for day in state.days}
    first, last = state.window_start.date(), state.window_end.date()
    points = []
    current = first
    while current <= last:
        day = by_day.get(current)
        points.append(ActivityPoint(day=current, resets=day.resets if day else 0,
                                    resets_failed=day.resets_failed if day else 0, unlocks=day.unlocks if day else 0,
                                    blocked=day.blocked if day else 0,
                                    registrations=day.registrations if day else 0, other=day.other if day else 0))
        current += timedelta(days=1)
    changes = [WritebackChange(at=e.at, enabled=e.enabled, initiated_by=e.initiated_by)
               for e in state.writeback_events]
    return ActivitySummary(
        window_start=state.window_start, window_end=state.window_end,
        window_days=max(1, round((state.window_end - state.window_start).total_seconds() / 86_400)),
        events=state.events, resets=state.total("resets"), resets_failed=state.total("resets_failed"),
        unlocks=state.total("unlocks"), blocked=state.total("blocked"), blocked_users=state.blocked_users,
        registrations=state.total("registrations"), other=state.total("other"),
        writeback_enabled=sum(1 for c in changes if c.enabled),
        writeback_disabled=sum(1 for c in changes if not c.enabled),
        writeback_failures=len(state.writeback_failures),
        writeback_changes=changes, days=points,
    )
