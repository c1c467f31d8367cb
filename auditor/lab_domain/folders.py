"""Where the lab keeps its domains (templates, clones, logs), and the checks that folder must pass.

The default follows the XDG Base Directory spec (https://specifications.freedesktop.org/basedir-spec/latest/):
user-specific non-essential cached data goes in $XDG_CACHE_HOME, which is ~/.cache when unset or empty, and a
relative value is invalid and ignored. The lab's folder is `sspr-auditor/lab` there, never the current folder.

The lab DC runs as root and root follows whatever the folder points to, so a folder that is a symlink, belongs
to another user or is writable by group or others is refused with a one-line error naming it.
"""

from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path

APP = "sspr-auditor"


class UnsafeFolder(OSError):
    """A lab folder that must not be used (a symlink, another user's, or writable by others)."""


def default_state_dir() -> Path:
    """$SSPR_LAB_DIR, else $XDG_CACHE_HOME/sspr-auditor/lab, else ~/.cache/sspr-auditor/lab."""
    explicit = os.environ.get("SSPR_LAB_DIR")
    if explicit:
        return Path(explicit)
    cache = os.environ.get("XDG_CACHE_HOME", "")
    base = Path(cache) if cache and Path(cache).is_absolute() else Path.home() / ".cache"
    return base / APP / "lab"


def private_folder(path: Path) -> Path:
    """`path`, created with mode 0700 if missing (its parents as usual), after checking it is safe to use."""
    path = Path(os.path.abspath(path))
    path.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(FileExistsError):
        path.mkdir(mode=0o700)
    check_private(path)
    return path


def check_private(path: Path) -> None:
    """Refuse `path` unless it is a real folder of this user that only this user can write."""
    info = path.lstat()
    if stat.S_ISLNK(info.st_mode):
        raise UnsafeFolder(f"refusing the lab folder {path}: it is a symlink (set SSPR_LAB_DIR to a real folder)")
    if not stat.S_ISDIR(info.st_mode):
        raise UnsafeFolder(f"refusing the lab folder {path}: it is not a folder")
    if info.st_uid != os.geteuid():
        raise UnsafeFolder(f"refusing the lab folder {path}: it belongs to uid {info.st_uid}, "
                           f"not to uid {os.geteuid()}")
    if info.st_mode & 0o022:
        raise UnsafeFolder(f"refusing the lab folder {path}: group or others can write it "
                           f"(mode {stat.S_IMODE(info.st_mode):o}; chmod 700 it)")
