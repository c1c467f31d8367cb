"""GptTmpl.inf parsing and rewriting: Windows' UTF-16LE/BOM/CRLF, samba-tool's ASCII, and the rest."""

from __future__ import annotations

import pytest

from auditor.ad import gpttmpl
from auditor.ad.gpttmpl import GptTmplError, gpt_ini_version, minimum_password_age, parse, windows_template

WINDOWS = ("[Unicode]\r\nUnicode=yes\r\n[System Access]\r\nMinimumPasswordAge = 1\r\nMaximumPasswordAge = 42\r\n"
           "[Kerberos Policy]\r\nMaxTicketAge = 10\r\n[Version]\r\nsignature=\"$CHICAGO$\"\r\nRevision=1\r\n")
SAMBA_TOOL = "[System Access]\nMinimumPasswordAge = 0\n"


def windows_bytes(text: str = WINDOWS) -> bytes:
    return b"\xff\xfe" + text.encode("utf-16-le")


def test_windows_file_is_read_with_its_encoding_and_line_ends() -> None:
    template = parse(windows_bytes())
    assert template.encoding == "utf-16-le-bom" and template.newline == "\r\n"
    assert minimum_password_age(template) == 1
    assert template.get("system access", "minimumpasswordage") == "1"  # names are case-insensitive
    assert template.to_bytes() == windows_bytes()


def test_changing_one_value_keeps_every_other_byte() -> None:
    changed = parse(windows_bytes()).with_value("System Access", "MinimumPasswordAge", "0").to_bytes()
    assert changed == windows_bytes(WINDOWS.replace("MinimumPasswordAge = 1", "MinimumPasswordAge = 0"))


def test_missing_key_is_added_to_its_section_and_missing_section_before_version() -> None:
    no_key = WINDOWS.replace("MinimumPasswordAge = 1\r\n", "")
    template = parse(windows_bytes(no_key))
    assert minimum_password_age(template) is None
    added = template.with_value("System Access", "MinimumPasswordAge", "0")
    assert added.lines[added.lines.index("[System Access]") + 2] == "MinimumPasswordAge = 0"
    no_section = parse(b"[Unicode]\r\nUnicode=yes\r\n[Version]\r\nRevision=1\r\n")
    new = no_section.with_value("System Access", "MinimumPasswordAge", "0")
    assert new.lines == ("[Unicode]", "Unicode=yes", "[System Access]", "MinimumPasswordAge = 0", "[Version]",
                         "Revision=1")


@pytest.mark.parametrize(("data", "encoding"), [
    (SAMBA_TOOL.encode("ascii"), "ascii"),
    (b"\xef\xbb\xbf" + SAMBA_TOOL.encode(), "utf-8-bom"),
    (SAMBA_TOOL.encode("utf-16-le"), "utf-16-le"),
    (b"\xfe\xff" + SAMBA_TOOL.encode("utf-16-be"), "utf-16-be-bom"),
    ("; café\n".encode() + SAMBA_TOOL.encode(), "utf-8"),
])
def test_other_encodings_round_trip(data: bytes, encoding: str) -> None:
    template = parse(data)
    assert template.encoding == encoding
    assert minimum_password_age(template) == 0
    assert template.to_bytes() == data


def test_comments_blank_lines_and_quoted_values() -> None:
    template = parse(b"; header\n\n[System Access]\n; MinimumPasswordAge = 9\nMinimumPasswordAge=\"2\"\n\n[X]\n")
    assert minimum_password_age(template) == 2
    assert template.with_value("System Access", "LockoutBadCount", "5").lines[5] == "LockoutBadCount = 5"


def test_garbage_is_a_clear_error() -> None:
    with pytest.raises(GptTmplError, match="not a number"):
        minimum_password_age(parse(b"[System Access]\nMinimumPasswordAge = soon\n"))
    with pytest.raises(GptTmplError, match="not UTF-16, UTF-8 or ASCII"):
        parse(b"\x81\xff\xfe[System Access]\x00\x80")
    with pytest.raises(GptTmplError, match="byte-order mark"):
        parse(b"\xef\xbb\xbf\xff\xfe")


def test_windows_template_shape() -> None:
    data = windows_template(0).to_bytes()
    assert data.startswith(b"\xff\xfe") and "\r\n".encode("utf-16-le") in data
    template = parse(data)
    assert template.get("Unicode", "Unicode") == "yes"
    assert template.get("Version", "signature") == '"$CHICAGO$"'
    assert minimum_password_age(template) == 0


def test_gpt_ini_version() -> None:
    assert gpt_ini_version(b"[General]\r\nVersion=65538\r\n") == 65538
    assert gpt_ini_version(b"[General]\r\n") is None
    with pytest.raises(gpttmpl.GptTmplError):
        gpt_ini_version(b"[General]\r\nVersion=x\r\n")
