"""What decides whether a GPO applies to a computer beyond its links: its DACL and its WMI filter (LDAP).

Security filtering ([MS-GPOL] 3.2.5.1.6 "GPO Filter Evaluation",
https://learn.microsoft.com/openspecs/windows_protocols/ms-gpol/5ead679e-5ec1-4f43-b927-1a339da316c7): the client
reads the groupPolicyContainer's nTSecurityDescriptor and checks it "for an access control entry (ACE) that grants
the extended right ApplyGroupPolicy ... to an Active Directory security group for which the policy target account
is a member"; a deny for one of its groups makes the GPO denied. The right is Apply-Group-Policy,
edacfd8f-ffb3-11d1-b41d-00a0c968f939 (https://learn.microsoft.com/windows/win32/adschema/r-apply-group-policy).

So the reader keeps each GPO's DACL and, for every SID an ACE covering that right names, which computers carry the
SID in their token: the computer itself, the groups it is a member of (nested, LDAP_MATCHING_RULE_IN_CHAIN) and its
primary group (and the groups that primary group is nested in). Everyone and Authenticated Users are in every
computer's token; ENTERPRISE DOMAIN CONTROLLERS (S-1-5-9) in every DC's. Computers are then grouped by container
and by the set of those SIDs they carry (`ComputerToken`): the derivation decides per group.

WMI filters ([MS-GPOL] 3.2.5.1.9, https://learn.microsoft.com/openspecs/windows_protocols/ms-gpol/
494e3623-391d-40ba-a648-672119a07b5f): gPCWQLFilter names the filter's id and domain; its msWMI-Som object
(CN=SOM,CN=WMIPolicy,CN=System) holds the name (msWMI-Name) and the WQL (msWMI-Parm2) each computer runs. The tool
cannot run WQL on the computers, so it only names the filter (`auditor.derive.gpo_precedence` makes the verdict
depend on it unknown).
"""

from __future__ import annotations

import re

from auditor.ad.dn import dn_key, parent, rdn_value
from auditor.ad.rights import APPLY_GROUP_POLICY, GROUP_POLICY_CONTAINER_CLASS
from auditor.ad.sd import DaclFacts, DescriptorError, covers, parse_dacl
from auditor.ad.sid import rid, sid_from_bytes
from auditor.ad.wellknown import ENTERPRISE_DOMAIN_CONTROLLERS, IMPLICIT_TOKEN_SIDS
from auditor.readers.access_control import DirectoryReader as _Reader  # the reader's Protocol: no import cycle
from auditor.snapshot.directory import ComputerToken, GroupPolicy

_IN_CHAIN = "1.2.840.113556.1.4.1941"
MEMBER_COMPUTERS = "(&(objectCategory=computer)(!(userAccountControl:1.2.840.113556.1.4.803:=8192)))"
DOMAIN_CONTROLLERS = "(&(objectCategory=computer)(userAccountControl:1.2.840.113556.1.4.803:=8192))"
_WQL_FILTER = re.compile(r"\[\s*([^;\]]*);\s*(\{[0-9A-Fa-f-]{36}\})\s*;[^\]]*\]")
_EXAMPLES = 3


def gpo_dacl(dn: str, raw: dict[str, list[bytes]]) -> tuple[DaclFacts | None, str | None]:
    """The groupPolicyContainer's DACL, or why it is not known (security filtering is then unknown)."""
    values = raw.get("nTSecurityDescriptor") or []
    if not values:
        return None, f"the DC returned no nTSecurityDescriptor for {dn} (no right to read it)"
    try:
        return parse_dacl(bytes(values[0])), None
    except DescriptorError as exc:
        return None, f"the nTSecurityDescriptor of {dn} is not readable: {exc}"


def wmi_filter_id(gpc_wql_filter: str) -> str | None:
    """The filter's {GUID} in gPCWQLFilter (`[domain;{GUID};0]`), None when the value has another shape."""
    match = _WQL_FILTER.search(gpc_wql_filter)
    return match.group(2).upper() if match else None


def wql_queries(parm2: str) -> str:
    """The WQL of msWMI-Parm2 (`<count>;` then per query `<len>;<len>;<len>;<language>;<namespace>;<query>;`),
    as `namespace: query` joined by ` AND `; the raw value when it has another shape."""
    try:
        count_text, rest = parm2.split(";", 1)
        out = []
        for _ in range(int(count_text)):
            lengths = rest.split(";", 3)
            language_len, namespace_len, query_len = (int(v) for v in lengths[:3])
            body = lengths[3]
            namespace = body[language_len + 1:language_len + 1 + namespace_len]
            start = language_len + 1 + namespace_len + 1
            out.append(f"{namespace}: {body[start:start + query_len]}")
            rest = body[start + query_len + 1:]
        return " AND ".join(out) or parm2
    except (ValueError, IndexError):
        return parm2


def with_wmi_filters(reader: _Reader, base_dn: str, gpos: list[GroupPolicy]) -> list[GroupPolicy]:
    """Each WMI-filtered GPO with its filter's name and WQL, or why the msWMI-Som object was not read."""
    if not any(g.wmi_filter for g in gpos):
        return gpos
    container = f"CN=SOM,CN=WMIPolicy,CN=System,{base_dn}"
    filters: dict[str, tuple[str | None, str | None]] = {}
    for dn, raw in reader.paged(container, "(objectClass=msWMI-Som)", ["msWMI-ID", "msWMI-Name", "msWMI-Parm2"],
                                scope="LEVEL"):
        ident = _text(raw, "msWMI-ID") or rdn_value(dn)
        parm2 = _text(raw, "msWMI-Parm2")
        filters[ident.upper()] = (_text(raw, "msWMI-Name"), wql_queries(parm2) if parm2 else None)
    out = []
    for gpo in gpos:
        if not gpo.wmi_filter:
            out.append(gpo)
            continue
        filter_id = wmi_filter_id(gpo.wmi_filter)
        found = filters.get(filter_id) if filter_id else None
        if found is None:
            why = (f"gPCWQLFilter {gpo.wmi_filter!r} names no filter id" if filter_id is None else
                   f"no msWMI-Som object {filter_id} under {container}")
            out.append(gpo.model_copy(update={"wmi_filter_error": why}))
        else:
            out.append(gpo.model_copy(update={"wmi_filter_name": found[0], "wmi_filter_query": found[1]}))
    return out


def apply_sids(gpos: list[GroupPolicy]) -> set[str]:
    """Every SID an ACE covering Apply Group Policy names, on any GPO (allow or deny)."""
    return {ace.sid for gpo in gpos if gpo.dacl is not None for ace in gpo.dacl.aces
            if not ace.inherit_only and covers(ace, APPLY_GROUP_POLICY, GROUP_POLICY_CONTAINER_CLASS)}


def computer_tokens(reader: _Reader, base_dn: str, domain_sid: str, gpos: list[GroupPolicy],
                    ) -> tuple[list[ComputerToken], list[ComputerToken]]:
    """(member computers, domain controllers), grouped by container and the GPO-relevant SIDs of their tokens."""
    implicit = set(IMPLICIT_TOKEN_SIDS) | {ENTERPRISE_DOMAIN_CONTROLLERS}
    holders = {sid: _holders(reader, base_dn, domain_sid, sid) for sid in sorted(apply_sids(gpos) - implicit)}
    members = _grouped(reader, base_dn, MEMBER_COMPUTERS, holders, set(IMPLICIT_TOKEN_SIDS))
    dcs = _grouped(reader, base_dn, DOMAIN_CONTROLLERS, holders,
                   set(IMPLICIT_TOKEN_SIDS) | {ENTERPRISE_DOMAIN_CONTROLLERS})
    return members, dcs


def _grouped(reader: _Reader, base_dn: str, search: str, holders: dict[str, set[str]],
             implicit: set[str]) -> list[ComputerToken]:
    groups: dict[tuple[str, frozenset[str]], list[str]] = {}
    for dn, _ in reader.paged(base_dn, search, ["1.1"]):
        key = dn_key(dn)
        sids = frozenset(implicit | {sid for sid, held in holders.items() if key in held})
        groups.setdefault((parent(dn), sids), []).append(rdn_value(dn))
    return [ComputerToken(container=container, computers=len(names), sids=sorted(sids),
                          examples=sorted(names)[:_EXAMPLES])
            for (container, sids), names in sorted(groups.items(), key=lambda item: (item[0][0], sorted(item[0][1])))]


def _holders(reader: _Reader, base_dn: str, domain_sid: str, sid: str) -> set[str]:
    """dn_key of every computer whose token carries `sid`: the computer itself, or a member of the group (nested,
    or through its primary group)."""
    from ldap3.utils.conv import escape_filter_chars

    found = list(reader.paged(base_dn, f"(objectSid={escape_filter_chars(sid)})", ["objectClass"]))
    if not found:
        return set()  # a SID of another domain or a deleted principal: no computer here carries it
    dn, raw = found[0]
    classes = {bytes(v).decode("ascii", "replace").lower() for v in raw.get("objectClass", [])}
    if "computer" in classes:
        return {dn_key(dn)}
    if "group" not in classes:
        return set()
    escaped = escape_filter_chars(dn)
    groups = [(dn, sid)] + [(g, sid_from_bytes(r["objectSid"][0])) for g, r in reader.paged(
        base_dn, f"(&(objectClass=group)(memberOf:{_IN_CHAIN}:={escaped}))", ["objectSid"]) if r.get("objectSid")]
    # primaryGroupID holds a RID of the computer's own domain: only groups of this domain can be one
    primaries = "".join(f"(primaryGroupID={rid(s)})" for _, s in groups if s.rsplit("-", 1)[0] == domain_sid)
    search = f"(&(objectCategory=computer)(|(memberOf:{_IN_CHAIN}:={escaped}){primaries}))"
    return {dn_key(computer) for computer, _ in reader.paged(base_dn, search, ["1.1"])}


def _text(raw: dict[str, list[bytes]], name: str) -> str | None:
    values = raw.get(name) or []
    return bytes(values[0]).decode("utf-8", "replace") if values else None
