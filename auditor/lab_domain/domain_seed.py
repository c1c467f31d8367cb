"""Seed a lab Samba domain as the `demo` or `baseline` scenario, and run seeded domains.

Both scenarios hold the same realistic shape: synced OUs `Staff` (with a `Contractors`
sub-OU) and `Sales`, about fifty users with phone numbers, a few disabled ones, service
accounts outside the synced OUs, the Entra Connect account `MSOL_0a1b2c3d4e5f`, and the
groups an admin would use. The sync account holds the four writeback rights on `Staff`
directly and on `Sales` through nested groups (GG-Writeback-Delegation ∋ GG-Sync-Accounts ∋
MSOL_…), so the audit has to follow group nesting.

`baseline` is compliant with policies/baseline.yaml. `demo` plants, on top of it:

| drift | object |
|---|---|
| OU missing one of the four ACEs (write pwdLastSet) | OU=Sales |
| user with inheritance disabled (inherited ACEs removed) | CN=Nora Quinn,OU=Staff |
| admin with adminCount=1 (Domain Admins, DACL copied from AdminSDHolder) | CN=Adam Admin,OU=Staff |
| user with pwdLastSet=0 (temporary password) | CN=Tess Temp,OU=Staff |
| fine-grained policy, minimum age 1 day, applied to a group of synced users | CN=PSO-Sales |
| Default Domain Policy GptTmpl.inf (UTF-16LE, BOM, CRLF) MinimumPasswordAge = 1 | the GPO |
| the domain's minPwdAge = 1 day | the domain head |
| malformed or missing `mobile` numbers | four Staff/Sales users |
| sign-in screen GPO (AllowPasswordReset = 1) linked to a users-only OU | GPO `SSPR sign-in screen` → OU=Staff |
| undeclared helpdesk group with Reset Password and write lockoutTime over a synced OU | GG-Helpdesk-Sales on OU=Sales |
| an admin in that OU, reached by it (in Domain Admins; no SDProp yet) | CN=Olga Ops,OU=Sales |
| an undeclared delegate: WriteDacl inherited by user objects | it.intern on OU=Staff |
| a principal that can reset the sync account's password | svc-backup on MSOL_… |
| RestrictRemoteSAM on the DCs allowing only Administrators | GPO `Restrict remote SAM` → OU=Domain Controllers |
| no Unexpire Password for the sync account (Authenticated Users' default grant removed too) | the domain head |

Olga was just added to Domain Admins: Samba has no SDProp, so, as in the hour before SDProp runs on Windows,
her DACL still inherits the OU's ACEs.

`cloudsync` and `cloudsync-demo` are `baseline` with Entra Cloud Sync's gMSA `provAgentgMSA$` as the sync account
(and its rights, no Change Password); `cloudsync-demo` drops write pwdLastSet on OU=Sales and lets a service-accounts
group retrieve the gMSA's managed password (lab_domain/cloud_sync_seed.py).

Both scenarios delegate Reset Password and write lockoutTime on OU=Staff to GG-Helpdesk-Staff (declared in
policies/baseline.yaml), give the sync account the replication rights password hash sync needs on the domain head,
and link `Restrict remote SAM` to OU=Domain Controllers; in `baseline` it allows GG-Sync-Accounts too.

In both, OU=Workstations holds member computers and the `Workstation baseline` GPO, which does not
set AllowPasswordReset. In `baseline` the `SSPR sign-in screen` GPO is linked there too, so Windows
shows "Reset password" on the sign-in screen (`client.sign_in_reset`); in `demo` it is linked to
OU=Staff, where no computer is, so no computer gets it.

Seeded domains are cached as stopped templates under the lab state folder; every run clones
one (about a second) so runs never see each other's changes.
"""

from __future__ import annotations

import fcntl
import logging
import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from auditor.ad import gpp_registry, gpttmpl, registry_pol
from auditor.ad.dn import escape_value
from auditor.ad.intervals import days_to_interval
from auditor.ad.rights import (
    REPLICATION_GET_CHANGES,
    REPLICATION_GET_CHANGES_ALL,
    RESET_PASSWORD,
    UNEXPIRE_PASSWORD,
    USER_CLASS,
    WRITE_LOCKOUT_TIME,
    WRITE_PWD_LAST_SET,
    WRITEBACK_RIGHTS,
    AccessMask,
)
from auditor.ad.sd import AceFact, AceFlag, canonical_ace, with_aces
from auditor.ad.sid import sid_from_bytes
from auditor.ad.wellknown import AUTHENTICATED_USERS, DEFAULT_DOMAIN_POLICY_GUID
from auditor.lab_domain import cloud_sync_seed, gpo_filters, samba, seams_seed
from auditor.lab_domain.folders import private_folder
from auditor.lab_domain.samba import SambaDC, SambaError

if TYPE_CHECKING:
    from auditor.readers.directory import AdSettings

log = logging.getLogger(__name__)

CLOUD_SYNC_SCENARIOS = ("cloudsync", "cloudsync-demo")  # lab_domain/cloud_sync_seed.py
SCENARIOS = ("demo", "baseline", "traps", *CLOUD_SYNC_SCENARIOS)
SEED_VERSION = "11"
SERVICE_ACCOUNT = "MSOL_0a1b2c3d4e5f"
USER_PASSWORD = "Lab-Passw0rd!2024"  # lab-only users on a loopback DC
SD_FLAGS_DACL = 0x04
GLOBAL_SECURITY_GROUP = -2147483646
UF_NORMAL_ACCOUNT = 0x200
UF_ACCOUNTDISABLE = 0x2
UF_PASSWD_NOTREQD = 0x20
UF_DONT_EXPIRE_PASSWD = 0x10000
UF_WORKSTATION_TRUST_ACCOUNT = 0x1000
WORKSTATIONS = 6
WORKSTATION_GPO = "Workstation baseline"
SIGN_IN_GPO = "SSPR sign-in screen"
PASSWORD_GPO = "Password hardening"
REMOTE_SAM_GPO = "Restrict remote SAM"
HELPDESK_STAFF, HELPDESK_SALES = "GG-Helpdesk-Staff", "GG-Helpdesk-Sales"
HELPDESK_RIGHTS = (RESET_PASSWORD, WRITE_LOCKOUT_TIME)
OU_PASSWORD_GPO = "Staff laptops local accounts"
KIOSKS = "OU=Kiosks,OU=Workstations"
KIOSK_COMPUTERS = 2
# Computer Configuration > Administrative Templates: the registry CSE and the admin templates snap-in
REGISTRY_EXTENSIONS = "[{35378EAC-683F-11D2-A89A-00C04FBBCFA2}{D02B1F72-3407-48AE-BA88-E8213C6761F1}]"
# Security Settings (GptTmpl.inf) and Preferences > Registry: CSE and editor extension GUIDs ([MS-GPSB] 1.9,
# [MS-GPPREF] 1.9)
SECURITY_EXTENSIONS = "[{827D319E-6EAC-11D2-A4EA-00C04F79F83A}{803E14A0-B4FB-11D0-A0D0-00A0C90F574B}]"
PREFERENCES_REGISTRY_EXTENSIONS = "[{B087BE9D-ED37-454F-AF9C-04291E351182}{BEE07A6A-EC9F-4659-B8C9-0B1937907C83}]"
WORKSTATION_SETTINGS = [
    registry_pol.dword(r"Software\Policies\Microsoft\Windows\System", "DisableLockScreenAppNotifications", 1),
    registry_pol.dword(r"Software\Policies\Microsoft\Windows\Personalization", "NoLockScreenCamera", 1),
    registry_pol.string(r"Software\Policies\Microsoft\Windows NT\Printers", "PhysicalLocation", "HQ; floor 2"),
]

FIRST = ["Ann", "Ben", "Cara", "Dev", "Eli", "Fay", "Gus", "Hana", "Ivo", "Jade", "Kai", "Lena", "Milo",
         "Nia", "Omar", "Pia", "Rui", "Sara", "Theo", "Uma", "Vic", "Wren", "Xena", "Yuri", "Zoe"]
LAST = ["Lee", "Moss", "Nunez", "Okafor", "Park", "Quist", "Rossi", "Singh", "Tanaka", "Ulloa", "Vance",
        "Weiss", "Xu", "Young", "Zeller"]


@dataclass(frozen=True)
class LabUser:
    cn: str
    ou: str  # RDN path below the domain, e.g. "OU=Staff"
    mobile: str | None
    telephone: str | None = None
    enabled: bool = True
    account_name: str | None = None

    @property
    def sam(self) -> str:
        return self.account_name or self.cn.lower().replace(" ", ".")[:20]


def lab_users() -> list[LabUser]:
    """The scenario-independent users: 30 in Staff (5 of them in Contractors), 15 in Sales."""
    users = []
    for i in range(45):
        name = f"{FIRST[i % len(FIRST)]} {LAST[(i * 7) % len(LAST)]}"
        ou = "OU=Sales" if i >= 30 else ("OU=Contractors,OU=Staff" if i >= 25 else "OU=Staff")
        enabled = i % 14 != 13
        # disabled users cannot reset, so their stale numbers are out of scope in both scenarios
        mobile = f"+1 42555501{i:02d}" if enabled else "n/a"
        users.append(LabUser(cn=name, ou=ou, mobile=mobile,
                             telephone=f"+1 42555502{i:02d}" if i % 3 == 0 else None, enabled=enabled))
    return users


# malformed numbers the demo plants on enabled users (index into lab_users())
DEMO_BAD_PHONES = {2: "(425) 555-0102", 7: "+14255550107", 31: "425.555.0131", 33: None}


def dn(rdns: str, base_dn: str) -> str:
    return f"{rdns},{base_dn}"


class Seeder:
    """Writes one scenario into a running, freshly provisioned lab DC over LDAPS and SMB."""

    def __init__(self, dc: SambaDC, scenario: str) -> None:
        if scenario not in SCENARIOS:
            raise ValueError(f"unknown lab domain scenario {scenario!r} (have: {', '.join(SCENARIOS)})")
        self.dc, self.scenario, self.base = dc, scenario, dc.base_dn
        self.demo = scenario == "demo"
        self.traps = scenario == "traps"
        self.cloud_sync = scenario in CLOUD_SYNC_SCENARIOS  # provAgentgMSA$ in MSOL_…'s place
        self.cloud_sync_drift = scenario == "cloudsync-demo"
        self.conn = admin_connection(dc)

    def run(self) -> None:
        self._structure()
        self._users()
        self._service_accounts()
        self._delegation()
        seams_seed.seed_reach(self)
        self._password_policies()
        seams_seed.seed_lockout(self)
        seams_seed.seed_password_protection_agents(self)
        self._helpdesk()
        if self.demo:
            self._plant_user_drift()
            self._plant_delegation_drift()
        self._workstations()
        if self.traps:
            self._plant_gpo_traps()
        days = 1 if self.demo else 0
        write_default_domain_policy_template(self.dc, minimum_password_age_days=days,
                                             template=seams_seed.default_domain_template(self.scenario, days))
        self.conn.unbind()
        log.info("seeded lab domain %s as %s", self.dc.realm, self.scenario)

    # -- building blocks -------------------------------------------------------------------

    def add(self, rdns: str, classes: list[str], attributes: dict[str, Any]) -> str:
        target = dn(rdns, self.base)
        if not self.conn.add(target, classes, attributes):
            raise SambaError(f"add {target}: {self.conn.result['description']} {self.conn.result['message']}")
        return target

    def modify(self, target: str, changes: dict[str, Any], controls: Any = None) -> None:
        if not self.conn.modify(target, changes, controls=controls):
            raise SambaError(f"modify {target}: {self.conn.result['description']} {self.conn.result['message']}")

    def sid_of(self, target: str) -> str:
        from ldap3 import BASE

        self.conn.search(target, "(objectClass=*)", BASE, attributes=["objectSid"])
        return sid_from_bytes(self.conn.response[0]["raw_attributes"]["objectSid"][0])

    def add_user(self, user: LabUser, *, extra: dict[str, Any] | None = None) -> str:
        uac = UF_NORMAL_ACCOUNT | (0 if user.enabled else UF_ACCOUNTDISABLE)
        attributes: dict[str, Any] = {
            "sAMAccountName": user.sam, "userPrincipalName": f"{user.sam}@{self.dc.dns_domain}",
            "givenName": user.cn.split()[0], "sn": user.cn.split()[-1], "displayName": user.cn,
            "unicodePwd": f'"{USER_PASSWORD}"'.encode("utf-16-le"), "userAccountControl": str(uac),
        }
        if user.mobile:
            attributes["mobile"] = user.mobile
        if user.telephone:
            attributes["telephoneNumber"] = user.telephone
        attributes.update(extra or {})
        return self.add(f"CN={escape_value(user.cn)},{user.ou}", ["top", "person", "organizationalPerson", "user"],
                        attributes)

    def add_group(self, rdns: str, members: list[str], description: str) -> str:
        attributes: dict[str, Any] = {"sAMAccountName": rdns.split(",")[0].split("=")[1],
                                      "groupType": str(GLOBAL_SECURITY_GROUP), "description": description}
        if members:
            attributes["member"] = members
        return self.add(rdns, ["top", "group"], attributes)

    # -- the scenario ----------------------------------------------------------------------

    def _structure(self) -> None:
        for rdns, description in (("OU=Staff", "Synced to Entra ID"), ("OU=Contractors,OU=Staff", "Synced"),
                                  ("OU=Sales", "Synced to Entra ID"), ("OU=Service Accounts", "Not synced"),
                                  ("OU=Groups", "Security groups"), ("OU=Workstations", "Member computers")):
            self.add(rdns, ["top", "organizationalUnit"], {"description": description})

    def _workstations(self) -> None:
        """Member computers in OU=Workstations and the GPOs for them; the sign-in screen GPO is linked
        to the computers in `baseline` and, by mistake, to a users-only OU in `demo`."""
        for number in range(1, WORKSTATIONS + 1):
            name = f"WS-{number:04d}"
            self.add(f"CN={name},OU=Workstations", ["top", "person", "organizationalPerson", "user", "computer"], {
                "sAMAccountName": f"{name}$", "dNSHostName": f"{name.lower()}.{self.dc.dns_domain}",
                "userAccountControl": str(UF_WORKSTATION_TRUST_ACCOUNT), "operatingSystem": "Windows 11 Enterprise",
            })
        workstations, staff = dn("OU=Workstations", self.base), dn("OU=Staff", self.base)
        add_gpo(self.dc, self.conn, WORKSTATION_GPO, registry_pol.write(WORKSTATION_SETTINGS), link_to=[workstations])
        sign_in = [*WORKSTATION_SETTINGS[:1], registry_pol.dword(registry_pol.SIGN_IN_RESET_KEY,
                                                                 registry_pol.SIGN_IN_RESET_VALUE, 1)]
        if self.traps:  # the same setting, carried by Group Policy Preferences instead of Registry.pol
            add_gpo(self.dc, self.conn, SIGN_IN_GPO, registry_pol.write(WORKSTATION_SETTINGS[:1]),
                    link_to=[workstations], files={gpp_registry.MACHINE_PREFERENCES_FILE: gpp_dword(
                        registry_pol.SIGN_IN_RESET_KEY, registry_pol.SIGN_IN_RESET_VALUE, 1)})
            return
        add_gpo(self.dc, self.conn, SIGN_IN_GPO, registry_pol.write(sign_in),
                link_to=[staff if self.demo else workstations])

    def _plant_gpo_traps(self) -> None:
        """`traps`: what a Default-Domain-Policy-only or precedence-blind reading gets wrong.

        An enforced domain GPO that raises the minimum password age to 1 day, linked after the Default
        Domain Policy (link order 2: enforcement wins anyway); a GPO on OU=Staff that sets 3 days, which
        only changes local accounts; and OU=Kiosks below the workstations, blocking inheritance, so the
        sign-in screen GPO linked to OU=Workstations never reaches its computers.
        """
        add_gpo(self.dc, self.conn, PASSWORD_GPO, None, link_to=[self.base], link_options=2, lowest=True,
                files={gpttmpl.GPO_FILE: gpttmpl.windows_template(1).to_bytes()})
        add_gpo(self.dc, self.conn, OU_PASSWORD_GPO, None, link_to=[dn("OU=Staff", self.base)],
                files={gpttmpl.GPO_FILE: gpttmpl.windows_template(3).to_bytes()})
        self.add(KIOSKS, ["top", "organizationalUnit"], {"description": "Shared kiosks; blocks inheritance"})
        for number in range(1, KIOSK_COMPUTERS + 1):
            name = f"KIOSK-{number:02d}"
            self.add(f"CN={name},{KIOSKS}", ["top", "person", "organizationalPerson", "user", "computer"], {
                "sAMAccountName": f"{name}$", "dNSHostName": f"{name.lower()}.{self.dc.dns_domain}",
                "userAccountControl": str(UF_WORKSTATION_TRUST_ACCOUNT), "operatingSystem": "Windows 11 Enterprise",
            })
        block_inheritance(self.conn, dn(KIOSKS, self.base))

    def _users(self) -> None:
        self.user_dns: list[str] = []
        for index, user in enumerate(lab_users()):
            if self.demo and index in DEMO_BAD_PHONES:
                user = LabUser(user.cn, user.ou, DEMO_BAD_PHONES[index], user.telephone, user.enabled)
            self.user_dns.append(self.add_user(user))
        sales = [d for d, u in zip(self.user_dns, lab_users(), strict=True) if u.ou == "OU=Sales"]
        self.sales_group = self.add_group("CN=GG-Sales-Synced,OU=Groups", sales, "Sales staff (synced)")

    def _service_accounts(self) -> None:
        if self.cloud_sync:
            self.msol = cloud_sync_seed.add_gmsa(self)
        else:
            svc = LabUser(SERVICE_ACCOUNT, "CN=Users", None, account_name=SERVICE_ACCOUNT)
            self.msol = self.add_user(svc, extra={
                "userAccountControl": str(UF_NORMAL_ACCOUNT | UF_DONT_EXPIRE_PASSWD),
                "description": "Account created by Microsoft Azure Active Directory Connect",
            })
        self.msol_sid = self.sid_of(self.msol)
        backup = self.add_user(LabUser("svc-backup", "OU=Service Accounts", None))
        self.add_user(LabUser("svc-print", "OU=Service Accounts", None))
        self.service_group = self.add_group("CN=GG-Service-Accounts,OU=Groups", [backup], "Service accounts")
        sync = self.add_group("CN=GG-Sync-Accounts,OU=Groups", [self.msol], "Directory sync accounts")
        self.delegation_group = self.add_group("CN=GG-Writeback-Delegation,OU=Groups", [sync],
                                               "Holds password writeback rights on Sales")
        self.delegation_sid = self.sid_of(self.delegation_group)

    def _delegation(self) -> None:
        staff = dn("OU=Staff", self.base)
        rights = cloud_sync_seed.WRITEBACK_RIGHTS if self.cloud_sync else WRITEBACK_RIGHTS
        drift = self.demo or self.cloud_sync_drift
        self.grant(staff, [canonical_ace(self.msol_sid, r) for r in rights])
        sales_rights = [r for r in rights if not (drift and r is WRITE_PWD_LAST_SET)]
        self.grant(dn("OU=Sales", self.base), [canonical_ace(self.delegation_sid, r) for r in sales_rights])
        if self.cloud_sync:
            cloud_sync_seed.seed_password_retrieval(self, self.msol, self.sid_of(self.base),
                                                    drift=self.cloud_sync_drift)
        if self.demo:  # no Unexpire Password for the sync account: not even Authenticated Users' default grant
            self.write_descriptor(self.base, gpo_filters.revoked(read_descriptor(self.conn, self.base),
                                                                 AUTHENTICATED_USERS, UNEXPIRE_PASSWORD.guid))
        else:
            self.grant(self.base, [canonical_ace(self.msol_sid, UNEXPIRE_PASSWORD, inherit_to=None)])
        # password hash sync: the connector account replicates secrets (DCSync rights on the domain head)
        self.grant(self.base, [canonical_ace(self.msol_sid, r, inherit_to=None)
                               for r in (REPLICATION_GET_CHANGES, REPLICATION_GET_CHANGES_ALL)])

    def _helpdesk(self) -> None:
        """The declared helpdesk delegation (both scenarios) and the RestrictRemoteSAM GPO on the DCs."""
        agent = self.add_user(LabUser("hd.staff", "OU=Service Accounts", None))
        group = self.add_group(f"CN={HELPDESK_STAFF},OU=Groups", [agent], "Helpdesk for Staff (declared)")
        self.grant(dn("OU=Staff", self.base), [canonical_ace(self.sid_of(group), r) for r in HELPDESK_RIGHTS])
        sync_group = self.sid_of(dn("CN=GG-Sync-Accounts,OU=Groups", self.base))
        sddl = "O:BAG:BAD:(A;;RC;;;BA)" + ("" if self.demo else f"(A;;RC;;;{sync_group})")
        template = gpttmpl.windows_template(0)
        template = gpttmpl.GptTmpl(template.encoding, template.newline,
                                   tuple(line for line in template.lines if "Password" not in line))
        template = template.with_value(gpttmpl.REGISTRY_VALUES, gpttmpl.RESTRICT_REMOTE_SAM, f'1,"{sddl}"')
        add_gpo(self.dc, self.conn, REMOTE_SAM_GPO, None, link_to=[dn("OU=Domain Controllers", self.base)],
                files={gpttmpl.GPO_FILE: template.to_bytes()})

    def _plant_delegation_drift(self) -> None:
        """`demo`: an undeclared helpdesk group over Sales reaching an admin, an undeclared WriteDacl delegate on
        Staff, and a service account that can reset the sync account's password."""
        from ldap3 import MODIFY_ADD

        agent = self.add_user(LabUser("hd.sales", "OU=Service Accounts", None))
        group = self.add_group(f"CN={HELPDESK_SALES},OU=Groups", [agent], "Helpdesk for Sales (not declared)")
        self.grant(dn("OU=Sales", self.base), [canonical_ace(self.sid_of(group), r) for r in HELPDESK_RIGHTS])
        olga = self.add_user(LabUser("Olga Ops", "OU=Sales", "+1 4255550193"))
        self.modify(dn("CN=Domain Admins,CN=Users", self.base), {"member": [(MODIFY_ADD, [olga])]})
        intern = self.sid_of(self.add_user(LabUser("it.intern", "OU=Service Accounts", None)))
        self.grant(dn("OU=Staff", self.base), [AceFact(
            allow=True, sid=intern, mask=int(AccessMask.WRITE_DAC),
            flags=AceFlag.CONTAINER_INHERIT | AceFlag.INHERIT_ONLY, inherited_object_type=USER_CLASS)])
        backup = self.sid_of(dn("CN=svc-backup,OU=Service Accounts", self.base))
        self.grant(self.msol, [canonical_ace(backup, RESET_PASSWORD, inherit_to=None)])

    def grant(self, target: str, aces: list[Any]) -> None:
        raw = read_descriptor(self.conn, target)
        self.write_descriptor(target, with_aces(raw, aces))

    def write_descriptor(self, target: str, raw: bytes) -> None:
        from ldap3 import MODIFY_REPLACE
        from ldap3.protocol.microsoft import security_descriptor_control

        self.modify(target, {"nTSecurityDescriptor": [(MODIFY_REPLACE, [raw])]},
                    controls=security_descriptor_control(sdflags=SD_FLAGS_DACL))

    def _password_policies(self) -> None:
        from ldap3 import MODIFY_REPLACE

        self.modify(self.base, {"minPwdAge": [(MODIFY_REPLACE, [str(days_to_interval(1 if self.demo else 0))])]})
        self.add_pso("CN=PSO-Service-Accounts", precedence=5, min_age_days=1, applies_to=[self.service_group])
        self.add_pso("CN=PSO-Sales", precedence=10, min_age_days=1 if self.demo else 0,
                     applies_to=[self.sales_group])

    def add_pso(self, rdns: str, *, precedence: int, min_age_days: int, applies_to: list[str]) -> None:
        self.add(f"{rdns},CN=Password Settings Container,CN=System", ["top", "msDS-PasswordSettings"], {
            "msDS-PasswordSettingsPrecedence": str(precedence),
            "msDS-PasswordReversibleEncryptionEnabled": "FALSE", "msDS-PasswordHistoryLength": "24",
            "msDS-PasswordComplexityEnabled": "TRUE", "msDS-MinimumPasswordLength": "12",
            "msDS-MinimumPasswordAge": str(days_to_interval(min_age_days)),
            "msDS-MaximumPasswordAge": str(-9223372036854775808), "msDS-LockoutThreshold": "0",
            "msDS-LockoutObservationWindow": "-18000000000", "msDS-LockoutDuration": "-18000000000",
            "msDS-PSOAppliesTo": applies_to,
        })

    def _plant_user_drift(self) -> None:
        from ldap3 import MODIFY_ADD, MODIFY_REPLACE

        # a user whose inheritance was disabled with "remove inherited permissions"
        nora = self.add_user(LabUser("Nora Quinn", "OU=Staff", "+1 4255550190"))
        self.write_descriptor(nora, protected_copy(read_descriptor(self.conn, nora), keep_inherited=False))
        # a helpdesk admin kept in the synced OU: Domain Admins, so SDProp stamps adminCount=1 and
        # replaces the DACL with AdminSDHolder's (Samba has no SDProp: do what it would do)
        adam = self.add_user(LabUser("Adam Admin", "OU=Staff", "+1 4255550191"))
        self.modify(dn("CN=Domain Admins,CN=Users", self.base), {"member": [(MODIFY_ADD, [adam])]})
        self.modify(adam, {"adminCount": [(MODIFY_REPLACE, ["1"])]})
        holder = read_descriptor(self.conn, dn("CN=AdminSDHolder,CN=System", self.base))
        self.write_descriptor(adam, protected_copy(holder, keep_inherited=True))
        # a user who got a temporary password ("must change password at next logon")
        tess = self.add_user(LabUser("Tess Temp", "OU=Staff", "+1 4255550192"))
        self.modify(tess, {"pwdLastSet": [(MODIFY_REPLACE, ["0"])]})


def protected_copy(raw: bytes, *, keep_inherited: bool) -> bytes:
    """The descriptor with SE_DACL_PROTECTED set; inherited ACEs dropped or made explicit."""
    from winacl.dtyp.ace import AceFlags
    from winacl.dtyp.security_descriptor import SE_SACL, SECURITY_DESCRIPTOR

    sd = SECURITY_DESCRIPTOR.from_bytes(raw)
    sd.Control = SE_SACL(int(sd.Control) | SE_SACL.SE_DACL_PROTECTED)
    kept = []
    for ace in sd.Dacl.aces:
        if ace.AceFlags & AceFlags.INHERITED_ACE:
            if not keep_inherited:
                continue
            ace.AceFlags = AceFlags(int(ace.AceFlags) & ~AceFlags.INHERITED_ACE)
        kept.append(ace)
    sd.Dacl.aces = kept
    written: bytes = sd.to_bytes()  # winacl is untyped (pyproject.toml): its answer is bytes
    return written


def admin_connection(dc: SambaDC) -> Any:
    """An LDAPS connection bound as the domain's Administrator, verifying the lab CA."""
    from ldap3 import NONE, Connection, Server

    from auditor.readers.ldap_tls import verified_tls

    tls = verified_tls(dc.address, ca_file=str(dc.ca_file))
    # no schema: values go out as the strings given, the way the DC stores them
    server = Server(dc.address, port=636, use_ssl=True, tls=tls, connect_timeout=10, get_info=NONE)
    conn = Connection(server, user=dc.admin_upn, password=dc.admin_password, receive_timeout=60)
    if not conn.bind():
        raise SambaError(f"bind to the lab DC {dc.address} failed: {conn.result}")
    return conn


def read_descriptor(conn: Any, target: str) -> bytes:
    from ldap3 import BASE
    from ldap3.protocol.microsoft import security_descriptor_control

    conn.search(target, "(objectClass=*)", BASE, attributes=["nTSecurityDescriptor"],
                controls=security_descriptor_control(sdflags=SD_FLAGS_DACL))
    return bytes(conn.response[0]["raw_attributes"]["nTSecurityDescriptor"][0])


def write_default_domain_policy_template(dc: SambaDC, *, minimum_password_age_days: int,
                                         template: gpttmpl.GptTmpl | None = None) -> None:
    """Write the Default Domain Policy's GptTmpl.inf over SMB and bump the GPO version.

    The file is Windows-shaped (UTF-16LE, BOM, CRLF) unless `template` says otherwise; the
    version goes up in the GPO's LDAP object and in GPT.INI, as the GPO editor does.
    """
    import smbclient
    from ldap3 import BASE, MODIFY_REPLACE

    tmpl = template or gpttmpl.windows_template(minimum_password_age_days)
    tmpl = tmpl.with_value(gpttmpl.SYSTEM_ACCESS, gpttmpl.MINIMUM_PASSWORD_AGE, str(minimum_password_age_days))
    gpo_dir = rf"\\{dc.address}\sysvol\{dc.dns_domain}\Policies\{DEFAULT_DOMAIN_POLICY_GUID}"
    cache: dict[str, Any] = {}
    smbclient.register_session(dc.address, username=dc.admin_upn, password=dc.admin_password,
                               auth_protocol="ntlm", connection_cache=cache)
    conn = admin_connection(dc)
    try:
        secedit = gpo_dir + r"\MACHINE\Microsoft\Windows NT\SecEdit"
        smbclient.makedirs(secedit, exist_ok=True, connection_cache=cache)
        with smbclient.open_file(secedit + r"\GptTmpl.inf", mode="wb", connection_cache=cache) as handle:
            handle.write(tmpl.to_bytes())
        gpo_dn = f"CN={DEFAULT_DOMAIN_POLICY_GUID},CN=Policies,CN=System,{dc.base_dn}"
        conn.search(gpo_dn, "(objectClass=*)", BASE, attributes=["versionNumber"])
        version = int(conn.response[0]["raw_attributes"]["versionNumber"][0]) + 1  # machine part: low 16 bits
        conn.modify(gpo_dn, {"versionNumber": [(MODIFY_REPLACE, [str(version)])]})
        with smbclient.open_file(gpo_dir + r"\GPT.INI", mode="wb", connection_cache=cache) as handle:
            handle.write(f"[General]\r\nVersion={version}\r\n".encode("ascii"))
    finally:
        conn.unbind()
        smbclient.reset_connection_cache(connection_cache=cache)


def add_gpo(dc: SambaDC, conn: Any, name: str, machine_registry_pol: bytes | None, *, link_to: list[str],
            files: dict[str, bytes] | None = None, link_options: int = 0, lowest: bool = False) -> str:
    """Create a GPO as the Group Policy editor would (its container and SYSVOL folder) holding
    `machine_registry_pol` as Machine\\Registry.pol and `files` (paths relative to the GPO folder), link it
    to `link_to` with `link_options` (1 disabled, 2 enforced); return its {GUID}.

    A new link is link order 1 in its container (the last gPLink entry), unless `lowest` puts it last.
    The GUID is derived from the name and domain, so the lab's GPOs keep their GUIDs across runs.
    """
    import smbclient
    from ldap3 import MODIFY_REPLACE

    guid = "{" + str(uuid.uuid5(uuid.NAMESPACE_URL, f"sspr-auditor-lab:{dc.realm}:{name}")).upper() + "}"
    gpo_dn = f"CN={guid},CN=Policies,CN=System,{dc.base_dn}"
    file_sys_path = rf"\\{dc.dns_domain}\SysVol\{dc.dns_domain}\Policies\{guid}"
    extensions = "".join(sorted({
        *([REGISTRY_EXTENSIONS] if machine_registry_pol is not None else []),
        *([SECURITY_EXTENSIONS] if any("GptTmpl.inf" in f for f in files or {}) else []),
        *([PREFERENCES_REGISTRY_EXTENSIONS] if any("Registry.xml" in f for f in files or {}) else [])}))
    for target, classes, attributes in (
        (gpo_dn, ["top", "container", "groupPolicyContainer"], {
            "displayName": name, "gPCFileSysPath": file_sys_path, "versionNumber": "1", "flags": "0",
            "gPCFunctionalityVersion": "2", **({"gPCMachineExtensionNames": extensions} if extensions else {})}),
        (f"CN=Machine,{gpo_dn}", ["top", "container"], {}),
        (f"CN=User,{gpo_dn}", ["top", "container"], {}),
    ):
        if not conn.add(target, classes, attributes or None):
            raise SambaError(f"add {target}: {conn.result['description']} {conn.result['message']}")
    folder = rf"\\{dc.address}\sysvol\{dc.dns_domain}\Policies\{guid}"
    contents = dict(files or {})
    if machine_registry_pol is not None:
        contents[registry_pol.MACHINE_POLICY_FILE] = machine_registry_pol
    cache: dict[str, Any] = {}
    smbclient.register_session(dc.address, username=dc.admin_upn, password=dc.admin_password,
                               auth_protocol="ntlm", connection_cache=cache)
    try:
        smbclient.makedirs(folder + r"\Machine", exist_ok=True, connection_cache=cache)
        smbclient.makedirs(folder + r"\User", exist_ok=True, connection_cache=cache)
        with smbclient.open_file(folder + r"\GPT.INI", mode="wb", connection_cache=cache) as handle:
            handle.write(f"[General]\r\nVersion=1\r\ndisplayName={name}\r\n".encode("ascii"))
        for relative, data in contents.items():
            path = folder + "\\" + relative
            smbclient.makedirs(path.rsplit("\\", 1)[0], exist_ok=True, connection_cache=cache)
            with smbclient.open_file(path, mode="wb", connection_cache=cache) as handle:
                handle.write(data)
    finally:
        smbclient.reset_connection_cache(connection_cache=cache)
    for container in link_to:
        current = read_gp_link(conn, container)
        entry = f"[LDAP://{gpo_dn};{link_options}]"
        value = entry + current if lowest else current + entry
        if not conn.modify(container, {"gPLink": [(MODIFY_REPLACE, [value])]}):
            raise SambaError(f"link {name} to {container}: {conn.result['description']} {conn.result['message']}")
    return guid


def gpp_dword(key: str, name: str, value: int) -> bytes:
    """A Group Policy Preferences Registry.xml that updates one HKLM DWORD ([MS-GPPREF] 2.2.1.2), as the editor
    writes it."""
    from xml.sax.saxutils import quoteattr

    return ('<?xml version="1.0" encoding="utf-8"?>\r\n'
            '<RegistrySettings clsid="{A3CCFC41-DFDB-43a5-8D26-0FE8B954DA51}">'
            f'<Registry clsid="{{9CD4B2F4-923D-47f5-A062-E897DD1DAD50}}" name={quoteattr(name)} '
            f'status={quoteattr(name)} image="12" changed="2026-11-30 09:00:00" '
            'uid="{5E1F8B4C-2D3A-4B6C-9E8F-0A1B2C3D4E5F}">'
            '<Properties action="U" displayDecimal="1" default="0" hive="HKEY_LOCAL_MACHINE" '
            f'key={quoteattr(key)} name={quoteattr(name)} type="REG_DWORD" value="{value:08x}"/>'
            '</Registry></RegistrySettings>').encode()


def read_gp_link(conn: Any, container: str) -> str:
    from ldap3 import BASE

    conn.search(container, "(objectClass=*)", BASE, attributes=["gPLink"])
    return b"".join(conn.response[0]["raw_attributes"].get("gPLink") or []).decode()


def block_inheritance(conn: Any, ou: str, blocked: bool = True) -> None:
    """Set (or clear) the block-inheritance bit of an OU's gPOptions, as "Block Inheritance" in the GPMC does."""
    from ldap3 import MODIFY_REPLACE

    if not conn.modify(ou, {"gPOptions": [(MODIFY_REPLACE, ["1" if blocked else "0"])]}):
        raise SambaError(f"gPOptions on {ou}: {conn.result['description']} {conn.result['message']}")


def bulk_users(dc: SambaDC, count: int, ou_rdns: str = "OU=Staff", prefix: str = "bulk") -> None:
    """Add `count` enabled users with phones to `ou_rdns` straight into sam.ldb (fast, for scale).

    Hashing a password costs ~30 ms a user in Samba, so these users get none (PASSWD_NOTREQD) and
    pwdLastSet -1 ("now"), which keeps them out of the temporary-password check.
    """
    uac = UF_NORMAL_ACCOUNT | UF_PASSWD_NOTREQD
    chunks = []
    for i in range(count):
        sam = f"{prefix}{i:06d}"
        chunks.append(
            f"dn: CN={sam},{ou_rdns},{dc.base_dn}\nobjectClass: user\nsAMAccountName: {sam}\n"
            f"userPrincipalName: {sam}@{dc.dns_domain}\nmobile: +1 555{i:07d}\n"
            f"userAccountControl: {uac}\npwdLastSet: -1\n"
        )
    dc.ldbmodify_local("\n".join(chunks), add=True)


# -- seeded templates and running lab domains -------------------------------------------------

def reader_settings(dc: SambaDC) -> AdSettings:
    """Reader settings for a running lab DC: LDAPS to its address, trusting the lab CA."""
    from auditor.endpoints import AdEndpoint
    from auditor.readers.directory import AdSettings

    return AdSettings(AdEndpoint(host=dc.address, user=dc.admin_upn, ca_file=str(dc.ca_file)),
                      password=dc.admin_password)


@contextmanager
def _locked(state_dir: Path) -> Iterator[None]:
    state_dir.mkdir(parents=True, exist_ok=True)
    with open(state_dir / ".lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def base_template(state_dir: Path) -> SambaDC:
    """The provisioned, never-seeded template under `state_dir` (made on first use, ~8 s)."""
    root = state_dir / "template"
    with _locked(state_dir):
        existing = samba.open_template(root)
        if existing is not None:
            return existing
        shutil.rmtree(root, ignore_errors=True)
        return samba.make_template(root)


def scenario_template(scenario: str, state_dir: Path) -> SambaDC:
    """A stopped DC seeded as `scenario`, cached under `state_dir` until SEED_VERSION changes."""
    root = state_dir / f"seeded-{scenario}"
    marker = f"seed {SEED_VERSION} {scenario}\n"
    base = base_template(state_dir)
    with _locked(state_dir):
        cached = samba.open_template(root)
        if cached is not None and (root / "SEEDED").read_text() == marker:
            return cached
        dc = samba.clone(base, root)
        try:
            with dc:
                Seeder(dc, scenario).run()
        except BaseException:
            shutil.rmtree(root, ignore_errors=True)
            raise
        (root / "SEEDED").write_text(marker)
        (root / "TEMPLATE").write_text("seeded; clone it, do not start it\n")
        return dc


@contextmanager
def lab_domain(scenario: str, state_dir: Path | None = None) -> Iterator[SambaDC]:
    """A running DC seeded as `scenario`, cloned fresh for this run and removed afterwards."""
    reason = samba.unavailable_reason()
    if reason:
        raise SambaError(reason)
    state_dir = private_folder(state_dir or samba.default_state_dir()) / "samba"
    template = scenario_template(scenario, state_dir)
    _sweep_runs(state_dir / "runs")
    dc = samba.clone(template, state_dir / "runs" / f"{scenario}-{os.getpid()}-{id(template):x}")
    try:
        with dc:
            conn = admin_connection(dc)  # the lab's DC agents run: their heartbeats are fresh (none in demo)
            try:
                seams_seed.refresh_agent_heartbeats(conn, dc.base_dn)
            finally:
                conn.unbind()
            yield dc
    finally:
        samba.remove(dc)


def _sweep_runs(runs: Path) -> None:
    """Remove run folders (and stop their DCs) left by processes that died without cleaning up."""
    if not runs.is_dir():
        return
    for folder in runs.iterdir():
        try:
            owner = int(folder.name.split("-")[1])
        except (IndexError, ValueError):
            continue
        if owner == os.getpid() or Path(f"/proc/{owner}").exists():
            continue
        log.warning("removing lab domain %s left by process %s", folder, owner)
        try:
            samba.remove(samba.open_dc(folder))
        except SambaError:
            shutil.rmtree(folder, ignore_errors=True)
