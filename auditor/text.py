"""Showing untrusted text (tenant, domain and file data): hidden characters are shown, never obeyed."""

from __future__ import annotations

import re

# C0/C1 controls other than tab and newline, bidirectional embeddings, overrides and
# isolates, and invisible zero-width characters.
HIDDEN_CHARACTERS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]")


def reveal_hidden(text: str) -> str:
    """`text` with control, bidi-override and zero-width characters replaced by `[U+XXXX]`."""
    return HIDDEN_CHARACTERS.sub(lambda m: f"[U+{ord(m.group()):04X}]", text)


def one_line(text: object) -> str:
    """`text` on one line (whitespace runs folded to one space) with hidden characters revealed."""
    return " ".join(reveal_hidden(str(text)).split())


# The first bytes that tell UTF-32 and UTF-16 (with or without a byte-order mark) from UTF-8, in the order
# YAML 1.2 checks them (https://yaml.org/spec/1.2.2/#52-character-encodings; JSON text is UTF-8 only,
# https://www.rfc-editor.org/rfc/rfc8259#section-8.1). A file that starts with an ASCII character stored
# as 2 or 4 bytes is one of these, whatever its name says.
_WIDE = (
    (b"\x00\x00\xfe\xff", "UTF-32 (big-endian, with a byte-order mark)"),
    (b"\xff\xfe\x00\x00", "UTF-32 (little-endian, with a byte-order mark)"),
    (b"\xfe\xff", "UTF-16 (big-endian, with a byte-order mark)"),
    (b"\xff\xfe", "UTF-16 (little-endian, with a byte-order mark)"),
)


def wide_encoding(raw: bytes) -> str | None:
    """"UTF-16 (…)" or "UTF-32 (…)" when `raw` starts as such a file does (a byte-order mark, or an ASCII
    character padded with NUL bytes), else None (UTF-8, or bytes that are no text at all)."""
    for mark, name in _WIDE:
        if raw.startswith(mark):
            return name
    head = raw[:4]
    if len(head) == 4 and head[:3] == b"\x00\x00\x00" and 0 < head[3] < 0x80:
        return "UTF-32 (big-endian, no byte-order mark)"
    if len(head) == 4 and head[1:] == b"\x00\x00\x00" and 0 < head[0] < 0x80:
        return "UTF-32 (little-endian, no byte-order mark)"
    if len(head) >= 2 and head[0] == 0 and 0 < head[1] < 0x80:
        return "UTF-16 (big-endian, no byte-order mark)"
    if len(head) >= 2 and head[1] == 0 and 0 < head[0] < 0x80:
        return "UTF-16 (little-endian, no byte-order mark)"
    return None
