"""Wrong verdicts of issue 13 as unit cases (the HTTP and Samba ones live in tests/integration)."""

from __future__ import annotations

from tests.unit.cases_cloud import baseline_policy


def test_secure_score_counting_nobody_is_neither_pass_nor_fail() -> None:
    # issue 13 (4): count "0" of total "0" was shown as a measured "0 of 1 (0%)"
    from auditor.checks.base import Status
    from auditor.checks.registry import all_checks, run_check
    from auditor.snapshot.coverage import SecureScoreState
    from auditor.snapshot.models import Section
    from tests.unit.cases_coverage import coverage_snapshot, secure_score

    check = next(c for c in all_checks() if c.spec.id == "secure_score.sspr")
    nobody = secure_score(0.0, 0).model_copy(update={"total": 0, "percent": 0.0})
    policy, _ = baseline_policy(), None
    snapshot = coverage_snapshot(secure_score=Section[SecureScoreState].ok("graph:test", nobody))
    [finding] = run_check(check, policy, snapshot)
    assert finding.status == Status.unknown and "counted no users" in (finding.reason or "")


def test_writeback_is_on_only_when_both_portal_fields_say_so() -> None:
    # issue 13 (3): enablementForTenant true with passwordWritebackSupported false was a pass
    from auditor.checks.base import Status
    from auditor.checks.registry import all_checks, run_check
    from tests.unit.cases_cloud import with_onprem

    check = next(c for c in all_checks() if c.spec.id == "writeback.enabled")
    [half] = run_check(check, baseline_policy(), with_onprem(writeback_enabled=True, writeback_supported=False))
    assert half.status == Status.failed and "passwordWritebackSupported is false" in (half.reason or "")
    [unknown] = run_check(check, baseline_policy(), with_onprem(writeback_enabled=True, writeback_supported=None))
    assert unknown.status == Status.unknown
    [both] = run_check(check, baseline_policy(), with_onprem())
    assert both.status == Status.passed
