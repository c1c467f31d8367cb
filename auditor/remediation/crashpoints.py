"""Named points where a crash test may kill apply, as SQLite's crash tests do (https://www.sqlite.org/testing.html).

Inert unless `SSPR_TEST_CRASH_AT` is set to a positive number N: then the process counts the points
it passes and kills itself with SIGKILL at the Nth (no handler, no cleanup, no flush: what a power
cut or the OOM killer does), after saying on stderr which point it was. For tests only
(tests/integration/test_apply_crash_points.py); apply never reads it for anything else.
"""

from __future__ import annotations

import os
import signal
import sys

VARIABLE = "SSPR_TEST_CRASH_AT"
_passed = 0


def boundary(name: str) -> None:
    """Mark a point between two steps of apply (`name` says which); the Nth kills the process under a crash test."""
    wanted = os.environ.get(VARIABLE, "")
    if not wanted.isdigit() or int(wanted) < 1:
        return
    global _passed
    _passed += 1
    if _passed == int(wanted):
        os.write(sys.stderr.fileno(), f"crash point {_passed}: {name}\n".encode())
        os.kill(os.getpid(), signal.SIGKILL)
