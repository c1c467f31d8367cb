"""Registry.pol parsing, with files built byte by byte from Microsoft's "Registry Policy File Format"."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from auditor.ad import registry_pol
from auditor.ad.registry_pol import REG_DWORD, REG_MULTI_SZ, REG_SZ, RegistryPolError, lookup, parse

KEY = r"Software\Policies\Microsoft\AzureADAccount"
HEADER = b"PReg" + b"\x01\x00\x00\x00"  # signature 0x67655250 little-endian, version 1


def u16(text: str) -> bytes:
    return text.encode("utf-16-le")


def entry(key: str, name: str, kind: int, data: bytes) -> bytes:
    """[key;value;type;size;data] with UTF-16LE punctuation and NUL-terminated UTF-16LE strings."""
    return (u16("[") + u16(key) + b"\x00\x00" + u16(";") + u16(name) + b"\x00\x00" + u16(";")
            + struct.pack("<I", kind) + u16(";") + struct.pack("<I", len(data)) + u16(";") + data + u16("]"))


def dword(value: int) -> bytes:
    return struct.pack("<I", value)


def test_an_empty_file_has_no_entries() -> None:
    assert parse(HEADER) == []


def test_reads_the_allow_password_reset_dword() -> None:
    data = HEADER + entry(KEY, "AllowPasswordReset", REG_DWORD, dword(1))
    (found,) = parse(data)
    assert (found.key, found.value_name, found.type, found.decoded()) == (KEY, "AllowPasswordReset", REG_DWORD, 1)
    assert lookup(parse(data), KEY.upper(), "allowpasswordreset") == found


def test_strings_multi_strings_and_data_holding_brackets() -> None:
    text = u16("C:\\[odd];path") + b"\x00\x00"
    multi = u16("a") + b"\x00\x00" + u16("b]") + b"\x00\x00" + b"\x00\x00"
    data = HEADER + entry(r"Software\Policies\X", "Path", REG_SZ, text) + entry(r"Software\Policies\X", "List",
                                                                             REG_MULTI_SZ, multi)
    first, second = parse(data)
    assert first.decoded() == "C:\\[odd];path"  # the size, not the ']' inside the data, ends it
    assert second.decoded() == ["a", "b]"]


def test_later_entries_win_and_deletions_remove_the_value() -> None:
    on, off = entry(KEY, "AllowPasswordReset", REG_DWORD, dword(1)), entry(KEY, "AllowPasswordReset", REG_DWORD,
                                                                           dword(0))
    assert lookup(parse(HEADER + on + off), KEY, "AllowPasswordReset").decoded() == 0
    deleted = entry(KEY, "**del.AllowPasswordReset", REG_SZ, u16(" ") + b"\x00\x00")
    assert lookup(parse(HEADER + on + deleted), KEY, "AllowPasswordReset") is None
    wiped = entry(KEY, "**delvals.", REG_SZ, u16(" ") + b"\x00\x00")
    assert lookup(parse(HEADER + on + wiped), KEY, "AllowPasswordReset") is None
    assert lookup(parse(HEADER + on), r"Software\Policies\Other", "AllowPasswordReset") is None


@pytest.mark.parametrize(("data", "message"), [
    (b"", "PReg signature"),
    (b"REGF\x01\x00\x00\x00", "PReg signature"),
    (b"PReg\x02\x00\x00\x00", "version 2"),
    (HEADER + b"x\x00", "expected '\\[' at byte 8"),
    (HEADER + entry(KEY, "A", REG_DWORD, dword(1))[:-6], "runs past the end|expected"),
    (HEADER + u16("[") + u16("unterminated"), "unterminated string"),
])
def test_malformed_files_raise_with_the_offset(data: bytes, message: str) -> None:
    with pytest.raises(RegistryPolError, match=message):
        parse(data)


def test_build_writes_what_parse_reads() -> None:
    written = registry_pol.build([(KEY, "AllowPasswordReset", REG_DWORD, dword(1))])
    assert written == HEADER + entry(KEY, "AllowPasswordReset", REG_DWORD, dword(1))


def test_allow_password_reset_reads_the_sign_in_screen_value() -> None:
    assert registry_pol.allow_password_reset(HEADER + entry(KEY, "AllowPasswordReset", REG_DWORD, dword(1))) == 1
    assert registry_pol.allow_password_reset(HEADER + entry(KEY, "Other", REG_DWORD, dword(1))) is None
    assert registry_pol.allow_password_reset(HEADER) is None


# --- the writer: what it writes, parse reads back -------------------------------------------------

_NAME = st.text(st.characters(blacklist_characters="\0", blacklist_categories=("Cs",)), max_size=40)
_ENTRY = st.builds(registry_pol.PolicyEntry, _NAME, _NAME, st.sampled_from([REG_SZ, REG_DWORD, REG_MULTI_SZ, 3, 11]),
                   st.binary(max_size=64))


@given(st.lists(_ENTRY, max_size=8))
def test_write_round_trips_any_entries(entries: list[registry_pol.PolicyEntry]) -> None:
    assert parse(registry_pol.write(entries)) == entries


def test_write_round_trips_a_windows_shaped_machine_policy() -> None:
    entries = [
        registry_pol.dword(r"Software\Policies\Microsoft\Windows\System", "DisableLockScreenAppNotifications", 1),
        registry_pol.string(r"Software\Policies\Microsoft\Windows\Personalization", "LockScreenImage",
                            "C:\\Windows\\Web\\Screen\\[corp];lock.jpg"),
        registry_pol.dword(registry_pol.SIGN_IN_RESET_KEY, "**del." + registry_pol.SIGN_IN_RESET_VALUE, 0),
        registry_pol.dword(registry_pol.SIGN_IN_RESET_KEY, registry_pol.SIGN_IN_RESET_VALUE, 1),
        registry_pol.dword(r"Software\Policies\Ünïcødé ✓", "Wert", 0xFFFFFFFF),
    ]
    data = registry_pol.write(entries)
    assert data.startswith(HEADER)
    assert parse(data) == entries
    assert [e.decoded() for e in parse(data)] == [1, "C:\\Windows\\Web\\Screen\\[corp];lock.jpg", 0, 1, 0xFFFFFFFF]
    assert registry_pol.allow_password_reset(data) == 1  # the later entry wins over the deletion before it
    assert registry_pol.allow_password_reset(registry_pol.write(entries[:3])) is None


def test_write_refuses_names_it_could_not_read_back() -> None:
    with pytest.raises(ValueError, match="cannot hold a NUL"):
        registry_pol.write([registry_pol.dword(KEY, "Allow\0PasswordReset", 1)])


def test_names_holding_semicolons_round_trip() -> None:
    # [MS-GPREG]: a name ends at its NUL; real GPOs have `<extension id>;<update url>` value names
    entries = [registry_pol.string(r"Software\Policies\Chromium\ExtensionInstallForcelist", "ab;https://x/u;v",
                                   "ab;https://x/u"), registry_pol.dword(KEY, "AllowPasswordReset", 1)]
    data = registry_pol.write(entries)
    assert registry_pol.parse(data) == entries and registry_pol.allow_password_reset(data) == 1
