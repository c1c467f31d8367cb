"""Snapshot sections for "who is actually covered": users and their licences, SSPR registration,
the scope group, Secure Score, the SSPR audit log, password protection and the sign-in screen.

Per-user data is kept as compact typed rows (named tuples, written as JSON arrays) rather than
Graph's JSON, so a 100,000-user tenant stays a few megabytes in memory and on disk. Licences are
stored once per distinct set of service plans (`plan_sets`), and each user points at its set.
Graph field names stay in the readers; these models use readable names.
"""

from __future__ import annotations

from datetime import date
from typing import NamedTuple

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from auditor.graph_fields import SSPR_CONTROL
from auditor.text import same_name


class Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


# --- users and licences ----------------------------------------------------------------------


class UserRow(NamedTuple):
    """One directory user: `GET /users` (`accountEnabled`, `userType`, `onPremisesSyncEnabled`, `assignedPlans`)."""

    id: str
    upn: str
    display_name: str
    enabled: bool
    guest: bool
    synced: bool
    plan_set: int
    """Index into `CloudUsersState.plan_sets` of the user's active service plans; -1 for none."""


class CloudUsersState(Model):
    users: list[UserRow] = Field(default_factory=list)
    plan_sets: list[list[str]] = Field(
        default_factory=list,
        description="Distinct sets of active (capabilityStatus Enabled or Warning) service plan ids, lower case",
    )
    synced_containers: dict[str, int] = Field(
        default_factory=dict,
        description="The parent container of each synced user's onPremisesDistinguishedName → how many synced "
                    "users it holds (where the sync engine reads users from; empty when Graph sent no DNs)",
    )

    def plans_of(self, user: UserRow) -> list[str]:
        return self.plan_sets[user.plan_set] if user.plan_set >= 0 else []

    def by_id(self) -> dict[str, UserRow]:
        return {user.id.lower(): user for user in self.users}


class SkuRow(NamedTuple):
    """One subscription: `GET /subscribedSkus`."""

    sku_id: str
    part_number: str
    capability_status: str
    enabled_units: int
    consumed_units: int
    plan_ids: list[str]


class SubscribedSkusState(Model):
    skus: list[SkuRow] = Field(default_factory=list)

    def seats_with(self, plan_ids: set[str]) -> tuple[int, int]:
        """(enabled, consumed) units of the SKUs that carry any of `plan_ids`."""
        chosen = [s for s in self.skus if plan_ids & {p.lower() for p in s.plan_ids}]
        return sum(s.enabled_units for s in chosen), sum(s.consumed_units for s in chosen)


# --- registration ----------------------------------------------------------------------------


class RegistrationRow(NamedTuple):
    """One `userRegistrationDetails` record (the fields SSPR coverage needs)."""

    id: str
    upn: str
    sspr_enabled: bool
    sspr_registered: bool
    sspr_capable: bool
    admin: bool
    guest: bool
    methods: tuple[str, ...] = ()
    """methodsRegistered, as Graph names them (empty in snapshots made before it was read)."""
    mfa_capable: bool | None = None
    """isMfaCapable: registered a method the MFA policy allows (None: not read)."""


class RegistrationState(Model):
    records: list[RegistrationRow] = Field(default_factory=list)

    def by_id(self) -> dict[str, RegistrationRow]:
        return {record.id.lower(): record for record in self.records}


# --- the scope group -------------------------------------------------------------------------


class ScopeGroup(Model):
    """A group that SSPR is (or the policy wants it) scoped to, with its transitive members."""

    query: str = Field(description="The id or display name asked for")
    why: list[str] = Field(default_factory=list, description="`live` (the portal's group) and/or `policy`")
    found: bool
    id: str | None = None
    display_name: str | None = None
    user_ids: list[str] = Field(default_factory=list, description="Transitive members that are users")
    other_members: int = Field(0, description="Transitive members that are not users (devices, contacts, ...)")
    error: str | None = Field(None, description="Why this group's members could not be read")


class ScopeGroupsState(Model):
    groups: list[ScopeGroup] = Field(default_factory=list)

    def find(self, group_id: str | None = None, name: str | None = None) -> ScopeGroup | None:
        for group in self.groups:
            if group_id and (group.id or "").lower() == group_id.lower():
                return group
            if group_id and group.query.lower() == group_id.lower():
                return group
            if not group_id and name and same_name(group.display_name or group.query, name):
                return group
        return None


# --- Secure Score ----------------------------------------------------------------------------


class ScorePoint(NamedTuple):
    """The SelfServicePasswordReset control on one day of Secure Score history."""

    day: date
    score: float | None
    percent: float | None
    counted: int | None  # controlScores[].count (a field named `count` would shadow tuple.count)
    total: int | None


class SecureScoreState(Model):
    control: str = SSPR_CONTROL
    found: bool = Field(description="The latest Secure Score lists the control")
    as_of: AwareDatetime | None = Field(None, description="createdDateTime of the latest score")
    tenant_score: float | None = None
    tenant_max_score: float | None = None
    score: float | None = Field(None, description="controlScores[].score of the control")
    percent: float | None = Field(None, description="controlScores[].scoreInPercentage")
    count: int | None = Field(None, description="controlScores[].count: users the control counts against")
    total: int | None = Field(None, description="controlScores[].total")
    implementation_status: str | None = None
    max_score: float | None = Field(None, description="secureScoreControlProfiles maxScore of the control")
    title: str | None = None
    deprecated: bool | None = None
    history: list[ScorePoint] = Field(default_factory=list, description="Oldest first")


# --- SSPR audit log --------------------------------------------------------------------------


class ActivityDay(NamedTuple):
    day: date
    resets: int
    resets_failed: int
    unlocks: int
    blocked: int
    registrations: int
    other: int


class WritebackEvent(NamedTuple):
    at: AwareDatetime
    enabled: bool
    initiated_by: str | None


class WritebackFailure(NamedTuple):
    """A reset, change or unlock of the SSPR service that failed because its on-premises write failed (the
    activity's result is failure and its resultReason is one `auditor.derive.writeback_health` names)."""

    at: AwareDatetime
    activity: str
    reason: str
    user: str | None


class SettingsEvent(NamedTuple):
    """An audit event of the SSPR service that is not about one user: a change to its settings."""

    at: AwareDatetime
    activity: str
    category: str
    initiated_by: str | None


class SsprActivityState(Model):
    window_start: AwareDatetime
    window_end: AwareDatetime
    events: int = Field(0, description="Audit events read in the window")
    days: list[ActivityDay] = Field(default_factory=list, description="Days with at least one event, oldest first")
    writeback_events: list[WritebackEvent] = Field(default_factory=list)
    settings_events: list[SettingsEvent] = Field(
        default_factory=list,
        description="Events whose category is not UserManagement (settings changes), oldest first")
    blocked_users: int = Field(0, description="Distinct users blocked from SSPR in the window")
    writeback_failures: list[WritebackFailure] = Field(
        default_factory=list,
        description="Failed resets, changes and unlocks whose reason is an on-premises writeback failure, oldest "
                    "first")

    def total(self, field: str) -> int:
        return sum(getattr(day, field) for day in self.days)


# --- password protection ---------------------------------------------------------------------


class PasswordRulesState(Model):
    """The tenant's Password Rule Settings (`groupSettings`, template 5cf42378-...); None = not set."""

    setting_id: str | None = Field(None, description="None when no Password Rule Settings object exists")
    banned_on_premises_enabled: bool | None = None
    banned_on_premises_mode: str | None = None
    custom_list_enabled: bool | None = None
    custom_list_size: int | None = None
    lockout_threshold: int | None = None
    lockout_duration_seconds: int | None = None


# --- the tenant's domains ----------------------------------------------------------------------


class TenantDomain(Model):
    id: str
    authentication_type: str = Field(description="Managed or Federated (Graph's domain.authenticationType)")
    is_verified: bool
    is_default: bool | None = None

    @property
    def federated(self) -> bool:
        return self.authentication_type.casefold() == "federated"


class DomainsState(Model):
    """GET /domains: how each domain's users authenticate (`auditor.readers.graph_domains`)."""

    domains: list[TenantDomain] = Field(default_factory=list)

    def verified(self) -> list[TenantDomain]:
        return [d for d in self.domains if d.is_verified]


# --- the reset link on the Windows sign-in screen ----------------------------------------------


class IntuneAssignment(NamedTuple):
    """One assignment target of a device configuration profile (deviceAndAppManagementAssignmentTarget)."""

    kind: str
    """all_devices, all_licensed_users, group, exclusion_group or the target's @odata.type as sent."""
    group_id: str | None = None


class IntuneSetting(NamedTuple):
    id: str
    display_name: str
    value: str | None
    assignments: list[IntuneAssignment] | None = None
    """The profile's assignments; None when they were not read (`assignments_error`, or an older snapshot)."""
    assignments_error: str | None = None


class IntuneSignInResetState(Model):
    """Intune device configurations carrying the AllowAadPasswordReset OMA-URI."""

    configurations_read: int = 0
    settings: list[IntuneSetting] = Field(default_factory=list)


class GpoRegistryValue(NamedTuple):
    gpo_guid: str
    display_name: str | None
    linked: bool
    """Linked (enabled link, computer settings on) to the domain head or to an OU holding member computers."""
    value: int | None
    """AllowPasswordReset as set in the GPO's Machine\\Registry.pol; None when the GPO does not set it."""
    linked_to: tuple[str, ...] = ()
    """The containers of those links (DNs)."""
    error: str | None = None
    """Why this GPO's Registry.pol could not be read (then `value` is None and says nothing)."""
    source: str | None = None
    """Which file set `value`: Machine\\Registry.pol or the Preferences Registry.xml (None: neither)."""


class GpoSignInResetState(Model):
    """`AllowPasswordReset` in the Registry.pol of the domain's GPOs, read from SYSVOL."""

    gpos_read: int = 0
    values: list[GpoRegistryValue] = Field(default_factory=list, description="Every GPO of the domain, set or not")
