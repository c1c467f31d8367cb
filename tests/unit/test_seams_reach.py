"""ad.acl.reach_beyond (issue #35): the users outside the target OUs that the sync account's broader grant
reaches are named, protected ones first."""

from __future__ import annotations

from auditor.checks.base import Status
from auditor.checks.registry import check_by_id, run_check

from .cases_ad import BASE, baseline_policy
from .cases_seams import CASES, express_reach, seam_directory, seam_snapshot

CHECK = check_by_id("ad.acl.reach_beyond")


def run(case: str, policy=None):  # type: ignore[no-untyped-def]
    default_policy, snap = CASES["ad.acl.reach_beyond"][case]()
    return run_check(CHECK, policy or default_policy, snap)


def test_express_grant_names_the_unsynced_and_the_protected_users() -> None:
    (finding,) = run("fail")
    assert finding.status == Status.failed and finding.target == BASE
    reason = finding.reason or ""
    assert "3 user(s) outside the target OUs" in reason
    assert "svc-backup" in reason and "guest kiosk" in reason
    assert "1 of them protected: svc-sql (Backup Operators)" in reason
    assert finding.actual["protected"] == ["svc-sql (Backup Operators)"]
    assert any(e.source == BASE and "CIIO" in str(e.value) for e in finding.evidence)


def test_accepted_by_the_policy_passes_and_still_names_them() -> None:
    policy = baseline_policy()
    assert policy.directory is not None
    rights = policy.directory.rights.model_copy(update={"allow_beyond_target_ous": True})
    (finding,) = run("fail", baseline_policy(rights=rights))
    assert finding.status == Status.passed and "svc-sql" in (finding.reason or "")


def test_no_grant_outside_passes_and_a_grant_reaching_nobody_says_so() -> None:
    assert [f.status for f in run("pass")] == [Status.passed]
    reach = express_reach().model_copy(update={"users": []})
    (finding,) = run_check(CHECK, baseline_policy(), seam_snapshot(seam_directory(reach_beyond=reach)))
    assert finding.status == Status.passed and "any user created below" in (finding.reason or "")


def test_unread_reach_is_unknown() -> None:
    assert [f.status for f in run("unread")] == [Status.unknown]
    (old,) = run_check(CHECK, baseline_policy(), seam_snapshot(seam_directory(reach_beyond=None)))
    assert old.status == Status.unknown and "collect again" in (old.reason or "")
