"""Showing the readers' progress on stderr: a live display on a terminal, one line per source elsewhere.

`--progress auto` (the default) shows the live display when stderr is a terminal that can redraw
(not `TERM=dumb`), and otherwise one short line per source when that source is done, which is what a
CI log wants; `always` forces the live display (a dumb terminal gets the lines); `never` shows nothing.
rich draws the live display and is imported only here, only when it is on, so `--help` and `validate`
start as fast as before. `NO_COLOR` turns colour off; a narrow `COLUMNS` narrows the display. Nothing of
it reaches stdout or a report.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TextIO

from auditor import progress

MODES = ("auto", "always", "never")


def _counts(units: dict[str, int], totals: dict[str, int] | None = None) -> str:
    totals = totals or {}
    return ", ".join(f"{count:,} of {totals[unit]:,} {unit}" if unit in totals else f"{count:,} {unit}"
                     for unit, count in units.items())


class _Tally:
    """What each source has read so far: (source, item) → unit → count, in first-seen order."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.items: dict[tuple[str, str], dict[str, int]] = {}
        self.started = time.monotonic()

    def add(self, source: str, item: str, count: int, unit: str) -> dict[str, int]:
        with self.lock:
            units = self.items.setdefault((source, item), {})
            units[unit] = units.get(unit, 0) + count
            return dict(units)

    def of(self, source: str) -> list[tuple[str, dict[str, int]]]:
        with self.lock:
            return [(item, dict(units)) for (s, item), units in self.items.items() if s == source]


class LineDisplay:
    """One line per source, written when the source is done: `read Graph: users 1,000 rows, 2 pages; … (1.2 s)`."""

    wants_totals = False  # a line written at the end has read everything: no count is worth a request

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.tally = _Tally()
        self.done: set[str] = set()

    def advance(self, source: str, item: str, count: int, unit: str) -> None:
        self.tally.add(source, item, count, unit)

    def total(self, source: str, item: str, count: int, unit: str) -> None:
        """Not shown in a line (see wants_totals)."""

    def source_done(self, source: str) -> None:
        with self.tally.lock:
            if source in self.done:
                return
            self.done.add(source)
        items = self.tally.of(source)
        if len(items) > 3:  # a short line: the totals, and the largest item
            totals: dict[str, int] = {}
            for _, units in items:
                for unit, count in units.items():
                    totals[unit] = totals.get(unit, 0) + count
            largest, units = max(items, key=lambda pair: max(pair[1].values()))
            what = f"{len(items)} collections, {_counts(totals)} (largest: {largest}, {_counts(units)})"
        else:
            what = "; ".join(f"{item} {_counts(units)}" for item, units in items) or "nothing"
        elapsed = time.monotonic() - self.tally.started
        print(f"read {source}: {what} ({elapsed:.1f} s)", file=self.stream, flush=True)


class LiveDisplay:
    """A rich progress display: one row per item read, its counts so far (of the total where the service says
    it: `Graph users 2,997 of 10,000 rows`), a tick when its source is done."""

    wants_totals = True

    def __init__(self, stream: TextIO) -> None:
        from rich.console import Console
        from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

        self.tally = _Tally()
        self.console = Console(file=stream, force_terminal=True, no_color="NO_COLOR" in os.environ,
                               highlight=False)
        self.progress = Progress(SpinnerColumn(finished_text="✓"), TextColumn("{task.description}"),
                                 TextColumn("{task.fields[counts]}"), TimeElapsedColumn(), console=self.console,
                                 refresh_per_second=8, transient=False)
        self.tasks: dict[tuple[str, str], Any] = {}
        self.totals: dict[tuple[str, str], dict[str, int]] = {}

    def _task(self, source: str, item: str) -> Any:
        with self.tally.lock:
            task = self.tasks.get((source, item))
            if task is None:
                task = self.tasks[(source, item)] = self.progress.add_task(f"{source} {item}", total=None,
                                                                           counts="")
            return task

    def advance(self, source: str, item: str, count: int, unit: str) -> None:
        units = self.tally.add(source, item, count, unit)
        task = self._task(source, item)
        with self.tally.lock:
            totals = dict(self.totals.get((source, item), {}))
        self.progress.update(task, counts=_counts(units, totals))

    def total(self, source: str, item: str, count: int, unit: str) -> None:
        task = self._task(source, item)
        with self.tally.lock:
            totals = self.totals.setdefault((source, item), {})
            totals[unit] = count
            totals = dict(totals)
            units = dict(self.tally.items.get((source, item), {}))
        self.progress.update(task, counts=_counts(units, totals))

    def source_done(self, source: str) -> None:
        with self.tally.lock:
            tasks = [task for (s, _), task in self.tasks.items() if s == source]
        for task in tasks:
            self.progress.update(task, total=1, completed=1)

    def start(self) -> None:
        self.progress.start()

    def stop(self) -> None:
        self.progress.stop()


def choose(mode: str, stream: TextIO) -> LineDisplay | LiveDisplay | None:
    """The display `--progress mode` asks for on `stream` (None: show nothing)."""
    if mode == "never":
        return None
    return LiveDisplay(stream) if live_wanted(mode, stream) else LineDisplay(stream)


def live_wanted(mode: str, stream: TextIO) -> bool:
    """Whether `--progress mode` draws live on `stream`: always, or auto on a terminal; never on `TERM=dumb`."""
    terminal = stream.isatty() if hasattr(stream, "isatty") else False
    can_redraw = os.environ.get("TERM", "") != "dumb"
    return can_redraw and (mode == "always" or (mode == "auto" and terminal))


@contextmanager
def shown(mode: str, stream: TextIO) -> Iterator[None]:
    """Show the readers' progress on `stream` for the duration of the block."""
    display = choose(mode, stream)
    live = display if isinstance(display, LiveDisplay) else None
    if live is not None:
        live.start()
    try:
        with progress.showing(display):
            yield
    finally:
        if live is not None:
            live.stop()


class FleetProgress:
    """A fleet run's progress, one row per tenant: queued, reading, then its exit code and counts.

    Live (rich) on a terminal; elsewhere one line per tenant when it is done (a CI log); nothing with `never`.
    Fed by `auditor.app.fleet.run_fleet`'s events, from its worker threads.
    """

    def __init__(self, mode: str, stream: TextIO, tenants: list[str]) -> None:
        self.stream = stream
        self.mode = mode
        self.started = time.monotonic()
        self.lock = threading.Lock()
        self.live: Any = None
        self.tasks: dict[str, Any] = {}
        if live_wanted(mode, stream):
            from rich.console import Console
            from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

            console = Console(file=stream, force_terminal=True, no_color="NO_COLOR" in os.environ, highlight=False)
            self.live = Progress(SpinnerColumn(finished_text="✓"), TextColumn("{task.description}"),
                                 TextColumn("{task.fields[state]}"), TimeElapsedColumn(), console=console,
                                 refresh_per_second=4)
            for name in tenants:
                self.tasks[name] = self.live.add_task(name, total=1, state="queued", start=False)

    def __enter__(self) -> FleetProgress:
        if self.live is not None:
            self.live.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.live is not None:
            self.live.stop()

    def __call__(self, event: Any) -> None:
        if self.mode == "never":
            return
        text = ""
        if event.kind == "finished" and event.result is not None:
            result = event.result
            if result.report is not None:
                counts = result.report.summary.by_status
                text = (f"exit {result.exit_code}: {counts.get('fail', 0)} fail, {counts.get('unknown', 0)} unknown, "
                        f"{counts.get('pass', 0)} pass ({event.seconds:.1f} s)")
            else:
                text = f"exit {result.exit_code}: not audited: {result.error} ({event.seconds:.1f} s)"
        if self.live is not None:
            task = self.tasks.get(event.tenant)
            if task is None:
                return
            if event.kind == "started":
                self.live.start_task(task)
                self.live.update(task, state="reading")
            else:
                self.live.update(task, state=text, completed=1)
        elif event.kind == "finished":
            with self.lock:
                print(f"tenant {event.tenant}: {text}", file=self.stream, flush=True)
