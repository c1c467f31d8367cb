"""The fleet inventory (`fleet.yaml`): many tenants, each with its endpoints, credential kind and policy.

A tenant's policy is a file (`policy: tenants/contoso.yaml`, which may itself `extends: ../base.yaml`) or an
overlay written in the inventory (`policy: {extends: base.yaml, sspr: {methods_required: 1}}`): the base
file's keys, then the overlay's, merged as `extends` merges. Every error names the file, line and key that
set it, in the inventory or in a policy file, before anything is read from any tenant.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationError, field_validator, model_validator

from auditor.endpoints import PORTAL_AUTH, UNATTENDED_AUTH, AdEndpoint, AuthKind, Endpoints, LabSelection
from auditor.policy.loader import (
    EXTENDS,
    Boundary,
    PolicyError,
    PolicyIssue,
    Reference,
    _document_of,
    _issues_from_validation,
    _read,
    _validated,
    load_policy,
    over_base,
    resolve_reference,
)
from auditor.policy.models import Policy, Strict

__all__ = ["Fleet", "FleetTenant", "LoadedFleet", "load_fleet"]

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$"
MAX_TENANTS = 5000

# What reaches `fleet matrix`'s JSON (which workflows interpolate into `${{ }}` expressions, shell lines and
# artifact names) is shaped here, never escaped later: names and environments are letters, digits, `.`, `_`, `-`;
# a tenant id is a GUID or a domain name (the directory ID, or a verified domain such as
# contoso.onmicrosoft.com: "This is classically a GUID or a domain name", https://learn.microsoft.com/en-us/dotnet/
# api/microsoft.identity.client.abstractapplicationbuilder-1.withtenantid); a client id is a GUID.
GUID = re.compile(r"[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}", re.ASCII)
DOMAIN = re.compile(r"(?=.{4,253}\Z)(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}", re.ASCII)
ENVIRONMENT = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,254}", re.ASCII)
SCENARIO = re.compile(r"[A-Za-z0-9._/-]{1,255}", re.ASCII)


def _shown(value: str) -> str:
    """`value` quoted, every control, bidi and non-ASCII character as its escape, clipped."""
    return ascii(value if len(value) <= 60 else value[:59] + "…")


def tenant_id_problem(value: str) -> str | None:
    """Why `value` is not a tenant id (a GUID or a domain name); None when it is one."""
    if GUID.fullmatch(value) or DOMAIN.fullmatch(value):
        return None
    return (f"{_shown(value)} is not a tenant id: give the directory (tenant) ID, a GUID, or a verified domain "
            "such as contoso.onmicrosoft.com")


class FleetTenant(Strict, Endpoints):
    """One tenant of the fleet: its endpoints (auditor/endpoints.py, the fields every command takes) and its
    policy, report folder name and the fleet's own settings."""

    name: str = Field(pattern=NAME_PATTERN, description="Short name: the tenant's report folder and matrix key")
    policy: str | dict[str, Any] = Field(description="A policy file, or an overlay `{extends: FILE, <keys>}`")
    portal_snapshot: str | None = None
    github_environment: str | None = Field(None, description="The GitHub environment whose OIDC subject this "
                                                             "tenant's federated credential trusts (fleet matrix)")

    @field_validator("auth")
    @classmethod
    def _unattended(cls, value: AuthKind | None) -> AuthKind | None:
        if value is not None and value not in UNATTENDED_AUTH:
            raise ValueError(f"a fleet tenant is audited unattended: auth is one of "
                             f"{', '.join(k.value for k in UNATTENDED_AUTH)}")
        return value

    @field_validator("portal_auth")
    @classmethod
    def _delegated(cls, value: AuthKind) -> AuthKind:
        if value not in PORTAL_AUTH:
            raise ValueError(f"portal_auth is one of {', '.join(k.value for k in PORTAL_AUTH)}")
        return value

    @field_validator("timeout")
    @classmethod
    def _fleet_timeout(cls, value: float) -> float:
        if value > 600:
            raise ValueError("a fleet tenant's timeout is at most 600 seconds")
        return value

    @field_validator("lab")
    @classmethod
    def _shaped_scenario(cls, value: LabSelection | None) -> LabSelection | None:
        if value is not None and not SCENARIO.fullmatch(value.scenario):
            raise ValueError(f"{_shown(value.scenario)}: a scenario is a name or a relative path of letters, "
                             "digits, `.`, `_`, `-` and `/` (it goes into fleet matrix's JSON)")
        return value

    @field_validator("ad")
    @classmethod
    def _bind_account(cls, value: AdEndpoint | None) -> AdEndpoint | None:
        if value is not None and not value.user:
            raise ValueError("ad.user: the bind account (user@REALM, DOMAIN\\user or a DN) is required")
        return value

    @field_validator("tenant_id")
    @classmethod
    def _shaped_tenant_id(cls, value: str | None) -> str | None:
        problem = None if value is None else tenant_id_problem(value)
        if problem:
            raise ValueError(problem)
        return value

    @field_validator("client_id")
    @classmethod
    def _shaped_client_id(cls, value: str | None) -> str | None:
        if value is not None and not GUID.fullmatch(value):
            raise ValueError(f"{_shown(value)} is not a client id: give the app registration's application "
                             "(client) ID, a GUID")
        return value

    @field_validator("github_environment")
    @classmethod
    def _shaped_environment(cls, value: str | None) -> str | None:
        if value is not None and not ENVIRONMENT.fullmatch(value):
            raise ValueError(f"{_shown(value)}: an environment name here is letters, digits, `.`, `_` and `-` "
                             "(it goes into fleet matrix's JSON)")
        return value

    @field_validator("name")
    @classmethod
    def _not_a_fleet_file(cls, name: str) -> str:
        if name.lower().startswith("sspr-fleet"):
            raise ValueError("names starting with sspr-fleet are the fleet report's own files")
        return name

    @model_validator(mode="after")
    def _one_source(self) -> FleetTenant:
        if self.lab is not None and (self.tenant_id or self.graph_url or self.ad):
            raise ValueError("a lab tenant takes no tenant_id, graph_url or ad: the lab provides them")
        if self.lab is None and not (self.tenant_id or self.graph_url):
            raise ValueError("give a tenant_id (a live tenant) or lab: {scenario: …}")
        return self


class FleetSettings(Strict):
    concurrency: int = Field(4, ge=1, le=64, description="Tenants audited at once on one machine")
    fail_on: Literal["info", "low", "medium", "high", "critical"] = "low"
    unknown: Literal["fail", "warn"] = "fail"
    formats: list[str] = Field(default_factory=lambda: ["html", "json", "sarif", "markdown"])


class Fleet(Strict):
    version: Literal[1] = 1
    fleet: FleetSettings = Field(default_factory=FleetSettings)
    tenants: list[FleetTenant] = Field(min_length=1, max_length=MAX_TENANTS)

    @field_validator("tenants")
    @classmethod
    def _unique_names(cls, tenants: list[FleetTenant]) -> list[FleetTenant]:
        seen: set[str] = set()
        for tenant in tenants:
            if tenant.name.lower() in seen:
                raise ValueError(f"two tenants are named {tenant.name!r} (names are folder names: unique, any case)")
            seen.add(tenant.name.lower())
        return tenants


class LoadedFleet:
    """The inventory, where it was read from, and each tenant's policy loaded and validated."""

    def __init__(self, path: Path, fleet: Fleet, policies: dict[str, Policy]) -> None:
        self.path = path
        self.fleet = fleet
        self.policies = policies

    def path_of(self, relative: str | None) -> Path | None:
        """A path the inventory names, relative to the inventory's folder."""
        return None if relative is None else (self.path.parent / relative)

    def tenant(self, name: str) -> FleetTenant:
        for tenant in self.fleet.tenants:
            if tenant.name == name:
                return tenant
        raise KeyError(name)


def load_fleet(path: str | Path) -> LoadedFleet:
    path = Path(path)
    name = str(path)
    raw = _read(path)
    document, positions = _document_of(raw, name)
    try:
        fleet = Fleet.model_validate(document)
    except ValidationError as exc:
        raise PolicyError(_issues_from_validation(exc, name, positions)) from None
    issues: list[PolicyIssue] = _duplicate_tenant_ids(fleet, name, positions)
    if issues:
        raise PolicyError(issues)
    policies: dict[str, Policy] = {}
    boundary = Boundary.of(path)  # the inventory's repository: its tenants' policies and their bases live there
    for index, tenant in enumerate(fleet.tenants):
        try:
            policies[tenant.name] = _tenant_policy(path, tenant, f"tenants.{index}.policy", positions, boundary)
        except PolicyError as exc:
            issues.extend(exc.issues)
    issues += _policies_of_other_tenants(fleet, policies, name)
    if issues:
        raise PolicyError(issues)
    return LoadedFleet(path, fleet, policies)


def _policies_of_other_tenants(fleet: Fleet, policies: dict[str, Policy], name: str) -> list[PolicyIssue]:
    """A tenant whose policy names another tenant id (`tenant.tenant_id`) than the inventory gives it (a GUID: a
    domain cannot be compared with one without asking the directory), at the policy's line."""
    from auditor.policy.tenant_binding import other_tenant_issue

    issues = []
    for tenant in fleet.tenants:
        if tenant.tenant_id and GUID.fullmatch(tenant.tenant_id) and tenant.name in policies:
            where = f"the fleet inventory {name} names tenant {tenant.name} by"
            issue = other_tenant_issue(policies[tenant.name], tenant.tenant_id, where)
            if issue is not None:
                issues.append(issue)
    return issues


def _duplicate_tenant_ids(fleet: Fleet, name: str, positions: dict[str, tuple[int, int]]) -> list[PolicyIssue]:
    """A tenant id listed twice (any case: ids and domains are case-insensitive), at the second one's line."""
    issues = []
    first: dict[str, int] = {}
    for index, tenant in enumerate(fleet.tenants):
        if tenant.tenant_id is None:
            continue
        key = f"tenants.{index}.tenant_id"
        seen = first.setdefault(tenant.tenant_id.casefold(), index)
        if seen != index:
            line, column = positions.get(key, positions.get(f"tenants.{index}", (1, 1)))
            other_line = positions.get(f"tenants.{seen}.tenant_id", (0, 0))[0]
            issues.append(PolicyIssue(name, line, column, key,
                                      f"tenant {tenant.name} has the tenant id of tenant {fleet.tenants[seen].name} "
                                      f"(line {other_line}): each tenant is listed once"))
    return issues


def _tenant_policy(fleet_path: Path, tenant: FleetTenant, key: str, positions: dict[str, tuple[int, int]],
                   boundary: Boundary) -> Policy:
    import os

    folder = Path(os.path.realpath(fleet_path)).parent
    if isinstance(tenant.policy, str):  # a file the inventory names: read as `extends` reads a base
        line, column = positions.get(key, (1, 1))
        reference = Reference(str(fleet_path), line, column, key, tenant.policy)
        policy_path = resolve_reference(reference, folder, boundary)
        return load_policy(policy_path, boundary=boundary, named_by=reference)
    # an overlay written in the inventory: its keys' lines are the inventory's
    overlay = dict(tenant.policy)
    own = {k.removeprefix(f"{key}."): v for k, v in positions.items() if k.startswith(f"{key}.")}
    base_ref = overlay.pop(EXTENDS, None)
    line, column = own.pop(EXTENDS, positions.get(key, (1, 1)))
    if not isinstance(base_ref, str) or not base_ref.strip():
        raise PolicyError([PolicyIssue(str(fleet_path), line, column, f"{key}.{EXTENDS}",
                                       "an overlay needs `extends: BASE_POLICY_FILE`")])
    reference = Reference(str(fleet_path), line, column, f"{key}.{EXTENDS}", base_ref)
    base = resolve_reference(reference, folder, boundary)
    overlay_bytes = repr(sorted(overlay.items())).encode()
    merged, merged_positions, files, raws = over_base(base, overlay, own, overlay_bytes, boundary=boundary,
                                                      named_by=reference)
    return _validated(merged, str(fleet_path), merged_positions, files, raws)
