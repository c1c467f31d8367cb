"""Security identifiers: binary ([MS-DTYP] 2.4.2.2) to and from the `S-1-5-…` string form."""

from __future__ import annotations

import re

_SID_TEXT = re.compile(r"^S-1-(\d+)((?:-\d+){0,15})$", re.IGNORECASE)


def sid_from_bytes(data: bytes) -> str:
    """`S-R-A-S1-…` from a binary SID; ValueError on a malformed value."""
    if len(data) < 8 or data[0] != 1:
        raise ValueError(f"not a binary SID: {data.hex()}")
    count = data[1]
    if len(data) != 8 + 4 * count:
        raise ValueError(f"binary SID length {len(data)} does not match {count} sub-authorities")
    authority = int.from_bytes(data[2:8], "big")
    subs = [int.from_bytes(data[8 + 4 * i : 12 + 4 * i], "little") for i in range(count)]
    return "-".join(["S", "1", str(authority), *map(str, subs)])


def sid_to_bytes(text: str) -> bytes:
    match = _SID_TEXT.match(text.strip())
    if not match:
        raise ValueError(f"not a SID: {text!r}")
    authority = int(match.group(1))
    subs = [int(s) for s in match.group(2).split("-")[1:]]
    out = bytes([1, len(subs)]) + authority.to_bytes(6, "big")
    return out + b"".join(s.to_bytes(4, "little") for s in subs)


def is_sid(text: str) -> bool:
    return bool(_SID_TEXT.match(text.strip()))


def rid(sid: str) -> int:
    """The last sub-authority (the relative id within the domain)."""
    return int(sid.rsplit("-", 1)[1])
