"""hybrid.lockout (issue #35): AD lockout against Entra smart lockout, each value's source side by side."""

from __future__ import annotations

from auditor.ad import gpttmpl
from auditor.ad.intervals import NEVER, minutes_to_interval
from auditor.checks.base import Status
from auditor.checks.registry import check_by_id, run_check
from auditor.readers.directory import DOMAIN_LOCKOUT, PSO_LOCKOUT, account_lockout
from auditor.snapshot.directory import AccountLockout
from auditor.snapshot.models import Section

from .cases_ad import BASE, PSO_SALES, baseline_policy
from .cases_seams import CASES, ad_lockout, rules, seam_directory, seam_snapshot, seam_sysvol

CHECK = check_by_id("hybrid.lockout")
DURATION = "AD lockout duration against smart lockout duration"


def lockout_policy(**changes: object):  # type: ignore[no-untyped-def]
    policy = baseline_policy()
    assert policy.directory is not None
    return baseline_policy(lockout=policy.directory.lockout.model_copy(update=changes))


def findings(case: str = "pass", policy=None, snap=None):  # type: ignore[no-untyped-def]
    default_policy, default_snap = CASES["hybrid.lockout"][case]()
    return {f.target: f for f in run_check(CHECK, policy or default_policy, snap or default_snap)}


def test_compliant_seam_passes_with_every_source_side_by_side() -> None:
    found = findings()
    assert {f.status for f in found.values()} == {Status.passed}
    assert PSO_SALES in found
    threshold = found["AD lockout threshold against smart lockout"]
    fields = {(e.source, e.field.split(",")[0]) for e in threshold.evidence}
    assert (BASE, "lockoutThreshold") in fields
    assert any(field == "LockoutBadCount" and "GptTmpl.inf" in source for source, field in fields)
    assert ("graph:/groupSettings", "LockoutThreshold") in fields
    assert threshold.actual["lockoutThreshold"] == 30


def test_winning_gpo_below_entra_fails_both_rules() -> None:
    found = findings("fail")
    threshold = found["AD lockout threshold against smart lockout"]
    duration = found[DURATION]
    assert threshold.status == duration.status == Status.failed
    assert "LockoutBadCount" in (threshold.reason or "") and "is 5" in (threshold.reason or "")
    assert "LockoutDuration" in (duration.reason or "") and "1800 s" in (duration.reason or "")
    assert "120 s" in (duration.reason or "") and "longer than the AD DS account lockout duration" in (
        duration.reason or "")


def test_pso_winning_for_in_scope_users_is_judged_alone() -> None:
    found = findings("fail_pso")
    assert found[PSO_SALES].status == Status.failed
    assert "PSO-Sales wins for 1 in-scope user(s)" in (found[PSO_SALES].reason or "")
    assert found["AD lockout threshold against smart lockout"].status == Status.passed


def test_entra_default_duration_of_60_s_is_not_longer_than_a_one_minute_lockout() -> None:
    found = findings("fail_cloud_default")
    duration = found[DURATION]
    assert duration.status == Status.failed and "default" in (duration.reason or "")


# Microsoft (howto-password-smart-lockout): "The Microsoft Entra lockout duration must be longer than the AD DS
# account lockout duration"; the page states no rule for "Reset account lockout counter after".
def test_short_window_with_long_lockout_duration_fails() -> None:
    snap = seam_snapshot(seam_directory(lockout=ad_lockout(window_minutes=1, duration_minutes=30)))
    found = findings(snap=snap)
    assert found[DURATION].status == Status.failed
    assert "lockoutDuration (seconds) on " + BASE in (found[DURATION].reason or "")
    assert "1800 s" in (found[DURATION].reason or "")


def test_long_window_with_short_lockout_duration_passes() -> None:
    snap = seam_snapshot(seam_directory(lockout=ad_lockout(window_minutes=30, duration_minutes=1),
                                        pso=ad_lockout(window_minutes=30, duration_minutes=1)),
                         seam_sysvol(reset_minutes=30, duration_minutes=1))
    found = findings(snap=snap)
    assert {f.status for f in found.values()} == {Status.passed}
    windows = [e for e in found[DURATION].evidence if "ObservationWindow" in e.field or "ResetLockoutCount" in e.field]
    assert windows and all(e.value == 1800 for e in windows)  # shown, not judged


def test_locked_until_an_administrator_unlocks_fails_everywhere() -> None:
    never = AccountLockout(threshold=30, observation_window=minutes_to_interval(1), duration=NEVER)
    snap = seam_snapshot(seam_directory(lockout=never, pso=never), seam_sysvol(duration_minutes=-1))
    found = findings(snap=snap)
    assert found[DURATION].status == Status.failed
    assert found[DURATION].reason is not None and found[DURATION].reason.count("never (locked until") == 2
    assert found[PSO_SALES].status == Status.failed and "never" in (found[PSO_SALES].reason or "")


def test_threshold_multiple_is_the_policys() -> None:
    policy = lockout_policy(threshold_multiple=4)
    found = findings(policy=policy)
    assert found["AD lockout threshold against smart lockout"].status == Status.failed  # 30 < 4 × 10


def test_ad_never_locking_out_passes_both() -> None:
    snap = seam_snapshot(seam_directory(lockout=ad_lockout(threshold=0, window_minutes=30), pso=ad_lockout(0, 30)),
                         seam_sysvol(bad_count=0, reset_minutes=30))
    assert {f.status for f in findings(snap=snap).values()} == {Status.passed}


def test_unread_lockout_attribute_is_unknown_never_pass() -> None:
    found = findings("unread_domain")
    assert found["AD lockout threshold against smart lockout"].status == Status.unknown
    assert "absent" in (found["AD lockout threshold against smart lockout"].reason or "")
    # a snapshot from before the lockout attributes were read
    snap = seam_snapshot(seam_directory(lockout=None))
    assert findings(snap=snap)["AD lockout threshold against smart lockout"].status == Status.unknown


def test_sysvol_unreadable_passing_domain_is_unknown_failing_stays_failed() -> None:
    broken = {"sysvol": Section.failed("smb:test", "STATUS_ACCESS_DENIED")}
    passing = findings(snap=seam_snapshot().model_copy(update=broken))
    assert passing["AD lockout threshold against smart lockout"].status == Status.unknown
    failing = seam_snapshot(seam_directory(lockout=ad_lockout(threshold=5))).model_copy(update=broken)
    assert findings(snap=failing)["AD lockout threshold against smart lockout"].status == Status.failed


def test_opting_out_is_not_applicable() -> None:
    policy = lockout_policy(compare_with_smart_lockout=False)
    assert [f.status for f in run_check(CHECK, policy, seam_snapshot(password_rules=rules()))] == [
        Status.not_applicable]


def test_gpttmpl_lockout_keys_and_ldap_lockout_values() -> None:
    template = gpttmpl.parse(b"[System Access]\r\nLockoutBadCount = 30\r\nResetLockoutCount = 1\r\n"
                             b"LockoutDuration = -1\r\n")
    assert [gpttmpl.system_access_int(template, k) for k in ("LockoutBadCount", "ResetLockoutCount",
                                                             "LockoutDuration")] == [30, 1, -1]
    head = account_lockout({"lockoutThreshold": [b"30"], "lockOutObservationWindow": [b"-600000000"],
                            "lockoutDuration": [b"-9223372036854775808"]}, BASE, DOMAIN_LOCKOUT)
    assert (head.threshold, head.window_seconds, head.duration_seconds, head.error) == (30, 60, None, None)
    pso = account_lockout({"msDS-LockoutThreshold": [b"x"]}, PSO_SALES, PSO_LOCKOUT)
    assert pso.threshold is None and "not an integer" in (pso.error or "") and "absent" in (pso.error or "")
