"""Group names are compared trimmed and case-insensitively, and the evidence says so (issue 30).

The portal can return `passwordResetEnabledGroupName` with a trailing space (the name as typed in the portal);
a policy that names the group without it is the same group. main compared untrimmed: a wrong fail.
"""

from __future__ import annotations

from auditor.checks.base import Status
from auditor.checks.registry import run_checks
from auditor.policy.models import GroupRef, Scope
from auditor.snapshot.models import Section, SsprPolicyState
from auditor.snapshot.tenant import ScopeGroup, ScopeGroupsState
from auditor.text import same_name
from tests.unit.cases_cloud import baseline_policy, compliant_snapshot, compliant_sspr

GROUP_ID = "2c6a8e1f-4b3d-4e5f-9a7b-8c9d0e1f2a3b"


def scope_finding(portal_name: str, policy_name: str) -> object:
    policy = baseline_policy()
    assert policy.sspr is not None
    sspr = policy.sspr.model_copy(update={"scope": Scope.selected, "group": GroupRef(name=policy_name)})
    policy = policy.model_copy(update={"sspr": sspr})
    live = compliant_sspr().model_copy(update={"enablement": "selected", "group_ids": [GROUP_ID],
                                               "group_name": portal_name})
    snapshot = compliant_snapshot(sspr_policy=Section[SsprPolicyState].ok("portal:test", live))
    return next(f for f in run_checks(policy, snapshot) if f.check == "sspr.scope" and f.target == "scope group")


def test_a_trailing_space_in_the_portal_name_is_the_same_group() -> None:
    finding = scope_finding("SSPR Pilot ", "sspr pilot")
    assert finding.status == Status.passed, finding  # type: ignore[attr-defined]
    shown = [e for e in finding.evidence if "how compared" in e.field]  # type: ignore[attr-defined]
    assert shown and "trimmed" in shown[0].value and "case-insensitively" in shown[0].value


def test_a_different_name_still_fails() -> None:
    assert scope_finding("SSPR Pilot 2", "SSPR Pilot").status == Status.failed  # type: ignore[attr-defined]


def test_inner_whitespace_and_empty_names_are_not_trimmed_away() -> None:
    assert not same_name("SSPR  Pilot", "SSPR Pilot") and not same_name(" ", "") and same_name(" A\t", "a")


def test_a_scope_group_is_found_by_a_trimmed_name() -> None:
    state = ScopeGroupsState(groups=[ScopeGroup(query="SSPR Pilot", why=["scope"], found=True, id=GROUP_ID,
                                                display_name="SSPR Pilot ")])
    found = state.find(name="sspr pilot")
    assert found is not None and found.id == GROUP_ID
