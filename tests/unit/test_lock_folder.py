"""apply's lock folder is this user's own (issue 29): never under the shared /tmp, created 0700, and a folder
or lock file that another user made, that others can write, or that is a symlink is refused (exit 6)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from auditor.app.remediate import RefusedError, target_lock

ENDPOINT = "graph http://127.0.0.1:1/v1.0"


@pytest.fixture(autouse=True)
def xdg(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SSPR_LOCK_DIR", raising=False)
    monkeypatch.delenv("XDG_RUNTIME_DIR", raising=False)
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.setenv("TMPDIR", str(tmp_path / "shared-tmp"))
    (tmp_path / "shared-tmp").mkdir(mode=0o777)
    os.chmod(tmp_path / "shared-tmp", 0o1777)


def lock_files(folder: Path) -> list[Path]:
    return sorted(folder.glob("*.lock")) if folder.is_dir() else []


def test_the_lock_is_in_the_users_runtime_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    runtime = tmp_path / "run-user"
    runtime.mkdir(mode=0o700)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(runtime))
    with target_lock([ENDPOINT]):
        folder = runtime / "sspr-auditor" / "locks"
        assert len(lock_files(folder)) == 1
    for path in (runtime / "sspr-auditor", folder):
        assert stat.S_IMODE(path.stat().st_mode) == 0o700
    assert stat.S_IMODE(lock_files(folder)[0].stat().st_mode) & 0o077 == 0
    assert lock_files(tmp_path / "shared-tmp" / "sspr-auditor-locks") == []


def test_without_a_runtime_folder_the_lock_is_in_the_state_home(tmp_path: Path) -> None:
    with target_lock([ENDPOINT]):
        assert len(lock_files(tmp_path / "state" / "sspr-auditor" / "locks")) == 1
    assert not (tmp_path / "shared-tmp" / "sspr-auditor-locks").exists()


def test_a_lock_folder_others_can_write_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "state" / "sspr-auditor" / "locks"
    folder.mkdir(parents=True, mode=0o700)
    os.chmod(folder, 0o777)  # pre-created by someone else, open to all
    with pytest.raises(RefusedError, match="group or others can write it"), target_lock([ENDPOINT]):
        pass


def test_a_lock_folder_of_another_user_is_refused(tmp_path: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("only root can give a folder to another user")
    folder = tmp_path / "state" / "sspr-auditor"
    folder.mkdir(parents=True, mode=0o700)
    os.chown(folder, 4242, 4242)
    with pytest.raises(RefusedError, match="belongs to uid 4242"), target_lock([ENDPOINT]):
        pass


def test_a_symlinked_lock_folder_is_refused(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir(mode=0o700)
    (tmp_path / "state" / "sspr-auditor").mkdir(parents=True, mode=0o700)
    (tmp_path / "state" / "sspr-auditor" / "locks").symlink_to(elsewhere)
    with pytest.raises(RefusedError, match="symlink"), target_lock([ENDPOINT]):
        pass
    assert lock_files(elsewhere) == []


def test_a_symlink_planted_as_the_lock_file_is_not_followed(tmp_path: Path) -> None:
    with target_lock([ENDPOINT]):
        pass
    lock = lock_files(tmp_path / "state" / "sspr-auditor" / "locks")[0]
    victim = tmp_path / "victim"
    victim.write_text("keep")
    lock.unlink()
    lock.symlink_to(victim)
    with pytest.raises(RefusedError, match="cannot take the lock"), target_lock([ENDPOINT]):
        pass
    assert victim.read_text() == "keep"
