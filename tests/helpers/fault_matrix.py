"""The fault matrix: one row per hostile condition a test drove, printed as a table when pytest ends.

Tests call `record(config, row)`; the first call registers a small plugin whose
`pytest_terminal_summary` hook writes the table through pytest's terminal reporter, so it shows
with or without `-s` and under `-q`. A row is recorded whether its assertions held or not: the
`verdict` column says which.
"""

from __future__ import annotations

import contextlib
import io
import logging
from dataclasses import astuple, dataclass
from typing import Any

from auditor.cli import main

PLUGIN_NAME = "sspr-fault-matrix"
_COLUMNS = ("area", "scenario", "fault", "unreadable", "checks unknown", "exit", "verdict")
_WIDTHS = (6, 24, 44, 30, 50, 13, 7)


@dataclass(frozen=True)
class Row:
    area: str
    scenario: str
    fault: str
    unreadable: str
    unknown: str
    exit_code: str
    verdict: str


class _MatrixPlugin:
    def __init__(self) -> None:
        self.rows: list[Row] = []

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if not self.rows:
            return
        terminalreporter.write_sep("=", f"fault matrix: {len(self.rows)} scenarios")
        terminalreporter.write_line(_line(_COLUMNS))
        terminalreporter.write_line(_line(tuple("-" * w for w in _WIDTHS)))
        for row in sorted(self.rows, key=lambda r: (r.area, r.scenario)):
            terminalreporter.write_line(_line((row.area, row.scenario, row.fault, row.unreadable, row.unknown,
                                               row.exit_code, row.verdict)))
        failed = sum(1 for row in self.rows if row.verdict != "ok")
        terminalreporter.write_line(f"{len(self.rows) - failed} ok, {failed} not ok")


def _clip(text: str, width: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def _line(cells: tuple[str, ...]) -> str:
    return " ".join(_clip(cell, width).ljust(width) for cell, width in zip(cells, _WIDTHS, strict=True)).rstrip()


def record(config: Any, row: Row) -> None:
    """Add `row` to the table printed at the end of this pytest run. In a pytest-xdist worker the row also goes
    into `config.workeroutput`, which the worker sends to the controller when it finishes; the controller adds
    the rows of each worker (`add_worker_rows`, from tests/conftest.py's `pytest_testnodedown`) and prints the
    table (https://github.com/pytest-dev/pytest-xdist/blob/v3.8.0/src/xdist/remote.py, `workeroutput`)."""
    workeroutput = getattr(config, "workeroutput", None)
    if workeroutput is not None:
        workeroutput.setdefault(PLUGIN_NAME, []).append(list(astuple(row)))
    _plugin(config).rows.append(row)


def add_worker_rows(config: Any, workeroutput: dict[str, Any]) -> None:
    """The rows a pytest-xdist worker recorded, added to the controller's table."""
    for cells in workeroutput.get(PLUGIN_NAME, []):
        _plugin(config).rows.append(Row(*cells))


def _plugin(config: Any) -> _MatrixPlugin:
    plugin = config.pluginmanager.get_plugin(PLUGIN_NAME)
    if plugin is None:
        plugin = _MatrixPlugin()
        config.pluginmanager.register(plugin, PLUGIN_NAME)
    assert isinstance(plugin, _MatrixPlugin)
    return plugin


def rows(config: Any) -> list[Row]:
    plugin = config.pluginmanager.get_plugin(PLUGIN_NAME)
    return list(plugin.rows) if plugin is not None else []


# -- running the CLI in-process, capturing everything it says ------------------------------------

@dataclass
class Run:
    code: int
    stdout: str
    stderr: str
    log: str
    report: dict[str, Any] | None = None


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        # the emulator's own log is the far side of the wire, not the auditor's output
        if record.name.startswith("auditor") and not record.name.startswith("auditor.lab"):
            self.lines.append(self.format(record))


def run_cli(*argv: str) -> Run:
    out, err, records = io.StringIO(), io.StringIO(), _Records()
    root = logging.getLogger()
    root.addHandler(records)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(list(argv))
    finally:
        root.removeHandler(records)
    return Run(code, out.getvalue(), err.getvalue(), "\n".join(records.lines))


def assert_no_traceback(run: Run) -> None:
    for text in (run.stdout, run.stderr, run.log):
        assert "Traceback" not in text, text[-3000:]


def record_outcome(request: Any, area: str, exit_code: str = "-") -> None:
    """One row for the test `request` ran: its name as the scenario, its docstring's first line (or its name in
    words) as the fault, and whether its assertions held (from the call report tests/conftest.py keeps)."""
    node = request.node
    report = getattr(node, "rep_call", None)
    verdict = "ok" if report is not None and report.passed else "FAILED"
    callspec = getattr(node, "callspec", None)
    case = callspec.id if callspec is not None else "-"
    doc = (node.function.__doc__ or "").strip().splitlines()
    fault = doc[0] if doc else node.originalname.removeprefix("test_").replace("_", " ")
    record(request.config, Row(area, case, fault, "-", "-", exit_code, verdict))
