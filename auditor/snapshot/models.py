"""The live state, as one serialisable record.

Each section is either a value or an error with its reason, with where it came from and when.
Checks see only these models: Graph and portal field names stay inside the readers.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Final, Generic, Literal, TypeVar

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from auditor.snapshot.conditional_access import ConditionalAccessState
from auditor.snapshot.devices import DevicesState
from auditor.snapshot.directory import DirectoryDiscovery, DirectoryState, SysvolState
from auditor.snapshot.tenant import (
    CloudUsersState,
    DomainsState,
    GpoSignInResetState,
    IntuneSignInResetState,
    PasswordRulesState,
    RegistrationState,
    ScopeGroupsState,
    SecureScoreState,
    SsprActivityState,
    SubscribedSkusState,
)

T = TypeVar("T", bound=BaseModel)

SNAPSHOT_FORMAT: Final = "sspr-auditor-snapshot"


def utc_now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


class Section(BaseModel, Generic[T]):
    """One reader's result: `value` when read, `error` (the reason) when not."""

    model_config = ConfigDict(frozen=True)

    source: str = Field(description="Where it was read, e.g. `graph:GET /policies/authorizationPolicy`")
    collected_at: AwareDatetime = Field(default_factory=utc_now)
    value: T | None = None
    error: str | None = None

    @classmethod
    def ok(cls, source: str, value: T) -> Section[T]:
        return cls(source=source, value=value)

    @classmethod
    def failed(cls, source: str, error: str) -> Section[T]:
        return cls(source=source, error=error)

    @property
    def readable(self) -> bool:
        return self.value is not None and self.error is None


class Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class AuthorizationPolicyState(Model):
    allowed_to_use_sspr: bool | None = Field(description="authorizationPolicy.allowedToUseSSPR")


class TapSettings(Model):
    """temporaryAccessPassAuthenticationMethodConfiguration (learn.microsoft.com/graph/api/resources/
    temporaryaccesspassauthenticationmethodconfiguration): evidence only; None where not sent."""

    is_usable_once: bool | None = Field(None, description="isUsableOnce: every pass is one-time")
    default_lifetime_minutes: int | None = Field(None, description="defaultLifetimeInMinutes")
    minimum_lifetime_minutes: int | None = Field(None, description="minimumLifetimeInMinutes")
    maximum_lifetime_minutes: int | None = Field(None, description="maximumLifetimeInMinutes")
    default_length: int | None = Field(None, description="defaultLength")


class MethodConfiguration(Model):
    id: str = Field(description="e.g. Email, Sms, Voice, MicrosoftAuthenticator, SoftwareOath")
    state: Literal["enabled", "disabled"] | None
    include_target_ids: list[str] = Field(
        default_factory=list, description="includeTargets[].id: group ids, or `all_users`; empty = nobody")
    exclude_target_ids: list[str] = Field(default_factory=list, description="excludeTargets[].id: group ids")
    is_office_phone_allowed: bool | None = None
    is_software_oath_enabled: bool | None = Field(
        default=None, description="MicrosoftAuthenticator's isSoftwareOathEnabled (the app's OTP code); None: not "
                                  "returned")
    target_types: dict[str, str] = Field(
        default_factory=dict, description="lower-case target id → its targetType (`group` or `user`); an id not "
                                          "listed is a group (snapshots written before targetType was read)")
    temporary_access_pass: TapSettings | None = Field(
        default=None, description="The TemporaryAccessPass configuration's settings (None for other methods)")
    passwordless_only_target_ids: list[str] = Field(
        default_factory=list, description="Authenticator includeTargets whose authenticationMode is deviceBasedPush "
                                          "(passwordless only): no push notification for them")


class MethodsPolicyState(Model):
    migration_state: str | None = Field(
        description="policyMigrationState; None when Graph returns null (a tenant with no legacy method settings)")
    configurations: list[MethodConfiguration] = Field(default_factory=list)
    reconfirmation_in_days: int | None = Field(
        default=None, description="reconfirmationInDays (v1.0 schema; Microsoft documents no meaning for it): "
                                  "reported beside the portal's interval, never used for a verdict")
    registration_campaign_state: str | None = Field(
        default=None, description="registrationEnforcement.authenticationMethodsRegistrationCampaign.state (default, "
                                  "enabled, disabled); None when the response did not carry it")

    def configuration(self, method_id: str) -> MethodConfiguration | None:
        return next((c for c in self.configurations if c.id.lower() == method_id.lower()), None)


class SyncFeaturesState(Model):
    """From /directory/onPremisesSynchronization: informational, not the writeback truth."""

    password_writeback_enabled: bool | None = None
    password_sync_enabled: bool | None = None
    tenant_id: str | None = Field(None, description="The object's `id`: Microsoft documents it as the tenant id "
                                                    "(learn.microsoft.com/graph/api/resources/"
                                                    "onpremisesdirectorysynchronization)")


class SecurityQuestionItem(Model):
    """One of the portal's chosen security questions (`securityQuestions` items)."""

    id: str | None = None
    text: str
    custom: bool = Field(description="isCustom: written by the tenant's admins rather than one of Microsoft's "
                                     "predefined questions")


class SsprPolicyState(Model):
    """The portal's PasswordResetPolicies object, with readable names."""

    enablement: Literal["none", "selected", "all"]
    group_ids: list[str] = Field(default_factory=list)
    group_name: str | None = None
    methods_required: int | None = None
    mobile_app_notification: bool | None = None
    mobile_app_code: bool | None = None
    email: bool | None = None
    mobile_phone: bool | None = None
    office_phone: bool | None = None
    security_questions: bool | None = None
    questions_to_register: int | None = None
    questions_to_reset: int | None = None
    registration_required_on_sign_in: bool | None = None
    reconfirm_days: int | None = None
    notify_users: bool | None = None
    notify_admins: bool | None = None
    customize_helpdesk: bool | None = None
    helpdesk_email_or_url: str | None = None
    not_allowed: list[str] = Field(default_factory=list,
                                   description="Methods whose *OptionAllowed is false: the tenant may not offer them")
    skip_registration_allowed: bool | None = Field(None, description="skipRegistrationAllowed: users may dismiss "
                                                                     "the registration prompt")
    skip_registration_max_days: int | None = Field(None, description="skipRegistrationMaxAllowedDays")
    registration_ca_policies: int | None = Field(None, description="How many registrationConditionalAccessPolicies")
    chosen_questions: list[SecurityQuestionItem] | None = Field(
        None, description="securityQuestions: the questions users choose from; None when absent or its items "
                          "have an unexpected shape (chosen_questions_problem says which)")
    chosen_questions_problem: str | None = None


class OnPremisesWritebackState(Model):
    """The portal's OnPremisesPasswordResetPolicies object."""

    writeback_enabled: bool | None = None
    cloud_sync_writeback_enabled: bool | None = None
    writeback_supported: bool | None = None
    unlock_enabled: bool | None = None
    unlock_supported: bool | None = None


class Snapshot(BaseModel):
    """Everything the checks need, read once. Sections left as None were not collected."""

    model_config = ConfigDict(frozen=True)

    format: Literal["sspr-auditor-snapshot"] = SNAPSHOT_FORMAT
    format_version: Literal[1] = 1
    tool_version: str
    created_at: AwareDatetime = Field(default_factory=utc_now)
    origin: str = Field(description="`lab:<scenario>`, `live:<tenant id>` or `graph:<url>`")
    collected_by: str | None = Field(None, description="Who ran `collect --portal-only` (user@host), for its label")
    tenant_id: str | None = Field(None, description="The tenant read, as Graph reported it (the id of "
                                                    "/directory/onPremisesSynchronization); None when not read")
    digest: str | None = Field(None, description="The file's SHA-256 over all but the seal (auditor.remediation.seal; "
                                                 "auditor.app.snapshot_trust)")
    mac: str | None = Field(None, description="The file's HMAC-SHA256 with SSPR_PLAN_KEY, when that was set")

    authorization_policy: Section[AuthorizationPolicyState] | None = None
    methods_policy: Section[MethodsPolicyState] | None = None
    sync_features: Section[SyncFeaturesState] | None = None
    sspr_policy: Section[SsprPolicyState] | None = None
    onprem_writeback: Section[OnPremisesWritebackState] | None = None
    directory: Section[DirectoryState] | None = None
    directory_discovery: Section[DirectoryDiscovery] | None = Field(
        None, description="Read by `export` before `directory`: the synced OUs and sync account candidates it found")
    sysvol: Section[SysvolState] | None = None
    cloud_users: Section[CloudUsersState] | None = None
    registration_details: Section[RegistrationState] | None = None
    scope_groups: Section[ScopeGroupsState] | None = None
    subscribed_skus: Section[SubscribedSkusState] | None = None
    secure_score: Section[SecureScoreState] | None = None
    sspr_activity: Section[SsprActivityState] | None = None
    password_rules: Section[PasswordRulesState] | None = None
    domains: Section[DomainsState] | None = None
    intune_sign_in_reset: Section[IntuneSignInResetState] | None = None
    gpo_sign_in_reset: Section[GpoSignInResetState] | None = None
    conditional_access: Section[ConditionalAccessState] | None = Field(
        None, description="Conditional Access policies, named locations, and the members of the groups and roles the "
                          "policies on registering security info name")
    devices: Section[DevicesState] | None = Field(
        None, description="The directory's devices (enabled, compliant, hybrid joined) with their registered owners: "
                          "read only when the policy asks registration to require a compliant or hybrid-joined device")
