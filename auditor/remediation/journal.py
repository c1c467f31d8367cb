"""apply's write-ahead journal: what each write was about to do, and what it did.

Before each write apply records an *intent*: the change, its object, the object exactly as read back
just before the write (`prior`) and as the write should leave it (`expect`, from the writer's pure
`expected`; None where the server's answer cannot be predicted byte for byte). After the write and
its read-back it records the *result*: ok, and the object as read back (`after`). Each record is
made durable before apply goes on: the journal lives in the backup file, which is rewritten whole
to a temporary file, fsync'd, renamed over the old one and its folder fsync'd
(`auditor.files.write_atomically`), so a crash at any point leaves the backup as it was before
the record or as it is after it, never half of either. The backup's digest and its MAC (with
SSPR_PLAN_KEY) cover the journal.

`fold` turns the journal into what rollback needs per object: whether apply may have written it
(an intent exists), the state apply's last completed write left (`after`), and, when the last write
did not finish (killed, failed, connection lost), every state it may have left (`left`: the state
before that write, and the state it was to make). Rollback restores an object that holds any of
them without --force; anything else changed since apply.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import Field

from auditor.fixes.changes import Change
from auditor.remediation.changes import Frozen, object_key
from auditor.remediation.session import BackupObject
from auditor.snapshot.models import utc_now


class JournalEntry(Frozen):
    """One record of the journal: an intent before a write, or the result after it."""

    event: Literal["intent", "result"]
    change: str = Field(description="The id of the change written")
    key: str = Field(description="The object the change writes (changes.object_key)")
    at: datetime = Field(default_factory=utc_now)
    prior: dict[str, Any] | None = Field(None, description="intent: the object as read back just before the write")
    expect: dict[str, Any] | None = Field(
        None, description="intent: the object as the write should leave it; None when that cannot be predicted")
    ok: bool | None = Field(None, description="result: the write was made and read back with the new value")
    after: dict[str, Any] | None = Field(None, description="result: the object as read back after the write")
    detail: str | None = Field(None, description="result: why the write failed")


def fold(objects: list[BackupObject], journal: list[JournalEntry]) -> list[BackupObject]:
    """`objects` with `written`, `after` and `left` as the journal says (newest record wins)."""
    out = []
    for obj in objects:
        mine = [entry for entry in journal if entry.key == obj.key]
        intents = [entry for entry in mine if entry.event == "intent"]
        if not intents:
            out.append(obj)
            continue
        last, intent = mine[-1], intents[-1]
        if last.event == "result" and last.ok and last.after is not None:
            out.append(obj.model_copy(update={"written": True, "after": last.after}))
            continue
        # the last write did not finish: the object holds its state before that write, or the one it was to make
        left = [state for state in (intent.prior, intent.expect) if state is not None]
        if last.event == "result" and last.after is not None:
            left.append(last.after)
        out.append(obj.model_copy(update={"written": True, "after": None, "left": left, "unfinished": intent.change}))
    return out


def journal_problem(journal: list[JournalEntry], changes: list[Change], objects: list[BackupObject]) -> str | None:
    """Why the journal is not one apply wrote for these changes and objects (None when it is)."""
    from auditor.remediation.writers import writer_class

    by_id = {change.id: change for change in changes}
    keys = {obj.key for obj in objects}
    open_intent: dict[str, str] = {}  # object key → the change whose intent has no result yet
    for index, entry in enumerate(journal):
        where = f"journal record {index + 1} ({entry.event} of change {entry.change})"
        change = by_id.get(entry.change)
        if change is None:
            return f"{where}: no change of the apply has this id"
        if object_key(change) != entry.key or entry.key not in keys:
            return f"{where}: it names object {entry.key}, the change writes {object_key(change)}"
        writer = writer_class(change.writer)
        if entry.event == "intent":
            if entry.prior is None:
                return f"{where}: it holds no state before the write"
            states: list[tuple[str, dict[str, Any] | None, str | None]] = [
                ("before the write", entry.prior, "old"), ("the write was to make", entry.expect, "new")]
            open_intent[entry.key] = entry.change
        else:
            if open_intent.get(entry.key) != entry.change:
                return f"{where}: no intent of this change precedes it"
            del open_intent[entry.key]
            states = [("after the write", entry.after, "new" if entry.ok else None)]
        for label, data, wanted in states:
            if data is None:
                continue
            problem = _identity_problem(writer, change, data)
            if problem:
                return f"{where}: its state {label} {problem}"
            if wanted is None:
                continue
            try:
                seen = writer.state_of(change, data).state
            except Exception as exc:  # a shape the writer cannot read is not one it recorded
                return f"{where}: its state {label} cannot be read as the change writes it ({type(exc).__name__})"
            if seen != wanted:
                return f"{where}: its state {label} does not hold the change's {wanted} value"
    return None


def _identity_problem(writer: Any, change: Change, data: dict[str, Any]) -> str | None:
    for name, value in writer.identity(change).items():
        if name not in data:
            return f"has no {name}"
        if same_object_name(data[name]) != same_object_name(value):
            return f"names {name} {data[name]!r}, the change writes {value!r}"
    return None


def same_object_name(value: Any) -> str:
    """A DN or path compared as AD and SMB compare them: case-insensitive, UNC host left out."""
    text = str(value).casefold()
    if text.startswith("\\\\"):
        text = text.lstrip("\\").split("\\", 1)[-1]
    return text
