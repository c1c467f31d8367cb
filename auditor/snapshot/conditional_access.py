"""Snapshot section for Conditional Access on registering security info: the policies, the named locations,
and the members of the groups and roles those policies include or exclude.

Readable names; Graph's field names stay in `readers/conditional_access*.py`. Sources (Microsoft Graph v1.0):
conditionalAccessPolicy https://learn.microsoft.com/graph/api/resources/conditionalaccesspolicy,
conditionalAccessConditionSet https://learn.microsoft.com/graph/api/resources/conditionalaccessconditionset,
conditionalAccessUsers https://learn.microsoft.com/graph/api/resources/conditionalaccessusers,
conditionalAccessGrantControls https://learn.microsoft.com/graph/api/resources/conditionalaccessgrantcontrols,
namedLocation https://learn.microsoft.com/graph/api/resources/namedlocation.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

REGISTER_SECURITY_INFO = "urn:user:registersecurityinfo"
"""The user action "Register security information" (conditionalAccessApplications.includeUserActions)."""


class Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class GuestCondition(Model):
    """includeGuestsOrExternalUsers / excludeGuestsOrExternalUsers (conditionalAccessGuestsOrExternalUsers)."""

    types: list[str] = Field(description="guestOrExternalUserTypes, split at commas (internalGuest, "
                                         "b2bCollaborationGuest, b2bCollaborationMember, b2bDirectConnectUser, "
                                         "otherExternalUser, serviceProvider)")
    tenants: Literal["all", "enumerated"] | None = Field(
        None, description="externalTenants.membershipKind; None: not sent (all)")


class CaUsers(Model):
    include_users: list[str] = Field(default_factory=list, description="object ids, `All`, `None` or "
                                                                       "`GuestsOrExternalUsers`")
    exclude_users: list[str] = Field(default_factory=list)
    include_groups: list[str] = Field(default_factory=list)
    exclude_groups: list[str] = Field(default_factory=list)
    include_roles: list[str] = Field(default_factory=list, description="directory role template ids")
    exclude_roles: list[str] = Field(default_factory=list)
    include_guests: GuestCondition | None = None
    exclude_guests: GuestCondition | None = None


class CaGrant(Model):
    operator: str = Field(description="AND or OR")
    built_in: list[str] = Field(default_factory=list, description="builtInControls: block, mfa, compliantDevice, "
                                                                  "domainJoinedDevice, approvedApplication, ...")
    strength_id: str | None = Field(None, description="authenticationStrength.id")
    strength_name: str | None = Field(None, description="authenticationStrength.displayName")
    other: list[str] = Field(default_factory=list, description="customAuthenticationFactors and termsOfUse ids")


class CaPolicy(Model):
    id: str
    display_name: str
    state: str = Field(description="enabled, disabled or enabledForReportingButNotEnforced")
    user_actions: list[str] = Field(default_factory=list)
    applications: list[str] = Field(default_factory=list, description="includeApplications")
    users: CaUsers
    client_app_types: list[str] = Field(default_factory=list)
    include_platforms: list[str] | None = Field(None, description="None: no platform condition")
    exclude_platforms: list[str] = Field(default_factory=list)
    include_locations: list[str] | None = Field(None, description="None: no location condition")
    exclude_locations: list[str] = Field(default_factory=list)
    sign_in_risk: list[str] = Field(default_factory=list)
    user_risk: list[str] = Field(default_factory=list)
    device_filter: str | None = Field(None, description="devices.deviceFilter as `mode: rule`; not evaluable "
                                                        "offline")
    other_conditions: list[str] = Field(default_factory=list, description="Other conditions that narrow the "
                                                                          "policy (authentication flows, insider "
                                                                          "risk, workload identities), named")
    unmodelled_conditions: list[str] = Field(default_factory=list, description="Conditions the tool does not "
                                             "model that the policy sets (`name=value`): not evaluable, so unknown")
    grant: CaGrant | None = Field(None, description="None: no grant controls (session controls only)")

    @property
    def on_registration(self) -> bool:
        return any(a.lower() == REGISTER_SECURITY_INFO for a in self.user_actions)


class NamedLocation(Model):
    id: str
    display_name: str
    kind: str = Field(description="ip, country, or the @odata.type as sent")
    trusted: bool | None = Field(None, description="ipNamedLocation.isTrusted; None for other kinds")


class Members(Model):
    """A group's or a directory role's transitive user members, or why they are unknown."""

    id: str = Field(description="The group's object id, or the role's template id")
    display_name: str | None = None
    user_ids: list[str] = Field(default_factory=list)
    error: str | None = None


class ConditionalAccessState(Model):
    policies: list[CaPolicy] = Field(default_factory=list, description="Every policy of the tenant")
    named_locations: list[NamedLocation] = Field(default_factory=list)
    groups: list[Members] = Field(default_factory=list, description="The groups the registration policies name")
    roles: list[Members] = Field(default_factory=list, description="The roles the registration policies name "
                                                                   "(active assignments)")

    def registration_policies(self) -> list[CaPolicy]:
        return [p for p in self.policies if p.on_registration]
