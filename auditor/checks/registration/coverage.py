"""registration.coverage: enough of the users SSPR covers have registered the methods a reset needs."""

from __future__ import annotations

from auditor.checks.base import CheckSpec, Context, Evidence, Finding, Fix, OptionalSection, Severity, Status
from auditor.checks.scope_views import in_both_scopes
from auditor.derive.figures import ScopeResolution, registration_stats, shown
from auditor.snapshot.tenant import RegistrationState

SPEC = CheckSpec(
    id="registration.coverage",
    title="Enough in-scope users are registered for self-service password reset",
    severity=Severity.medium,
    policy_key="coverage.registration_min_percent",
    sections=("registration_details", "sspr_policy", "cloud_users", "scope_groups"),
    optional=(
        OptionalSection("sspr_policy", "the scope in force is inferred from userRegistrationDetails.isSsprEnabled and "
                    "its finding says so, carrying the portal's evidence; the scope the policy asks for is judged from "
                    "the policy itself whenever it covers other users than the inferred one"),
        OptionalSection("scope_groups", "read only when a scope (the one in force or the one the policy asks for) is a "
                    "selected group: that scope's finding is unknown, naming the groups it could not read; a scope of "
                    "all or none does not need it"),
    ),
    references=(
        "https://learn.microsoft.com/graph/api/authenticationmethodsroot-list-userregistrationdetails",
        "https://learn.microsoft.com/entra/identity/authentication/howto-registration-mfa-sspr-combined",
        "https://learn.microsoft.com/entra/identity/authentication/howto-sspr-deployment",
    ),
    fix=Fix(
        portal="Entra admin center > Protection > Password reset > Registration: require users to register when "
               "signing in; then follow up with the users listed (Protection > Authentication methods > "
               "User registration details shows them)",
    ),
    description="A user in scope who has not registered enough methods cannot reset and calls the helpdesk.",
    manual=("only users can register their own verification methods; send them to "
            "https://aka.ms/ssprsetup or keep registration at sign-in on"),
)


def evaluate(ctx: Context) -> list[Finding]:
    """The live scope, and the scope the policy asks for when that differs (what fixing sspr.scope brings in)."""
    records = ctx.section("registration_details")  # a tenant without P1 answers 403 here: unknown, with that
    return in_both_scopes(ctx, lambda scope, target, who, also: _judge(ctx, records, scope, target, who, also))


def _judge(ctx: Context, records: RegistrationState, scope: ScopeResolution, target: str, who: str,
           also: str) -> Finding:
    coverage = ctx.policy.coverage
    assert coverage is not None
    users = ctx.section_or_none("cloud_users", [], [])  # names for the lists (an inferred scope needs no more)
    stats = registration_stats(scope, records, users)
    wanted = coverage.registration_min_percent
    evidence = [*scope.evidence,
                Evidence(source=ctx.source("registration_details"), field="isSsprRegistered",
                         value={"registered": stats.registered, "in_scope": stats.in_scope,
                                "no_record": len(stats.no_record)})]
    expected = {"min_percent": wanted}
    actual = {"in_scope": stats.in_scope, "registered": stats.registered, "percent": stats.percent,
              "not_registered": len(stats.not_registered), "no_record": len(stats.no_record),
              "unregistered_users": shown([*stats.not_registered, *stats.no_record]), "scope": scope.basis}
    inferred = f" (scope {scope.note})" if scope.basis == "inferred" else ""
    if stats.in_scope == 0:
        return ctx.result(Status.not_applicable, target=target, expected=expected, actual=actual,
                          evidence=evidence, reason=f"no user is in this scope, so there is nothing to cover "
                                                    f"(sspr.scope reports the scope){inferred}{also}")
    percent = stats.percent or 0.0
    if percent >= wanted:
        return ctx.result(Status.passed, target=target, expected=expected, actual=actual, evidence=evidence,
                          reason=f"{stats.registered} of {stats.in_scope} {who} users ({percent}%) are "
                                 f"registered{inferred}{also}")
    best_case = 100 * (stats.registered + len(stats.no_record)) / stats.in_scope
    if best_case >= wanted:
        return ctx.result(Status.unknown, target=target, expected=expected, actual=actual, evidence=evidence,
                          reason=f"{percent}% are known to be registered; {len(stats.no_record)} {who} users "
                                 f"have no registration record, and whether coverage reaches {wanted}% depends "
                                 f"on them{inferred}{also}")
    return ctx.result(Status.failed, target=target, expected=expected, actual=actual, evidence=evidence,
                      reason=f"{stats.registered} of {stats.in_scope} {who} users ({percent}%) are registered "
                             f"for SSPR, below the policy's {wanted}%{inferred}{also}")
