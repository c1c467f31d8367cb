"""STYLE §4: every check is registered once, matches its module, is described, and has golden cases."""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path

import pytest

from auditor.checks.base import Finding, Severity, Status
from auditor.checks.registry import all_checks, run_check
from auditor.snapshot.models import Snapshot


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


BROKEN = "HTTP 403: Authorization_RequestDenied"
SECTION_PAIRS = [(check_id, name) for check_id in sorted(CHECKS) for name in CHECKS[check_id].spec.sections]


def _with_broken(snapshot: Snapshot, name: str) -> Snapshot:
    from auditor.snapshot.models import Section

    return snapshot.model_copy(update={name: Section.failed(f"test:{name}", BROKEN)})


def _names(finding: Finding, name: str) -> bool:
    """The finding says which input it could not use: the section's `(section)` evidence, or its source in the
    reason."""
    source = f"test:{name}"
    return source in (finding.reason or "") or any(e.source == source for e in finding.evidence)


def _same(a: Finding, b: Finding) -> bool:
    return (a.target, a.status, a.reason, a.expected, a.actual) == (b.target, b.status, b.reason, b.expected, b.actual)


def _show(findings: list[Finding]) -> list[tuple[str, str, str | None]]:
    return [(f.target, f.status.value, f.reason) for f in findings]


def section_alone_problems(check_id: str, name: str) -> list[str]:
    """What goes wrong when section `name` alone is unreadable, over every golden case of the check (empty: the
    pair holds). Required: every finding is `unknown` and names the section (a not-applicable finding that does
    not read it may stay). Optional: every finding is unchanged, or `unknown`, or keeps its verdict and names the
    section; none is lost, and a new verdict names the section."""
    check = CHECKS[check_id]
    problems = []
    for case_name, case in sorted(CASES[check_id].items()):
        policy, snapshot = case()
        before = run_check(check, policy, snapshot)
        after = run_check(check, policy, _with_broken(snapshot, name))
        where = f"{check_id} / {name} / case {case_name!r}"
        if not after:
            problems.append(f"{where}: no finding at all")
            continue
        if name in check.spec.required:
            for finding in after:
                if finding.status == Status.not_applicable and any(_same(finding, b) for b in before):
                    continue
                if finding.status != Status.unknown or not _names(finding, name):
                    problems.append(f"{where}: required section unreadable, yet {_show([finding])}")
            continue
        used: set[int] = set()
        for old in before:
            match = next((i for i, new in enumerate(after) if i not in used and new.target == old.target), None)
            if match is None:
                match = next((i for i, new in enumerate(after) if i not in used and new.status == Status.unknown
                              and _names(new, name) and all(new.target != b.target for b in before)), None)
            if match is None:
                problems.append(f"{where}: {_show([old])} is lost (after: {_show(after)})")
                continue
            used.add(match)
            new = after[match]
            if _same(new, old):
                continue
            if new.status == Status.unknown and _names(new, name):
                continue
            if new.status == old.status and _names(new, name):
                continue
            problems.append(f"{where}: {_show([old])} became {_show([new])}, which neither is unknown nor names "
                            "the unread section")
        for i, new in enumerate(after):
            if i not in used and not _names(new, name):
                problems.append(f"{where}: a new finding {_show([new])} does not name the unread section")
    return problems


@pytest.mark.parametrize(("check_id", "section"), SECTION_PAIRS)
def test_each_section_alone_unreadable_leaves_every_other_finding_unchanged(check_id: str, section: str) -> None:
    """Issue #30: break one section at a time. A required section makes every finding `unknown`; an optional one
    changes only the findings that use it, and those name it; no fail is lost under any single unreadable source."""
    problems = section_alone_problems(check_id, section)
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("check_id", sorted(CHECKS))
def test_optional_sections_say_what_their_absence_does(check_id: str) -> None:
    spec = CHECKS[check_id].spec
    assert spec.required or spec.optional, "a check reads something"
    for optional in spec.optional:
        assert optional.name in spec.sections and spec.without(optional.name) == optional.without
        assert len(optional.without) > 20, f"{optional.name}: say what the check does without it"


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
