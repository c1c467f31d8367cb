"""Well-known SIDs, protected groups and GPO ids (the same in every domain)."""

from __future__ import annotations

EVERYONE = "S-1-1-0"
AUTHENTICATED_USERS = "S-1-5-11"
SELF = "S-1-5-10"
SYSTEM = "S-1-5-18"
BUILTIN_ADMINISTRATORS = "S-1-5-32-544"

# learn.microsoft.com/windows-server/identity/ad-ds/manage/understand-security-identifiers (well-known SIDs)
WELL_KNOWN_NAMES: dict[str, str] = {
    EVERYONE: "Everyone", AUTHENTICATED_USERS: "Authenticated Users", SELF: "SELF (the object itself)",
    SYSTEM: "SYSTEM", "S-1-3-0": "CREATOR OWNER", "S-1-3-1": "CREATOR GROUP", "S-1-3-4": "OWNER RIGHTS",
    "S-1-5-7": "ANONYMOUS LOGON", "S-1-5-9": "Enterprise Domain Controllers", "S-1-5-2": "NETWORK",
    "S-1-5-4": "INTERACTIVE", "S-1-5-6": "SERVICE", "S-1-5-19": "LOCAL SERVICE", "S-1-5-20": "NETWORK SERVICE",
    "S-1-5-12": "RESTRICTED", "S-1-5-33": "WRITE RESTRICTED", "S-1-15-2-1": "ALL APPLICATION PACKAGES",
}

ENTERPRISE_DOMAIN_CONTROLLERS = "S-1-5-9"
"""Every domain controller's token carries it ([MS-DTYP] 2.4.2.4, well-known SID structures)."""
DOMAIN_CONTROLLERS_RID = 516
DOMAIN_COMPUTERS_RID = 515

IMPLICIT_TOKEN_SIDS: tuple[str, ...] = (EVERYONE, AUTHENTICATED_USERS)
"""SIDs every authenticated account carries, whatever its group memberships."""

NETWORK = "S-1-5-2"
"""NETWORK ("NU"): "added to the process of a token when it logs on across a network" (WinNetworkSid,
learn.microsoft.com/previous-versions/ff556582(v=vs.85)); a remote call's token carries it."""

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


def well_known_name(sid: str) -> str | None:
    return WELL_KNOWN_NAMES.get(sid)


def admin_group_sids(domain_sid: str) -> tuple[str, ...]:
    """The domain's own admins: SYSTEM, BUILTIN\\Administrators, Domain Admins and Enterprise Admins (in a
    single-domain forest the root domain's SID is the domain's)."""
    return (SYSTEM, BUILTIN_ADMINISTRATORS, f"{domain_sid}-512", f"{domain_sid}-519")


def protected_group_sids(domain_sid: str) -> dict[str, str]:
    """SID → name of every AdminSDHolder-protected group of the domain with SID `domain_sid`."""
    out = {f"{domain_sid}-{rid}": name for rid, name in PROTECTED_DOMAIN_GROUP_RIDS.items()}
    out.update(PROTECTED_BUILTIN_GROUPS)
    return out
