"""writeback.health (issue 35): a threshold on failed writebacks in the SSPR audit window.

Which failures count is Microsoft's: the password reset activity report's "Failed" details naming the on-premises
side (azure-docs active-directory-passwords-get-insights.md, "Allowed values for details column") and the SSPR
error codes WritebackNotEnabled = 10, OnPremisesAdminActionRequired = 29, OnPremisesConnectivityError = 30
(https://learn.microsoft.com/entra/identity/authentication/troubleshoot-sspr).
"""

from __future__ import annotations

from typing import Any

import pytest

from auditor.checks.base import Status
from auditor.checks.registry import check_by_id, run_check
from auditor.export.seams import failed_writebacks_leaf
from auditor.graph_fields import writeback_failure
from auditor.snapshot.models import Section
from auditor.snapshot.tenant import SsprActivityState

from .cases_cloud import baseline_policy
from .cases_seams import activity_snapshot, failed_writeback

CHECK = check_by_id("writeback.health")
RESET = "Reset password (self-service)"
UNREACHABLE = "We could not reach your on-premises password reset service. Check your sync machine's event log"


def policy(limit: int | None = 0, enabled: bool = True) -> Any:
    base = baseline_policy()
    assert base.writeback is not None
    return base.model_copy(update={"writeback": base.writeback.model_copy(
        update={"max_failed_writebacks": limit, "enabled": enabled})})


def judged(snapshot: Any, limit: int | None = 0, enabled: bool = True) -> Any:
    (finding,) = run_check(CHECK, policy(limit, enabled), snapshot)
    return finding


@pytest.mark.parametrize(("activity", "reason", "kind"), [
    (RESET, UNREACHABLE, "on-premises service unreachable"),
    ("Self-service password reset flow activity progress",
     "We encountered a problem while resetting the user's on-premises password. Check your sync machine's event log",
     "on-premises reset failed"),
    (RESET, "SSPR_0030: We can't reset your password due to a poor connection with your on-premises environment.",
     "on-premises connectivity error"),
    ("Unlock user account (self-service)", "OnPremisesAdminActionRequired", "on-premises configuration error"),
    ("Change password (self-service)", "User\u2019s password is managed on-premises. You can enable Password "
                                       "Writeback to resolve this", "writeback not enabled"),
])
def test_documented_writeback_reasons_are_failed_writebacks(activity: str, reason: str, kind: str) -> None:
    assert writeback_failure(activity, "failure", reason) == kind
    assert writeback_failure(activity.upper(), "Failure", f"  {reason.upper()} ") == kind


@pytest.mark.parametrize(("activity", "result", "reason"), [
    (RESET, "success", UNREACHABLE),  # a success is never a failure, whatever the text
    (RESET, "failure", "User failed verification"),  # the user's own failure, not writeback's
    (RESET, "failure", "On-premises policy violation"),  # the password broke AD's policy: the user's choice
    (RESET, "failure", None),
    (RESET, "failure", ""),
    ("Reset password (by admin)", "failure", UNREACHABLE),  # not a self-service activity
    ("Blocked from self-service password reset", "failure", "SSPR_0030"),
])
def test_other_events_are_not_failed_writebacks(activity: str, result: str, reason: str | None) -> None:
    assert writeback_failure(activity, result, reason) is None


def test_above_the_threshold_fails_with_counts_latest_time_and_users() -> None:
    snap = activity_snapshot(failed_writeback(3), failed_writeback(9, "on-premises connectivity error", user="u2"),
                             failed_writeback(20, user="u1"))
    finding = judged(snap, limit=2)
    assert finding.status == Status.failed and finding.actual == 3
    reason = finding.reason or ""
    assert "2 on-premises service unreachable" in reason and "1 on-premises connectivity error" in reason
    assert "2 user(s)" in reason and "the last 30 days" in reason
    assert "2026-" not in reason  # the moments are in the evidence: a reason reads the same from run to run
    evidence = {e.field: e.value for e in finding.evidence}
    assert evidence["failed writebacks (by resultReason)"] == {"on-premises connectivity error": 1,
                                                               "on-premises service unreachable": 2}
    assert "2026-11-20 10:00 UTC" in evidence["latest failed writeback"]


def test_at_the_threshold_passes_and_says_how_many() -> None:
    finding = judged(activity_snapshot(failed_writeback(3), failed_writeback(4)), limit=2)
    assert finding.status == Status.passed and finding.actual == 2
    assert "2 failed writeback(s) among 40 SSPR event(s)" in (finding.reason or "")


def test_a_window_without_any_event_is_unknown_never_a_pass() -> None:
    finding = judged(activity_snapshot(events=0))
    assert finding.status == Status.unknown
    assert "holds no event" in (finding.reason or "") and "not retained" in (finding.reason or "")


def test_an_unreadable_audit_log_is_unknown() -> None:
    unread = activity_snapshot().model_copy(update={"sspr_activity": Section[SsprActivityState].failed(
        "graph:GET /auditLogs/directoryAudits", "HTTP 403: Authentication_RequestFromNonPremiumTenantOrB2CTenant")})
    finding = judged(unread)
    assert finding.status == Status.unknown and "403" in (finding.reason or "")


def test_no_threshold_or_writeback_off_is_not_applicable() -> None:
    assert judged(activity_snapshot(failed_writeback(3)), limit=None).status == Status.not_applicable
    assert judged(activity_snapshot(failed_writeback(3)), enabled=False).status == Status.not_applicable


def test_the_baseline_allows_no_failed_writeback() -> None:
    assert baseline_policy().writeback.max_failed_writebacks == 0  # type: ignore[union-attr]


def test_export_writes_today_s_count_or_says_why_not() -> None:
    leaf = failed_writebacks_leaf(activity_snapshot(failed_writeback(3), failed_writeback(9)))
    assert leaf.value == 2 and "2026-11-09 10:00 UTC" in leaf.source
    assert failed_writebacks_leaf(activity_snapshot()).value == 0
    empty = failed_writebacks_leaf(activity_snapshot(events=0))
    assert empty.value is None and "no SSPR audit event" in (empty.absent or "")
    unread = failed_writebacks_leaf(activity_snapshot().model_copy(update={"sspr_activity": None}))
    assert unread.value is None and unread.absent


def test_the_on_premises_section_shows_failed_writebacks_and_what_is_not_exposed() -> None:
    from auditor.onprem_view import seam_facts

    snap = activity_snapshot(failed_writeback(3), failed_writeback(9, "on-premises connectivity error"))
    finding = judged(snap, limit=0)
    facts = {(f.topic, f.name): f for f in seam_facts(snap, {"writeback.health": [finding]})}
    counted = facts[("writeback", "failed writebacks in the SSPR audit window")]
    assert counted.status == Status.failed and counted.value is not None
    assert counted.value.startswith("2 of 40 event(s)") and "2026-11-09 10:00 UTC" in counted.value
    status = facts[("writeback", "writeback client connection status")]
    assert status.value is None and "not exposed" in (status.note or "")
    version = facts[("Entra Connect", "version")]
    assert version.value is None and "verify-sync-tool-version" in (version.note or "")
    empty = {f.name: f for f in seam_facts(activity_snapshot(events=0), {})}
    assert empty["failed writebacks in the SSPR audit window"].value is None
