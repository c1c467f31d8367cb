"""GptTmpl.inf, the security template of a GPO: parse, read a key, change it, write it back.

Windows writes the file as UTF-16LE with a BOM and CRLF line ends, with `[Unicode]
Unicode=yes` and `[Version] signature="$CHICAGO$"`; `samba-tool gpo manage security set`
writes ASCII. A change keeps the encoding, the line ends and every other byte of the file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Literal

Encoding = Literal["utf-16-le-bom", "utf-16-be-bom", "utf-16-le", "utf-8-bom", "utf-8", "ascii"]

SYSTEM_ACCESS = "System Access"
MINIMUM_PASSWORD_AGE = "MinimumPasswordAge"
# learn.microsoft.com/windows/security/threat-protection/security-policy-settings/maximum-password-age:
# 1 to 999 days; 0 = passwords never expire (the template writes -1 for "never" too)
MAXIMUM_PASSWORD_AGE = "MaximumPasswordAge"
# Account lockout keys of [System Access] ([MS-GPSB] 2.2.1.1.2, learn.microsoft.com/openspecs/windows_protocols/
# ms-gpsb/2cd39c97-97cd-4859-a7b4-1229dad5f53d): LockoutBadCount failed logons (0 = never locked out);
# ResetLockoutCount and LockoutDuration in minutes (LockoutDuration -1 = until an administrator unlocks).
LOCKOUT_BAD_COUNT = "LockoutBadCount"
RESET_LOCKOUT_COUNT = "ResetLockoutCount"
LOCKOUT_DURATION = "LockoutDuration"
GPO_FILE = r"MACHINE\Microsoft\Windows NT\SecEdit\GptTmpl.inf"
"""Where a GPO keeps its security template, relative to the GPO's SYSVOL folder."""

_SECTION = re.compile(r"^\s*\[(?P<name>[^\]]+)\]\s*$")
_KEY = re.compile(r"^(?P<key>\s*[^;=\s][^=]*?)(?P<sep>\s*=\s*)(?P<value>.*?)\s*$")
_BOMS: tuple[tuple[bytes, Encoding, str], ...] = (
    (b"\xff\xfe", "utf-16-le-bom", "utf-16-le"),
    (b"\xfe\xff", "utf-16-be-bom", "utf-16-be"),
    (b"\xef\xbb\xbf", "utf-8-bom", "utf-8"),
)


class GptTmplError(ValueError):
    """The bytes are not a readable security template."""


@dataclass(frozen=True)
class GptTmpl:
    encoding: Encoding
    newline: str
    lines: tuple[str, ...]
    final_newline: bool = True

    def get(self, section: str, key: str) -> str | None:
        """The value of `key` in `[section]` (names compared case-insensitively)."""
        found = self._find(section, key)
        return None if found is None else found[1]

    def with_value(self, section: str, key: str, value: str) -> GptTmpl:
        """A copy with `key = value` in `[section]`, replacing it or adding it (and the section)."""
        lines = list(self.lines)
        found = self._find(section, key)
        if found is not None:
            index = found[0]
            match = _KEY.match(lines[index])
            assert match is not None
            lines[index] = f"{match.group('key')}{match.group('sep')}{value}"
            return replace(self, lines=tuple(lines))
        start, end = self._section_span(section)
        if start is None:
            # before [Version] when there is one, as Windows orders it; else at the end
            version_start, _ = self._section_span("Version")
            at = version_start if version_start is not None else len(lines)
            lines[at:at] = [f"[{section}]", f"{key} = {value}"]
        else:
            lines.insert(end, f"{key} = {value}")
        return replace(self, lines=tuple(lines))

    def to_bytes(self) -> bytes:
        text = self.newline.join(self.lines) + (self.newline if self.final_newline else "")
        for bom, label, codec in _BOMS:
            if label == self.encoding:
                return bom + text.encode(codec)
        codec = "utf-16-le" if self.encoding == "utf-16-le" else self.encoding
        return text.encode(codec)

    def _find(self, section: str, key: str) -> tuple[int, str] | None:
        start, end = self._section_span(section)
        if start is None:
            return None
        for index in range(start + 1, end):
            match = _KEY.match(self.lines[index])
            if match and match.group("key").strip().lower() == key.lower():
                return index, match.group("value")
        return None

    def _section_span(self, section: str) -> tuple[int | None, int]:
        """(index of `[section]`, index where it ends) or (None, len)."""
        start = None
        for index, line in enumerate(self.lines):
            match = _SECTION.match(line)
            if not match:
                continue
            if start is not None:
                return start, _trim_blank(self.lines, start, index)
            if match.group("name").strip().lower() == section.lower():
                start = index
        return start, _trim_blank(self.lines, start, len(self.lines)) if start is not None else len(self.lines)


def _trim_blank(lines: tuple[str, ...], start: int, end: int) -> int:
    while end - 1 > start and not lines[end - 1].strip():
        end -= 1
    return end


def parse(data: bytes) -> GptTmpl:
    encoding, text = _decode(data)
    newline = "\r\n" if "\r\n" in text else "\n"
    final = text.endswith(newline) or not text
    body = text[: -len(newline)] if text.endswith(newline) else text
    lines = tuple(body.split(newline)) if body else ()
    return GptTmpl(encoding=encoding, newline=newline, lines=lines, final_newline=final)


def _decode(data: bytes) -> tuple[Encoding, str]:
    for bom, label, codec in _BOMS:
        if data.startswith(bom):
            try:
                return label, data[len(bom) :].decode(codec)
            except UnicodeDecodeError as exc:
                raise GptTmplError(f"starts with a {codec} byte-order mark but does not decode: {exc}") from None
    # UTF-16LE without a BOM: ASCII text with every second byte zero
    if len(data) >= 4 and len(data) % 2 == 0 and data[1::2].count(0) > len(data) // 4:
        try:
            return "utf-16-le", data.decode("utf-16-le")
        except UnicodeDecodeError:
            pass
    try:
        return "ascii", data.decode("ascii")
    except UnicodeDecodeError:
        pass
    try:
        return "utf-8", data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise GptTmplError(f"not UTF-16, UTF-8 or ASCII text: {exc}") from None


def minimum_password_age(template: GptTmpl) -> int | None:
    """`[System Access] MinimumPasswordAge` in days; None when the template does not set it."""
    return system_access_int(template, MINIMUM_PASSWORD_AGE)


def system_access_int(template: GptTmpl, key: str) -> int | None:
    """An integer of `[System Access]` (MinimumPasswordAge, LockoutBadCount, ...); None when it is not set."""
    raw = template.get(SYSTEM_ACCESS, key)
    if raw is None:
        return None
    try:
        return int(raw.strip().strip('"'))
    except ValueError:
        raise GptTmplError(f"{key} is not a number: {raw!r}") from None


def windows_template(minimum_password_age_days: int) -> GptTmpl:
    """The Default Domain Policy's template as a Windows DC writes it (UTF-16LE, BOM, CRLF)."""
    lines = (
        "[Unicode]",
        "Unicode=yes",
        "[System Access]",
        f"MinimumPasswordAge = {minimum_password_age_days}",
        "MaximumPasswordAge = 42",
        "MinimumPasswordLength = 7",
        "PasswordComplexity = 1",
        "PasswordHistorySize = 24",
        "LockoutBadCount = 0",
        "RequireLogonToChangePassword = 0",
        "ForceLogoffWhenHourExpire = 0",
        "ClearTextPassword = 0",
        "LSAAnonymousNameLookup = 0",
        "[Kerberos Policy]",
        "MaxTicketAge = 10",
        "MaxRenewAge = 7",
        "MaxServiceAge = 600",
        "MaxClockSkew = 5",
        "TicketValidateClient = 1",
        "[Version]",
        'signature="$CHICAGO$"',
        "Revision=1",
    )
    return GptTmpl(encoding="utf-16-le-bom", newline="\r\n", lines=lines)


def gpt_ini_version(data: bytes) -> int | None:
    """`[General] Version` of a GPO's GPT.INI (machine part in the low 16 bits); None if absent."""
    raw = parse(data).get("General", "Version")
    try:
        return int(raw) if raw is not None else None
    except ValueError:
        raise GptTmplError(f"GPT.INI Version is not a number: {raw!r}") from None


REGISTRY_VALUES = "Registry Values"
RESTRICT_REMOTE_SAM = r"MACHINE\System\CurrentControlSet\Control\Lsa\RestrictRemoteSAM"
""""Network access: Restrict clients allowed to make remote calls to SAM" as a security template stores it:
`[Registry Values]` `MACHINE\\System\\CurrentControlSet\\Control\\Lsa\\RestrictRemoteSAM=1,"<SDDL>"` (type 1 is
REG_SZ; learn.microsoft.com/windows/security/threat-protection/security-policy-settings/
network-access-restrict-clients-allowed-to-make-remote-sam-calls)."""


RESTRICT_REMOTE_SAM_AUDIT_ONLY = r"MACHINE\System\CurrentControlSet\Control\Lsa\RestrictRemoteSamAuditOnlyMode"
"""Audit only mode of the same setting (same Microsoft page, "Audit only mode"): REG_DWORD 1 makes SAM "do the access
check against the currently configured security descriptor but ... not fail the call"; "not configured by default"
and not a predefined Group Policy setting ("Administrators may create a custom policy"), so a security template
carries it as a plain registry value: `RestrictRemoteSamAuditOnlyMode=4,1` (type 4 is REG_DWORD)."""
REG_DWORD = 4


def registry_value(template: GptTmpl, path: str) -> tuple[int, str] | None:
    """(registry type, value text without quotes) of `path` in `[Registry Values]`; None when not set."""
    raw = template.get(REGISTRY_VALUES, path)
    if raw is None:
        return None
    kind, separator, value = raw.partition(",")
    if not separator or not kind.strip().isdigit():
        raise GptTmplError(f"[{REGISTRY_VALUES}] {path} is not `type,value`: {raw[:80]!r}")
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] == '"':
        value = value[1:-1]
    return int(kind), value
