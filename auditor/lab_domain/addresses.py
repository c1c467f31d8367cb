"""Loopback addresses for lab DCs, each held by one DC from before it binds until it stops.

A DC gets 127.0.0.N through a lease: an exclusive `flock` on `<lock folder>/127.0.0.N.lock` held by this
process (an in-process set under a thread lock keeps two threads apart too), plus a check that nothing else
listens on the DC's ports there. The lease is held while the DC is cloned, started and running, and released
when it stops, so two DCs (threads or processes) can never pass the check together and bind the same address.

flock(2) locks belong to the open file description and are released when it is closed, which the kernel does
when the process dies, SIGKILL included: a crashed run leaves no stale lease, and no PID file is read
(https://man7.org/linux/man-pages/man2/flock.2.html). Samba is started with Popen's default close_fds=True,
so it never inherits the lock (https://docs.python.org/3/library/subprocess.html#subprocess.Popen).

A lab kept between runs (a plan's domain for `apply --lab`, auditor/lab_domain/kept.py) must come back on the
address its plan read, but holds no lease while it is stopped. It sets that address aside (`set_aside`: a file
`127.0.0.N.kept-<key>` naming the kept folder), and `reserve` does not pick an address set aside for a kept
folder that still exists; `claim`, which names the address, is not affected.

The lock folder is machine-wide (/run/sspr-auditor/lab-addresses for root, who alone can run a DC), not the
lab state folder: two runs with different SSPR_LAB_DIR share the same loopback addresses.
"""

from __future__ import annotations

import errno
import fcntl
import os
import random
import socket
import threading
from dataclasses import dataclass, field
from pathlib import Path

from auditor.lab_domain.folders import default_state_dir, private_folder

# Every TCP port the lab DC listens on (`server services = -nbt -wrepl -dns -dnsupdate`): Kerberos, the
# endpoint mapper, SMB, LDAP, kpasswd, LDAPS and the global catalog.
DC_PORTS = (88, 135, 139, 389, 445, 464, 636, 3268, 3269)
FIRST, LAST = 20, 250  # 127.0.0.20 … 127.0.0.249

_held: set[str] = set()  # addresses this process holds a lease on
_guard = threading.RLock()  # re-entrant: a signal handler may stop DCs while this thread claims


class AddressTaken(RuntimeError):
    """No lease: the address is held by another lab DC or used by another program."""


def lock_folder() -> Path:
    """Where the leases live: /run/sspr-auditor/lab-addresses as root, else beside the lab state."""
    if os.geteuid() == 0 and Path("/run").is_dir():
        return Path("/run/sspr-auditor/lab-addresses")
    return default_state_dir() / "addresses"


@dataclass
class AddressLease:
    """127.0.0.N held by this process until `release()` (idempotent)."""

    address: str
    _fd: int | None = field(default=None, repr=False)

    @property
    def held(self) -> bool:
        return self._fd is not None

    def release(self) -> None:
        with _guard:
            if self._fd is None:
                return
            fd, self._fd = self._fd, None
            _held.discard(self.address)
            os.close(fd)  # closing the only descriptor drops the flock

    def __enter__(self) -> AddressLease:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def set_aside(address: str, key: str, owner: Path, folder: Path | None = None) -> None:
    """Keep `address` out of `reserve`'s picks while the kept lab folder `owner` (named `key`) exists."""
    folder = private_folder(folder or lock_folder())
    marker = folder / f"{address}.kept-{key}"
    if marker.is_file() and not marker.is_symlink() and marker.read_text(encoding="utf-8") == str(owner):
        return
    staged = folder / f".{marker.name}.{os.getpid()}"
    staged.write_text(str(owner), encoding="utf-8")
    staged.replace(marker)  # atomic: a reader sees the old marker or the new one


def set_aside_addresses(folder: Path | None = None) -> set[str]:
    """The addresses kept labs set aside (markers whose kept folder is gone are removed)."""
    folder = private_folder(folder or lock_folder())
    out: set[str] = set()
    for marker in folder.glob("127.0.0.*.kept-*"):
        try:
            owner = Path(marker.read_text(encoding="utf-8"))
        except OSError:
            continue
        if owner.is_dir():
            out.add(marker.name.split(".kept-", 1)[0])
        else:
            marker.unlink(missing_ok=True)
    return out


def reserve(folder: Path | None = None, ports: tuple[int, ...] = DC_PORTS, first: int = FIRST,
            last: int = LAST) -> AddressLease:
    """A lease on a free address in 127.0.0.first … 127.0.0.(last-1), starting at a random one, never one a kept
    lab set aside."""
    span = last - first
    start = random.randrange(span)
    aside = set_aside_addresses(folder)
    for offset in range(span):
        address = f"127.0.0.{first + (start + offset) % span}"
        if address in aside:
            continue
        try:
            return claim(address, folder, ports)
        except AddressTaken:
            continue
    raise AddressTaken(f"no free loopback address in 127.0.0.{first}-{last - 1}")


def claim(address: str, folder: Path | None = None, ports: tuple[int, ...] = DC_PORTS) -> AddressLease:
    """A lease on `address`, or AddressTaken when another lab DC holds it or another program listens there."""
    folder = private_folder(folder or lock_folder())
    with _guard:
        if address in _held:
            raise AddressTaken(f"{address} is held by another lab DC of this process")
        fd = os.open(folder / f"{address}.lock", os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise AddressTaken(f"{address} is held by a lab DC of another process") from None
        busy = next((port for port in ports if in_use(address, port)), None)
        if busy is not None:
            os.close(fd)
            raise AddressTaken(f"{address}:{busy} is in use by another program")
        _held.add(address)
        return AddressLease(address, fd)


def in_use(address: str, port: int) -> bool:
    """Whether something listens on address:port: a bind with SO_REUSEADDR fails only on a listener
    (a connection in TIME_WAIT does not block it); where binding is not allowed, a connect decides."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((address, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                return True
            if exc.errno != errno.EACCES:
                raise
        else:
            return False
    try:
        with socket.create_connection((address, port), timeout=0.2):
            return True
    except OSError:
        return False
