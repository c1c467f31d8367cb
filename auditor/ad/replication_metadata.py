"""An attribute's last change as a DC keeps it: who (which DC), when and which version.

Two forms, one meaning:

- `replPropertyMetaData`, the stored binary every DC keeps per object (Samba returns only this one). Its layout is
  Samba's `replPropertyMetaDataBlob` (librpc/idl/drsblobs.idl): a header (version 1, reserved, count, reserved,
  each a little-endian uint32), then per attribute 48 bytes: attid (ATTRTYP), version, the originating change time
  (seconds since 1601-01-01 UTC, a DSTIME), the originating DSA's invocation id (a GUID), the originating USN and
  the local USN. [MS-DRSR] 5.162 PROPERTY_META_DATA_EXT / 4.1.10.2.22 hold the same fields
  (https://learn.microsoft.com/openspecs/windows_protocols/ms-drsr/).
- `msDS-ReplAttributeMetaData`, the constructed attribute Windows DCs return: one `DS_REPL_ATTR_META_DATA` XML
  document per attribute, naming the attribute and the originating DC's NTDS Settings DN
  (https://learn.microsoft.com/windows/win32/adschema/a-msds-replattributemetadata,
  https://learn.microsoft.com/windows/win32/api/ntdsapi/ns-ntdsapi-ds_repl_attr_meta_data).

An attid names an attribute through the schema: the attribute's `msDS-IntId` when it has one, else its
`attributeID` (an OID) through the prefix table ([MS-DRSR] 5.16.4 ATTRTYP-to-OID Conversion; the prefixes every
DC starts with are below, as Samba's source4/dsdb/schema/schema_prefixmap.c sets them). Checked against a Samba
DC: nTSecurityDescriptor 1.2.840.113556.1.2.281 is 0x00020119 and minPwdAge 1.2.840.113556.1.4.78 is 0x0009004E.
"""

from __future__ import annotations

import re
import struct
import uuid
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

# [MS-DRSR] 5.16.4: the initial prefix table (index → OID prefix)
DEFAULT_PREFIXES: dict[int, str] = {
    0x00: "2.5.4", 0x01: "2.5.6", 0x02: "1.2.840.113556.1.2", 0x03: "1.2.840.113556.1.3",
    0x04: "2.16.840.1.101.2.2.1", 0x05: "2.16.840.1.101.2.2.3", 0x06: "2.16.840.1.101.2.1.5",
    0x07: "2.16.840.1.101.2.1.4", 0x08: "2.5.5", 0x09: "1.2.840.113556.1.4", 0x0A: "1.2.840.113556.1.5",
    0x13: "0.9.2342.19200300.100", 0x14: "2.16.840.1.113730.3", 0x15: "0.9.2342.19200300.100.1",
    0x16: "2.16.840.1.113730.3.1", 0x17: "1.2.840.113556.1.5.7000", 0x18: "2.5.21", 0x19: "2.5.18",
    0x1A: "2.5.20",
}
_INDEX_OF_PREFIX = {prefix: index for index, prefix in DEFAULT_PREFIXES.items()}
_HEADER = struct.Struct("<IIII")
_ENTRY = struct.Struct("<IIq16sqq")
_EPOCH_1601 = datetime(1601, 1, 1, tzinfo=UTC)
_MAX_ENTRIES = 10_000  # an object has a few hundred attributes at most: more is a broken blob


class MetadataError(ValueError):
    """Replication metadata in a shape this parser does not know, worded for the report."""


@dataclass(frozen=True)
class MetaEntry:
    """One attribute's last originating change."""

    version: int
    changed_at: datetime
    invocation_id: str  # the originating DSA's invocation id (GUID text, lower case)
    originating_usn: int
    attid: int | None = None  # replPropertyMetaData names the attribute by attid
    name: str | None = None  # msDS-ReplAttributeMetaData names it by its LDAP display name
    originating_dsa: str | None = None  # and the originating DC's NTDS Settings DN


def attid_of(oid: str, int_id: int | None = None) -> int | None:
    """The ATTRTYP of an attribute: its msDS-IntId, else its OID through the initial prefix table (None when its
    prefix is not there: the DC assigned one of its own, which only its prefix map could tell)."""
    if int_id is not None:
        return int_id & 0xFFFFFFFF
    prefix, _, last = oid.strip().rpartition(".")
    index = _INDEX_OF_PREFIX.get(prefix)
    if index is None or not last.isdigit() or int(last) > 0xFFFF:
        return None
    return (index << 16) | int(last)


def parse_repl_property_meta_data(blob: bytes, attids: frozenset[int] | None = None) -> list[MetaEntry]:
    """The entries of a replPropertyMetaData blob, those of `attids` only when given (MetadataError when it is not
    one)."""
    if len(blob) < _HEADER.size:
        raise MetadataError(f"replPropertyMetaData of {len(blob)} bytes is shorter than its header")
    version, _, count, _ = _HEADER.unpack_from(blob)
    if version != 1:
        raise MetadataError(f"replPropertyMetaData version {version} (only version 1 is known)")
    if count > _MAX_ENTRIES or len(blob) != _HEADER.size + count * _ENTRY.size:
        raise MetadataError(f"replPropertyMetaData says {count} entries in {len(blob)} bytes")
    out = []
    for index in range(count):
        attid, entry_version, seconds, guid, originating, _local = _ENTRY.unpack_from(
            blob, _HEADER.size + index * _ENTRY.size)
        if attids is not None and attid not in attids:
            continue
        out.append(MetaEntry(version=entry_version, changed_at=_EPOCH_1601 + timedelta(seconds=seconds),
                             invocation_id=str(uuid.UUID(bytes_le=guid)), originating_usn=originating,
                             attid=attid))
    return out


_FIELDS = {"pszAttributeName": "name", "dwVersion": "version", "ftimeLastOriginatingChange": "time",
           "uuidLastOriginatingDsaInvocationID": "invocation", "usnOriginatingChange": "usn",
           "pszLastOriginatingDsaDN": "dsa"}


def parse_repl_attribute_meta_data(value: str) -> MetaEntry:
    """One msDS-ReplAttributeMetaData value (a DS_REPL_ATTR_META_DATA document)."""
    if "<!" in value:  # no DTD, no entities: a DC never sends them, and they are how XML parsers are abused
        raise MetadataError("msDS-ReplAttributeMetaData holds a DTD or entity declaration")
    try:
        root = ElementTree.fromstring(value.replace("\x00", ""))
    except ElementTree.ParseError as exc:
        raise MetadataError(f"msDS-ReplAttributeMetaData is not XML ({exc})") from None
    found = {_FIELDS[child.tag]: (child.text or "").strip() for child in root if child.tag in _FIELDS}
    missing = [tag for tag, key in _FIELDS.items() if key not in found and key != "dsa"]
    if root.tag != "DS_REPL_ATTR_META_DATA" or missing:
        raise MetadataError(f"msDS-ReplAttributeMetaData without {', '.join(missing) or root.tag}")
    try:
        changed_at = datetime.fromisoformat(re.sub(r"Z$", "+00:00", found["time"]))
        if changed_at.tzinfo is None:
            changed_at = changed_at.replace(tzinfo=UTC)
        return MetaEntry(version=int(found["version"]), changed_at=changed_at,
                         invocation_id=str(uuid.UUID(found["invocation"])), originating_usn=int(found["usn"]),
                         name=found["name"], originating_dsa=found.get("dsa") or None)
    except ValueError as exc:
        raise MetadataError(f"msDS-ReplAttributeMetaData of {found.get('name')}: {exc}") from None
