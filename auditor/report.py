"""The result of one audit, as handed to every renderer."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field

from auditor.checks.base import Finding
from auditor.derive.figures import CoverageReport
from auditor.findings import ControlResult
from auditor.onprem_view import OnPremisesReport
from auditor.snapshot.models import Snapshot, utc_now

REPORT_FORMAT: Final = "sspr-auditor-report"


class TrendEntry(BaseModel):
    """One finding as it was in the older run and as it is now (None: it did not exist then / now)."""

    model_config = ConfigDict(frozen=True)

    check: str
    target: str
    title: str
    severity: str
    status_before: str | None
    status_after: str | None
    actual_before: Any = None
    actual_after: Any = None
    expected: Any = None


class ValueChange(BaseModel):
    """A live value that differs between the two runs."""

    model_config = ConfigDict(frozen=True)

    subject: str = Field(description="`check [target]` for reports, `section.field` for snapshots")
    before: Any = None
    after: Any = None


class Trend(BaseModel):
    """The difference between an older run and this one."""

    model_config = ConfigDict(frozen=True)

    kind: Literal["reports", "snapshots"]
    previous_label: str = Field(description="Which older run this is compared with (its file name)")
    previous_at: datetime | None = Field(None, description="When the older report or snapshot was made")
    current_at: datetime | None = None
    new_failures: list[TrendEntry] = Field(default_factory=list)
    fixed: list[TrendEntry] = Field(default_factory=list)
    still_failing: list[TrendEntry] = Field(default_factory=list)
    other_changes: list[TrendEntry] = Field(default_factory=list, description="Any other change of status")
    changed_values: list[ValueChange] = Field(default_factory=list)

    @property
    def unchanged(self) -> bool:
        return not (self.new_failures or self.fixed or self.other_changes or self.changed_values)


class SectionStatus(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str
    source: str
    collected_at: datetime
    readable: bool
    error: str | None = None


class ReportSummary(BaseModel):
    model_config = ConfigDict(frozen=True)

    total: int
    by_status: dict[str, int] = Field(description="count of findings per status; every status present")
    failed_by_severity: dict[str, int]
    exit_code: int


class AuditReport(BaseModel):
    model_config = ConfigDict(frozen=True)

    format: str = REPORT_FORMAT
    format_version: int = 1
    tool_version: str
    generated_at: datetime = Field(default_factory=utc_now)
    policy_file: str
    origin: str
    tenant_id: str | None = Field(None, description="The tenant the report describes (a live run's tenant id or "
                                  "domain); `fleet merge` and `--previous` refuse a report of another tenant")
    tenant: str | None = Field(None, description="The fleet inventory's name of the tenant (`fleet check`): `fleet "
                               "merge` refuses the report under another name")
    fail_on: Literal["info", "low", "medium", "high", "critical"] | None = Field(
        None, description="The --fail-on the exit code was judged with; a reader re-derives the code from the "
                          "findings with it (low when absent)")
    unknown: Literal["fail", "warn"] | None = Field(
        None, description="The --unknown handling the exit code was judged with (fail when absent)")
    snapshot_created_at: datetime
    sections: list[SectionStatus]
    summary: ReportSummary
    findings: list[Finding]
    warnings: list[str] = Field(
        default_factory=list,
        description="Problems that are not findings, e.g. a waiver that matches nothing; never a failure",
    )
    trend: Trend | None = Field(None, description="Changes since a previous report (check --previous)")
    controls: list[ControlResult] = Field(
        default_factory=list, description="Each framework control the checks evidence (CIS, EIDSCA, ScubaGear, "
                                          "Secure Score), its status judged with what the policy asks")
    coverage: CoverageReport | None = Field(
        None, description="Who is actually covered: in-scope users, registration, licences, Secure Score, SSPR activity"
    )
    on_premises: OnPremisesReport | None = Field(
        None, description="Active Directory: writeback rights per target OU, affected users per check, the "
                          "password-age sources side by side, the GPOs behind the sign-in screen's reset link",
    )
    mac: str | None = Field(None, description="HMAC-SHA256 with SSPR_PLAN_KEY over every other field as written, "
                                              "when the key was set; a reader with the key refuses a report without "
                                              "it (auditor/app/report_trust.py)")


def tenant_of_origin(origin: str) -> str | None:
    """The tenant id a snapshot's origin names (`live:<tenant id>`); None for the lab, a Graph URL or no id."""
    kind, _, rest = origin.partition(":")
    return rest if kind == "live" and rest and rest != "tenant" else None


ONLY_LISTED_WHEN_READ = frozenset({"directory_discovery", "devices"})
"""Sections no check reads (export's discovery; the devices only plan's impact preview counts, read only when the
policy asks for a device grant): a report lists them only when a run read them."""


def section_statuses(snapshot: Snapshot) -> list[SectionStatus]:
    out = []
    for name in type(snapshot).model_fields:
        field_type = str(type(snapshot).model_fields[name].annotation)
        if "Section" not in field_type:
            continue
        section = getattr(snapshot, name)
        if section is None and name in ONLY_LISTED_WHEN_READ:
            continue
        if section is None:
            out.append(SectionStatus(name=name, source="(not collected)", collected_at=snapshot.created_at,
                                     readable=False, error="not collected in this run"))
            continue
        out.append(SectionStatus(name=name, source=section.source, collected_at=section.collected_at,
                                 readable=section.readable, error=section.error))
    return out
