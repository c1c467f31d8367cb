"""sspr.methods_available: every in-scope user is offered enough methods to meet the number a reset needs.

A method configuration reaches only its targets (`auditor.derive.sspr_methods`), so a tenant can require two
methods while some users are offered only one: they cannot reset at all. The Authenticator app's
notification and code count as one method here (the policy loader's rule from concept-sspr-howitworks:
with two methods required and the app enabled, two other methods are needed), so the count never
credits one app twice.
"""

from __future__ import annotations

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
from auditor.derive.figures import folded
from auditor.derive.method_reach import Audience, MethodReach, distinct_methods, method_reach
from auditor.derive.sspr_methods import METHOD_CONFIGS, known_state
from auditor.portal_fields import SSPR_FIELDS
from auditor.snapshot.models import MethodsPolicyState, SsprPolicyState

SPEC = CheckSpec(
    id="sspr.methods_available",
    title="Every in-scope user is offered enough methods to reset",
    severity=Severity.high,
    policy_key="sspr.methods_required",
    sections=("sspr_policy", "methods_policy", "scope_groups", "cloud_users"),
    # sspr_policy is required: numberOfAuthenticationMethodsRequired is only there (no stand-in number)
    optional=(
        OptionalSection("scope_groups", "read only when a method targets groups (or the SSPR scope is a selected "
                        "group): that method's reach is unknown, naming the section; a method every in-scope "
                        "user gets, or nobody gets, stands"),
        OptionalSection("cloud_users", "read only when a method targets groups, to know the in-scope users it "
                        "reaches: that method's reach is unknown; the UPNs shown fall back to object ids"),
    ),
    references=(
        "https://learn.microsoft.com/entra/identity/authentication/concept-sspr-howitworks",
        "https://learn.microsoft.com/graph/api/resources/authenticationmethodtarget",
    ),
    fix=Fix(portal="Protection > Authentication methods > Policies: widen each method's Target (include the SSPR "
                   "group or All users; remove exclusions that hold in-scope users), or lower the number of methods "
                   "required (Protection > Password reset > Authentication methods)"),
    description="A user offered fewer methods than a reset needs cannot reset and calls the helpdesk.",
)


def evaluate(ctx: Context) -> list[Finding]:
    sspr = ctx.policy.sspr
    assert sspr is not None
    if sspr.scope.value == "none":
        return [ctx.result(Status.not_applicable, reason="the policy turns SSPR off for users")]
    methods_policy: MethodsPolicyState = ctx.section("methods_policy")
    state = methods_policy.migration_state
    if not known_state(state):
        raise Unreadable(f"unrecognised policyMigrationState {state!r}; cannot tell which policy governs methods")
    # how many methods a reset needs is only in the portal's policy: unreadable, the check is unknown (never a
    # stand-in number; issue #30)
    legacy: SsprPolicyState = ctx.section("sspr_policy")
    required = int(legacy.methods_required or 0)
    if required < 1:
        raise Unreadable(f"{SSPR_FIELDS['methods_required']} was not returned")
    audience = Audience(ctx.snapshot)
    sure: dict[str, MethodReach] = {}
    uncertain: list[str] = []
    unread: list[Unreadable] = []
    for method in METHOD_CONFIGS:
        try:
            found = method_reach(method, state, legacy, methods_policy, audience)
        except Unreadable as exc:
            uncertain.append(method)
            unread.append(exc)
            continue
        sure[method] = found
    everyone = [m for m, r in sure.items() if r.everyone]
    targeted = {m: r for m, r in sure.items() if not r.everyone and not r.nobody}
    expected = {"methods_per_user_at_least": required}
    evidence = [Evidence(source=ctx.source("methods_policy"), field="methods offered to every in-scope user",
                         value=sorted(everyone))]
    evidence.append(Evidence(source=ctx.source("sspr_policy"), field=SSPR_FIELDS["methods_required"],
                             value=required))
    if distinct_methods(everyone) >= required:  # no one's identity matters: every in-scope user gets enough
        return [ctx.result(Status.passed, target="in-scope users", expected=expected,
                           actual={"offered_to_everyone": sorted(everyone), "required": required},
                           evidence=evidence,
                           reason=f"every in-scope user is offered {distinct_methods(everyone)} distinct methods "
                                  f"({', '.join(sorted(everyone))}); a reset needs {required}")]
    if not targeted and not uncertain:
        return [ctx.result(Status.failed, target="in-scope users", expected=expected,
                           actual={"offered_to_everyone": sorted(everyone), "required": required},
                           evidence=evidence,
                           reason=f"no in-scope user can reset: only {distinct_methods(everyone)} distinct method(s) "
                                  f"({', '.join(sorted(everyone)) or 'none'}) are offered, and a reset needs "
                                  f"{required}")]
    in_scope = audience.in_scope()
    short, maybe = [], []
    for user in in_scope:
        have = [m for m, r in sure.items() if r.reaches(user)]
        if distinct_methods([*have, *uncertain]) < required:
            short.append(user)
        elif distinct_methods(have) < required:
            maybe.append(user)
    evidence += [*audience.scope_evidence,
                 Evidence(source=ctx.source("methods_policy"), field="in-scope users each method reaches",
                          value={m: r.count(in_scope) for m, r in sure.items()})]
    actual = {"in_scope": len(in_scope), "required": required, "short": len(short), "uncertain": len(maybe),
              "short_users": folded(audience.upns(set(short)))}
    if short:
        return [ctx.result(Status.failed, target="in-scope users", expected=expected, actual=actual,
                           evidence=evidence,
                           reason=f"{len(short)} of {len(in_scope)} in-scope users are offered fewer than the "
                                  f"{required} methods a reset needs, so they cannot reset")]
    if maybe:
        why = "; ".join(dict.fromkeys(exc.reason for exc in unread))
        return [ctx.result(Status.unknown, target="in-scope users", expected=expected, actual=actual,
                           evidence=evidence + [e for exc in unread for e in exc.evidence],
                           reason=f"{len(maybe)} in-scope users reach {required} methods only if "
                                  f"{', '.join(uncertain)} (not read: {why}) reach them")]
    return [ctx.result(Status.passed, target="in-scope users", expected=expected, actual=actual, evidence=evidence,
                       reason=f"each of the {len(in_scope)} in-scope users is offered at least {required} "
                              f"methods")]
