"""The Cloud Sync variants of the lab domain (`cloudsync`, `cloudsync-demo`; domain_seed calls these).

Both are the `baseline` domain with Entra Cloud Sync in Entra Connect's place: the sync account is the group managed
service account the provisioning agent's wizard creates, `provAgentgMSA$` ("Create gMSA", entra-docs
cloud-sync/how-to-install; "The account appears as domain\\provAgentgMSA$",
https://learn.microsoft.com/entra/identity/hybrid/cloud-sync/gmsa-cloud-sync), in CN=Managed Service Accounts (where
New-ADServiceAccount puts it by default: https://learn.microsoft.com/powershell/module/activedirectory/new-adserviceaccount).
Samba 4.17 stores the msDS-GroupManagedServiceAccount object at the lab's functional level (it computes no managed
password; the audit reads only the object, its descriptor and msDS-GroupMSAMembership), so the lab holds a real gMSA.

It holds what the installer grants for password writeback ("Password Writeback": Reset Password, write lockoutTime,
write pwdLastSet on descendant user objects, Unexpire Password on the domain root; no Change Password) and for password
hash sync (Replicating Directory Changes and ... All on the domain root), on OU=Staff directly and on OU=Sales through
the nested groups, as the Connect variant does. Its msDS-GroupMSAMembership (PrincipalsAllowedToRetrieveManagedPassword)
names the Domain Controllers group: the agent runs on the DC, which Microsoft supports (how-to-prerequisites).

`cloudsync-demo` plants, on top of it:

| drift | object |
|---|---|
| write pwdLastSet missing for the gMSA's group | OU=Sales |
| a service-accounts group may retrieve the gMSA's managed password | msDS-GroupMSAMembership of provAgentgMSA$ |
"""

from __future__ import annotations

from typing import Any, Protocol

from auditor.ad.rights import RESET_PASSWORD, WRITE_LOCKOUT_TIME, WRITE_PWD_LAST_SET
from auditor.ad.wellknown import DOMAIN_CONTROLLERS_RID

CLOUD_SYNC_ACCOUNT = "provAgentgMSA$"
CLOUD_SYNC_CONTAINER = "CN=Managed Service Accounts"
# gmsa-cloud-sync, "Password Writeback" (on descendant user objects; Unexpire Password goes on the domain root)
WRITEBACK_RIGHTS = (RESET_PASSWORD, WRITE_LOCKOUT_TIME, WRITE_PWD_LAST_SET)
UF_WORKSTATION_TRUST_ACCOUNT = 0x1000  # what Windows sets on a gMSA
# generic all as Windows writes the ACEs of PrincipalsAllowedToRetrieveManagedPassword
MANAGED_PASSWORD_MASK = 0xF01FF
ADMINISTRATORS = "S-1-5-32-544"


class Seeder(Protocol):
    """What these seeds use of `domain_seed.Seeder`."""

    base: str
    dc: Any
    conn: Any

    def add(self, rdns: str, classes: list[str], attributes: dict[str, Any]) -> str: ...

    def modify(self, target: str, changes: dict[str, Any], controls: Any = None) -> None: ...

    def sid_of(self, target: str) -> str: ...


def add_gmsa(seeder: Seeder) -> str:
    """Create provAgentgMSA$ as the agent's wizard does (enabled, in the Managed Service Accounts container)."""
    name = CLOUD_SYNC_ACCOUNT.rstrip("$")
    return seeder.add(f"CN={name},{CLOUD_SYNC_CONTAINER}",
                      ["top", "person", "organizationalPerson", "user", "computer", "msDS-GroupManagedServiceAccount"],
                      {"sAMAccountName": CLOUD_SYNC_ACCOUNT, "dNSHostName": f"{name.lower()}.{seeder.dc.dns_domain}",
                       "userAccountControl": str(UF_WORKSTATION_TRUST_ACCOUNT), "msDS-ManagedPasswordInterval": "30",
                       "description": "Microsoft Entra provisioning agent gMSA"})


def allow_password_retrieval(seeder: Seeder, gmsa: str, sids: list[str]) -> None:
    """Write msDS-GroupMSAMembership: the principals allowed to retrieve the gMSA's managed password."""
    from ldap3 import MODIFY_REPLACE
    from winacl.dtyp.security_descriptor import SECURITY_DESCRIPTOR

    aces = "".join(f"(A;;0x{MANAGED_PASSWORD_MASK:x};;;{sid})" for sid in sids)
    raw = SECURITY_DESCRIPTOR.from_sddl(f"O:{ADMINISTRATORS}D:{aces}").to_bytes()
    seeder.modify(gmsa, {"msDS-GroupMSAMembership": [(MODIFY_REPLACE, [raw])]})


def seed_password_retrieval(seeder: Seeder, gmsa: str, domain_sid: str, *, drift: bool) -> None:
    """The agent's host (the DC) may retrieve the password; in `cloudsync-demo` a service-accounts group may too."""
    sids = [f"{domain_sid}-{DOMAIN_CONTROLLERS_RID}"]
    if drift:
        sids.append(seeder.sid_of(f"CN=GG-Service-Accounts,OU=Groups,{seeder.base}"))
    allow_password_retrieval(seeder, gmsa, sids)
