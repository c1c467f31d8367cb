"""The emulator's devices route: `GET /devices` with `$select`, `$top`, paging, and
`$expand=registeredOwners` (optionally `($select=id)`), as Microsoft Graph v1.0 documents it:
learn.microsoft.com/graph/api/device-list (a collection of device objects), the device resource
(learn.microsoft.com/graph/api/resources/device: registeredOwners "Supports $expand"; a navigation property is
sent only when expanded), device-list-registeredowners (directoryObjects with their `@odata.type`).

A scenario's device lists its registered owners under the lab-only key `registeredOwners` as user ids or user
principal names; a device without the key has no registered owner (as hybrid-joined devices usually have none).
Properties a scenario leaves out are left out of the answer too, even under `$select` (where Graph would send
null), so a scenario can serve a truncated capture such as the doc's own example as it was published.
"""

from __future__ import annotations

import re
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from auditor.lab.emulator import (
    EmulatorState,
    _bad_request,
    _check_options,
    _context,
    _decode_skiptoken,
    _json,
    _next_link,
    _parse_select,
)
from auditor.lab.scenario import JsonObject

TYPE_NAME = "microsoft.graph.device"
OWNERS = "registeredOwners"
DEVICE_PROPERTIES = frozenset({
    "id", "accountEnabled", "alternativeSecurityIds", "approximateLastSignInDateTime", "complianceExpirationDateTime",
    "deviceCategory", "deviceId", "deviceMetadata", "deviceOwnership", "deviceVersion", "displayName",
    "enrollmentProfileName", "enrollmentType", "extensionAttributes", "isCompliant", "isManaged",
    "isRooted", "managementType", "manufacturer", "mdmAppId", "model", "onPremisesLastSyncDateTime",
    "onPremisesSecurityIdentifier", "onPremisesSyncEnabled", "operatingSystem", "operatingSystemVersion",
    "physicalIds", "profileType", "registrationDateTime", "systemLabels", "trustType",
})
_EXPAND = re.compile(r"^registeredOwners(?:\(\$select=([A-Za-z,]+)\))?$", re.IGNORECASE)
_PAGE = 100  # Graph's default page size for directory objects
_MAX_TOP = 999


def _owners(lab: EmulatorState, device: JsonObject, fields: list[str] | None) -> list[JsonObject]:
    out = []
    for key in device.get(OWNERS) or []:
        wanted = str(key).casefold()
        user = next((u for u in lab.tenant.users if wanted in (str(u.get("id")).casefold(),
                                                                  str(u.get("userPrincipalName")).casefold())), None)
        if user is not None:
            out.append({"@odata.type": "#microsoft.graph.user", "id": user["id"],
                        **{f: user.get(f) for f in fields or () if f != "id"}})
    return out


async def list_devices(request: Request, lab: EmulatorState) -> Response:
    _check_options(request, frozenset({"$select", "$top", "$skiptoken", "$expand"}))
    selected = _parse_select(request, DEVICE_PROPERTIES, TYPE_NAME)
    expand = request.query_params.get("$expand")
    owner_fields: list[str] | None = None
    if expand is not None:
        match = _EXPAND.match(expand.replace(" ", ""))
        if match is None:
            raise _bad_request(f"Could not find a navigation property named '{expand}' on type '{TYPE_NAME}' "
                               "that this lab endpoint expands.")
        owner_fields = match.group(1).split(",") if match.group(1) else ["id", "displayName", "userPrincipalName"]
    raw = request.query_params.get("$top")
    if raw is not None and (not raw.isdigit() or not 1 <= int(raw) <= _MAX_TOP):
        raise _bad_request(f"Invalid page size specified: '{raw}'. Must be between 1 and {_MAX_TOP} inclusive.")
    size = int(raw) if raw is not None else _PAGE
    size = min(size, lab.paging.cap) if lab.paging.cap else size
    offset = _decode_skiptoken(request.query_params.get("$skiptoken"), "devices", "Directory_ExpiredPageToken")
    items = lab.tenant.devices
    page: list[Any] = []
    for device in items[offset:offset + size]:
        row = {k: v for k, v in device.items() if k != OWNERS and (selected is None or k in selected or k == "id")}
        if expand is not None:
            row[OWNERS] = _owners(lab, device, owner_fields)
        page.append(row)
    body: JsonObject = {"@odata.context": _context(request, "devices", selected), "value": page}
    if offset + size < len(items):
        body["@odata.nextLink"] = _next_link(request, "devices", offset + size)
    return _json(body)


def routes(graph: str) -> list[tuple[str, str, str, Any]]:
    return [(f"{graph}/devices", "GET", "devices", list_devices)]
