"""The Conditional Access reader with the real msgraph-sdk client against the lab emulator over HTTP, serving
real public captures (tests/fixtures/real/SOURCES.md), and the registration check end to end on the lab."""

from __future__ import annotations

import asyncio
import copy
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from auditor.app.audit import ExitPolicy, audit, collect_lab
from auditor.checks.base import Status
from auditor.endpoints import LabSelection
from auditor.lab.scenario import load_scenario
from auditor.lab.server import LabServer
from auditor.policy.loader import load_policy
from auditor.readers.conditional_access import read_conditional_access
from auditor.readers.credentials import LabTokenCredential
from auditor.readers.graph import build_client
from auditor.snapshot.conditional_access import REGISTER_SECURITY_INFO
from auditor.snapshot.models import Section

ROOT = Path(__file__).resolve().parents[2]
REAL = ROOT / "tests" / "fixtures" / "real" / "graph"
BASELINE = ROOT / "policies" / "baseline.yaml"


def read(lab: LabServer, reader: Callable[[Any], Awaitable[Section[Any]]]) -> Section[Any]:
    async def run() -> Section[Any]:
        client = build_client(lab.graph_url, LabTokenCredential())
        try:
            return await reader(client)
        finally:
            await client.request_adapter._http_client.aclose()

    return asyncio.run(run())


def camel(value: Any) -> Any:
    """The Microsoft Graph PowerShell SDK's PascalCase property names back to Graph's camelCase wire names."""
    if isinstance(value, dict):
        return {(k[:1].lower() + k[1:] if not k.startswith("@") else k): camel(v) for k, v in value.items()}
    if isinstance(value, list):
        return [camel(v) for v in value]
    return value


def served(policies: list[Any], **more: Any) -> LabServer:
    scenario = load_scenario("baseline").model_copy(update={"conditional_access_policies": policies, **more})
    return LabServer(scenario)


def test_microsofts_list_example_is_read_whole() -> None:
    body = json.loads((REAL / "conditionalaccessroot-list-policies.json").read_text())
    with served(body["value"]) as lab:
        section = read(lab, read_conditional_access)
    assert section.readable, section.error
    got = {p.display_name: p for p in section.value.policies}
    assert set(got) == {"SimplePolicy1", "SimplePolicy2"}
    assert {p.state for p in got.values()} == {"disabled"}
    assert not section.value.registration_policies()


def test_scubagears_export_is_read_and_a_registration_policy_from_it_judged_in_full() -> None:
    """ScubaGear's sample export (the PowerShell SDK's objects, PascalCase): seven policies with null devices,
    guests, platforms and locations, a session-only policy (grantControls null) and an authentication strength.
    Its MFA policy turned onto the registration user action is read with every condition the check needs."""
    policies = camel(json.loads((REAL / "scubagear-sample-conditional-access-policies.json").read_text()))
    mfa = next(p for p in policies if p["displayName"].startswith("MS.AAD.3.2v1"))
    on_registration = copy.deepcopy(mfa)
    on_registration["id"] = "00000000-0000-4000-8000-00000000aaaa"
    on_registration["conditions"]["applications"].update(includeApplications=[],
                                                         includeUserActions=[REGISTER_SECURITY_INFO])
    with served([*policies, on_registration]) as lab:
        section = read(lab, read_conditional_access)
    assert section.readable, section.error
    assert len(section.value.policies) == 8
    [registration] = section.value.registration_policies()
    assert registration.grant is not None and registration.grant.strength_name == "Multifactor authentication"
    assert registration.include_platforms is None and registration.include_locations is None
    assert registration.users.include_users == ["All"] and registration.device_filter is None


def test_a_registration_policy_without_a_field_the_verdict_needs_is_unreadable_naming_it() -> None:
    scenario = load_scenario("baseline")
    policy = copy.deepcopy(scenario.conditional_access_policies[0])
    del policy["conditions"]["userRiskLevels"]
    unrelated = copy.deepcopy(scenario.conditional_access_policies[0])
    unrelated.update(id="00000000-0000-4000-8000-00000000bbbb")
    unrelated["conditions"]["applications"]["includeUserActions"] = []
    del unrelated["conditions"]["users"]
    with served([policy]) as lab:
        broken = read(lab, read_conditional_access)
    with served([*scenario.conditional_access_policies, unrelated]) as lab:
        fine = read(lab, read_conditional_access)
    assert not broken.readable and "`conditions.userRiskLevels` absent in 1 of 1 conditional access policies" \
        in (broken.error or "")
    assert fine.readable, fine.error  # a field absent from a policy on other apps does not matter


def test_roles_and_nested_groups_are_resolved_through_graph() -> None:
    """An exclusion by role reaches the role's holders, a role-assignable group among them included."""
    scenario = load_scenario("demo")
    role_template = "62e90394-69f5-4237-9190-012177145e10"  # Global Administrator's template id
    policy = copy.deepcopy(scenario.conditional_access_policies[0])
    policy["conditions"]["users"].update(excludeGroups=[], excludeUsers=[], excludeRoles=[role_template])
    exempt = "2e4a6c8d-0f1b-4d3e-9a5c-7b9d1f3a5c7e"
    with LabServer(scenario.model_copy(update={
            "conditional_access_policies": [policy],
            "directory_roles": [{"id": "d0a1b2c3-0000-4000-8000-000000000001", "displayName": "Global Administrator",
                                 "roleTemplateId": role_template}],
            "directory_role_members": {"d0a1b2c3-0000-4000-8000-000000000001":
                                       ["0d6f1e2a-9b3c-4d5e-8f70-1a2b3c4d5e6f", exempt]}})) as lab:
        section = read(lab, read_conditional_access)
    assert section.readable, section.error
    [role] = section.value.roles
    assert role.display_name == "Global Administrator" and role.error is None
    assert set(role.user_ids) == {"0d6f1e2a-9b3c-4d5e-8f70-1a2b3c4d5e6f", "9d0ee36d-db73-54fc-bedf-8787c368a609",
                                  "a33e41c6-0d0c-5172-ac86-6aa99d58cc31"}


@pytest.mark.parametrize(("scenario", "expected"), [("demo", Status.failed), ("baseline", Status.passed)])
def test_the_lab_tenants(scenario: str, expected: Status) -> None:
    result = audit(load_policy(BASELINE), collect_lab(LabSelection(scenario=scenario)), ExitPolicy())
    found = [f for f in result.findings if f.check == "registration.conditional_access"]
    assert found and found[0].status == expected, [(f.target, f.status, f.reason) for f in found]
    if expected == Status.failed:
        uncovered = found[0].actual["uncovered"]
        assert [u.split(":")[0] for u in uncovered] == ["ann.lee@corp.example.test", "ben.singh@corp.example.test"]
        assert all("excludes group 'Registration-Exempt'" in u and "is report-only" in u for u in uncovered)


def test_export_writes_the_registration_section_from_the_live_policies(tmp_path: Path) -> None:
    """demo: the enabled policy asks MFA; the two users its excluded group leaves out are exported as the accounts
    that may be left out, each with why, and the Temporary Access Pass (enabled) as allowed."""
    from auditor.export import export_text
    from auditor.policy.loader import load_policy as load

    text, _ = export_text(collect_lab(LabSelection(scenario="demo")))
    path = tmp_path / "exported.yaml"
    path.write_text(text, encoding="utf-8")
    wanted = load(path).sspr.registration.conditional_access  # type: ignore[union-attr]
    assert wanted is not None and wanted.require == "mfa" and wanted.temporary_access_pass == "allowed"
    assert wanted.break_glass == ["ann.lee@corp.example.test", "ben.singh@corp.example.test"]
    assert "# ann.lee@corp.example.test: 'Require MFA to register security info' excludes group " \
           "'Registration-Exempt'" in text


def test_a_group_the_policy_names_that_no_longer_exists_holds_nobody_and_one_unreadable_is_unknown() -> None:
    from auditor.lab.emulator import Faults

    scenario = load_scenario("demo")
    policy = copy.deepcopy(scenario.conditional_access_policies[0])
    gone = "00000000-0000-4000-8000-00000000dead"
    policy["conditions"]["users"]["excludeGroups"] = [gone, "2e4a6c8d-0f1b-4d3e-9a5c-7b9d1f3a5c7e"]
    with LabServer(scenario.model_copy(update={"conditional_access_policies": [policy]})) as lab:
        section = read(lab, read_conditional_access)
        lab.faults = Faults(error_status={"groups": 403})
        denied = read(lab, read_conditional_access)
    assert section.readable, section.error
    by_id = {g.id: g for g in section.value.groups}
    assert by_id[gone].error is None and by_id[gone].user_ids == []
    assert len(by_id["2e4a6c8d-0f1b-4d3e-9a5c-7b9d1f3a5c7e"].user_ids) == 2
    assert denied.readable and all(g.error and "403" in g.error for g in denied.value.groups)
