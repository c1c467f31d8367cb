"""A CSV action plan: one row per thing to act on, for a spreadsheet or a ticket import.

Rows: every `fail`, `unknown` and `waived` finding (most pressing first), then one row per
warning (e.g. a waiver that matches nothing). Columns: finding, title, severity, status,
target, expected, actual, fix, owner (from the waiver, else empty), due date (the waiver's
expiry, else empty), policy line, note (why it fails or is unknown, and the waiver, which
says when it expired).

Cells that a spreadsheet would run as a formula (starting with `=`, `+`, `-`, `@`, a tab or a
carriage return) are prefixed with `'` (OWASP "CSV injection"). The file is UTF-8 with a byte
order mark so Excel opens it with the right encoding.
"""

from __future__ import annotations

import csv
import io
from typing import Any

from auditor.checks.base import Finding, Status
from auditor.render.base import Renderer, register
from auditor.render.plain import ACTIONABLE, describe, fix_lines, location_text, ordered, value_text, waiver_text
from auditor.report import AuditReport

COLUMNS = ("finding", "title", "severity", "status", "target", "expected", "actual", "fix", "owner", "due_date",
           "policy_line", "note")
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


@register
class CsvPlanRenderer(Renderer):
    name = "csv"
    extension = "csv"
    media_type = "text/csv"

    def render(self, report: AuditReport) -> bytes:
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\r\n")
        writer.writerow(COLUMNS)
        for row in plan_rows(report):
            writer.writerow([safe_cell(row[column]) for column in COLUMNS])
        return buffer.getvalue().encode("utf-8-sig")


def plan_rows(report: AuditReport) -> list[dict[str, str]]:
    rows = [_finding_row(f) for f in ordered(report.findings) if f.status in ACTIONABLE]
    rows += [_warning_row(w) for w in report.warnings]
    return rows


def safe_cell(value: Any) -> str:
    """`value` as text that a spreadsheet shows and never evaluates."""
    from auditor.text import reveal_hidden

    text = "" if value is None else reveal_hidden(str(value))  # bidi and control characters shown, not obeyed
    return "'" + text if text.startswith(FORMULA_TRIGGERS) else text


def _finding_row(finding: Finding) -> dict[str, str]:
    waiver = finding.waiver
    note = describe(finding)
    if waiver is not None:
        note += "; " + waiver_text(waiver)
    status = finding.status.value
    if finding.status == Status.failed and waiver is not None and waiver.expired:
        status = "fail (waiver expired)"
    return {
        "finding": finding.check,
        "title": finding.title,
        "severity": finding.severity.value,
        "status": status,
        "target": finding.target,
        "expected": value_text(finding.expected),
        "actual": value_text(finding.actual),
        "fix": "\n".join(f"{label}: {how}" for label, how in fix_lines(finding.fix, finding.check)),
        "owner": waiver.owner if waiver else "",
        "due_date": waiver.expires.isoformat() if waiver else "",
        "policy_line": location_text(finding.policy_location),
        "note": note,
    }


def _warning_row(warning: str) -> dict[str, str]:
    return {
        "finding": "sspr-audit", "title": "Warning", "severity": "info", "status": "warning", "target": "",
        "expected": "", "actual": "", "fix": "Correct or remove the waiver in the policy file", "owner": "",
        "due_date": "", "policy_line": "", "note": warning,
    }
