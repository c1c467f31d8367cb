"""Write a file whole or not at all: a temporary file beside the target, flushed to disk, then renamed over it.

The one atomic writer for reports, exports, snapshots, plans, backups and the login cache. The temporary name is
random (created with O_EXCL | O_NOFOLLOW and mode 0600), so a file or link planted beside the target is never
written through; `os.replace` is atomic on one file system, so a reader sees the old file or the new one. Both
are made relative to one descriptor of the folder (`open_folder`, `locked_folder`), so a folder checked once is
the folder written.
"""

from __future__ import annotations

import contextlib
import os
import re
import stat
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path


def write_atomically(path: str | Path, content: bytes, *, mode: int | None = None, folder: int | None = None) -> Path:
    """Write `content` to `path` atomically; `mode` (e.g. 0o600) is set before the rename.

    `folder` is a descriptor of the folder to write in (`open_folder`, `locked_folder`): the file is then made and
    renamed relative to it (openat/renameat), so a folder checked once is the folder written, whatever is renamed or
    linked in its place meanwhile. Without one, `path`'s folder is opened as the path names it, once."""
    path = Path(path)
    if folder is not None:
        return _write_in(folder, path, content, mode)
    try:
        handle = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:  # a missing folder, or not a folder: say which file could not be written
        raise OutputPathError(f"{path}: cannot write: {exc.strerror or exc}") from None
    try:
        return _write_in(handle, path, content, mode)
    finally:
        os.close(handle)


_WRITE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)


def _write_in(folder: int, path: Path, content: bytes, mode: int | None) -> Path:
    """The temporary file is a new random name made with O_EXCL | O_NOFOLLOW (mode 0600, as `mkstemp` makes it) in
    `folder`, written, flushed to disk, then renamed over `path.name` in the same folder."""
    import secrets

    temp_name = f".{path.name}.{secrets.token_hex(8)}.tmp"
    try:
        handle = os.open(temp_name, _WRITE_FLAGS, 0o600, dir_fd=folder)
    except OSError as exc:  # a read-only, immutable or full folder
        raise OutputPathError(f"{path}: cannot write: {exc.strerror or exc}") from None
    try:
        with os.fdopen(handle, "wb") as temp_file:
            temp_file.write(content)
            temp_file.flush()
            os.fsync(temp_file.fileno())
            if mode is not None:
                os.fchmod(temp_file.fileno(), mode)
        os.replace(temp_name, path.name, src_dir_fd=folder, dst_dir_fd=folder)
    except OSError as exc:  # a full disk, an immutable target
        with contextlib.suppress(OSError):
            os.unlink(temp_name, dir_fd=folder)
        raise OutputPathError(f"{path}: cannot write: {exc.strerror or exc}") from None
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp_name, dir_fd=folder)
        raise
    with contextlib.suppress(OSError):  # flush the rename itself (POSIX); some file systems cannot
        os.fsync(folder)
    return path


def write_new(path: str | Path, content: bytes, *, mode: int | None = None) -> Path:
    """Write `content` to `path`, which must not exist: never overwrites, even a file made meanwhile.

    The content is written whole to a temporary file first, then hard-linked to `path` (`link` fails
    when the name exists, file or link alike), so `path` is either absent or complete.
    """
    path = Path(path)
    if path.exists() or path.is_symlink():
        raise OutputPathError(f"{path}: already exists; sspr-audit never overwrites it (move it away first)")
    try:
        handle, temp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:
        raise OutputPathError(f"{path}: cannot write: {exc.strerror or exc}") from None
    try:
        with os.fdopen(handle, "wb") as temp_file:
            temp_file.write(content)
            temp_file.flush()
            os.fsync(temp_file.fileno())
        os.chmod(temp_name, 0o644 if mode is None else mode)
        os.link(temp_name, path)
    except FileExistsError:
        raise OutputPathError(f"{path}: already exists; sspr-audit never overwrites it (move it away first)") from None
    except OSError as exc:
        raise OutputPathError(f"{path}: cannot write: {exc.strerror or exc}") from None
    finally:
        Path(temp_name).unlink(missing_ok=True)
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


class InputFileError(Exception):
    """An input file that is not a regular file, is too large, or cannot be read (message names the file)."""


def read_bounded(path: str | Path, limit: int, what: str) -> bytes:
    """The bytes of a regular file of at most `limit` bytes; a FIFO, device or directory is refused unread.

    The type is checked on the opened descriptor (O_NONBLOCK, so opening a FIFO does not wait for a
    writer), and the read stops one byte past the limit, so `/dev/zero` or a growing file cannot make
    the run read without bound.
    """
    import stat

    path = Path(path)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise InputFileError(f"{path}: cannot read {what}: {exc.strerror or exc}") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise InputFileError(f"{path}: {what} must be a regular file, not {_kind_of(info.st_mode)}")
        if info.st_size > limit:
            raise InputFileError(f"{path}: {what} is {info.st_size} bytes; the limit is {limit}")
        content = read_descriptor(fd, limit)
        if content is None:
            raise InputFileError(f"{path}: {what} is larger than the limit of {limit} bytes")
        return content
    except OSError as exc:
        raise InputFileError(f"{path}: cannot read {what}: {exc.strerror or exc}") from None
    finally:
        os.close(fd)


def read_descriptor(fd: int, limit: int) -> bytes | None:
    """All of an open file, or None when it holds more than `limit` bytes (read at most `limit` + 1)."""
    chunks, size = [], 0
    while size <= limit:
        chunk = os.read(fd, min(1 << 20, limit + 1 - size))
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks) if size <= limit else None


def _kind_of(mode: int) -> str:
    import stat

    for test, name in ((stat.S_ISREG, "a regular file"), (stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO"),
                       (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
                       (stat.S_ISSOCK, "a socket"), (stat.S_ISLNK, "a symbolic link")):
        if test(mode):
            return name
    return "a special file"


class OutputPathError(Exception):
    """An output path the run refuses before any work (message names the path and why)."""


def check_output_file(path: str | Path, *, inputs: tuple[str | Path | None, ...] = (), what: str = "output") -> Path:
    """`path` if it may be written: a new name or an existing regular file that is no input of the run.

    Refused: a directory, a device, FIFO or socket (as root, `/dev/null` would be replaced by a regular
    file), a symbolic link (the rename would replace the link, not what it points to), and any path that
    resolves to one of `inputs` (a policy, snapshot, plan or previous report of the same run).
    """
    import stat

    path = Path(path)
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        info = None
    except OSError as exc:
        raise OutputPathError(f"{path}: cannot write {what} there: {exc.strerror or exc}") from None
    if info is not None:
        if stat.S_ISLNK(info.st_mode):
            raise OutputPathError(f"{path}: {what} path is a symbolic link: give the real path")
        if not stat.S_ISREG(info.st_mode):
            raise OutputPathError(f"{path}: {what} path is {_kind_of(info.st_mode)}, not a file")
    _refuse_inputs(path, inputs, what)
    parent = path.parent
    if parent.exists() and not parent.is_dir():
        raise OutputPathError(f"{path}: {parent} is not a folder")
    return path


def check_output_folder(path: str | Path, *, stem: str, inputs: tuple[str | Path | None, ...] = ()) -> Path:
    """A folder for reports named `<stem>.*`: a new name or a directory whose report files may be replaced."""
    path = Path(path)
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return path
    except OSError as exc:
        raise OutputPathError(f"{path}: cannot write reports there: {exc.strerror or exc}") from None
    if stat.S_ISLNK(info.st_mode):
        raise OutputPathError(f"{path}: the reports folder is a symlink; sspr-audit never writes through a link "
                              "(give the real folder)")
    if not stat.S_ISDIR(info.st_mode):
        raise OutputPathError(f"{path}: the reports folder is {_kind_of(info.st_mode)}, not a folder")
    for existing in sorted(path.glob(f"{stem}.*")):
        check_output_file(existing, inputs=inputs, what="report")
    return path


def _refuse_inputs(path: Path, inputs: tuple[str | Path | None, ...], what: str) -> None:
    target = path.resolve()
    for item in inputs:
        if item is None:
            continue
        if Path(item).resolve() == target:
            raise OutputPathError(f"{path}: {what} would overwrite {item}, an input of this run")


MAX_JSON_DEPTH = 200
MAX_INT_DIGITS = 64


def parse_json_bounded(text: str, name: str, what: str) -> object:
    """`json.loads` that refuses, with `name:line:column`, what would hang or crash it: deep nesting, huge integers.

    Python's parser recurses once per level (100,000 `[` is a RecursionError, or worse in a thread) and
    turns a 5,000-digit integer into a ValueError deep inside; both are checked first, in linear time.
    """
    import json

    def integer(digits: str) -> int:
        if len(digits.lstrip("-")) > MAX_INT_DIGITS:
            raise ValueError(f"an integer of {len(digits)} digits (the limit is {MAX_INT_DIGITS})")
        return int(digits)

    depth, deep_at, long_at = _scan(text)
    if depth > MAX_JSON_DEPTH:
        raise InputFileError(f"{name}:{_line_column(text, deep_at)}: JSON nested {depth} levels deep (the limit is "
                             f"{MAX_JSON_DEPTH}): not a {what} file")
    if long_at is not None:  # before json.loads, whose ValueError would say no more than "1:1"
        number = re.match(r"-?(\d*)", text[long_at:])  # always matches (the digits may be none)
        digits = len(number.group(1)) if number else 0
        raise InputFileError(f"{name}:{_line_column(text, long_at)}: an integer of {digits} digits (the limit is "
                             f"{MAX_INT_DIGITS}): not a {what} file")
    try:
        return json.loads(text, parse_int=integer)
    except json.JSONDecodeError as exc:
        raise InputFileError(f"{name}:{exc.lineno}:{exc.colno}: not valid JSON ({exc.msg}): not a {what} file") \
            from None
    except (ValueError, RecursionError) as exc:
        raise InputFileError(f"{name}:1:1: {exc}: not a {what} file") from None


# strings, brackets, and an integer longer than MAX_INT_DIGITS: possessive, and only where a number starts, so
# a long run of digits is matched once (linear), never retried from each digit
_TOKENS = re.compile(r'"(?:[^"\\]|\\.)*"|[\[{]|[\]}]|(?<![\w.])-?\d{' + str(MAX_INT_DIGITS + 1) + r',}+(?![.eE])')


def _scan(text: str) -> tuple[int, int, int | None]:
    """(the deepest `[`/`{` nesting outside strings, the offset where it first passes MAX_JSON_DEPTH, the
    offset of the first integer longer than MAX_INT_DIGITS or None): one linear scan, no recursion."""
    depth = deepest = deep_at = 0
    long_at = None
    for match in _TOKENS.finditer(text):
        token = match.group()
        if token in "[{":
            depth += 1
            if depth > deepest:
                deepest = depth
                if depth == MAX_JSON_DEPTH + 1:
                    deep_at = match.start()
        elif token in "]}":
            depth -= 1
        elif token[0] != '"' and long_at is None:
            long_at = match.start()
    return deepest, deep_at, long_at


def max_depth(text: str) -> int:
    """How deep `[` and `{` nest in JSON text, outside strings (a linear scan, no recursion)."""
    return _scan(text)[0]


def _line_column(text: str, offset: int) -> str:
    return f"{text.count(chr(10), 0, offset) + 1}:{offset - (text.rfind(chr(10), 0, offset) + 1) + 1}"


def decode_utf8(raw: bytes, name: str, what: str) -> str:
    """`raw` as UTF-8 text; else InputFileError naming the file and line, and UTF-16 or UTF-32 by name."""
    wide = wide_encoding(raw)
    if wide:
        raise InputFileError(f"{name}:1:1: not UTF-8: the file is {wide}; a {what} file is UTF-8")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        column = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        raise InputFileError(f"{name}:{line}:{column}: not UTF-8 (byte 0x{raw[exc.start]:02x}): not a {what} file") \
            from None


class UnsafeFolder(OSError):
    """A folder that must not be used for private files: a symlink, another user's, or writable by others."""


def private_folder(path: str | Path, *, what: str = "the folder", hint: str = "") -> Path:
    """`path`, created with mode 0700 if missing (its parents as usual), after checking it is safe to use."""
    path = Path(os.path.abspath(path))
    path.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(FileExistsError):
        path.mkdir(mode=0o700)
    check_private(path, what=what, hint=hint)
    return path


def check_private(path: Path, *, what: str = "the folder", hint: str = "") -> None:
    """Refuse `path` unless it is a real folder of this user that only this user can write."""
    info = path.lstat()
    if stat.S_ISLNK(info.st_mode):
        raise UnsafeFolder(f"refusing {what} {path}: it is a symlink" + (f" ({hint})" if hint else ""))
    if not stat.S_ISDIR(info.st_mode):
        raise UnsafeFolder(f"refusing {what} {path}: it is not a folder")
    if info.st_uid != os.geteuid():
        raise UnsafeFolder(f"refusing {what} {path}: it belongs to uid {info.st_uid}, not to uid {os.geteuid()}")
    if info.st_mode & 0o022:
        raise UnsafeFolder(f"refusing {what} {path}: group or others can write it "
                           f"(mode {stat.S_IMODE(info.st_mode):o}; chmod 700 it)")


def xdg_home(variable: str, default: str) -> Path:
    """An XDG base folder (https://specifications.freedesktop.org/basedir-spec/latest/): $variable when set to an
    absolute path (an empty or relative value is invalid and ignored), else ~/`default`."""
    value = os.environ.get(variable, "")
    return Path(value) if value and Path(value).is_absolute() else Path.home() / default


# The first bytes that tell UTF-32 and UTF-16 (with or without a byte-order mark) from UTF-8, in the order
# YAML 1.2 checks them (https://yaml.org/spec/1.2.2/#52-character-encodings; JSON text is UTF-8 only,
# https://www.rfc-editor.org/rfc/rfc8259#section-8.1). A file that starts with an ASCII character stored
# as 2 or 4 bytes is one of these, whatever its name says.
_WIDE = (
    (b"\x00\x00\xfe\xff", "UTF-32 (big-endian, with a byte-order mark)"),
    (b"\xff\xfe\x00\x00", "UTF-32 (little-endian, with a byte-order mark)"),
    (b"\xfe\xff", "UTF-16 (big-endian, with a byte-order mark)"),
    (b"\xff\xfe", "UTF-16 (little-endian, with a byte-order mark)"),
)


def wide_encoding(raw: bytes) -> str | None:
    """"UTF-16 (…)" or "UTF-32 (…)" when `raw` starts as such a file does (a byte-order mark, or an ASCII
    character padded with NUL bytes), else None (UTF-8, or bytes that are no text at all)."""
    for mark, name in _WIDE:
        if raw.startswith(mark):
            return name
    head = raw[:4]
    if len(head) == 4 and head[:3] == b"\x00\x00\x00" and 0 < head[3] < 0x80:
        return "UTF-32 (big-endian, no byte-order mark)"
    if len(head) == 4 and head[1:] == b"\x00\x00\x00" and 0 < head[0] < 0x80:
        return "UTF-32 (little-endian, no byte-order mark)"
    if len(head) >= 2 and head[0] == 0 and 0 < head[1] < 0x80:
        return "UTF-16 (big-endian, no byte-order mark)"
    if len(head) >= 2 and head[1] == 0 and 0 < head[0] < 0x80:
        return "UTF-16 (little-endian, no byte-order mark)"
    return None


@dataclass(frozen=True)
class OpenFolder:
    """A folder opened without following a link (`open_folder`): files are written relative to `fd`."""

    path: Path
    fd: int

    def write(self, name: str, content: bytes, *, mode: int | None = None) -> Path:
        """`content` as the file `name` in this folder, atomically (`write_atomically`)."""
        return write_atomically(self.path / name, content, mode=mode, folder=self.fd)

    def is_link(self, name: str) -> bool:
        """Whether `name` in this folder is a symbolic link (lstat relative to the folder)."""
        try:
            return stat.S_ISLNK(os.stat(name, dir_fd=self.fd, follow_symlinks=False).st_mode)
        except FileNotFoundError:
            return False


def open_folder(path: Path, *, what: str = "the reports folder", follow: bool = False) -> int:
    """A descriptor of `path`, which must be a folder. Unless `follow`, its last component must not be a link:
    open(2) with O_NOFOLLOW fails on one ("If the trailing component … of pathname is a symbolic link, then the
    open fails, with the error ELOOP", https://man7.org/linux/man-pages/man2/open.2.html), and the check is the open
    itself, so nothing can be swapped in between. The caller closes it."""
    import errno

    flags = os.O_RDONLY | os.O_DIRECTORY | getattr(os, "O_CLOEXEC", 0) | (0 if follow else os.O_NOFOLLOW)
    try:
        return os.open(path, flags)
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.ENOTDIR):
            raise OutputPathError(f"{path}: {what} is a symlink or not a folder; sspr-audit never writes through "
                                  "a link") from None
        raise OutputPathError(f"{path}: cannot use {what}: {exc.strerror or exc}") from None


class FolderBusy(OutputPathError):
    """Another process held the folder's lock for longer than the caller would wait."""


@contextlib.contextmanager
def locked_folder(path: Path, *, wait_seconds: float = 120.0, what: str = "the reports folder") -> Iterator[OpenFolder]:
    """`path` (made if missing; a link there is refused) while this process holds an exclusive flock on the folder
    itself, so two runs writing the same reports folder write one after the other, never a mix of both. The lock is
    taken on the descriptor opened with O_NOFOLLOW, and the files are written relative to that descriptor
    (`OpenFolder.write`), so the folder locked is the folder written; it leaves no file behind (flock(2) works on
    any open file, a directory included, and ends when the holder dies). `wait_seconds=0` refuses at once."""
    import fcntl
    import time

    path.mkdir(parents=True, exist_ok=True)
    handle = open_folder(path, what=what)
    try:
        deadline = time.monotonic() + wait_seconds
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    waited = f"held the folder's lock for {wait_seconds:g} s" if wait_seconds else "holds its lock"
                    raise FolderBusy(f"{path}: another run {waited}: nothing written") from None
                time.sleep(0.05)
        yield OpenFolder(path, handle)
    finally:
        os.close(handle)  # releases the lock
