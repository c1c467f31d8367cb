"""Write a file whole or not at all: a temporary file beside the target, flushed to disk, then renamed over it.

The one atomic writer for reports, exports, snapshots, plans and backups. The temporary name is random
(`mkstemp`, created with O_EXCL and mode 0600), so a file or link planted beside the target is never
written through; `os.replace` is atomic on one file system, so a reader sees the old file or the new one.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path


def write_atomically(path: str | Path, content: bytes, *, mode: int | None = None) -> Path:
    """Write `content` to `path` atomically; `mode` (e.g. 0o600) is set before the rename."""
    path = Path(path)
    handle, temp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as temp_file:
            temp_file.write(content)
            temp_file.flush()
            os.fsync(temp_file.fileno())
        if mode is not None:
            os.chmod(temp_name, mode)
        os.replace(temp_name, path)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise
    _sync_directory(path.parent)
    return path


def _sync_directory(folder: Path) -> None:
    """Flush the rename itself (POSIX); a file system that cannot open a directory is left as it is."""
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
