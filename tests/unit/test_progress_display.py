"""The progress display chosen for each terminal and mode, and the line a CI log gets per source (issue 18)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from auditor import progress
from auditor.progress_display import LineDisplay, LiveDisplay, choose, shown


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(("mode", "tty", "term", "kind"), [
    ("auto", True, "xterm", LiveDisplay), ("auto", False, "xterm", LineDisplay), ("auto", True, "dumb", LineDisplay),
    ("always", False, "xterm", LiveDisplay), ("always", True, "dumb", LineDisplay), ("never", True, "xterm", None),
])
def test_the_display_fits_the_terminal(mode: str, tty: bool, term: str, kind: type | None,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TERM", term)
    display = choose(mode, Tty() if tty else io.StringIO())
    assert (type(display) if display is not None else None) is kind


def test_a_log_gets_one_short_line_per_source_when_it_is_done(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TERM", "xterm")
    stream = io.StringIO()
    with shown("auto", stream):
        for _ in range(3):
            progress.advance("Graph", "users", 999)
            progress.advance("Graph", "users", 1, "pages")
        for name in ("groups", "subscribedSkus", "secureScores"):
            progress.advance("Graph", name, 2)
        progress.advance("LDAP", "users", 48, "users")
        assert stream.getvalue() == ""  # nothing until a source is done
        progress.source_done("Graph")
        progress.source_done("Graph")  # said once
        progress.source_done("LDAP")
    lines = stream.getvalue().splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("read Graph: 4 collections, 3,003 rows, 3 pages (largest: users, 2,997 rows, 3 pages)")
    assert lines[1].startswith("read LDAP: users 48 users (")
    progress.advance("Graph", "users", 5)  # after the block: no display, nothing happens


def test_the_live_display_draws_on_its_stream_only(monkeypatch: pytest.MonkeyPatch,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    stream = Tty()
    with shown("always", stream):
        progress.advance("LDAP", "descriptors", 52, "descriptors")
        progress.source_done("LDAP")
    assert "LDAP descriptors" in stream.getvalue() and "52 descriptors" in stream.getvalue()
    assert "\x1b[3" not in stream.getvalue()  # NO_COLOR: no colour codes (cursor moves remain)
    assert capsys.readouterr().out == ""


def test_help_and_validate_never_import_rich() -> None:
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[2]
    for args in (["--help"], ["validate", str(root / "policies" / "baseline.yaml")]):
        result = subprocess.run([sys.executable, "-X", "importtime", "-m", "auditor.cli", *args], cwd=root,
                                capture_output=True, text=True, timeout=60)
        assert " rich" not in result.stderr and "progress_display" not in result.stderr, args


def test_the_findings_table_fits_a_narrow_terminal_groups_by_severity_and_says_what_to_run_next(
        monkeypatch: pytest.MonkeyPatch) -> None:
    import argparse

    from auditor.checks.base import Status
    from auditor.commands.check import next_step
    from auditor.commands.present import print_summary
    from tests.helpers.report_factory import build_report, finding

    report = build_report([finding("sspr.gates", Status.failed, reason="the number of methods required is 1 " * 4),
                           finding("writeback.unlock", Status.unknown, reason="the portal was not read")])
    failing = [f.model_copy(update={"fixable": True}) if f.status == Status.failed else f for f in report.findings]
    report = report.model_copy(update={"findings": failing})
    args = argparse.Namespace(policy=Path("policies/baseline.yaml"), snapshot=None, lab="demo")
    for columns, wrapped in (("70", True), ("160", False)):
        monkeypatch.setenv("COLUMNS", columns)
        out = io.StringIO()
        print_summary(report, [], out, next_step(args, report))
        lines = out.getvalue().splitlines()
        table = [line for line in lines if not line.startswith(("next:", "report:", "sspr-audit "))]
        assert all(len(line) <= int(columns) for line in table), table  # a command is never cut
        severities = [line.split()[0] for line in lines if line.startswith("  ") and line.strip().endswith(")")
                      and "(" in line and line.split()[0] in ("critical", "high", "medium", "low", "info")]
        order = ["critical", "high", "medium", "low", "info"]
        assert severities == sorted(severities, key=order.index) and severities
        fail_line = next(i for i, line in enumerate(lines) if "FAIL" in line)
        reason = [line.strip() for line in lines[fail_line + 1:] if line.startswith("           ")]
        reason = reason[:next((i for i, text in enumerate(reason) if "portal" in text), len(reason))]
        assert " ".join(reason) == ("the number of methods required is 1 " * 4).strip()  # whole, never cut
        assert (len(reason) > 1) is wrapped  # under its finding, wrapped to the width only when needed
        assert lines[-1] == "next: sspr-audit plan policies/baseline.yaml --lab demo --out plan.json"
        assert "--unknown warn" not in out.getvalue()


def test_main_runs_from_a_worker_thread_where_signals_cannot_be_set() -> None:
    """`signal.signal` raises outside the main thread: the CLI as a library must not depend on it."""
    import contextlib
    import threading

    from auditor.cli import main

    root = Path(__file__).resolve().parents[2]
    result: dict[str, int] = {}

    def run() -> None:
        with contextlib.redirect_stdout(io.StringIO()):
            result["code"] = main(["validate", str(root / "policies" / "baseline.yaml")])

    worker = threading.Thread(target=run)
    worker.start()
    worker.join(timeout=60)
    assert result == {"code": 0}
