"""The fleet's output folder: tenant folders opened without following links, and one run at a time.

* A tenant's folder is `OUT/<tenant>`, one path component (names are shaped: `auditor.policy.fleet`). It is made
  if missing and must then be a real folder: a symlink there (planted, or left by an earlier tool) is refused
  with one line, so no report is written through it to a folder outside `--out`. The check uses `lstat` and
  then `os.open(O_DIRECTORY | O_NOFOLLOW)`, which fails on a link (open(2): "If the trailing component … of
  pathname is a symbolic link, then the open fails, with the error ELOOP").
* The files themselves are replaced by rename (`auditor.files.write_atomically`), which replaces a link in the
  folder rather than writing through it.
* `--out` is locked for the whole run (`OUT/.sspr-fleet.lock`, the `filelock` library, which opens its lock
  file with O_NOFOLLOW): a second `fleet check` or `fleet merge` into the same folder is refused (exit 6)
  instead of interleaving its tenant reports and fleet report with the first run's.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

LOCK_NAME = ".sspr-fleet.lock"


class FleetFolderError(Exception):
    """A tenant folder that is a link or not a folder (exit 2: nothing written through it)."""


class FleetBusy(Exception):
    """Another fleet run holds the output folder (exit 6: refused)."""


def check_tenant_folder(out: Path, name: str) -> Path:
    """`OUT/<name>` if it is absent or a real folder; a link or a file there is refused."""
    folder = out / name
    try:
        info = os.lstat(folder)
    except FileNotFoundError:
        return folder
    except OSError as exc:
        raise FleetFolderError(f"{folder}: cannot use the tenant folder: {exc.strerror or exc}") from None
    if stat.S_ISLNK(info.st_mode):
        raise FleetFolderError(f"{folder}: the tenant folder is a symlink; sspr-audit never writes through a "
                               "link (remove it, or give another --out)")
    if not stat.S_ISDIR(info.st_mode):
        raise FleetFolderError(f"{folder}: the tenant folder is not a folder (remove it, or give another --out)")
    return folder


def open_tenant_folder(out: Path, name: str) -> Path:
    """`OUT/<name>`, made if missing, after checking it is a real folder and not a link (race-free open)."""
    folder = check_tenant_folder(out, name)
    out.mkdir(parents=True, exist_ok=True)
    with suppress(FileExistsError):
        os.mkdir(folder)
    try:
        handle = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.ENOTDIR):
            raise FleetFolderError(f"{folder}: the tenant folder is a symlink or not a folder; sspr-audit never "
                                   "writes through a link") from None
        raise FleetFolderError(f"{folder}: cannot use the tenant folder: {exc.strerror or exc}") from None
    os.close(handle)
    return folder


@contextmanager
def locked_out(out: Path) -> Iterator[Path]:
    """Hold `OUT/.sspr-fleet.lock` while the run writes `out`; refuse at once if another run holds it."""
    from filelock import FileLock, Timeout

    out.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(out / LOCK_NAME), timeout=0)
    try:
        lock.acquire()
    except Timeout:
        raise FleetBusy(f"{out}: another fleet run is writing this folder (lock {lock.lock_file}): wait for it "
                        "to finish, or give another --out") from None
    except OSError as exc:  # the lock file is a link (O_NOFOLLOW: ELOOP), or cannot be made
        raise FleetFolderError(f"{lock.lock_file}: cannot lock the output folder: {exc.strerror or exc}") from None
    try:
        yield out
    finally:
        lock.release()
