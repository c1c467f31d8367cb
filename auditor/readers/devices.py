"""The directory's devices with their registered owners, through the msgraph-sdk client: one paged
`GET /devices?$select=...&$expand=registeredOwners($select=id)` (Device.Read.All, app-only:
learn.microsoft.com/graph/api/device-list).

Why this and not a request per user: `GET /users/{id}/ownedDevices` and `/registeredDevices` are not supported
with application permissions ("Application: Not supported", learn.microsoft.com/graph/api/user-list-owneddevices),
and would cost one round trip per in-scope user; the device list costs one per page.

Read only when the policy asks registration to require a compliant or hybrid-joined device
(`auditor.app.audit.CoverageOptions.read_devices`).
"""

from __future__ import annotations

from typing import Any

from auditor.readers.devices_wire import EXPAND, SELECT, device_rows
from auditor.readers.graph import _read
from auditor.readers.graph_tenant import _raw_pages
from auditor.snapshot.devices import DevicesState
from auditor.snapshot.models import Section

SOURCE = "graph:GET /devices?$expand=registeredOwners"


async def read_devices(client: Any) -> Section[DevicesState]:
    async def fetch() -> DevicesState:
        rows = [d async for page in _raw_pages(client.devices, select=list(SELECT), expand=[EXPAND]) for d in page]
        return DevicesState(devices=device_rows(rows))

    return await _read(SOURCE, fetch)
