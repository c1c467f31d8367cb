"""Which kept lab counts as applied (`check --lab-after` reads only those): the mark an apply makes before its first
write, taken back only by the apply that made it when that apply was refused (a new user's run, stop 39)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

from auditor.app.lab_workspace import LabTargets
from auditor.lab_domain import kept


def targets(folder: Path) -> LabTargets:
    return LabTargets(reached=cast(Any, None), kept=True, folder=folder)


def test_a_refused_apply_takes_back_only_its_own_mark(tmp_path: Path) -> None:
    fresh = targets(tmp_path)
    fresh.writing()
    assert kept.was_written(tmp_path)
    fresh.settled("refused")
    assert not kept.was_written(tmp_path)  # nothing was written: the lab is as a fresh one

    first = targets(tmp_path)
    first.writing()
    first.settled("applied")
    later = targets(tmp_path)  # an earlier apply wrote here; this one is refused (a stale plan)
    later.writing()
    later.settled("refused")
    assert kept.was_written(tmp_path)  # what the earlier apply wrote is still there


def test_outcomes_other_than_refused_keep_the_mark(tmp_path: Path) -> None:
    for outcome in ("applied", "failed", "partial", "nothing_to_do"):
        folder = tmp_path / outcome
        folder.mkdir()
        run = targets(folder)
        run.writing()
        run.settled(outcome)
        assert kept.was_written(folder), outcome


def test_a_run_with_no_kept_folder_marks_nothing(tmp_path: Path) -> None:
    run = LabTargets(reached=cast(Any, None))
    run.writing()
    run.settled("refused")
    assert list(tmp_path.iterdir()) == []


def test_a_kept_workspace_made_and_left_unmarked_is_removed(tmp_path: Path) -> None:
    key = "0123456789abcdef01234567"
    with kept.kept_workspace(key, create=True, state_dir=tmp_path) as folder:
        assert folder.is_dir()
    assert not folder.exists()  # a dry run or a refusal keeps nothing
    with kept.kept_workspace(key, create=True, state_dir=tmp_path) as folder:
        kept.mark_written(folder)
    assert folder.is_dir()
    with kept.kept_workspace(key, create=True, state_dir=tmp_path) as again:
        pass  # it existed already: kept whatever this run does
    assert again == folder and folder.is_dir()
