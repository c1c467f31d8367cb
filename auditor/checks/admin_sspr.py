"""admin_sspr: whether administrators may use SSPR matches the policy (authorizationPolicy)."""

from __future__ import annotations

from auditor.checks.base import CheckSpec, Context, Evidence, Finding, Fix, Severity
from auditor.graph_fields import AUTHORIZATION_FIELDS

SPEC = CheckSpec(
    id="admin_sspr",
    title="Administrator self-service password reset is set as the policy says",
    severity=Severity.medium,
    policy_key="admin_sspr.allowed",
    sections=("authorization_policy",),
    references=(
        "https://learn.microsoft.com/graph/api/resources/authorizationpolicy",
        "https://maester.dev/docs/tests/eidsca/EIDSCA.AP01",
    ),
    fix=Fix(
        portal="No portal switch: use Graph or PowerShell",
        graph='PATCH /policies/authorizationPolicy {"allowedToUseSSPR": <true|false>}',
        powershell="Update-MgPolicyAuthorizationPolicy -AllowedToUseSspr:$<true|false>",
    ),
)


def evaluate(ctx: Context) -> list[Finding]:
    assert ctx.policy.admin_sspr is not None
    live = ctx.section("authorization_policy")
    evidence = [Evidence(source=ctx.source("authorization_policy"), field=AUTHORIZATION_FIELDS["allowed_to_use_sspr"],
                         value=live.allowed_to_use_sspr)]
    return [ctx.compare(ctx.policy.admin_sspr.allowed, live.allowed_to_use_sspr, evidence,
                        target="administrators", what="admin SSPR")]
