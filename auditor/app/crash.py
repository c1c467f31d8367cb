"""An internal error (an exception no command expected): its traceback goes to a private file, the terminal gets
one line naming it, and the exit code is 70 (auditor/exit_codes.py).

The file is under $XDG_STATE_HOME/sspr-auditor/crashes (~/.local/state when unset): the XDG spec's place for
state "that should persist between (application) restarts, but that is not important or portable enough" for
data, such as logs. Folder 0700, file 0600: a traceback can quote tenant data from an exception's message.
"""

from __future__ import annotations

import os
import platform
import sys
import traceback
from datetime import UTC, datetime
from pathlib import Path

from auditor import __version__
from auditor.files import OutputPathError, private_folder, write_new
from auditor.text import one_line

APP = "sspr-auditor"
MESSAGE_LIMIT = 300


def crash_folder() -> Path:
    from auditor.files import xdg_home

    return xdg_home("XDG_STATE_HOME", ".local/state") / APP / "crashes"


def report_crash(exc: BaseException, command: str) -> str:
    """Write the traceback and return the one line to print."""
    kind = type(exc).__qualname__
    summary = one_line(str(exc))
    if len(summary) > MESSAGE_LIMIT:
        summary = summary[:MESSAGE_LIMIT] + "…"
    head = f"internal error in `sspr-audit {command}`: {kind}{': ' + summary if summary else ''}"
    stamp = datetime.now(UTC)
    text = (f"sspr-audit {__version__} on Python {platform.python_version()} ({sys.platform}), "
            f"command `{command}`, {stamp.isoformat(timespec='seconds')}\n\n"
            + "".join(traceback.format_exception(exc)))
    try:
        folder = private_folder(crash_folder(), what="the crash folder",
                                hint="set XDG_STATE_HOME to a real folder")
        path = write_new(folder / f"crash-{stamp:%Y%m%dT%H%M%SZ}-{os.getpid()}.txt", text.encode(), mode=0o600)
    except (OSError, OutputPathError) as failure:
        return (f"{head}\nthis is a bug in sspr-audit; the traceback could not be written to a file "
                f"({one_line(str(failure))}), so here it is:\n{text}")
    return f"{head}\nthis is a bug in sspr-audit: the traceback is in {path} (please attach it to a bug report)"
