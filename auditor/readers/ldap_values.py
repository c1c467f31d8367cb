"""Raw LDAP attribute values as the readers use them (text, texts, integer), paging lists, and shared filters."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

USERS = "(&(objectCategory=person)(objectClass=user))"


def text(raw: dict[str, list[bytes]], name: str) -> str | None:
    values = raw.get(name) or []
    return bytes(values[0]).decode("utf-8", "replace") if values else None


def texts(raw: dict[str, list[bytes]], name: str) -> list[str]:
    return [bytes(v).decode("utf-8", "replace") for v in raw.get(name) or []]


def integer(raw: dict[str, list[bytes]], name: str) -> int | None:
    value = text(raw, name)
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def chunks(items: list[Any], size: int) -> Iterator[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
