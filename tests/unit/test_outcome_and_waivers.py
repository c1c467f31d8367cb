"""Waivers (reason, owner, expiry; expired ones fail again) and the exit codes CI gates on."""

from __future__ import annotations

from datetime import date

from auditor.checks.base import Finding, Severity, Status, apply_waivers
from auditor.checks.exit_codes import Summary, exit_code
from auditor.exit_codes import Exit
from auditor.policy.models import Waiver


def finding(status: Status, severity: Severity = Severity.medium, check: str = "sspr.gates",
            target: str = "tenant") -> Finding:
    return Finding(check=check, title="t", status=status, severity=severity, target=target)


def waiver(expires: date, target: str | None = None, check: str = "sspr.gates") -> Waiver:
    return Waiver(check=check, target=target, reason="pilot phase", owner="ann@example.test",
                  ticket="SEC-1", expires=expires)


TODAY = date(2026, 11, 22)


def test_live_waiver_turns_failure_into_waived() -> None:
    (result,) = apply_waivers([finding(Status.failed)], [waiver(date(2026, 12, 31))], TODAY)
    assert result.status == Status.waived
    assert result.waiver is not None and not result.waiver.expired and result.waiver.owner == "ann@example.test"


def test_waiver_expired_yesterday_fails_again_and_says_so() -> None:
    (result,) = apply_waivers([finding(Status.failed)], [waiver(date(2026, 11, 21))], TODAY)
    assert result.status == Status.failed
    assert result.waiver is not None and result.waiver.expired


def test_waiver_expiring_today_still_applies() -> None:
    (result,) = apply_waivers([finding(Status.failed)], [waiver(TODAY)], TODAY)
    assert result.status == Status.waived


def test_waiver_for_other_target_or_check_does_not_apply() -> None:
    findings = [finding(Status.failed, target="OU=A"), finding(Status.failed, check="sspr.scope")]
    results = apply_waivers(findings, [waiver(date(2027, 1, 1), target="OU=B")], TODAY)
    assert [r.status for r in results] == [Status.failed, Status.failed]


def test_waivers_never_touch_pass_or_unknown() -> None:
    results = apply_waivers([finding(Status.passed), finding(Status.unknown)], [waiver(date(2027, 1, 1))], TODAY)
    assert [r.status for r in results] == [Status.passed, Status.unknown]
    assert all(r.waiver is None for r in results)


def test_exit_codes() -> None:
    assert exit_code([finding(Status.passed), finding(Status.waived)]) == Exit.ok
    assert exit_code([finding(Status.passed), finding(Status.unknown)]) == Exit.incomplete
    assert exit_code([finding(Status.unknown)], unknown_fails=False) == Exit.ok
    assert exit_code([finding(Status.failed), finding(Status.unknown)]) == Exit.drift
    low = [finding(Status.failed, Severity.low)]
    assert exit_code(low, fail_on=Severity.medium) == Exit.ok
    assert exit_code(low, fail_on=Severity.low) == Exit.drift


def test_summary_counts_every_status() -> None:
    summary = Summary.of([finding(Status.failed, Severity.high), finding(Status.passed)])
    assert set(summary.by_status) == {s.value for s in Status}
    assert summary.by_status["fail"] == 1 and summary.by_status["unknown"] == 0
    assert summary.failed_by_severity["high"] == 1 and summary.total == 2
