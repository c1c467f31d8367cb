"""methods_policy.migration: the authentication methods policy migration is where the policy says.

A null policyMigrationState (tenants with no legacy method settings, e.g. created after the
30 September 2025 deadline; learn.microsoft.com how-to-authentication-methods-manage) is governed
by the methods policy alone: it meets `migrationComplete`, and no other declared state.
"""

from __future__ import annotations

from auditor.checks.base import CheckSpec, Context, Evidence, Finding, Fix, Severity, Status
from auditor.derive.sspr_methods import NULL_STATE_RULE
from auditor.fixes.changes import GraphMethodsPolicyChange, SettingChange
from auditor.fixes.fixer import FixContext, Fixer
from auditor.graph_fields import METHODS_FIELDS
from auditor.snapshot.models import MethodsPolicyState

SPEC = CheckSpec(
    id="methods_policy.migration",
    title="Authentication methods are managed in the state the policy declares (migration)",
    severity=Severity.medium,
    policy_key="methods_policy.migration_state",
    sections=("methods_policy",),
    references=(
        "https://learn.microsoft.com/entra/identity/authentication/how-to-authentication-methods-manage",
    ),
    fix=Fix(
        portal="Entra admin center > Protection > Authentication methods > Policies > Manage migration",
        graph='PATCH /policies/authenticationMethodsPolicy {"policyMigrationState": "<state>"}',
        powershell="Update-MgPolicyAuthenticationMethodPolicy -PolicyMigrationState <state>",
        shell="PowerShell (Microsoft Graph module)",
        fills=(("<state>", "expected"),),
    ),
)


def evaluate(ctx: Context) -> list[Finding]:
    assert ctx.policy.methods_policy is not None
    live = ctx.section("methods_policy")
    evidence = [Evidence(source=ctx.source("methods_policy"), field=METHODS_FIELDS["migration_state"],
                         value=live.migration_state)]
    wanted = ctx.policy.methods_policy.migration_state.value
    if live.migration_state is None:
        if wanted == "migrationComplete":
            return [ctx.result(Status.passed, expected=wanted, actual=None, evidence=evidence,
                               reason=f"governed by the {NULL_STATE_RULE}")]
        return [ctx.result(Status.failed, expected=wanted, actual=None, evidence=evidence,
                           reason=f"the policy declares {wanted}, but this tenant is governed by the "
                                  f"{NULL_STATE_RULE}; since 30 September 2025 methods cannot be managed in the "
                                  "legacy policies, so declare migrationComplete")]
    return [ctx.compare(wanted, live.migration_state, evidence, what="the migration state")]


def fix(fx: FixContext, failing: list[Finding]) -> None:
    """The migration state the policy declares. The `sspr.methods` fixer runs after this one: it keeps the change
    only when the methods stay offered as asked in the new state (else it takes the change back)."""
    live: MethodsPolicyState | None = fx.value("methods_policy")
    wanted = fx.policy.methods_policy
    if live is None or wanted is None or not failing:
        return
    new = wanted.migration_state.value
    if live.migration_state is None:
        for finding in failing:
            fx.manual_step(finding, "policyMigrationState is null: this tenant has no legacy method settings to "
                                    "migrate, and since 30 September 2025 methods cannot be managed in the legacy "
                                    "policies; declare migrationComplete in the policy instead")
        return
    fx.add(GraphMethodsPolicyChange, failing, target="graph /policies/authenticationMethodsPolicy",
           summary=f"methods policy migration state: {live.migration_state} → {new}",
           setting=SettingChange(name="migration_state", old=live.migration_state, new=new),
           depends_on=fx.depends("methods_policy"),
           note="after migrationComplete the legacy SSPR and MFA method lists are ignored: only the "
                "authentication methods policy decides which methods users get")


FIXER = Fixer(plan=fix)
