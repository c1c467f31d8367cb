"""stdout and stderr made safe for a terminal that cannot show a character and for a reader that goes away."""

from __future__ import annotations

import sys
from typing import Any, TextIO


class PipeSafe:
    """stdout or stderr that, once its reader is gone (`| head -1`, `2>&1 | head -1`, a closed pipe), drops the
    rest instead of failing the run: the exit code stays the audit's."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self.closed_by_reader = False

    def write(self, text: str) -> int:
        if not self.closed_by_reader:
            try:
                return self._stream.write(text)
            except BrokenPipeError:
                self._gone()
        return len(text)

    def flush(self) -> None:
        if not self.closed_by_reader:
            try:
                self._stream.flush()
            except BrokenPipeError:
                self._gone()

    def _gone(self) -> None:
        import os

        self.closed_by_reader = True
        # the interpreter flushes stdout once more at exit: point the descriptor at /dev/null first
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, self._stream.fileno())
        os.close(devnull)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def tolerant_streams() -> None:
    """A terminal that cannot show a character gets an escape, never a crash; a closed pipe ends quietly."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(errors="backslashreplace")
    sys.stdout = pipe_safe(sys.stdout)
    sys.stderr = pipe_safe(sys.stderr)


def pipe_safe(stream: TextIO) -> TextIO | PipeSafe:
    if isinstance(stream, PipeSafe) or not hasattr(stream, "fileno"):
        return stream
    try:
        stream.fileno()
    except (OSError, ValueError):  # a captured stream in tests has no descriptor: leave it as it is
        return stream
    return PipeSafe(stream)
