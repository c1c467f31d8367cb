"""The Markdown step summary: counts, failing and unknown findings, waivers, warnings, trend; tenant data inert."""

from __future__ import annotations

import re
from datetime import date

import pytest

from auditor.checks.base import Status, WaiverNote
from auditor.diff import diff_reports
from auditor.render import get_renderer
from auditor.render.markdown import escape
from tests.helpers.onprem_factory import HOSTILE_NAME, HOSTILE_OU
from tests.helpers.report_factory import (
    RIGHT_TO_LEFT_OVERRIDE,
    SCRIPT_TAG,
    build_report,
    finding,
    hostile_report,
    realistic_report,
)
from tests.helpers.section_report import line_of_key, sectioned_report
from tests.unit.cases_ad import BASELINE, SALES, STAFF


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


def test_failing_findings_with_their_reason_in_four_columns() -> None:
    rows = table_rows(markdown(realistic_report()), "Failing")
    gates = next(row for row in rows if row[1] == r"sspr\.gates")
    assert gates == ["high", r"sspr\.gates", "tenant", "the number of methods required is 1, the policy asks for 2"]
    assert len(rows) == realistic_report().summary.by_status["fail"]


def test_expected_actual_and_policy_line_are_folded_below_in_words() -> None:
    text = markdown(realistic_report())
    folded = text.split("### Failing", 1)[1].split("<details><summary>Expected and actual values", 1)[1]
    folded = folded.split("</details>", 1)[0]
    assert (r"- sspr\.scope · tenant: the policy asks scope selected; group SSPR\-Pilot; the tenant has scope all; "
            r"group none; policy line policies/baseline\.yaml:4") in folded


def test_a_failure_without_a_reason_says_the_values_in_words() -> None:
    item = finding("sspr.methods", Status.failed, expected={"email": True}, actual={"email": False, "sms": [1, 2]})
    (row,) = table_rows(markdown(build_report([item])), "Failing")
    assert row[3] == "the policy asks email on; the tenant has email off; sms \\(1, 2\\)"


def test_no_raw_json_and_no_escaped_colon_outside_a_link_scheme() -> None:
    text = markdown(realistic_report())
    assert '{"' not in text and '\\{"' not in text and '["' not in text
    assert "&#58;" not in text.replace("https&#58;//", "")
    assert "lab:demo" in text


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
        assert len(row) == 4


def test_long_values_are_clipped() -> None:
    text = markdown(build_report([finding("sspr.gates", Status.failed, actual="A" * 5000)]))
    assert "A" * 400 not in text and "…" in text


def test_waiver_owner_with_markdown_is_escaped() -> None:
    note = WaiverNote(reason="r", owner="[x](http://e.example)", ticket="|t|", expires=date(2099, 1, 1),
                      expired=False)
    text = markdown(build_report([finding("sspr.gates", Status.waived, waiver=note)]))
    (row,) = table_rows(text, "Waivers")
    assert len(row) == 6 and row[3].startswith(r"\[x\]")


# ---- the sections the HTML page draws ------------------------------------------------------------


def part_rows(text: str, section: str, part: str) -> list[list[str]]:
    """The cells of the table under `#### part` inside `### section`."""
    body = text.split(f"### {section}", 1)[1].split("\n### ", 1)[0]
    table = body.split(f"#### {part}\n", 1)[1].split("\n#### ", 1)[0].split("\n<details>", 1)[0]
    rows = [line for line in table.splitlines() if line.startswith("|")][2:]
    return [[cell.strip() for cell in re.split(r"(?<!\\)\|", row)[1:-1]] for row in rows]


def unescaped(cell: str) -> str:
    return re.sub(r"\\(.)", r"\1", cell).replace("&#58;", ":")


def test_each_section_says_its_policy_line_and_summary() -> None:
    text = markdown(sectioned_report())
    coverage = text.split("### Coverage: who can actually reset", 1)[1].split("\n### ", 1)[0]
    coverage_line = escape(f"{BASELINE}:{line_of_key('coverage')}")
    assert f"Policy key `coverage`: {coverage_line}\n" in coverage
    assert coverage.lstrip().startswith("Coverage: 10 user\\(s\\) in scope")
    onprem = text.split("### On-premises Active Directory", 1)[1]
    directory_line = escape(f"{BASELINE}:{line_of_key('directory')}")
    assert f"Policy key `directory`: {directory_line}\n" in onprem


def test_coverage_tables_carry_scope_registration_licences_score_and_activity() -> None:
    text = markdown(sectioned_report())
    section = "Coverage: who can actually reset"
    figures = {row[0]: unescaped(row[1]) for row in part_rows(text, section, "Users in scope, registered and licensed")}
    assert figures["enabled members"] == "10" and figures["in scope"] == "10" and figures["guests"] == "1"
    assert figures["registered"] == "10 = 100.0% of in scope (meets the policy minimum 90%)"
    assert figures["licence seats"] == "10 used of 25"
    score = {row[0]: unescaped(row[1]) for row in part_rows(text, section, r"Secure Score: SSPR control")}
    assert score["score"] == "1 of 1 (100.0%)" and score["projected"].startswith("1 (+0), an estimate")
    activity = {row[0]: unescaped(row[1]) for row in part_rows(text, section, "SSPR activity, last 30 days")}
    assert (activity["resets"], activity["resets failed"], activity["unlocks"]) == ("2", "1", "1")
    assert "<details><summary>SSPR activity per day (31 days)</summary>" in text
    assert "| 2025\\-01\\-02 | 2 | 1 | 1 | 0 | 0 |" in text


def test_on_premises_tables_carry_rights_per_ou_users_password_age_and_gpos() -> None:
    text = markdown(sectioned_report())
    section = "On-premises Active Directory"
    rights = {unescaped(row[0]): row for row in part_rows(text, section, "Writeback rights per target OU")}
    assert set(rights) == {STAFF, SALES}
    assert [unescaped(cell) for cell in rights[SALES][1:7]] == [
        "2", "Present", "Present", "Present", "Missing (no ACE grants it)", "Fail"]
    users = {unescaped(row[0]): row for row in part_rows(text, section,
                                                          r"In\-scope users who cannot reset through writeback")}
    assert unescaped(users["ad.users.contact"][3]) == "2 users (1 waived)"
    assert unescaped(users["ad.acl.coverage"][4]) == "Nora Quinn, adam.admin"
    ages = {unescaped(row[0]): row for row in part_rows(text, section, "Minimum password age, every source")}
    assert unescaped(ages["PSO-Sales"][4]) == "precedence 10, wins for 2 in-scope users"
    assert "precedence 1" in unescaped(ages["Default Domain Policy"][3])  # the GPO's precedence on the domain
    gpos = {unescaped(row[0]): row for row in part_rows(
        text, section, r"Reset link on the Windows sign\-in screen: AllowPasswordReset per GPO")}
    assert unescaped(gpos["SSPR sign-in screen"][2]) == "1 (shows the link)"
    assert "(link disabled)" in unescaped(gpos["SSPR sign-in screen"][3])


def test_no_section_without_it_in_the_report() -> None:
    text = markdown(realistic_report())
    assert "### Coverage" not in text and "### On-premises" not in text


def test_hostile_directory_names_do_not_break_the_section_tables() -> None:
    text = markdown(sectioned_report(HOSTILE_OU, user_name=HOSTILE_NAME, pso_name=SCRIPT_TAG, gpo_name=SCRIPT_TAG))
    assert SCRIPT_TAG not in text and "<img" not in text and RIGHT_TO_LEFT_OVERRIDE not in text
    section = "On-premises Active Directory"
    for part, width in (("Writeback rights per target OU", 9), ("Minimum password age, every source", 8)):
        rows = part_rows(text, section, part)
        assert rows and all(len(row) == width for row in rows), part
