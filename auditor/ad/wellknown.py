"""Well-known SIDs, protected groups and GPO ids (the same in every domain)."""

from __future__ import annotations

EVERYONE = "S-1-1-0"
AUTHENTICATED_USERS = "S-1-5-11"

ENTERPRISE_DOMAIN_CONTROLLERS = "S-1-5-9"
"""Every domain controller's token carries it ([MS-DTYP] 2.4.2.4, well-known SID structures)."""
DOMAIN_CONTROLLERS_RID = 516
DOMAIN_COMPUTERS_RID = 515

IMPLICIT_TOKEN_SIDS: tuple[str, ...] = (EVERYONE, AUTHENTICATED_USERS)
"""SIDs every authenticated account carries, whatever its group memberships."""

DEFAULT_DOMAIN_POLICY_GUID = "{31B2F340-016D-11D2-945F-00C04FB984F9}"
GPO_GUID_PATTERN = r"^\{[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}\}$"
"""A GPO's name as its container and SYSVOL folder carry it: a braced GUID, nothing else."""

# The groups AdminSDHolder protects (learn.microsoft.com/windows-server/identity/ad-ds/plan/
# security-best-practices/appendix-c--protected-accounts-and-groups-in-active-directory).
PROTECTED_DOMAIN_GROUP_RIDS: dict[int, str] = {
    512: "Domain Admins",
    516: "Domain Controllers",
    518: "Schema Admins",
    519: "Enterprise Admins",
    521: "Read-only Domain Controllers",
    526: "Key Admins",
    527: "Enterprise Key Admins",
}
PROTECTED_BUILTIN_GROUPS: dict[str, str] = {
    "S-1-5-32-544": "Administrators",
    "S-1-5-32-548": "Account Operators",
    "S-1-5-32-549": "Server Operators",
    "S-1-5-32-550": "Print Operators",
    "S-1-5-32-551": "Backup Operators",
    "S-1-5-32-552": "Replicator",
}
PROTECTED_ACCOUNT_RIDS: dict[int, str] = {500: "Administrator", 502: "krbtgt"}


def protected_group_sids(domain_sid: str) -> dict[str, str]:
    """SID → name of every AdminSDHolder-protected group of the domain with SID `domain_sid`."""
    out = {f"{domain_sid}-{rid}": name for rid, name in PROTECTED_DOMAIN_GROUP_RIDS.items()}
    out.update(PROTECTED_BUILTIN_GROUPS)
    return out
