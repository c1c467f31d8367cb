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

from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Literal, TypeVar

from pydantic import AwareDatetime, BaseModel, Field, ValidationError

from auditor.checks.base import Finding
from auditor.endpoints import Endpoints
from auditor.files import write_atomically
from auditor.fixes.changes import (
    SID_PATTERN,
    Change,
    FindingRef,
    Frozen,
    GraphAuthorizationChange,
    GraphCaPolicyChange,
    GraphMethodConfigurationChange,
    GraphMethodsPolicyChange,
    GraphPasswordRulesChange,
    LdapDaclChange,
    LdapPasswordAgeChange,
    PortalOnPremChange,
    PortalSsprChange,
    SettingChange,
    SysvolPasswordAgeChange,
    WriterName,
    object_key,
)
from auditor.snapshot.models import utc_now

if TYPE_CHECKING:
    from auditor.remediation.seal import Sealable

PLAN_FORMAT: Final = "sspr-auditor-plan"

# re-exported from auditor.fixes.changes (the plan file's change types); the names this module defines are public anyway
__all__ = [
    "SID_PATTERN",
    "Change",
    "FindingRef",
    "Frozen",
    "GraphAuthorizationChange",
    "GraphCaPolicyChange",
    "GraphMethodConfigurationChange",
    "GraphMethodsPolicyChange",
    "GraphPasswordRulesChange",
    "LdapDaclChange",
    "LdapPasswordAgeChange",
    "PortalOnPremChange",
    "PortalSsprChange",
    "SettingChange",
    "SysvolPasswordAgeChange",
    "WriterName",
    "object_key",
]


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


class LabDomainRecord(Frozen):
    """The lab's Samba domain a `--lab` plan read: its scenario, the seed it was cloned from and the loopback
    address it answered on (SYSVOL paths and the directory's source name it). Apply re-creates it from the same
    seeded template on the same address when the lab no longer keeps it, and proves it the same by the plan's
    directory and SYSVOL fingerprints (auditor/app/lab_workspace.py)."""

    scenario: str = Field(pattern=r"^[a-z][a-z0-9_-]{0,63}$")
    seed: str = Field(pattern=r"^[0-9A-Za-z._-]{1,32}$")
    address: str = Field(pattern=r"^127\.(?:[0-9]{1,3}\.){2}[0-9]{1,3}$")


class PlanSource(Frozen):
    """Where the plan's live state came from and where apply should write. Never a secret."""

    origin: str
    endpoints: Endpoints = Field(default_factory=Endpoints, description="As the state was read: the URLs, and "
                                 "the auth each was read with (auditor/endpoints.py)")
    ephemeral: bool = Field(False, description="True for an in-process lab that is gone once `plan` ends")
    read_tenant_id: str | None = Field(None, description="The tenant the plan's state was read from, as Graph "
                                                         "reported it: apply refuses to write to another")
    lab_domain: LabDomainRecord | None = Field(None, description="The lab domain a `--lab` plan read (None: "
                                                                 "none was read, or not a lab plan)")


# 3: the endpoints recorded as one `endpoints` object (auditor/endpoints.py), with the auth actually used
PLAN_VERSION: Final = 3


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
    blocked: list[str] = Field(default_factory=list, description="Conditional Access on registering security "
                                                                 "info: the covered users it would block once "
                                                                 "enforced (no MFA-capable method, or no "
                                                                 "compliant or hybrid-joined device they own)")
    prompted: list[str] = Field(default_factory=list, description="Turning on registration at sign-in: the "
                                                                  "unregistered users in scope it prompts at each "
                                                                  "sign-in until they register")
    counts: dict[str, int] = Field(default_factory=dict, description="unlicensed, unregistered, cannot_reach, "
                                                                     "can_reach, must_register, blocked, unknown "
                                                                     "(registration policy), prompted: totals")
    not_judged: list[str] = Field(default_factory=list, description="What could not be judged, and why")


class Plan(Frozen):
    format: Literal["sspr-auditor-plan"] = PLAN_FORMAT
    format_version: Literal[3] = PLAN_VERSION
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

        return seal(self)

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


def require_seal(model: Sealable, text: str, path: Path, what: str, then: str) -> None:
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
        wrote = document.get("tool_version")
        then = ("make it again with this version" if what != "backup" else
                f"restore it with the sspr-audit that wrote it ({str(wrote)[:40] if wrote else 'an older version'})")
        raise PlanError(f"{path}:{line}:{column}: this {what} has format version {found}; this sspr-audit reads "
                        f"version {version}: {then}")
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
