"""The desired SSPR + writeback state, as pydantic v2 models.

Every model forbids unknown keys so a misspelt setting is an error, never silently ignored.
Secrets never live here: only identifiers (tenant id, client id, host names, DNs).
"""

from __future__ import annotations

import re
from datetime import date
from enum import StrEnum
from functools import cache
from typing import Annotated, Any, Literal, get_args

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationInfo,
    field_validator,
    model_validator,
)

from auditor.graph_fields import AAD_PREMIUM_P2_PLAN, AAD_PREMIUM_PLAN, SSPR_CONTROL

GUID_PATTERN = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_DN_COMPONENT = re.compile(r"^\s*(CN|OU|DC|O|L|ST|C)=(?:[^,\\]|\\.)+\s*$", re.IGNORECASE)


class Location(BaseModel):
    model_config = ConfigDict(frozen=True)

    file: str
    line: int
    column: int
    key: str
    defaulted: bool = Field(False, description="The key is not written in the policy, so its default applies: `key` "
                                               "names it, and line and column are those of the nearest key above it "
                                               "that is written")

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


class PolicySource(BaseModel):
    """The file a policy came from and the 1-based (line, column) of every key in it."""

    file: str
    positions: dict[str, tuple[int, int]]
    sha256: str | None = None  # of the file's bytes (and the files it extends), so a plan names the policy exactly
    key_files: dict[str, str] = {}
    """The file of each key that came from a file this one `extends` (absent: this file)."""
    expanded: dict[str, Any] = {}
    """The document as validated: this file merged over the files it extends (`validate --show`)."""

    def file_of(self, key: str) -> str:
        return self.key_files.get(key, self.file)


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @field_validator("*", mode="before")
    @classmethod
    def _booleans_are_not_numbers(cls, value: Any, info: ValidationInfo) -> Any:
        """YAML `true` is never a count: pydantic would take it as 1 (`methods_required: true` = one gate)."""
        if isinstance(value, bool) and info.field_name and not _admits_bool(cls.model_fields[info.field_name]
                                                                             .annotation):
            raise ValueError(f"{str(value).lower()} is a boolean; this setting takes a number or a name")
        return value


def _admits_bool(annotation: Any) -> bool:
    if annotation is bool:
        return True
    return any(_admits_bool(arg) for arg in get_args(annotation) if not isinstance(arg, (int, str, float)))


class Scope(StrEnum):
    none = "none"
    selected = "selected"
    all = "all"


class GroupRef(Strict):
    """The one group SSPR is enabled for, when scope is `selected`."""

    id: Annotated[str | None, Field(pattern=GUID_PATTERN, description="Object id of the group")] = None
    name: Annotated[str | None, Field(min_length=1, description="Display name of the group")] = None

    @model_validator(mode="after")
    def _one_of(self) -> GroupRef:
        if not self.id and not self.name:
            raise ValueError("give the group's `id` or its `name` (or both)")
        return self


class Methods(Strict):
    """Which verification methods SSPR offers (the portal's method toggles)."""

    mobile_app_notification: bool = Field(False, description="Microsoft Authenticator notification")
    mobile_app_code: bool = Field(False, description="Authenticator or other OATH app code")
    email: bool = Field(False, description="Email to an alternate address")
    mobile_phone: bool = Field(False, description="SMS and voice call to the mobile phone")
    office_phone: bool = Field(False, description="Voice call to the office phone")
    security_questions: bool = Field(False, description="Security questions (weakest; not recommended)")

    def enabled(self) -> list[str]:
        return [name for name, on in self.model_dump().items() if on]


class SecurityQuestions(Strict):
    """How many security questions a user registers and answers (only when `methods.security_questions` is on)."""

    number_to_register: Annotated[int, Field(ge=3, le=5, description="Questions each user registers")] = 3
    number_to_reset: Annotated[int, Field(ge=3, le=5, description="Questions asked at a reset")] = 3

    @model_validator(mode="after")
    def _reset_not_above_register(self) -> SecurityQuestions:
        if self.number_to_reset > self.number_to_register:
            raise ValueError(
                f"number_to_reset ({self.number_to_reset}) must not exceed "
                f"number_to_register ({self.number_to_register})"
            )
        return self


class RegistrationConditionalAccess(Strict):
    """What Conditional Access must require when a user registers security info (the user action
    `urn:user:registersecurityinfo`), who may be left out, and whether a Temporary Access Pass may serve them."""

    require: Literal["mfa", "authentication_strength", "compliant_or_joined_device", "block_untrusted_locations"] = \
        Field(description="The control an enabled policy must require of every in-scope user who registers: "
                          "mfa (MFA or any authentication strength), authentication_strength (the one named in "
                          "`authentication_strength`), compliant_or_joined_device (a compliant or hybrid-joined "
                          "device), block_untrusted_locations (blocked everywhere but trusted locations)")
    authentication_strength: Annotated[str | None, Field(
        min_length=1, description="The authentication strength (id or display name) when `require` is "
                                  "authentication_strength")] = None
    trusted_locations_exempt: bool = Field(
        False, description="Registering from a trusted location needs no control: a policy that excludes only "
                           "trusted locations still counts (Microsoft's template 'Securing security info "
                           "registration' does so)")
    break_glass: list[Annotated[str, Field(min_length=3)]] = Field(
        default_factory=list, description="User principal names (or object ids) that may be excluded: the "
                                          "emergency access accounts")
    temporary_access_pass: Literal["allowed", "forbidden"] | None = Field(
        None, description="Whether the Temporary Access Pass method may be enabled for in-scope users (it lets its "
                          "holder register methods); omitted = reported, not judged")
    enforce: bool = Field(False, description="`plan` turns the registration policy it created on (state enabled); "
                                             "false: it stays report-only")

    @model_validator(mode="after")
    def _strength_named(self) -> RegistrationConditionalAccess:
        if self.require == "authentication_strength" and not self.authentication_strength:
            raise ValueError("require: authentication_strength needs `authentication_strength` (its id or name)")
        if self.require != "authentication_strength" and self.authentication_strength:
            raise ValueError("`authentication_strength` only applies to require: authentication_strength")
        return self


class Registration(Strict):
    """Registration of the methods a reset needs: asked at sign-in, reconfirmed, how long it may be put off."""

    require_on_sign_in: bool = Field(True, description="Ask in-scope users to register when they sign in")
    reconfirm_days: Annotated[int, Field(ge=0, le=730, description="0 = never ask to reconfirm")] = 180
    max_skip_days: Annotated[int | None, Field(
        ge=0, le=730, description="The most days users may put off registering when asked at sign-in (the "
                                  "portal's skipRegistrationAllowed / skipRegistrationMaxAllowedDays); 0 = no "
                                  "skipping; omitted = not audited")] = None
    conditional_access: RegistrationConditionalAccess | None = Field(
        None, description="Conditional Access on registering security info; omitted = not audited")


class Notifications(Strict):
    """Who is mailed when a password is reset."""

    notify_users: bool = Field(True, description="Mail users when their password is reset")
    notify_admins: bool = Field(True, description="Mail all admins when another admin resets")


class Helpdesk(Strict):
    """Where the 'Contact your administrator' link on the reset page leads."""

    customize: bool = Field(False, description="Point 'Contact your administrator' at a custom target")
    email_or_url: Annotated[str | None, Field(
        min_length=3, max_length=2048,
        description="The custom helpdesk address: an email or an http(s) URL (needed when `customize` is true)")] = None

    @model_validator(mode="after")
    def _target_when_customized(self) -> Helpdesk:
        if self.customize and not self.email_or_url:
            raise ValueError("customize: true needs `email_or_url`")
        if self.email_or_url and not re.match(r"^(https?://\S+|[^@\s]+@[^@\s]+\.[^@\s]+)$", self.email_or_url):
            raise ValueError("email_or_url must be an http(s) URL or an email address")
        return self


class Sspr(Strict):
    """Self-service password reset as the portal sets it: who may reset, with how many and which methods."""

    scope: Scope = Field(description="Who may reset: none, one selected group, or all users")
    group: GroupRef | None = None
    methods_required: Literal[1, 2] = Field(2, description="Number of methods (gates) a reset needs")
    methods: Methods = Field(default_factory=Methods)
    security_questions: SecurityQuestions | None = None
    custom_security_questions: bool | None = Field(
        None, description="Custom security questions may be among the portal's chosen questions (false: only "
                          "Microsoft's predefined ones, which are localized and vetted; None = not checked). "
                          "Judged whether or not the method is on: a custom question is offered the day it is")
    registration: Registration = Field(default_factory=Registration)
    notifications: Notifications = Field(default_factory=Notifications)
    helpdesk: Helpdesk = Field(default_factory=Helpdesk)

    @model_validator(mode="after")
    def _documented_rules(self) -> Sspr:
        if self.scope == Scope.selected and self.group is None:
            raise ValueError("scope `selected` needs a `group`")
        if self.scope != Scope.selected and self.group is not None:
            raise ValueError(f"`group` only applies to scope `selected`, not `{self.scope.value}`")
        enabled = self.methods.enabled()
        if self.scope != Scope.none and len(enabled) < self.methods_required:
            raise ValueError(
                f"methods_required is {self.methods_required} but only {len(enabled)} method(s) are enabled"
            )
        # Microsoft: with two gates the Authenticator app needs at least two other methods
        # (concept-sspr-howitworks), because app notification and code count as one.
        app = self.methods.mobile_app_notification or self.methods.mobile_app_code
        others = [m for m in enabled if m not in ("mobile_app_notification", "mobile_app_code")]
        if self.scope != Scope.none and self.methods_required == 2 and app and len(others) < 2:
            raise ValueError(
                "with methods_required 2 and the Authenticator app enabled, at least two other methods "
                "must be enabled (Microsoft: concept-sspr-howitworks)"
            )
        if self.methods.security_questions and self.security_questions is None:
            raise ValueError("security_questions method is enabled: give `security_questions` counts")
        return self


class AdminSspr(Strict):
    """Self-service password reset for administrator roles (always on by default in Entra)."""

    allowed: bool = Field(description="authorizationPolicy.allowedToUseSSPR: admins may use SSPR")


class MigrationState(StrEnum):
    pre_migration = "preMigration"
    migration_in_progress = "migrationInProgress"
    migration_complete = "migrationComplete"


class MethodsPolicy(Strict):
    """The authentication methods policy that governs SSPR methods after migration."""

    migration_state: MigrationState = Field(description="authenticationMethodsPolicy.policyMigrationState")
    registration_campaign: Literal["enabled", "disabled", "default"] | None = Field(
        None, description="registrationEnforcement's registration campaign (\"require registration at sign-in\" "
                          "of the Authenticator app): enabled, disabled or default (Microsoft decides); "
                          "None = not checked")


class Writeback(Strict):
    """Password writeback to on-premises AD (Entra Connect or Cloud Sync)."""

    enabled: bool = Field(description="Write passwords back to on-premises AD")
    unlock: bool = Field(False, description="Let users unlock their account without resetting")
    cloud_sync: bool | None = Field(None, description="Writeback via Entra Cloud Sync (None = not checked)")
    federated_domains_allowed: bool = Field(
        True, description="Verified domains may be federated (AD FS signs their users in, so Entra smart lockout "
                          "and the cloud's password checks do not see those sign-ins); false: every verified "
                          "domain is managed (password hash sync or pass-through)")
    password_hash_sync: bool | None = Field(
        None, description="Password hash sync must be on (Microsoft recommends it, also beside pass-through or "
                          "federation, as a backup and for leaked-credential detection); None = not checked")
    max_failed_writebacks: Annotated[int, Field(ge=0, le=100_000)] | None = Field(
        None, description="Most resets, changes or unlocks allowed to fail in the SSPR audit window because their "
                          "on-premises write failed (writeback broken while switched on); None = not checked")


class DirectoryRights(Strict):
    """The rights the sync account must hold on every target OU, inherited by user objects."""

    reset_password: bool = Field(True, description="Extended right Reset Password")
    change_password: bool = Field(True, description="Extended right Change Password (the tutorial lists it)")
    write_lockout_time: bool = Field(True, description="Write property lockoutTime")
    write_pwd_last_set: bool = Field(True, description="Write property pwdLastSet")
    unexpire_password: bool | Literal["when_passwords_expire"] = Field(
        "when_passwords_expire",
        description="Extended right Unexpire Password on the domain root: true = always required, false = not "
                    "checked, when_passwords_expire = required when the domain's maxPwdAge, the winning GPO's "
                    "MaximumPasswordAge or a fine-grained policy's msDS-MaximumPasswordAge lets passwords expire")
    admin_sd_holder: bool = Field(
        False, description="Also expect the rights on AdminSDHolder so adminCount=1 users get them"
    )
    allow_beyond_target_ous: bool = Field(
        False, description="Accept a grant that lets the sync account reset users outside the target OUs (an "
                           "Express install grants the rights at the domain head): such users are not synced, "
                           "and whoever takes the Entra Connect server can reset them")


class PasswordAge(Strict):
    """The minimum password age: above 0, AD refuses a reset written back within that time."""

    minimum_days: Annotated[int, Field(ge=0, le=998)] = Field(0, description="Highest allowed minimum age")
    include_fine_grained: bool = Field(True, description="Also check fine-grained password policies")


class DirectoryUsers(Strict):
    """Which in-scope (synced, enabled) users are acceptable."""

    allow_temporary_password: bool = Field(
        False, description="Allow users whose pwdLastSet is 0 (must change at next logon): not synced, cannot reset"
    )
    allow_privileged: bool = Field(
        False, description="Allow on-premises admins (adminCount=1 or a protected group) in the synced OUs"
    )


class Lockout(Strict):
    """On-premises account lockout against Entra smart lockout: lockout status is not synced, so AD must not
    lock an account out before Entra's smart lockout does (Microsoft: howto-password-smart-lockout)."""

    compare_with_smart_lockout: bool = Field(
        True, description="Judge AD's lockout threshold and lockout duration (domain, winning GPO, PSOs) against the "
                          "tenant's smart lockout threshold and duration")
    threshold_multiple: Annotated[int, Field(ge=1, le=10)] = Field(
        2, description="AD's lockout threshold must be at least this many times Entra's (Microsoft: two or three "
                       "times); 0 on-premises (never locked out) passes")


def _no_control_characters(value: str) -> str:
    # a raw NUL ends the string on the DC (Samba matches `svc\0sync` as `svc`): never send one
    if _CONTROL.search(value):
        raise ValueError("holds a control character (NUL, newline, escape…); write \\00 for a NUL in a DN")
    return value


def _check_dn(value: str) -> str:
    _no_control_characters(value)
    parts = re.split(r"(?<!\\),", value)
    if not parts or not all(_DN_COMPONENT.match(p) for p in parts):
        raise ValueError(f"not a distinguished name: {value!r} (expected e.g. OU=Staff,DC=corp,DC=example)")
    return value


DistinguishedName = Annotated[str, Field(min_length=4, max_length=2048), AfterValidator(_check_dn)]
AccountName = Annotated[str, Field(min_length=1, max_length=256), AfterValidator(_no_control_characters)]


class Delegates(Strict):
    """Who besides the sync account and the domain's own admins (SYSTEM, Administrators, Domain Admins, Enterprise
    Admins and their members) may reset the password of, or write pwdLastSet/lockoutTime on, an in-scope user.

    Each entry is a sAMAccountName or a SID; naming a group accepts every account the power reaches through it.
    """

    accepted: list[AccountName] = Field(default_factory=list, description="Accepted delegates over in-scope users "
                                        "(e.g. a helpdesk group); the sync account is always accepted")
    tier0: list[AccountName] = Field(default_factory=list, description="Delegates accepted to hold these rights "
                                     "over protected (adminCount=1, tier-0) accounts too; the sync account's own "
                                     "reach is accepted by rights.admin_sd_holder")


class Directory(Strict):
    """The on-premises AD domain writeback writes to: the sync account, the synced OUs, what they need."""

    service_account: AccountName = Field(
        description="sAMAccountName of the sync service account (e.g. MSOL_0123abcd) or its DN"
    )
    target_ous: Annotated[list[DistinguishedName], Field(min_length=1)] = Field(
        description="The synced OUs (or the domain root) whose users can reset"
    )
    rights: DirectoryRights = Field(default_factory=DirectoryRights)
    sync_engine: Literal["connect", "cloud_sync"] = Field(
        "connect", description="What writes passwords back through `service_account`: Entra Connect (its AD DS "
                               "connector account) or Cloud Sync (its gMSA, provAgentgMSA$). cloud_sync judges "
                               "Cloud Sync's writeback rights: Reset Password, write lockoutTime and pwdLastSet on "
                               "user objects and Unexpire Password on the domain head, not Change Password")
    password_age: PasswordAge = Field(default_factory=PasswordAge)
    contact_attributes: list[Literal["mobile", "telephoneNumber"]] = Field(
        default_factory=list, description="AD phone attributes every in-scope user must have in `+CC NUMBER` form")
    users: DirectoryUsers = Field(default_factory=DirectoryUsers)
    lockout: Lockout = Field(default_factory=Lockout)
    delegates: Delegates = Field(default_factory=Delegates)

    @field_validator("target_ous")
    @classmethod
    def _each_ou_once(cls, value: list[str]) -> list[str]:
        from auditor.ad.dn import dn_key

        seen: dict[str, int] = {}
        for index, dn in enumerate(value):
            key = dn_key(dn)
            if key in seen:
                raise ValueError(f"item {index + 1} ({dn}) is item {seen[key] + 1} again (DNs compare without "
                                 "case or spacing): list each OU once")
            seen[key] = index
        return value


class ScopeGroupMembers(Strict):
    """Who the SSPR scope group should hold (checked when `sspr.scope` is `selected`)."""

    intended: Literal["any", "all_members", "synced_members"] = Field(
        "any",
        description="Users who must be in the group: any (no rule beyond the group existing and holding at least "
                    "`min_members` users), all_members (every enabled member account), synced_members (every "
                    "enabled account synced from on-premises AD)",
    )
    min_members: Annotated[int, Field(ge=0, description="Fewest enabled users the group may hold")] = 1
    allow_guests: bool = Field(False, description="Guests in the group are allowed (SSPR does not serve them)")


class Coverage(Strict):
    """Who can actually reset: registration, licences, the scope group, Secure Score, SSPR activity."""

    registration_min_percent: Annotated[float, Field(ge=0, le=100)] = Field(
        90, description="Lowest share of in-scope users who must be registered for SSPR"
    )
    require_license: bool = Field(True, description="Every in-scope user must hold one of `license_service_plans`")
    license_service_plans: Annotated[list[Annotated[str, Field(pattern=GUID_PATTERN)]], Field(min_length=1)] = Field(
        default_factory=lambda: [AAD_PREMIUM_PLAN, AAD_PREMIUM_P2_PLAN],
        description="Service plan ids that count as Entra ID P1 or better (default: AAD_PREMIUM, AAD_PREMIUM_P2)",
    )
    scope_group: ScopeGroupMembers = Field(default_factory=ScopeGroupMembers)
    secure_score_min_percent: Annotated[float, Field(ge=0, le=100)] = Field(
        100, description=f"Lowest score of the Secure Score control {SSPR_CONTROL}, in percent of its maximum"
    )
    activity_window_days: Annotated[int, Field(ge=1, le=30)] = Field(
        30, description="Days of SSPR audit events to summarise (Entra keeps 30 days with P1)"
    )


class PasswordProtection(Strict):
    """Microsoft Entra Password Protection and smart lockout (the Password Rule Settings directory setting)."""

    on_premises: Literal["enforce", "audit", "off"] = Field(
        "enforce", description="Banned-password check on Windows Server AD domain controllers, and its mode"
    )
    custom_banned_list: bool | None = Field(
        None, description="Enforce the custom banned password list (None = not checked); true also asks for at "
                          "least one word in it (an empty list bans nothing beyond Microsoft's global list)"
    )
    agent_on_every_dc: bool = Field(
        True, description="Every domain controller runs the Password Protection DC agent whenever the policy or "
                          "the tenant turns on-premises password protection on (a DC without it validates nothing, "
                          "written-back resets included)")
    agent_heartbeat_max_hours: Annotated[int, Field(ge=2, le=8760)] = Field(
        24, description="A DC agent's service connection point counts as a running agent only while its "
                        "HeartbeatUTC is at most this many hours older than the snapshot (Microsoft: the agent "
                        "updates it about hourly; a stale one may mean the agent was stopped or uninstalled, and "
                        "the SCP outlives an uninstall); older or unreadable = unknown")
    lockout_threshold_at_most: Annotated[int, Field(ge=1, le=50)] = Field(
        10, description="Highest allowed smart lockout threshold (failed sign-ins before lockout)"
    )
    lockout_duration_seconds_at_least: Annotated[int, Field(ge=5, le=18000)] = Field(
        60, description="Shortest allowed smart lockout duration, in seconds"
    )


class Client(Strict):
    """Windows devices: the reset link on the sign-in screen."""

    sign_in_reset: bool = Field(
        True, description="Windows shows 'Reset password' at sign-in (AllowPasswordReset by GPO, or the Intune "
                          "OMA-URI AllowAadPasswordReset)",
    )


class Waiver(Strict):
    """An accepted exception: a failing check (optionally one target) waived until a date."""

    check: Annotated[str, Field(pattern=r"^[a-z_][a-z0-9_]*(\.[a-z_][a-z0-9_]*)*$", description="The check id waived")]
    target: str | None = Field(None, description="The one target waived (a user, an OU); omitted = all")
    reason: Annotated[str, Field(min_length=3, description="Why the failure is accepted")]
    owner: Annotated[str, Field(min_length=1, description="Who answers for it")]
    ticket: str | None = Field(None, description="A change or risk ticket")
    expires: date = Field(description="The day the waiver stops applying")


class Tenant(Strict):
    """Which tenant this policy is for."""

    name: str | None = Field(None, description="A label for reports; never a secret")
    tenant_id: Annotated[str | None, Field(
        pattern=GUID_PATTERN,
        description="The directory (tenant) id, a label for reports: `--tenant-id` says where to read")] = None


class PortalSource(Strict):
    """The portal snapshot an admin collected (`collect --portal-only`), for app-only pipelines."""

    max_age_days: int = Field(7, ge=1, le=90, description="How old a portal snapshot (--portal-snapshot) may be")


class Sources(Strict):
    """Where the checks may take their input from when a source cannot be read live."""

    portal: PortalSource = Field(default_factory=PortalSource)


class Policy(Strict):
    """The whole desired state. Sections left out are not checked (`not_applicable`)."""

    model_config = ConfigDict(
        extra="forbid", frozen=True, title="sspr-auditor policy", populate_by_name=True
    )

    version: Literal[1] = Field(1, description="The policy format version")
    extends: str | None = Field(None, description="A policy file (relative to this one) whose settings this file "
                                                  "starts from: mappings are merged key by key, anything else "
                                                  "(a list, a value) is replaced. `validate --show` prints the result.")
    tenant: Tenant = Field(default_factory=Tenant)
    sspr: Sspr | None = None
    admin_sspr: AdminSspr | None = None
    methods_policy: MethodsPolicy | None = None
    writeback: Writeback | None = None
    directory: Directory | None = None
    coverage: Coverage | None = None
    password_protection: PasswordProtection | None = None
    client: Client | None = None
    sources: Sources = Field(default_factory=Sources)
    waivers: list[Waiver] = Field(default_factory=list, description="Accepted exceptions to failing checks")

    _source: PolicySource | None = PrivateAttr(default=None)

    @property
    def source_file(self) -> str | None:
        return self._source.file if self._source is not None else None

    def value_at(self, key: str) -> Any:
        """The value of a dotted policy key (`sspr.registration.reconfirm_days`); None along an absent section.

        KeyError for a key the policy model does not have (a misspelt key is a bug, never a silent None)."""
        if not policy_key_exists(key):
            raise KeyError(f"{key!r} is not a key of the policy model")
        value: Any = self
        for part in key.split("."):
            value = getattr(value, part, None) if value is not None else None
        return value

    @property
    def source_sha256(self) -> str | None:
        return self._source.sha256 if self._source is not None else None

    def location(self, key: str) -> Location | None:
        """Where `key` (a dotted path like `sspr.methods_required`) was declared. A key left out of a section that
        is declared holds its default: the location keeps the key's own path and says `defaulted`, at the line of
        the nearest key above it that is written."""
        if self._source is None:
            return None
        parts = key.split(".")
        while parts:
            found = self._source.positions.get(".".join(parts))
            if found is not None:
                written = ".".join(parts)
                defaulted = written != key and policy_key_exists(key) and self.value_at(key) is not None
                return Location(file=self._source.file_of(written), line=found[0], column=found[1],
                                key=key if defaulted else written, defaulted=defaulted)
            parts.pop()
        return Location(file=self._source.file, line=1, column=1, key="")


@cache
def policy_key_exists(key: str) -> bool:
    """Whether dotted `key` names a field of the policy model (by the model's schema, not a policy's values)."""
    model: Any = Policy
    for part in key.split("."):
        fields = getattr(model, "model_fields", None)
        if not isinstance(fields, dict) or part not in fields:
            return False
        model = _model_of(fields[part].annotation)
    return True


def _model_of(annotation: Any) -> Any:
    """The pydantic model inside `annotation` (`Sspr | None`, `Annotated[Registration, ...]`), else None."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in get_args(annotation):
        found = _model_of(arg)
        if found is not None:
            return found
    return None
