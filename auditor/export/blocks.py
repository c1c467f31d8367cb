"""The export's building blocks: a value with its source (`Leaf`), a mapping of them (`Block`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from auditor.snapshot.models import Section, Snapshot


@dataclass(frozen=True)
class Leaf:
    """One policy value: the live value and where it came from, or why it is absent."""

    key: str
    value: Any = None
    source: str = ""
    absent: str | None = None
    required: bool = False
    before: tuple[str, ...] = ()  # comment lines above the key (evidence too long for its line)


@dataclass(frozen=True)
class Block:
    """A policy mapping; `unreadable` says why the whole of it cannot be exported."""

    key: str
    children: list[Leaf | Block] = field(default_factory=list)
    comment: str | None = None
    unreadable: str | None = None
    required: bool = False


def readable(snapshot: Snapshot, name: str) -> tuple[Any, str, str | None]:
    """(value, source, None) when section `name` was read, else (None, source, why not)."""
    section: Section[Any] | None = getattr(snapshot, name, None)
    if section is None:
        return None, name, f"`{name}` was not collected in this snapshot"
    if not section.readable:
        return None, section.source, f"{section.source} could not be read: {section.error or 'no value'}"
    return section.value, section.source, None


def leaf(key: str, value: Any, source: str, wire_field: str, required: bool = False) -> Leaf:
    if value is None:
        return Leaf(key, absent=f"{source} {wire_field} was not in the response", required=required)
    return Leaf(key, value, f"{source} {wire_field}", required=required)
