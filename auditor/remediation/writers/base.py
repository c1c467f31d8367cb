"""What every writer does: observe a change's target, write it, restore an object from a backup."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, Literal

from auditor.remediation.session import BackupObject, Session


@dataclass(frozen=True)
class Observation:
    """A target as read now: whether it holds the plan's old value, its new one, or something else.

    `backup` is the object's whole old value in the writer's backup shape (JSON, base64 bytes).
    """

    state: Literal["old", "new", "other"]
    detail: str = ""
    backup: dict[str, Any] = field(default_factory=dict)


class Writer(ABC):
    """Writes the changes of its kinds (`auditor.fixes.changes.Change`, each naming its writer).

    `change` is typed `Any` here and in each writer: a writer looks the change's `kind` up in its own table
    (`_OBJECTS`), whose entry takes that kind's class, and a checker cannot follow a lookup by a string to the
    class it selects. The callers (apply, journal, derivation) hold the typed `Change` union.
    """

    def __init__(self, session: Session[Writer]) -> None:
        self.session = session

    @staticmethod
    @abstractmethod
    def identity(change: Any) -> dict[str, str]:
        """The keys of the backup data that name the object `change` writes (path, DN), with their values."""

    @abstractmethod
    def read(self, change: Any) -> dict[str, Any]:
        """The change's whole object as it is now, in the backup's shape (JSON, base64 bytes, values)."""

    @staticmethod
    @abstractmethod
    def state_of(change: Any, data: dict[str, Any]) -> Observation:
        """Does `data` (an object in the backup's shape) hold the change's old value, its new one, or neither?

        Pure, so a backup can be checked offline: its state before apply must be the change's old value
        and its state after apply the new one.
        """

    @staticmethod
    def expected(change: Any, data: dict[str, Any]) -> dict[str, Any] | None:
        """`data` (the object before the write, in the backup's shape) as writing `change` leaves it, for the
        journal's intent; None when the server's answer cannot be predicted byte for byte. Pure."""
        return None

    def observe(self, change: Any) -> Observation:
        """Read the change's target now and compare it with the plan's old and new values."""
        return self.state_of(change, self.read(change))

    @abstractmethod
    def write(self, change: Any) -> None:
        """Make the change (re-reading what a full-object write needs)."""

    @abstractmethod
    def matches(self, obj: BackupObject) -> bool:
        """Does the object hold exactly the backed-up value now?"""

    @abstractmethod
    def restore(self, obj: BackupObject) -> None:
        """Put the backed-up value back."""


def differs(name: str, seen: Any, old: Any, new: Any) -> str:
    return f"{name} is {seen!r}, the plan expected {old!r} (or {new!r} once applied)"


def classify(pairs: list[tuple[str, Any, Any, Any]]) -> tuple[Literal["old", "new", "other"], str]:
    """(name, seen, old, new) per setting → "new" when all are new, "old" when all are old, else "other"."""
    if all(seen == new for _, seen, _, new in pairs):
        return "new", ""
    if all(seen == old for _, seen, old, _ in pairs):
        return "old", ""
    detail = "; ".join(differs(n, s, o, v) for n, s, o, v in pairs if s not in (o, v)) or \
        "some settings hold the new value and others the old one"
    return "other", detail


def describe_error(exc: BaseException) -> str:
    """One line for an error from any client, never with a credential in it."""
    from kiota_abstractions.api_error import APIError

    if isinstance(exc, APIError):
        from auditor.readers.graph import describe_error as graph_error

        return graph_error(exc)
    from auditor.readers.portal import PortalError

    if isinstance(exc, PortalError):
        return f"portal API: {exc}"
    name = type(exc).__name__
    text = str(exc).strip() or name
    return text if name in text else f"{name}: {text}"
