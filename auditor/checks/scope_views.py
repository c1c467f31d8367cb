"""The two scopes the coverage checks judge: the one in force, and the one the policy asks for when that differs.

A tenant whose SSPR serves a pilot group passes the licence and registration checks on the pilot; the
policy's `scope: all` would bring in everyone else. So licensing.in_scope and registration.coverage judge
both, each finding saying which scope it is about (the registry skips this module: it is not a check).
"""

from __future__ import annotations

from collections.abc import Callable

from auditor.checks.base import Context, Finding, OptionalSection, Status, Unreadable
from auditor.derive.figures import ScopeResolution, resolve_scope
from auditor.derive.impact import policy_scope, scope_label

LIVE_TARGET = "in-scope users"
POLICY_TARGET = "users in the scope the policy asks for"


def asked_scope(ctx: Context) -> ScopeResolution | Unreadable | None:
    """The scope the policy asks for when it is not the live one; the reason when it cannot be resolved."""
    try:
        return policy_scope(ctx.snapshot, ctx.policy)
    except Unreadable as exc:
        return exc


def policy_target(scope: ScopeResolution) -> str:
    return f"{POLICY_TARGET} ({scope_label(scope)}, {len(scope.ids)} users)"


def also(asked: ScopeResolution | Unreadable | None) -> str:
    """What the live finding adds when the policy asks for another scope."""
    if isinstance(asked, ScopeResolution):
        return (f"; this is the scope in force: the policy asks for {scope_label(asked)} ({len(asked.ids)} users), "
                "judged in the next finding")
    if asked is not None:
        return "; this is the scope in force: the policy asks for another, which could not be resolved"
    return ""


Judge = Callable[[ScopeResolution, str, str, str], Finding]
"""(scope, finding target, who its users are, what the reason adds) → the finding for that scope."""


# What a check judging "the in-scope users" does without the portal's SSPR policy or the registration rows (the
# scope is inferred from userRegistrationDetails.isSsprEnabled): said once for the checks that share it.
SCOPE_OPTIONAL = (
    OptionalSection("sspr_policy", "the scope in force is inferred from userRegistrationDetails.isSsprEnabled "
                    "and its finding says so, carrying the portal's evidence"),
    OptionalSection("registration_details", "read only to infer the scope when the portal's SSPR policy is "
                    "unreadable: then that scope's finding is unknown"),
)


def in_both_scopes(ctx: Context, judge: Judge) -> list[Finding]:
    """`judge` on the live scope, then on the scope the policy asks for when that differs (unknown when the
    policy's group could not be resolved). A live scope that can be neither read nor inferred is an unknown
    finding of its own: the policy's scope is still judged (no fail is lost to an unreadable portal)."""
    asked = asked_scope(ctx)
    try:
        live = resolve_scope(ctx.snapshot)
    except Unreadable as exc:
        findings = [ctx.result(Status.unknown, target=LIVE_TARGET, reason=exc.reason, evidence=exc.evidence)]
    else:
        findings = [judge(live, LIVE_TARGET, "in-scope", also(asked))]
    if isinstance(asked, ScopeResolution):
        findings.append(judge(asked, policy_target(asked), "policy-scope", ""))
    elif asked is not None:
        findings.append(ctx.result(Status.unknown, target=POLICY_TARGET, reason=asked.reason,
                                   evidence=asked.evidence))
    return findings
