"""What Graph must send for a verdict: the wire models of the rows and objects the checks read.

Every field a verdict depends on is required, strictly typed (a `"true"` is not a boolean, a number is not a
string) and nullable only where Microsoft Graph v1.0 documents null. A row that is missing such a field, holds
null where Graph does not send it, or holds another type makes its whole section unreadable, with the field,
the problem and how many rows (`WireError`): the checks that need the section say `unknown`, never a default.
Fields that only label the evidence (a display name) are optional. The `$select` of each collection is taken
from its model (`select`), so the reader asks for exactly what is validated.

The per-user collections are `TypedDict`s: validating 100,000 users with their service plans as pydantic models
takes some 1.5 s, as typed dicts some 0.3 s (pydantic-core, strict mode), next to 0.55 s to parse the JSON.

Sources (Microsoft Graph v1.0 resource pages):
* user, https://learn.microsoft.com/graph/api/resources/user: `accountEnabled` (Boolean, "Returned only on
  $select"), `userType` ("Member" or "Guest", returned only on $select), `onPremisesSyncEnabled` ("true if this
  user object is currently being synced ...; false if ... no longer synced; null if this object has never been
  synced", returned only on $select), `onPremisesDistinguishedName` ("populated only for customers who are
  synchronizing ... via Microsoft Entra Connect": null otherwise), `assignedPlans` (assignedPlan collection,
  "Not nullable", returned only on $select);
* assignedPlan, https://learn.microsoft.com/graph/api/resources/assignedplan: `servicePlanId` (Guid),
  `capabilityStatus` (String: Enabled, Warning, Suspended, Deleted, LockedOut);
* userRegistrationDetails, https://learn.microsoft.com/graph/api/resources/userregistrationdetails: `isAdmin`,
  `isSsprEnabled`, `isSsprRegistered`, `isSsprCapable` (Boolean), `methodsRegistered` (String collection),
  `userType` (signInUserType: member, guest);
* directoryObject members of `transitiveMembers` carry their `@odata.type`
  (https://learn.microsoft.com/graph/api/group-list-transitivemembers: "a collection of directoryObject");
* authenticationMethodsPolicy and its configurations (see `ConfigurationWire` and the models after it);
* authorizationPolicy, https://learn.microsoft.com/graph/api/resources/authorizationpolicy: `allowedToUseSSPR`
  (Boolean, "Indicates whether users can use the Self-Serve Password Reset feature on the tenant").
"""

# no `from __future__ import annotations`: TypedDict reads NotRequired[...] from evaluated annotations
from collections import Counter
from typing import Any, Generic, Literal, NotRequired, TypeVar

from pydantic import BaseModel, ConfigDict, TypeAdapter, ValidationError, with_config
from typing_extensions import TypedDict

# Graph adds properties over time: unknown ones are ignored, never kept. A TypedDict takes it by `with_config`
# (pydantic 2.7+), which type checkers accept where a `__pydantic_config__` key is not a TypedDict field
# (https://docs.pydantic.dev/latest/api/config/#pydantic.config.with_config)
STRICT = ConfigDict(strict=True)


@with_config(STRICT)
class AssignedPlanWire(TypedDict):
    servicePlanId: str
    capabilityStatus: str


@with_config(STRICT)
class UserWire(TypedDict):
    """GET /users?$select=... : one user row."""

    id: str
    userPrincipalName: NotRequired[str | None]  # evidence only
    displayName: NotRequired[str | None]  # evidence only
    accountEnabled: bool
    userType: str
    onPremisesSyncEnabled: bool | None  # null: never synced
    onPremisesDistinguishedName: str | None  # null: not synced by Entra Connect
    assignedPlans: list[AssignedPlanWire]


@with_config(STRICT)
class RegistrationWire(TypedDict):
    """GET /reports/authenticationMethods/userRegistrationDetails: one user's registration."""

    id: str
    userPrincipalName: NotRequired[str | None]  # evidence only
    isSsprEnabled: bool
    isSsprRegistered: bool
    isSsprCapable: bool
    isAdmin: bool
    userType: str
    methodsRegistered: list[str]
    isMfaCapable: NotRequired[bool]  # who a Conditional Access MFA grant would block from registering


MemberWire = TypedDict("MemberWire", {"@odata.type": str, "id": str}, total=True)
"""GET /groups/{id}/transitiveMembers?$select=id: one member (a user, group, device, contact, ...)."""
with_config(STRICT)(MemberWire)  # a TypedDict with a key that is no name is made by a call


class _Object(BaseModel):
    model_config = ConfigDict(strict=True, extra="ignore", frozen=True)


class TargetWire(_Object):
    """An authenticationMethodTarget: `id` is a group's object id, a user's, or `all_users`; `targetType` user or
    group (https://learn.microsoft.com/graph/api/resources/authenticationmethodtarget). A target without
    `targetType` is read as not known (readers.graph._target_types), so the field is typed but not required."""

    id: str
    targetType: str | None = None


class AuthenticatorTargetWire(TargetWire):
    """A microsoftAuthenticatorAuthenticationMethodTarget: `authenticationMode` any, deviceBasedPush (passwordless
    only: no push for SSPR) or push (https://learn.microsoft.com/graph/api/resources/
    microsoftauthenticatorauthenticationmethodtarget)."""

    authenticationMode: str


class ConfigurationWire(_Object):
    """An authenticationMethodConfiguration (https://learn.microsoft.com/graph/api/resources/
    authenticationmethodconfiguration): `state` enabled or disabled; every derived type the tool reads has
    `includeTargets`. `excludeTargets` is left out of Microsoft's own example of the policy
    (authenticationmethodspolicy-get, tests/fixtures/real/graph), so it is read where sent, not required."""

    id: str
    state: Literal["enabled", "disabled"]
    includeTargets: list[TargetWire]


class AuthenticatorConfigurationWire(ConfigurationWire):
    """The MicrosoftAuthenticator configuration: its targets carry `authenticationMode`. `isSoftwareOathEnabled`
    (the app's code, https://learn.microsoft.com/graph/api/resources/
    microsoftauthenticatorauthenticationmethodconfiguration) is typed but not required: absent, the methods rule
    says the app's code is unknown (derive.sspr_methods)."""

    # the app's targets carry more: pydantic validates this annotation, and list invariance makes mypy call the
    # narrower item type an incompatible override
    includeTargets: list[AuthenticatorTargetWire]  # type: ignore[assignment]
    isSoftwareOathEnabled: bool | None = None


class VoiceConfigurationWire(ConfigurationWire):
    """The Voice configuration: `isOfficePhoneAllowed` (Boolean) decides whether office phone is offered
    (https://learn.microsoft.com/graph/api/resources/voiceauthenticationmethodconfiguration)."""

    isOfficePhoneAllowed: bool


class TemporaryAccessPassConfigurationWire(ConfigurationWire):
    """The TemporaryAccessPass configuration (https://learn.microsoft.com/graph/api/resources/
    temporaryaccesspassauthenticationmethodconfiguration): its settings are evidence, typed but not required (the
    registration.temporary_access_pass verdict reads `state` and the targets)."""

    isUsableOnce: bool | None = None
    defaultLifetimeInMinutes: int | None = None
    minimumLifetimeInMinutes: int | None = None
    maximumLifetimeInMinutes: int | None = None
    defaultLength: int | None = None


CONFIGURATION_WIRES: dict[str, type[ConfigurationWire]] = {
    "microsoftauthenticator": AuthenticatorConfigurationWire, "voice": VoiceConfigurationWire,
    "temporaryaccesspass": TemporaryAccessPassConfigurationWire}
"""Configuration id (lower case) -> its wire model; any other id is a `ConfigurationWire`."""


class MethodsPolicyWire(_Object):
    """GET /policies/authenticationMethodsPolicy: the configurations (each validated by its own model too)."""

    authenticationMethodConfigurations: list[ConfigurationWire]


def methods_policy(body: Any) -> None:
    """Validate the methods policy and each configuration against its own model; `WireError` naming the fields."""
    one(MethodsPolicyWire, body, "authentication methods policies")
    problems: Counter[tuple[str, str]] = Counter()
    for config in body["authenticationMethodConfigurations"]:
        wire = CONFIGURATION_WIRES.get(str(config.get("id")).lower())
        if wire is None:
            continue
        try:
            wire.model_validate(config)
        except ValidationError as exc:
            problems.update(_problem({**error, "loc": ("authenticationMethodConfigurations", 0, *error["loc"])})
                            for error in exc.errors(include_url=False, include_context=False))
    if problems:
        raise WireError("authentication methods policies", 1, problems)


class AuthorizationPolicyWire(BaseModel):
    """GET /policies/authorizationPolicy (the fields read)."""

    model_config = ConfigDict(strict=True, extra="ignore", frozen=True)
    allowedToUseSSPR: bool


# --- licences, Secure Score, the audit log, Password Rule Settings, Intune (issue #30, second part) ---------------


@with_config(STRICT)
class LicenseUnitsWire(TypedDict):
    """licenseUnitsDetail (https://learn.microsoft.com/graph/api/resources/licenseunitsdetail): `enabled` (Int32),
    "The number of units that are enabled for the active subscription"."""

    enabled: int


@with_config(STRICT)
class ServicePlanInfoWire(TypedDict):
    servicePlanId: str


@with_config(STRICT)
class SubscribedSkuWire(TypedDict):
    """GET /subscribedSkus: one subscription (https://learn.microsoft.com/graph/api/resources/subscribedsku):
    `capabilityStatus` (Enabled, Warning, Suspended, Deleted, LockedOut), `consumedUnits` (Int32, "The number of
    licenses that have been assigned"), `prepaidUnits` (licenseUnitsDetail), `servicePlans` (servicePlanInfo
    collection). A missing count was read as 0 seats: now the section is unreadable naming it."""

    skuId: str
    skuPartNumber: NotRequired[str | None]  # evidence only
    capabilityStatus: str
    prepaidUnits: LicenseUnitsWire
    consumedUnits: int
    servicePlans: list[ServicePlanInfoWire]


@with_config(STRICT)
class ControlScoreWire(TypedDict):
    """controlScore (https://learn.microsoft.com/graph/api/resources/controlscore): `controlName` (String),
    `score` (Double). `scoreInPercentage`, `count`, `total` and `implementationStatus` are not on the documented
    resource (an open type: real tenants send them): typed as sent where present, read leniently."""

    controlName: str
    score: float
    scoreInPercentage: NotRequired[Any]
    count: NotRequired[Any]
    total: NotRequired[Any]
    implementationStatus: NotRequired[Any]


@with_config(STRICT)
class SecureScoreWire(TypedDict):
    """GET /security/secureScores: one day (https://learn.microsoft.com/graph/api/resources/securescore):
    `createdDateTime` (DateTimeOffset), `currentScore`, `maxScore` (Double), `controlScores`."""

    createdDateTime: str
    currentScore: NotRequired[float | None]  # the tenant's total: evidence only
    maxScore: NotRequired[float | None]
    controlScores: list[ControlScoreWire]


@with_config(STRICT)
class SecureScoreProfileWire(TypedDict):
    """GET /security/secureScoreControlProfiles (https://learn.microsoft.com/graph/api/resources/
    securescorecontrolprofile): `id`, `maxScore` (Double), `deprecated` (Boolean), `title`."""

    id: str
    maxScore: float
    deprecated: NotRequired[bool | None]
    title: NotRequired[str | None]


@with_config(STRICT)
class DirectoryAuditWire(TypedDict):
    """GET /auditLogs/directoryAudits: one event (https://learn.microsoft.com/graph/api/resources/directoryaudit):
    `activityDateTime` (DateTimeOffset), `activityDisplayName`, `category`, `result` (success, failure, timeout,
    unknownFutureValue): each decides which figure the event counts in; `resultReason` (String) tells a failed
    writeback from another failure (graph_fields.writeback_failure). `initiatedBy` and `targetResources` name
    who (Microsoft's own example spells a target's type `Type`, so they are read leniently)."""

    id: str
    activityDateTime: str
    activityDisplayName: str
    category: str
    result: str
    resultReason: str | None
    initiatedBy: NotRequired[Any]
    targetResources: NotRequired[Any]


@with_config(STRICT)
class SettingValueWire(TypedDict):
    """settingValue (https://learn.microsoft.com/graph/api/resources/settingvalue): `name`, `value` (String)."""

    name: str
    value: str | None


@with_config(STRICT)
class GroupSettingWire(TypedDict):
    """GET /groupSettings: one setting object (https://learn.microsoft.com/graph/api/resources/groupsetting):
    `templateId` says which template it instantiates (Password Rule Settings is 5cf42378-...): a row without it
    was read as "no Password Rule Settings", i.e. Microsoft's defaults."""

    id: str
    displayName: NotRequired[str | None]
    templateId: str
    values: list[SettingValueWire]


@with_config(STRICT)
class OmaSettingWire(TypedDict):
    """omaSetting (https://learn.microsoft.com/graph/api/resources/intune-deviceconfig-omasetting): `omaUri`, and
    the derived type's `value` (omaSettingInteger: Int32; omaSettingString: String; ...)."""

    omaUri: str
    value: NotRequired[Any]


DeviceConfigurationWire = TypedDict("DeviceConfigurationWire", {
    "@odata.type": str, "id": str, "displayName": NotRequired[str | None],
    "omaSettings": NotRequired[list[OmaSettingWire]]}, total=True)
"""GET /deviceManagement/deviceConfigurations: one profile (https://learn.microsoft.com/graph/api/resources/
intune-deviceconfig-deviceconfiguration, abstract): `@odata.type` names the derived type; a
windows10CustomConfiguration carries `omaSettings` (https://learn.microsoft.com/graph/api/resources/
intune-deviceconfig-windows10customconfiguration), checked by `device_configurations`."""
with_config(STRICT)(DeviceConfigurationWire)  # a TypedDict with a key that is no name is made by a call
CUSTOM_CONFIGURATION = "#microsoft.graph.windows10customconfiguration"

AssignmentTargetWire = TypedDict("AssignmentTargetWire", {
    "@odata.type": str, "groupId": NotRequired[str | None]}, total=True)
"""deviceAndAppManagementAssignmentTarget (https://learn.microsoft.com/graph/api/resources/
intune-shared-deviceandappmanagementassignmenttarget, abstract): `@odata.type` says whom the profile goes to:
allDevicesAssignmentTarget, allLicensedUsersAssignmentTarget, groupAssignmentTarget and
exclusionGroupAssignmentTarget (with `groupId`, https://learn.microsoft.com/graph/api/resources/
intune-shared-groupassignmenttarget), configurationManagerCollectionAssignmentTarget."""
with_config(STRICT)(AssignmentTargetWire)  # a TypedDict with a key that is no name is made by a call


@with_config(STRICT)
class DeviceConfigurationAssignmentWire(TypedDict):
    """GET /deviceManagement/deviceConfigurations/{id}/assignments: one assignment (https://learn.microsoft.com/
    graph/api/resources/intune-deviceconfig-deviceconfigurationassignment): `id`, `target`. A profile without
    any is assigned to nobody: without `target` an assignment was not read, never "all devices"."""

    id: str
    target: AssignmentTargetWire


def device_configuration_problems(rows: list[Any]) -> Counter[tuple[str, str]]:
    """A Windows 10 custom profile (the only type with OMA-URI settings) without its `omaSettings` list: read as
    "no setting", it would hide the profile that turns the reset link on or off."""
    return Counter(("omaSettings", "absent") for row in rows
                   if str(row.get("@odata.type", "")).lower() == CUSTOM_CONFIGURATION and "omaSettings" not in row)


def select(wire: type[Any]) -> list[str]:
    """The `$select` for a wire model: every field it names (`@odata.type` comes with every directoryObject)."""
    names = wire.model_fields if isinstance(wire, type) and issubclass(wire, BaseModel) else wire.__annotations__
    return [name for name in names if not name.startswith(("@", "__"))]


def required_fields(wire: type[Any]) -> list[str]:
    """The fields a verdict depends on, as paths into one row (`assignedPlans[*].servicePlanId`): those the model
    requires, nested ones included (from its JSON schema). The generated test deletes and retypes each one."""
    schema = TypeAdapter(wire).json_schema()
    defs = schema.get("$defs", {})

    def resolve(node: dict[str, Any]) -> dict[str, Any]:
        return defs[node["$ref"].rsplit("/", 1)[-1]] if "$ref" in node else node

    def walk(node: dict[str, Any], prefix: str) -> list[str]:
        node = resolve(node)
        if node.get("type") == "array":
            return walk(node.get("items", {}), prefix + "[*]")
        found: list[str] = []
        if node.get("type") == "object":
            for key in node.get("required", []):
                path = f"{prefix}.{key}" if prefix else key
                found += [path, *walk(node["properties"][key], path)]
        return found

    return walk(schema, "")


# --- validation: every problem counted, per field, over the whole collection -----------------------------------

W = TypeVar("W")
_EXPECTED = {"bool_type": "a boolean", "string_type": "a string", "int_type": "an integer", "list_type": "a list",
             "dict_type": "an object", "model_type": "an object", "float_type": "a number"}


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    return "an object" if isinstance(value, dict) else type(value).__name__


def _problem(error: Any) -> tuple[str, str]:
    """(field path with `[*]` for list positions, what is wrong) of one pydantic error of a row."""
    field = ""
    for step in error["loc"]:
        field += "[*]" if isinstance(step, int) else (f".{step}" if field else str(step))
    if error["type"] == "missing":
        return field, "absent"
    found = error.get("input")
    expected = _EXPECTED.get(error["type"], error["msg"].lower())
    if found is None:
        return field, f"null where {expected} is required"
    return field, f"{_json_type(found)} where {expected} is required"


class WireError(ValueError):
    """Rows that do not hold what the checks need: each field and problem with how many rows had it."""

    def __init__(self, noun: str, rows: int, problems: Counter[tuple[str, str]]) -> None:
        self.noun, self.rows, self.problems = noun, rows, problems
        parts = [f"`{field or '(the row)'}` {what} in {count} of {rows} {noun}"
                 for (field, what), count in sorted(problems.items(), key=lambda item: (-item[1], item[0]))]
        super().__init__("; ".join(parts[:5]) + (f"; and {len(parts) - 5} other problem(s)" if len(parts) > 5 else ""))


class Rows(Generic[W]):
    """Validates the pages of one collection against its wire model, counting every row's problems."""

    def __init__(self, wire: type[W], noun: str) -> None:
        # `list[wire]` is made at run time from the class given; mypy reads a subscript as a type expression
        self._adapter: TypeAdapter[list[W]] = TypeAdapter(list[wire])  # type: ignore[valid-type]
        self.noun = noun
        self.rows = 0
        self.problems: Counter[tuple[str, str]] = Counter()

    def page(self, items: list[Any]) -> list[W]:
        """The page's rows, validated; once any row of the collection is wrong, no more rows (`check` raises)."""
        self.rows += len(items)
        try:
            rows = self._adapter.validate_python(items)
        except ValidationError as exc:
            per_row: dict[int, set[tuple[str, str]]] = {}
            for error in exc.errors(include_url=False, include_context=False):
                index, *rest = error["loc"]
                per_row.setdefault(int(index), set()).add(_problem({**error, "loc": tuple(rest)}))
            for found in per_row.values():
                self.problems.update(found)
            return []
        return [] if self.problems else rows

    def check(self) -> None:
        """Raise `WireError` if any row read so far did not match the model."""
        if self.problems:
            raise WireError(self.noun, self.rows, self.problems)


def one(wire: type[BaseModel], body: Any, noun: str) -> Any:
    """One object validated against its wire model; `WireError` naming each field that is wrong."""
    try:
        return wire.model_validate(body)
    except ValidationError as exc:
        problems: Counter[tuple[str, str]] = Counter(
            _problem(error) for error in exc.errors(include_url=False, include_context=False))
        raise WireError(noun, 1, problems) from None


@with_config(STRICT)
class DomainWire(TypedDict):
    """GET /domains: one domain of the tenant (https://learn.microsoft.com/graph/api/resources/domain):
    `authenticationType` ("Managed": Entra ID authenticates, with password hash sync or pass-through; "Federated":
    an external provider such as AD FS does), `isVerified` (ownership verified). Whether the lockout seam matters
    for a domain's users rests on it, so both are required."""

    id: str
    authenticationType: str
    isVerified: bool
    isDefault: NotRequired[bool | None]  # evidence only
