"""sspr.registration: users must register at sign-in and reconfirm as often as the policy says."""

from __future__ import annotations

import functools

from auditor.checks.base import CheckSpec, Context, Evidence, Finding, Fix, Severity, Status
from auditor.checks.sspr import portal_change, portal_setting
from auditor.fixes.fixer import FixContext, Fixer, on
from auditor.graph_fields import RECONFIRMATION_IN_DAYS
from auditor.portal_fields import REGISTRATION_CA_POLICIES, SSPR_FIELDS
from auditor.snapshot.models import SsprPolicyState

SPEC = CheckSpec(
    id="sspr.registration",
    title="Users register for SSPR at sign-in and reconfirm their methods on schedule",
    severity=Severity.medium,
    policy_key="sspr.registration",
    sections=("sspr_policy",),
    audit_log="sspr_settings",
    references=("https://learn.microsoft.com/entra/identity/authentication/howto-sspr-deployment",),
    fix=Fix(portal="Entra admin center > Protection > Password reset > Registration > Require users to register "
                   "when signing in / Number of days before users are asked to reconfirm"),
)


REGISTER, RECONFIRM, SKIP = "register at sign-in", "reconfirm interval", "skip registration"


def evaluate(ctx: Context) -> list[Finding]:
    sspr = ctx.policy.sspr
    assert sspr is not None
    if sspr.scope.value == "none":
        return [ctx.result(Status.not_applicable, reason="the policy turns SSPR off for users")]
    live = ctx.section("sspr_policy")
    source = ctx.source("sspr_policy")
    wanted = sspr.registration
    findings = [
        portal_setting(ctx, "sspr.registration.require_on_sign_in", target=REGISTER,
                       what="registration at sign-in"),
        _with_methods_policy_interval(ctx, portal_setting(ctx, "sspr.registration.reconfirm_days",
                                                          target=RECONFIRM,
                                                          what="the reconfirmation interval in days")),
    ]
    if wanted.max_skip_days is not None and wanted.require_on_sign_in:
        findings.append(_skip(ctx, wanted.max_skip_days, live, source))
    return findings


def _skip(ctx: Context, limit: int, live: SsprPolicyState, source: str) -> Finding:
    """Skipping the registration prompt undermines "require users to register when signing in": judge how long."""
    allowed, max_days = SSPR_FIELDS["skip_registration_allowed"], SSPR_FIELDS["skip_registration_max_days"]
    evidence = [Evidence(source=source, field=allowed, value=live.skip_registration_allowed),
                Evidence(source=source, field=max_days, value=live.skip_registration_max_days),
                Evidence(source=source, field=f"{REGISTRATION_CA_POLICIES} (count)",
                         value=live.registration_ca_policies)]
    result = functools.partial(ctx.result, target=SKIP, key="sspr.registration.max_skip_days",
                               expected=f"≤ {limit} day(s)", evidence=evidence)
    if live.skip_registration_allowed is None:
        return result(Status.unknown, reason=f"the portal returned no {allowed}")
    if live.skip_registration_allowed is False:
        return result(Status.passed, actual=0)
    days = live.skip_registration_max_days
    if days is None:
        return result(Status.unknown, reason=f"skipping is allowed but the portal returned no {max_days}")
    if days <= limit:
        return result(Status.passed, actual=days)
    return result(Status.failed, actual=days, reason=f"users may dismiss the registration prompt for up to {days} "
                      f"day(s), so they can reach their first reset unregistered; the policy allows {limit}")


def _with_methods_policy_interval(ctx: Context, finding: Finding) -> Finding:
    """The methods policy's own `reconfirmationInDays`, reported beside the portal's interval.

    It is in Graph v1.0's authenticationMethodsPolicy schema (msgraph-sdk's model has `reconfirmation_in_days`), but
    Microsoft documents no meaning for it and no rule for which of the two intervals SSPR follows
    (learn.microsoft.com/graph/api/resources/authenticationmethodspolicy lists no description). So it never
    decides the verdict: it is shown, and a disagreement with the portal's interval is said in the reason.
    """
    section = ctx.snapshot.methods_policy
    if section is None or not section.readable or section.value is None:
        return finding
    days = section.value.reconfirmation_in_days
    evidence = [*finding.evidence, Evidence(source=section.source, field=RECONFIRMATION_IN_DAYS, value=days)]
    portal = finding.actual
    if days is None or portal is None or days == portal:
        return finding.model_copy(update={"evidence": evidence})
    note = (f"the methods policy's own {RECONFIRMATION_IN_DAYS} is {days}, the portal's interval {portal}: "
            "Microsoft documents no rule for which one SSPR follows, so the verdict is the portal's")
    reason = f"{finding.reason}; {note}" if finding.reason else note
    return finding.model_copy(update={"evidence": evidence, "reason": reason})


def fix(fx: FixContext, failing: list[Finding]) -> None:
    """Each failing setting by its finding's target, so a key the policy leaves to its default is fixed as a
    written one is (its finding's location is then the section's)."""
    sspr = fx.policy.sspr
    if sspr is None:
        return
    wanted = sspr.registration

    def about(target: str) -> list[Finding]:
        return [f for f in failing if f.target == target]

    portal_change(fx, about(REGISTER), lambda live: f"require registration at sign-in: "
                  f"{on(live.registration_required_on_sign_in)} → {on(wanted.require_on_sign_in)}",
                  ("sspr.registration.require_on_sign_in",))
    portal_change(fx, about(RECONFIRM), lambda live: f"days before users reconfirm their methods: "
                  f"{live.reconfirm_days} → {wanted.reconfirm_days}", ("sspr.registration.reconfirm_days",))
    if wanted.max_skip_days is not None:
        skip = ({"skip_registration_allowed": False} if wanted.max_skip_days == 0 else
                {"skip_registration_max_days": wanted.max_skip_days})
        portal_change(fx, about(SKIP), lambda live: f"days users may skip registering: "
                      f"{live.skip_registration_max_days} → {wanted.max_skip_days}", pairs=skip)


FIXER = Fixer(plan=fix, after=("sspr.security_questions",))
