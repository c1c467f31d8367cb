"""hybrid.authentication (issue #35): the verified domains' authentication type and password hash sync."""

from __future__ import annotations

from auditor.checks.base import Status
from auditor.checks.registry import check_by_id, run_check
from auditor.snapshot.models import Section

from .cases_ad import baseline_policy
from .cases_seams import CASES, domains_snapshot

CHECK = check_by_id("hybrid.authentication")


def findings(case: str):  # type: ignore[no-untyped-def]
    policy, snap = CASES["hybrid.authentication"][case]()
    return {f.target: f for f in run_check(CHECK, policy, snap)}


def writeback(**changes: object):  # type: ignore[no-untyped-def]
    policy = baseline_policy()
    assert policy.writeback is not None
    return policy.model_copy(update={"writeback": policy.writeback.model_copy(update=changes)})


def test_a_verified_federated_domain_fails_naming_it_unverified_ones_do_not_count() -> None:
    found = findings("fail")["verified domains"]
    assert found.status == Status.failed and "corp.example.test" in (found.reason or "")
    assert "unverified.example" not in (found.reason or "")
    assert findings("pass")["verified domains"].actual == {"contoso-lab.onmicrosoft.com": "Managed",
                                                           "corp.example.test": "Managed"}


def test_federation_accepted_and_hash_sync_not_asked() -> None:
    policy = writeback(federated_domains_allowed=True, password_hash_sync=None)
    statuses = [f.status for f in run_check(CHECK, policy, domains_snapshot(federated=True, hash_sync=False))]
    assert statuses == [Status.passed]


def test_hash_sync_off_fails_and_unread_sync_features_is_unknown_alone() -> None:
    assert findings("fail_hash_sync")["password hash sync"].status == Status.failed
    snap = domains_snapshot().model_copy(update={"sync_features": Section.failed("graph:sync", "HTTP 403")})
    found = {f.target: f.status for f in run_check(CHECK, baseline_policy(), snap)}
    assert found == {"verified domains": Status.passed, "password hash sync": Status.unknown}
