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


NAME_RULE = ("group names compared with surrounding whitespace trimmed and case-insensitively, as Microsoft Graph "
             "matches displayName (learn.microsoft.com/graph/filter-query-parameter: startswith(displayName,'mary') "
             "finds 'Mary')")


def name_key(name: str | None) -> str:
    """A directory display name as the services compare it: case-insensitive (casefold) and with the leading and
    trailing whitespace a portal or a policy file can carry trimmed. Inner whitespace and hidden characters are
    kept (a name differing inside is another name)."""
    return (name or "").strip().casefold()


def same_name(a: str | None, b: str | None) -> bool:
    """Whether two display names name the same group by `name_key` (two empty names never match)."""
    return bool(name_key(a)) and name_key(a) == name_key(b)
