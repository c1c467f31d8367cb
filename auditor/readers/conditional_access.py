"""Conditional Access: the policies, the named locations, and the members of the groups and roles that the
policies on registering security info name, through the msgraph-sdk client (app-only, Policy.Read.All for the
policies and named locations: learn.microsoft.com/graph/api/conditionalaccessroot-list-policies,
learn.microsoft.com/graph/api/conditionalaccessroot-list-namedlocations; GroupMember.Read.All for the groups;
RoleManagement.Read.Directory or Directory.Read.All for the roles: learn.microsoft.com/graph/api/
directoryrole-list-members).

Roles are named in a policy by their template id (conditionalAccessUsers.includeRoles: "Role IDs in scope");
`GET /directoryRoles` lists the activated roles with their `roleTemplateId`, and a role that is not activated
has no members (learn.microsoft.com/graph/api/resources/directoryrole). A role member that is a group
(role-assignable groups) is expanded to its transitive user members.
"""

from __future__ import annotations

import asyncio
import functools
from typing import Any

from auditor.readers.conditional_access_wire import (
    AnyPolicyWire,
    GuestsWire,
    RegistrationPolicyWire,
    named_locations,
    policies,
)
from auditor.readers.graph import _read, describe_error, get_json, query
from auditor.readers.graph_tenant import _member_ids, _raw_pages
from auditor.readers.graph_wire import WireError
from auditor.snapshot.conditional_access import (
    CaGrant,
    CaPolicy,
    CaUsers,
    ConditionalAccessState,
    GuestCondition,
    Members,
    NamedLocation,
)
from auditor.snapshot.models import Section

SOURCE = "graph:GET /identity/conditionalAccess/policies, /identity/conditionalAccess/namedLocations"
SPECIAL_USERS = frozenset({"all", "none", "guestsorexternalusers"})


async def read_conditional_access(client: Any) -> Section[ConditionalAccessState]:
    async def fetch() -> ConditionalAccessState:
        ca = client.identity.conditional_access
        rows = [p async for page in _raw_pages(ca.policies) for p in page]
        locations = [n async for page in _raw_pages(ca.named_locations) for n in page]
        read = [policy_state(wire) for wire in policies(rows)]
        wanted_groups: dict[str, None] = {}
        wanted_roles: dict[str, None] = {}
        for policy in read:
            if policy.on_registration:
                for gid in (*policy.users.include_groups, *policy.users.exclude_groups):
                    wanted_groups[gid.lower()] = None
                for rid in (*policy.users.include_roles, *policy.users.exclude_roles):
                    wanted_roles[rid.lower()] = None
        groups, roles = await asyncio.gather(
            asyncio.gather(*(_group(client, gid) for gid in wanted_groups)),
            _roles(client, list(wanted_roles)))
        return ConditionalAccessState(
            policies=read,
            named_locations=[NamedLocation(id=wire.id, display_name=wire.displayName or wire.id,
                                           kind=_kind(kind), trusted=wire.isTrusted)
                             for wire, kind in named_locations(locations)],
            groups=list(groups), roles=roles)

    return await _read(SOURCE, fetch)


def _kind(odata_type: str) -> str:
    name = odata_type.rsplit(".", 1)[-1]
    return {"ipNamedLocation": "ip", "countryNamedLocation": "country"}.get(name, name)


def _guests(wire: GuestsWire | None) -> GuestCondition | None:
    if wire is None:
        return None
    kind = wire.externalTenants.membershipKind if wire.externalTenants is not None else None
    return GuestCondition(types=[t.strip() for t in wire.guestOrExternalUserTypes.split(",") if t.strip()],
                          tenants="all" if kind == "all" else "enumerated" if kind == "enumerated" else None)


def policy_state(wire: AnyPolicyWire) -> CaPolicy:
    """The readable policy; only a registration policy carries its conditions and grant (the others are listed)."""
    applications = wire.conditions.applications
    policy = functools.partial(CaPolicy, id=wire.id, display_name=wire.displayName or wire.id, state=wire.state,
                               user_actions=list(applications.includeUserActions),
                               applications=list(applications.includeApplications))
    if not isinstance(wire, RegistrationPolicyWire):
        return policy(users=CaUsers())
    c = wire.conditions
    u = c.users
    other = []
    if c.insiderRiskLevels:
        other.append(f"insider risk {c.insiderRiskLevels}")
    if c.authenticationFlows is not None and c.authenticationFlows.transferMethods:
        other.append(f"authentication flows {c.authenticationFlows.transferMethods}")
    if c.clientApplications:
        other.append("workload identities (clientApplications)")
    device_filter = c.devices.deviceFilter if c.devices is not None else None
    grant = wire.grantControls
    return policy(
        users=CaUsers(include_users=u.includeUsers, exclude_users=u.excludeUsers, include_groups=u.includeGroups,
                      exclude_groups=u.excludeGroups, include_roles=u.includeRoles, exclude_roles=u.excludeRoles,
                      include_guests=_guests(u.includeGuestsOrExternalUsers),
                      exclude_guests=_guests(u.excludeGuestsOrExternalUsers)),
        client_app_types=c.clientAppTypes,
        include_platforms=c.platforms.includePlatforms if c.platforms is not None else None,
        exclude_platforms=c.platforms.excludePlatforms if c.platforms is not None else [],
        include_locations=c.locations.includeLocations if c.locations is not None else None,
        exclude_locations=c.locations.excludeLocations if c.locations is not None else [],
        sign_in_risk=c.signInRiskLevels, user_risk=c.userRiskLevels,
        device_filter=f"{device_filter.mode}: {device_filter.rule}" if device_filter is not None else None,
        other_conditions=other, unmodelled_conditions=c.unmodelled(),
        grant=None if grant is None else CaGrant(
            operator=grant.operator, built_in=grant.builtInControls,
            strength_id=grant.authenticationStrength.id if grant.authenticationStrength else None,
            strength_name=grant.authenticationStrength.displayName if grant.authenticationStrength else None,
            other=[*grant.customAuthenticationFactors, *grant.termsOfUse]),
    )


async def _group(client: Any, group_id: str) -> Members:
    """The group's transitive user members; a group that cannot be read says why (its users are unknown)."""
    from kiota_abstractions.api_error import APIError

    builder = client.groups.by_group_id(group_id)
    try:
        found, (user_ids, _others) = await asyncio.gather(
            get_json(builder, query(builder, select=["id", "displayName"])), _member_ids(client, group_id))
    except APIError as exc:
        if getattr(exc, "response_status_code", None) == 404:  # deleted: a policy naming it reaches nobody by it
            return Members(id=group_id, display_name=f"{group_id} (not found)")
        return Members(id=group_id, error=describe_error(exc))
    except WireError as exc:
        return Members(id=group_id, error=describe_error(exc))
    name = found.get("displayName") if isinstance(found, dict) else None
    return Members(id=group_id, display_name=name if isinstance(name, str) else None, user_ids=user_ids)


async def _roles(client: Any, template_ids: list[str]) -> list[Members]:
    if not template_ids:
        return []
    try:
        active = {str(r.get("roleTemplateId") or "").lower(): r
                  async for page in _raw_pages(client.directory_roles, select=["id", "displayName", "roleTemplateId"])
                  for r in page}
    except Exception as exc:  # the roles' holders are unknown (RoleManagement.Read.Directory), not the policies
        return [Members(id=t, error=describe_error(exc)) for t in template_ids]

    async def one(template_id: str) -> Members:
        role = active.get(template_id)
        if role is None:  # not activated in the tenant: nobody holds it
            return Members(id=template_id)
        builder = client.directory_roles.by_directory_role_id(str(role["id"])).members
        users: list[str] = []
        try:
            async for page in _raw_pages(builder, select=["id"]):
                for member in page:
                    kind = str(member.get("@odata.type") or "").lower()
                    if kind == "#microsoft.graph.user":
                        users.append(str(member["id"]))
                    elif kind == "#microsoft.graph.group":
                        users += (await _member_ids(client, str(member["id"])))[0]
                    elif not kind:
                        raise ValueError(f"a member of role {template_id} has no @odata.type")
        except Exception as exc:  # this role's members are unknown, not the others'
            return Members(id=template_id, display_name=role.get("displayName"), error=describe_error(exc))
        return Members(id=template_id, display_name=role.get("displayName"), user_ids=users)

    return list(await asyncio.gather(*(one(t) for t in template_ids)))
