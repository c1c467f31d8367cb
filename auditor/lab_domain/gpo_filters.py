"""GPO security filtering and WMI filters in the lab domain, written as the Group Policy Management Console does.

Security filtering in the GPMC ("Security Filtering: remove Authenticated Users, add a group") takes the Apply Group
Policy right (edacfd8f-ffb3-11d1-b41d-00a0c968f939) away from Authenticated Users, keeping their Read, and grants
Read + Apply to the group ([MS-GPOL] 3.2.5.1.6 is how a client honours it). A WMI filter is an msWMI-Som object under
CN=SOM,CN=WMIPolicy,CN=System holding its name (msWMI-Name) and WQL (msWMI-Parm2, `1;3;10;<len>;WQL;root\\CIMv2;
<query>;`), bound to a GPO by its gPCWQLFilter (`[domain;{id};0]`; [MS-GPOL] 3.2.5.1.9).

Used by tests and the `--lab` scenarios that want them; kept apart from the scenario seeder.
"""

from __future__ import annotations

import uuid
from typing import Any

from auditor.ad.rights import APPLY_GROUP_POLICY, AccessMask
from auditor.ad.sd import AceFact, parse_dacl
from auditor.ad.wellknown import AUTHENTICATED_USERS
from auditor.lab_domain.samba import SambaDC, SambaError

SD_FLAGS_DACL = 0x04
SERVERS_ONLY = 'SELECT * FROM Win32_OperatingSystem WHERE ProductType = "3"'


def gpo_dn(dc: SambaDC, guid: str) -> str:
    return f"CN={guid},CN=Policies,CN=System,{dc.base_dn}"


def security_filter(dc: SambaDC, conn: Any, guid: str, apply_to: list[str]) -> None:
    """Security-filter the GPO to `apply_to` (SIDs): Authenticated Users keep Read but lose Apply Group Policy."""
    target = gpo_dn(dc, guid)
    raw = _descriptor(conn, target)
    kept = [ace for ace in _aces(raw)
            if not (ace[1].sid == AUTHENTICATED_USERS and ace[1].object_type == APPLY_GROUP_POLICY.guid)]
    grants = [AceFact(allow=True, sid=sid, mask=AccessMask.CONTROL_ACCESS, object_type=APPLY_GROUP_POLICY.guid)
              for sid in apply_to]
    _write(conn, target, _rebuilt(raw, [a for a, _ in kept], grants))


def deny_apply(dc: SambaDC, conn: Any, guid: str, sid: str) -> None:
    """An explicit deny of Apply Group Policy for `sid`, first in the DACL (canonical order: explicit denies first)."""
    from winacl.dtyp.ace import ACCESS_DENIED_OBJECT_ACE, ACE_OBJECT_PRESENCE, AceFlags
    from winacl.dtyp.guid import GUID
    from winacl.dtyp.security_descriptor import SECURITY_DESCRIPTOR
    from winacl.dtyp.sid import SID

    target = gpo_dn(dc, guid)
    sd = SECURITY_DESCRIPTOR.from_bytes(_descriptor(conn, target))
    ace = ACCESS_DENIED_OBJECT_ACE()
    ace.AceFlags = AceFlags(0)
    ace.Mask = int(AccessMask.CONTROL_ACCESS)
    ace.Flags = ACE_OBJECT_PRESENCE.NONE
    ace.ObjectType = GUID.from_string(APPLY_GROUP_POLICY.guid)
    ace.Sid = SID.from_string(sid)
    sd.Dacl.aces.insert(0, ace)
    _write(conn, target, sd.to_bytes())


def add_wmi_filter(dc: SambaDC, conn: Any, name: str, query: str, *, namespace: str = "root\\CIMv2") -> str:
    """An msWMI-Som object as the GPMC writes it; returns its {id}. The id is derived from the name."""
    ident = "{" + str(uuid.uuid5(uuid.NAMESPACE_URL, f"sspr-auditor-lab:{dc.realm}:wmi:{name}")).upper() + "}"
    parm2 = f"1;3;{len(namespace)};{len(query)};WQL;{namespace};{query};"
    stamp = "20261130090000.000000-000"
    container = f"CN=SOM,CN=WMIPolicy,CN=System,{dc.base_dn}"
    attributes = {"msWMI-ID": ident, "msWMI-Name": name, "msWMI-Parm1": f"{name} (lab)", "msWMI-Parm2": parm2,
                  "msWMI-Author": dc.admin_upn, "msWMI-ChangeDate": stamp, "msWMI-CreationDate": stamp,
                  "showInAdvancedViewOnly": "TRUE"}
    if not conn.add(f"CN={ident},{container}", ["top", "msWMI-Som"], attributes):
        raise SambaError(f"add WMI filter {name}: {conn.result['description']} {conn.result['message']}")
    return ident


def bind_wmi_filter(dc: SambaDC, conn: Any, guid: str, ident: str) -> None:
    """Bind the GPO to the filter: gPCWQLFilter `[dns domain;{id};0]`."""
    from ldap3 import MODIFY_REPLACE

    value = f"[{dc.dns_domain};{ident};0]"
    if not conn.modify(gpo_dn(dc, guid), {"gPCWQLFilter": [(MODIFY_REPLACE, [value])]}):
        raise SambaError(f"gPCWQLFilter on {guid}: {conn.result['description']} {conn.result['message']}")


def _descriptor(conn: Any, target: str) -> bytes:
    from ldap3 import BASE
    from ldap3.protocol.microsoft import security_descriptor_control

    conn.search(target, "(objectClass=*)", BASE, attributes=["nTSecurityDescriptor"],
                controls=security_descriptor_control(sdflags=SD_FLAGS_DACL))
    return bytes(conn.response[0]["raw_attributes"]["nTSecurityDescriptor"][0])


def _aces(raw: bytes) -> list[tuple[Any, AceFact]]:
    """(winacl ACE, its fact) for every ACE parse_dacl keeps, in order."""
    from winacl.dtyp.security_descriptor import SECURITY_DESCRIPTOR

    sd = SECURITY_DESCRIPTOR.from_bytes(raw)
    facts = parse_dacl(raw).aces
    kept = [a for a in sd.Dacl.aces if a.AceType.value in (0x00, 0x05, 0x01, 0x06, 0x0A, 0x0C)]
    return list(zip(kept, facts, strict=True))


def _rebuilt(raw: bytes, kept: list[Any], grants: list[AceFact]) -> bytes:
    from winacl.dtyp.security_descriptor import SECURITY_DESCRIPTOR

    from auditor.ad.sd import with_aces

    sd = SECURITY_DESCRIPTOR.from_bytes(raw)
    sd.Dacl.aces = kept
    return with_aces(sd.to_bytes(), grants)


def _write(conn: Any, target: str, raw: bytes) -> None:
    from ldap3 import MODIFY_REPLACE
    from ldap3.protocol.microsoft import security_descriptor_control

    if not conn.modify(target, {"nTSecurityDescriptor": [(MODIFY_REPLACE, [raw])]},
                       controls=security_descriptor_control(sdflags=SD_FLAGS_DACL)):
        raise SambaError(f"write the DACL of {target}: {conn.result['description']} {conn.result['message']}")


def revoked(raw: bytes, sid: str, object_type: str) -> bytes:
    """`raw` without the explicit allow ACEs that give `sid` the control access right `object_type`."""
    kept = [ace for ace, fact in _aces(raw)
            if not (fact.allow and not fact.inherited and fact.sid == sid and fact.object_type == object_type)]
    return _rebuilt(raw, kept, [])
