"""Wrong verdicts of issue 13 as unit cases (the HTTP and Samba ones live in tests/integration)."""

from __future__ import annotations

from tests.unit.cases_cloud import baseline_policy


def test_secure_score_counting_nobody_is_neither_pass_nor_fail() -> None:
    # issue 13 (4): count "0" of total "0" was shown as a measured "0 of 1 (0%)"
    from auditor.checks.base import Status
    from auditor.checks.registry import all_checks, run_check
    from auditor.snapshot.models import Section
    from auditor.snapshot.tenant import SecureScoreState
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


def test_an_empty_portal_group_name_is_resolved_by_id() -> None:
    # issue 13 (3): passwordResetEnabledGroupName "" failed a policy naming its group by display name
    from auditor.checks.base import Status
    from auditor.checks.registry import all_checks, run_check
    from auditor.snapshot.models import Section, SsprPolicyState
    from tests.unit.cases_coverage import PILOT, USERS, policy_with, selected_scope_snapshot

    sspr = {**baseline_policy().model_dump()["sspr"], "scope": "selected", "group": {"name": "SSPR-Pilot"}}
    policy = policy_with(sspr=sspr)
    check = next(c for c in all_checks() if c.spec.id == "sspr.scope")

    def group_finding(group_ids: list[str]):
        snapshot = selected_scope_snapshot(USERS[:5])
        live = snapshot.sspr_policy.value.model_copy(update={"group_name": "", "group_ids": group_ids})
        snapshot = snapshot.model_copy(update={"sspr_policy": Section[SsprPolicyState].ok("portal:test", live)})
        return next(f for f in run_check(check, policy, snapshot) if f.target == "scope group")

    assert group_finding([PILOT]).status == Status.passed
    assert group_finding(["00000000-0000-0000-0000-0000000000aa"]).status == Status.failed


def test_a_passwordless_only_authenticator_target_offers_no_notification() -> None:
    """authenticationMode deviceBasedPush is "passwordless only" (microsoftauthenticatorauthenticationmethodtarget):
    counted as no app notification for SSPR, while the app code still reaches everyone."""
    from auditor.checks.base import Status
    from auditor.checks.registry import all_checks, run_check
    from auditor.readers.graph import _method_configuration
    from auditor.snapshot.models import Section
    from tests.unit.cases_cloud import compliant_methods
    from tests.unit.cases_coverage import coverage_snapshot

    config = _method_configuration({
        "id": "MicrosoftAuthenticator", "state": "enabled", "excludeTargets": [],
        "includeTargets": [{"targetType": "group", "id": "all_users", "authenticationMode": "deviceBasedPush"}]})
    assert config.passwordless_only_target_ids == ["all_users"]
    methods = compliant_methods()
    methods = methods.model_copy(update={"configurations": [
        config if c.id == "MicrosoftAuthenticator" else c for c in methods.configurations]})
    check = next(c for c in all_checks() if c.spec.id == "sspr.methods")
    findings = {f.target: f for f in run_check(check, baseline_policy(), coverage_snapshot(
        methods_policy=Section.ok("graph:test", methods)))}
    assert findings["mobile_app_notification"].status == Status.failed  # a pass before the mode was read
    assert "passwordless only" in (findings["mobile_app_notification"].reason or "")
    assert findings["mobile_app_code"].status == Status.passed
