"""The per-control status table: `check --framework`, and the Markdown and HTML "Framework controls" sections."""

from __future__ import annotations

from auditor.checks.frameworks import FRAMEWORK_LABELS, Framework
from auditor.findings import ControlResult


def control_table(controls: list[ControlResult], framework: Framework) -> str:
    """Plain text a security team pastes into its report: one line per control, its status and checks."""
    from auditor.text import one_line

    rows = [c for c in controls if c.framework == framework.value]
    lines = [f"{FRAMEWORK_LABELS[framework]}: {len(rows)} control(s) evidenced by sspr-audit"]
    width = max((len(row.id) for row in rows), default=8)
    for row in rows:
        partial = " (partly: the control covers more than these checks)" if row.partial else ""
        lines.append(f"  {row.id:<{width}}  {row.status.value.upper():<14} {one_line(row.title)}{partial}")
        detail = f"checks: {', '.join(row.checks)}" + (f"; {one_line(row.note)}" if row.note else "")
        lines.append(f"  {'':<{width}}  {'':<14} {detail}")
    return "\n".join(lines)
