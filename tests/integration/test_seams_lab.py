"""The cloud side of the seam checks (issue #35) on the lab emulator, read by the real msgraph-sdk client:
`demo` fails each, `baseline` passes each."""

from __future__ import annotations

import pytest

from auditor.app.audit import collect_lab
from auditor.checks.registry import check_by_id, run_check
from auditor.endpoints import LabSelection
from auditor.policy.loader import load_policy
from tests.unit.cases_ad import BASELINE


@pytest.mark.parametrize(("scenario", "expected"), [("demo", {"verified domains": "fail"}),
                                                    ("baseline", {"verified domains": "pass"})])
def test_authentication_mode_of_each_verified_domain(scenario: str, expected: dict[str, str]) -> None:
    policy = load_policy(BASELINE)
    snapshot = collect_lab(LabSelection(scenario=scenario))
    assert snapshot.domains is not None and snapshot.domains.readable, snapshot.domains
    found = {f.target: f for f in run_check(check_by_id("hybrid.authentication"), policy, snapshot)}
    assert {t: f.status.value for t, f in found.items() if t == "verified domains"} == expected
    assert found["password hash sync"].status.value == "pass"  # both lab tenants sync hashes
    if scenario == "demo":
        assert "corp.example.test" in (found["verified domains"].reason or "")


@pytest.mark.parametrize(("scenario", "expected"), [("demo", "fail"), ("baseline", "pass")])
def test_registration_campaign_read_through_the_sdk(scenario: str, expected: str) -> None:
    snapshot = collect_lab(LabSelection(scenario=scenario))
    (finding,) = run_check(check_by_id("methods_policy.registration_campaign"), load_policy(BASELINE), snapshot)
    assert finding.status.value == expected, finding.reason


@pytest.mark.parametrize(("scenario", "expected"), [("demo", "fail"), ("baseline", "pass")])
def test_custom_banned_list_read_through_the_sdk(scenario: str, expected: str) -> None:
    snapshot = collect_lab(LabSelection(scenario=scenario))
    found = [f for f in run_check(check_by_id("password_protection"), load_policy(BASELINE), snapshot)
             if f.target == "custom banned password list"]
    assert [f.status.value for f in found] == [expected], [f.reason for f in found]


@pytest.mark.parametrize(("scenario", "expected"), [("demo", "fail"), ("baseline", "pass")])
def test_custom_security_questions_read_from_the_portal(scenario: str, expected: str) -> None:
    snapshot = collect_lab(LabSelection(scenario=scenario))
    (finding,) = run_check(check_by_id("sspr.custom_security_questions"), load_policy(BASELINE), snapshot)
    assert finding.status.value == expected, finding.reason
    if scenario == "demo":
        assert "What is your employee number?" in (finding.reason or "")


@pytest.mark.parametrize(("scenario", "expected"), [("demo", "fail"), ("baseline", "pass")])
def test_writeback_health_counts_failed_writebacks_read_through_the_sdk(scenario: str, expected: str) -> None:
    snapshot = collect_lab(LabSelection(scenario=scenario))
    assert snapshot.sspr_activity is not None and snapshot.sspr_activity.readable, snapshot.sspr_activity
    (finding,) = run_check(check_by_id("writeback.health"), load_policy(BASELINE), snapshot)
    assert finding.status.value == expected, finding.reason
    if scenario == "demo":  # the four failures the demo seeds, each kind from its documented resultReason
        assert finding.actual == 4
        assert {e.field: e.value for e in finding.evidence}["failed writebacks (by resultReason)"] == {
            "on-premises configuration error": 1, "on-premises connectivity error": 1,
            "on-premises service unreachable": 2}
    else:
        assert finding.actual == 0 and snapshot.sspr_activity.value.events > 0
