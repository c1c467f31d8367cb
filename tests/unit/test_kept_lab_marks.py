"""Which kept lab counts as applied (`check --lab-after` reads only those): apply marks it once every refusal has
passed, before its backup and first write; a workspace a run made and left unmarked is removed (a new user's run,
stop 39)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

from auditor.app.lab_workspace import LabTargets
from auditor.lab_domain import kept

KEY = "0123456789abcdef01234567"


def test_writing_marks_the_kept_workspace_and_nothing_else(tmp_path: Path) -> None:
    LabTargets(reached=cast(Any, None), kept=True, folder=tmp_path).writing()
    assert kept.was_written(tmp_path)
    other = tmp_path / "other"
    other.mkdir()
    LabTargets(reached=cast(Any, None)).writing()  # not a kept lab: nothing to mark
    assert list(other.iterdir()) == []


def test_a_kept_workspace_made_and_left_unmarked_is_removed(tmp_path: Path) -> None:
    with kept.kept_workspace(KEY, create=True, state_dir=tmp_path) as folder:
        assert folder.is_dir()
    assert not folder.exists()  # a dry run or a refusal keeps nothing
    with kept.kept_workspace(KEY, create=True, state_dir=tmp_path) as folder:
        kept.mark_written(folder)
    assert folder.is_dir()
    with kept.kept_workspace(KEY, create=True, state_dir=tmp_path) as again:
        pass  # it existed already: kept whatever this run does
    assert again == folder and folder.is_dir()
