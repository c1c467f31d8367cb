"""Execute a saved plan through the writers: dry run by default, backup first, verify, stop at failure.

`apply(plan, targets)` re-reads every target first. A target that holds neither the plan's old
value nor its new one means the plan is stale: nothing is written. Without `yes=True` that is
all it does (a dry run that says what would change). With it, it writes a backup of every
object it is about to change (the full portal JSON, the Graph objects, raw descriptor bytes,
attribute values, SYSVOL file contents) before the first write, then for each change re-reads
the target, writes, and reads it back; the first failure stops the run. A change whose target
already holds the new value is skipped, so applying a plan twice changes nothing the second time.

`rollback(backup, targets)` puts back every object the apply wrote, newest first, and checks
each against the backup. Neither function logs or stores a secret: credentials live only in
`Targets` and in the clients built from them.
"""

from __future__ import annotations

import json
import logging
import os
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from pydantic import Field

from auditor import __version__
from auditor.files import write_atomically
from auditor.remediation.changes import Frozen, Plan, PlanError, PlanSource, object_key
from auditor.remediation.session import ApplyError, BackupObject, Session, Targets
from auditor.snapshot.models import utc_now

if TYPE_CHECKING:
    from auditor.remediation.writers.base import Writer

log = logging.getLogger(__name__)

BACKUP_FORMAT = "sspr-auditor-backup"
T = TypeVar("T")

ChangeStatus = Literal["pending", "already", "applied", "stale", "failed", "not_attempted"]
Outcome = Literal["nothing_to_do", "dry_run", "applied", "refused", "failed"]


# -- backup ---------------------------------------------------------------------------------

class Backup(Frozen):
    format: Literal["sspr-auditor-backup"] = BACKUP_FORMAT
    format_version: Literal[1] = 1
    tool_version: str = __version__
    created_at: datetime = Field(default_factory=utc_now)
    plan_digest: str
    source: PlanSource
    objects: list[BackupObject] = Field(default_factory=list)


def save_backup(backup: Backup, path: Path, *, create: bool = False) -> None:
    """Write the backup (fsync'd); with `create`, refuse to overwrite an existing file."""
    data = (backup.model_dump_json(indent=2) + "\n").encode("utf-8")
    if create:
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            raise ApplyError(f"{path} already exists: choose another backup file") from None
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        return
    write_atomically(path, data, mode=0o600)


def load_backup(path: str | Path) -> Backup:
    from auditor.remediation.changes import load_json_model

    return load_json_model(Path(path), Backup, "backup")[0]


def default_backup_path(plan_path: Path | None, now: datetime | None = None) -> Path:
    stamp = (now or utc_now()).strftime("%Y%m%dT%H%M%SZ")
    folder = plan_path.parent if plan_path is not None else Path.cwd()
    stem = plan_path.stem if plan_path is not None else "plan"
    return folder / f"{stem}.backup-{stamp}.json"


# -- results --------------------------------------------------------------------------------

class ChangeResult(Frozen):
    id: str
    kind: str
    target: str
    summary: str
    status: ChangeStatus
    detail: str | None = None


class ApplyResult(Frozen):
    outcome: Outcome
    message: str
    changes: list[ChangeResult]
    backup_path: str | None = None
    failed_change: str | None = None


class RestoreResult(Frozen):
    key: str
    target: str
    status: Literal["restored", "unchanged", "failed", "skipped"]
    detail: str | None = None


class RollbackResult(Frozen):
    outcome: Literal["restored", "dry_run", "nothing_to_do", "failed"]
    message: str
    objects: list[RestoreResult]


# -- apply ----------------------------------------------------------------------------------

def apply(plan: Plan, targets: Targets, *, yes: bool = False, backup_path: Path | None = None) -> ApplyResult:
    """Apply `plan` (a dry run unless `yes`). See the module docstring for the guarantees."""
    if plan.digest != plan.compute_digest():
        raise PlanError("the plan was edited after it was made (digest mismatch): make a new plan")
    if not plan.changes:
        return ApplyResult(outcome="nothing_to_do", message="the plan has no changes", changes=[])
    with Session(targets, _make_writer) as session:
        return _apply(plan, session, yes=yes, backup_path=backup_path)


def _result(change: Any, status: ChangeStatus, detail: str | None = None) -> ChangeResult:
    return ChangeResult(id=change.id, kind=change.kind, target=change.target, summary=change.summary,
                        status=status, detail=detail)


def _apply(plan: Plan, session: Session, *, yes: bool, backup_path: Path | None) -> ApplyResult:
    observed = []
    for change in plan.changes:
        try:
            observed.append(session.writer(change.writer).observe(change))
        except ApplyError:
            raise  # a target that is not configured: a usage error, nothing was written
        except Exception as exc:
            return ApplyResult(outcome="failed", failed_change=change.id, changes=[
                _result(c, "failed" if c is change else "not_attempted",
                        _describe(exc) if c is change else None) for c in plan.changes],
                message=f"change {change.id} ({change.target}) could not be read: {_describe(exc)}; nothing written")
    states = [(change, seen) for change, seen in zip(plan.changes, observed, strict=True)]
    stale = [(c, o) for c, o in states if o.state == "other"]
    results = {c.id: _result(c, "already" if o.state == "new" else "stale" if o.state == "other" else "pending",
                             o.detail or None) for c, o in states}
    if stale:
        lines = "; ".join(f"change {c.id} ({c.target}): {o.detail}" for c, o in stale)
        return ApplyResult(outcome="refused", changes=list(results.values()),
                           message=f"the plan is stale, nothing written: {len(stale)} target(s) no longer hold "
                                   f"the value the plan was made from ({lines}). Make a new plan.")
    pending = [(c, o) for c, o in states if o.state == "old"]
    if not pending:
        return ApplyResult(outcome="nothing_to_do", changes=list(results.values()),
                           message=f"nothing to do: all {len(states)} change(s) are already in place")
    if not yes:
        return ApplyResult(outcome="dry_run", changes=list(results.values()),
                           message=f"dry run: {len(pending)} change(s) would be applied "
                                   f"({len(states) - len(pending)} already in place); run again with --yes")
    objects: dict[str, BackupObject] = {}
    for change, seen in pending:
        key = object_key(change)
        if key not in objects:
            objects[key] = BackupObject(key=key, writer=change.writer, target=change.target, data=seen.backup)
    path = backup_path or default_backup_path(None)
    backup = Backup(plan_digest=plan.digest, source=plan.source, objects=list(objects.values()))
    save_backup(backup, path, create=True)
    log.info("backup of %d object(s) written to %s", len(objects), path)
    for position, (change, _) in enumerate(pending):
        writer = session.writer(change.writer)
        key = object_key(change)
        try:
            now = writer.observe(change)
            if now.state == "new":
                results[change.id] = _result(change, "already", "already in place when its turn came")
                continue
            if now.state != "old":
                raise _Stop(f"the target changed during apply: {now.detail}")
            if not objects[key].written:
                objects[key] = objects[key].model_copy(update={"written": True})
                backup = backup.model_copy(update={"objects": list(objects.values())})
                save_backup(backup, path)
            log.info("applying change %s to %s", change.id, change.target)
            writer.write(change)
            after = writer.observe(change)
            if after.state != "new":
                raise _Stop(f"read back after writing does not show the new value: {after.detail}")
        except Exception as exc:
            detail = _describe(exc)
            results[change.id] = _result(change, "failed", detail)
            for later, _ in pending[position + 1:]:
                results[later.id] = _result(later, "not_attempted")
            return ApplyResult(outcome="failed", changes=list(results.values()), backup_path=str(path),
                               failed_change=change.id,
                               message=f"change {change.id} failed ({change.target}): {detail.rstrip('.')}. Stopped; "
                                       f"the backup is {path}: undo with `sspr-audit rollback {path}`")
        results[change.id] = _result(change, "applied")
    applied = sum(1 for r in results.values() if r.status == "applied")
    return ApplyResult(outcome="applied", changes=list(results.values()), backup_path=str(path),
                       message=f"applied {applied} change(s), each verified by reading it back; backup: {path}")


class _Stop(Exception):
    """A reason to stop applying that is not an exception from a client."""


def _describe(exc: BaseException) -> str:
    if isinstance(exc, _Stop | ApplyError):
        return str(exc)
    from auditor.remediation.writers.base import describe_error

    return describe_error(exc)


# -- rollback -------------------------------------------------------------------------------

def rollback(backup: Backup, targets: Targets, *, yes: bool = False) -> RollbackResult:
    """Restore every object the apply wrote, newest first, and check each against the backup."""
    written = [obj for obj in reversed(backup.objects) if obj.written]
    if not written:
        return RollbackResult(outcome="nothing_to_do", objects=[],
                              message="the apply that made this backup wrote nothing: nothing to restore")
    results: list[RestoreResult] = []
    with Session(targets, _make_writer) as session:
        for obj in written:
            writer = session.writer(obj.writer)
            try:
                if writer.matches(obj):
                    results.append(RestoreResult(key=obj.key, target=obj.target, status="unchanged"))
                    continue
                if not yes:
                    results.append(RestoreResult(key=obj.key, target=obj.target, status="skipped",
                                                 detail="differs from the backup; would be restored"))
                    continue
                log.info("restoring %s", obj.target)
                writer.restore(obj)
                if not writer.matches(obj):
                    raise _Stop("read back after restoring does not match the backup")
                results.append(RestoreResult(key=obj.key, target=obj.target, status="restored"))
            except Exception as exc:
                results.append(RestoreResult(key=obj.key, target=obj.target, status="failed", detail=_describe(exc)))
                return RollbackResult(outcome="failed", objects=results,
                                      message=f"restoring {obj.target} failed: {_describe(exc)}; stopped")
    if not yes:
        todo = sum(1 for r in results if r.status == "skipped")
        return RollbackResult(outcome="dry_run", objects=results,
                              message=f"dry run: {todo} object(s) would be restored; run again with --yes")
    restored = sum(1 for r in results if r.status == "restored")
    return RollbackResult(outcome="restored", objects=results,
                          message=f"restored {restored} object(s) from the backup, each checked by reading it back")


def result_json(result: ApplyResult | RollbackResult) -> str:
    return json.dumps(result.model_dump(mode="json"), indent=2)


def _make_writer(name: str, session: Session) -> Writer:
    from auditor.remediation.writers import make_writer

    return make_writer(name, session)
