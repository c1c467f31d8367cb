"""The one exit-code table: every command's help, the README and the HTML report say what auditor/exit_codes.py
says, and an internal error gets its own code, one line and a private traceback file."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from auditor import exit_codes
from auditor.cli import build_parser, main
from auditor.exit_codes import Exit

ROOT = Path(__file__).resolve().parents[2]


def test_every_code_means_one_thing() -> None:
    assert len({row.code for row in exit_codes.TABLE}) == len(exit_codes.TABLE) == len(Exit)
    assert all(code < exit_codes.SIGNAL_BASE for code in Exit)  # clear of 128 + a signal


def test_the_readme_table_is_the_table() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert exit_codes.markdown_table() in readme, (
        "README.md's exit-code table differs from auditor/exit_codes.py; paste:\n" + exit_codes.markdown_table())


def _subcommands(parser, prefix=""):  # type: ignore[no-untyped-def]
    import argparse

    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield f"{prefix} {name}".strip(), sub
                yield from _subcommands(sub, f"{prefix} {name}")


def test_every_command_help_lists_its_codes_from_the_table() -> None:
    commands = dict(_subcommands(build_parser()))
    named = {name for row in exit_codes.TABLE for name in row.commands if name != "*"}
    assert named <= set(commands), named - set(commands)  # the table names no command that does not exist
    for name, parser in commands.items():
        text = parser.format_help()
        for row in exit_codes.TABLE:
            listed = f"\n  {row.code.value:>5}  " in text
            assert listed == ("*" in row.commands or name in row.commands), (name, row.code)
    assert "apply" in commands and "  6  refused, nothing written" in commands["apply"].format_help()


def test_the_fleet_code_is_the_worst_tenants() -> None:
    assert exit_codes.worst([0, 0]) == Exit.ok
    assert exit_codes.worst([0, 3, 1]) == Exit.drift
    assert exit_codes.worst([0, 70]) == Exit.incomplete  # a tenant that crashed is not a pass
    assert exit_codes.worst([2, 0]) == Exit.incomplete


def _crash(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    def boom(*_args: object) -> None:
        raise RuntimeError("boom\nsecond line")

    monkeypatch.setattr("auditor.diff.diff_files", boom)
    for name in ("a.json", "b.json"):
        (tmp_path / name).write_text("{}")


def test_an_internal_error_exits_70_with_one_line_and_a_private_traceback(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _crash(monkeypatch, tmp_path)
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    code = main(["diff", str(tmp_path / "a.json"), str(tmp_path / "b.json")])
    err = capsys.readouterr().err
    assert code == Exit.internal == 70
    first, second = err.splitlines()
    assert first == "internal error in `sspr-audit diff`: RuntimeError: boom second line"
    path = Path(second.split("the traceback is in ", 1)[1].split(" (", 1)[0])
    assert path.parent == tmp_path / "state" / "sspr-auditor" / "crashes"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    text = path.read_text()
    assert "Traceback (most recent call last)" in text and "RuntimeError: boom" in text and "commands/diff.py" in text


def test_a_crash_folder_that_is_a_symlink_is_not_written_through(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _crash(monkeypatch, tmp_path)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (tmp_path / "state" / "sspr-auditor").mkdir(parents=True)
    os.symlink(elsewhere, tmp_path / "state" / "sspr-auditor" / "crashes")
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    code = main(["diff", str(tmp_path / "a.json"), str(tmp_path / "b.json")])
    err = capsys.readouterr().err
    assert code == 70 and list(elsewhere.iterdir()) == []
    assert "could not be written to a file (refusing the crash folder" in err and "it is a symlink" in err
    assert "Traceback (most recent call last)" in err  # shown here instead, not lost
