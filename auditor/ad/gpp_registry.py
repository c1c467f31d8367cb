"""Group Policy Preferences registry items (`Machine\\Preferences\\Registry\\Registry.xml`), no I/O.

[MS-GPPREF] 2.2.1.2 (Registry): each `<Registry>` element (possibly inside `<Collection>`s) has a
`<Properties>` child with `action` (C create, R replace, U update — the default —, D delete),
`hive`, `key`, `name`, `type` (REG_SZ, REG_DWORD, ...) and `value` (a REG_DWORD as 8 hex digits).
`disabled="1"` on the item turns it off; a `<Filters>` child is item-level targeting, which decides
per computer and is not evaluated here (the item is then reported as targeted, never as applied).
The XML is untrusted: a document type declaration (entity tricks) is refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from xml.etree import ElementTree

MACHINE_PREFERENCES_FILE = r"Machine\Preferences\Registry\Registry.xml"
MAX_BYTES = 16 * 1024 * 1024


class GppError(ValueError):
    """The bytes are not a readable Registry.xml."""


@dataclass(frozen=True)
class GppRegistryItem:
    hive: str
    key: str
    name: str
    type: str
    value: str
    action: str
    disabled: bool
    targeted: bool
    """Has item-level targeting (`<Filters>`): applies to some computers only, not evaluated."""

    def dword(self) -> int | None:
        if self.type != "REG_DWORD":
            return None
        try:
            return int(self.value, 16)
        except ValueError:
            return None


def parse(data: bytes) -> list[GppRegistryItem]:
    """Every registry item of a Registry.xml, in document order."""
    if len(data) > MAX_BYTES:
        raise GppError(f"larger than {MAX_BYTES} bytes")
    if b"<!DOCTYPE" in data.upper() or b"<!ENTITY" in data.upper():
        raise GppError("holds a document type declaration, which Registry.xml never has: refused")
    try:
        root = ElementTree.fromstring(data)
    except ElementTree.ParseError as exc:
        raise GppError(f"not well-formed XML: {exc}") from None
    items = []
    for element in root.iter("Registry"):
        props = element.find("Properties")
        if props is None:
            continue
        items.append(GppRegistryItem(
            hive=props.get("hive", ""), key=props.get("key", ""), name=props.get("name", ""),
            type=props.get("type", ""), value=props.get("value", ""), action=(props.get("action") or "U").upper(),
            disabled=element.get("disabled") == "1", targeted=element.find("Filters") is not None))
    return items


def machine_value(items: list[GppRegistryItem], key: str, name: str) -> tuple[int | None, str | None]:
    """(the DWORD the items leave for HKLM\\key\\name, or None; why it cannot be told, or None).

    Later items win, as the extension applies them in order; a delete removes the value.
    """
    value: int | None = None
    for item in items:
        if item.disabled or item.hive.upper() not in ("HKEY_LOCAL_MACHINE", "HKLM"):
            continue
        if item.key.strip("\\").casefold() != key.strip("\\").casefold() or item.name.casefold() != name.casefold():
            continue
        if item.targeted:
            return None, (f"Registry.xml sets {name} with item-level targeting, which decides per computer and is "
                          "not evaluated")
        if item.action == "D":
            value = None
            continue
        number = item.dword()
        if number is None:
            return None, f"Registry.xml sets {name} as {item.type} {item.value!r}, not a REG_DWORD"
        value = number
    return value, None
