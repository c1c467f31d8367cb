"""The plan's effect on people: for each change that changes who can reset (the portal policy's scope, group,
number of methods and method toggles; a method configuration's state; the methods policy's migration state),
how many users it brings in or leaves out and who among them is unlicensed, unregistered or offered too few
methods (`auditor.derive.impact`)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from auditor.derive.figures import UserRef, folded, licence_plans
from auditor.derive.impact import (
    ScopeImpact,
    SignInPrompt,
    after_change,
    impact_between,
    sign_in_prompt,
    touches_who,
    turns_on_sign_in_registration,
    with_configuration,
    with_migration_state,
)
from auditor.derive.registration_impact import Target, blocked_by
from auditor.findings import Unreadable
from auditor.fixes.changes import Change
from auditor.policy.models import Policy
from auditor.remediation.changes import ChangeImpact
from auditor.snapshot.models import Snapshot
from auditor.text import one_line


def impacts_of(changes: Sequence[Any], policy: Policy, snapshot: Snapshot) -> list[ChangeImpact]:
    """The impact of every change that changes who SSPR covers, each judged in plan order on the state the
    changes before it leave."""
    plans = licence_plans(policy)
    out = []
    before = snapshot
    for change in changes:
        if change.kind == "graph.ca_policy":
            out.append(_registration_block(change, snapshot))
            continue
        try:
            after = _after(before, change)
        except Unreadable as exc:
            out.append(ChangeImpact(change_id=change.id, in_scope_before=0, in_scope_after=0, brought_in=0,
                                    left_out=0, not_judged=[exc.reason]))
            continue
        impact = _model(change.id, impact_between(before, after, plans)) if after is not None else None
        prompt = _sign_in_prompt(before, after, change)
        if prompt is not None:
            impact = _with_prompt(impact, prompt, change.id)
        if impact is not None:
            out.append(impact)
        before = after if after is not None else before
    return out


def _sign_in_prompt(before: Snapshot, after: Snapshot | None, change: Change) -> SignInPrompt | None:
    """Who turning on "Require users to register when signing in" would interrupt, on the state once the
    change is written (its scope, if it changes that too); None for a change that does not turn it on."""
    if change.kind != "portal.sspr_policy":
        return None
    updates = {s.name: s.new for s in change.settings_list()}
    if not turns_on_sign_in_registration(before, updates):
        return None
    return sign_in_prompt(after if after is not None else after_change(before, updates))


def _with_prompt(impact: ChangeImpact | None, prompt: SignInPrompt, change_id: str) -> ChangeImpact:
    prompted = {"prompted": _names(prompt.prompted)}
    if impact is None:
        return ChangeImpact(change_id=change_id, in_scope_before=prompt.in_scope, in_scope_after=prompt.in_scope,
                            brought_in=0, left_out=0, counts={"prompted": len(prompt.prompted)},
                            not_judged=list(prompt.unknown), **prompted)
    return impact.model_copy(update={**prompted, "counts": {**impact.counts, "prompted": len(prompt.prompted)},
                                     "not_judged": [*impact.not_judged, *prompt.unknown]})


def _after(before: Snapshot, change: Change) -> Snapshot | None:
    """The state once `change` is written, for the changes that change who can reset; None for the others."""
    after = _AFTER.get(change.kind)
    return after(before, change, {s.name: s.new for s in change.settings_list()}) if after is not None else None


# change kind → the state after it, for the kinds that change who can reset (the others change nobody's reach)
_AFTER: dict[str, Callable[[Snapshot, Any, dict[str, Any]], Snapshot | None]] = {
    "portal.sspr_policy": lambda before, change, updates: (after_change(before, updates) if touches_who(updates)
                                                           else None),
    "graph.method_configuration": lambda before, change, updates: with_configuration(
        before, change.configuration_id, updates),
    "graph.methods_policy": lambda before, change, updates: (with_migration_state(before, updates["migration_state"])
                                                             if "migration_state" in updates else None),
}


def _registration_block(change: Any, snapshot: Snapshot) -> ChangeImpact:
    """Who the Conditional Access policy on registering security info would block once enforced: counted for
    the create (report-only now, enforced by a later plan) and for turning it on."""

    def value(section: Any) -> Any:
        return section.value if section is not None and section.readable else None

    ca = value(snapshot.conditional_access)
    live = next((p for p in ca.policies if p.id == change.policy_id), None) if ca and change.policy_id else None
    grant = live.grant if live is not None else None
    target = Target(
        include_all="all" in {u.lower() for u in change.include_users}, include_groups=tuple(change.include_groups),
        exclude_users=frozenset(u.lower() for u in change.exclude_users),
        built_in=tuple(grant.built_in if grant is not None else change.built_in),
        strength_id=grant.strength_id if grant is not None else change.strength_id, live=live,
        operator=grant.operator if grant is not None else "OR")  # a create grants OR (GraphCaPolicyChange.body)
    if change.policy_id and live is None:
        return ChangeImpact(change_id=change.id, in_scope_before=0, in_scope_after=0, brought_in=0, left_out=0,
                            not_judged=[f"the policy {change.policy_id} is not in the snapshot"])
    found = blocked_by(target, value(snapshot.cloud_users), value(snapshot.registration_details),
                       value(snapshot.scope_groups), ca, value(snapshot.devices))
    return ChangeImpact(change_id=change.id, in_scope_before=found.covered, in_scope_after=found.covered,
                        brought_in=0, left_out=0, blocked=folded(list(found.blocked)),
                        counts={"blocked": len(found.blocked), "unknown": len(found.unknown)},
                        not_judged=[*found.not_judged, *([f"unknown: {', '.join(folded(list(found.unknown)))}"]
                                                         if found.unknown else [])])


def _model(change_id: str, impact: ScopeImpact) -> ChangeImpact:
    return ChangeImpact(
        change_id=change_id, in_scope_before=impact.before, in_scope_after=impact.after,
        brought_in=len(impact.brought_in), left_out=len(impact.left_out), unlicensed=_names(impact.unlicensed),
        unregistered=_names(impact.unregistered), cannot_reach=_names(impact.cannot_reach),
        can_reach=_names(impact.can_reach), must_register=_names(impact.must_register),
        left_out_users=_names(impact.left_out),
        counts={"unlicensed": len(impact.unlicensed), "unregistered": len(impact.unregistered),
                "cannot_reach": len(impact.cannot_reach), "can_reach": len(impact.can_reach),
                "must_register": len(impact.must_register)},
        not_judged=list(impact.unknown))


def impact_lines(impacts: Sequence[ChangeImpact]) -> list[str]:
    lines = []
    for impact in impacts:
        if "blocked" in impact.counts:
            unknown = impact.counts.get("unknown", 0)
            lines.append(f"  impact of change {impact.change_id}: once enforced, blocks {impact.counts['blocked']} "
                         f"of the {impact.in_scope_after} users it covers from registering security info"
                         + (f" ({unknown} more unknown)" if unknown else "")
                         + (f": {one_line(', '.join(impact.blocked))}" if impact.blocked else ""))
            lines.extend(f"      not judged: {one_line(why)}" for why in impact.not_judged)
            continue
        if "prompted" in impact.counts:
            lines.append(f"  impact of change {impact.change_id}: registration at sign-in prompts "
                         f"{impact.counts['prompted']} of the {impact.in_scope_after} users in scope, who are not "
                         "registered, at each sign-in until they register"
                         + (f": {one_line(', '.join(impact.prompted))}" if impact.prompted else ""))
            if impact.counts.keys() == {"prompted"}:  # the change does not change who can reset
                lines.extend(f"      not judged: {one_line(why)}" for why in impact.not_judged)
                continue
        if not (impact.brought_in or impact.left_out or impact.not_judged
                or any(impact.counts.get(k) for k in ("cannot_reach", "can_reach", "must_register"))):
            lines.append(f"  impact of change {impact.change_id}: nobody brought in or left out "
                         f"({impact.in_scope_after} in scope), nobody then offered too few methods")
            continue
        lines.append(f"  impact of change {impact.change_id}: in scope {impact.in_scope_before} → "
                     f"{impact.in_scope_after} users; brings in {impact.brought_in}, leaves out {impact.left_out}")
        for label, count, users in (
                ("brought in without a licence", impact.counts.get("unlicensed", 0), impact.unlicensed),
                ("brought in unregistered", impact.counts.get("unregistered", 0), impact.unregistered),
                ("offered too few methods after it", impact.counts.get("cannot_reach", 0), impact.cannot_reach),
                ("offered enough methods after it, not before", impact.counts.get("can_reach", 0), impact.can_reach),
                ("must register another method first (they could reset before)",
                 impact.counts.get("must_register", 0), impact.must_register),
                ("left out", impact.left_out, impact.left_out_users)):
            if count:
                lines.append(f"      {count} {label}: {one_line(', '.join(users))}")
        lines.extend(f"      not judged: {one_line(why)}" for why in impact.not_judged)
    return lines


def _names(users: tuple[UserRef, ...]) -> list[str]:
    return folded([u.upn or u.id for u in users])
