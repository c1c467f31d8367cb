"""STYLE §4: every check is registered once, matches its module, is described, and has golden cases."""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path

import pytest

from auditor.checks.base import Severity, Status
from auditor.checks.registry import all_checks, run_check


def _all_cases() -> dict[str, dict]:
    merged: dict[str, dict] = {}
    for info in pkgutil.iter_modules([str(Path(__file__).parent)]):
        if info.name.startswith("cases_"):
            module = importlib.import_module(f"{__package__ + '.' if __package__ else ''}{info.name}")
            for check_id, cases in module.CASES.items():
                assert check_id not in merged, f"{check_id} has cases in two files"
                merged[check_id] = cases
    return merged


CASES = _all_cases()
CHECKS = {check.spec.id: check for check in all_checks()}


def test_ids_are_unique_and_match_modules() -> None:
    ids = [c.spec.id for c in all_checks()]
    assert len(ids) == len(set(ids))
    for check in all_checks():
        assert check.module == f"auditor.checks.{check.spec.id}"


@pytest.mark.parametrize("check_id", sorted(CHECKS))
def test_check_is_described(check_id: str) -> None:
    spec = CHECKS[check_id].spec
    assert spec.title and spec.title[0].isupper()
    assert isinstance(spec.severity, Severity)
    assert spec.references and all(r.startswith("https://") for r in spec.references)
    assert spec.sections, "a check must name the snapshot sections it reads"
    assert spec.fix.portal


@pytest.mark.parametrize("check_id", sorted(CHECKS))
def test_check_has_passing_and_failing_cases(check_id: str) -> None:
    assert check_id in CASES, f"{check_id} has no golden cases (tests/unit/cases_*.py)"
    for expected in ("pass", "fail"):
        policy, snapshot = CASES[check_id][expected]()
        statuses = {f.status for f in run_check(CHECKS[check_id], policy, snapshot)}
        if expected == "pass":
            assert statuses == {Status.passed}, statuses
        else:
            assert Status.failed in statuses, statuses


@pytest.mark.parametrize("check_id", sorted(CHECKS))
def test_unreadable_sections_give_unknown_never_pass(check_id: str) -> None:
    from auditor.snapshot.models import Section

    policy, snapshot = CASES[check_id]["pass"]()
    broken = {name: Section.failed(f"test:{name}", "HTTP 403: Authorization_RequestDenied")
              for name in CHECKS[check_id].spec.sections}
    snapshot = snapshot.model_copy(update=broken)
    findings = run_check(CHECKS[check_id], policy, snapshot)
    assert findings
    assert all(f.status in (Status.unknown, Status.not_applicable) for f in findings), findings
    assert any("403" in (f.reason or "") for f in findings if f.status == Status.unknown)


@pytest.mark.parametrize("check_id", sorted(CHECKS))
@pytest.mark.parametrize("expected", ["pass", "fail"])
def test_a_check_reads_only_the_sections_it_declares(check_id: str, expected: str) -> None:
    """CheckSpec.sections is a contract, not decoration: with every undeclared section removed, the golden
    cases give the same findings. (Context.section also refuses an undeclared name at run time.)"""
    from auditor.snapshot.models import Snapshot

    policy, snapshot = CASES[check_id][expected]()
    declared = set(CHECKS[check_id].spec.sections)
    undeclared = {name: None for name, info in Snapshot.model_fields.items()
                  if name not in declared and "Section[" in str(info.annotation)}
    assert undeclared, "the snapshot has sections this check does not read"
    full = run_check(CHECKS[check_id], policy, snapshot)
    narrowed = run_check(CHECKS[check_id], policy, snapshot.model_copy(update=undeclared))
    assert [(f.target, f.status, f.reason) for f in narrowed] == [(f.target, f.status, f.reason) for f in full]
