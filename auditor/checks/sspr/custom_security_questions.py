"""sspr.custom_security_questions: the portal's chosen security questions are Microsoft's predefined ones when the
policy forbids custom questions.

Microsoft's SSPR documentation (concept-sspr-howitworks#security-questions) offers predefined questions, localized
into every language Entra ID supports, and lets admins write custom ones, which are not localized and which no one
vetted for answers that are hard to find or guess; security questions are the weakest method it offers and are not
used for administrators. A custom question already listed is offered the day the method is switched on, so it is
judged whether or not the method is on.
"""

from __future__ import annotations

from auditor.checks.base import CheckSpec, Context, Evidence, Finding, Fix, Severity, Status

KEY = "sspr.custom_security_questions"
FIELD = "securityQuestions"
TARGET = "custom security questions"

SPEC = CheckSpec(
    id="sspr.custom_security_questions",
    title="Security questions are Microsoft's predefined ones unless the policy allows custom questions",
    severity=Severity.low,
    policy_key=KEY,
    sections=("sspr_policy",),
    audit_log="sspr_settings",
    references=("https://learn.microsoft.com/entra/identity/authentication/concept-sspr-howitworks#security-questions",),
    fix=Fix(portal="Entra admin center > Protection > Password reset > Authentication methods > Security questions: "
                   "remove the custom questions and choose predefined ones (users who answered a removed question "
                   "register again)"),
    description="Reads the securityQuestions items (isCustom) of the portal's PasswordResetPolicies.",
    manual=("which predefined questions replace the custom ones is a choice the policy does not make (there must "
            "stay at least as many as users register), users who answered a removed question must register again, "
            "and the portal's securityQuestions items have no documented or captured write shape (the reader's "
            "{id, question, isCustom} is unconfirmed against a live tenant), so the plan writes none"),
)


def evaluate(ctx: Context) -> list[Finding]:
    sspr = ctx.policy.sspr
    assert sspr is not None
    if sspr.custom_security_questions is None:
        return [ctx.result(Status.not_applicable, target=TARGET, key=KEY,
                           reason="the policy does not say whether custom security questions are allowed")]
    live = ctx.section("sspr_policy")
    source = ctx.source("sspr_policy")
    if live.chosen_questions is None:
        return [ctx.result(Status.unknown, target=TARGET, expected=sspr.custom_security_questions, key=KEY,
                           evidence=[Evidence(source=source, field=FIELD, value=None)],
                           reason=f"the chosen questions could not be read: {live.chosen_questions_problem}")]
    custom = [q.text for q in live.chosen_questions if q.custom]
    evidence = [Evidence(source=source, field=f"{FIELD} (isCustom)", value=custom),
                Evidence(source=source, field="securityQuestionsOptionEnabled", value=live.security_questions)]
    actual = {"custom": len(custom), "predefined": len(live.chosen_questions) - len(custom)}
    expected = "custom questions allowed" if sspr.custom_security_questions else "predefined questions only"
    if custom and not sspr.custom_security_questions:
        offered = "offered to users now" if live.security_questions else "offered as soon as the method is on"
        return [ctx.result(Status.failed, target=TARGET, expected=expected, actual=actual, evidence=evidence,
                           key=KEY, reason=f"{len(custom)} custom question(s), {offered}: "
                                           + "; ".join(repr(text) for text in custom))]
    return [ctx.result(Status.passed, target=TARGET, expected=expected, actual=actual, evidence=evidence, key=KEY)]
