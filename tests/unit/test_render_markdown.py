"""The Markdown step summary: counts, failing and unknown findings, waivers, warnings, trend; tenant data inert."""

from __future__ import annotations

import re
from datetime import date

import pytest

from auditor.checks.base import Status, WaiverNote
from auditor.diff import diff_reports
from auditor.render import get_renderer
from auditor.render.markdown import escape
from tests.helpers.report_factory import SCRIPT_TAG, build_report, finding, hostile_report, realistic_report


def markdown(report) -> str:  # type: ignore[no-untyped-def]
    return get_renderer("markdown").render(report).decode("utf-8")


def table_rows(text: str, heading: str) -> list[list[str]]:
    """The cells of the table under `### heading…`, split on unescaped pipes."""
    section = text.split(f"### {heading}", 1)[1].split("\n### ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("|")][2:]
    return [[cell.strip() for cell in re.split(r"(?<!\\)\|", row)[1:-1]] for row in rows]


def test_counts_table_has_every_status() -> None:
    text = markdown(realistic_report())
    assert "| fail | unknown | waived | pass | n/a | total |" in text
    counts = realistic_report().summary.by_status
    expected = [counts["fail"], counts["unknown"], counts["waived"], counts["pass"], counts["not_applicable"]]
    assert "| " + " | ".join(str(n) for n in expected) + f" | {len(realistic_report().findings)} |" in text


def test_failing_findings_with_expected_actual_and_policy_line() -> None:
    rows = table_rows(markdown(realistic_report()), "Failing")
    gates = next(row for row in rows if row[1] == r"sspr\.gates")
    assert gates == ["high", r"sspr\.gates", "tenant", "2", "1", r"policies/baseline\.yaml&#58;7"]
    assert len(rows) == realistic_report().summary.by_status["fail"]


def test_unknown_findings_with_the_reason() -> None:
    (row,) = table_rows(markdown(realistic_report()), "Unknown")
    assert row[1] == r"admin\_sspr" and "403 Forbidden" in row[3]


def test_waivers_active_and_expired() -> None:
    text = markdown(realistic_report())
    rows = table_rows(text, "Waivers")
    states = {row[0]: row[2] for row in rows}
    assert states[r"writeback\.unlock"] == "waived until 2099-06-30"
    assert "**expired** 2024-12-31" in states[r"sspr\.notify\_admins"]
    failing = table_rows(text, "Failing")
    assert any("waiver expired 2024-12-31" in row[1] for row in failing)


def test_warnings_listed() -> None:
    text = markdown(build_report(warnings=["waivers[2] for `x.y` matches nothing: no check has this id"]))
    assert "### Warnings (1)" in text
    assert r"waivers\[2\] for \`x\.y\` matches nothing" in text


def test_compliant_report_has_no_problem_sections() -> None:
    text = markdown(build_report([finding("sspr.gates", Status.passed)]))
    assert "compliant" in text and "### Failing" not in text and "### Unknown" not in text


def test_since_last_run_section() -> None:
    old = build_report([finding("sspr.gates", Status.passed, actual=2), finding("sspr.scope", Status.failed)])
    new = build_report([finding("sspr.gates", Status.failed, actual=1), finding("sspr.scope", Status.passed)])
    report = new.model_copy(update={"trend": diff_reports(old, new, "last.json")})
    text = markdown(report)
    assert r"### Since last run: last\.json" in text
    assert "1 new failure(s), 1 fixed, 0 still failing" in text


@pytest.mark.parametrize("hostile", [
    "a | b", "`code`", "<img src=x onerror=alert(1)>", "[link](javascript:alert(1))", "**bold**", "@everyone",
    "line\nbreak", "\u202eevil", "$x^2$", "https://evil.example/path",
])
def test_escape_makes_text_inert(hostile: str) -> None:
    out = escape(hostile)
    assert "\n" not in out
    assert re.search(r"(?<!\\)[|`*\[\]()]", out) is None
    assert "<" not in out and ">" not in out
    assert "@" not in out and "\u202e" not in out
    assert "://" not in out


def test_hostile_report_does_not_break_tables() -> None:
    report = hostile_report()
    text = markdown(report)
    assert SCRIPT_TAG not in text and "<img" not in text
    for row in table_rows(text, "Failing"):
        assert len(row) == 6


def test_long_values_are_clipped() -> None:
    text = markdown(build_report([finding("sspr.gates", Status.failed, actual="A" * 5000)]))
    assert "A" * 400 not in text and "…" in text


def test_waiver_owner_with_markdown_is_escaped() -> None:
    note = WaiverNote(reason="r", owner="[x](http://e.example)", ticket="|t|", expires=date(2099, 1, 1),
                      expired=False)
    text = markdown(build_report([finding("sspr.gates", Status.waived, waiver=note)]))
    (row,) = table_rows(text, "Waivers")
    assert len(row) == 6 and row[3].startswith(r"\[x\]")
