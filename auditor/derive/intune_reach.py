"""Which devices an Intune device configuration profile reaches, from its assignments.

A profile applies only to what it is assigned to (https://learn.microsoft.com/intune/intune-service/configuration/
device-profile-assign): an unassigned profile reaches no device. The targets are deviceAndAppManagementAssignmentTarget
subtypes (https://learn.microsoft.com/graph/api/resources/intune-deviceconfig-deviceconfigurationassignment):
allDevicesAssignmentTarget reaches every enrolled device; a group (groupAssignmentTarget), an exclusion
(exclusionGroupAssignmentTarget) or all licensed users (allLicensedUsersAssignmentTarget: a user assignment reaches
the devices those users enrol, not all devices) name people or groups the tool does not relate to devices, so such
a profile reaches some devices, it cannot tell which.
"""

from __future__ import annotations

from typing import Literal

from auditor.snapshot.tenant import IntuneSetting

Reach = Literal["all", "none", "some", "unknown"]


def reach(setting: IntuneSetting) -> tuple[Reach, str]:
    """(how far the profile reaches, a phrase naming why) for the report."""
    name = setting.display_name or setting.id
    if setting.assignments is None:
        why = setting.assignments_error or "not in this snapshot"
        return "unknown", f"{name}: its assignments were not read ({why})"
    if not setting.assignments:
        return "none", f"{name} is assigned to no group or device, so it applies to none"
    kinds = [a.kind for a in setting.assignments]
    if "all_devices" in kinds and "exclusion_group" not in kinds:
        return "all", f"{name} is assigned to all devices"
    named = ", ".join(f"{a.kind} {a.group_id}" if a.group_id else a.kind for a in setting.assignments)
    return "some", (f"{name} is assigned to {named}: groups or users the tool cannot relate to the devices, so "
                    "which devices it reaches is not known")
