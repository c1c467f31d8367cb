"""Lab domains kept between runs, so `apply --lab` and `rollback --lab` write to one domain across processes.

Every other lab run clones the seeded template and removes the clone when it ends (domain_seed.lab_domain). A plan
made with `--lab` is applied to a *kept* domain instead: a clone that stays (stopped) in the lab folder under
`kept/<key>/dc`, where `key` names the plan, so that a later apply of the same plan finds its changes in place and
`rollback` restores what apply wrote. When there is no kept domain yet, one is cloned from the same seeded template
on the address the plan's domain answered on; the caller proves it identical by the plan's fingerprints.

A workspace counts as applied once an `apply --yes` passed every refusal and began writing (`WRITTEN`, made by
`mark_written` before its backup and first write, so a crash keeps it). A workspace this run made and left unmarked
(a dry run, a refusal, an error) is removed when the run ends, so `check --lab-after` never reads a lab no apply
wrote as if one had, and a fresh lab is what it held anyway.

One run at a time holds a kept domain (an exclusive flock on `kept/<key>.lock`, released by the kernel when the
holder dies: https://man7.org/linux/man-pages/man2/flock.2.html). The newest `KEEP` domains are kept; older ones
are removed when a new one is made.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from auditor.lab_domain import addresses, samba
from auditor.lab_domain.folders import private_folder
from auditor.lab_domain.samba import SambaDC, SambaError

log = logging.getLogger(__name__)

KEEP = 6  # kept domains (about 36 MB each) beyond which the oldest are removed
KEY_PATTERN = re.compile(r"^[0-9a-f]{16,64}$")
WRITTEN = "WRITTEN"  # in a kept folder: an apply began writing to it


@dataclass(frozen=True)
class KeptDomain:
    """A running kept DC; `recreated` when this run cloned it afresh (it must be proven the plan's own)."""

    dc: SambaDC
    recreated: bool


def kept_folder(key: str, state_dir: Path | None = None) -> Path:
    """Where the lab keeps what was written for `key` (in the lab's private folder, checked)."""
    if not KEY_PATTERN.match(key):
        raise SambaError(f"not a kept lab key: {key!r}")
    return private_folder(state_dir or samba.default_state_dir()) / "kept" / key


@contextmanager
def kept_workspace(key: str, *, create: bool, state_dir: Path | None = None) -> Iterator[Path]:
    """The folder kept for `key`, held by this run alone; made when missing and `create` (else a SambaError)."""
    folder = kept_folder(key, state_dir)
    folder.parent.mkdir(mode=0o700, exist_ok=True)
    with _held(folder.with_name(f"{key}.lock")):
        made = not folder.is_dir()
        if made:
            if not create:
                raise SambaError(f"the lab no longer keeps the tenant and domain this backup was written to "
                                 f"({folder}): a fresh lab holds the scenario as it was before that apply, so "
                                 "there is nothing to restore")
            folder.mkdir(mode=0o700)
            _prune(folder.parent, keep=KEEP, spare=folder)
        os.utime(folder)  # the newest used are the ones kept
        try:
            yield folder
        finally:
            if made and not was_written(folder):  # nothing was written here: a fresh lab is the same
                _remove(folder)


def mark_written(folder: Path) -> None:
    """An apply is about to write to the kept `folder` (before its backup and first write)."""
    (folder / WRITTEN).write_text("an apply began writing to this lab\n", encoding="utf-8")


def was_written(folder: Path) -> bool:
    return (folder / WRITTEN).is_file()


def _remove(folder: Path) -> None:
    """Remove a kept folder (its DC stopped already), logging rather than raising: the run's outcome stands."""
    try:
        with contextlib.suppress(SambaError):  # never provisioned there (a clone cut short)
            samba.remove(samba.open_dc(folder / "dc"))
        shutil.rmtree(folder, ignore_errors=True)
    except OSError as exc:
        log.warning("could not remove the unused kept lab %s: %s", folder, exc)


@contextmanager
def kept_domain(folder: Path, scenario: str, address: str, *, create: bool,
                state_dir: Path | None = None) -> Iterator[KeptDomain]:
    """The DC kept in `folder` (a held `kept_workspace`), started; cloned from `scenario`'s seeded template on
    `address` first when there is none and `create` (else a SambaError). Stopped, never removed, at the end."""
    from auditor.lab_domain.domain_seed import scenario_template

    reason = samba.unavailable_reason()
    if reason:
        raise SambaError(reason)
    root = folder / "dc"
    addresses.set_aside(address, folder.name, folder)  # no fresh lab DC takes it while this one is stopped
    recreated = not (root / "KEPT").exists()
    if recreated:
        if not create:
            raise SambaError(f"the lab no longer keeps the domain this backup was written to ({root}): there is "
                             "nothing to restore it on")
        template = scenario_template(scenario, private_folder(state_dir or samba.default_state_dir()) / "samba")
        dc = samba.clone(template, root, address)
        (root / "KEPT").write_text(f"kept lab domain of scenario {scenario}\n")
    else:
        dc = samba.open_dc(root)
        if dc.address != address:
            raise SambaError(f"the kept lab domain {root} answers on {dc.address}, the plan read {address}")
    with dc:
        yield KeptDomain(dc, recreated)


@contextmanager
def _held(lock: Path) -> Iterator[None]:
    fd = os.open(lock, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise SambaError(f"another apply or rollback is using the kept lab domain ({lock}): wait for it to "
                             "finish, then run again") from None
        yield
    finally:
        os.close(fd)


def _prune(kept: Path, *, keep: int, spare: Path) -> None:
    """Remove the oldest kept domains beyond `keep` (never `spare`, never one another run holds)."""
    folders = sorted((f for f in kept.iterdir() if f.is_dir() and not f.is_symlink() and f != spare),
                     key=lambda f: f.stat().st_mtime, reverse=True)
    for old in folders[max(keep - 1, 0):]:
        try:
            with _held(old.with_name(f"{old.name}.lock")):  # the lock file stays: deleting a flock file races
                _remove(old)
            log.info("removed the kept lab domain %s", old)
        except (SambaError, OSError) as exc:
            log.warning("could not remove the kept lab domain %s: %s", old, exc)
