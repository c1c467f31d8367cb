"""Summaries and the exit code CI pipelines gate on (DESIGN §3; the codes: auditor/exit_codes.py)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from auditor.checks.base import Finding, Severity, Status
from auditor.exit_codes import Exit


@dataclass(frozen=True)
class Summary:
    by_status: dict[str, int]
    failed_by_severity: dict[str, int]
    total: int

    @classmethod
    def of(cls, findings: list[Finding]) -> Summary:
        statuses = Counter(f.status.value for f in findings)
        severities = Counter(f.severity.value for f in findings if f.status == Status.failed)
        return cls(
            by_status={s.value: statuses.get(s.value, 0) for s in Status},
            failed_by_severity={s.value: severities.get(s.value, 0) for s in Severity},
            total=len(findings),
        )


def exit_code(findings: list[Finding], fail_on: Severity = Severity.low, unknown_fails: bool = True) -> Exit:
    """1 for a failure at or above `fail_on`; else 3 for an unknown (unless told to warn); else 0."""
    if any(f.status == Status.failed and f.severity.rank >= fail_on.rank for f in findings):
        return Exit.drift
    if unknown_fails and any(f.status == Status.unknown for f in findings):
        return Exit.incomplete
    return Exit.ok
