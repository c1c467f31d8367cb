"""The permissions table (auditor/readers/access.py) against the readers: each Graph permission and portal role
withheld from the lab emulator (403 on the endpoints it grants, read by the real msgraph-sdk and the portal
client) leaves exactly the sections it declares unreadable, and every other cloud section read."""

from __future__ import annotations

import dataclasses
from functools import cache
from pathlib import Path

import pytest

from auditor.app.audit import collect_lab, coverage_options
from auditor.endpoints import LabSelection
from auditor.policy.loader import load_policy
from auditor.readers.access import ACCESS, access_for
from auditor.snapshot.models import Snapshot

ROOT = Path(__file__).resolve().parents[2]

LAB_ENDPOINTS = {  # the emulator's endpoint names (auditor/lab/emulator.py ENDPOINT_NAMES) each grant answers
    "Policy.Read.All": ("authorization_policy", "ca_policies", "named_locations"),
    "Policy.Read.AuthenticationMethod": ("methods_policy", "method_configuration"),
    "OnPremDirectorySynchronization.Read.All": ("sync",),
    "User.Read.All": ("users",),
    "AuditLog.Read.All": ("registration_details", "directory_audits"),
    "GroupMember.Read.All": ("groups",),
    "LicenseAssignment.Read.All": ("subscribed_skus",),
    "SecurityEvents.Read.All": ("secure_scores", "secure_score_profiles"),
    "GroupSettings.Read.All": ("group_settings",),
    "DeviceManagementConfiguration.Read.All": ("device_configurations", "device_configuration_assignments"),
    "RoleManagement.Read.Directory": ("directory_roles",),
    "Domain.Read.All": ("domains",),
    "Device.Read.All": ("devices",),
    "Security Administrator (portal, delegated)": ("portal",),
}
CLOUD = [access for access in ACCESS if access.kind != "ad"]


@cache
def _snapshot(forbidden: tuple[str, ...]) -> Snapshot:
    policy = load_policy(ROOT / "policies" / "baseline.yaml")
    # the devices are read only when the policy asks for a device grant: asked here, so every section is read
    options = dataclasses.replace(coverage_options(policy), read_devices=True)
    return collect_lab(LabSelection(scenario="demo", forbid=tuple(forbidden)), options)


def _cloud_sections(snapshot: Snapshot) -> dict[str, bool]:
    return {name: section.readable for name, section in snapshot
            if hasattr(section, "readable") and name != "directory_discovery" and access_for(name)
            and all(a.kind != "ad" for a in access_for(name))}


def test_every_section_a_check_reads_is_granted_by_something() -> None:
    from auditor.checks.registry import all_checks

    read = {name for check in all_checks() for name in check.spec.sections}
    assert read - {name for access in ACCESS for name in access.sections} == set()
    assert {access.name for access in CLOUD} == set(LAB_ENDPOINTS)


def test_with_every_permission_every_cloud_section_is_read() -> None:
    assert all(_cloud_sections(_snapshot(())).values()), _cloud_sections(_snapshot(()))


@pytest.mark.parametrize("access", CLOUD, ids=lambda a: a.name)
def test_without_a_permission_exactly_its_sections_are_unreadable(access) -> None:  # type: ignore[no-untyped-def]
    unreadable = {name for name, ok in _cloud_sections(_snapshot(LAB_ENDPOINTS[access.name])).items() if not ok}
    assert unreadable == set(access.sections)
