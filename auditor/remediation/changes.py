"""The typed changes a plan is made of, the manual steps it lists, and the plan file itself.

A change names the object it writes (`target`), each setting's old value as seen in the
snapshot and the new value the policy asks for, the writer that can make it, whether rollback
can undo it, the fingerprints of the snapshot sections it was derived from, and the findings
it fixes. Settings use the snapshot's field names (`methods_required`, `unlock_enabled`), not
the wire names: the writers translate, as the readers do.

A plan is data, and not trusted: `apply` re-derives every change from the policy file the plan
names (whose sha256 it records) and the live state read at apply time, refuses every change in the
file it did not derive, and re-reads every target before writing. The digest covers the whole file
(source, policy, changes, manual steps); the optional MAC (`auditor.remediation.seal`) binds it to a
key only the reviewer's environment holds.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

from auditor.ad.dn import dn_key
from auditor.ad.sd import AceFact
from auditor.ad.wellknown import GPO_GUID_PATTERN
from auditor.checks.base import Finding
from auditor.files import write_atomically
from auditor.graph_fields import PASSWORD_RULE_TEMPLATE
from auditor.snapshot.models import utc_now

PLAN_FORMAT = "sspr-auditor-plan"
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

    def settings_list(self) -> list[SettingChange]:
        return []


class PortalSsprChange(_Change):
    """Fields of the portal's PasswordResetPolicies object, written with one GET-modify-PUT."""

    kind: Literal["portal.sspr_policy"] = "portal.sspr_policy"
    writer: Literal["portal"] = "portal"
    settings: list[SettingChange]

    def settings_list(self) -> list[SettingChange]:
        return list(self.settings)


class PortalOnPremChange(_Change):
    """One field of OnPremisesPasswordResetPolicies: one field per PUT (the portal drops others)."""

    kind: Literal["portal.onprem_writeback"] = "portal.onprem_writeback"
    writer: Literal["portal"] = "portal"
    setting: SettingChange

    def settings_list(self) -> list[SettingChange]:
        return [self.setting]


class GraphAuthorizationChange(_Change):
    kind: Literal["graph.authorization_policy"] = "graph.authorization_policy"
    writer: Literal["graph"] = "graph"
    setting: SettingChange

    def settings_list(self) -> list[SettingChange]:
        return [self.setting]


class GraphMethodsPolicyChange(_Change):
    kind: Literal["graph.methods_policy"] = "graph.methods_policy"
    writer: Literal["graph"] = "graph"
    setting: SettingChange

    def settings_list(self) -> list[SettingChange]:
        return [self.setting]


class GraphMethodConfigurationChange(_Change):
    """Fields of one authentication method configuration (`state`, `is_office_phone_allowed`)."""

    kind: Literal["graph.method_configuration"] = "graph.method_configuration"
    writer: Literal["graph"] = "graph"
    configuration_id: str
    settings: list[SettingChange]

    def settings_list(self) -> list[SettingChange]:
        return list(self.settings)


class GraphPasswordRulesChange(_Change):
    """Values of the tenant's Password Rule Settings (the groupSetting from template 5cf42378-...).

    With `setting_id`, one PATCH of the whole values array as read just before it, only these values
    changed (the banned words and every other value kept as they are). Without it, no such object exists
    and one POST creates it with every value of the template: these settings, and the template's default
    for any other (the banned word list, empty).
    """

    kind: Literal["graph.password_rules"] = "graph.password_rules"
    writer: Literal["graph"] = "graph"
    setting_id: str | None = Field(description="The groupSetting written; None when none exists and the change "
                                               "creates it")
    settings: list[SettingChange]

    def settings_list(self) -> list[SettingChange]:
        return list(self.settings)


class GraphCaPolicyChange(_Change):
    """The Conditional Access policy on registering security info that the plan owns (its display name is
    `graph_fields.REGISTRATION_POLICY_NAME`). Without `policy_id`, one POST creates it, report-only; with it,
    one PATCH of its `state` turns it on (the policy file's `enforce`). Rollback deletes what a create made,
    or puts the state back."""

    kind: Literal["graph.ca_policy"] = "graph.ca_policy"
    writer: Literal["graph"] = "graph"
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
    dn: str
    principal: str = Field(description="Who receives the rights (the sync account's name)")
    principal_sid: Annotated[str, Field(pattern=SID_PATTERN)]
    rights: list[str] = Field(description="The rights' labels, for people")
    add_aces: list[AceFact]
    old_descriptor_sha256: str = Field(description="sha256 of the descriptor (DACL part) as read for the plan")

    def settings_list(self) -> list[SettingChange]:
        return [SettingChange(name="DACL", old="(as read)", new=[a.sddl() for a in self.add_aces])]


class LdapPasswordAgeChange(_Change):
    """The domain head's `minPwdAge` or a fine-grained policy's `msDS-MinimumPasswordAge` (intervals)."""

    kind: Literal["ldap.password_age"] = "ldap.password_age"
    writer: Literal["ldap"] = "ldap"
    dn: str
    scope: Literal["domain", "fine_grained"]
    setting: SettingChange = Field(description="old/new as AD intervals (negative 100-ns ticks)")
    old_days: int | None
    new_days: int

    def settings_list(self) -> list[SettingChange]:
        return [self.setting]


class SysvolPasswordAgeChange(_Change):
    """`[System Access] MinimumPasswordAge` in a GPO's GptTmpl.inf, with the GPO version bumped."""

    kind: Literal["sysvol.gpttmpl"] = "sysvol.gpttmpl"
    writer: Literal["sysvol"] = "sysvol"
    path: str = Field(description="UNC path of GptTmpl.inf as read")
    gpo_guid: Annotated[str, Field(pattern=GPO_GUID_PATTERN)]
    gpo_dn: str
    setting: SettingChange = Field(description="MinimumPasswordAge in days; old None when unset or absent")
    old_content_sha256: str | None = Field(description="sha256 of the file as read; None when it did not exist")
    encoding: str | None = None
    newline: str | None = None

    def settings_list(self) -> list[SettingChange]:
        return [self.setting]


Change = Annotated[
    PortalSsprChange | PortalOnPremChange | GraphAuthorizationChange | GraphMethodsPolicyChange
    | GraphMethodConfigurationChange | GraphPasswordRulesChange | GraphCaPolicyChange | LdapDaclChange
    | LdapPasswordAgeChange
    | SysvolPasswordAgeChange,
    Field(discriminator="kind"),
]


def object_key(change: Any) -> str:
    """The identity of the object a change writes; the backup holds one old value per object."""
    match change:
        case PortalSsprChange():
            return "portal:PasswordResetPolicies"
        case PortalOnPremChange():
            return "portal:OnPremisesPasswordResetPolicies"
        case GraphAuthorizationChange():
            return "graph:authorizationPolicy"
        case GraphMethodsPolicyChange():
            return "graph:authenticationMethodsPolicy"
        case GraphMethodConfigurationChange():
            return f"graph:authenticationMethodConfigurations/{change.configuration_id.lower()}"
        case GraphPasswordRulesChange():  # one per tenant, whatever its id (None until created)
            return f"graph:groupSettings/{PASSWORD_RULE_TEMPLATE}"
        case GraphCaPolicyChange():  # found by its display name (no id until created)
            return f"graph:conditionalAccess/policies/{change.display_name.lower()}"
        case LdapDaclChange():
            return f"ldap:{dn_key(change.dn)}:descriptor"
        case LdapPasswordAgeChange():
            return f"ldap:{dn_key(change.dn)}:{change.scope}-min-age"
        case SysvolPasswordAgeChange():
            return f"sysvol:{change.gpo_guid.upper()}"
    raise TypeError(f"not a change: {type(change).__name__}")


class ManualStep(Frozen):
    """A failing finding the plan will not change: what to do by hand and why no writer does it."""

    finding: FindingRef
    title: str
    severity: str
    reason: str | None = None
    why_manual: str
    how: dict[str, str] = Field(default_factory=dict, description="The finding's fix: portal, graph, powershell")


class Unplanned(Frozen):
    """A finding the plan could not decide on (`unknown`): its input was not read."""

    finding: FindingRef
    reason: str


class PlanSource(Frozen):
    """Where the plan's live state came from and where apply should write. Never a secret."""

    origin: str
    graph_url: str | None = None
    portal_url: str | None = None
    auth: str | None = None
    portal_auth: str | None = None
    tenant_id: str | None = None
    client_id: str | None = None
    ad_host: str | None = None
    ad_user: str | None = None
    ad_tls: str | None = None
    ad_ca_file: str | None = None
    ad_tls_name: str | None = Field(None, description="The name the DC's TLS certificate must carry (--ad-tls-name)")
    ad_base_dn: str | None = None
    smb_host: str | None = None
    ephemeral: bool = Field(False, description="True for an in-process lab that is gone once `plan` ends")
    read_tenant_id: str | None = Field(None, description="The tenant the plan's state was read from, as Graph "
                                                         "reported it: apply refuses to write to another")


PLAN_VERSION = 2


class ChangeImpact(Frozen):
    """Who one change of the SSPR policy's scope, group, gates or method toggles brings in or leaves out
    (`auditor.derive.impact`), as judged on the state the plan was made from."""

    change_id: str
    in_scope_before: int
    in_scope_after: int
    brought_in: int
    left_out: int
    unlicensed: list[str] = Field(default_factory=list, description="Brought in without an accepted service plan "
                                                                    "(UPNs, first ones then '... and N more')")
    unregistered: list[str] = Field(default_factory=list, description="Brought in and not registered for SSPR")
    cannot_reach: list[str] = Field(default_factory=list, description="Then offered fewer methods than a reset needs")
    can_reach: list[str] = Field(default_factory=list, description="Then offered enough methods, not before")
    must_register: list[str] = Field(default_factory=list, description="Could reset before; then registered for "
                                                                       "fewer methods than a reset needs")
    left_out_users: list[str] = Field(default_factory=list)
    counts: dict[str, int] = Field(default_factory=dict, description="unlicensed, unregistered, cannot_reach, "
                                                                     "can_reach, must_register: totals")
    not_judged: list[str] = Field(default_factory=list, description="What could not be judged, and why")


class Plan(Frozen):
    format: Literal["sspr-auditor-plan"] = PLAN_FORMAT
    format_version: Literal[2] = PLAN_VERSION
    tool_version: str
    created_at: AwareDatetime = Field(default_factory=utc_now)
    policy_file: str
    policy_path: str | None = Field(None, description="Absolute path of the policy file apply re-derives from")
    policy_sha256: str | None = Field(None, description="sha256 of the policy file's bytes when the plan was made")
    snapshot_created_at: AwareDatetime
    source: PlanSource
    fingerprints: dict[str, str] = Field(default_factory=dict, description="Every snapshot section's fingerprint")
    changes: list[Change] = Field(default_factory=list)
    manual: list[ManualStep] = Field(default_factory=list)
    unplanned: list[Unplanned] = Field(default_factory=list)
    impact: list[ChangeImpact] = Field(default_factory=list, description="Who the scope and gates changes bring in "
                                                                         "or leave out, before apply")
    digest: str = ""
    mac: str | None = Field(None, description="HMAC-SHA256 with SSPR_PLAN_KEY, when that was set")

    def sealed(self) -> Plan:
        from auditor.remediation.seal import seal

        return seal(self)  # type: ignore[no-any-return]

    def compute_digest(self) -> str:
        from auditor.remediation.seal import digest_of

        return digest_of(self)

    def fixes(self, finding: Finding) -> bool | None:
        """True when a change fixes `finding`, False when it is a manual step, None when the plan ignores it."""
        ref = FindingRef.of(finding)
        if any(ref in change.fixes for change in self.changes):
            return True
        if any(step.finding == ref for step in self.manual):
            return False
        return None


class PlanError(Exception):
    """A plan or backup file that cannot be used (unreadable, not a plan, edited after it was made)."""


def save_plan(plan: Plan, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    return write_atomically(path, (plan.model_dump_json(indent=2) + "\n").encode("utf-8"))


def load_plan(path: str | Path) -> Plan:
    path = Path(path)
    plan, text = load_json_model(path, Plan, "plan", version=PLAN_VERSION)
    require_seal(plan, text, path, "plan", "make a new plan")
    problem = repeated_change(plan)
    if problem is not None:
        index, why = problem
        line, column = json_position(text, ["changes", str(index)])
        raise PlanError(f"{path}:{line}:{column}: {why}: the plan was edited (and sealed again); make a new plan")
    return plan


def repeated_change(plan: Plan) -> tuple[int, str] | None:
    """(index, why) of the first change whose id is not its position (1, 2, 3, …, as the planner numbers them)
    or that repeats an earlier change: apply matches a change to the derived one by everything but its id,
    so a copy would be written twice and counted twice. A seal proves only who wrote the file, not this."""
    seen: dict[str, str] = {}
    for index, change in enumerate(plan.changes):
        if change.id != str(index + 1):
            return index, f"change {index + 1} has id {change.id[:40]!r}, not {index + 1}"
        content = change.model_dump_json(exclude={"id", "depends_on"})
        if content in seen:
            return index, f"change {change.id} repeats change {seen[content]}"
        seen[content] = change.id
    return None


def require_seal(model: Any, text: str, path: Path, what: str, then: str) -> None:
    """PlanError naming `path:line:column` when `model`'s digest or MAC does not hold."""
    from auditor.remediation.seal import SealError, check_seal

    try:
        problem = check_seal(model, what)
    except SealError as exc:
        raise PlanError(str(exc)) from None
    if problem:
        line, column = json_position(text, ["mac" if "sign" in problem or "KEY" in problem else "digest"])
        raise PlanError(f"{path}:{line}:{column}: {problem}: {then}")


M = TypeVar("M", bound=BaseModel)


MAX_PLAN_BYTES = 64 * 1024 * 1024


def load_json_model(path: Path, model: type[M], what: str, *, version: int | None = None) -> tuple[M, str]:
    """`path` validated as `model`, and its text; else PlanError naming `file:line:column` and the problem."""
    from auditor.files import InputFileError, decode_utf8, read_bounded

    try:
        text = decode_utf8(read_bounded(path, MAX_PLAN_BYTES, what), str(path), what)
    except InputFileError as exc:
        raise PlanError(str(exc)) from None
    document = parse_json_bounded(text, f"{path}", what)
    found = document.get("format_version") if isinstance(document, dict) else None
    if version is not None and isinstance(found, int) and not isinstance(found, bool) and found != version:
        line, column = json_position(text, ["format_version"])
        raise PlanError(f"{path}:{line}:{column}: this {what} has format version {found}; this sspr-audit reads "
                        f"version {version}: make it again with this version")
    try:
        return model.model_validate_json(text), text
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        loc = [str(p) for p in first["loc"]]
        line, column = json_position(text, loc)
        where = ".".join(loc) or "(top level)"
        raise PlanError(f"{path}:{line}:{column}: not a valid sspr-auditor {what} ({exc.error_count()} error(s)); "
                        f"first at {where[:200]}: {first['msg'][:300]}") from None


def parse_json_bounded(text: str, name: str, what: str) -> Any:
    """`files.parse_json_bounded`, its refusal as a PlanError."""
    from auditor.files import InputFileError
    from auditor.files import parse_json_bounded as parse

    try:
        return parse(text, name, what)
    except InputFileError as exc:
        raise PlanError(str(exc)) from None


def json_position(text: str, loc: list[str]) -> tuple[int, int]:
    """1-based (line, column) of the deepest part of `loc` (keys and list indexes) found in the JSON `text`."""
    from ruamel.yaml import YAML
    from ruamel.yaml.comments import CommentedMap, CommentedSeq

    yaml = YAML(typ="rt")
    yaml.allow_duplicate_keys = True
    try:
        node: Any = yaml.load(text)  # JSON is YAML, and ruamel keeps every key's position
    except Exception:  # a position is a nicety: a JSON ruamel cannot read points at the top
        return (1, 1)
    found = (1, 1)
    for part in loc:
        if isinstance(node, CommentedMap) and part in node:
            line, column = node.lc.key(part)
            node = node[part]
        elif isinstance(node, CommentedSeq) and part.isdigit() and int(part) < len(node):
            line, column = node.lc.item(int(part))
            node = node[int(part)]
        else:  # not in the file: a union's tag pydantic adds (`ldap.dacl`), or a missing key
            continue
        found = (line + 1, column + 1)
    return found


def _shown(value: Any) -> str:
    if isinstance(value, bool):
        return "on" if value else "off"
    if value is None:
        return "(unset)"
    return json.dumps(value, ensure_ascii=False) if isinstance(value, list | dict | str) else str(value)


def describe_plan(plan: Plan) -> list[str]:
    """The plan as a readable diff: old → new per setting, ACEs to add as SDDL, then manual steps."""
    from auditor.remediation.impact import impact_lines

    impacts = {impact.change_id: impact for impact in plan.impact}
    lines = []
    for change in plan.changes:
        flag = "" if change.reversible else "  [not reversible]"
        lines.append(f"  ~ {change.id}. [{change.writer}] {change.summary}{flag}")
        lines.append(f"      target: {change.target}")
        if isinstance(change, LdapDaclChange):
            lines.extend(f"      + {ace.sddl()}" for ace in change.add_aces)
        else:
            lines.extend(f"      {s.name}: {_shown(s.old)} → {_shown(s.new)}" for s in change.settings_list())
        lines.extend(f"      fixes {ref.label()}" for ref in change.fixes)
        if change.note:
            lines.append(f"      note: {change.note}")
        if change.id in impacts:  # who it brings in or leaves out, under the change itself
            lines += ["    " + line for line in impact_lines([impacts[change.id]])]
    for number, step in enumerate(plan.manual, start=1):
        lines.append(f"  ! manual {number}. {step.finding.label()}")
        lines.append(f"      why: {step.why_manual}")
        how = step.how.get("portal") or step.how.get("powershell") or step.how.get("graph")
        if how:
            lines.append(f"      how: {how}")
    for item in plan.unplanned:
        lines.append(f"  ? not planned (could not read): {item.finding.label()}: {item.reason}")
    return lines
