"""The emulator's Conditional Access routes: policies (list, get, create, delete), named locations, and the
directory roles with their members. Shapes as Microsoft Graph v1.0 documents them:
* list policies, learn.microsoft.com/graph/api/conditionalaccessroot-list-policies (a collection; `platforms`,
  `locations`, `sessionControls` null when not set, as in the doc's example);
* create, learn.microsoft.com/graph/api/conditionalaccessroot-post-policies: "201 Created ... a new
  conditionalAccessPolicy object in the response body" (with `id`, `createdDateTime`);
* get, .../conditionalaccesspolicy-get; delete, .../conditionalaccesspolicy-delete: "204 No Content";
* named locations, .../conditionalaccessroot-list-namedlocations (each with its `@odata.type`);
* directory roles, .../directoryrole-list (`roleTemplateId`), .../directoryrole-list-members (directoryObjects
  with their `@odata.type`).
"""

from __future__ import annotations

import copy
import uuid
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from auditor.lab.emulator import (
    EmulatorState,
    GraphError,
    _bad_request,
    _check_options,
    _context,
    _json,
    _json_object,
    _parse_select,
    _project,
)
from auditor.lab.scenario import JsonObject

POLICY_TYPE = "microsoft.graph.conditionalAccessPolicy"
POLICY_FIELDS = ("id", "templateId", "displayName", "createdDateTime", "modifiedDateTime", "state",
                 "sessionControls", "conditions", "grantControls")
STATES = ("enabled", "disabled", "enabledForReportingButNotEnforced")
CONDITION_DEFAULTS: JsonObject = {
    "userRiskLevels": [], "signInRiskLevels": [], "clientAppTypes": ["all"], "platforms": None, "locations": None,
    "devices": None, "clientApplications": None, "times": None, "deviceStates": None}
USER_LISTS = ("includeUsers", "excludeUsers", "includeGroups", "excludeGroups", "includeRoles", "excludeRoles")


def _listing(request: Request, items: list[JsonObject], fragment: str, type_name: str) -> Response:
    _check_options(request, frozenset({"$select", "$top"}))
    selected = _parse_select(request, {k for item in items for k in item} | {"id"}, type_name)
    return _json({"@odata.context": _context(request, fragment, selected),
                  "value": [_project(item, selected, keep_type=True) for item in items]})


async def list_policies(request: Request, lab: EmulatorState) -> Response:
    return _listing(request, lab.tenant.conditional_access_policies, "identity/conditionalAccess/policies",
                    POLICY_TYPE)


def _policy(lab: EmulatorState, policy_id: str) -> JsonObject:
    for item in lab.tenant.conditional_access_policies:
        if str(item.get("id")).casefold() == policy_id.casefold():
            return item
    raise GraphError(404, "ResourceNotFound", f"Could not find the conditional access policy '{policy_id}'.")


async def get_policy(request: Request, lab: EmulatorState) -> Response:
    item = _policy(lab, request.path_params["policy_id"])
    _check_options(request, frozenset({"$select"}))
    selected = _parse_select(request, POLICY_FIELDS, POLICY_TYPE)
    return _json({"@odata.context": _context(request, "identity/conditionalAccess/policies", selected, entity=True),
                  **_project(item, selected)})


def _checked(body: JsonObject) -> JsonObject:
    """The body of a create, as Graph requires it: a display name, a state, conditions naming users and
    applications (or user actions), and grant or session controls."""
    unknown = sorted(set(body) - {*POLICY_FIELDS, "@odata.type"} - {"id", "createdDateTime", "modifiedDateTime"})
    if unknown:
        raise _bad_request(f"Property '{unknown[0]}' does not exist on type '{POLICY_TYPE}'.")
    if not isinstance(body.get("displayName"), str) or not body["displayName"].strip():
        raise _bad_request("displayName is required.")
    if body.get("state") not in STATES:
        raise _bad_request(f"Invalid value for state: {body.get('state')!r}.")
    conditions = body.get("conditions")
    if not isinstance(conditions, dict) or not isinstance(conditions.get("users"), dict) \
            or not isinstance(conditions.get("applications"), dict):
        raise _bad_request("conditions.users and conditions.applications are required.")
    users = conditions["users"]
    for name in USER_LISTS:
        if not isinstance(users.setdefault(name, []), list):
            raise _bad_request(f"conditions.users.{name} must be a collection.")
    if not any(users[name] for name in ("includeUsers", "includeGroups", "includeRoles")) \
            and not users.get("includeGuestsOrExternalUsers"):
        raise _bad_request("The policy must include users, groups, roles or guests.")
    applications = conditions["applications"]
    applications.setdefault("includeApplications", [])
    applications.setdefault("excludeApplications", [])
    applications.setdefault("includeUserActions", [])
    if not applications["includeApplications"] and not applications["includeUserActions"]:
        raise _bad_request("The policy must include applications or user actions.")
    grant = body.get("grantControls")
    if grant is None and body.get("sessionControls") is None:
        raise _bad_request("The policy needs grant controls or session controls.")
    if grant is not None:
        if not isinstance(grant, dict) or grant.get("operator") not in ("AND", "OR") \
                or not isinstance(grant.get("builtInControls", []), list):
            raise _bad_request("grantControls needs an operator (AND or OR) and builtInControls.")
        grant.setdefault("builtInControls", [])
        grant.setdefault("customAuthenticationFactors", [])
        grant.setdefault("termsOfUse", [])
    return {**{k: copy.deepcopy(v) for k, v in CONDITION_DEFAULTS.items()}, **conditions}


async def post_policy(request: Request, lab: EmulatorState) -> Response:
    body = await _json_object(request)
    conditions = _checked(body)
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    item: JsonObject = {"id": str(uuid.uuid4()), "templateId": None, "displayName": body["displayName"],
                        "createdDateTime": now, "modifiedDateTime": None, "state": body["state"],
                        "sessionControls": copy.deepcopy(body.get("sessionControls")), "conditions": conditions,
                        "grantControls": copy.deepcopy(body.get("grantControls"))}
    lab.tenant.conditional_access_policies.append(item)
    return _json({"@odata.context": _context(request, "identity/conditionalAccess/policies", None, entity=True),
                  **copy.deepcopy(item)}, status=201)


async def patch_policy(request: Request, lab: EmulatorState) -> Response:
    """conditionalaccesspolicy-update: "204 No Content"; the lab takes `state` (what the plan writes) and refuses
    other properties it does not emulate."""
    item = _policy(lab, request.path_params["policy_id"])
    body = await _json_object(request)
    unknown = sorted(set(body) - {"state", "@odata.type"})
    if unknown:
        raise _bad_request(f"The lab does not emulate updating '{unknown[0]}' of a conditional access policy.")
    if "state" in body:
        if body["state"] not in STATES:
            raise _bad_request(f"Invalid value for state: {body['state']!r}.")
        item["state"] = body["state"]
        item["modifiedDateTime"] = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    return Response(status_code=204)


async def delete_policy(request: Request, lab: EmulatorState) -> Response:
    item = _policy(lab, request.path_params["policy_id"])
    lab.tenant.conditional_access_policies.remove(item)
    return Response(status_code=204)


async def list_named_locations(request: Request, lab: EmulatorState) -> Response:
    return _listing(request, lab.tenant.named_locations, "identity/conditionalAccess/namedLocations",
                    "microsoft.graph.namedLocation")


async def list_directory_roles(request: Request, lab: EmulatorState) -> Response:
    return _listing(request, lab.tenant.directory_roles, "directoryRoles", "microsoft.graph.directoryRole")


async def list_role_members(request: Request, lab: EmulatorState) -> Response:
    role_id = request.path_params["role_id"]
    if not any(str(r.get("id")).casefold() == role_id.casefold() for r in lab.tenant.directory_roles):
        raise GraphError(404, "Request_ResourceNotFound", f"Resource '{role_id}' does not exist or one of its "
                         "queried reference-property objects are not present.")
    ids = {m.casefold() for key, members in lab.tenant.directory_role_members.items()
           if key.casefold() == role_id.casefold() for m in members}
    found: list[Any] = [{"@odata.type": "#microsoft.graph.user", **u} for u in lab.tenant.users
                        if str(u["id"]).casefold() in ids]
    found += [{"@odata.type": "#microsoft.graph.group", **g} for g in lab.tenant.groups
              if str(g["id"]).casefold() in ids]
    _check_options(request, frozenset({"$select", "$top"}))
    selected = _parse_select(request, {k for item in found for k in item} | {"id"}, "microsoft.graph.directoryObject")
    return _json({"@odata.context": _context(request, "directoryObjects", selected),
                  "value": [{"@odata.type": m["@odata.type"], **_project(m, selected)} for m in found]})


def routes(graph: str) -> list[tuple[str, str, str, Any]]:
    policies = f"{graph}/identity/conditionalAccess/policies"
    return [
        (policies, "GET", "ca_policies", list_policies),
        (policies, "POST", "ca_policies", post_policy),
        (f"{policies}/{{policy_id}}", "GET", "ca_policies", get_policy),
        (f"{policies}/{{policy_id}}", "PATCH", "ca_policies", patch_policy),
        (f"{policies}/{{policy_id}}", "DELETE", "ca_policies", delete_policy),
        (f"{graph}/identity/conditionalAccess/namedLocations", "GET", "named_locations", list_named_locations),
        (f"{graph}/directoryRoles", "GET", "directory_roles", list_directory_roles),
        (f"{graph}/directoryRoles/{{role_id}}/members", "GET", "directory_roles", list_role_members),
    ]
