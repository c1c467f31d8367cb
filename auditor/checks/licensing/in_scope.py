"""licensing.in_scope: every user SSPR covers holds Entra ID P1 or better (matched by service plan)."""

from __future__ import annotations

from auditor.checks.base import CheckSpec, Context, Evidence, Finding, Fix, OptionalSection, Severity, Status
from auditor.checks.scope_views import in_both_scopes
from auditor.derive.figures import ScopeResolution, licence_stats, shown
from auditor.snapshot.tenant import CloudUsersState

SPEC = CheckSpec(
    id="licensing.in_scope",
    title="Every user in SSPR scope holds an Entra ID P1 (or better) service plan",
    severity=Severity.medium,
    policy_key="coverage.require_license",
    sections=("cloud_users", "sspr_policy", "registration_details", "scope_groups", "subscribed_skus"),
    optional=(
        OptionalSection("sspr_policy", "the scope in force is inferred from userRegistrationDetails.isSsprEnabled and "
                    "its finding says so, carrying the portal's evidence; the scope the policy asks for is judged from "
                    "the policy itself whenever it covers other users than the inferred one"),
        OptionalSection("registration_details", "read only to infer the scope in force when the portal's policy "
                    "was not read; without both, that finding is unknown"),
        OptionalSection("scope_groups", "read only when a scope (the one in force or the one the policy asks for) is a "
                    "selected group: that scope's finding is unknown, naming the groups it could not read; a scope of "
                    "all or none does not need it"),
        OptionalSection("subscribed_skus", "the seat count is left out of the evidence; no verdict uses it"),
    ),
    references=(
        "https://learn.microsoft.com/entra/identity/authentication/concept-sspr-licensing",
        "https://learn.microsoft.com/entra/identity/users/licensing-service-plan-reference",
    ),
    fix=Fix(
        portal="Microsoft 365 admin center > Billing > Licenses (or Entra admin center > Identity > Billing > "
               "Licenses): assign a licence that carries Entra ID P1 (AAD_PREMIUM) to the users listed, "
               "ideally through group-based licensing on the SSPR group",
        graph="POST /users/{id}/assignLicense {\"addLicenses\": [{\"skuId\": \"<SKU with AAD_PREMIUM>\"}], "
              "\"removeLicenses\": []}",
        powershell="Set-MgUserLicense -UserId <upn> -AddLicenses @{SkuId='<SKU with AAD_PREMIUM>'} "
                   "-RemoveLicenses @()",
        console="Microsoft 365 admin center",
        shell="PowerShell (Microsoft Graph module)",
    ),
    description="SSPR for cloud users needs P1 only for some features, but password writeback and SSPR for "
                "synced users need Entra ID P1 or P2 for every user who uses them.",
    manual=("assigning licences changes what the tenant pays for and who may use which service: an "
            "admin decides it in the admin center or through group-based licensing"),
)


def evaluate(ctx: Context) -> list[Finding]:
    """The live scope, and the scope the policy asks for when that differs (what fixing sspr.scope brings in)."""
    coverage = ctx.policy.coverage
    assert coverage is not None
    if not coverage.require_license:
        return [ctx.result(Status.not_applicable, target="in-scope users",
                           reason="coverage.require_license is false: licences are not checked")]
    users = ctx.section("cloud_users")
    return in_both_scopes(ctx, lambda scope, target, who, also: _judge(ctx, scope, users, target, who, also))


def _judge(ctx: Context, scope: ScopeResolution, users: CloudUsersState, target: str, who: str, also: str) -> Finding:
    coverage = ctx.policy.coverage
    assert coverage is not None
    stats = licence_stats(scope, users, coverage.license_service_plans)
    evidence = [*scope.evidence,
                Evidence(source=ctx.source("cloud_users"), field="assignedPlans[].servicePlanId",
                         value={"licensed": stats.licensed, "in_scope": stats.in_scope})]
    # evidence only: no verdict rests on the seats; unreadable (a count absent, issue #30), its reason is evidence
    unread: list[str] = []
    skus = ctx.section_or_none("subscribed_skus", unread, [])
    if skus is None:
        evidence.append(Evidence(source=ctx.source("subscribed_skus"), field="prepaidUnits.enabled / consumedUnits",
                                 value="not read: " + "; ".join(unread)))
    else:
        seats, used = skus.seats_with({p.lower() for p in coverage.license_service_plans})
        evidence.append(Evidence(source=ctx.source("subscribed_skus"), field="prepaidUnits.enabled / consumedUnits",
                                 value={"seats": seats, "used": used}))
    expected = {"unlicensed": 0, "service_plans": list(coverage.license_service_plans)}
    actual = {"in_scope": stats.in_scope, "licensed": stats.licensed, "unlicensed": len(stats.unlicensed),
              "unlicensed_users": shown(stats.unlicensed), "scope": scope.basis}
    inferred = f" (scope {scope.note})" if scope.basis == "inferred" else ""
    if not stats.unlicensed:
        return ctx.result(Status.passed, target=target, expected=expected, actual=actual,
                          evidence=evidence, reason=f"all {stats.in_scope} {who} users are licensed{inferred}{also}")
    return ctx.result(Status.failed, target=target, expected=expected, actual=actual, evidence=evidence,
                      reason=f"{len(stats.unlicensed)} of {stats.in_scope} {who} users hold none of the "
                             f"service plans the policy counts as Entra ID P1 or better{inferred}{also}")
