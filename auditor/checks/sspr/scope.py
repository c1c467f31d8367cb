"""sspr.scope: SSPR is enabled for the users the policy names (none, one group, or all).

With the portal's SSPR policy unreadable (the portal reader is off, or it failed), the scope is
inferred from `userRegistrationDetails.isSsprEnabled`: all when every member account (admins
aside) has it, none when none does, selected otherwise; the evidence says it was inferred. With
neither readable the check is unknown.
"""

from __future__ import annotations

from typing import Any

from auditor.checks.base import (
    CheckSpec,
    Context,
    Evidence,
    Finding,
    Fix,
    OptionalSection,
    Severity,
    Status,
    Unreadable,
)
from auditor.checks.sspr import portal_change
from auditor.derive.figures import ScopeResolution, enabled_members, infer_scope
from auditor.fixes.fixer import FixContext, Fixer
from auditor.graph_fields import SSPR_CONTROL
from auditor.policy.models import Scope
from auditor.portal_fields import SSPR_FIELDS
from auditor.snapshot.models import SsprPolicyState
from auditor.text import NAME_RULE, name_key, same_name

SPEC = CheckSpec(
    id="sspr.scope",
    title="Self-service password reset is enabled for the intended users",
    severity=Severity.high,
    policy_key="sspr.scope",
    sections=("sspr_policy", "registration_details", "scope_groups", "cloud_users"),
    audit_log="sspr_settings",
    optional=(
        OptionalSection("sspr_policy", "the scope is inferred from userRegistrationDetails.isSsprEnabled, and the "
                        "finding says so with the portal's reason"),
        OptionalSection("registration_details", "read only to infer the scope when the portal's policy was not "
                        "read; without both, the check is unknown"),
        OptionalSection("scope_groups", "read only to tell the scope group: by name when the portal gives no name, "
                        "or by its members when the scope is inferred; that finding is unknown, naming the section"),
        OptionalSection("cloud_users", "read only to compare an inferred scope with the group's enabled members: "
                        "that finding is unknown, naming the section"),
    ),
    also_reads=("sspr.group",),
    references=(
        "https://learn.microsoft.com/entra/identity/authentication/tutorial-enable-sspr",
        "https://learn.microsoft.com/entra/identity/authentication/howto-sspr-deployment",
    ),
    fix=Fix(portal="Entra admin center > Protection > Password reset > Properties > "
                   "Self service password reset enabled: None / Selected (choose the group) / All"),
    secure_score_control=SSPR_CONTROL,
)


def evaluate(ctx: Context) -> list[Finding]:
    sspr = ctx.policy.sspr
    assert sspr is not None
    try:
        live = ctx.section("sspr_policy")
    except Unreadable as portal:
        try:
            records = ctx.section("registration_details")
        except Unreadable as registration:
            raise Unreadable(f"{portal.reason}; and the scope cannot be inferred from registration details: "
                             f"{registration.reason}", portal.evidence + registration.evidence) from None
        return _inferred(ctx, infer_scope(ctx.snapshot, records), portal.reason)
    source = ctx.source("sspr_policy")
    evidence = [Evidence(source=source, field=SSPR_FIELDS["enablement"], value=live.enablement)]
    findings = [ctx.compare(sspr.scope.value, live.enablement, evidence, what="the SSPR scope")]
    if sspr.scope == Scope.selected and live.enablement == Scope.selected.value and sspr.group is not None:
        findings.append(_group_finding(ctx, live, source))
    return findings


def _group_finding(ctx: Context, live: SsprPolicyState, source: str) -> Finding:
    assert ctx.policy.sspr is not None and ctx.policy.sspr.group is not None
    group = ctx.policy.sspr.group
    evidence = [
        Evidence(source=source, field=SSPR_FIELDS["group_ids"], value=live.group_ids),
        Evidence(source=source, field=SSPR_FIELDS["group_name"], value=live.group_name),
    ]
    expected = {"id": group.id, "name": group.name}
    actual = {"id": live.group_ids[0] if live.group_ids else None, "name": live.group_name}
    if group.id:
        matches = [i.lower() for i in live.group_ids] == [group.id.lower()]
    elif name_key(live.group_name):
        matches = same_name(live.group_name, group.name)
        evidence.append(Evidence(source=source, field=f"{SSPR_FIELDS['group_name']} (how compared)",
                                 value=NAME_RULE))
    else:
        # the portal can answer passwordResetEnabledGroupName "" with the ids filled in: resolve the policy's
        # group name to its id over Graph (the scope_groups section) and compare ids instead
        why: list[str] = []
        resolved = _resolved_by_name(ctx, group.name or "", why, evidence)
        evidence.append(Evidence(source=ctx.source("scope_groups"), field=f"id of group named {group.name!r}",
                                 value=resolved))
        if resolved is None:
            return ctx.result(Status.unknown, target="scope group", expected=expected, actual=actual,
                              evidence=evidence, key="sspr.group",
                              reason="the portal returned no group name, and the policy's group could not be "
                                     "resolved to an id over Graph, so whether they are the same group is unknown"
                                     + "".join(f" ({w})" for w in why))
        matches = [i.lower() for i in live.group_ids] == [resolved.lower()]
    if matches:
        return ctx.result(Status.passed, target="scope group", expected=expected, actual=actual,
                          evidence=evidence, key="sspr.group")
    return ctx.result(Status.failed, target="scope group", expected=expected, actual=actual,
                      evidence=evidence, key="sspr.group",
                      reason="SSPR is enabled for a different group than the policy names")


def _resolved_by_name(ctx: Context, name: str, reasons: list[str], evidence: list[Evidence]) -> str | None:
    groups = ctx.section_or_none("scope_groups", reasons, evidence)
    if groups is None:
        return None
    found = groups.find(name=name)
    return found.id if found is not None and found.found and found.error is None else None


def _inferred(ctx: Context, scope: ScopeResolution, portal_reason: str) -> list[Finding]:
    assert ctx.policy.sspr is not None
    sspr = ctx.policy.sspr
    evidence = [*scope.evidence, Evidence(source=ctx.source("sspr_policy"), field="(section)", value=portal_reason)]
    finding = ctx.compare(sspr.scope.value, scope.enablement, evidence, what="the SSPR scope (inferred)")
    note = (f"inferred from isSsprEnabled because the portal's SSPR policy was not read ({portal_reason}); a group "
            "that holds every member looks like `all`")
    findings = [finding.model_copy(update={"reason": f"{finding.reason}; {note}" if finding.reason else note})]
    if sspr.scope == Scope.selected and scope.enablement == Scope.selected.value and sspr.group is not None:
        findings.append(_inferred_group(ctx, scope, evidence))
    return findings


def _inferred_group(ctx: Context, scope: ScopeResolution, evidence: list[Evidence]) -> Finding:
    """The users enabled for SSPR are the policy group's enabled members (compared as sets of users)."""
    assert ctx.policy.sspr is not None and ctx.policy.sspr.group is not None
    group = ctx.policy.sspr.group
    label = group.name or group.id or "the group"
    try:
        groups = ctx.section("scope_groups")
        members = enabled_members(ctx.section("cloud_users"))
    except Unreadable as exc:
        return ctx.result(Status.unknown, target="scope group", key="sspr.group", evidence=evidence,
                          reason=f"the scope group cannot be inferred: {exc.reason}")
    found = groups.find(group.id, group.name)
    if found is None or not found.found or found.error:
        why = "was not read" if found is None else found.error or "does not exist"
        return ctx.result(Status.unknown, target="scope group", key="sspr.group", evidence=evidence,
                          reason=f"the scope group cannot be inferred: {label} {why}")
    in_group = {i.lower() for i in found.user_ids} & members.keys()
    extra, missing = sorted(scope.ids - in_group), sorted(in_group - scope.ids)
    group_evidence = [*evidence, Evidence(source=ctx.source("scope_groups"), field=f"{label} transitiveMembers",
                                          value=len(in_group))]
    expected = {"id": group.id, "name": group.name}
    actual = {"sspr_enabled_not_in_group": len(extra), "in_group_not_sspr_enabled": len(missing), "inferred": True}
    if not extra and not missing:
        return ctx.result(Status.passed, target="scope group", key="sspr.group", expected=expected, actual=actual,
                          evidence=group_evidence, reason=f"inferred: the users enabled for SSPR are {label}'s members")
    return ctx.result(Status.failed, target="scope group", key="sspr.group", expected=expected, actual=actual,
                      evidence=group_evidence,
                      reason=f"inferred: {len(extra)} user(s) enabled for SSPR are not in {label} and {len(missing)} "
                             f"of its members are not enabled, so SSPR is scoped to another group")


def fix(fx: FixContext, failing: list[Finding]) -> None:
    """Who SSPR is enabled for, and the group by its object id (a group the policy names by name only, that the
    portal does not already show under that name, cannot be set: the plan does not look groups up)."""
    live: SsprPolicyState | None = fx.value("sspr_policy")
    wanted = fx.policy.sspr
    if live is None or wanted is None or not failing:
        return
    pairs: dict[str, Any] = {"enablement": wanted.scope.value}
    if wanted.scope == Scope.selected and wanted.group is not None:
        group = wanted.group
        if group.id:
            pairs["group_ids"] = [group.id]
            if group.name:
                pairs["group_name"] = group.name
        elif not same_name(live.group_name, group.name):
            for finding in failing:
                fx.manual_step(finding, "the policy names the SSPR group by name only: give its object id as "
                                        "sspr.group.id so the plan can set it")
            return
    portal_change(fx, failing, lambda live: f"SSPR enabled for: {live.enablement} → {wanted.scope.value}",
                  pairs=pairs)


FIXER = Fixer(plan=fix)
