"""Issue 28: lab DC addresses are leased without a race, across threads and across processes.

No Samba: the leases are taken in a temporary lock folder, and "the DC's ports" are one high port, so these
tests never meet a real lab DC of another run.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from auditor.lab_domain import addresses
from auditor.lab_domain.addresses import AddressTaken

PORT = (47389,)
FIRST, LAST = 40, 52  # twelve addresses: every one is fought over below


@pytest.fixture(autouse=True)
def _no_session_leases(monkeypatch: pytest.MonkeyPatch) -> None:
    """The fight is over this test's own lease folder: lab DCs this pytest process keeps for the session (a kept
    lab domain, a Samba fixture) may hold some of 127.0.0.40-51 in the process's own set, which is not under test."""
    monkeypatch.setattr(addresses, "_held", set())


def test_many_threads_never_get_the_same_address(tmp_path: Path) -> None:
    count = LAST - FIRST
    start = threading.Barrier(count)
    leases: list[addresses.AddressLease] = []
    errors: list[BaseException] = []

    def take() -> None:
        start.wait()
        try:
            leases.append(addresses.reserve(tmp_path, PORT, FIRST, LAST))
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=take) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    try:
        assert not errors
        assert len({lease.address for lease in leases}) == count  # all twelve, each once
        with pytest.raises(AddressTaken, match=r"no free loopback address in 127\.0\.0\.40-51"):
            addresses.reserve(tmp_path, PORT, FIRST, LAST)
    finally:
        for lease in leases:
            lease.release()
    again = addresses.reserve(tmp_path, PORT, FIRST, LAST)  # released leases are free again
    again.release()


def _hold(folder: str, count: int, ready: multiprocessing.Barrier, done: multiprocessing.Barrier,  # type: ignore[valid-type]
          out: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    ready.wait()
    held = []
    for _ in range(count):
        try:
            held.append(addresses.reserve(Path(folder), PORT, FIRST, LAST))
        except AddressTaken:
            break
    out.put([lease.address for lease in held])
    done.wait()  # hold every lease until all processes have reported


def test_several_processes_never_get_the_same_address(tmp_path: Path) -> None:
    context = multiprocessing.get_context("spawn")
    workers = 4
    ready, done, out = context.Barrier(workers), context.Barrier(workers + 1), context.Queue()
    processes = [context.Process(target=_hold, args=(str(tmp_path), 4, ready, done, out)) for _ in range(workers)]
    for process in processes:
        process.start()
    try:
        taken = [out.get(timeout=60) for _ in processes]
        flat = [address for addresses_of_one in taken for address in addresses_of_one]
        assert len(flat) == LAST - FIRST  # 16 asked for, 12 exist: every address taken once, none twice
        assert len(set(flat)) == len(flat)
        with pytest.raises(AddressTaken, match="held by a lab DC of another process"):
            addresses.claim(flat[0], tmp_path, PORT)
    finally:
        done.wait(timeout=60)
        for process in processes:
            process.join(timeout=60)
    assert all(process.exitcode == 0 for process in processes)
    addresses.claim(flat[0], tmp_path, PORT).release()  # the processes ended: their leases went with them


def test_a_killed_holder_leaves_no_stale_lease(tmp_path: Path) -> None:
    script = ("import sys, time; from pathlib import Path; from auditor.lab_domain import addresses; "
              "lease = addresses.claim('127.0.0.60', Path(sys.argv[1]), (47389,)); print('held', flush=True); "
              "time.sleep(120)")
    child = subprocess.Popen([sys.executable, "-c", script, str(tmp_path)], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "held"
        with pytest.raises(AddressTaken):
            addresses.claim("127.0.0.60", tmp_path, PORT)
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=30)
    assert (tmp_path / "127.0.0.60.lock").exists()  # the file stays; the kernel dropped the lock with the process
    addresses.claim("127.0.0.60", tmp_path, PORT).release()


def test_an_address_another_program_listens_on_is_skipped(tmp_path: Path) -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.70", PORT[0]))
        listener.listen()
        with pytest.raises(AddressTaken, match=r"127.0.0.70:47389 is in use by another program"):
            addresses.claim("127.0.0.70", tmp_path, PORT)
        lease = addresses.reserve(tmp_path, PORT, 70, 72)
        assert lease.address == "127.0.0.71"
        lease.release()
    addresses.claim("127.0.0.70", tmp_path, PORT).release()


def test_a_thread_cannot_claim_what_another_thread_holds(tmp_path: Path) -> None:
    with addresses.claim("127.0.0.80", tmp_path, PORT) as lease:
        assert lease.held
        with pytest.raises(AddressTaken, match="another lab DC of this process"):
            addresses.claim("127.0.0.80", tmp_path, PORT)
    assert not lease.held
    lease.release()  # a second release does nothing
    addresses.claim("127.0.0.80", tmp_path, PORT).release()


def test_reserve_never_picks_an_address_a_kept_lab_set_aside(tmp_path: Path) -> None:
    """A kept lab domain is stopped between apply and rollback and must come back on its plan's address: a fresh
    lab DC of another run must not take it meanwhile (CI, stop 39: rollback refused, "held by a lab DC of another
    process"). Claiming it by name (the kept DC itself) still works; once the kept folder is gone, it is free."""
    locks, kept = tmp_path / "locks", tmp_path / "kept" / "0123456789abcdef01234567"
    kept.mkdir(parents=True)
    aside = f"127.0.0.{FIRST}"
    addresses.set_aside(aside, kept.name, kept, locks)
    addresses.set_aside(aside, kept.name, kept, locks)  # again: idempotent
    leases = [addresses.reserve(locks, PORT, FIRST, LAST) for _ in range(LAST - FIRST - 1)]
    try:
        assert aside not in {lease.address for lease in leases}
        with pytest.raises(AddressTaken, match="no free loopback address"):
            addresses.reserve(locks, PORT, FIRST, LAST)
        with addresses.claim(aside, locks, PORT) as mine:
            assert mine.held
        kept.rmdir()  # the kept lab was removed: its address is free again, and the marker goes
        with addresses.reserve(locks, PORT, FIRST, LAST) as freed:
            assert freed.address == aside
        assert not list(locks.glob("*.kept-*"))
    finally:
        for lease in leases:
            lease.release()
