"""The plan as a reviewer reads it: old → new per setting, ACEs as SDDL, the impact under each change, then the
manual steps and what could not be planned."""

from __future__ import annotations

from auditor.remediation.changes import Plan
from auditor.remediation.impact import impact_lines


def describe_plan(plan: Plan) -> list[str]:
    """The plan as a readable diff: old → new per setting, ACEs to add as SDDL, then manual steps."""
    impacts = {impact.change_id: impact for impact in plan.impact}
    lines = []
    for change in plan.changes:
        flag = "" if change.reversible else "  [not reversible]"
        lines.append(f"  ~ {change.id}. [{change.writer}] {change.summary}{flag}")
        lines.append(f"      target: {change.target}")
        lines.extend(f"      {line}" for line in change.shown())
        lines.extend(f"      fixes {ref.label()}" for ref in change.fixes)
        if change.note:
            lines.append(f"      note: {change.note}")
        if change.id in impacts:  # who it brings in or leaves out, under the change itself
            lines += ["    " + line for line in impact_lines([impacts[change.id]])]
    for number, step in enumerate(plan.manual, start=1):
        lines.append(f"  ! manual {number}. {step.finding.label()}")
        lines.append(f"      why: {step.why_manual}")
        how = step.how.get("portal") or step.how.get("powershell") or step.how.get("graph")
        if how:
            lines.append(f"      how: {how}")
    for item in plan.unplanned:
        lines.append(f"  ? not planned (could not read): {item.finding.label()}: {item.reason}")
    return lines
