"""registration.conditional_access: every in-scope user who registers security info meets the control the
policy asks for, through an enabled Conditional Access policy on the user action "Register security
information" (urn:user:registersecurityinfo); the users who can register without it are named, each with the
policy or exclusion responsible.

Why: whoever holds a user's password and can register methods can then reset the password and keep the account;
Microsoft recommends securing registration with Conditional Access (howto-registration-mfa-sspr-combined,
"Conditional Access policies for combined registration"; howto-conditional-access-policy-registration).
"""

from __future__ import annotations

from auditor.checks.base import CheckSpec, Context, Evidence, Finding, Fix, OptionalSection, Severity, Status
from auditor.checks.scope_views import in_both_scopes
from auditor.derive.figures import ScopeResolution, folded
from auditor.derive.registration_ca import ENFORCED, Directory, Person, Requirement, Verdict, judge
from auditor.policy.models import RegistrationConditionalAccess
from auditor.snapshot.conditional_access import ConditionalAccessState

KEY = "sspr.registration.conditional_access"

SPEC = CheckSpec(
    id="registration.conditional_access",
    title="Registering security info requires the control the policy asks for, for every in-scope user",
    severity=Severity.high,
    policy_key=KEY,
    sections=("conditional_access", "cloud_users", "sspr_policy", "registration_details", "scope_groups"),
    optional=(
        OptionalSection("sspr_policy", "the scope in force is inferred from userRegistrationDetails.isSsprEnabled "
                        "and its finding says so, carrying the portal's evidence"),
        OptionalSection("registration_details", "read only to infer the scope when the portal's SSPR policy is "
                        "unreadable: then that scope's finding is unknown"),
        OptionalSection("scope_groups", "read only when a scope is a selected group: that scope's finding is "
                        "unknown, naming the group it could not read"),
    ),
    references=(
        "https://learn.microsoft.com/entra/identity/conditional-access/policy-all-users-security-info-registration",
        "https://learn.microsoft.com/entra/identity/authentication/howto-registration-mfa-sspr-combined",
        "https://learn.microsoft.com/graph/api/resources/conditionalaccesspolicy",
        "https://learn.microsoft.com/entra/identity/conditional-access/concept-conditional-access-report-only",
        "https://maester.dev/docs/tests/MT.1011",
    ),
    fix=Fix(
        portal="Entra admin center > Protection > Conditional Access > Create new policy from templates > "
               "'Securing security info registration': include the SSPR users, exclude only the break-glass "
               "accounts, grant the control the policy asks for; run it report-only, then turn it on",
        graph="POST /identity/conditionalAccess/policies with conditions.applications.includeUserActions "
              "['urn:user:registersecurityinfo'] (Policy.ReadWrite.ConditionalAccess)",
    ),
    description="Anyone holding a password who can register methods without a second proof can then reset the "
                "password and keep the account.",
)


def requirement(wanted: RegistrationConditionalAccess) -> Requirement:
    return Requirement(wanted.require, wanted.authentication_strength, wanted.trusted_locations_exempt,
                       frozenset(x.lower() for x in wanted.break_glass))


def evaluate(ctx: Context) -> list[Finding]:
    wanted = ctx.policy.value_at(KEY)
    if wanted is None:
        return [ctx.result(Status.not_applicable, reason=f"the policy has no `{KEY}` (not audited)")]
    state: ConditionalAccessState = ctx.section("conditional_access")
    users = ctx.section("cloud_users").by_id()
    need = requirement(wanted)
    directory = Directory(state)
    return in_both_scopes(ctx, lambda scope, target, who, also: _judge(ctx, state, directory, users, need, wanted,
                                                                       scope, target, who, also))


def _judge(ctx: Context, state: ConditionalAccessState, directory: Directory, users: dict[str, object],
           need: Requirement, wanted: RegistrationConditionalAccess, scope: ScopeResolution, target: str, who: str,
           also: str) -> Finding:
    also = (f" (scope {scope.note})" if scope.basis == "inferred" else "") + also
    verdicts: dict[str, list[tuple[str, Verdict]]] = {"covered": [], "uncovered": [], "unknown": [], "exempt": []}
    for uid in sorted(scope.ids):
        row = users.get(uid)
        person = Person(uid, getattr(row, "upn", "") or uid, bool(getattr(row, "guest", False)))
        verdict = judge(person, state, need, directory)
        verdicts[verdict.status].append((person.upn, verdict))
    registration = state.registration_policies()
    not_enforced = [f"'{p.display_name}' ({p.state})" for p in registration if p.state != ENFORCED]
    evidence = [*scope.evidence,
                Evidence(source=ctx.source("conditional_access"), field="policies on urn:user:registersecurityinfo",
                         value=[{"name": p.display_name, "id": p.id, "state": p.state} for p in registration])]
    expected = {"require": _describe(wanted), "break_glass": list(wanted.break_glass)}

    def listed(status: str) -> list[str]:
        return folded([f"{upn}: {v.why}" for upn, v in verdicts[status]])

    actual = {"in_scope": len(scope.ids), "covered": len(verdicts["covered"]),
              "uncovered": listed("uncovered"), "unknown": listed("unknown"), "exempt": listed("exempt"),
              "not_enforced": not_enforced, "scope": scope.basis}
    ignored = (f"; report-only and disabled policies do not count: {', '.join(not_enforced)}"
               if not_enforced else "")
    if not scope.ids:
        return ctx.result(Status.not_applicable, target=target, expected=expected, actual=actual, evidence=evidence,
                          reason=f"no user is in this scope{also}")
    if verdicts["uncovered"]:
        first = verdicts["uncovered"][0]
        return ctx.result(Status.failed, target=target, expected=expected, actual=actual, evidence=evidence,
                          reason=f"{len(verdicts['uncovered'])} of {len(scope.ids)} {who} users can register "
                                 f"security info without {_describe(wanted)} (e.g. {first[0]}: {first[1].why})"
                                 f"{ignored}{also}")
    if verdicts["unknown"]:
        first = verdicts["unknown"][0]
        return ctx.result(Status.unknown, target=target, expected=expected, actual=actual, evidence=evidence,
                          reason=f"for {len(verdicts['unknown'])} {who} users it cannot be told offline "
                                 f"(e.g. {first[0]}: {first[1].why}){ignored}{also}")
    exempt = f"; {len(verdicts['exempt'])} declared break-glass account(s) left out" if verdicts["exempt"] else ""
    return ctx.result(Status.passed, target=target, expected=expected, actual=actual, evidence=evidence,
                      reason=f"all {len(verdicts['covered'])} {who} users need {_describe(wanted)} to register "
                             f"security info{exempt}{ignored}{also}")


def _describe(wanted: RegistrationConditionalAccess) -> str:
    return {"mfa": "MFA", "authentication_strength": f"the authentication strength '{wanted.authentication_strength}'",
            "compliant_or_joined_device": "a compliant or hybrid-joined device",
            "block_untrusted_locations": "being at a trusted location"}[wanted.require]
