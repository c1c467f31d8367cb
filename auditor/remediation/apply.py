"""Execute a saved plan through the writers: dry run by default, backup first, verify, stop at failure.

`apply(plan, targets, derived)` trusts nothing in the file it did not derive: `derived` holds the
changes the planner makes now, from the policy file and the live state read at apply time (the use
case in `auditor.app.remediate` builds it), and a change in the file that is not exactly one of
them, or that writes outside the policy's objects (`auditor.remediation.scope`), is refused with
nothing written. Every target is re-read first: a target that holds neither the plan's old value
nor its new one means the plan is stale, and nothing is written. Without `yes=True` that is
all it does (a dry run that says what would change). With it, it writes a backup of every
object it is about to change (the full portal JSON, the Graph objects, raw descriptor bytes,
attribute values, SYSVOL file contents) before the first write, then for each change re-reads
the target, records its intent in the backup's write-ahead journal (`auditor.remediation.journal`),
writes, reads it back and records the result; the first failure stops the run. A change whose target
already holds the new value is skipped, so applying a plan twice changes nothing the second time.

`rollback(backup, targets)` puts back every object the apply wrote, newest first, only where the
live object still holds a state apply left there (the journal records each write's state before and
after, and for a write that never finished, both states it may have left); an object changed since
is shown and skipped unless `force=True`. Each restore is read back. Rollback works from any point
where apply stopped, a SIGKILL between or inside two writes to one object included
(tests/integration/test_apply_crash_points.py kills apply at each point in turn).
Neither function logs or stores a secret: credentials live only in
`Targets` and in the clients built from them.
"""

from __future__ import annotations

import json
import logging
import os
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Literal, TypeVar

from pydantic import Field

from auditor import __version__
from auditor.files import write_atomically
from auditor.remediation.changes import Change, ChangeImpact, Frozen, Plan, PlanError, PlanSource, object_key
from auditor.remediation.crashpoints import boundary
from auditor.remediation.journal import JournalEntry, fold, journal_problem, same_object_name
from auditor.remediation.session import ApplyError, BackupObject, Session, Targets
from auditor.snapshot.models import utc_now

if TYPE_CHECKING:
    from collections.abc import Callable

    from auditor.remediation.derivation import Derivation
    from auditor.remediation.writers.base import Writer

log = logging.getLogger(__name__)

BACKUP_FORMAT: Final = "sspr-auditor-backup"
T = TypeVar("T")

ChangeStatus = Literal["pending", "already", "applied", "stale", "not_derived", "failed", "not_attempted"]
Outcome = Literal["nothing_to_do", "dry_run", "applied", "refused", "failed"]


# -- backup ---------------------------------------------------------------------------------

BACKUP_VERSION: Final = 4  # 4: the endpoints recorded as one `endpoints` object (auditor/endpoints.py)
READABLE_VERSIONS = (2, 3, 4)  # 2 and 3 (the previous release) converted by auditor/remediation/legacy_backup.py


class Backup(Frozen):
    format: Literal["sspr-auditor-backup"] = BACKUP_FORMAT
    format_version: Literal[4] = BACKUP_VERSION
    tool_version: str = __version__
    created_at: datetime = Field(default_factory=utc_now)
    plan_digest: str
    source: PlanSource
    changes: list[Change] = Field(default_factory=list, description="The changes apply was about to write")
    objects: list[BackupObject] = Field(default_factory=list)
    journal: list[JournalEntry] = Field(default_factory=list, description="The write-ahead journal: an intent "
                                        "before each write, its result after it (auditor.remediation.journal)")
    digest: str = ""
    mac: str | None = Field(None, description="HMAC-SHA256 with SSPR_PLAN_KEY, when that was set")


def save_backup(backup: Backup, path: Path, *, create: bool = False) -> None:
    """Write the backup sealed (fsync'd); with `create`, refuse to overwrite an existing file."""
    from auditor.remediation.seal import seal

    backup = seal(backup)
    data = (backup.model_dump_json(indent=2) + "\n").encode("utf-8")
    if create:
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.exists() or path.is_symlink():
            raise ApplyError(f"{path} already exists: choose another backup file")
        # written whole beside it, then linked into place: link() fails if the name appeared meanwhile,
        # so an existing backup is never overwritten and a reader never sees half of a new one
        temp = write_atomically(path.with_name(f".{path.name}.{os.getpid()}.new"), data, mode=0o600)
        try:
            os.link(temp, path)
        except FileExistsError:
            raise ApplyError(f"{path} already exists: choose another backup file") from None
        finally:
            temp.unlink(missing_ok=True)
        return
    write_atomically(path, data, mode=0o600)


def load_backup(path: str | Path) -> Backup:
    """The backup at `path`, its seal checked and every object tied to the change that wrote it."""
    from auditor.remediation.changes import json_position, load_json_model, require_seal

    path = Path(path)
    legacy = _legacy(path)
    if legacy is not None:  # the previous release's backup: its own seal checked on its data, then converted
        backup, text, written_by = legacy
    else:
        backup, text = load_json_model(path, Backup, "backup", version=BACKUP_VERSION)
        require_seal(backup, text, path, "backup", "it cannot be trusted to restore anything")
        written_by = backup.format_version
    for index, obj in enumerate(backup.objects):
        mismatch = identity_problem(obj, backup.changes)
        if mismatch:
            line, column = json_position(text, ["objects", str(index)])
            raise PlanError(f"{path}:{line}:{column}: object {obj.key}: {mismatch}: the backup cannot be trusted")
    problem = journal_problem(backup.journal, backup.changes, backup.objects)
    if problem:
        line, column = json_position(text, ["journal"])
        raise PlanError(f"{path}:{line}:{column}: {problem}: the backup cannot be trusted")
    if written_by >= 3:  # what was written is the journal's to say, not the objects'
        if any(obj.written or obj.after is not None or obj.left or obj.unfinished for obj in backup.objects):
            line, column = json_position(text, ["objects"])
            raise PlanError(f"{path}:{line}:{column}: a version {written_by} backup keeps what apply wrote in its "
                            "journal, not in its objects: the backup cannot be trusted")
        backup = backup.model_copy(update={"objects": fold(backup.objects, backup.journal)})
    return backup


def _legacy(path: Path) -> tuple[Backup, str, int] | None:
    """A backup of format 2 or 3 (the previous release) at `path`, read by auditor.remediation.legacy_backup;
    None for any other file (which the current reader then judges)."""
    from auditor.files import InputFileError, decode_utf8, read_bounded
    from auditor.remediation.changes import MAX_PLAN_BYTES, parse_json_bounded
    from auditor.remediation.legacy_backup import LEGACY_VERSIONS, read_legacy

    try:
        text = decode_utf8(read_bounded(path, MAX_PLAN_BYTES, "backup"), str(path), "backup")
    except InputFileError:
        return None  # the current reader says why, in its words
    document = parse_json_bounded(text, str(path), "backup")
    if not isinstance(document, dict) or document.get("format") != BACKUP_FORMAT:
        return None
    version = document.get("format_version")
    if isinstance(version, bool) or version not in LEGACY_VERSIONS:
        return None
    from pydantic import ValidationError

    from auditor.remediation.changes import PlanError, json_position
    from auditor.remediation.seal import seal

    try:
        backup = Backup.model_validate(read_legacy(path, document, text))
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        line, column = json_position(text, [str(p) for p in first["loc"] if p != "endpoints"])
        raise PlanError(f"{path}:{line}:{column}: a format {version} backup this version cannot read; first at "
                        f"{'.'.join(str(p) for p in first['loc'])[:200]}: {first['msg'][:300]}: restore it with "
                        f"the sspr-audit that wrote it ({str(document.get('tool_version'))[:40]})") from None
    return seal(backup), text, int(version)


def identity_problem(obj: BackupObject, changes: list[Change]) -> str | None:
    """Why `obj` is not the object one of `changes` writes (key, writer, DN, path), or None."""
    change = next((c for c in changes if object_key(c) == obj.key), None)
    if change is None:
        return "no change of the apply writes this object"
    if obj.writer != change.writer:
        return f"it names writer {obj.writer!r}, the change uses {change.writer!r}"
    for state, data in (("before", obj.data), ("after", obj.after)):
        if data is None:
            continue
        for name, value in _identity(change).items():
            if name not in data:
                return f"its state {state} apply has no {name}"
            if same_object_name(data[name]) != same_object_name(value):
                return f"its state {state} apply names {name} {data[name]!r}, the change writes {value!r}"
    return _states_problem(obj, [c for c in changes if object_key(c) == obj.key])


def _states_problem(obj: BackupObject, mine: list[Any]) -> str | None:
    """The state before apply must hold every change's old value, the state after it every new one."""
    from auditor.remediation.writers import writer_class

    writer = writer_class(obj.writer)
    for change in mine:
        try:
            before = writer.state_of(change, obj.data).state
            after = writer.state_of(change, obj.after).state if obj.after is not None else "new"
        except Exception as exc:  # a shape the writer cannot read is not a backup it wrote
            return f"its data cannot be read as change {change.id} writes it ({type(exc).__name__})"
        if before != "old":
            return f"its state before apply does not hold the old value of change {change.id} ({change.summary})"
        if after != "new":
            return f"its state after apply does not hold the new value of change {change.id} ({change.summary})"
    return None


def _identity(change: Change) -> dict[str, str]:
    from auditor.remediation.writers import writer_class

    return writer_class(change.writer).identity(change)


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
    impact: list[ChangeImpact] = Field(default_factory=list, description="Who the changes bring in or leave out, "
                                                                         "judged on the state read by this apply")


class RestoreResult(Frozen):
    key: str
    target: str
    status: Literal["restored", "unchanged", "failed", "would_restore", "changed"]
    detail: str | None = None


class RollbackResult(Frozen):
    outcome: Literal["restored", "partial", "dry_run", "nothing_to_do", "failed"]
    message: str
    objects: list[RestoreResult]


# -- apply ----------------------------------------------------------------------------------

def apply(plan: Plan, targets: Targets, *, derived: Derivation, yes: bool = False,
          backup_path: Path | None = None, before_writes: Callable[[], None] | None = None) -> ApplyResult:
    """Apply `plan` (a dry run unless `yes`), writing only changes `derived` holds. See the module docstring.
    `before_writes` is called once every refusal has passed, before the backup and the first write."""
    from auditor.remediation.seal import check_seal

    problem = check_seal(plan, "plan")
    if problem:
        raise PlanError(f"{problem}: make a new plan")
    if not plan.changes:
        return ApplyResult(outcome="nothing_to_do", message="the plan has no changes", changes=[])
    with Session(targets, _make_writer) as session:
        return _apply(plan, session, derived=derived, yes=yes, backup_path=backup_path, before_writes=before_writes)


def _result(change: Change, status: ChangeStatus, detail: str | None = None) -> ChangeResult:
    return ChangeResult(id=change.id, kind=change.kind, target=change.target, summary=change.summary,
                        status=status, detail=detail)


def _apply(plan: Plan, session: Session[Writer], *, derived: Derivation, yes: bool,
           backup_path: Path | None, before_writes: Callable[[], None] | None) -> ApplyResult:
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
    results: dict[str, ChangeResult] = {}
    pending: list[tuple[Any, Any]] = []
    refused: list[tuple[Any, str]] = []
    stale: list[tuple[Any, str]] = []
    for change, seen in zip(plan.changes, observed, strict=True):
        if seen.state == "new":
            results[change.id] = _result(change, "already", seen.detail or None)
        elif seen.state == "other":
            results[change.id] = _result(change, "stale", seen.detail or None)
            stale.append((change, seen.detail))
        else:
            mine, why = derived.verdict(change)
            if mine is None:
                results[change.id] = _result(change, "not_derived", why)
                refused.append((change, why or ""))
            else:
                results[change.id] = _result(mine, "pending")
                pending.append((mine, seen))
    if refused:
        lines = "; ".join(f"change {c.id} ({c.target}): {why}" for c, why in refused)
        return ApplyResult(outcome="refused", changes=list(results.values()),
                           message=f"refused, nothing written: {len(refused)} change(s) in the plan file are not "
                                   f"what the policy asks for now ({lines}). Make a new plan with `sspr-audit plan`.")
    if stale:
        lines = "; ".join(f"change {c.id} ({c.target}): {detail}" for c, detail in stale)
        return ApplyResult(outcome="refused", changes=list(results.values()),
                           message=f"the plan is stale, nothing written: {len(stale)} target(s) no longer hold "
                                   f"the value the plan was made from ({lines}). Make a new plan.")
    if not pending:
        return ApplyResult(outcome="nothing_to_do", changes=list(results.values()),
                           message=f"nothing to do: all {len(plan.changes)} change(s) are already in place")
    if not yes:
        return ApplyResult(outcome="dry_run", changes=list(results.values()),
                           message=f"dry run: {len(pending)} change(s) would be applied "
                                   f"({len(plan.changes) - len(pending)} already in place); run again with --yes")
    if before_writes is not None:
        before_writes()
    objects: dict[str, BackupObject] = {}
    for change, seen in pending:
        key = object_key(change)
        if key not in objects:
            objects[key] = BackupObject(key=key, writer=change.writer, target=change.target, data=seen.backup)
    path = backup_path or default_backup_path(None)
    backup = Backup(plan_digest=plan.digest, source=plan.source, changes=[c for c, _ in pending],
                    objects=list(objects.values()))
    save_backup(backup, path, create=True)
    log.info("backup of %d object(s) written to %s", len(objects), path)

    journal: list[JournalEntry] = []

    def record(entry: JournalEntry) -> None:
        """Add `entry` to the journal, durably (the backup rewritten whole, fsync'd, renamed) before going on."""
        nonlocal backup
        journal.append(entry)
        backup = backup.model_copy(update={"journal": list(journal)})
        save_backup(backup, path)

    boundary("the backup is written, before the first change")
    for position, (change, _) in enumerate(pending):
        writer = session.writer(change.writer)
        key = object_key(change)
        intended = False
        try:
            now = writer.observe(change)
            if now.state == "new":
                results[change.id] = _result(change, "already", "already in place when its turn came")
                continue
            if now.state != "old":
                raise _Stop(f"the target changed during apply: {now.detail}")
            boundary(f"change {change.id}: read, before its intent is recorded")
            # write-ahead: what this write is about to do is on disk before the write starts
            record(JournalEntry(event="intent", change=change.id, key=key, prior=now.backup,
                                expect=writer.expected(change, now.backup)))
            intended = True
            boundary(f"change {change.id}: intent recorded, before the write")
            log.info("applying change %s to %s", change.id, change.target)
            writer.write(change)
            boundary(f"change {change.id}: written, before the read-back")
            after = writer.observe(change)
            if after.state != "new":
                raise _Stop(f"read back after writing does not show the new value: {after.detail}")
            boundary(f"change {change.id}: read back, before its result is recorded")
            record(JournalEntry(event="result", change=change.id, key=key, ok=True, after=after.backup))
        except Exception as exc:
            detail = _describe(exc)
            if intended:
                _record_failure(record, JournalEntry(event="result", change=change.id, key=key, ok=False,
                                                     detail=detail[:1000]))
            results[change.id] = _result(change, "failed", detail)
            for later, _ in pending[position + 1:]:
                results[later.id] = _result(later, "not_attempted")
            return ApplyResult(outcome="failed", changes=list(results.values()), backup_path=str(path),
                               failed_change=change.id,
                               message=f"change {change.id} failed ({change.target}): {detail.rstrip('.')}. Stopped; "
                                       f"the backup is {path}: undo with `sspr-audit rollback {path}`")
        results[change.id] = _result(change, "applied")
    boundary("every change applied and recorded")
    applied = sum(1 for r in results.values() if r.status == "applied")
    return ApplyResult(outcome="applied", changes=list(results.values()), backup_path=str(path),
                       message=f"applied {applied} change(s), each verified by reading it back; backup: {path}")


class _Stop(Exception):
    """A reason to stop applying that is not an exception from a client."""


def _record_failure(record: Any, entry: JournalEntry) -> None:
    """Journal a failed write; when even that fails (the disk that failed the write may fail this too), the
    intent alone already tells rollback the write may have happened."""
    try:
        record(entry)
    except Exception:
        log.warning("could not journal the failure of change %s", entry.change, exc_info=True)


def _describe(exc: BaseException) -> str:
    if isinstance(exc, _Stop | ApplyError):
        return str(exc)
    from auditor.remediation.writers.base import describe_error

    return describe_error(exc)


# -- rollback -------------------------------------------------------------------------------

def rollback(backup: Backup, targets: Targets, *, yes: bool = False, force: bool = False) -> RollbackResult:
    """Restore what the apply wrote, newest first, where the object still holds what apply left there."""
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
                changed = _changed_since_apply(obj, writer, backup)
                if changed and not force:
                    results.append(RestoreResult(key=obj.key, target=obj.target, status="changed",
                                                 detail=f"changed since apply ({changed}): left as it is; "
                                                        "--force restores it anyway"))
                    continue
                if not yes:
                    results.append(RestoreResult(key=obj.key, target=obj.target, status="would_restore",
                                                 detail="differs from the backup" +
                                                        (f"; over a later change ({changed})" if changed else "")))
                    continue
                log.info("restoring %s", obj.target)
                writer.restore(obj)
                if not writer.matches(obj):
                    raise _Stop("read back after restoring does not match the backup")
                results.append(RestoreResult(key=obj.key, target=obj.target, status="restored",
                                             detail=f"over a later change ({changed})" if changed else None))
            except Exception as exc:
                results.append(RestoreResult(key=obj.key, target=obj.target, status="failed", detail=_describe(exc)))
                return RollbackResult(outcome="failed", objects=results,
                                      message=f"restoring {obj.target} failed: {_describe(exc)}; stopped")
    kept = sum(1 for r in results if r.status == "changed")
    kept_note = (f"; {kept} object(s) changed since apply were left as they are (see above; --force restores "
                 "them)") if kept else ""
    if not yes:
        todo = sum(1 for r in results if r.status == "would_restore")
        return RollbackResult(outcome="dry_run", objects=results,
                              message=f"dry run: {todo} object(s) would be restored{kept_note}; run again with --yes")
    restored = sum(1 for r in results if r.status == "restored")
    return RollbackResult(outcome="partial" if kept else "restored", objects=results,
                          message=f"restored {restored} object(s) from the backup, each checked by reading it "
                                  f"back{kept_note}")


def _changed_since_apply(obj: BackupObject, writer: Writer, backup: Backup) -> str | None:
    """What differs between the live object and the state apply left (None when it still holds that state).

    An object whose last write did not finish (killed, failed) may hold its state before that write
    or the one the write was to make (`left`, from the journal); where the writer cannot predict the
    latter exactly, an object that holds the unfinished change's new value counts as apply's doing.
    An object of a version 2 backup begun but never read back (`after` None, no `left`) is not
    "changed since": restoring it is what the failed apply's rollback is for.
    """
    if obj.after is None and not obj.left:
        return None
    candidates = [obj.after] if obj.after is not None else obj.left
    if any(writer.matches(obj.model_copy(update={"data": state})) for state in candidates):
        return None
    live_of = next(c for c in backup.changes if object_key(c) == obj.key)
    live = writer.read(live_of)
    if obj.after is None and obj.unfinished is not None:
        change = next(c for c in backup.changes if c.id == obj.unfinished)
        if writer.state_of(change, live).state == "new" and writer.expected(change, obj.left[0]) is None:
            return None
    return _difference(candidates[-1], live)


def _difference(after: dict[str, Any], now: dict[str, Any]) -> str:
    names: list[str] = []
    for key in sorted(set(after) | set(now)):
        left, right = after.get(key), now.get(key)
        if isinstance(left, dict) and isinstance(right, dict):
            names.extend(f"{key}.{k}" for k in sorted(set(left) | set(right))
                         if left.get(k) != right.get(k) and not str(k).endswith("DateTime"))
        elif left != right:
            names.append(key)
    from auditor.text import one_line

    shown = ", ".join(one_line(n) for n in names[:8]) + (f" and {len(names) - 8} more" if len(names) > 8 else "")
    return f"differs in {shown}" if names else "differs"


def result_json(result: ApplyResult | RollbackResult) -> str:
    return json.dumps(result.model_dump(mode="json"), indent=2)


def _make_writer(name: str, session: Session[Writer]) -> Writer:
    from auditor.remediation.writers import make_writer

    return make_writer(name, session)
