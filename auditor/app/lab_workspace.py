"""`apply --lab` and `rollback --lab`: write to the lab tenant and domain a plan read, kept between runs.

A `--lab` run's emulator and Samba domain are gone when it ends, so a plan made with `--lab` records the lab
domain it read (`LabDomainRecord`: scenario, seed, address). Apply and rollback then work on a kept workspace,
`kept/<key>` in the lab folder (auditor/lab_domain/kept.py), `key` naming the plan by its digest:
- the emulated tenant as the last run left it (`tenant.json`; the scenario itself the first time);
- the lab domain, kept stopped between runs. The first apply re-creates it from the seeded template the plan's
  domain was cloned from, on the address it answered on, and proves it identical: the directory and SYSVOL
  fingerprints read now must be the plan's (`proven`), else apply is refused with nothing written.
Rollback uses the workspace of the backup's plan and never makes one: a fresh lab has nothing to restore.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING
from urllib.parse import urlparse

from auditor.app.remediate import RefusedError

if TYPE_CHECKING:
    from pathlib import Path

    from auditor.endpoints import Endpoints, LabSelection
    from auditor.policy.models import Policy
    from auditor.readers.reach import Reached
    from auditor.remediation.changes import LabDomainRecord, PlanSource
    from auditor.snapshot.models import Snapshot

DOMAIN_SECTIONS = ("directory", "sysvol")  # what the lab domain's fingerprints prove
TENANT_FILE = "tenant.json"


class WorkspaceRefused(RefusedError):
    """The kept lab cannot be used for this run (gone, held by another run, a re-created domain that differs)."""


@dataclass(frozen=True)
class LabTargets:
    """The lab opened for apply or rollback: where to write, and the fingerprints the state read must have."""

    reached: Reached
    proven: dict[str, str] = field(default_factory=dict)
    record: LabDomainRecord | None = None
    kept: bool = False
    folder: Path | None = None  # the kept workspace, when there is one

    def prove(self, snapshot: Snapshot) -> None:
        """A WorkspaceRefused unless the state read now holds the fingerprints in `proven`."""
        refuse_unproven(self.proven, snapshot, self.record)

    def writing(self) -> None:
        """An apply passed every refusal and is about to write: the kept workspace counts as applied."""
        if self.folder is not None:
            from auditor.lab_domain import kept

            kept.mark_written(self.folder)


def lab_domain_read(snapshot: Snapshot, lab: LabSelection | None) -> LabDomainRecord | None:
    """The lab domain a `--lab` read's directory section came from (None: no lab, or the domain was not read)."""
    from auditor.lab_domain.domain_seed import SCENARIOS, SEED_VERSION
    from auditor.remediation.changes import LabDomainRecord

    section = snapshot.directory
    if lab is None or lab.scenario not in SCENARIOS or section is None or not section.readable:
        return None
    host = urlparse(section.source).hostname or ""
    if not host.startswith("127."):
        return None
    return LabDomainRecord(scenario=lab.scenario, seed=SEED_VERSION, address=host)


def workspace_key(plan_digest: str) -> str:
    """The kept workspace's name: the plan's digest (a backup records it too), 24 hex digits of it."""
    hexpart = plan_digest.removeprefix("sha256:")
    if len(hexpart) < 24 or any(c not in "0123456789abcdef" for c in hexpart):
        raise WorkspaceRefused("the plan has no digest to name its kept lab by: make a new plan")
    return hexpart[:24]


def kept_place(plan_digest: str) -> str:
    """Where the lab kept for the plan of `plan_digest` is (or would be), for the user to find it."""
    from auditor.lab_domain import kept
    from auditor.lab_domain.samba import SambaError

    try:
        return str(kept.kept_folder(workspace_key(plan_digest)))
    except (WorkspaceRefused, SambaError, OSError):
        return "the lab folder"


@contextmanager
def open_lab_targets(lab: LabSelection, source: PlanSource, plan_digest: str, *, create: bool,
                     fingerprints: dict[str, str] | None = None, timeout: float = 30.0) -> Iterator[LabTargets]:
    """The lab to write for a plan (or backup) of `source`: its kept workspace when `lab` is the lab it read,
    else a fresh in-process lab (what a plan read from another scenario is written to, with --other-target)."""
    from auditor.app.audit import running_lab

    if source.origin != f"lab:{lab.scenario}":
        with running_lab(lab, timeout) as reached:
            yield LabTargets(reached)
        return
    from auditor.lab_domain import kept
    from auditor.lab_domain.samba import SambaError

    with ExitStack() as stack:
        try:
            folder = stack.enter_context(kept.kept_workspace(workspace_key(plan_digest), create=create))
            record = source.lab_domain
            domain = None if record is None else stack.enter_context(
                kept.kept_domain(folder, record.scenario, record.address, create=create))
        except SambaError as exc:
            raise WorkspaceRefused(str(exc)) from None
        reached = stack.enter_context(running_lab(lab, timeout, tenant_file=folder / TENANT_FILE))
        proven: dict[str, str] = {}
        if domain is not None:
            from auditor.lab_domain.domain_seed import reader_settings

            reached = replace(reached, ad=reader_settings(domain.dc))
            if domain.recreated:
                proven = {name: (fingerprints or {}).get(name, "") for name in DOMAIN_SECTIONS}
        yield LabTargets(reached, proven, record, kept=True, folder=folder)


def refuse_unproven(proven: dict[str, str], snapshot: Snapshot, record: LabDomainRecord | None) -> None:
    """A WorkspaceRefused unless every section in `proven` reads now with the fingerprint the plan recorded."""
    from auditor.snapshot.store import fingerprint

    differing = [name for name, wanted in proven.items() if fingerprint(getattr(snapshot, name, None)) != wanted]
    if not differing:
        return
    from auditor.lab_domain.domain_seed import SEED_VERSION

    seed = (f"; the plan's domain was seeded by lab seed {record.seed}, this version seeds {SEED_VERSION}"
            if record is not None and record.seed != SEED_VERSION else "")
    raise WorkspaceRefused(f"the lab domain the plan read is no longer kept, and the one re-created from the "
                           f"seeded template differs from it ({', '.join(differing)} fingerprint){seed}: make a "
                           "new plan with --lab")


@contextmanager
def write_targets(chosen: Endpoints, source: PlanSource, plan_digest: str, *, create: bool,
                  fingerprints: dict[str, str] | None = None) -> Iterator[LabTargets]:
    """Where apply (`create`: it may make the kept lab) or rollback writes: `chosen` opened for writing, or the
    lab as `open_lab_targets` opens it."""
    if chosen.lab is None:
        from auditor.app.audit import open_targets
        from auditor.app.remediate import still_ephemeral

        with open_targets(chosen, ephemeral_origin=still_ephemeral(source, chosen)) as reached:
            yield LabTargets(reached)
        return
    with open_lab_targets(chosen.lab, source, plan_digest, create=create, fingerprints=fingerprints,
                          timeout=chosen.timeout) as opened:
        yield opened


def kept_lab_snapshot(lab: LabSelection, plan_path: Path, policy: Policy, timeout: float = 30.0) -> Snapshot:
    """`check --lab SCENARIO --lab-after PLAN`: the lab tenant and domain kept for PLAN read as `check` reads, as
    `apply --lab` (or `rollback --lab`) left them: the loop's effect seen by the checks. Never makes a lab: without
    an apply there is nothing kept, and a fresh lab is what plain `--lab` reads."""
    from auditor.app.errors import SourceError
    from auditor.app.remediate import read_targets
    from auditor.remediation.changes import PlanError, load_plan

    try:
        plan = load_plan(plan_path)
    except PlanError as exc:
        raise SourceError(f"--lab-after {plan_path}: {exc}") from None
    origin = f"lab:{lab.scenario}"
    if plan.source.origin != origin:
        raise SourceError(f"--lab-after {plan_path}: the plan was made against {plan.source.origin}, not {origin}")
    from auditor.lab_domain import kept

    try:
        folder = kept.kept_folder(workspace_key(plan.digest))
        if not folder.is_dir() or not kept.was_written(folder):
            raise SourceError(f"--lab-after {plan_path}: the lab keeps no tenant or domain for this plan (never "
                              f"applied with --yes, or the lab folder was cleared): run `sspr-audit apply "
                              f"{plan_path} --lab {lab.scenario} --yes` first")
        with open_lab_targets(lab, plan.source, plan.digest, create=False, timeout=timeout) as opened:
            return read_targets(opened.reached, policy, origin)
    except WorkspaceRefused as exc:
        raise SourceError(f"--lab-after {plan_path}: {exc}") from None
