"""The fleet's output folder: one run at a time, each tenant's reports in a real folder of its own.

* A tenant's folder is `OUT/<tenant>`, one path component (names are shaped: `auditor.policy.fleet`). Its reports
  are written as `check --out` writes any reports folder (`auditor.render.write_reports`): the folder is made if
  missing, opened with O_NOFOLLOW (a symlink there, planted or left by an earlier tool, is refused with one line),
  locked, and every file is made and renamed relative to that descriptor, so nothing is written through a link to a
  folder outside `--out`, even one swapped in after the check (`auditor.files.locked_folder`).
* `--out` is locked for the whole run with the same helper (an exclusive flock on the folder's own descriptor,
  `auditor.files.locked_folder` with no wait): a second `fleet check` or `fleet merge` into the same folder is
  refused (exit 6) instead of interleaving its tenant reports and fleet report with the first run's.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

from auditor.files import FolderBusy, OpenFolder, OutputPathError, check_output_folder, locked_folder


class FleetFolderError(Exception):
    """A tenant folder or `--out` that is a link or not a folder (exit 2: nothing written through it)."""


class FleetBusy(Exception):
    """Another fleet run holds the output folder (exit 6: refused)."""


def check_tenant_folder(out: Path, name: str, stem: str = "sspr-audit") -> Path:
    """`OUT/<name>` if it is absent or a real folder whose `<stem>.*` reports may be replaced (before any read)."""
    try:
        return check_output_folder(out / name, stem=stem)
    except OutputPathError as exc:
        raise FleetFolderError(str(exc)) from None


@contextmanager
def locked_out(out: Path) -> Iterator[OpenFolder]:
    """Hold `out` (an exclusive flock on its descriptor) while the run writes it; refuse at once if another holds it."""
    with ExitStack() as stack:
        try:  # only taking the lock is translated: an error of the run itself passes through as it is
            folder = stack.enter_context(locked_folder(out, wait_seconds=0, what="the fleet's --out folder"))
        except FolderBusy:
            raise FleetBusy(f"{out}: another fleet run is writing this folder: wait for it to finish, or give "
                            "another --out") from None
        except OutputPathError as exc:
            raise FleetFolderError(str(exc)) from None
        yield folder
