"""A security descriptor in SDDL text (as a GPO writes RestrictRemoteSAM) parsed into the same `DaclFacts` the
directory's binary descriptors become, so one access check (`auditor.ad.sd.effective_right`) decides both.

Grammar and codes: learn.microsoft.com/windows/win32/secauthz/security-descriptor-string-format,
.../ace-strings and .../sid-strings. Only the owner and the DACL are read; a SACL (`S:`) is skipped.
winacl's own `from_sddl` is not used: it maps `BA` to the domain's RID 544 instead of BUILTIN\\Administrators
(S-1-5-32-544).
"""

from __future__ import annotations

import re

from auditor.ad.sd import AceFact, DaclFacts
from auditor.ad.sid import is_sid

# SID strings (learn.microsoft.com/windows/win32/secauthz/sid-strings): a fixed SID, or a domain RID ("-N")
_FIXED = {
    "AN": "S-1-5-7", "AO": "S-1-5-32-548", "AU": "S-1-5-11", "BA": "S-1-5-32-544", "BG": "S-1-5-32-546",
    "BO": "S-1-5-32-551", "BU": "S-1-5-32-545", "CG": "S-1-3-1", "CO": "S-1-3-0", "ED": "S-1-5-9",
    "IU": "S-1-5-4", "LS": "S-1-5-19", "MU": "S-1-5-32-558", "LU": "S-1-5-32-559", "NO": "S-1-5-32-556",
    "NS": "S-1-5-20", "NU": "S-1-5-2", "OW": "S-1-3-4", "PO": "S-1-5-32-550", "PS": "S-1-5-10",
    "PU": "S-1-5-32-547", "RC": "S-1-5-12", "RD": "S-1-5-32-555", "RE": "S-1-5-32-552", "RM": "S-1-5-32-580",
    "RU": "S-1-5-32-554", "SO": "S-1-5-32-549", "SU": "S-1-5-6", "SY": "S-1-5-18", "WD": "S-1-1-0",
    "WR": "S-1-5-33", "AC": "S-1-15-2-1", "ER": "S-1-5-32-573", "IS": "S-1-5-32-568", "CY": "S-1-5-32-569",
    "HA": "S-1-5-32-578", "AA": "S-1-5-32-579", "RA": "S-1-5-32-575", "ES": "S-1-5-32-576", "MS": "S-1-5-32-577",
}
_DOMAIN_RIDS = {
    "LA": 500, "LG": 501, "DA": 512, "DU": 513, "DG": 514, "DC": 515, "DD": 516, "CA": 517, "SA": 518,
    "EA": 519, "PA": 520, "RO": 521, "CN": 522, "AP": 525, "KA": 526, "EK": 527, "RS": 553,
}
# access-right codes (ace-strings), directory-service and generic
_RIGHTS = {
    "GA": 0x10000000, "GR": 0x80000000, "GW": 0x40000000, "GX": 0x20000000,
    "RC": 0x00020000, "SD": 0x00010000, "WD": 0x00040000, "WO": 0x00080000,
    "RP": 0x10, "WP": 0x20, "CC": 0x1, "DC": 0x2, "LC": 0x4, "SW": 0x8, "LO": 0x80, "DT": 0x40, "CR": 0x100,
    "FA": 0x001F01FF, "FR": 0x00120089, "FW": 0x00120116, "FX": 0x001200A0,
    "KA": 0x000F003F, "KR": 0x00020019, "KW": 0x00020006, "KX": 0x00020019,
}
_FLAGS = {"OI": 0x01, "CI": 0x02, "NP": 0x04, "IO": 0x08, "ID": 0x10, "SA": 0x40, "FA": 0x80}
# conditional allows (XA, ZA) are not evaluated, so never grant; a conditional deny (XD) is kept as a deny,
# as auditor.ad.sd does for binary descriptors
_ALLOW, _DENY = {"A", "OA"}, {"D", "OD", "XD"}
_PART = re.compile(r"([OGDS]):")


class SddlError(ValueError):
    """Text that is not an SDDL security descriptor this parser can read."""


def sid_of(text: str, domain_sid: str | None) -> str:
    """A SID from its SDDL form: `S-1-…` or a two-letter alias (domain aliases need `domain_sid`)."""
    token = text.strip()
    if is_sid(token):
        return token.upper()
    alias = token.upper()
    if alias in _FIXED:
        return _FIXED[alias]
    if alias in _DOMAIN_RIDS:
        if domain_sid is None:
            raise SddlError(f"the SID alias {alias} names a domain group, but the domain's SID is not known")
        return f"{domain_sid}-{_DOMAIN_RIDS[alias]}"
    raise SddlError(f"unknown SID string {token!r}")


def _mask(text: str) -> int:
    if text.lower().startswith("0x"):
        try:
            return int(text, 16)
        except ValueError:
            raise SddlError(f"access mask {text!r} is not hexadecimal") from None
    if text.isdigit():
        return int(text)
    if len(text) % 2:
        raise SddlError(f"access rights {text!r} are not two-letter codes")
    mask = 0
    for index in range(0, len(text), 2):
        code = text[index:index + 2].upper()
        if code not in _RIGHTS:
            raise SddlError(f"unknown access right {code!r} in {text!r}")
        mask |= _RIGHTS[code]
    return mask


def _flags(text: str) -> int:
    flags = 0
    for index in range(0, len(text), 2):
        code = text[index:index + 2].upper()
        if code not in _FLAGS:
            raise SddlError(f"unknown ACE flag {code!r} in {text!r}")
        flags |= _FLAGS[code]
    return flags


def parse_sddl(text: str, domain_sid: str | None = None) -> DaclFacts:
    """The owner and DACL of an SDDL string; SddlError when it is not one (never a NULL DACL by mistake)."""
    body = text.strip().strip('"').strip()
    parts: dict[str, str] = {}
    marks = list(_PART.finditer(body))
    if not marks or marks[0].start() != 0:
        raise SddlError(f"not an SDDL security descriptor: {text[:80]!r}")
    for index, mark in enumerate(marks):
        end = marks[index + 1].start() if index + 1 < len(marks) else len(body)
        # a letter followed by ':' inside an ACE (none exist in the grammar's ACE fields) never starts a part:
        # parts only begin outside parentheses
        if body[:mark.start()].count("(") != body[:mark.start()].count(")"):
            continue
        parts[mark.group(1)] = body[mark.end():end]
    if "D" not in parts:
        raise SddlError("the descriptor has no DACL (D:): who may call is not stated")
    owner = sid_of(parts["O"], domain_sid) if "O" in parts else None
    dacl = parts["D"]
    flags_text, _, aces_text = dacl.partition("(")
    aces_text = "(" + aces_text if aces_text else ""
    if flags_text.strip().upper() == "NO_ACCESS_CONTROL":
        return DaclFacts(protected=False, null_dacl=True, owner=owner)
    protected = "P" in re.sub(r"AR|AI|NO_ACCESS_CONTROL", "", flags_text.upper())
    aces = []
    for raw in re.findall(r"\(([^()]*)\)", aces_text):
        fields = raw.split(";")
        if len(fields) < 6:
            raise SddlError(f"ACE ({raw}) has {len(fields)} fields, not 6")
        kind = fields[0].upper()
        if kind not in _ALLOW | _DENY:
            continue  # audit, alarm, label and conditional-allow ACEs grant nothing
        aces.append(AceFact(
            allow=kind in _ALLOW,
            sid=sid_of(fields[5], domain_sid), mask=_mask(fields[2]), flags=_flags(fields[1]),
            object_type=fields[3].lower() or None, inherited_object_type=fields[4].lower() or None))
    if re.sub(r"\([^()]*\)", "", aces_text).strip():
        raise SddlError(f"text outside the ACEs of the DACL: {aces_text[:80]!r}")
    return DaclFacts(protected=protected, aces=tuple(aces), owner=owner)
