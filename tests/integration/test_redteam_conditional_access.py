"""Hostile input for registration.conditional_access (issue #34): a registration policy with a condition the tool
does not model. The reader runs the real msgraph-sdk client against the lab emulator over HTTP; the lab's baseline
policy (which covers every in-scope user) gains the condition, and the per-user verdict must turn unknown, never
stay `covered`: a condition narrows when the policy applies, and one we cannot read could leave anyone out."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from auditor.derive.registration_ca import Person, Requirement, judge
from auditor.lab.scenario import load_scenario
from auditor.readers.conditional_access import read_conditional_access
from tests.integration.test_conditional_access_lab import read, served

# Graph v1.0 conditionalAccessConditionSet lists servicePrincipalRiskLevels; beta adds agentIdRiskLevels
# (learn.microsoft.com/graph/api/resources/conditionalaccessconditionset, ?view=graph-rest-beta). ScubaGear's
# real export already carries `Agents`, `Times` and `DeviceStates` (null there).
UNMODELLED = [
    ("servicePrincipalRiskLevels", ["high"]),
    ("agentIdRiskLevels", "high"),
    ("agents", {"includeAgentIds": ["All"]}),
]


def _verdict(policy: dict[str, Any]) -> str:
    with served([policy]) as lab:
        section = read(lab, read_conditional_access)
    assert section.readable, section.error
    person = Person(id="8c01e6cd-9098-58b3-8809-e6b5c7b4da79", upn="ann.lee@corp.example.test", guest=False)
    return judge(person, section.value, Requirement(control="mfa")).status


def _baseline_policy() -> dict[str, Any]:
    policy = copy.deepcopy(load_scenario("baseline").conditional_access_policies[0])
    policy["conditions"]["users"].update(includeUsers=["All"], excludeUsers=[], excludeGroups=[], excludeRoles=[])
    return policy


def test_the_baseline_policy_covers_the_user() -> None:
    assert _verdict(_baseline_policy()) == "covered"


@pytest.mark.parametrize(("field", "value"), UNMODELLED)
def test_a_condition_the_tool_does_not_model_makes_the_user_unknown(field: str, value: Any) -> None:
    policy = _baseline_policy()
    policy["conditions"][field] = value
    assert _verdict(policy) == "unknown"


@pytest.mark.parametrize("empty", [None, [], {}])
def test_an_unmodelled_condition_sent_empty_does_not_narrow(empty: Any) -> None:
    policy = _baseline_policy()
    policy["conditions"]["servicePrincipalRiskLevels"] = empty
    policy["conditions"]["times"] = None
    assert _verdict(policy) == "covered"


def test_a_role_held_only_at_administrative_unit_scope_does_not_bring_the_user_in() -> None:
    """Microsoft: "Conditional Access policies do not support users assigned a directory role scoped to an
    administrative unit" (concept-conditional-access-users-groups). GET /directoryRoles/{id}/members lists the
    tenant-wide holders; AU-scoped ones are the role's separate `scopedMembers` (graph resources/directoryrole).
    A policy on the role alone therefore does not cover a user who holds it only in an AU: uncovered, not covered."""
    template = "729827e3-9c14-49f7-bb1b-9608f156bbb8"  # Helpdesk Administrator
    policy = _baseline_policy()
    policy["conditions"]["users"].update(includeUsers=[], includeRoles=[template])
    role = {"id": "d0a1b2c3-0000-4000-8000-000000000002", "displayName": "Helpdesk Administrator",
            "roleTemplateId": template}
    with served([policy], directory_roles=[role],
                directory_role_members={role["id"]: ["6c625609-61b3-5f19-b828-8f727c52dac5"]}) as lab:
        section = read(lab, read_conditional_access)
    assert section.readable, section.error
    tenant_wide = Person(id="6c625609-61b3-5f19-b828-8f727c52dac5", upn="ben.singh@corp.example.test", guest=False)
    scoped_only = Person(id="8c01e6cd-9098-58b3-8809-e6b5c7b4da79", upn="ann.lee@corp.example.test", guest=False)
    assert judge(tenant_wide, section.value, Requirement(control="mfa")).status == "covered"
    assert judge(scoped_only, section.value, Requirement(control="mfa")).status == "uncovered"
