"""admin_sspr: whether administrators may use SSPR matches the policy (authorizationPolicy)."""

from __future__ import annotations

from auditor.checks.base import CheckSpec, Context, Evidence, Finding, Fix, Severity, Status
from auditor.fixes.changes import GraphAuthorizationChange, SettingChange
from auditor.fixes.fixer import FixContext, Fixer, on
from auditor.graph_fields import AUTHORIZATION_FIELDS
from auditor.snapshot.models import AuthorizationPolicyState

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
        shell="PowerShell (Microsoft Graph module)",
        fills=(("<true|false>", "expected"),),
    ),
)


FIELD = AUTHORIZATION_FIELDS["allowed_to_use_sspr"]
ABSENT = (f"authorizationPolicy did not return {FIELD} (recent tenants omit it). Microsoft documents that "
          "\"by default, administrator accounts are enabled for self-service password reset\" and that setting "
          f"{FIELD} to false disables it (learn.microsoft.com/entra/identity/authentication/concept-sspr-policy, "
          "\"Administrator reset policy differences\"), but not what an absent property means, so whether "
          "administrators may reset is unknown: neither skipped nor failed. Set it explicitly "
          f"(PATCH /policies/authorizationPolicy {{\"{FIELD}\": ...}}) to make it auditable")


def evaluate(ctx: Context) -> list[Finding]:
    assert ctx.policy.admin_sspr is not None
    live = ctx.section("authorization_policy")
    evidence = [Evidence(source=ctx.source("authorization_policy"), field=FIELD, value=live.allowed_to_use_sspr)]
    if live.allowed_to_use_sspr is None:
        return [ctx.result(Status.unknown, target="administrators", expected=ctx.policy.admin_sspr.allowed,
                           evidence=evidence, reason=ABSENT)]
    return [ctx.compare(ctx.policy.admin_sspr.allowed, live.allowed_to_use_sspr, evidence,
                        target="administrators", what="admin SSPR")]


def fix(fx: FixContext, failing: list[Finding]) -> None:
    live: AuthorizationPolicyState | None = fx.value("authorization_policy")
    if live is None or fx.policy.admin_sspr is None or not failing:
        return
    new = fx.policy.admin_sspr.allowed
    fx.add(GraphAuthorizationChange, failing, target="graph /policies/authorizationPolicy",
           summary=f"administrators may use SSPR: {on(live.allowed_to_use_sspr)} → {on(new)}",
           setting=SettingChange(name="allowed_to_use_sspr", old=live.allowed_to_use_sspr, new=new),
           depends_on=fx.depends("authorization_policy"))


FIXER = Fixer(plan=fix)
