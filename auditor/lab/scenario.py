"""Lab scenarios: the state of an emulated tenant, in the wire shapes the real APIs use.

A scenario file is YAML in ``auditor/lab/scenarios/NAME.yaml``. Every section except the
metadata holds JSON exactly as Microsoft Graph (camelCase, ``@odata.type``) or the Azure
portal's private API (including its misspelt ``registrationReconfirmIntevalInDays``)
returns it, so the emulator can serve it without translation::

    name: demo                          # optional; defaults to the file name
    description: ...
    tenant_id: <guid>
    tenant_domain: contoso-lab.onmicrosoft.com   # initial domain (guest UPNs)
    authorization_policy: {...}          # GET /policies/authorizationPolicy
    authentication_methods_policy: {...} # GET /policies/authenticationMethodsPolicy, with
                                         # policyMigrationState and the configurations inline
    on_premises_synchronization: [...]   # GET /directory/onPremisesSynchronization (value)
    password_reset_policies: {...}       # portal GET /api/PasswordReset/PasswordResetPolicies
    on_premises_password_reset_policies: {...}  # portal OnPremisesPasswordResetPolicies
    groups: [...]                        # Graph group objects (optional)
    group_members: {group id: [user id, ...]}   # optional
    users: [...]                         # Graph user objects, all properties
    user_registration_details: [...]     # userRegistrationDetails records
    subscribed_skus: [...]               # GET /subscribedSkus (value)
    domains: [...]                       # GET /domains (value; none listed: the initial domain only)
    secure_scores: [...]                 # GET /security/secureScores (value, newest first)
    secure_score_control_profiles: [...] # GET /security/secureScoreControlProfiles (value)
    directory_audits: [...]              # GET /auditLogs/directoryAudits (value)
    group_settings: [...]                # GET /groupSettings (value): Password Rule Settings
    device_configurations: [...]         # GET /deviceManagement/deviceConfigurations (value)
    as_of: 2025-01-06T08:00:00Z          # history is dated before this; served as if it were now
    lab_domain_users: {...}              # users synced from the lab domain, see LabDomainUsers
    generate_users: 20                   # or a mapping, see GenerateUsers
    generate_history: {...}              # audit events and Secure Score, see GenerateHistory

``lab_domain_users`` appends the lab Samba domain's users as synced cloud users;
``generate_users`` appends deterministic users, their registration records and (for a
scope of "selected group") membership of the SSPR group; ``generate_history`` appends SSPR
audit events and daily Secure Scores computed from the users. :meth:`Scenario.materialized`
applies them; :func:`load_scenario` returns materialized scenarios, and
:meth:`Scenario.materialized_with_truth` also returns what each user was generated to be.
"""

from __future__ import annotations

import base64
import random
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from auditor.derive.sspr_methods import REGISTERED_METHOD
from auditor.graph_fields import AAD_PREMIUM_PLAN
from auditor.lab.coverage_data import (
    GenerateHistory,
    History,
    LabDomainUsers,
    Population,
    TruthRow,
    generate_history,
    mirror_population,
    wire_truth,
)
from auditor.lab.shapes import REGISTERED_PROFILES, SPE_E3_SKU, iso

__all__ = [
    "MIGRATION_STATES",
    "GenerateUsers",
    "Scenario",
    "list_scenarios",
    "load_scenario",
    "load_scenario_file",
    "scenario_from_mapping",
]

JsonObject = dict[str, Any]

MIGRATION_STATES = ("preMigration", "migrationInProgress", "migrationComplete")
METHOD_CONFIGURATION_IDS = (
    "Email",
    "Sms",
    "Voice",
    "MicrosoftAuthenticator",
    "SoftwareOath",
    "Fido2",
    "TemporaryAccessPass",
)
# A fixed origin for generated timestamps: scenarios never depend on the wall clock.
_EPOCH = datetime(2025, 1, 6, 8, 0, 0, tzinfo=UTC)
_ID_NAMESPACE = uuid.UUID("5e0c7a52-4a0e-4f55-9d51-2f3f4b8e6c11")


class GenerateUsers(BaseModel):
    """Knobs for the deterministic user generator (same inputs, same tenant)."""

    model_config = ConfigDict(extra="forbid")

    count: int = Field(ge=0, le=1_000_000)
    seed: int = 1
    domain: str = "corp.example.test"
    """UPN suffix of members; synced users also get DNs in this AD domain."""
    ou: str = "OU=Staff"
    """Where synced users live, relative to the domain's DN."""
    synced_share: float = Field(0.6, ge=0, le=1)
    """Share of enabled, non-admin members synced from AD (the rest are cloud-only)."""
    admins: int = Field(1, ge=0)
    guests: int = Field(0, ge=0)
    disabled: int = Field(0, ge=0)
    unregistered: int = Field(0, ge=0)
    """Enabled members with fewer SSPR methods than the policy's number of gates."""
    unlicensed: int = Field(0, ge=0)
    """Enabled members without Entra ID P1 (no AAD_PREMIUM service plan)."""
    sspr_group_members: int | None = None
    """Members added to the SSPR scope group when the scope is a selected group
    (default: half of the enabled members)."""


class Scenario(BaseModel):
    """One emulated tenant. Sections hold wire-shaped JSON (see the module docstring)."""

    model_config = ConfigDict(extra="forbid")

    name: str
    description: str = ""
    tenant_id: str
    tenant_domain: str = "contoso-lab.onmicrosoft.com"
    authorization_policy: JsonObject
    authentication_methods_policy: JsonObject
    on_premises_synchronization: list[JsonObject] = Field(default_factory=list)
    password_reset_policies: JsonObject
    on_premises_password_reset_policies: JsonObject
    groups: list[JsonObject] = Field(default_factory=list)
    group_members: dict[str, list[str]] = Field(default_factory=dict)
    users: list[JsonObject] = Field(default_factory=list)
    user_registration_details: list[JsonObject] = Field(default_factory=list)
    subscribed_skus: list[JsonObject] = Field(default_factory=list)
    secure_scores: list[JsonObject] = Field(default_factory=list)
    secure_score_control_profiles: list[JsonObject] = Field(default_factory=list)
    directory_audits: list[JsonObject] = Field(default_factory=list)
    group_settings: list[JsonObject] = Field(default_factory=list)
    device_configurations: list[JsonObject] = Field(default_factory=list)
    domains: list[JsonObject] = Field(default_factory=list)
    conditional_access_policies: list[JsonObject] = Field(default_factory=list)
    named_locations: list[JsonObject] = Field(default_factory=list)
    directory_roles: list[JsonObject] = Field(default_factory=list)
    directory_role_members: dict[str, list[str]] = Field(default_factory=dict)
    devices: list[JsonObject] = Field(default_factory=list)
    """Device objects as Graph sends them, with the lab-only `registeredOwners`: user ids or principal names."""
    as_of: datetime = _EPOCH
    lab_domain_users: LabDomainUsers | None = None
    generate_users: GenerateUsers | None = None
    generate_history: GenerateHistory | None = None

    @field_validator("generate_users", mode="before")
    @classmethod
    def _count_shorthand(cls, value: object) -> object:
        return {"count": value} if isinstance(value, int) and not isinstance(value, bool) else value

    @model_validator(mode="after")
    def _check_wire_shapes(self) -> Scenario:
        _check_authorization_policy(self.authorization_policy)
        _check_methods_policy(self.authentication_methods_policy)
        _check_portal_policies(self.password_reset_policies, self.on_premises_password_reset_policies)
        _check_unique_ids("users", self.users, required=("id", "userPrincipalName"))
        _check_unique_ids("user_registration_details", self.user_registration_details, required=("id",))
        _check_unique_ids("groups", self.groups, required=("id", "displayName"))
        _check_unique_ids("on_premises_synchronization", self.on_premises_synchronization, ("id",))
        for name in ("subscribed_skus", "secure_score_control_profiles", "directory_audits", "group_settings",
                     "device_configurations", "conditional_access_policies", "named_locations", "directory_roles",
                     "domains", "devices"):
            _check_unique_ids(name, getattr(self, name), required=("id",))
        if self.as_of.tzinfo is None:
            raise ValueError("as_of needs a time zone (e.g. 2025-01-06T08:00:00Z)")
        return self

    def materialized(self) -> Scenario:
        """A deep copy with the generators applied (and cleared); idempotent."""
        return self.materialized_with_truth()[0]

    def materialized_with_truth(self) -> tuple[Scenario, list[TruthRow], History | None]:
        """The materialized scenario, what each user was made to be, and the generated history."""
        state = self.model_copy(deep=True)
        truth = wire_truth(state.users, state.user_registration_details, state.password_reset_policies,
                           state.group_members)
        populations: list[Population] = []
        if state.lab_domain_users is not None:
            spec, state.lab_domain_users = state.lab_domain_users, None
            populations.append(mirror_population(spec, state.tenant_id, state.password_reset_policies, state.as_of,
                                                 registration_record))
        if state.generate_users is not None:
            generated, state.generate_users = state.generate_users, None
            populations.append(_generate_population(generated, state))
        for population in populations:
            state.users.extend(population.users)
            state.user_registration_details.extend(population.registrations)
            for group_id, members in population.group_members.items():
                state.group_members.setdefault(group_id, []).extend(members)
            truth.extend(population.truth)
        history = None
        if state.generate_history is not None:
            wanted, state.generate_history = state.generate_history, None
            history = generate_history(wanted, state.tenant_id, state.as_of, truth)
            state.directory_audits = sorted([*state.directory_audits, *history.audits],
                                            key=lambda a: str(a.get("activityDateTime", "")), reverse=True)
            state.secure_scores = [*history.secure_scores, *state.secure_scores]
            known = {str(p.get("id")).casefold() for p in state.secure_score_control_profiles}
            state.secure_score_control_profiles.extend(
                p for p in history.profiles if str(p["id"]).casefold() not in known)
        return state, truth, history

    def method_configuration(self, config_id: str) -> JsonObject | None:
        """The methods-policy configuration with this id (case-insensitive), if any."""
        wanted = config_id.casefold()
        config: JsonObject
        for config in self.authentication_methods_policy.get("authenticationMethodConfigurations", []):
            if str(config.get("id", "")).casefold() == wanted:
                return config
        return None


# --- loading -----------------------------------------------------------------------------


def _scenario_dir() -> Path:
    return Path(str(resources.files("auditor.lab").joinpath("scenarios")))


def list_scenarios() -> list[str]:
    """Names of the built-in scenarios, sorted."""
    return sorted(path.stem for path in _scenario_dir().glob("*.yaml"))


def load_scenario(name: str) -> Scenario:
    """Load a built-in scenario by name, or a scenario file by its path (``*.yaml``), generators applied."""
    if name.endswith((".yaml", ".yml")) and Path(name).is_file():
        return load_scenario_file(name)
    path = _scenario_dir() / f"{name}.yaml"
    if not name or "/" in name or "\\" in name or not path.is_file():
        available = ", ".join(list_scenarios()) or "none"
        raise ValueError(f"unknown lab scenario {name!r}; available: {available}")
    return load_scenario_file(path)


def load_scenario_file(path: str | Path) -> Scenario:
    """Load a scenario from any YAML file, with generated users applied."""
    path = Path(path)
    yaml = YAML(typ="safe", pure=True)
    try:
        data = yaml.load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"cannot read lab scenario {path}: {exc}") from exc
    except YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark is not None else str(path)
        raise ValueError(f"{where}: not valid YAML ({getattr(exc, 'problem', None) or exc})") from None
    if not isinstance(data, Mapping):
        raise ValueError(f"lab scenario {path} must be a YAML mapping")
    try:
        return scenario_from_mapping(data, default_name=path.stem)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        field = ".".join(str(p) for p in first["loc"]) or "(top level)"
        raise ValueError(f"{path}: {field}: {first['msg']}") from None


def scenario_from_mapping(data: Mapping[str, Any], default_name: str = "custom") -> Scenario:
    """Validate a mapping (e.g. parsed YAML) as a scenario, with generated users applied."""
    payload = dict(data)
    payload.setdefault("name", default_name)
    return Scenario.model_validate(payload).materialized()


# --- validation of the wire-shaped sections ----------------------------------------------


def _require(obj: Mapping[str, Any], keys: Iterable[str], where: str) -> None:
    missing = [key for key in keys if key not in obj]
    if missing:
        raise ValueError(f"{where} lacks {', '.join(missing)}")


def _check_authorization_policy(policy: JsonObject) -> None:
    _require(policy, ("id", "allowedToUseSSPR"), "authorization_policy")
    if not isinstance(policy["allowedToUseSSPR"], bool):
        raise ValueError("authorization_policy.allowedToUseSSPR must be a boolean")


def _check_methods_policy(policy: JsonObject) -> None:
    _require(policy, ("id", "policyMigrationState", "authenticationMethodConfigurations"),
             "authentication_methods_policy")
    # null is what tenants created after the 30 September 2025 deadline return (no legacy method settings)
    if policy["policyMigrationState"] is not None and policy["policyMigrationState"] not in MIGRATION_STATES:
        raise ValueError(f"policyMigrationState must be null or one of {', '.join(MIGRATION_STATES)}")
    configs = policy["authenticationMethodConfigurations"]
    if not isinstance(configs, list):
        raise ValueError("authenticationMethodConfigurations must be a list")
    for config in configs:
        _require(config, ("@odata.type", "id", "state"), "an authentication method configuration")
        if config["state"] not in ("enabled", "disabled"):
            raise ValueError(f"configuration {config['id']}: state must be enabled or disabled")
    _check_unique_ids("authenticationMethodConfigurations", configs, required=("id",))


def _check_portal_policies(sspr: JsonObject, onprem: JsonObject) -> None:
    _require(sspr, ("objectId", "enablementType", "numberOfAuthenticationMethodsRequired"),
             "password_reset_policies")
    if sspr["enablementType"] not in (0, 1, 2):
        raise ValueError("password_reset_policies.enablementType must be 0, 1 or 2")
    _require(onprem, ("objectId", "enablementForTenant", "accountUnlockEnabled"),
             "on_premises_password_reset_policies")


def _check_unique_ids(section: str, items: list[JsonObject], required: tuple[str, ...]) -> None:
    seen: set[str] = set()
    for item in items:
        _require(item, required, f"an item of {section}")
        key = str(item["id"]).casefold()
        if key in seen:
            raise ValueError(f"{section}: duplicate id {item['id']!r}")
        seen.add(key)


# --- the deterministic user generator ----------------------------------------------------

_GIVEN = (
    "Adele", "Alex", "Allan", "Bianca", "Christie", "Diego", "Emily", "Enrico", "Grady", "Henrietta",
    "Irvin", "Isaiah", "Johanna", "Joni", "Lee", "Lidia", "Lynne", "Megan", "Miriam", "Nestor",
    "Patti", "Pradeep", "Raul", "Sakura", "Tomas", "Uma", "Viktor", "Wen", "Yusuf", "Zara",
)
_FAMILY = (
    "Vance", "Wilber", "Deyoung", "Pisani", "Cline", "Siciliani", "Braun", "Munoz", "Archie",
    "Gonzalez", "Bellinger", "Kimura", "Lauer", "Sherman", "Gu", "Holloway", "Robbins", "Bowen",
    "Patel", "Wilson", "Fernandez", "Gupta", "Razi", "Tanaka", "Novak", "Okafor", "Petrov",
    "Li", "Demir", "Haddad",
)
_JOBS = ("Accountant", "Engineer", "Sales Manager", "Analyst", "Designer", "Support Specialist",
         "Marketing Lead", "Paralegal", "Recruiter", "Developer")
_OFFICES = ("Seattle", "London", "Munich", "Toronto", "Sydney")
_QUESTIONS_PROFILE = ("securityQuestion", "mobilePhone", "officePhone")
# Methods that count as one SSPR gate each; the app's push and code are one gate.
_GATES: dict[str, str] = {method: ("app" if name.startswith("mobile_app") else name)
                          for method, name in REGISTERED_METHOD.items()}  # the app's two methods are one gate
_MFA_METHODS = frozenset({
    "mobilePhone", "alternateMobilePhone", "officePhone", "microsoftAuthenticatorPush",
    "softwareOneTimePasscode", "microsoftAuthenticatorPasswordless", "fido2SecurityKey",
    "windowsHelloForBusiness", "hardwareOneTimePasscode",
})
_PASSWORDLESS = frozenset({"microsoftAuthenticatorPasswordless", "fido2SecurityKey",
                           "windowsHelloForBusiness"})


@dataclass(frozen=True)
class _Roles:
    guests: frozenset[int]
    admins: frozenset[int]
    disabled: frozenset[int]
    synced: frozenset[int]
    unregistered: frozenset[int]
    unlicensed: frozenset[int]
    group: frozenset[int]


def _pick(rng: random.Random, pool: list[int], count: int) -> list[int]:
    return rng.sample(pool, min(count, len(pool)))


def _assign_roles(spec: GenerateUsers, rng: random.Random, scope_is_group: bool) -> _Roles:
    everyone = list(range(spec.count))
    guests = set(_pick(rng, everyone, spec.guests))
    members = [i for i in everyone if i not in guests]
    admins = set(_pick(rng, members, spec.admins))
    staff = [i for i in members if i not in admins]
    disabled = set(_pick(rng, staff, spec.disabled))
    enabled_staff = [i for i in staff if i not in disabled]
    synced = set(_pick(rng, staff, round(spec.synced_share * len(staff))))
    enabled_members = [i for i in members if i not in disabled]
    group: set[int] = set()
    if scope_is_group:
        size = spec.sspr_group_members
        group = set(_pick(rng, enabled_members, len(enabled_members) // 2 if size is None else size))
    # Unregistered users are drawn from in-scope staff first, so coverage drift shows.
    in_scope = [i for i in enabled_staff if not scope_is_group or i in group]
    in_scope_set = set(in_scope)
    out_scope = [i for i in enabled_staff if i not in in_scope_set]
    unregistered = set(_pick(rng, in_scope, spec.unregistered))
    unregistered |= set(_pick(rng, out_scope, spec.unregistered - len(unregistered)))
    unlicensed = set(_pick(rng, enabled_staff, spec.unlicensed))
    return _Roles(frozenset(guests), frozenset(admins), frozenset(disabled), frozenset(synced),
                  frozenset(unregistered), frozenset(unlicensed), frozenset(group))


def _scope_group_id(scenario: Scenario) -> str | None:
    sspr = scenario.password_reset_policies
    if sspr.get("enablementType") != 1:
        return None
    ids = sspr.get("passwordResetEnabledGroupIds") or []
    return str(ids[0]) if ids else None


def _generate_population(spec: GenerateUsers, scenario: Scenario) -> Population:
    rng = random.Random(spec.seed)
    group_id = _scope_group_id(scenario)
    roles = _assign_roles(spec, rng, scope_is_group=group_id is not None)
    sspr = scenario.password_reset_policies
    gates = int(sspr.get("numberOfAuthenticationMethodsRequired", 1))
    questions = bool(sspr.get("securityQuestionsOptionEnabled"))
    taken = _UpnRegistry({str(user["userPrincipalName"]).casefold() for user in scenario.users})
    users: list[JsonObject] = []
    registrations: list[JsonObject] = []
    truth: list[TruthRow] = []
    for index in range(spec.count):
        user = _make_user(index, spec, scenario, roles, rng, taken)
        users.append(user)
        guest, enabled = index in roles.guests, index not in roles.disabled
        in_scope = enabled and _sspr_enabled(index, roles, sspr)
        registered: bool | None = None
        if user["accountEnabled"]:
            sspr_enabled = _sspr_enabled(index, roles, sspr)
            methods = _methods_for(index, roles, rng, gates, questions)
            registrations.append(_make_registration(user, index, roles, sspr_enabled, methods, gates))
            # the generator's intent: every enabled non-guest user not drawn as unregistered has enough methods
            registered = index not in roles.unregistered if not guest else registrations[-1]["isSsprRegistered"]
        truth.append(TruthRow(user["id"], user["userPrincipalName"], enabled, guest, in_scope, registered,
                              not guest and index not in roles.unlicensed))
    members = [users[i]["id"] for i in sorted(roles.group)]
    return Population(users, registrations, {group_id: members} if group_id else {}, truth)


def _sspr_enabled(index: int, roles: _Roles, sspr: JsonObject) -> bool:
    if index in roles.guests:
        return False
    scope = sspr.get("enablementType")
    return scope == 2 or (scope == 1 and index in roles.group)


def _methods_for(index: int, roles: _Roles, rng: random.Random, gates: int,
                 questions: bool) -> list[str]:
    if index in roles.unregistered:
        # Fewer gates than required: nothing at all, or one method short of two.
        return ["email"] if gates > 1 and rng.random() < 0.5 else []
    if index in roles.guests:
        return list(rng.choice(((), ("mobilePhone",), ("microsoftAuthenticatorPush",))))
    if questions and rng.random() < 0.25:
        return list(_QUESTIONS_PROFILE)
    return list(rng.choice(REGISTERED_PROFILES))


@dataclass
class _UpnRegistry:
    """UPNs in use, with the next numeric suffix to try per local part (fast at 100k users)."""

    taken: set[str]
    next_suffix: dict[str, int] = field(default_factory=dict)

    def claim(self, local: str, domain: str) -> str:
        key = f"{local}@{domain}".casefold()
        suffix = self.next_suffix.get(key, 1)
        candidate = f"{local}@{domain}" if suffix == 1 else f"{local}{suffix}@{domain}"
        while candidate.casefold() in self.taken:
            suffix += 1
            candidate = f"{local}{suffix}@{domain}"
        self.next_suffix[key] = suffix + 1
        self.taken.add(candidate.casefold())
        return candidate


def _make_user(index: int, spec: GenerateUsers, scenario: Scenario, roles: _Roles,
               rng: random.Random, taken: _UpnRegistry) -> JsonObject:
    given, family = rng.choice(_GIVEN), rng.choice(_FAMILY)
    user_id = str(uuid.uuid5(_ID_NAMESPACE, f"{scenario.tenant_id}/{spec.seed}/{index}"))
    guest = index in roles.guests
    synced = index in roles.synced
    if guest:
        external = f"{given}.{family}@partner.example.org".lower()
        upn = taken.claim(external.replace("@", "_") + "#EXT#", scenario.tenant_domain)
        mail = external
    else:
        upn = taken.claim(f"{given}.{family}".lower(), spec.domain)
        mail = upn
    phone_tail = f"{index % 10_000:04d}"
    created = _EPOCH - timedelta(days=400 + index % 900, minutes=index)
    user: JsonObject = {
        "id": user_id,
        "businessPhones": [] if guest else [f"+1 425 555 {phone_tail}"],
        "displayName": f"{given} {family}",
        "givenName": given,
        "surname": family,
        "jobTitle": None if guest else ("Global Administrator" if index in roles.admins
                                        else rng.choice(_JOBS)),
        "mail": mail,
        "mobilePhone": None if guest else f"+1 206 555 {phone_tail}",
        "officeLocation": None if guest else rng.choice(_OFFICES),
        "preferredLanguage": "en-US",
        "userPrincipalName": upn,
        "accountEnabled": index not in roles.disabled,
        "userType": "Guest" if guest else "Member",
        "usageLocation": "US",
        "createdDateTime": iso(created),
        "assignedLicenses": [],
        "assignedPlans": [],
    }
    user.update(_on_premises_fields(user, spec, index, synced))
    if not guest and index not in roles.unlicensed:
        user["assignedLicenses"] = [{"disabledPlans": [], "skuId": SPE_E3_SKU}]
        user["assignedPlans"] = [{
            "assignedDateTime": iso(created + timedelta(hours=1)),
            "capabilityStatus": "Enabled",
            "service": "AADPremiumService",
            "servicePlanId": AAD_PREMIUM_PLAN,
        }]
    return user


def _on_premises_fields(user: JsonObject, spec: GenerateUsers, index: int, synced: bool) -> JsonObject:
    """Graph returns null (not false) for cloud-only users' on-premises properties."""
    if not synced:
        return dict.fromkeys((
            "onPremisesSyncEnabled", "onPremisesDistinguishedName", "onPremisesDomainName",
            "onPremisesSamAccountName", "onPremisesUserPrincipalName", "onPremisesImmutableId",
            "onPremisesSecurityIdentifier", "onPremisesLastSyncDateTime"))
    dc = ",".join(f"DC={part}" for part in spec.domain.split("."))
    sam = (user["givenName"][0] + user["surname"]).lower()[:16] + str(index)
    immutable = base64.b64encode(uuid.UUID(user["id"]).bytes_le).decode("ascii")
    return {
        "onPremisesSyncEnabled": True,
        "onPremisesDistinguishedName": f"CN={user['displayName']},{spec.ou},{dc}",
        "onPremisesDomainName": spec.domain,
        "onPremisesSamAccountName": sam,
        "onPremisesUserPrincipalName": user["userPrincipalName"],
        "onPremisesImmutableId": immutable,
        "onPremisesSecurityIdentifier": f"S-1-5-21-1004336348-1177238915-682003330-{1100 + index}",
        "onPremisesLastSyncDateTime": iso(_EPOCH - timedelta(minutes=17 + index % 30)),
    }


def _gate_count(methods: Iterable[str]) -> int:
    return len({_GATES[method] for method in methods if method in _GATES})


def _preferred(methods: list[str]) -> str:
    if "microsoftAuthenticatorPush" in methods:
        return "push"
    if "softwareOneTimePasscode" in methods:
        return "oath"
    return "sms" if "mobilePhone" in methods else "none"


def _make_registration(user: JsonObject, index: int, roles: _Roles, enabled: bool,
                       methods: list[str], gates: int) -> JsonObject:
    return registration_record(user, guest=index in roles.guests, admin=index in roles.admins, enabled=enabled,
                               methods=methods, gates=gates, hours=index % 72)


def registration_record(user: JsonObject, *, guest: bool, admin: bool, enabled: bool, methods: list[str],
                        gates: int, hours: int) -> JsonObject:
    """A userRegistrationDetails record: registered when the methods make up `gates` SSPR gates."""
    registered = _gate_count(methods) >= gates
    preferred = _preferred(methods)
    mfa = any(method in _MFA_METHODS for method in methods)
    return {
        "id": user["id"],
        "userPrincipalName": user["userPrincipalName"],
        "userDisplayName": user["displayName"],
        "userType": "guest" if guest else "member",
        "isAdmin": admin,
        "isSsprRegistered": registered,
        "isSsprEnabled": enabled,
        "isSsprCapable": enabled and registered,
        "isMfaRegistered": mfa,
        "isMfaCapable": mfa,
        "isPasswordlessCapable": any(method in _PASSWORDLESS for method in methods),
        "methodsRegistered": methods,
        "isSystemPreferredAuthenticationMethodEnabled": True,
        "systemPreferredAuthenticationMethods": [] if preferred == "none" else [preferred],
        "userPreferredMethodForSecondaryAuthentication": preferred,
        "lastUpdatedDateTime": iso(_EPOCH - timedelta(hours=hours)),
    }
