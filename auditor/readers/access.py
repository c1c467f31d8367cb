"""What each snapshot section needs to be read: the Graph permission, the portal role or the AD right, in one place.

The checks declare which sections they read (`CheckSpec.sections`, and `optional` with what they do without
one); this table says what grants each section. Together they give the README's permissions table
(`auditor/app/reference.py`): for each permission, the checks that are `unknown` without it and the ones that
only lose an optional input. tests/integration/test_access_lab.py holds this table to the readers: it withholds
each Graph permission and portal role from the lab emulator (403 on the endpoints it grants) and finds exactly
the sections declared here unreadable.

Graph permissions are the least privileged application permission of each API's "Permissions" table on
learn.microsoft.com (the `source` of each row). The portal API is undocumented: Microsoft's "Least privileged
roles by task" names Security Administrator for "Password reset > Read all configuration". AD: the reader binds
as an ordinary account and asks only for DACLs (LDAP_SERVER_SD_FLAGS_OID), which Authenticated Users may read.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Kind = Literal["graph", "portal", "ad"]


@dataclass(frozen=True)
class Access:
    """One permission, role or right, and the snapshot sections that cannot be read without it."""

    name: str
    kind: Kind
    sections: tuple[str, ...]
    reads: str
    """What it lets the reader read (an endpoint, an LDAP or SMB read)."""
    source: str
    """Where Microsoft (or the protocol) says it is what the read needs."""


_GRAPH = "https://learn.microsoft.com/graph/api/"
_DELEGATE = ("https://github.com/MicrosoftDocs/entra-docs/blob/main/docs/identity/role-based-access-control/"
             "delegate-by-task.md")

ACCESS: tuple[Access, ...] = (
    Access("Policy.Read.All", "graph", ("authorization_policy", "conditional_access"),
           "GET /policies/authorizationPolicy, /identity/conditionalAccess/policies and /namedLocations",
           _GRAPH + "conditionalaccessroot-list-policies"),
    Access("Policy.Read.AuthenticationMethod", "graph", ("methods_policy",),
           "GET /policies/authenticationMethodsPolicy (and its method configurations)",
           _GRAPH + "authenticationmethodspolicy-get"),
    Access("OnPremDirectorySynchronization.Read.All", "graph", ("sync_features",),
           "GET /directory/onPremisesSynchronization", _GRAPH + "onpremisesdirectorysynchronization-get"),
    Access("User.Read.All", "graph", ("cloud_users",), "GET /users (with their assigned plans)",
           _GRAPH + "user-list"),
    Access("AuditLog.Read.All", "graph", ("registration_details", "sspr_activity"),
           "GET /reports/authenticationMethods/userRegistrationDetails, GET /auditLogs/directoryAudits "
           "(registration details also need Entra ID P1)",
           _GRAPH + "authenticationmethodsroot-list-userregistrationdetails"),
    Access("GroupMember.Read.All", "graph", ("scope_groups",), "GET /groups/{id}, /groups/{id}/transitiveMembers",
           _GRAPH + "group-list-transitivemembers"),
    Access("LicenseAssignment.Read.All", "graph", ("subscribed_skus",), "GET /subscribedSkus",
           _GRAPH + "subscribedsku-list"),
    Access("SecurityEvents.Read.All", "graph", ("secure_score",),
           "GET /security/secureScores, /security/secureScoreControlProfiles", _GRAPH + "security-list-securescores"),
    Access("GroupSettings.Read.All", "graph", ("password_rules",),
           "GET /groupSettings (Password Rule Settings; Directory.Read.All also grants it)",
           _GRAPH + "group-list-settings"),
    Access("RoleManagement.Read.Directory", "graph", (),
           "GET /directoryRoles, /directoryRoles/{id}/members (the roles a Conditional Access policy on registering "
           "security info names; without it their holders are unknown, the section is still read)",
           _GRAPH + "directoryrole-list-members"),
    # the same permission reads each profile's assignments (/deviceConfigurations/{id}/assignments,
    # learn.microsoft.com/graph/api/intune-deviceconfig-deviceconfigurationassignment-list)
    Access("DeviceManagementConfiguration.Read.All", "graph", ("intune_sign_in_reset",),
           "GET /deviceManagement/deviceConfigurations (optional: Intune's sign-in screen setting)",
           _GRAPH + "intune-deviceconfig-deviceconfiguration-list"),
    Access("Device.Read.All", "graph", ("devices",),
           "GET /devices, owners (only if a device is required)", _GRAPH + "device-list"),
    Access("Domain.Read.All", "graph", ("domains",), "GET /domains (each domain's authenticationType; "
           "Directory.Read.All also grants it)", _GRAPH + "domain-list"),
    Access("Security Administrator (portal, delegated)", "portal", ("sspr_policy", "onprem_writeback"),
           "the portal's PasswordResetPolicies and OnPremisesPasswordResetPolicies (`--portal`, a signed-in admin)",
           _DELEGATE),
    Access("AD: read the target OUs, their users, the sync account, AdminSDHolder and the GPO links", "ad",
           ("directory",), "LDAP(S): attributes, DACLs and owners (SD flags control: owner and DACL, never the SACL)",
           "https://learn.microsoft.com/openspecs/windows_protocols/ms-adts/"
           "3888c2b7-35b9-45b7-afeb-b772aa932dd0"),
    Access("AD: read SYSVOL (the linked GPOs' files)", "ad", ("sysvol", "gpo_sign_in_reset"),
           "SMB: GptTmpl.inf, Registry.pol, Preferences Registry.xml of the GPOs",
           "https://learn.microsoft.com/openspecs/windows_protocols/ms-gpsb/"),
)


def access_for(section: str) -> tuple[Access, ...]:
    """The permissions, roles or rights without which `section` cannot be read."""
    return tuple(access for access in ACCESS if section in access.sections)
