"""The plan's effect on people: for each change to the portal's SSPR policy that changes who can reset
(scope, group, number of methods, method toggles), how many users it brings in or leaves out and who
among them is unlicensed, unregistered or offered too few methods (`auditor.derive.impact`)."""

from __future__ import annotations

from auditor.derive.figures import UserRef, folded
from auditor.derive.impact import ScopeImpact, after_change, scope_impact, touches_who
from auditor.policy.models import Coverage, Policy
from auditor.remediation.changes import Plan, PortalSsprChange
from auditor.snapshot.models import Snapshot
from auditor.text import one_line


def plan_impacts(plan: Plan, policy: Policy, snapshot: Snapshot) -> list[tuple[str, ScopeImpact]]:
    """(change id, its impact) for every change that changes who SSPR covers."""
    plans = list((policy.coverage or Coverage()).license_service_plans)
    out = []
    before = snapshot  # changes apply in plan order: each is judged on the state the ones before it leave
    for change in plan.changes:
        if not isinstance(change, PortalSsprChange):
            continue
        updates = {s.name: s.new for s in change.settings}
        if touches_who(updates):
            out.append((change.id, scope_impact(before, updates, plans)))
            before = after_change(before, updates)
    return out


def impact_lines(impacts: list[tuple[str, ScopeImpact]]) -> list[str]:
    lines = []
    for change_id, impact in impacts:
        lines.append(f"  impact of change {change_id}: in scope {impact.before} → {impact.after} users; "
                     f"brings in {len(impact.brought_in)}, leaves out {len(impact.left_out)}")
        for label, users in (("brought in without a licence", impact.unlicensed),
                             ("brought in unregistered", impact.unregistered),
                             ("offered too few methods after it", impact.cannot_reach),
                             ("left out", impact.left_out)):
            if users:
                lines.append(f"      {len(users)} {label}: {_names(users)}")
        lines.extend(f"      not judged: {one_line(why)}" for why in impact.unknown)
    return lines


def _names(users: tuple[UserRef, ...]) -> str:
    return one_line(", ".join(folded([u.upn or u.id for u in users])))
