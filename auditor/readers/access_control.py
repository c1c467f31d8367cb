"""Read who else holds power over the in-scope users and the sync account (`AccessControl`).

Beside the users' full descriptors (read by `directory._Reader.users` with owner and DACL), this reads the
users' ancestors up to the domain head, every protected account (adminCount=1 or a member of a protected group,
anywhere in the domain), the sync account's own descriptor, the DACLs of its groups and, for a gMSA, its
msDS-GroupMSAMembership; then resolves every SID that an ACE able to write or control names (and every owner)
and expands each group to the accounts inside it, nested groups (LDAP_MATCHING_RULE_IN_CHAIN) and primary
groups (primaryGroupID) followed. Which of them matter is the checks' business (`auditor.derive.delegation`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

from auditor import progress
from auditor.ad.dn import dn_key, is_within, parent
from auditor.ad.ds_heuristics import DIRECTORY_SERVICE_RDNS
from auditor.ad.rights import AccessMask
from auditor.ad.sd import DaclFacts, DescriptorError, parse_dacl
from auditor.ad.sid import rid, sid_from_bytes
from auditor.ad.wellknown import PROTECTED_DOMAIN_GROUP_RIDS, admin_group_sids, well_known_name
from auditor.readers.ldap_values import USERS as _USERS
from auditor.readers.ldap_values import chunks as _chunks
from auditor.readers.ldap_values import integer as _int
from auditor.readers.ldap_values import text as _text
from auditor.readers.ldap_values import texts as _texts
from auditor.snapshot.directory import (
    AccessControl,
    DirectoryUser,
    DsHeuristics,
    Member,
    Principal,
    PrincipalKind,
    ProtectedAccount,
    SecuredObject,
    ServiceAccount,
)

if TYPE_CHECKING:
    from collections.abc import Iterator


class DirectoryReader(Protocol):
    """What this module needs of the directory reader (`directory._Reader`), named here so the two modules do not
    import each other."""

    conn: Any

    def base(self, dn: str, attributes: list[str], *, sd: bool = False) -> dict[str, list[bytes]] | None: ...

    def paged(self, base: str, search_filter: str, attributes: list[str], *, scope: str = "SUBTREE",
              sd: bool = False, sd_flags: int = 0x04) -> Iterator[tuple[str, dict[str, list[bytes]]]]: ...

    def members(self, group: str) -> list[str]: ...

    def privileged_groups(self, base_dn: str, domain_sid: str) -> dict[str, str]: ...

SD_FLAGS_OWNER_DACL = 0x05  # OWNER_SECURITY_INFORMATION | DACL_SECURITY_INFORMATION
MAX_MEMBERS = 2000  # accounts kept per group (Domain Users can hold them all): more is marked truncated
# an ACE whose mask holds none of these can neither write, act nor change the descriptor: its SID is not resolved
_CONTROL_BITS = int(AccessMask.WRITE_PROPERTY | AccessMask.CONTROL_ACCESS | AccessMask.SELF | AccessMask.WRITE_DAC
                    | AccessMask.WRITE_OWNER | AccessMask.GENERIC_ALL | AccessMask.GENERIC_WRITE)
_ACCOUNT_ATTRIBUTES = ["objectSid", "objectClass", "sAMAccountName", "memberOf", "primaryGroupID"]
_GMSA_CLASS = b"msds-groupmanagedserviceaccount"


def read_access_control(reader: DirectoryReader, base_dn: str, domain_sid: str, account: ServiceAccount | None,
                        users: list[DirectoryUser], dacls: dict[str, DaclFacts],
                        extra: list[DaclFacts]) -> AccessControl:
    """The delegation view; adds the protected accounts' descriptors to `dacls` (shared keys). `extra` are
    descriptors already read (AdminSDHolder, the target OUs) whose trustees must be resolved too."""
    containers = [_owner_secured(reader, dn) for dn in _ancestors(users, base_dn)]
    protected = _protected_accounts(reader, base_dn, domain_sid, dacls)
    own: SecuredObject | None = None
    readers: DaclFacts | None = None
    readers_error: str | None = None
    groups: list[SecuredObject] = []
    if account is not None:
        own = _owner_secured(reader, account.dn)
        groups = [_owner_secured(reader, g.dn) for g in account.groups if g.dn]
        if any(c.lower() == _GMSA_CLASS.decode() for c in account.object_classes):
            readers, readers_error = managed_password_readers(reader, account.dn)
    descriptors = [*dacls.values(), *extra, *(c.dacl for c in containers if c.dacl),
                   *(g.dacl for g in groups if g.dacl), *([own.dacl] if own and own.dacl else [])]
    sids = {*admin_group_sids(domain_sid)}
    for dacl in descriptors:
        sids.update(a.sid for a in dacl.aces if a.mask & _CONTROL_BITS)
        if dacl.owner:
            sids.add(dacl.owner)
    if readers is not None:
        sids.update(a.sid for a in readers.aces)
    principals = _principals(reader, base_dn, domain_sid, sorted(sids))
    admins = set()
    for sid in admin_group_sids(domain_sid):
        admins.add(sid)
        admins.update(m.sid for m in principals[sid].members or [])
    return AccessControl(principals=principals, admin_sids=sorted(admins), containers=containers,
                         protected_accounts=protected, service_account=own, service_account_groups=groups,
                         managed_password_readers=readers, managed_password_readers_error=readers_error,
                         ds_heuristics=read_ds_heuristics(reader, base_dn))


def managed_password_readers(reader: DirectoryReader, dn: str) -> tuple[DaclFacts | None, str | None]:
    """A gMSA's msDS-GroupMSAMembership (who may retrieve its password), or why it is not known. The attribute "is
    used for access checks to determine if a requestor has permission to retrieve the password" (learn.microsoft.com/
    windows/win32/adschema/a-msds-groupmsamembership): a gMSA in use has it, or no host could run the agent, so
    absent from the answer means not readable by the bind account here, never "nobody"."""
    raw = reader.base(dn, ["msDS-GroupMSAMembership"])
    if raw is None:
        return None, "the gMSA was not found or not readable"
    values = raw.get("msDS-GroupMSAMembership") or []
    if not values:
        return None, ("msDS-GroupMSAMembership was not returned: the bind account may not read it (a gMSA in use "
                      "always names who may retrieve its password)")
    try:
        return parse_dacl(bytes(values[0])), None
    except DescriptorError as exc:
        return None, f"msDS-GroupMSAMembership: {exc}"


def read_ds_heuristics(reader: DirectoryReader, base_dn: str) -> DsHeuristics:
    """dSHeuristics of the configuration NC's Directory Service object (dwAdminSDExMask, [MS-ADTS] 3.1.1.6.1.4).
    Absent means not set (nothing excluded: a read denied on the attribute looks the same, the documented-absence
    gap of docs/semantics.md 3); the object missing is an error."""
    root = reader.base("", ["configurationNamingContext"]) or {}
    configuration = _text(root, "configurationNamingContext") or f"CN=Configuration,{base_dn}"
    dn = f"{DIRECTORY_SERVICE_RDNS},{configuration}"
    raw = reader.base(dn, ["dSHeuristics"])
    if raw is None:
        return DsHeuristics(dn=dn, error="the Directory Service object was not found (or not readable)")
    return DsHeuristics(dn=dn, value=_text(raw, "dSHeuristics"))


def _ancestors(users: list[DirectoryUser], base_dn: str) -> list[str]:
    """Every container between an in-scope user and the domain head, the head included."""
    seen: dict[str, str] = {}
    for container in {dn_key(parent(u.dn)): parent(u.dn) for u in users}.values():
        current = container
        while is_within(current, base_dn) and dn_key(current) not in seen:
            seen[dn_key(current)] = current
            if dn_key(current) == dn_key(base_dn):
                break
            current = parent(current)
    return sorted(seen.values(), key=lambda dn: (len(dn), dn))


def _owner_secured(reader: DirectoryReader, dn: str) -> SecuredObject:
    """An object's owner and DACL (the reader's own control asks for the DACL only)."""
    import base64

    from ldap3 import BASE
    from ldap3.protocol.microsoft import security_descriptor_control

    ok = reader.conn.search(dn, "(objectClass=*)", BASE, attributes=["nTSecurityDescriptor"],
                            controls=security_descriptor_control(sdflags=SD_FLAGS_OWNER_DACL))
    entries = [r for r in reader.conn.response or [] if r.get("type") == "searchResEntry"] if ok else []
    if not entries:
        return SecuredObject(dn=dn, exists=False, error="no such object or not readable")
    values = entries[0]["raw_attributes"].get("nTSecurityDescriptor") or []
    progress.advance("LDAP", "descriptors", 1, "descriptors")
    if not values:
        return SecuredObject(dn=dn, error="the DC returned no nTSecurityDescriptor (no right to read it)")
    blob = bytes(values[0])
    try:
        return SecuredObject(dn=dn, dacl=parse_dacl(blob), descriptor_b64=base64.b64encode(blob).decode())
    except DescriptorError as exc:
        return SecuredObject(dn=dn, error=str(exc))


def _protected_accounts(reader: DirectoryReader, base_dn: str, domain_sid: str,
                        dacls: dict[str, DaclFacts]) -> list[ProtectedAccount]:
    from ldap3.utils.conv import escape_filter_chars


    privileged = reader.privileged_groups(base_dn, domain_sid)
    terms = ["(adminCount=1)", *(f"(primaryGroupID={r})" for r in PROTECTED_DOMAIN_GROUP_RIDS)]
    # the closure is keyed by dn_key: a DN, lower-cased, which the DC compares without case
    terms += [f"(memberOf={escape_filter_chars(key)})" for key in privileged]
    out: dict[str, ProtectedAccount] = {}
    parsed: dict[bytes, str] = {}
    for start in range(0, len(terms), 50):
        search = f"(&{_USERS}(|{''.join(terms[start:start + 50])}))"
        for dn, raw in reader.paged(base_dn, search, ["sAMAccountName", "objectSid", "adminCount", "memberOf",
                                                      "primaryGroupID", "userAccountControl", "nTSecurityDescriptor"],
                                    sd=True, sd_flags=SD_FLAGS_OWNER_DACL):
            if dn_key(dn) in out:
                continue
            via = sorted({privileged[k] for k in map(dn_key, _texts(raw, "memberOf")) if k in privileged})
            primary = _int(raw, "primaryGroupID")
            if primary in PROTECTED_DOMAIN_GROUP_RIDS:
                via = sorted({*via, PROTECTED_DOMAIN_GROUP_RIDS[primary]})
            key = None
            if raw.get("nTSecurityDescriptor"):
                blob = bytes(raw["nTSecurityDescriptor"][0])
                key = parsed.get(blob)
                if key is None:
                    facts = parse_dacl(blob)
                    key = parsed[blob] = facts.key()
                    dacls.setdefault(key, facts)
            sid = sid_from_bytes(raw["objectSid"][0]) if raw.get("objectSid") else None
            if sid and rid(sid) == 500 and sid.startswith(domain_sid + "-"):
                via = sorted({*via, "Administrator (built-in account)"})
            out[dn_key(dn)] = ProtectedAccount(
                dn=dn, sid=sid, name=_text(raw, "sAMAccountName"), admin_count=_int(raw, "adminCount"),
                privileged_via=via, enabled=not (_int(raw, "userAccountControl") or 0) & 0x2, dacl_key=key)
    return list(out.values())


def _kind(classes: list[bytes]) -> PrincipalKind:
    names = {bytes(c).lower() for c in classes}
    if b"group" in names:
        return "group"
    if _GMSA_CLASS in names or b"msds-managedserviceaccount" in names:
        return "managed_service_account"
    if b"computer" in names:
        return "computer"
    return "user"


def _principals(reader: DirectoryReader, base_dn: str, domain_sid: str, sids: list[str]) -> dict[str, Principal]:
    from ldap3.utils.conv import escape_filter_chars


    found: dict[str, tuple[str, dict[str, list[bytes]]]] = {}
    for chunk in _chunks(sids, 50):
        terms = "".join(f"(objectSid={escape_filter_chars(s)})" for s in chunk)
        for dn, raw in reader.paged(base_dn, f"(|{terms})", _ACCOUNT_ATTRIBUTES):
            found[sid_from_bytes(raw["objectSid"][0])] = (dn, raw)
    out: dict[str, Principal] = {}
    expansions: dict[str, tuple[dict[str, Member], dict[str, tuple[str, list[str]]]]] = {}
    for sid in sids:
        name = well_known_name(sid)
        if name is not None or sid not in found:  # a well-known SID may have a ForeignSecurityPrincipals entry
            out[sid] = Principal(sid=sid, name=name or sid, kind="well_known" if name else "unresolved")
            continue
        dn, raw = found[sid]
        kind = _kind(raw.get("objectClass", []))
        name = _text(raw, "sAMAccountName") or dn
        if kind != "group":
            out[sid] = Principal(sid=sid, name=name, dn=dn, kind=kind)
            continue
        expansions[sid] = _nested(reader, base_dn, dn, sid, name)
        out[sid] = Principal(sid=sid, name=name, dn=dn, kind="group")
    _primary_members(reader, base_dn, domain_sid, expansions)
    for sid, (members, _) in expansions.items():
        listed = list(members.values())
        out[sid] = out[sid].model_copy(update={"members": listed[:MAX_MEMBERS],
                                               "members_truncated": len(listed) > MAX_MEMBERS})
    return out


def _nested(reader: DirectoryReader, base_dn: str, group_dn: str, group_sid: str,
            group_name: str) -> tuple[dict[str, Member], dict[str, tuple[str, list[str]]]]:
    """The accounts inside a group through `member` (range-read), nested groups followed breadth first, and every
    group met (SID → its name and the path of groups down to it). Reading `member` lists and then the members by
    DN costs a few indexed searches; asking the DC for LDAP_MATCHING_RULE_IN_CHAIN makes Samba walk every object
    of the domain for each group (a second per group at 5,000 users)."""
    from ldap3.utils.conv import escape_filter_chars


    members: dict[str, Member] = {}
    groups: dict[str, tuple[str, list[str]]] = {group_sid: (group_name, [])}
    seen = {dn_key(group_dn)}
    frontier: list[tuple[str, list[str]]] = [(group_dn, [])]
    while frontier and len(members) <= MAX_MEMBERS:
        following: list[tuple[str, list[str]]] = []
        for dn, path in frontier:
            fresh = [m for m in reader.members(dn) if dn_key(m) not in seen]
            seen.update(dn_key(m) for m in fresh)
            for chunk in _chunks(fresh, 60):
                terms = "".join(f"(distinguishedName={escape_filter_chars(m)})" for m in chunk)
                for member_dn, raw in reader.paged(base_dn, f"(|{terms})", _ACCOUNT_ATTRIBUTES):
                    if not raw.get("objectSid"):
                        continue
                    if _kind(raw.get("objectClass", [])) == "group":
                        name = _text(raw, "sAMAccountName") or member_dn
                        groups[sid_from_bytes(raw["objectSid"][0])] = (name, [*path, name])
                        following.append((member_dn, [*path, name]))
                    else:
                        _add(members, member_dn, raw, path)
        frontier = following
    return members, groups


def _primary_members(reader: DirectoryReader, base_dn: str, domain_sid: str,
                     expansions: dict[str, tuple[dict[str, Member], dict[str, tuple[str, list[str]]]]]) -> None:
    """Accounts whose primary group is an expanded group or one nested in it: one search for all of them."""

    rids = sorted({rid(g) for _, groups in expansions.values() for g in groups if g.startswith(domain_sid + "-")})
    for chunk in _chunks(rids, 50):
        terms = "".join(f"(primaryGroupID={r})" for r in chunk)
        for dn, raw in reader.paged(base_dn, f"(&(objectSid=*)(|{terms}))", _ACCOUNT_ATTRIBUTES):
            primary = f"{domain_sid}-{_int(raw, 'primaryGroupID')}"
            for members, groups in expansions.values():
                if primary in groups and len(members) <= MAX_MEMBERS:
                    name, path = groups[primary]
                    _add(members, dn, raw, [*path[:-1], f"{name} (primary group)"] if path else
                         [f"{name} (primary group)"])


def _add(members: dict[str, Member], dn: str, raw: dict[str, list[bytes]], via: list[str]) -> None:

    if not raw.get("objectSid"):
        return
    sid = sid_from_bytes(raw["objectSid"][0])
    if sid in members:
        return
    known = well_known_name(sid)  # Authenticated Users and the like, nested through ForeignSecurityPrincipals
    members[sid] = Member(sid=sid, name=known or _text(raw, "sAMAccountName") or dn, dn=dn,
                          kind="well_known" if known else _kind(raw.get("objectClass", [])), via=via)
