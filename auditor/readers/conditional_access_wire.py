"""What Graph must send for the Conditional Access verdict: the wire models of the policies and named locations.

As in `graph_wire`: strict types, every field the verdict reads required, null only where Graph documents it
(or a real capture shows it). Every policy must say its `state` and its user actions
(`conditions.applications.includeUserActions`: whether it is about registering security info at all); only a
policy on `urn:user:registersecurityinfo` is then held to `RegistrationPolicyWire`, so a field absent from an
unrelated policy does not make the registration verdict unknown.

Sources: the conditionalAccessPolicy resource and its condition types (links in `snapshot/conditional_access`);
the shapes as sent, in two captures kept in tests/fixtures/real/graph: Microsoft's "List policies" example
(`platforms`, `locations`, `sessionControls` null when the condition is not set) and ScubaGear's sample
provider export (`includeGuestsOrExternalUsers`, `devices`, `clientApplications` null; `userRiskLevels` []).
"""

from __future__ import annotations

from collections import Counter
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from auditor.readers.graph_wire import WireError, _problem


class _Wire(BaseModel):
    model_config = ConfigDict(strict=True, extra="ignore", frozen=True)


class ApplicationsWire(_Wire):
    includeApplications: list[str] = []
    includeUserActions: list[str]


class AnyConditionsWire(_Wire):
    applications: ApplicationsWire


class AnyPolicyWire(_Wire):
    """Every policy: what it is and whether it is on, and its user actions."""

    id: str
    displayName: str | None = None  # evidence only
    state: Literal["enabled", "disabled", "enabledForReportingButNotEnforced"]
    conditions: AnyConditionsWire


class ExternalTenantsWire(_Wire):
    membershipKind: str | None = None


class GuestsWire(_Wire):
    guestOrExternalUserTypes: str
    externalTenants: ExternalTenantsWire | None = None


class UsersWire(_Wire):
    includeUsers: list[str]
    excludeUsers: list[str]
    includeGroups: list[str]
    excludeGroups: list[str]
    includeRoles: list[str]
    excludeRoles: list[str]
    includeGuestsOrExternalUsers: GuestsWire | None = None  # absent from Microsoft's 2019 example: not set
    excludeGuestsOrExternalUsers: GuestsWire | None = None


class PlatformsWire(_Wire):
    includePlatforms: list[str]
    excludePlatforms: list[str] = []


class LocationsWire(_Wire):
    includeLocations: list[str]
    excludeLocations: list[str] = []


class DeviceFilterWire(_Wire):
    mode: str
    rule: str


class DevicesWire(_Wire):
    deviceFilter: DeviceFilterWire | None = None


class FlowsWire(_Wire):
    transferMethods: str | None = None


class ConditionsWire(AnyConditionsWire):
    """A registration policy's conditions: `applications` as every policy's, and the rest its verdict reads.

    Other condition properties are kept (`model_extra`), not dropped: Graph adds conditions over time
    (servicePrincipalRiskLevels in v1.0, agentIdRiskLevels in beta: learn.microsoft.com/graph/api/resources/
    conditionalaccessconditionset), and one that is set narrows when the policy applies (`unmodelled`)."""

    model_config = ConfigDict(strict=True, extra="allow", frozen=True)

    users: UsersWire
    clientAppTypes: list[str]
    platforms: PlatformsWire | None
    locations: LocationsWire | None
    signInRiskLevels: list[str]
    userRiskLevels: list[str]
    devices: DevicesWire | None = None
    insiderRiskLevels: str | None = None
    authenticationFlows: FlowsWire | None = None
    clientApplications: dict[str, Any] | None = None

    def unmodelled(self) -> list[str]:
        """The condition properties this model does not know that are set (not null, empty list, object or text),
        each as `name=value` for evidence."""
        return [f"{name}={value!r}"[:200] for name, value in sorted((self.model_extra or {}).items())
                if value not in (None, [], {}, "")]


class StrengthWire(_Wire):
    id: str
    displayName: str | None = None


class GrantWire(_Wire):
    operator: str
    builtInControls: list[str]
    authenticationStrength: StrengthWire | None = None
    customAuthenticationFactors: list[str] = []
    termsOfUse: list[str] = []


class RegistrationPolicyWire(AnyPolicyWire):
    """A policy on `urn:user:registersecurityinfo`: everything the per-user verdict reads."""

    conditions: ConditionsWire
    grantControls: GrantWire | None


class NamedLocationWire(_Wire):
    """A namedLocation: `@odata.type` says ipNamedLocation (with `isTrusted`) or countryNamedLocation."""

    model_config = ConfigDict(strict=True, extra="ignore", frozen=True, populate_by_name=True)
    id: str
    displayName: str | None = None
    isTrusted: bool | None = None


def policies(rows: list[Any]) -> list[AnyPolicyWire]:
    """Every policy validated, those on the registration user action as `RegistrationPolicyWire`; `WireError`
    naming each field that is wrong, with how many policies had it."""
    from auditor.snapshot.conditional_access import REGISTER_SECURITY_INFO

    problems: Counter[tuple[str, str]] = Counter()
    out: list[AnyPolicyWire] = []
    for row in rows:
        try:
            wire: AnyPolicyWire = AnyPolicyWire.model_validate(row)
            if any(a.lower() == REGISTER_SECURITY_INFO for a in wire.conditions.applications.includeUserActions):
                wire = RegistrationPolicyWire.model_validate(row)
        except ValidationError as exc:
            problems.update({_problem(e) for e in exc.errors(include_url=False, include_context=False)})
            continue
        out.append(wire)
    if problems:
        raise WireError("conditional access policies", len(rows), problems)
    return out


def named_locations(rows: list[Any]) -> list[tuple[NamedLocationWire, str]]:
    """(location, its @odata.type) for every row."""
    problems: Counter[tuple[str, str]] = Counter()
    out = []
    for row in rows:
        kind = row.get("@odata.type") if isinstance(row, dict) else None
        if not isinstance(kind, str):
            problems[("@odata.type", "absent" if kind is None else "not a string")] += 1
            continue
        try:
            out.append((NamedLocationWire.model_validate(row), kind))
        except ValidationError as exc:
            problems.update({_problem(e) for e in exc.errors(include_url=False, include_context=False)})
    if problems:
        raise WireError("named locations", len(rows), problems)
    return out
