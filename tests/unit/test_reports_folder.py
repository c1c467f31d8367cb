"""Issue 29: a reports folder is never written through a link, and two runs writing one folder take turns."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from auditor.cli import main
from auditor.files import OutputPathError, locked_folder

ROOT = Path(__file__).resolve().parents[2]


def test_check_refuses_a_reports_folder_that_is_a_symlink(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    os.symlink(elsewhere, tmp_path / "reports")
    code = main(["check", str(ROOT / "policies" / "baseline.yaml"), "--snapshot", str(tmp_path / "none.json"),
                 "--out", str(tmp_path / "reports")])
    assert code == 2 and "is a symlink" in capsys.readouterr().err
    assert list(elsewhere.iterdir()) == []


def test_a_folder_that_became_a_link_is_not_written_through(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    os.symlink(elsewhere, tmp_path / "out")
    with pytest.raises(OutputPathError, match="symlink"), locked_folder(tmp_path / "out"):
        pass
    assert list(elsewhere.iterdir()) == []


def test_a_second_writer_waits_for_the_first_then_gives_up_with_one_line(tmp_path: Path) -> None:
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, pathlib; from auditor.files import locked_folder\n"
         "with locked_folder(pathlib.Path(sys.argv[1])):\n    print('held', flush=True); sys.stdin.read()",
         str(tmp_path / "out")], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        with pytest.raises(OutputPathError, match="another run held the folder's lock"), \
                locked_folder(tmp_path / "out", wait_seconds=0.2):
            pass
    finally:
        holder.communicate("", timeout=30)
    with locked_folder(tmp_path / "out", wait_seconds=0.2) as folder:  # released with its holder: ours now
        assert list(folder.path.iterdir()) == []  # and it leaves no lock file among the reports
