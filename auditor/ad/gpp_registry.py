"""Group Policy Preferences registry items (`Machine\\Preferences\\Registry\\Registry.xml`), no I/O.

[MS-GPPREF] (https://learn.microsoft.com/openspecs/windows_protocols/ms-gppref/) 2.2.1.2 (Registry): each
`<Registry>` element (possibly inside `<Collection>`s) has a `<Properties>` child with `action`, `hive`, `key`,
`name`, `type` (REG_SZ, REG_DWORD, ...) and `value` (a REG_DWORD as 8 hex digits). The actions
(Set-GPPrefRegistryValue -Action Create|Replace|Update|Delete, https://learn.microsoft.com/powershell/module/
grouppolicy/set-gpprefregistryvalue; the editor's Action list) differ in what they leave:

- `U` update (the default): sets the value, creating it when missing;
- `R` replace: deletes and re-creates it, so it too leaves the item's value;
- `C` create: creates the value only where it does not exist; an existing value is left as it is. So after an
  earlier item of this file set it, a `C` item changes nothing; where nothing before it in the file did, what a
  computer keeps depends on whether the value was already there, which the file cannot tell: unknown.
- `D` delete: removes it.

`disabled="1"` on an item, or on a `<Collection>` that holds it, turns it off. A `<Filters>` child (of the item
or of a Collection above it) holds item-level targeting ("Preference Item-Level Targeting": each targeting item
evaluates to true or false per user or computer, http://technet.microsoft.com/en-us/library/cc733022.aspx),
which is not evaluated here: the item is reported as targeted, never as applied. One child of `<Filters>` is not
targeting: `<FilterRunOnce>` is how the editor stores the Common tab's "Apply once and do not reapply" option
(the GPMC help lists it beside, not as part of, "Item-level targeting": "Common options include: ... Apply once
and do not reapply; Item-level targeting", GPMC help "Configuring common options"; [MS-GPPREF] lists it among
the filter elements). A run-once item is applied (once per computer), so it counts as applied.
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
    """Has item-level targeting (a `<Filters>` filter other than FilterRunOnce, on the item or a Collection above
    it): applies to some computers only, not evaluated."""
    run_once: bool = False
    """"Apply once and do not reapply" (`<FilterRunOnce>`): applied once per computer, not targeting."""

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
    items: list[GppRegistryItem] = []
    _walk(root, False, False, items)
    return items


RUN_ONCE = "FilterRunOnce"


def _targeting(element: ElementTree.Element) -> tuple[bool, bool]:
    """(has item-level targeting, has FilterRunOnce) from an element's `<Filters>` child."""
    filters = element.find("Filters")
    if filters is None:
        return False, False
    kinds = [child.tag for child in filters]
    return any(kind != RUN_ONCE for kind in kinds), RUN_ONCE in kinds


def _walk(parent: ElementTree.Element, disabled: bool, targeted: bool, items: list[GppRegistryItem]) -> None:
    """Registry items in document order; a Collection's `disabled` and targeting hold for everything in it."""
    for element in parent:
        if element.tag == "Collection":
            collection_targeted, _ = _targeting(element)
            _walk(element, disabled or element.get("disabled") == "1", targeted or collection_targeted, items)
            continue
        if element.tag != "Registry":
            continue
        props = element.find("Properties")
        if props is None:
            continue
        item_targeted, run_once = _targeting(element)
        items.append(GppRegistryItem(
            hive=props.get("hive", ""), key=props.get("key", ""), name=props.get("name", ""),
            type=props.get("type", ""), value=props.get("value", ""), action=(props.get("action") or "U").upper(),
            disabled=disabled or element.get("disabled") == "1", targeted=targeted or item_targeted,
            run_once=run_once))


def machine_value(items: list[GppRegistryItem], key: str, name: str) -> tuple[int | None, str | None]:
    """(the DWORD the items leave for HKLM\\key\\name, or None; why it cannot be told, or None).

    Later items win, as the extension applies them in order; a delete removes the value; a create (`C`) sets it
    only where nothing has (module docstring).
    """
    value: int | None = None
    set_here = False
    for item in items:
        if item.disabled or item.hive.upper() not in ("HKEY_LOCAL_MACHINE", "HKLM"):
            continue
        if item.key.strip("\\").casefold() != key.strip("\\").casefold() or item.name.casefold() != name.casefold():
            continue
        if item.targeted:
            return None, (f"Registry.xml sets {name} with item-level targeting, which decides per computer and is "
                          "not evaluated")
        if item.action == "D":
            value, set_here = None, True
            continue
        if item.action == "C" and set_here and value is not None:
            continue  # create only: the value an earlier item set stays
        number = item.dword()
        if number is None:
            return None, f"Registry.xml sets {name} as {item.type} {item.value!r}, not a REG_DWORD"
        if item.action == "C" and not set_here:
            return None, (f"Registry.xml creates {name} = {number} only where the value does not exist yet (action "
                          "C, create): whether a computer already has it is not known")
        if item.action == "C":  # an earlier item of this file deleted it: the create makes it
            value = number
            continue
        if item.action not in ("U", "R"):
            return None, f"Registry.xml has action {item.action!r} for {name}, which is not C, R, U or D"
        value, set_here = number, True
    return value, None
