"""sspr.scope: SSPR is enabled for the users the policy names (none, one group, or all)."""

from __future__ import annotations

from auditor.checks.base import CheckSpec, Context, Evidence, Finding, Fix, Severity, Status
from auditor.policy.models import Scope
from auditor.snapshot.models import SsprPolicyState

SPEC = CheckSpec(
    id="sspr.scope",
    title="Self-service password reset is enabled for the intended users",
    severity=Severity.high,
    policy_key="sspr.scope",
    sections=("sspr_policy",),
    references=(
        "https://learn.microsoft.com/entra/identity/authentication/tutorial-enable-sspr",
        "https://learn.microsoft.com/entra/identity/authentication/howto-sspr-deployment",
    ),
    fix=Fix(portal="Entra admin center > Protection > Password reset > Properties > "
                   "Self service password reset enabled: None / Selected (choose the group) / All"),
    secure_score_control="SelfServicePasswordReset",
)


def evaluate(ctx: Context) -> list[Finding]:
    sspr = ctx.policy.sspr
    assert sspr is not None
    live = ctx.section("sspr_policy")
    source = ctx.source("sspr_policy")
    evidence = [Evidence(source=source, field="enablementType", value=live.enablement)]
    findings = [ctx.compare(sspr.scope.value, live.enablement, evidence, what="the SSPR scope")]
    if sspr.scope == Scope.selected and live.enablement == Scope.selected.value and sspr.group is not None:
        findings.append(_group_finding(ctx, live, source))
    return findings


def _group_finding(ctx: Context, live: SsprPolicyState, source: str) -> Finding:
    assert ctx.policy.sspr is not None and ctx.policy.sspr.group is not None
    group = ctx.policy.sspr.group
    evidence = [
        Evidence(source=source, field="passwordResetEnabledGroupIds", value=live.group_ids),
        Evidence(source=source, field="passwordResetEnabledGroupName", value=live.group_name),
    ]
    expected = {"id": group.id, "name": group.name}
    actual = {"id": live.group_ids[0] if live.group_ids else None, "name": live.group_name}
    if group.id:
        matches = [i.lower() for i in live.group_ids] == [group.id.lower()]
    else:
        matches = live.group_name is not None and live.group_name.casefold() == (group.name or "").casefold()
    if matches:
        return ctx.result(Status.passed, target="scope group", expected=expected, actual=actual,
                          evidence=evidence, key="sspr.group")
    return ctx.result(Status.failed, target="scope group", expected=expected, actual=actual,
                      evidence=evidence, key="sspr.group",
                      reason="SSPR is enabled for a different group than the policy names")
