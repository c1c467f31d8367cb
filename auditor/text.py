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
