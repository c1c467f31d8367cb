"""dSHeuristics' dwAdminSDExMask: which operator groups SDProp leaves out of AdminSDHolder protection.

[MS-ADTS] 3.1.1.6.1.4 "Configurable State"
(learn.microsoft.com/openspecs/windows_protocols/ms-adts/50097362-ede5-40fa-973e-8d65e782e384): on
`CN=Directory Service,CN=Windows NT,CN=Services,<configuration NC>`, "the 16th character, dwAdminSDExMask, can
optionally be set to cause the protection operation to exclude one or more protected objects"; "valid values ... are
the characters "0"–"9" and "a"–"f"", a hex digit whose bits exclude the members (direct or transitive) of
0x1 Account Operators, 0x2 Server Operators (DOMAIN_ALIAS_RID_SYSTEM_OPS), 0x4 Print Operators, 0x8 Backup
Operators. Appendix C (Protected accounts and groups) says the same. A shorter string, or none, excludes nothing.
"""

from __future__ import annotations

DIRECTORY_SERVICE_RDNS = "CN=Directory Service,CN=Windows NT,CN=Services"
MASK_INDEX = 15  # the 16th character
EXCLUDABLE: tuple[tuple[int, str, str], ...] = (
    (0x1, "S-1-5-32-548", "Account Operators"),
    (0x2, "S-1-5-32-549", "Server Operators"),
    (0x4, "S-1-5-32-550", "Print Operators"),
    (0x8, "S-1-5-32-551", "Backup Operators"),
)
EXCLUDABLE_NAMES = frozenset(name for _, _, name in EXCLUDABLE)


class DsHeuristicsError(ValueError):
    """The 16th character is not one [MS-ADTS] allows."""


def admin_sd_ex_mask(value: str | None) -> int:
    """The dwAdminSDExMask bits of a dSHeuristics value (0 when unset or shorter than 16 characters)."""
    if value is None or len(value) <= MASK_INDEX:
        return 0
    digit = value[MASK_INDEX]
    if digit not in "0123456789abcdef":
        raise DsHeuristicsError(f"dSHeuristics' 16th character (dwAdminSDExMask) is {digit!r}, not one of 0-9, a-f "
                                "([MS-ADTS] 3.1.1.6.1.4)")
    return int(digit, 16)


def excluded_groups(mask: int) -> list[str]:
    """The protected groups whose members SDProp leaves alone under `mask`."""
    return [name for bit, _, name in EXCLUDABLE if mask & bit]
