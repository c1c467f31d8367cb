"""Read when, where and how often the attributes behind the checks' verdicts last changed (`ChangeMetadata`).

Per object the DC is asked for `msDS-ReplAttributeMetaData` (Windows: the attribute named, and the originating DC's
NTDS Settings DN) and `replPropertyMetaData` (every DC, Samba only this; the users' comes with the user search, a
stored attribute every DC returns in a subtree search: attributes named by attid, mapped through
the schema's `attributeID`/`msDS-IntId`, `auditor.ad.replication_metadata`). An invocation id is named by the DC
whose NTDS Settings object holds it (`invocationId`); a retired or unknown one stays an id.

Attribution is evidence, never a verdict: an object the bind account may not read the metadata of says so
(`ObjectChanges.error`), and a failure of this whole read leaves the directory read standing.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import TYPE_CHECKING

from auditor.ad.dn import dn_key, parent, rdn_value
from auditor.ad.replication_metadata import (
    MetadataError,
    MetaEntry,
    attid_of,
    parse_repl_attribute_meta_data,
    parse_repl_property_meta_data,
)
from auditor.readers.ldap_values import chunks as _chunks
from auditor.readers.ldap_values import integer as _int
from auditor.readers.ldap_values import text as _text
from auditor.readers.ldap_values import texts as _texts
from auditor.snapshot.directory import AttributeChange, ChangeMetadata, ObjectChanges

if TYPE_CHECKING:
    from auditor.readers.access_control import DirectoryReader

# the attributes the on-premises checks judge (their findings name them): the DACL for ACE drift, a GPO's version
# and its link for GPO drift, the domain's and the PSOs' password settings, and the users' attributes
ATTRIBUTES = (
    "nTSecurityDescriptor", "minPwdAge", "maxPwdAge", "gPLink", "versionNumber", "flags", "gPCFileSysPath",
    "msDS-MinimumPasswordAge", "msDS-MaximumPasswordAge", "msDS-PasswordSettingsPrecedence", "msDS-PSOAppliesTo",
    "mobile", "telephoneNumber", "pwdLastSet", "adminCount", "userAccountControl",
    "sAMAccountName",  # the sync account's name: ad.sync_engine reads Entra Connect's or Cloud Sync's in it
)
_ASKED = ["msDS-ReplAttributeMetaData", "replPropertyMetaData"]
_DENIED = "the DC returned no replication metadata (no right to read it)"


# on a user: what the user checks judge (the service account and protected accounts are read as `objects`)
USER_ATTRIBUTES = ("nTSecurityDescriptor", "mobile", "telephoneNumber", "pwdLastSet", "adminCount")


def read_change_metadata(reader: DirectoryReader, base_dn: str, objects: Iterable[str],
                         users: dict[str, bytes | None]) -> ChangeMetadata:
    """The last change of ATTRIBUTES on each of `objects`, and of USER_ATTRIBUTES on each user from the
    replPropertyMetaData the user search returned (`users`: DN → blob, None when the DC returned none)."""
    root = reader.base("", ["schemaNamingContext", "configurationNamingContext", "dnsHostName"]) or {}
    schema = _text(root, "schemaNamingContext") or f"CN=Schema,CN=Configuration,{base_dn}"
    configuration = _text(root, "configurationNamingContext") or f"CN=Configuration,{base_dn}"
    by_attid = _attids(reader, schema)
    dcs = _invocation_ids(reader, configuration)
    found: dict[str, ObjectChanges] = {}
    forms: set[str] = set()
    for dn in dict.fromkeys(objects):
        if dn_key(dn) in found:
            continue
        raw = reader.base(dn, _ASKED)
        if raw is not None:
            found[dn_key(dn)] = _changes(dn, raw, by_attid, dcs, forms)
    user_attids = {attid: name for attid, name in by_attid.items() if name in USER_ATTRIBUTES}
    for dn, blob in users.items():
        if dn_key(dn) not in found:
            found[dn_key(dn)] = _changes(dn, {"replPropertyMetaData": [blob]} if blob else {}, user_attids, dcs,
                                         forms)
    where = _text(root, "dnsHostName") or "the DC"
    return ChangeMetadata(source=f"{' and '.join(sorted(forms)) or 'replication metadata'} on {where}",
                          objects=found)


def _attids(reader: DirectoryReader, schema: str) -> dict[int, str]:
    """attid → LDAP display name of ATTRIBUTES, from the DC's own schema."""
    from ldap3.utils.conv import escape_filter_chars

    out: dict[int, str] = {}
    for chunk in _chunks(list(ATTRIBUTES), 20):
        terms = "".join(f"(lDAPDisplayName={escape_filter_chars(name)})" for name in chunk)
        for _, raw in reader.paged(schema, f"(&(objectClass=attributeSchema)(|{terms}))",
                                   ["lDAPDisplayName", "attributeID", "msDS-IntId"], scope="LEVEL"):
            name, oid = _text(raw, "lDAPDisplayName"), _text(raw, "attributeID")
            attid = attid_of(oid, _int(raw, "msDS-IntId")) if oid else None
            if name and attid is not None:
                out[attid] = name
    return out


def _invocation_ids(reader: DirectoryReader, configuration: str) -> dict[str, str]:
    """Invocation id (GUID text) → the DC's name (its server object's), for every DC of the forest."""
    out: dict[str, str] = {}
    for dn, raw in reader.paged(configuration, "(objectClass=nTDSDSA)", ["invocationId"]):
        for value in raw.get("invocationId") or []:
            if len(bytes(value)) == 16:
                out[str(uuid.UUID(bytes_le=bytes(value)))] = rdn_value(parent(dn))
    return out


def _changes(dn: str, raw: dict[str, list[bytes]], by_attid: dict[int, str], dcs: dict[str, str],
             forms: set[str]) -> ObjectChanges:
    wanted = {name.lower(): name for name in ATTRIBUTES}
    try:
        entries: list[tuple[str, MetaEntry]] = []
        constructed = _texts(raw, "msDS-ReplAttributeMetaData")
        if constructed:  # Windows: each value names its attribute and the originating DC
            forms.add("msDS-ReplAttributeMetaData")
            for value in constructed:
                entry = parse_repl_attribute_meta_data(value)
                if entry.name and entry.name.lower() in wanted:
                    entries.append((wanted[entry.name.lower()], entry))
        elif raw.get("replPropertyMetaData"):
            forms.add("replPropertyMetaData")
            for entry in parse_repl_property_meta_data(bytes(raw["replPropertyMetaData"][0]), frozenset(by_attid)):
                entries.append((by_attid[entry.attid or 0], entry))
        else:
            return ObjectChanges(dn=dn, error=_DENIED)
    except MetadataError as exc:
        return ObjectChanges(dn=dn, error=str(exc))
    return ObjectChanges(dn=dn, attributes={name: _change(entry, dcs) for name, entry in entries})


def _change(entry: MetaEntry, dcs: dict[str, str]) -> AttributeChange:
    name = dcs.get(entry.invocation_id)
    if name is None and entry.originating_dsa:  # Windows names the DC's NTDS Settings object
        name = rdn_value(parent(entry.originating_dsa)) or None
    return AttributeChange(changed_at=entry.changed_at, version=entry.version,
                           originating_dc=name or entry.invocation_id,
                           invocation_id=None if name else entry.invocation_id)
