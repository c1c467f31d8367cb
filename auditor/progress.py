"""Progress of long reads: the readers report what they have read, a display (if any) shows it.

The readers call `advance` and `source_done`; with no display installed (`--progress never`, `validate`,
the tests) both do nothing. A display is installed for one run with `showing(display)`. It is a module
global, not a context variable, because the on-premises read runs in a worker thread, and a display must
be thread-safe. Nothing here imports more than the standard library, so readers stay light.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Protocol


class Display(Protocol):
    wants_totals: bool
    """Whether the display shows "n of N": readers then ask the service for N where it says it cheaply."""

    def advance(self, source: str, item: str, count: int, unit: str) -> None: ...

    def total(self, source: str, item: str, count: int, unit: str) -> None: ...

    def source_done(self, source: str) -> None: ...


_display: Display | None = None
_lock = threading.Lock()


def advance(source: str, item: str, count: int = 1, unit: str = "rows") -> None:
    """`count` more `unit` of `item` read from `source` (e.g. "Graph", "users", 999, "rows")."""
    display = _display
    if display is not None and count:
        display.advance(source, item, count, unit)


def wants_totals() -> bool:
    """Whether a display that shows totals is installed (a reader may then spend a request on a count)."""
    display = _display
    return display is not None and bool(getattr(display, "wants_totals", False))


def total(source: str, item: str, count: int, unit: str = "rows") -> None:
    """`item` from `source` holds `count` `unit` in all, as the service says."""
    display = _display
    if display is not None:
        display.total(source, item, count, unit)


def source_done(source: str) -> None:
    """Everything from `source` has been read (or given up on)."""
    display = _display
    if display is not None:
        display.source_done(source)


@contextmanager
def showing(display: Display | None) -> Iterator[None]:
    """Install `display` for the duration of the block (None: nothing is shown)."""
    global _display
    with _lock:
        previous, _display = _display, display
    try:
        yield
    finally:
        with _lock:
            _display = previous
