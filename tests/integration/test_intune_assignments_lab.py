"""Intune profiles count only where they are assigned (issue 30): the assignments are read over HTTP by the real
msgraph-sdk from the lab emulator (GET /deviceManagement/deviceConfigurations/{id}/assignments).

Before, any profile carrying AllowAadPasswordReset = 1 passed `client.sign_in_reset`, assigned or not.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from auditor.app.audit import ExitPolicy, audit
from auditor.checks.base import Finding, Status
from auditor.endpoints import Endpoints
from auditor.lab.emulator import Faults
from auditor.lab.scenario import load_scenario
from auditor.lab.server import LabServer
from auditor.policy.loader import load_policy
from auditor.readers.collect import CollectOptions, collect
from auditor.readers.credentials import LabTokenCredential
from auditor.readers.reach import Reached

ROOT = Path(__file__).resolve().parents[2]
BASELINE = ROOT / "policies" / "baseline.yaml"
SCENARIO = ROOT / "auditor" / "lab" / "scenarios" / "baseline.yaml"
GROUP = "0a1b2c3d-0000-4000-8000-00000000beef"
ALL_DEVICES = {"id": "a1", "target": {"@odata.type": "#microsoft.graph.allDevicesAssignmentTarget"}}


def sign_in_reset(tmp_path: Path, assignments: list[dict[str, Any]] | None, faults: Faults | None = None) -> Finding:
    data = YAML(typ="safe", pure=True).load(SCENARIO.read_text())
    data.pop("lab_domain_users", None)
    [profile] = data["device_configurations"]
    if assignments is None:
        profile.pop("assignments", None)
    else:
        profile["assignments"] = assignments
    path = tmp_path / "intune.yaml"
    YAML(typ="safe", pure=True).dump(data, path)
    with LabServer(load_scenario(str(path)), faults=faults) as lab:
        credential = LabTokenCredential()
        endpoints = Endpoints(graph_url=lab.graph_url, portal_url=lab.portal_url, portal=True)
        snapshot = collect(CollectOptions(Reached(endpoints, origin="lab:test", graph_credential=credential,
                                                  portal_credential=credential)))
    return next(f for f in audit(load_policy(BASELINE), snapshot, ExitPolicy()).findings
                if f.check == "client.sign_in_reset")


def test_a_profile_assigned_to_all_devices_turns_the_link_on(tmp_path: Path) -> None:
    finding = sign_in_reset(tmp_path, [ALL_DEVICES])
    assert finding.status == Status.passed and finding.actual["enabled_by"] == ["Intune"], finding.reason
    shown = {e.field: e.value for e in finding.evidence}
    assert shown["assignments of Win - SSPR sign-in screen"] == "Win - SSPR sign-in screen is assigned to all devices"


def test_an_unassigned_profile_does_not_count(tmp_path: Path) -> None:
    finding = sign_in_reset(tmp_path, None)  # the scenario's profile without any assignment
    # before: a pass ("Intune turns it on"); Group Policy is not read here, so the verdict is unknown, not a pass
    assert finding.status != Status.passed and "Intune" not in finding.actual["enabled_by"], finding.reason
    assert "Win - SSPR sign-in screen is assigned to no group or device, so it applies to none" in finding.reason


@pytest.mark.parametrize("target", [
    {"@odata.type": "#microsoft.graph.groupAssignmentTarget", "groupId": GROUP},
    {"@odata.type": "#microsoft.graph.allLicensedUsersAssignmentTarget"},
])
def test_a_profile_assigned_to_groups_or_users_is_unknown_and_says_so(tmp_path: Path, target: dict[str, Any]) -> None:
    finding = sign_in_reset(tmp_path, [{"id": "g1", "target": target}])
    assert finding.status == Status.unknown, finding.reason
    assert "cannot relate to the devices" in finding.reason


def test_all_devices_but_an_excluded_group_is_not_all_devices(tmp_path: Path) -> None:
    finding = sign_in_reset(tmp_path, [
        ALL_DEVICES,
        {"id": "x1", "target": {"@odata.type": "#microsoft.graph.exclusionGroupAssignmentTarget", "groupId": GROUP}}])
    assert finding.status == Status.unknown and f"exclusion_group {GROUP}" in finding.reason


def test_unreadable_assignments_are_unknown_never_a_pass(tmp_path: Path) -> None:
    denied = sign_in_reset(tmp_path, [ALL_DEVICES], Faults(forbidden={"device_configuration_assignments"}))
    assert denied.status == Status.unknown and "its assignments were not read" in denied.reason
    assert "403" in denied.reason
    # an assignment without its target: the wire model refuses it, naming the field
    untyped = sign_in_reset(tmp_path, [{"id": "a1"}])
    assert untyped.status == Status.unknown and "`target` absent" in untyped.reason
