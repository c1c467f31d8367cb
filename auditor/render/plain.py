"""Plain-text views of findings shared by the CI formats (SARIF, JUnit, Markdown, CSV).

Each format escapes these strings for itself; here they are only made readable and stable.
"""

from __future__ import annotations

import json
from typing import Any

from auditor.checks.base import Finding, Status, WaiverNote
from auditor.policy.models import Location

FIX_LABELS = {"portal": "Entra admin center", "graph": "Microsoft Graph", "powershell": "PowerShell"}
ACTIONABLE = (Status.failed, Status.unknown, Status.waived)
_STATUS_RANK = {Status.failed: 0, Status.unknown: 1, Status.waived: 2, Status.passed: 3, Status.not_applicable: 4}


def value_text(value: Any) -> str:
    """A live or expected value as compact text: strings as they are, everything else as JSON."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str, separators=(", ", ": "))


def location_text(location: Location | None) -> str:
    return f"{location.file}:{location.line}" if location is not None else ""


def waiver_text(note: WaiverNote) -> str:
    """`waived until …` or `waiver EXPIRED on …`, with owner, ticket and reason."""
    ticket = f", ticket {note.ticket}" if note.ticket else ""
    if note.expired:
        return (f"waiver EXPIRED on {note.expires.isoformat()} (owner {note.owner}{ticket}): {note.reason}; "
                "the failure counts again")
    return f"waived until {note.expires.isoformat()} by {note.owner}{ticket}: {note.reason}"


def fix_lines(fix: dict[str, str]) -> list[tuple[str, str]]:
    """(label, text) for each fix, portal first, then Graph, then PowerShell, then anything else."""
    keys = [k for k in FIX_LABELS if fix.get(k)] + sorted(k for k in fix if k not in FIX_LABELS and fix[k])
    return [(FIX_LABELS.get(k, k), fix[k]) for k in keys]


def describe(finding: Finding) -> str:
    """One sentence on what is wrong (or why it could not be told), for messages and summaries."""
    if finding.reason:
        return finding.reason
    if finding.status == Status.failed:
        return f"expected {value_text(finding.expected)}, found {value_text(finding.actual)}"
    return finding.title


def ordered(findings: list[Finding]) -> list[Finding]:
    """Most pressing first: by status (fail, unknown, waived, pass, n/a), then severity, check, target."""
    return sorted(findings, key=lambda f: (_STATUS_RANK[f.status], -f.severity.rank, f.check, f.target))
