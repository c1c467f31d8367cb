"""methods_policy.migration: the authentication methods policy migration is where the policy says."""

from __future__ import annotations

from auditor.checks.base import CheckSpec, Context, Evidence, Finding, Fix, Severity

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
    ),
)


def evaluate(ctx: Context) -> list[Finding]:
    assert ctx.policy.methods_policy is not None
    live = ctx.section("methods_policy")
    evidence = [Evidence(source=ctx.source("methods_policy"), field="policyMigrationState",
                         value=live.migration_state)]
    return [ctx.compare(ctx.policy.methods_policy.migration_state.value, live.migration_state, evidence,
                        what="the migration state")]
