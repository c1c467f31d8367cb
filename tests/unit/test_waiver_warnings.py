"""A waiver that matches nothing is a warning in the report, never a failure; expired ones fail again."""

from __future__ import annotations

from datetime import date

from auditor.app.audit import ExitPolicy, audit
from auditor.checks.base import Finding, Status, Waiver, unmatched_waivers
from auditor.policy.models import Policy
from tests.unit.cases_cloud import baseline_policy, compliant_snapshot, with_sspr

TODAY = date(2026, 11, 22)


def policy_with_waivers(*waivers: dict[str, object]) -> Policy:
    data = baseline_policy().model_dump()
    data["waivers"] = [{"reason": "because", "owner": "ann", "expires": date(2027, 1, 1), **w} for w in waivers]
    return Policy.model_validate(data)


def test_waiver_for_an_unknown_check_is_a_warning() -> None:
    result = audit(policy_with_waivers({"check": "sspr.gatez"}), compliant_snapshot(), ExitPolicy(), today=TODAY)
    assert result.report.warnings == ["waivers[0] for `sspr.gatez` matches nothing: no check has this id"]
    assert result.report.summary.by_status["fail"] == 0  # a warning never fails


def test_waiver_for_an_unknown_target_lists_the_targets() -> None:
    policy = policy_with_waivers({"check": "sspr.methods", "target": "fax"})
    (warning,) = audit(policy, compliant_snapshot(), ExitPolicy(), today=TODAY).report.warnings
    assert "target `fax`" in warning and "`email`" in warning and "`security_questions`" in warning


def test_waiver_whose_check_passes_has_nothing_to_waive() -> None:
    (warning,) = audit(policy_with_waivers({"check": "sspr.gates"}), compliant_snapshot(), ExitPolicy(),
                       today=TODAY).report.warnings
    assert warning.endswith("nothing to waive: the finding is pass")


def test_used_waivers_are_not_warnings_and_expired_ones_count_as_used() -> None:
    policy = policy_with_waivers({"check": "sspr.gates"},
                                 {"check": "sspr.notify_admins", "expires": date(2026, 11, 21)})
    snapshot = with_sspr(methods_required=1, notify_admins=False)
    report = audit(policy, snapshot, ExitPolicy(), today=TODAY).report
    assert report.warnings == []
    statuses = {f.check: f.status for f in report.findings}
    assert statuses["sspr.gates"] == Status.waived
    assert statuses["sspr.notify_admins"] == Status.failed
    expired = next(f for f in report.findings if f.check == "sspr.notify_admins")
    assert expired.waiver is not None and expired.waiver.expired
    assert report.summary.exit_code == 1


def test_check_wide_waiver_shadowed_by_a_target_waiver_is_reported() -> None:
    findings = [Finding(check="sspr.methods", title="t", status=Status.waived, severity="medium", target="email")]
    waivers = [Waiver(check="sspr.methods", reason="wide", owner="o", expires=date(2027, 1, 1)),
               Waiver(check="sspr.methods", target="email", reason="narrow", owner="o", expires=date(2027, 1, 1))]
    (unused,) = unmatched_waivers(findings, waivers, {"sspr.methods"})
    assert unused.index == 0 and "exact target" in unused.message()

