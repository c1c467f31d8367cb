"""What Graph must send of a device for the registration impact preview: its wire model.

Unlike the other wire models, a device's own fields do not fail the section: a device whose `accountEnabled`,
`isCompliant`, `trustType` or `registeredOwners` is absent (or mistyped) is one *unknown* device, each such field
named, and the count says how many covered users it leaves unknown. Only a row without an `id` (nothing to name
it by) or a page that is no collection fails the section.

Null is what Graph sends for a property that holds no value under `$select`: `isCompliant` null is a device no MDM
has marked compliant, `trustType` null one with no join type. `accountEnabled` is documented as required: null
there is unknown. Sources: the device resource, learn.microsoft.com/graph/api/resources/device; the doc's own
"List devices" example (tests/fixtures/real/graph/device-list.json) sends none of the three, so each of its
devices is unknown here, never counted as compliant or not.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from auditor.readers.graph_wire import WireError, _problem
from auditor.snapshot.devices import DeviceRow

NEEDED = ("accountEnabled", "isCompliant", "trustType", "registeredOwners")
SELECT = ("id", "displayName", "accountEnabled", "isCompliant", "trustType")
EXPAND = "registeredOwners($select=id)"
"""registeredOwners "Supports $expand" (device resource); "Currently, there can be only one owner"
(learn.microsoft.com/graph/api/device-list-registeredowners)."""


class _Wire(BaseModel):
    model_config = ConfigDict(strict=True, extra="ignore", frozen=True, populate_by_name=True)


class OwnerWire(_Wire):
    id: str


class DeviceWire(_Wire):
    id: str
    displayName: str | None = None  # evidence only
    accountEnabled: bool | None = None
    isCompliant: bool | None = None
    trustType: str | None = None
    registeredOwners: list[OwnerWire] | None = None


def device_rows(rows: list[Any]) -> list[DeviceRow]:
    """Every row as a DeviceRow, the fields it lacks named in `missing`; `WireError` when a row has no id."""
    problems: Counter[tuple[str, str]] = Counter()
    out: list[DeviceRow] = []
    for row in rows:
        if not isinstance(row, dict) or not isinstance(row.get("id"), str):
            problems[("id", "absent" if not isinstance(row, dict) or row.get("id") is None else "not a string")] += 1
            continue
        out.append(_row(row))
    if problems:
        raise WireError("devices", len(rows), problems)
    return out


def _row(row: dict[str, Any]) -> DeviceRow:
    bad: dict[str, str] = {}
    try:
        wire = DeviceWire.model_validate(row)
    except ValidationError as exc:
        for error in exc.errors(include_url=False, include_context=False):
            field, what = _problem(error)
            bad[field.split(".")[0].split("[")[0]] = what
        wire = DeviceWire.model_validate({k: v for k, v in row.items() if k not in bad})
    sent = wire.model_fields_set
    missing = [f"{name} {bad[name]}" if name in bad else f"{name} absent"
               for name in NEEDED if name in bad or name not in sent]
    for name in ("accountEnabled", "registeredOwners"):  # documented required / a collection: null is unknown
        if name in sent and getattr(wire, name) is None:
            missing.append(f"{name} null")
    owners = tuple(o.id for o in wire.registeredOwners) if wire.registeredOwners is not None else None
    return DeviceRow(id=wire.id, name=wire.displayName or wire.id, enabled=wire.accountEnabled,
                     compliant=wire.isCompliant, trust_type=wire.trustType, owners=owners,
                     missing=tuple(missing))
