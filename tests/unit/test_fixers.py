"""Fixers beside their checks (issue 31): the planner names no check, no code tests a change's class, `check`
asks the fixers without building a plan and gets the plan's answer, and each fixer's `after` names a fixer."""

from __future__ import annotations

import ast
import threading
from datetime import date
from pathlib import Path

import pytest

import auditor
from auditor.checks.base import Status
from auditor.checks.registry import all_checks, run_checks
from auditor.derive import memo
from auditor.fixes import changes as change_models
from auditor.remediation import planner
from tests.unit.cases_cloud import CASES

ROOT = Path(auditor.__file__).parent
CHANGE_CLASSES = {name for name, value in vars(change_models).items()
                  if isinstance(value, type) and name.endswith("Change") and not name.startswith("_")
                  and name != "SettingChange"}


def test_the_planner_names_no_check() -> None:
    source = (ROOT / "remediation" / "planner.py").read_text(encoding="utf-8")
    literals = {node.value for node in ast.walk(ast.parse(source))
                if isinstance(node, ast.Constant) and isinstance(node.value, str)}
    ids = {check.spec.id for check in all_checks()}
    prefixes = {check_id.split(".", 1)[0] for check_id in ids}
    assert literals & (ids | prefixes) == set()
    assert "auditor.checks." not in source.replace("auditor.checks.base", "").replace("auditor.checks.registry", "")


def _class_tests(tree: ast.AST) -> list[int]:
    """Lines where `isinstance(x, <a change class>)` or `case <a change class>()` tests a change's class."""
    def names(node: ast.AST) -> set[str]:
        return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)} | \
            {n.attr for n in ast.walk(node) if isinstance(n, ast.Attribute)}

    lines = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "isinstance" \
                and len(node.args) == 2 and names(node.args[1]) & CHANGE_CLASSES:
            lines.append(node.lineno)
        if isinstance(node, ast.MatchClass) and names(node.cls) & CHANGE_CLASSES:
            lines.append(node.lineno)
    return lines


def test_the_class_test_finder_sees_one() -> None:
    assert _class_tests(ast.parse("isinstance(change, LdapDaclChange | PortalSsprChange)")) == [1]
    assert _class_tests(ast.parse("match c:\n    case PortalSsprChange():\n        pass")) == [2]


def test_no_code_tests_a_changes_class() -> None:
    found = {str(path.relative_to(ROOT.parent)): lines for path in sorted(ROOT.rglob("*.py"))
             if (lines := _class_tests(ast.parse(path.read_text(encoding="utf-8"))))}
    assert found == {}


def test_every_change_kind_has_an_order_and_a_writer_entry() -> None:
    from auditor.remediation import impact, powershell, scope  # noqa: F401  (the tables below)
    from auditor.remediation.writers import graph, ldap, portal

    tables = {"portal": portal._OBJECTS, "graph": graph._OBJECTS, "ldap": ldap._OBJECTS}
    for name in CHANGE_CLASSES:
        cls = getattr(change_models, name)
        kind, writer = cls.model_fields["kind"].default, cls.model_fields["writer"].default
        assert isinstance(cls.order, int)
        assert kind in powershell._STEPS
        assert writer == "sysvol" or kind in tables[writer]
    orders = [getattr(change_models, name).order for name in CHANGE_CLASSES]
    assert len(set(orders)) == len(orders)


def test_every_after_names_a_fixer_and_the_order_holds() -> None:
    checks = {check.spec.id: check for check in all_checks()}
    ordered = [check.spec.id for check in planner._fixers_in_order(checks)]
    for check in checks.values():
        for name in check.fixer.after if check.fixer is not None else ():
            assert checks[name].fixer is not None
            assert ordered.index(name) < ordered.index(check.spec.id)


@pytest.mark.parametrize("check_id", sorted(CASES))
def test_check_marks_a_failure_fixable_as_the_plan_would_without_a_plan(
        check_id: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """`mark_fixable` (what `check` uses) agrees with the plan on every golden failing case, and never builds,
    seals or judges the impact of a plan."""
    for label, case in CASES[check_id].items():
        policy, snapshot = case()
        findings = run_checks(policy, snapshot, today=date(2025, 6, 1))
        expected = planner.with_fixability(findings, planner.make_plan(policy, snapshot, findings))
        with monkeypatch.context() as patched:
            def no_plan(*args: object, **kwargs: object) -> None:
                raise AssertionError("check built a plan")
            patched.setattr(planner, "_plan", no_plan)
            patched.setattr(planner, "impacts_of", no_plan)
            marked = planner.mark_fixable(policy, snapshot, findings)
        assert [f.fixable for f in marked] == [f.fixable for f in expected], label
        if label.startswith("fail"):
            assert any(f.fixable is not None for f in marked if f.status == Status.failed), label


def test_derived_figures_are_kept_for_one_run_and_never_shared_between_threads() -> None:
    calls: list[str] = []
    key = object()

    def compute() -> int:
        calls.append(threading.current_thread().name)
        return len(calls)

    assert memo.memo("x", (key,), compute) == 1 and memo.memo("x", (key,), compute) == 2  # no run: no memo
    with memo.run_memo():
        assert memo.memo("x", (key,), compute) == 3
        assert memo.memo("x", (key,), compute) == 3  # the same run: computed once
        seen: list[int] = []
        other = threading.Thread(target=lambda: seen.append(memo.memo("x", (key,), compute)), name="other")
        other.start()
        other.join()
        assert seen == [4]  # another thread is another run: it computes its own answer
    with memo.run_memo():
        assert memo.memo("x", (key,), compute) == 5  # the next run starts empty
