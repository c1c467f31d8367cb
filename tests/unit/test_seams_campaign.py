"""methods_policy.registration_campaign (issue #35): the registration campaign's state as the policy says."""

from __future__ import annotations

from auditor.checks.base import Status
from auditor.checks.registry import check_by_id, run_check

from .cases_ad import baseline_policy
from .cases_seams import CASES, campaign_snapshot

CHECK = check_by_id("methods_policy.registration_campaign")


def test_default_fails_enabled_passes_absent_is_unknown() -> None:
    for case, status in (("pass", Status.passed), ("fail", Status.failed), ("absent", Status.unknown)):
        policy, snap = CASES["methods_policy.registration_campaign"][case]()
        (finding,) = run_check(CHECK, policy, snap)
        assert finding.status == status, case
    policy, snap = CASES["methods_policy.registration_campaign"]["fail"]()
    (finding,) = run_check(CHECK, policy, snap)
    assert finding.actual == "default" and finding.expected == "enabled"


def test_not_asked_is_not_applicable() -> None:
    policy = baseline_policy()
    assert policy.methods_policy is not None
    policy = policy.model_copy(update={"methods_policy": policy.methods_policy.model_copy(
        update={"registration_campaign": None})})
    assert [f.status for f in run_check(CHECK, policy, campaign_snapshot("disabled"))] == [Status.not_applicable]
