"""Where the lab keeps its domains (templates, clones, logs), and the checks that folder must pass.

The default follows the XDG Base Directory spec (https://specifications.freedesktop.org/basedir-spec/latest/):
user-specific non-essential cached data goes in $XDG_CACHE_HOME, which is ~/.cache when unset or empty, and a
relative value is invalid and ignored. The lab's folder is `sspr-auditor/lab` there, never the current folder.

The lab DC runs as root and root follows whatever the folder points to, so a folder that is a symlink, belongs
to another user or is writable by group or others is refused with a one-line error naming it.
"""

from __future__ import annotations

import os
from pathlib import Path

from auditor import files
from auditor.files import UnsafeFolder

__all__ = ["UnsafeFolder", "default_state_dir", "private_folder"]

APP = "sspr-auditor"


def default_state_dir() -> Path:
    """$SSPR_LAB_DIR, else $XDG_CACHE_HOME/sspr-auditor/lab, else ~/.cache/sspr-auditor/lab."""
    explicit = os.environ.get("SSPR_LAB_DIR")
    if explicit:
        return Path(explicit)
    return files.xdg_home("XDG_CACHE_HOME", ".cache") / APP / "lab"


def private_folder(path: Path) -> Path:
    """`path`, created with mode 0700 if missing, after checking it is safe for the lab (files.private_folder)."""
    return files.private_folder(path, what="the lab folder", hint="set SSPR_LAB_DIR to a real folder")
