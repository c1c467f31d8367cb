"""Issue 28: the lab's state folder is the user's XDG cache (never the current folder), private, and refused
when root could be led elsewhere by it."""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path

import pytest

from auditor.lab_domain import samba
from auditor.lab_domain.folders import UnsafeFolder, default_state_dir, private_folder


def test_the_state_folder_is_the_variable_then_the_xdg_cache_then_home_cache(monkeypatch: pytest.MonkeyPatch,
                                                                              tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("SSPR_LAB_DIR", str(tmp_path / "mine"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_state_dir() == samba.default_state_dir() == tmp_path / "mine"
    monkeypatch.delenv("SSPR_LAB_DIR")
    assert default_state_dir() == tmp_path / "xdg" / "sspr-auditor" / "lab"
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/cache")  # the spec: a relative path is invalid, ignored
    assert default_state_dir() == tmp_path / "home" / ".cache" / "sspr-auditor" / "lab"
    monkeypatch.setenv("XDG_CACHE_HOME", "")
    assert default_state_dir() == tmp_path / "home" / ".cache" / "sspr-auditor" / "lab"
    assert not default_state_dir().is_relative_to(Path.cwd() / ".lab")


def test_a_new_state_folder_is_private(tmp_path: Path) -> None:
    folder = private_folder(tmp_path / "cache" / "sspr-auditor" / "lab")
    assert folder.is_dir() and stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert private_folder(folder) == folder  # an existing safe folder is used as it is


def test_a_symlinked_state_folder_is_refused(tmp_path: Path) -> None:
    (tmp_path / "elsewhere").mkdir(mode=0o700)
    (tmp_path / "lab").symlink_to(tmp_path / "elsewhere")
    link = re.escape(str(tmp_path / "lab"))
    with pytest.raises(UnsafeFolder, match=f"^refusing the lab folder {link}: it is a symlink"):
        private_folder(tmp_path / "lab")


def test_a_state_folder_others_can_write_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "lab"
    folder.mkdir()
    folder.chmod(0o777)
    with pytest.raises(UnsafeFolder, match=rf"{re.escape(str(folder))}: group or others can write it \(mode 777"):
        private_folder(folder)


@pytest.mark.skipif(os.geteuid() != 0, reason="giving a folder to another user needs root")
def test_another_users_state_folder_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "lab"
    folder.mkdir(mode=0o700)
    os.chown(folder, 65534, 65534)
    with pytest.raises(UnsafeFolder, match=rf"{re.escape(str(folder))}: it belongs to uid 65534"):
        private_folder(folder)


def test_an_unsafe_state_folder_makes_the_lab_domain_unknown_with_one_line(monkeypatch: pytest.MonkeyPatch,
                                                                             tmp_path: Path) -> None:
    from auditor.app.audit import OnPremisesRequest, collect_on_premises
    from auditor.policy.loader import load_policy

    monkeypatch.setattr(samba, "unavailable_reason", lambda: None)  # the folder is refused before any DC starts
    (tmp_path / "real").mkdir(mode=0o700)
    (tmp_path / "lab").symlink_to(tmp_path / "real")
    monkeypatch.setenv("SSPR_LAB_DIR", str(tmp_path / "lab"))
    directory = load_policy(Path(__file__).resolve().parents[2] / "policies" / "baseline.yaml").directory
    sections = collect_on_premises(OnPremisesRequest(directory=directory, lab_scenario="demo"))
    error = sections.directory.error or ""
    assert error == f"the lab domain did not start: refusing the lab folder {tmp_path / 'lab'}: it is a symlink " \
                    "(set SSPR_LAB_DIR to a real folder)"
    assert not any((tmp_path / "real").iterdir())  # nothing was written through the link
