"""Failing findings + policy + snapshot → a Plan of typed changes and manual steps. Pure: no I/O.

The planner knows no check. Each check that can be fixed declares its fixer in its own module (`FIXER`,
`auditor.fixes.fixer`); the planner runs the fixers (a fixer that reads another's changes runs after it),
orders the changes by kind (`order` of each change class), numbers them, and seals the plan.

Only `fail` findings are planned (a waived one is an accepted exception, an unknown one had no input to plan
from). Each change carries the old value the snapshot showed, so `apply` can refuse a stale plan. A failing
finding no fixer changes becomes a manual step with the finding's fix text and the reason no writer does it
(the check's `CheckSpec.manual`, or the fixer's own reason).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from auditor import __version__
from auditor.checks.base import Finding, Status
from auditor.checks.registry import Check, all_checks
from auditor.derive.memo import run_memo
from auditor.exit_codes import Exit
from auditor.fixes.fixer import DEFAULT_WHY, FixContext
from auditor.fixes.methods import offered, solve_methods  # noqa: F401  (the solver's tests import it from here)
from auditor.policy.models import Policy
from auditor.remediation.changes import FindingRef, ManualStep, Plan, PlanSource, Unplanned
from auditor.remediation.impact import impacts_of
from auditor.snapshot.models import Snapshot
from auditor.snapshot.store import fingerprint


def make_plan(policy: Policy, snapshot: Snapshot, findings: Iterable[Finding],
              source: PlanSource | None = None) -> Plan:
    """The plan that fixes every failing finding it can, and lists the others as manual steps."""
    findings = list(findings)
    with run_memo():  # the impact preview asks the figures the checks asked
        fx = propose(policy, snapshot, findings)
        source = source or PlanSource(origin=snapshot.origin)
        if snapshot.tenant_id and not source.read_tenant_id:  # bound to the tenant Graph said it read
            source = source.model_copy(update={"read_tenant_id": snapshot.tenant_id})
        return _plan(fx, findings, source)


def propose(policy: Policy, snapshot: Snapshot, findings: Iterable[Finding]) -> FixContext:
    """Every fixer's proposal for the failing findings, and a manual step for each failure none fixes."""
    fx = FixContext(policy, snapshot, findings)
    checks = {check.spec.id: check for check in all_checks()}
    for check in _fixers_in_order(checks):
        assert check.fixer is not None
        check.fixer.plan(fx, fx.failing_of(check.spec.id))
    for finding in fx.failing:
        spec = checks[finding.check].spec if finding.check in checks else None
        fx.manual_step(finding, spec.manual if spec is not None and spec.manual else DEFAULT_WHY)
    return fx


def _fixers_in_order(checks: dict[str, Check]) -> list[Check]:
    """The checks with a fixer, each after those its fixer names in `after` (else in check-id order)."""
    done: dict[str, Check] = {}

    def visit(check: Check, path: tuple[str, ...]) -> None:
        if check.spec.id in done:
            return
        if check.spec.id in path:
            raise ValueError(f"fixers wait on each other: {' → '.join((*path, check.spec.id))}")
        assert check.fixer is not None
        for name in check.fixer.after:
            before = checks.get(name)
            if before is None or before.fixer is None:
                raise ValueError(f"{check.spec.id}'s fixer runs after {name!r}, which has no fixer")
            visit(before, (*path, check.spec.id))
        done[check.spec.id] = check

    for check in checks.values():
        if check.fixer is not None:
            visit(check, ())
    return list(done.values())


def _plan(fx: FixContext, findings: list[Finding], source: PlanSource) -> Plan:
    ordered = sorted(fx.drafts, key=lambda d: d.cls.order)
    changes = [d.cls(id=str(i), fixes=d.fixes, **d.fields) for i, d in enumerate(ordered, start=1)]
    manual = [ManualStep(finding=FindingRef.of(note.finding), title=note.finding.title,
                         severity=note.finding.severity.value, reason=note.finding.reason, why_manual=note.why,
                         how=dict(note.finding.fix)) for note in fx.manual]
    fingerprints = {name: fingerprint(section) for name, section in fx.snapshot if hasattr(section, "source")}
    unplanned = [Unplanned(finding=FindingRef.of(f), reason=f.reason or "its input could not be read")
                 for f in findings if f.status == Status.unknown]
    file = fx.policy.source_file
    return Plan(tool_version=__version__, policy_file=file or "(in memory)",
                policy_path=str(Path(file).resolve()) if file else None, policy_sha256=fx.policy.source_sha256,
                snapshot_created_at=fx.snapshot.created_at, source=source, fingerprints=fingerprints,
                changes=changes, manual=manual, unplanned=unplanned,
                impact=impacts_of(changes, fx.policy, fx.snapshot)).sealed()


def plan_exit_code(plan: Plan) -> Exit:
    """4 changes planned (manual steps may be listed too); 5 only manual steps; 3 nothing planned but some inputs
    could not be read; 0 nothing to change (auditor/exit_codes.py)."""
    if plan.changes:
        return Exit.changes
    if plan.manual:
        return Exit.manual
    if plan.unplanned:
        return Exit.incomplete
    return Exit.ok


def with_fixability(findings: list[Finding], plan: Plan) -> list[Finding]:
    """The findings with `fixable` set on each failure: True when a change of `plan` fixes it, False when manual."""
    return [f.model_copy(update={"fixable": plan.fixes(f)}) if f.status == Status.failed else f for f in findings]


def mark_fixable(policy: Policy, snapshot: Snapshot, findings: list[Finding]) -> list[Finding]:
    """The findings with `fixable` set on each failure, by asking the checks' fixers (no plan is built): True when
    a fixer proposes a change that fixes it, False when it would be a manual step."""
    fixed = propose(policy, snapshot, findings).fixed()
    return [f.model_copy(update={"fixable": FindingRef.of(f) in fixed}) if f.status == Status.failed else f
            for f in findings]
