"""What the writers share with apply and rollback: where to write (`Targets`), the clients opened on first
use (`Session`), the old value of an object (`BackupObject`) and the error a writer raises (`ApplyError`).

Below both `apply` and the writers, so neither imports the other's module: apply hands the session a
writer factory.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Generic, TypeAlias, TypeVar

from pydantic import Field

from auditor.interrupts import run
from auditor.readers.reach import Reached
from auditor.remediation.changes import Frozen

log = logging.getLogger(__name__)
T = TypeVar("T")
C = TypeVar("C")  # a client the session keeps (Graph, portal, LDAP)
# the endpoints opened for writing (auditor/readers/reach.py)
Targets: TypeAlias = Reached
W = TypeVar("W")  # the writer type (auditor.remediation.writers.base.Writer), which imports this module


class ApplyError(Exception):
    """A writer cannot run: a target it needs is not configured, or a backup cannot be written."""


class BackupObject(Frozen):
    """The old value of one object, exactly as read before the first write."""

    key: str
    writer: str
    target: str
    data: dict[str, Any] = Field(description="Writer-specific: full JSON, base64 bytes, attribute values")
    written: bool = Field(False, description="Set just before the first write to this object")
    after: dict[str, Any] | None = Field(
        None, description="The object as read back after apply's last write to it (same shape as `data`)")
    left: list[dict[str, Any]] = Field(
        default_factory=list, description="When apply's last write to it did not finish (killed, failed): every "
                                          "state it may have left, from the journal (auditor.remediation.journal)")
    unfinished: str | None = Field(None, description="The id of the change whose write did not finish, if any")


# -- the session: clients and connections, opened on first use ------------------------------

class Session(Generic[W]):
    """Clients for the writers, created when first needed and closed together.

    Generic in the writer type so this module need not import the writers, which import it."""

    def __init__(self, targets: Targets, make_writer: Callable[[str, Session[W]], W]) -> None:
        self.targets = targets
        self._make_writer = make_writer
        self._runner = asyncio.Runner()
        self._clients: dict[str, Any] = {}
        self._closers: list[Callable[[], None]] = []
        self._writers: dict[str, W] = {}

    def run(self, work: Awaitable[T]) -> T:
        return run(work, self._runner)  # a signal cancels the work wherever it waits (auditor.interrupts)

    def client(self, name: str, make: Callable[[], C], close: Callable[[C], None] | None = None) -> C:
        if name not in self._clients:
            made = make()
            self._clients[name] = made
            if close is not None:
                self._closers.append(lambda: close(made))
        client: C = self._clients[name]  # what `make` made under this name
        return client

    def writer(self, name: str) -> W:
        if name not in self._writers:
            self._writers[name] = self._make_writer(name, self)
        return self._writers[name]

    def close(self) -> None:
        for closer in reversed(self._closers):
            try:
                closer()
            except Exception:  # closing a dead connection: nothing to learn
                log.debug("closing a writer client failed", exc_info=True)
        self._runner.close()

    def __enter__(self) -> Session[W]:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
