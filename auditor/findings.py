"""What the audit produces: statuses (with their order), severities, evidence and findings.

Below the checks, the derived views and the reports alike; `auditor.checks.base` re-exports these names.
`Unreadable` is what reading a snapshot section that could not be read raises (`section_value`): the
one place a section becomes a value or the reason it is missing.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from auditor.policy.models import Location
from auditor.snapshot.models import Section, Snapshot


class Status(StrEnum):
    passed = "pass"
    failed = "fail"
    unknown = "unknown"
    not_applicable = "not_applicable"
    waived = "waived"


class Severity(StrEnum):
    info = "info"
    low = "low"
    medium = "medium"
    high = "high"
    critical = "critical"

    @property
    def rank(self) -> int:
        return list(Severity).index(self)


STATUS_ORDER: tuple[Status, ...] = (Status.failed, Status.unknown, Status.waived, Status.passed,
                                    Status.not_applicable)
"""Worst first: how reports sort and count findings."""


def worst(statuses: Iterable[Status]) -> Status:
    """The worst of `statuses` in STATUS_ORDER; not applicable when there is none."""
    present = set(statuses)
    return next((s for s in STATUS_ORDER if s in present), Status.not_applicable)


class Evidence(BaseModel):
    model_config = ConfigDict(frozen=True)

    source: str = Field(description="The API path, DN or file the value was read from")
    field: str = Field(description="The field, attribute or key within it")
    value: Any = None


class WaiverNote(BaseModel):
    model_config = ConfigDict(frozen=True)

    reason: str
    owner: str
    ticket: str | None
    expires: date
    expired: bool


class Subject(BaseModel):
    """What a finding is about beyond its target, typed, for code that acts on findings (the planner, the
    fingerprints): one AdminSDHolder finding per right shares target and policy key with the others, and is
    told apart here, never by parsing its text."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    right: str | None = Field(None, description="The AD right (a key of auditor.ad.rights.RIGHTS_BY_NAME)")


class ControlRef(BaseModel):
    """A compliance-framework control a check evidences (see auditor.checks.frameworks for the sources)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    framework: str = Field(description="cis-m365, cis-azure, eidsca, scuba, secure-score, maester or zta")
    id: str
    title: str
    partial: bool = Field(False, description="The control covers more or less than the check judges")


class ControlResult(BaseModel):
    """A framework control's status from the findings that evidence it, judged with what the policy asks."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    framework: str
    id: str
    title: str
    partial: bool = False
    status: Status
    checks: list[str]
    findings: int = Field(description="Findings that evidence it")
    failed: int
    note: str | None = Field(None, description="Why the status is not the findings' own (the policy asks for "
                                               "less than the control), or why nothing evidences it")


class Finding(BaseModel):
    model_config = ConfigDict(frozen=True)

    check: str
    title: str
    status: Status
    severity: Severity
    target: str
    expected: Any = None
    actual: Any = None
    evidence: list[Evidence] = Field(default_factory=list)
    policy_location: Location | None = None
    subject: Subject | None = Field(None, description="What the finding is about beyond its target (typed)")
    reason: str | None = Field(None, description="Why unknown / not applicable, or what differs")
    fix: dict[str, str] = Field(default_factory=dict)
    references: list[str] = Field(default_factory=list, description="Microsoft documentation for the setting")
    waiver: WaiverNote | None = None
    fixable: bool | None = Field(
        None, description="For a failure: true when `sspr-audit plan` can fix it, false when it is a manual step; "
                          "null when not assessed or not failing"
    )
    controls: list[ControlRef] = Field(default_factory=list,
                                       description="Framework controls this check evidences (CIS, EIDSCA, ScubaGear, "
                                                   "Secure Score)")


class Unreadable(Exception):
    """Raised inside a check when an input it needs could not be read."""

    def __init__(self, reason: str, evidence: list[Evidence] | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.evidence = evidence or []


def section_value(snapshot: Snapshot, name: str) -> Any:
    """The value of snapshot section `name`, or raise Unreadable with the reason (never a silent None)."""
    section: Section[Any] | None = getattr(snapshot, name, None)
    if section is None:
        raise Unreadable(f"`{name}` was not collected in this snapshot")
    if section.error is not None or section.value is None:
        raise Unreadable(f"{section.source}: {section.error or 'no value'}",
                         [Evidence(source=section.source, field="(section)")])
    return section.value
