"""The result of one audit, as handed to every renderer."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from auditor.checks.base import Finding
from auditor.coverage import CoverageReport
from auditor.onprem_view import OnPremisesReport
from auditor.snapshot.models import Snapshot, utc_now
from auditor.trend import Trend

REPORT_FORMAT = "sspr-auditor-report"


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
    snapshot_created_at: datetime
    sections: list[SectionStatus]
    summary: ReportSummary
    findings: list[Finding]
    warnings: list[str] = Field(
        default_factory=list,
        description="Problems that are not findings, e.g. a waiver that matches nothing; never a failure",
    )
    trend: Trend | None = Field(None, description="Changes since a previous report (check --previous)")
    coverage: CoverageReport | None = Field(
        None, description="Who is actually covered: in-scope users, registration, licences, Secure Score, SSPR activity"
    )
    on_premises: OnPremisesReport | None = Field(
        None, description="Active Directory: writeback rights per target OU, affected users per check, the "
                          "password-age sources side by side, the GPOs behind the sign-in screen's reset link",
    )


def section_statuses(snapshot: Snapshot) -> list[SectionStatus]:
    out = []
    for name in type(snapshot).model_fields:
        field_type = str(type(snapshot).model_fields[name].annotation)
        if "Section" not in field_type:
            continue
        section = getattr(snapshot, name)
        if section is None:
            out.append(SectionStatus(name=name, source="(not collected)", collected_at=snapshot.created_at,
                                     readable=False, error="not collected in this run"))
            continue
        out.append(SectionStatus(name=name, source=section.source, collected_at=section.collected_at,
                                 readable=section.readable, error=section.error))
    return out
