"""The CSV action plan: one row per thing to act on, owners and due dates from waivers, no formula injection."""

from __future__ import annotations

import csv
import io

import pytest

from auditor.checks.base import Status
from auditor.render import get_renderer
from auditor.render.csv_report import COLUMNS, safe_cell
from tests.helpers.report_factory import build_report, finding, realistic_report


def rows(report) -> list[dict[str, str]]:  # type: ignore[no-untyped-def]
    raw = get_renderer("csv").render(report)
    assert raw.startswith(b"\xef\xbb\xbf")  # Excel reads the encoding from the BOM
    return list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"), newline="")))


def test_header_and_actionable_rows_most_pressing_first() -> None:
    report = realistic_report()
    found = rows(report)
    assert list(found[0]) == list(COLUMNS)
    assert [r["status"].split(" ")[0] for r in found] == sorted(
        (r["status"].split(" ")[0] for r in found), key=["fail", "unknown", "waived"].index)
    actionable = [f for f in report.findings if f.status in (Status.failed, Status.unknown, Status.waived)]
    assert len(found) == len(actionable)


def test_failure_row_has_expected_actual_fix_and_policy_line() -> None:
    gates = next(r for r in rows(realistic_report()) if r["finding"] == "sspr.gates")
    assert (gates["severity"], gates["status"], gates["expected"], gates["actual"]) == ("high", "fail", "2", "1")
    assert gates["fix"].startswith("Entra admin center: ")
    assert gates["policy_line"] == "policies/baseline.yaml:7"
    assert gates["owner"] == "" and gates["due_date"] == ""


def test_waiver_gives_owner_and_due_date() -> None:
    unlock = next(r for r in rows(realistic_report()) if r["finding"] == "writeback.unlock")
    assert (unlock["status"], unlock["owner"], unlock["due_date"]) == ("waived", "iam-team", "2099-06-30")


def test_expired_waiver_row_says_so() -> None:
    row = next(r for r in rows(realistic_report()) if r["finding"] == "sspr.notify_admins")
    assert row["status"] == "fail (waiver expired)"
    assert row["due_date"] == "2024-12-31" and row["owner"] == "secops@contoso.example"
    assert "EXPIRED on 2024-12-31" in row["note"]


def test_multiline_fix_stays_in_one_cell() -> None:
    row = next(r for r in rows(realistic_report()) if r["finding"] == "admin_sspr")
    assert "Microsoft Graph: PATCH" in row["fix"] and "\n" in row["fix"]


def test_warnings_are_rows() -> None:
    found = rows(build_report([], warnings=["waivers[0] for `x.y` matches nothing: no check has this id"]))
    (warning,) = found
    assert warning["status"] == "warning" and "x.y" in warning["note"]


@pytest.mark.parametrize("value", ["=HYPERLINK(\"http://e\")", "+1+1", "-2+3", "@SUM(A1)", "\tx"])
def test_formula_triggers_are_defused(value: str) -> None:
    assert safe_cell(value) == "'" + value
    report = build_report([finding("sspr.helpdesk", Status.failed, target=value, actual=value, reason=value)])
    (row,) = rows(report)
    assert row["target"] == "'" + value and row["actual"] == "'" + value
    assert all(not cell.startswith(("=", "+", "-", "@", "\t", "\r")) for cell in row.values())


def test_control_and_bidi_characters_are_shown_not_obeyed() -> None:
    assert safe_cell("\rx") == "[U+000D]x"
    shown = safe_cell("admin\u202egpj.exe")
    assert shown == "admin[U+202E]gpj.exe"
    report = build_report([finding("sspr.helpdesk", Status.failed, target="OU=\u2067Sales", reason="r")])
    (row,) = rows(report)
    assert row["target"] == "OU=[U+2067]Sales"


def test_plain_values_are_left_alone() -> None:
    assert safe_cell("tenant") == "tenant" and safe_cell(None) == "" and safe_cell(3) == "3"
