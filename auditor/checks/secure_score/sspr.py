"""secure_score.sspr: Secure Score's SelfServicePasswordReset control is at the level the policy asks."""

from __future__ import annotations

from auditor.checks.base import CheckSpec, Context, Evidence, Finding, Fix, Severity, Status, Unreadable
from auditor.derive.figures import control_max, control_percent, project_secure_score
from auditor.graph_fields import SSPR_CONTROL

SPEC = CheckSpec(
    id="secure_score.sspr",
    title="Secure Score's self-service password reset control is at the expected level",
    severity=Severity.low,
    policy_key="coverage.secure_score_min_percent",
    sections=("secure_score",),
    references=(
        "https://learn.microsoft.com/graph/api/resources/securescore",
        "https://learn.microsoft.com/defender-xdr/microsoft-secure-score",
    ),
    fix=Fix(portal="Entra admin center > Protection > Password reset > Properties: enable SSPR for all users "
                   "(Secure Score recomputes the control within a day)"),
    secure_score_control=SSPR_CONTROL,
)


def evaluate(ctx: Context) -> list[Finding]:
    coverage = ctx.policy.coverage
    assert coverage is not None
    state = ctx.section("secure_score")
    source = ctx.source("secure_score")
    if not state.found:
        raise Unreadable(f"the latest Secure Score does not list the {state.control} control",
                         [Evidence(source=source, field="controlScores[].controlName", value=state.control)])
    if state.total == 0:
        # Secure Score counted no user against the control: its score then measures nothing (public sample data
        # shows count 0 of total 0 scored 100%). Neither a pass nor a measured failure.
        return [ctx.result(Status.unknown, target=state.control, expected={"min_percent":
                                                                           coverage.secure_score_min_percent},
                           actual={"count": state.count, "total": state.total, "score": state.score},
                           evidence=[Evidence(source=source, field=f"controlScores[{state.control}].count/total",
                                              value={"count": state.count, "total": state.total})],
                           reason=f"Secure Score counted no users for {state.control} (count {state.count} of "
                                  "total 0): the control measures nobody, so its score says nothing either way; "
                                  "registration.coverage and licensing.in_scope judge the users directly")]
    percent = control_percent(state)
    if percent is None:
        raise Unreadable(f"the {state.control} control has no score in the latest Secure Score",
                         [Evidence(source=source, field="controlScores[].score", value=state.score)])
    projection = project_secure_score(ctx.policy, ctx.snapshot, state)
    actual = {"score": state.score, "max_score": control_max(state), "percent": percent,
              "status": state.implementation_status,
              "as_of": state.as_of.isoformat() if state.as_of else None}
    if projection is not None:
        actual["projected_score"] = projection.score
        actual["projected_change"] = projection.change
        actual["projection"] = f"estimate: {projection.basis}"
    evidence = [
        Evidence(source=source, field=f"controlScores[{state.control}].score", value=state.score),
        Evidence(source=source, field=f"controlScores[{state.control}].implementationStatus",
                 value=state.implementation_status),
        Evidence(source=source, field=f"secureScoreControlProfiles[{state.control}].maxScore", value=state.max_score),
    ]
    expected = {"min_percent": coverage.secure_score_min_percent}
    if percent >= coverage.secure_score_min_percent:
        return [ctx.result(Status.passed, target=state.control, expected=expected, actual=actual,
                           evidence=evidence)]
    change = (f"; applying the policy's SSPR scope would change it by {projection.change:+g} "
              f"(an estimate: {projection.basis})" if projection is not None else "")
    top = _show(control_max(state))
    return [ctx.result(Status.failed, target=state.control, expected=expected, actual=actual, evidence=evidence,
                       reason=f"the control scores {state.score:g} of {top} ({percent:g}%), below the policy's "
                              f"{coverage.secure_score_min_percent:g}%{change}")]


def _show(number: float | None) -> str:
    return "?" if number is None else f"{number:g}"
