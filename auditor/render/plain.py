"""Plain-text views of findings shared by the CI formats (SARIF, JUnit, Markdown, CSV).

Each format escapes these strings for itself; here they are only made readable and stable.
"""

from __future__ import annotations

import json
from typing import Any

from auditor.checks.base import Finding, Status, WaiverNote
from auditor.policy.models import Location

FIX_LABELS = {"portal": "Entra admin center", "graph": "Microsoft Graph", "powershell": "PowerShell"}
CODE_FIXES = frozenset({"graph", "powershell"})
ACTIONABLE = (Status.failed, Status.unknown, Status.waived)
_STATUS_RANK = {Status.failed: 0, Status.unknown: 1, Status.waived: 2, Status.passed: 3, Status.not_applicable: 4}


def value_text(value: Any) -> str:
    """A live or expected value as compact text: strings as they are, everything else as JSON."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str, separators=(", ", ": "))


def value_words(value: Any, depth: int = 0) -> str:
    """A live or expected value in words, for people (Markdown, the terminal, the fix lists): no JSON braces or
    quotes. True/false as on/off, None as "none", a list as its items joined by commas, a mapping as
    `key value` pairs joined by semicolons (nested ones in parentheses)."""
    if hasattr(value, "model_dump"):
        value = value.model_dump(mode="json")
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, str):
        return value if value else "(empty)"
    if isinstance(value, dict):
        if not value:
            return "(none)"
        parts = [f"{key} {value_words(item, depth + 1)}" for key, item in value.items()]
        text = "; ".join(parts)
        return f"({text})" if depth else text
    if isinstance(value, list | tuple | set | frozenset):
        items = sorted(value, key=str) if isinstance(value, set | frozenset) else list(value)
        if not items:
            return "(none)"
        text = ", ".join(value_words(item, depth + 1) for item in items)
        return f"({text})" if depth and len(items) > 1 else text
    return str(value)


def location_text(location: Location | None) -> str:
    return f"{location.file}:{location.line}" if location is not None else ""


def waiver_text(note: WaiverNote) -> str:
    """`waived until …` or `waiver EXPIRED on …`, with owner, ticket and reason."""
    ticket = f", ticket {note.ticket}" if note.ticket else ""
    if note.expired:
        return (f"waiver EXPIRED on {note.expires.isoformat()} (owner {note.owner}{ticket}): {note.reason}; "
                "the failure counts again")
    return f"waived until {note.expires.isoformat()} by {note.owner}{ticket}: {note.reason}"


def fix_labels(check: str | None) -> dict[str, str]:
    """What makes each kind of fix step of `check`: the console of its steps (the Entra admin center, Active
    Directory Users and Computers, Group Policy Management…) and the shell of its command, from the check's
    `Fix`; the cloud labels for a check this build does not know."""
    from auditor.checks.registry import all_checks

    spec = next((c.spec for c in all_checks() if c.spec.id == check), None) if check else None
    if spec is None:
        return dict(FIX_LABELS)
    return {"portal": spec.fix.console, "graph": FIX_LABELS["graph"], "powershell": spec.fix.shell}


def fix_steps(fix: dict[str, str], check: str | None = None) -> list[tuple[str, str, str]]:
    """(kind, label, text) for each fix step, portal first, then Graph, then PowerShell, then anything else."""
    labels = fix_labels(check)
    keys = [k for k in FIX_LABELS if fix.get(k)] + sorted(k for k in fix if k not in FIX_LABELS and fix[k])
    return [(k, labels.get(k, k), fix[k]) for k in keys]


def fix_lines(fix: dict[str, str], check: str | None = None) -> list[tuple[str, str]]:
    """(label, text) for each fix, portal first, then Graph, then PowerShell, then anything else."""
    return [(label, text) for _, label, text in fix_steps(fix, check)]


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
