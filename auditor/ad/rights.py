"""The rights password writeback needs, as AD access-mask bits and schema GUIDs.

Sources: learn.microsoft.com/entra/identity/authentication/tutorial-enable-sspr-writeback
(the four rights), [MS-ADTS] 5.1.3.2 (access rights) and the schema's `rightsGuid` /
`schemaIDGUID` / `attributeSecurityGUID` values (the same on every AD and Samba domain).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntFlag
from typing import Literal


class AccessMask(IntFlag):
    """The access-mask bits that matter here ([MS-ADTS] 5.1.3.2, [MS-DTYP] 2.4.3)."""

    CREATE_CHILD = 0x00000001
    DELETE_CHILD = 0x00000002
    LIST_CHILDREN = 0x00000004
    SELF = 0x00000008
    READ_PROPERTY = 0x00000010
    WRITE_PROPERTY = 0x00000020
    DELETE_TREE = 0x00000040
    LIST_OBJECT = 0x00000080
    CONTROL_ACCESS = 0x00000100
    DELETE = 0x00010000
    READ_CONTROL = 0x00020000
    WRITE_DAC = 0x00040000
    WRITE_OWNER = 0x00080000
    GENERIC_ALL = 0x10000000
    GENERIC_EXECUTE = 0x20000000
    GENERIC_WRITE = 0x40000000
    GENERIC_READ = 0x80000000


_EXTENDED_GRANTS = int(AccessMask.CONTROL_ACCESS | AccessMask.GENERIC_ALL)
_WRITE_GRANTS = int(AccessMask.WRITE_PROPERTY | AccessMask.GENERIC_WRITE | AccessMask.GENERIC_ALL)

# What `GenericAll` becomes once AD stores it (SDDL "GA" is written back as this).
FULL_CONTROL = 0x000F01FF

USER_CLASS = "bf967aba-0de6-11d0-a285-00aa003049e2"
"""schemaIDGUID of the `user` class: the inherited object type of the writeback ACEs."""

DOMAIN_DNS_CLASS = "19195a5b-6da0-11d0-afd3-00c04fd930c9"
"""schemaIDGUID of the `domainDNS` class (the domain head, where Unexpire Password is granted)."""

USER_ACCOUNT_RESTRICTIONS = "4c164200-20c0-11d0-a768-00aa006e0529"
"""Property set User-Account-Restrictions, which holds `pwdLastSet`."""

GROUP_POLICY_CONTAINER_CLASS = "f30e3bc2-9ff0-11d1-b603-0000f80367c1"
"""schemaIDGUID of the `groupPolicyContainer` class (learn.microsoft.com/windows/win32/adschema/
c-grouppolicycontainer): the object a GPO's security filtering is read from."""

RightKind = Literal["extended", "write_property", "standard"]


@dataclass(frozen=True)
class Right:
    """One right the sync account needs, named as in the policy (`directory.rights.<name>`)."""

    name: str
    label: str
    kind: RightKind
    guid: str
    property_set: str | None = None
    standard_bits: int = 0
    """For a `standard` right (WriteDacl, WriteOwner, READ_CONTROL): the mask bits that grant it besides
    GenericAll. Such a right is checked on the object itself, so only an ACE naming no object type (or the
    object's class) covers it ([MS-DTYP] 2.5.3.2: the object type list's root)."""

    @property
    def granting_bits(self) -> int:
        """Mask bits of which any one grants (or, in a deny ACE, denies) this right."""
        if self.kind == "extended":
            return _EXTENDED_GRANTS
        if self.kind == "standard":
            return self.standard_bits | int(AccessMask.GENERIC_ALL)
        return _WRITE_GRANTS

    @property
    def ace_mask(self) -> int:
        """The mask a canonical ACE for this right carries (Microsoft grants read+write)."""
        if self.kind == "extended":
            return AccessMask.CONTROL_ACCESS
        return AccessMask.READ_PROPERTY | AccessMask.WRITE_PROPERTY

    def object_types(self) -> frozenset[str]:
        """Object types an object ACE may name to cover this right (itself or its property set)."""
        return frozenset(g for g in (self.guid, self.property_set) if g)


RESET_PASSWORD = Right("reset_password", "Reset Password", "extended", "00299570-246d-11d0-a768-00aa006e0529")
CHANGE_PASSWORD = Right("change_password", "Change Password", "extended", "ab721a53-1e2f-11d0-9819-00aa0040529b")
WRITE_LOCKOUT_TIME = Right(
    "write_lockout_time", "Write lockoutTime", "write_property", "28630ebf-41d5-11d1-a9c1-0000f80367c1"
)
WRITE_PWD_LAST_SET = Right(
    "write_pwd_last_set", "Write pwdLastSet", "write_property", "bf967a0a-0de6-11d0-a285-00aa003049e2",
    property_set=USER_ACCOUNT_RESTRICTIONS,
)
UNEXPIRE_PASSWORD = Right(
    "unexpire_password", "Unexpire Password", "extended", "ccc2dc7d-a6ad-4a7a-8846-c04e3cc53501"
)

WRITEBACK_RIGHTS: tuple[Right, ...] = (RESET_PASSWORD, CHANGE_PASSWORD, WRITE_LOCKOUT_TIME, WRITE_PWD_LAST_SET)
RIGHTS_BY_NAME: dict[str, Right] = {r.name: r for r in (*WRITEBACK_RIGHTS, UNEXPIRE_PASSWORD)}

# Powers over an object that amount to its password: with WriteDacl a principal grants itself Reset Password,
# with WriteOwner it takes ownership, and an owner is implicitly granted READ_CONTROL and WRITE_DAC
# ([MS-DTYP] 2.5.3.2 "the owner of an object ... is granted READ_CONTROL and WRITE_DAC").
WRITE_DACL = Right("write_dacl", "WriteDacl", "standard", "", standard_bits=int(AccessMask.WRITE_DAC))
WRITE_OWNER = Right("write_owner", "WriteOwner", "standard", "", standard_bits=int(AccessMask.WRITE_OWNER))

PUBLIC_INFORMATION = "e48d0154-bcf8-11d1-8702-00c04fb96050"
"""Property set Public-Information, which holds `servicePrincipalName`."""
MEMBERSHIP = "bc0ac240-79a9-11d0-9020-00c04fc2d4cf"
"""Property set Membership, which holds `member`."""
WRITE_SPN = Right("write_spn", "Write servicePrincipalName", "write_property",
                  "f3a64788-5306-11d1-a9c5-0000f80367c1", property_set=PUBLIC_INFORMATION)
WRITE_MEMBER = Right("write_member", "Write member", "write_property", "bf9679c0-0de6-11d0-a285-00aa003049e2",
                     property_set=MEMBERSHIP)
GROUP_CLASS = "bf967a9c-0de6-11d0-a285-00aa003049e2"
"""schemaIDGUID of the `group` class."""

REPLICATION_GET_CHANGES = Right("replication_get_changes", "Replicating Directory Changes", "extended",
                                "1131f6aa-9c07-11d1-f79f-00c04fc2dcd2")
REPLICATION_GET_CHANGES_ALL = Right("replication_get_changes_all", "Replicating Directory Changes All", "extended",
                                    "1131f6ad-9c07-11d1-f79f-00c04fc2dcd2")
"""DS-Replication-Get-Changes(-All): together they let an account read every password hash (DCSync)."""

READ_MANAGED_PASSWORD = Right("read_managed_password", "Retrieve the managed password", "standard", "",
                              standard_bits=int(AccessMask.READ_PROPERTY | AccessMask.GENERIC_READ))
"""An allow ACE in a gMSA's msDS-GroupMSAMembership lets its trustee read msDS-ManagedPassword."""

REMOTE_SAM = Right("remote_sam", "Remote SAM calls (READ_CONTROL)", "standard", "",
                   standard_bits=int(AccessMask.READ_CONTROL | AccessMask.GENERIC_READ))
"""RestrictRemoteSAM's descriptor allows a caller the remote SAM call when it grants READ_CONTROL ("RC")."""

PASSWORD_POWERS: tuple[Right, ...] = (RESET_PASSWORD, WRITE_PWD_LAST_SET, WRITE_LOCKOUT_TIME, WRITE_DACL, WRITE_OWNER)
"""What `ad.acl.delegates` looks for on an in-scope user (ownership besides)."""
WRITEBACK_POWERS: tuple[Right, ...] = (RESET_PASSWORD, WRITE_PWD_LAST_SET, WRITE_LOCKOUT_TIME)
"""The rights password writeback uses on a user: what `ad.acl.tier0_reach` looks for on protected accounts."""

APPLY_GROUP_POLICY = Right("apply_group_policy", "Apply Group Policy", "extended",
                           "edacfd8f-ffb3-11d1-b41d-00a0c968f939")
"""Apply-Group-Policy (learn.microsoft.com/windows/win32/adschema/r-apply-group-policy): the extended right a
computer or user must hold on a groupPolicyContainer for the GPO to apply to it ([MS-GPOL] 3.2.5.1.6, security
filtering). Not a writeback right: not in RIGHTS_BY_NAME."""
