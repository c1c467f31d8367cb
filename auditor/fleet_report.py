"""The fleet report: many tenants' audits as one tenant × check grid, with the fleet's exit code and trend.

Built by `auditor.render.fleet` from the tenants' own reports (a `fleet check` run, or `fleet merge` over the
JSON reports of separate jobs); its JSON follows `fleet-report-schema.json`.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Final, Literal

from pydantic import BaseModel, ConfigDict, Field

from auditor.findings import STATUS_ORDER, Status
from auditor.report import ReportSummary
from auditor.snapshot.models import utc_now

FLEET_REPORT_FORMAT: Final = "sspr-auditor-fleet-report"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class FleetCheck(_Model):
    id: str
    title: str
    severity: str


class FleetCell(_Model):
    """A tenant's check: the worst status among its targets (a failure anywhere in the tenant is the cell's)."""

    status: Literal["fail", "unknown", "waived", "pass", "not_applicable"]
    targets: int = Field(description="Findings of this check in this tenant")
    failed: int
    unknown: int
    href: str | None = Field(None, description="The tenant's HTML report at the worst finding, relative to the "
                                               "fleet report's folder")
    detail: str = Field("", description="The worst finding's target and reason, for the cell's tooltip")


class FleetSarifPlacement(_Model):
    """Where a tenant's results went in the fleet's SARIF: the file, its run there and its code-scanning category."""

    file: str = Field(description="The SARIF file, in the fleet report's folder (one code-scanning upload)")
    run: int = Field(description="The run's index in that file")
    category: str = Field(description="The run's automationDetails.id: the tenant's code-scanning category")
    results: int = Field(description="Results the tenant's run has in the file")
    left_out: int = Field(0, description="Results left out to stay within GitHub's limits (the run's "
                                         "toolExecutionNotifications say which); the tenant's own report has all")


class FleetSarifFile(_Model):
    file: str
    tenants: list[str]
    results: int
    bytes: int
    gzip_bytes: int


class FleetTenantRow(_Model):
    name: str
    origin: str | None = None
    tenant_id: str | None = Field(None, description="The tenant id its report names (a live tenant): a later run's "
                                                    "--previous must name the same one")
    exit_code: int
    error: str | None = Field(None, description="Why the tenant has no report (its audit failed): all unknown")
    summary: ReportSummary | None = None
    report_json: str | None = None
    report_html: str | None = None
    cells: dict[str, FleetCell] = Field(default_factory=dict, description="check id -> cell")
    sarif: FleetSarifPlacement | None = Field(None, description="Where the tenant's SARIF run went; none when the "
                                                                "tenant has no report or no SARIF was written")


class FleetChange(_Model):
    tenant: str
    check: str
    before: str | None
    after: str | None


class FleetTrend(_Model):
    previous_label: str
    previous_at: datetime
    worse: list[FleetChange] = Field(default_factory=list, description="Cells whose status got worse")
    better: list[FleetChange] = Field(default_factory=list)
    new_tenants: list[str] = Field(default_factory=list)
    gone_tenants: list[str] = Field(default_factory=list)


class FleetSummary(_Model):
    tenants: int
    by_exit_code: dict[str, int]
    cells_by_status: dict[str, int]


class FleetReport(_Model):
    format: Literal["sspr-auditor-fleet-report"] = FLEET_REPORT_FORMAT
    format_version: Literal[1] = 1
    tool_version: str
    generated_at: datetime = Field(default_factory=utc_now)
    fleet_file: str | None = None
    checks: list[FleetCheck]
    tenants: list[FleetTenantRow]
    summary: FleetSummary
    exit_code: int = Field(description="The worst tenant's: 1 if any drifted, else 3 if any is not 0, else 0 "
                           "(exit_codes.worst)")
    trend: FleetTrend | None = None
    sarif_files: list[FleetSarifFile] = Field(default_factory=list, description="The SARIF files written, each "
                                              "within GitHub code scanning's limits and uploaded on its own")


def worse(before: str | None, after: str | None) -> bool:
    """Whether a cell went from `before` to a worse `after` (a cell that appears counts as unknown, one that goes
    as not applicable)."""
    def rank(status: str | None, absent: Status) -> int:
        return STATUS_ORDER.index(Status(status) if status else absent)

    return rank(after, Status.unknown) < rank(before, Status.not_applicable)


def fleet_trend(previous: FleetReport, current: FleetReport, label: str) -> FleetTrend:
    old = {row.name: row for row in previous.tenants}
    new = {row.name: row for row in current.tenants}
    trend = FleetTrend(previous_label=label, previous_at=previous.generated_at,
                       new_tenants=sorted(set(new) - set(old)), gone_tenants=sorted(set(old) - set(new)))
    for name in sorted(set(old) & set(new)):
        for check in sorted(set(old[name].cells) | set(new[name].cells)):
            before = old[name].cells.get(check)
            after = new[name].cells.get(check)
            was, now = (before.status if before else None), (after.status if after else None)
            if was == now:
                continue
            change = FleetChange(tenant=name, check=check, before=was, after=now)
            (trend.worse if worse(was, now) else trend.better).append(change)
    return trend


def other_tenants(previous: FleetReport, current: FleetReport) -> list[str]:
    """The tenants that `previous` lists under a name `current` gives another tenant id (a trend across two different
    tenants would be wrong): `name (old id → new id)`."""
    from auditor.report import tenant_of_origin

    def tenant(row: FleetTenantRow) -> str | None:  # an older fleet report has only the origin (`live:<id>`)
        return row.tenant_id or (tenant_of_origin(row.origin) if row.origin else None)

    old = {row.name: tenant(row) for row in previous.tenants}
    moved = []
    for row in current.tenants:
        before, now = old.get(row.name), tenant(row)
        if before and now and before.casefold() != now.casefold():
            moved.append(f"{row.name} ({before[:80]!a} → {now})")
    return moved


class FleetReportError(Exception):
    """A file given as an earlier fleet report that is not one (exit 2)."""


MAX_FLEET_REPORT_BYTES = 256 << 20


def load_fleet_report(path: Path, option: str = "--previous") -> FleetReport:
    """An earlier `sspr-fleet.json`, read bounded and validated; else a FleetReportError naming `path`."""
    from pydantic import ValidationError

    from auditor.files import parse_json_bounded, read_bounded

    raw = read_bounded(path, MAX_FLEET_REPORT_BYTES, "fleet report").decode("utf-8", "replace")
    try:
        return FleetReport.model_validate(parse_json_bounded(raw, str(path), "fleet report"))
    except ValidationError as exc:
        raise FleetReportError(f"{path}: {option} takes an sspr-fleet.json ({exc.error_count()} problem(s))") \
            from None
