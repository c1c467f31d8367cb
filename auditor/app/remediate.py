"""Apply and rollback as use cases: load the policy the plan names, re-derive, lock the target, write.

`apply_plan` is the only way the CLI writes a plan. It refuses before reading anything when the
plan's policy file is missing or changed since the plan was made (its sha256), or when the plan
would be written somewhere other than where its live state was read (`allow_other_target` lifts
that, for a reviewed plan moved to a twin tenant). Then, under a lock per endpoint, it reads the
live state from the targets, derives the changes the planner makes now, and hands both to
`remediation.apply.apply`, which writes only changes that are exactly among those.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from auditor.app.audit import coverage_options, findings_of

if TYPE_CHECKING:
    from auditor.endpoints import Endpoints
    from auditor.policy.models import Policy
    from auditor.remediation.apply import ApplyResult, Backup, RollbackResult
    from auditor.remediation.changes import Plan, PlanSource
    from auditor.remediation.derivation import Derivation
    from auditor.remediation.session import Targets
    from auditor.snapshot.models import Snapshot

log = logging.getLogger(__name__)
LOCK_DIR_VARIABLE = "SSPR_LOCK_DIR"


class RefusedError(Exception):
    """Apply or rollback will not run (policy changed, another run holds the target, other target, unsafe lock
    folder): exit 6."""


# -- the policy the plan was made from --------------------------------------------------------

def plan_policy(plan: Plan, override: Path | None = None) -> Policy:
    """The policy file the plan names (or `override`), refused unless its bytes are the ones planned from."""
    from auditor.policy.loader import load_policy

    if override is None and not plan.policy_path:
        raise RefusedError("the plan names no policy file (it was made from a policy in memory): apply re-derives "
                           "every change from the policy, so make the plan with `sspr-audit plan POLICY`")
    path = override or Path(plan.policy_path or "")
    policy = load_policy(path)
    if plan.policy_sha256 is None or policy.source_sha256 != plan.policy_sha256:
        now, then = (policy.source_sha256 or "?")[:16], (plan.policy_sha256 or "?")[:16]
        raise RefusedError(f"{path} is not the policy the plan was made from (its sha256 is {now}…, the plan "
                           f"names {then}…): make a new plan from the policy as it is now")
    return policy


# -- where the plan goes -----------------------------------------------------------------------

def write_endpoints(source: PlanSource, **overrides: object) -> Endpoints:
    """Where apply or rollback writes: the endpoints the plan (or backup) recorded, each option given winning.
    The recorded lab is gone with its run: only a `lab` given now (a fresh in-process lab) is written to."""
    return source.endpoints.model_copy(update={"lab": None}).with_overrides(**overrides)


def still_ephemeral(source: PlanSource, chosen: Endpoints) -> str | None:
    """The origin of the in-process lab the plan was read from, unless `chosen` names URLs of its own."""
    if not source.ephemeral or chosen.lab is not None:
        return None
    recorded = source.endpoints
    if chosen.graph_url != recorded.graph_url or chosen.portal_url != recorded.portal_url:
        return None
    return source.origin


def describe_targets(chosen: Endpoints, source: PlanSource | None = None, kept_in: str = "the lab folder") -> str:
    """One line naming every endpoint apply or rollback will write to (shown in the dry run too); for the lab,
    where it is kept (`kept_in`: lab_workspace.kept_place)."""
    from auditor.text import one_line

    if chosen.lab is not None:
        scenario = one_line(chosen.lab.scenario)
        if source is None or source.origin != f"lab:{chosen.lab.scenario}":
            return f"a fresh in-process lab emulator (scenario {scenario})"
        domain = f" and its domain on {source.lab_domain.address}" if source.lab_domain is not None else ""
        return f"the lab tenant (scenario {scenario}){domain}, kept for this plan in {kept_in}"
    return one_line(chosen.describe())


def _compared(endpoints: Endpoints) -> dict[str, str | None]:
    ad = endpoints.ad
    return {"graph url": endpoints.graph_url, "portal url": endpoints.portal_url, "tenant id": endpoints.tenant_id,
            "ad host": ad.host if ad else None, "smb host": ad.smb_host if ad else None}


def other_target(plan: Plan, chosen: Endpoints) -> str | None:
    """Where writing to `chosen` writes, with where the plan's live state was read, when the two differ (None
    when they do not): it completes "the plan would be written to …"."""
    origin = plan.source.origin
    if chosen.lab is not None:
        wanted = f"lab:{chosen.lab.scenario}"
        return None if origin == wanted else f"{wanted} (the plan was made from {origin})"
    differences = []
    if origin.startswith("graph:") and chosen.graph_url and origin[len("graph:"):] != chosen.graph_url:
        differences.append(f"Graph {chosen.graph_url} (the state was read from {origin[len('graph:'):]})")
    if origin.startswith("live:") and chosen.tenant_id and origin[len("live:"):] not in ("tenant", chosen.tenant_id):
        differences.append(f"tenant {chosen.tenant_id} (the state was read from {origin[len('live:'):]})")
    then_all, now_all = _compared(plan.source.endpoints), _compared(chosen)
    for name, then in then_all.items():
        now = now_all[name]
        if then and now and then != now:
            differences.append(f"{name} {now} (the plan read {then})")
    return "; ".join(differences) or None


# -- one apply at a time per target ------------------------------------------------------------

def lock_dir() -> Path:
    """This user's lock folder, created 0700 and checked (a real folder, this user's, writable by no one else).

    $SSPR_LOCK_DIR when set; else $XDG_RUNTIME_DIR/sspr-auditor/locks (the per-user runtime folder, "owned by the
    user, and only he has access", https://specifications.freedesktop.org/basedir-spec/latest/); else the XDG
    state home's sspr-auditor/locks. Never a shared folder such as /tmp, where another user could create the
    folder first (and block every apply) or plant a link in it.
    """
    from auditor.files import UnsafeFolder, private_folder, xdg_home

    hint = "another user or program made it; remove it, or set SSPR_LOCK_DIR to a private folder"
    try:
        chosen = os.environ.get(LOCK_DIR_VARIABLE)
        if chosen:
            return private_folder(chosen, what="the lock folder ($SSPR_LOCK_DIR)", hint=hint)
        runtime = os.environ.get("XDG_RUNTIME_DIR", "")
        base = Path(runtime) if runtime and Path(runtime).is_absolute() else xdg_home("XDG_STATE_HOME",
                                                                                      ".local/state")
        home = private_folder(base / "sspr-auditor", what="the tool's folder", hint=hint)
        return private_folder(home / "locks", what="the lock folder", hint=hint)
    except UnsafeFolder as exc:
        raise RefusedError(str(exc)) from None
    except OSError as exc:
        raise RefusedError(f"cannot make the lock folder: {exc.strerror or exc} ({exc.filename})") from None


def endpoints_of(targets: Targets, lab_scenario: str | None = None) -> list[str]:
    names = [f"graph {targets.graph_url}" if targets.graph_url else None,
             f"portal {targets.portal_url}" if targets.portal_url else None,
             f"ldap {targets.ad.host}" if targets.ad is not None else None]
    return sorted(n for n in names if n)


@contextmanager
def target_lock(endpoints: list[str]) -> Iterator[None]:
    """Hold one lock file per endpoint (sorted, so two runs never wait on each other crosswise)."""
    from filelock import FileLock, Timeout

    held = []
    try:
        for endpoint in endpoints:
            name = hashlib.sha256(endpoint.encode("utf-8")).hexdigest()[:24] + ".lock"
            # filelock opens the file with O_NOFOLLOW (filelock/_unix.py): a link planted in its place is refused
            lock = FileLock(str(lock_dir() / name), timeout=0, mode=0o600)
            try:
                lock.acquire()
            except Timeout:
                raise RefusedError(f"another apply or rollback is writing to {endpoint} (lock "
                                   f"{lock.lock_file}): wait for it to finish, then run again") from None
            except OSError as exc:  # ELOOP: the lock file is a symlink; EACCES: another user's file
                raise RefusedError(f"cannot take the lock {lock.lock_file} for {endpoint}: "
                                   f"{exc.strerror or exc} (remove it if no apply is running)") from None
            held.append(lock)
        yield
    finally:
        for lock in reversed(held):
            lock.release()


# -- re-derivation -----------------------------------------------------------------------------

def read_targets(targets: Targets, policy: Policy, origin: str) -> Snapshot:
    """The live state of the targets apply writes to, read as `check` reads it."""
    from auditor import __version__
    from auditor.snapshot.models import Snapshot

    snapshot: Snapshot
    if targets.graph_url and targets.graph_credential is not None:
        from auditor.readers.collect import CollectOptions, collect

        portal_url = targets.portal_url if targets.portal_credential is not None else None
        reached = replace(targets, origin=origin,
                          endpoints=targets.endpoints.model_copy(update={"portal_url": portal_url}))
        snapshot = collect(CollectOptions(reached=reached, **coverage_options(policy).collect_options()))
    else:
        snapshot = Snapshot(tool_version=__version__, origin=origin)
    if policy.directory is not None and targets.ad is not None:
        from auditor.readers.onpremises import read_on_premises

        snapshot = snapshot.model_copy(update=read_on_premises(targets.ad, policy.directory)._asdict())
    return snapshot


def derive(plan: Plan, targets: Targets, policy: Policy, allow_other_tenant: bool = False,
           prove: Callable[[Snapshot], None] | None = None) -> Derivation:
    """The changes the planner makes now, from `policy` and the live state of `targets`; `prove` raises a
    RefusedError when the state read is not the plan's (a lab domain re-created for it: lab_workspace)."""
    from auditor.remediation.derivation import Derivation
    from auditor.remediation.planner import make_plan

    snapshot = read_targets(targets, policy, plan.source.origin)
    if prove is not None:
        prove(snapshot)
    if not allow_other_tenant:
        refuse_other_tenant(plan, targets, snapshot)
    findings = findings_of(policy, snapshot)
    now = make_plan(policy, snapshot, findings, source=plan.source)
    return Derivation.of(list(now.changes), policy, snapshot,
                         basis=f"{policy.source_file}, read at {snapshot.created_at:%Y-%m-%d %H:%M:%S}Z",
                         impact=list(now.impact))


def refuse_other_tenant(plan: Plan, targets: Targets, snapshot: Snapshot) -> None:
    """A plan read from one tenant (as Graph reported it) is not written to another, even when the command line
    names no tenant on either side (`--auth azure-cli` signed in elsewhere): a RefusedError before any write."""
    from auditor.text import one_line

    planned = plan.source.read_tenant_id
    if not planned or not targets.graph_url or targets.graph_credential is None:
        return  # a plan of an older version, or an apply that writes to AD only
    if not snapshot.tenant_id:
        sync = snapshot.sync_features
        why = sync.error if sync is not None and sync.error else "it did not name one"
        raise RefusedError(f"the plan was read from tenant {one_line(planned)}, and the tenant this apply reaches "
                           f"could not be confirmed (GET /directory/onPremisesSynchronization: {one_line(why)})")
    if snapshot.tenant_id.casefold() != planned.casefold():
        raise RefusedError(f"the plan was read from tenant {one_line(planned)}, but these credentials reach tenant "
                           f"{one_line(snapshot.tenant_id)}: give --other-target if a reviewed plan is meant for "
                           "that tenant")


def backup_elsewhere(backup: Backup, chosen: Endpoints) -> str | None:
    """Why restoring `backup` to `chosen` would write somewhere else than the apply that made it (None when not):
    a backup holds one target's old values, which would overwrite another's."""
    recorded = backup.source
    if chosen.lab is not None:
        wanted = f"lab:{chosen.lab.scenario}"
        return None if recorded.origin == wanted else f"{wanted} (the backup is of {recorded.origin})"
    differences = []
    then_all, now_all = _compared(recorded.endpoints), _compared(chosen)
    for name, then in then_all.items():
        now = now_all[name]
        if then and now and then != now:
            differences.append(f"{name} {now} (the backup is of {then})")
    return "; ".join(differences) or None


def apply_plan(plan: Plan, targets: Targets, *, policy: Policy, yes: bool, backup_path: Path | None,
               endpoints: list[str], allow_other_tenant: bool = False,
               prove: Callable[[Snapshot], None] | None = None,
               writing: Callable[[], None] | None = None) -> ApplyResult:
    """`writing` is told once apply has passed every refusal, before its backup and first write."""
    from auditor.remediation.apply import apply

    with target_lock(endpoints):
        derived = derive(plan, targets, policy, allow_other_tenant, prove)
        result = apply(plan, targets, derived=derived, yes=yes, backup_path=backup_path, before_writes=writing)
    # judged on what this apply read, never taken from the plan file: an edited file cannot hide who is affected
    return result.model_copy(update={"impact": derived.impact})


def rollback_backup(backup: Backup, targets: Targets, *, yes: bool, force: bool,
                    endpoints: list[str]) -> RollbackResult:
    from auditor.remediation.apply import rollback

    with target_lock(endpoints):
        return rollback(backup, targets, yes=yes, force=force)
