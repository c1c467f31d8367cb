"""The typed changes a fix is made of: what a check's fixer proposes and a writer makes.

Every change follows one protocol (octoDNS's typed changes are the model: https://github.com/octodns/octodns,
`octodns/record/change.py`): the object it writes (`target`, and `object_key()` for the backup), each
setting's old value as the snapshot showed it and the new value the policy asks for (`settings_list()`),
the writer that makes it (`writer`), and how a writer verifies it (the writer's `state_of`, which compares a
target as read with these old and new values). Code that acts on changes asks the change (a method) or looks
its `kind` up in a table, never tests its class.

Settings use the snapshot's field names (`methods_required`, `unlock_enabled`), not the wire names: the
writers translate, as the readers do. Below the checks, so a check's fixer (its own module) can build them.
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from auditor.ad.dn import dn_key
from auditor.ad.sd import AceFact
from auditor.ad.wellknown import GPO_GUID_PATTERN
from auditor.findings import Finding
from auditor.graph_fields import PASSWORD_RULE_TEMPLATE

SID_PATTERN = r"^S-1-\d+(-\d+){1,15}$"

WriterName = Literal["portal", "graph", "ldap", "sysvol"]


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class FindingRef(Frozen):
    """Which finding a change fixes or a manual step is for: check, target and policy key."""

    check: str
    target: str
    key: str | None = None
    right: str | None = Field(None, description="The finding's typed subject, when it names an AD right")

    @classmethod
    def of(cls, finding: Finding) -> FindingRef:
        key = finding.policy_location.key if finding.policy_location is not None else None
        right = finding.subject.right if finding.subject is not None else None
        return cls(check=finding.check, target=finding.target, key=key or None, right=right)

    def matches(self, finding: Finding) -> bool:
        return self == FindingRef.of(finding)

    def label(self) -> str:
        key = f" ({self.key}{', ' + self.right if self.right else ''})" if self.key or self.right else ""
        return f"{self.check} · {self.target}{key}"


class SettingChange(Frozen):
    """One setting: its name in the snapshot model, the value seen, the value wanted."""

    name: str
    old: Any = None
    new: Any = None


class _Change(Frozen):
    id: str = Field(description="Position in the plan, 1-based, as a string (`3`)")
    target: str = Field(description="The object written: portal or Graph path, DN, or UNC path")
    summary: str = Field(description="One line saying what changes")
    reversible: bool = Field(True, description="Rollback from the backup restores the old value")
    note: str | None = Field(None, description="A side effect or caveat the reviewer should know")
    depends_on: dict[str, str] = Field(
        default_factory=dict, description="Snapshot section → fingerprint of the section this change was derived from"
    )
    fixes: list[FindingRef] = Field(default_factory=list)

    order: ClassVar[int]
    """Where changes of this kind run in a plan: the cloud policy objects, then the methods policy's migration
    state (which switches the policy that governs methods, so it goes after the method fixes), the tenant's
    password rules, then the directory, then SYSVOL (which bumps the GPO version through LDAP too)."""

    def settings_list(self) -> list[SettingChange]:
        """Each setting's old value (as the snapshot showed it) and new value (as the policy asks)."""
        return []

    def object_key(self) -> str:
        """The identity of the object the change writes; the backup holds one old value per object."""
        raise NotImplementedError(type(self).__name__)

    def shown(self) -> list[str]:
        """What changes, one line per setting, for the reviewer (`describe_plan`)."""
        return [f"{s.name}: {_shown(s.old)} → {_shown(s.new)}" for s in self.settings_list()]


class PortalSsprChange(_Change):
    """Fields of the portal's PasswordResetPolicies object, written with one GET-modify-PUT."""

    kind: Literal["portal.sspr_policy"] = "portal.sspr_policy"
    writer: Literal["portal"] = "portal"
    order: ClassVar[int] = 1
    settings: list[SettingChange]

    def settings_list(self) -> list[SettingChange]:
        return list(self.settings)

    def object_key(self) -> str:
        return "portal:PasswordResetPolicies"


class PortalOnPremChange(_Change):
    """One field of OnPremisesPasswordResetPolicies: one field per PUT (the portal drops others)."""

    kind: Literal["portal.onprem_writeback"] = "portal.onprem_writeback"
    writer: Literal["portal"] = "portal"
    order: ClassVar[int] = 2
    setting: SettingChange

    def settings_list(self) -> list[SettingChange]:
        return [self.setting]

    def object_key(self) -> str:
        return "portal:OnPremisesPasswordResetPolicies"


class GraphAuthorizationChange(_Change):
    kind: Literal["graph.authorization_policy"] = "graph.authorization_policy"
    writer: Literal["graph"] = "graph"
    order: ClassVar[int] = 4
    setting: SettingChange

    def settings_list(self) -> list[SettingChange]:
        return [self.setting]

    def object_key(self) -> str:
        return "graph:authorizationPolicy"


class GraphMethodsPolicyChange(_Change):
    kind: Literal["graph.methods_policy"] = "graph.methods_policy"
    writer: Literal["graph"] = "graph"
    order: ClassVar[int] = 5
    setting: SettingChange

    def settings_list(self) -> list[SettingChange]:
        return [self.setting]

    def object_key(self) -> str:
        return "graph:authenticationMethodsPolicy"


class GraphMethodConfigurationChange(_Change):
    """Fields of one authentication method configuration (`state`, `is_office_phone_allowed`)."""

    kind: Literal["graph.method_configuration"] = "graph.method_configuration"
    writer: Literal["graph"] = "graph"
    order: ClassVar[int] = 3
    configuration_id: str
    settings: list[SettingChange]

    def settings_list(self) -> list[SettingChange]:
        return list(self.settings)

    def object_key(self) -> str:
        return f"graph:authenticationMethodConfigurations/{self.configuration_id.lower()}"


class GraphPasswordRulesChange(_Change):
    """Values of the tenant's Password Rule Settings (the groupSetting from template 5cf42378-...).

    With `setting_id`, one PATCH of the whole values array as read just before it, only these values
    changed (the banned words and every other value kept as they are). Without it, no such object exists
    and one POST creates it with every value of the template: these settings, and the template's default
    for any other (the banned word list, empty).
    """

    kind: Literal["graph.password_rules"] = "graph.password_rules"
    writer: Literal["graph"] = "graph"
    order: ClassVar[int] = 6
    setting_id: str | None = Field(description="The groupSetting written; None when none exists and the change "
                                               "creates it")
    settings: list[SettingChange]

    def settings_list(self) -> list[SettingChange]:
        return list(self.settings)

    def object_key(self) -> str:
        return f"graph:groupSettings/{PASSWORD_RULE_TEMPLATE}"  # one per tenant, whatever its id


class GraphCaPolicyChange(_Change):
    """The Conditional Access policy on registering security info that the plan owns (its display name is
    `graph_fields.REGISTRATION_POLICY_NAME`). Without `policy_id`, one POST creates it, report-only; with it,
    one PATCH of its `state` turns it on (the policy file's `enforce`). Rollback deletes what a create made,
    or puts the state back."""

    kind: Literal["graph.ca_policy"] = "graph.ca_policy"
    writer: Literal["graph"] = "graph"
    order: ClassVar[int] = 10  # last: independent of the others
    display_name: str
    policy_id: str | None = Field(description="The policy written; None when the change creates it")
    setting: SettingChange = Field(description="`state`: old None when the policy does not exist yet")
    include_users: list[str] = Field(default_factory=list, description="`All`, or none when groups are named")
    include_groups: list[str] = Field(default_factory=list, description="The SSPR scope group")
    exclude_users: list[str] = Field(default_factory=list, description="Object ids of the break-glass accounts")
    built_in: list[str] = Field(default_factory=list, description="grantControls.builtInControls")
    strength_id: str | None = Field(None, description="grantControls.authenticationStrength.id")
    exclude_trusted_locations: bool = Field(False, description="locations: include All, exclude AllTrusted")

    def settings_list(self) -> list[SettingChange]:
        return [self.setting]

    def object_key(self) -> str:
        return f"graph:conditionalAccess/policies/{self.display_name.lower()}"  # by name: no id until created

    def body(self) -> dict[str, Any]:
        """The conditionalAccessPolicy a create POSTs (learn.microsoft.com/graph/api/
        conditionalaccessroot-post-policies)."""
        grant: dict[str, Any] = {"operator": "OR", "builtInControls": list(self.built_in)}
        if self.strength_id:
            grant["authenticationStrength"] = {"id": self.strength_id}
        return {
            "displayName": self.display_name, "state": self.setting.new,
            "conditions": {
                "users": {"includeUsers": list(self.include_users), "excludeUsers": list(self.exclude_users),
                          "includeGroups": list(self.include_groups), "excludeGroups": [], "includeRoles": [],
                          "excludeRoles": []},
                "applications": {"includeApplications": [], "excludeApplications": [],
                                 "includeUserActions": ["urn:user:registersecurityinfo"]},
                "clientAppTypes": ["all"],
                "locations": {"includeLocations": ["All"], "excludeLocations": ["AllTrusted"]}
                if self.exclude_trusted_locations else None,
            },
            "grantControls": grant,
        }


class LdapDaclChange(_Change):
    """Allow ACEs added to an object's DACL in canonical order, written back with SD flags DACL."""

    kind: Literal["ldap.dacl"] = "ldap.dacl"
    writer: Literal["ldap"] = "ldap"
    order: ClassVar[int] = 7
    dn: str
    principal: str = Field(description="Who receives the rights (the sync account's name)")
    principal_sid: Annotated[str, Field(pattern=SID_PATTERN)]
    rights: list[str] = Field(description="The rights' labels, for people")
    add_aces: list[AceFact]
    old_descriptor_sha256: str = Field(description="sha256 of the descriptor (DACL part) as read for the plan")

    def settings_list(self) -> list[SettingChange]:
        return [SettingChange(name="DACL", old="(as read)", new=[a.sddl() for a in self.add_aces])]

    def object_key(self) -> str:
        return f"ldap:{dn_key(self.dn)}:descriptor"

    def shown(self) -> list[str]:
        return [f"+ {ace.sddl()}" for ace in self.add_aces]


class LdapPasswordAgeChange(_Change):
    """The domain head's `minPwdAge` or a fine-grained policy's `msDS-MinimumPasswordAge` (intervals)."""

    kind: Literal["ldap.password_age"] = "ldap.password_age"
    writer: Literal["ldap"] = "ldap"
    order: ClassVar[int] = 8
    dn: str
    scope: Literal["domain", "fine_grained"]
    setting: SettingChange = Field(description="old/new as AD intervals (negative 100-ns ticks)")
    old_days: int | None
    new_days: int

    def settings_list(self) -> list[SettingChange]:
        return [self.setting]

    def object_key(self) -> str:
        return f"ldap:{dn_key(self.dn)}:{self.scope}-min-age"


class SysvolPasswordAgeChange(_Change):
    """`[System Access] MinimumPasswordAge` in a GPO's GptTmpl.inf, with the GPO version bumped."""

    kind: Literal["sysvol.gpttmpl"] = "sysvol.gpttmpl"
    writer: Literal["sysvol"] = "sysvol"
    order: ClassVar[int] = 9
    path: str = Field(description="UNC path of GptTmpl.inf as read")
    gpo_guid: Annotated[str, Field(pattern=GPO_GUID_PATTERN)]
    gpo_dn: str
    setting: SettingChange = Field(description="MinimumPasswordAge in days; old None when unset or absent")
    old_content_sha256: str | None = Field(description="sha256 of the file as read; None when it did not exist")
    encoding: str | None = None
    newline: str | None = None

    def settings_list(self) -> list[SettingChange]:
        return [self.setting]

    def object_key(self) -> str:
        return f"sysvol:{self.gpo_guid.upper()}"


Change = Annotated[
    PortalSsprChange | PortalOnPremChange | GraphAuthorizationChange | GraphMethodsPolicyChange
    | GraphMethodConfigurationChange | GraphPasswordRulesChange | GraphCaPolicyChange | LdapDaclChange
    | LdapPasswordAgeChange | SysvolPasswordAgeChange,
    Field(discriminator="kind"),
]


def object_key(change: Change) -> str:
    """The identity of the object `change` writes (`change.object_key()`)."""
    return str(change.object_key())


def _shown(value: Any) -> str:
    import json

    if isinstance(value, bool):
        return "on" if value else "off"
    if value is None:
        return "(unset)"
    return json.dumps(value, ensure_ascii=False) if isinstance(value, list | dict | str) else str(value)
