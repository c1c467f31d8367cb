"""Find every check module and run them over a policy and a snapshot."""

from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass
from datetime import date
from functools import cache
from types import ModuleType

import auditor.checks as checks_package
from auditor.checks.base import CheckSpec, Context, Evaluate, Finding, Status, Unreadable, apply_waivers
from auditor.fixes.fixer import Fixer
from auditor.policy.models import Policy
from auditor.snapshot.models import Snapshot

_NOT_CHECKS = {"base", "registry", "exit_codes", "frameworks", "scope_views"}


@dataclass(frozen=True)
class Check:
    spec: CheckSpec
    evaluate: Evaluate
    module: str
    fixer: Fixer | None = None
    """The module's `FIXER`, when a plan can fix the check's failures (`auditor.fixes.fixer`)."""


@cache
def all_checks() -> tuple[Check, ...]:
    found = []
    prefix = checks_package.__name__ + "."
    for info in pkgutil.walk_packages(checks_package.__path__, prefix):
        if info.name.rsplit(".", 1)[-1] in _NOT_CHECKS:
            continue
        module = importlib.import_module(info.name)
        if info.ispkg and getattr(module, "SPEC", None) is None:  # a package is a check only when it has a SPEC
            continue
        found.append(_as_check(module, info.name.removeprefix(prefix)))
    return tuple(sorted(found, key=lambda c: c.spec.id))


def check_by_id(check_id: str) -> Check:
    """The check with id `check_id` (KeyError when there is none)."""
    found = next((c for c in all_checks() if c.spec.id == check_id), None)
    if found is None:
        raise KeyError(check_id)
    return found


def _as_check(module: ModuleType, dotted: str) -> Check:
    spec = getattr(module, "SPEC", None)
    evaluate = getattr(module, "evaluate", None)
    if not isinstance(spec, CheckSpec) or not callable(evaluate):
        raise TypeError(f"check module {module.__name__} must define SPEC and evaluate()")
    if spec.id != dotted:
        raise TypeError(f"check id {spec.id!r} does not match its module path {dotted!r}")
    fixer = getattr(module, "FIXER", None)
    if fixer is not None and not isinstance(fixer, Fixer):
        raise TypeError(f"check module {module.__name__}: FIXER must be an auditor.fixes.fixer.Fixer")
    return Check(spec=spec, evaluate=evaluate, module=module.__name__, fixer=fixer)


def run_checks(policy: Policy, snapshot: Snapshot, today: date | None = None) -> list[Finding]:
    from auditor.derive.memo import run_memo

    findings: list[Finding] = []
    with run_memo():  # the checks share one run's derived figures (a caller's run, when it has one)
        for check in all_checks():
            findings.extend(run_check(check, policy, snapshot))
    return apply_waivers(findings, policy.waivers, today or date.today())


def run_check(check: Check, policy: Policy, snapshot: Snapshot) -> list[Finding]:
    from auditor.checks.frameworks import controls_of
    from auditor.derive.attribution import attribute

    out = []
    for finding in _evaluated(check, policy, snapshot):
        # since when, from where: the last change behind a failure (replication metadata, the SSPR audit log)
        finding = attribute(finding, check.spec.changed_attributes, check.spec.audit_log, snapshot)
        controls = controls_of(finding)
        out.append(finding.model_copy(update={"controls": controls}) if controls else finding)
    return out


def _evaluated(check: Check, policy: Policy, snapshot: Snapshot) -> list[Finding]:
    ctx = Context(spec=check.spec, policy=policy, snapshot=snapshot)
    top = check.spec.policy_key.split(".", 1)[0]
    if getattr(policy, top, None) is None:
        return [ctx.result(Status.not_applicable, reason=f"the policy has no `{top}` section", key=top)]
    try:
        return check.evaluate(ctx)
    except Unreadable as exc:
        return [ctx.result(Status.unknown, reason=exc.reason, evidence=exc.evidence)]
