"""sspr.security_questions: when security questions are allowed, the counts match the policy."""

from __future__ import annotations

from auditor.checks.base import CheckSpec, Context, Evidence, Finding, Fix, Severity, Status
from auditor.checks.sspr import portal_change
from auditor.fixes.fixer import FixContext, Fixer
from auditor.portal_fields import SSPR_FIELDS

SPEC = CheckSpec(
    id="sspr.security_questions",
    title="Security questions, where allowed, require the declared number of answers",
    severity=Severity.low,
    policy_key="sspr.security_questions",
    sections=("sspr_policy",),
    audit_log="sspr_settings",
    references=("https://learn.microsoft.com/entra/identity/authentication/concept-sspr-howitworks",),
    fix=Fix(portal="Entra admin center > Protection > Password reset > Authentication methods > "
                   "Number of questions required to register / to reset"),
)


def evaluate(ctx: Context) -> list[Finding]:
    sspr = ctx.policy.sspr
    assert sspr is not None
    if sspr.scope.value == "none" or not sspr.methods.security_questions or sspr.security_questions is None:
        return [ctx.result(Status.not_applicable, key="sspr.methods.security_questions",
                           reason="the policy does not allow security questions (sspr.methods covers the toggle)")]
    live = ctx.section("sspr_policy")
    source = ctx.source("sspr_policy")
    wanted = sspr.security_questions
    return [
        ctx.compare(wanted.number_to_register, live.questions_to_register,
                    [Evidence(source=source, field=SSPR_FIELDS["questions_to_register"],
                              value=live.questions_to_register)],
                    target="questions to register", key="sspr.security_questions.number_to_register",
                    what="the number of questions to register"),
        ctx.compare(wanted.number_to_reset, live.questions_to_reset,
                    [Evidence(source=source, field=SSPR_FIELDS["questions_to_reset"], value=live.questions_to_reset)],
                    target="questions to reset", key="sspr.security_questions.number_to_reset",
                    what="the number of questions to reset"),
    ]


def fix(fx: FixContext, failing: list[Finding]) -> None:
    sspr = fx.policy.sspr
    if sspr is not None and sspr.security_questions is not None:
        portal_change(fx, failing, lambda live: "security questions to register / to reset",
                      ("sspr.security_questions.number_to_register", "sspr.security_questions.number_to_reset"))


FIXER = Fixer(plan=fix, after=("sspr.gates",))
