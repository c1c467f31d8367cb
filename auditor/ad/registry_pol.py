"""Registry.pol (the Group Policy "PReg" registry policy file): parse it, and read one value.

The format (Microsoft, "Registry Policy File Format"): a header of the signature `PReg`
(0x67655250, little-endian) and version 1 (a little-endian DWORD), then entries

    [key;value;type;size;data]

where the brackets and semicolons are UTF-16LE characters, `key` and `value` are UTF-16LE
strings ending in a NUL, `type` and `size` are little-endian DWORDs (the registry type, and the
number of bytes of `data`), and `data` is `size` raw bytes. Later entries win. A value name of
`**del.NAME` deletes NAME, `**delvals.` deletes every value of the key, `**DeleteValues` and
`**DeleteKeys` list names to delete (`;`-separated); all other names starting `**` are markers.

Pure: bytes in, entries out. Errors raise `RegistryPolError` with the byte offset.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

SIGNATURE = b"PReg"
VERSION = 1
REG_SZ, REG_EXPAND_SZ, REG_BINARY, REG_DWORD, REG_DWORD_BIG_ENDIAN, REG_MULTI_SZ, REG_QWORD = 1, 2, 3, 4, 5, 7, 11
_OPEN, _SEP, _CLOSE = "[".encode("utf-16-le"), ";".encode("utf-16-le"), "]".encode("utf-16-le")


class RegistryPolError(ValueError):
    """The bytes are not a well-formed Registry.pol file."""


@dataclass(frozen=True)
class PolicyEntry:
    key: str
    value_name: str
    type: int
    data: bytes

    def decoded(self) -> int | str | list[str] | bytes:
        """The data as the registry type says: an int, a string, a list of strings, or bytes."""
        if self.type == REG_DWORD and len(self.data) >= 4:
            return int(struct.unpack_from("<I", self.data)[0])
        if self.type == REG_DWORD_BIG_ENDIAN and len(self.data) >= 4:
            return int(struct.unpack_from(">I", self.data)[0])
        if self.type == REG_QWORD and len(self.data) >= 8:
            return int(struct.unpack_from("<Q", self.data)[0])
        if self.type in (REG_SZ, REG_EXPAND_SZ):
            return _utf16(self.data).split("\0", 1)[0]
        if self.type == REG_MULTI_SZ:
            return [part for part in _utf16(self.data).split("\0") if part]
        return self.data


def _utf16(data: bytes) -> str:
    return data[: len(data) - len(data) % 2].decode("utf-16-le", errors="replace")


def parse(data: bytes) -> list[PolicyEntry]:
    """Every entry of a Registry.pol file, in file order."""
    if len(data) < 8 or data[:4] != SIGNATURE:
        raise RegistryPolError("not a Registry.pol file: it does not start with the PReg signature")
    (version,) = struct.unpack_from("<I", data, 4)
    if version != VERSION:
        raise RegistryPolError(f"unsupported Registry.pol version {version} (expected {VERSION})")
    entries = []
    offset = 8
    while offset < len(data):
        if data[offset:offset + 2] != _OPEN:
            raise RegistryPolError(f"expected '[' at byte {offset}")
        offset += 2
        key, offset = _string(data, offset)
        value_name, offset = _string(data, offset)
        kind, offset = _dword(data, offset)
        size, offset = _dword(data, offset)
        if offset + size > len(data):
            raise RegistryPolError(f"value data of {size} bytes runs past the end of the file (byte {offset})")
        payload = data[offset:offset + size]
        offset += size
        if data[offset:offset + 2] != _CLOSE:
            raise RegistryPolError(f"expected ']' at byte {offset}")
        offset += 2
        entries.append(PolicyEntry(key, value_name, kind, payload))
    return entries


def _string(data: bytes, offset: int) -> tuple[str, int]:
    """A NUL-terminated UTF-16LE string followed by ';' (code units are 2-byte aligned from the header).

    [MS-GPREG] 2.2.1: key and value names are NUL-terminated, and ';' may occur inside a name (real GPOs
    have such names, e.g. Chromium's ExtensionInstallForcelist `<id>;<update url>`), so the name ends at
    its NUL, never at the first ';'.
    """
    end = offset
    while True:
        if end + 2 > len(data):
            raise RegistryPolError(f"unterminated string at byte {offset}")
        if data[end:end + 2] == b"\0\0":
            break
        end += 2
    if data[end + 2:end + 4] != _SEP:
        raise RegistryPolError(f"expected ';' after the string that ends at byte {end}")
    try:
        text = data[offset:end].decode("utf-16-le", errors="strict")
    except UnicodeDecodeError as exc:
        raise RegistryPolError(f"a name at byte {offset} is not UTF-16: {exc.reason}") from None
    return text, end + 4


def _dword(data: bytes, offset: int) -> tuple[int, int]:
    if offset + 6 > len(data):
        raise RegistryPolError(f"truncated entry at byte {offset}")
    (number,) = struct.unpack_from("<I", data, offset)
    if data[offset + 4:offset + 6] != _SEP:  # both the type and the size are followed by ';'
        raise RegistryPolError(f"expected ';' at byte {offset + 4}")
    return int(number), offset + 6


def lookup(entries: list[PolicyEntry], key: str, value_name: str) -> PolicyEntry | None:
    """The value `key\\value_name` as the file leaves it (later entries win; deletions remove it)."""
    wanted_key, wanted_name = key.strip("\\").casefold(), value_name.casefold()
    found: PolicyEntry | None = None
    for entry in entries:
        if entry.key.strip("\\").casefold() != wanted_key:
            continue
        name = entry.value_name.casefold()
        if name == wanted_name:
            found = entry
        elif name == f"**del.{wanted_name}" or name.startswith("**delvals"):
            found = None
        elif name in ("**deletevalues", "**deletekeys"):
            listed = entry.decoded()
            names = listed if isinstance(listed, list) else str(listed).split(";")
            if wanted_name in {n.strip().casefold() for n in names}:
                found = None
    return found


def build(entries: list[tuple[str, str, int, bytes]]) -> bytes:
    """A Registry.pol file holding `entries` (key, value name, type, data): for tests and the lab.

    Key and value names are written NUL-terminated, as Windows writes them (';' inside a name is kept);
    a name holding a NUL could not be read back (the format has no escape), so it is refused.
    """
    out = bytearray(SIGNATURE + struct.pack("<I", VERSION))
    for key, name, kind, payload in entries:
        for text in (key, name):
            if "\0" in text:
                raise ValueError(f"a Registry.pol key or value name cannot hold a NUL: {text!r}")
        out += _OPEN + (key + "\0").encode("utf-16-le") + _SEP + (name + "\0").encode("utf-16-le") + _SEP
        out += struct.pack("<I", kind) + _SEP + struct.pack("<I", len(payload)) + _SEP + payload + _CLOSE
    return bytes(out)


def write(entries: list[PolicyEntry]) -> bytes:
    """A Registry.pol file holding `entries` in order: `parse(write(entries)) == entries`."""
    return build([(e.key, e.value_name, e.type, e.data) for e in entries])


def dword(key: str, value_name: str, value: int) -> PolicyEntry:
    """A REG_DWORD entry (0 to 2**32 - 1)."""
    return PolicyEntry(key, value_name, REG_DWORD, struct.pack("<I", value))


def string(key: str, value_name: str, text: str) -> PolicyEntry:
    """A REG_SZ entry, NUL-terminated as the registry stores it."""
    return PolicyEntry(key, value_name, REG_SZ, (text + "\0").encode("utf-16-le"))


# The reset link on the Windows sign-in screen (howto-sspr-windows): a machine policy value.
SIGN_IN_RESET_KEY = r"Software\Policies\Microsoft\AzureADAccount"
SIGN_IN_RESET_VALUE = "AllowPasswordReset"
MACHINE_POLICY_FILE = r"Machine\Registry.pol"


def allow_password_reset(data: bytes) -> int | None:
    """AllowPasswordReset as a GPO's Machine\\Registry.pol sets it, or None when it does not."""
    found = lookup(parse(data), SIGN_IN_RESET_KEY, SIGN_IN_RESET_VALUE)
    if found is None:
        return None
    value = found.decoded()
    return value if isinstance(value, int) else None
