"""The fleet report's files: built from the tenants' reports, written as JSON, HTML, SARIF and Markdown.

* JSON (`sspr-fleet.json`): the :class:`~auditor.fleet_report.FleetReport`, per `fleet-report-schema.json`;
* HTML (`sspr-fleet.html`): a tenant × check grid coloured by status; each cell links to the tenant's own
  report at the worst finding of that check (`TENANT/sspr-audit.html#finding-N`), with the trend since the
  previous fleet run; the same Content-Security-Policy and escaping as the single report;
* SARIF (`sspr-fleet.001.sarif`, `sspr-fleet.002.sarif`, …): one run per tenant (each tenant's own SARIF run,
  its `automationDetails.id` naming the tenant), at most 20 runs and 7.5 MB gzipped a file, each file one
  code-scanning upload: `auditor.render.fleet_sarif` says why (GitHub's limits, with the sources); each
  tenant row of the JSON, HTML and Markdown says which file and category its results went to;
* Markdown (`sspr-fleet.md`): counts, and a line per tenant, for `$GITHUB_STEP_SUMMARY`.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from auditor import __version__, exit_codes
from auditor.files import write_atomically
from auditor.findings import STATUS_ORDER, worst
from auditor.fleet_report import (
    FleetCell,
    FleetCheck,
    FleetReport,
    FleetSarifFile,
    FleetSarifPlacement,
    FleetSummary,
    FleetTenantRow,
    fleet_trend,
)
from auditor.render.fleet_sarif import SarifPart, category, fleet_sarif_parts, stale_parts
from auditor.render.html import CONTENT_SECURITY_POLICY, _environment, group_findings
from auditor.render.markdown import escape
from auditor.report import AuditReport

FLEET_STEM = "sspr-fleet"
FLEET_FORMATS = ("json", "html", "sarif", "markdown")


@dataclass(frozen=True)
class TenantResult:
    """One tenant's outcome as the fleet report sees it: its report (and where its files are), or why none."""

    name: str
    exit_code: int
    report: AuditReport | None = None
    error: str | None = None
    report_json: Path | None = None
    report_html: Path | None = None


def _relative(path: Path | None, folder: Path) -> str | None:
    if path is None:
        return None
    relative = Path(os.path.relpath(path.resolve(), folder.resolve())).as_posix()
    # "./" first: a folder named like a URL scheme (`javascript:`) must stay a path in an href
    return relative if relative.startswith("../") else f"./{relative}"


def build_fleet_report(results: list[TenantResult], out: Path, fleet_file: str | None = None,
                       previous: FleetReport | None = None, previous_label: str = "previous fleet run") -> FleetReport:
    checks: dict[str, FleetCheck] = {}
    rows = []
    for result in results:
        row = FleetTenantRow(name=result.name, exit_code=result.exit_code, error=result.error,
                             report_json=_relative(result.report_json, out),
                             report_html=_relative(result.report_html, out))
        if result.report is not None:
            row.origin = result.report.origin
            row.tenant_id = result.report.tenant_id
            row.summary = result.report.summary
            row.cells = _cells(result.report, row.report_html, checks)
        rows.append(row)
    for row in rows:  # a tenant that could not be audited is unknown on every check
        if row.error is not None:
            row.cells = {check: FleetCell(status="unknown", targets=0, failed=0, unknown=1, detail=row.error)
                         for check in checks}
    by_exit: dict[str, int] = {}
    cells_by_status = {status.value: 0 for status in STATUS_ORDER}
    for row in rows:
        by_exit[str(row.exit_code)] = by_exit.get(str(row.exit_code), 0) + 1
        for cell in row.cells.values():
            cells_by_status[cell.status] += 1
    report = FleetReport(
        tool_version=__version__, fleet_file=fleet_file, checks=sorted(checks.values(), key=lambda c: c.id),
        tenants=rows, summary=FleetSummary(tenants=len(rows), by_exit_code=by_exit, cells_by_status=cells_by_status),
        exit_code=exit_codes.worst([row.exit_code for row in rows]),
    )
    if previous is not None:
        report.trend = fleet_trend(previous, report, previous_label)
    return report


def _cells(report: AuditReport, html: str | None, checks: dict[str, FleetCheck]) -> dict[str, FleetCell]:
    anchors = {(view.finding.check, view.finding.target): view.anchor
               for group in group_findings(report.findings) for view in group.findings}
    by_check: dict[str, list[Any]] = {}
    for finding in report.findings:
        by_check.setdefault(finding.check, []).append(finding)
        checks.setdefault(finding.check, FleetCheck(id=finding.check, title=finding.title,
                                                    severity=finding.severity.value))
    cells = {}
    for check, findings in by_check.items():
        status = worst(f.status for f in findings)
        first = max((f for f in findings if f.status == status), key=lambda f: f.severity.rank)
        anchor = anchors.get((first.check, first.target))
        detail = f"{first.target}: {first.reason}" if first.reason else first.target
        cells[check] = FleetCell(
            status=status.value, targets=len(findings),
            failed=sum(1 for f in findings if f.status.value == "fail"),
            unknown=sum(1 for f in findings if f.status.value == "unknown"),
            href=f"{html}#{anchor}" if html and anchor else None, detail=detail[:300])
    return cells


# --- the files ---------------------------------------------------------------------------------


def fleet_json(report: FleetReport) -> bytes:
    return (report.model_dump_json(indent=2) + "\n").encode("utf-8")


LEGEND = {
    "fail": "the tenant's live value differs from the policy; the number is how many of its findings fail",
    "unknown": "an input the check needs could not be read, so it is neither pass nor fail; the number is how many "
               "findings are unknown (each reason is listed below the grid)",
    "waived": "it would fail, but a current waiver in the tenant's policy covers it",
    "pass": "the live value matches the policy",
    "not_applicable": "the tenant's policy does not ask for it",
}


@dataclass(frozen=True)
class UnknownCell:
    """Why one tenant's check is unknown, for the list under the grid."""

    tenant: str
    check: str
    title: str
    reason: str


def unknown_cells(report: FleetReport) -> list[UnknownCell]:
    """Every unknown cell of a tenant that was audited (a tenant that could not be is explained once, in its row)."""
    titles = {check.id: check.title for check in report.checks}
    return [UnknownCell(row.name, check, titles.get(check, check), cell.detail or "no reason recorded")
            for row in report.tenants if row.error is None
            for check, cell in sorted(row.cells.items()) if cell.status == "unknown"]


def fleet_html(report: FleetReport) -> bytes:
    template = _environment().get_template("fleet.html.j2")
    statuses = ("fail", "unknown", "waived", "pass", "not_applicable")
    failing = {check.id: sum(1 for row in report.tenants if (cell := row.cells.get(check.id)) is not None
                             and cell.status == "fail") for check in report.checks}
    return template.render(report=report, csp=CONTENT_SECURITY_POLICY, statuses=statuses, legend=LEGEND,
                           unknown=unknown_cells(report), failing=failing,
                           labels={"fail": "Fail", "unknown": "Unknown", "waived": "Waived", "pass": "Pass",
                                   "not_applicable": "N/A"}).encode("utf-8")


def fleet_markdown(report: FleetReport) -> bytes:
    verdict = {0: "every tenant complies", 1: "drift in at least one tenant",
               3: "at least one tenant could not be fully audited"}.get(report.exit_code, "see the tenants")
    lines = [f"## SSPR fleet audit: {len(report.tenants)} tenant(s), exit {report.exit_code} ({verdict})", "",
             "| tenant | exit | fail | unknown | pass | note |", "|---|---:|---:|---:|---:|---|"]
    for row in report.tenants:
        counts = row.summary.by_status if row.summary else {}
        note = escape(row.error) if row.error else ""
        lines.append(f"| {escape(row.name)} | {row.exit_code} | {counts.get('fail', 0)} | "
                     f"{counts.get('unknown', 0) if row.summary else 'all'} | {counts.get('pass', 0)} | {note} |")
    if report.sarif_files:
        lines += ["", f"Code scanning: {len(report.sarif_files)} SARIF file(s), each uploaded on its own "
                      "(at most 20 runs, one per tenant, its category `sspr-audit/<tenant>/`):"]
        lines += [f"- `{escape(f.file)}`: {len(f.tenants)} tenant(s), {f.results} result(s), "
                  f"{f.gzip_bytes / 1024:.0f} KiB gzipped: {', '.join(map(escape, f.tenants))}"
                  for f in report.sarif_files]
        left = [row for row in report.tenants if row.sarif and row.sarif.left_out]
        lines += [f"- {escape(row.name)}: {row.sarif.left_out} result(s) left out of its run to stay within "
                  f"GitHub's limits (its own report has them)" for row in left if row.sarif]
        missing = [row.name for row in report.tenants if row.sarif is None]
        if missing:
            lines.append(f"- no run (no report; code scanning keeps their last analysis): "
                         f"{', '.join(map(escape, missing))}")
    if report.trend is not None:
        trend = report.trend
        lines += ["", f"Since {escape(trend.previous_label)}: {len(trend.worse)} cell(s) worse, "
                      f"{len(trend.better)} better; new tenants: {', '.join(map(escape, trend.new_tenants)) or 'none'}"
                      f"; gone: {', '.join(map(escape, trend.gone_tenants)) or 'none'}"]
        lines += [f"- worse: {escape(c.tenant)} {escape(c.check)}: {c.before or 'absent'} → {c.after or 'absent'}"
                  for c in trend.worse[:50]]
    return ("\n".join(lines) + "\n").encode("utf-8")


def place_sarif(report: FleetReport, parts: list[SarifPart]) -> None:
    """Record in `report` where each tenant's run went (its row) and what each file holds."""
    rows = {row.name: row for row in report.tenants}
    report.sarif_files = []
    for part in parts:
        for index, tenant in enumerate(part.runs):
            rows[tenant.tenant].sarif = FleetSarifPlacement(
                file=part.name, run=index, category=category(tenant.tenant),
                results=len(tenant.run["results"]), left_out=tenant.left_out)
        report.sarif_files.append(FleetSarifFile(
            file=part.name, tenants=[t.tenant for t in part.runs],
            results=sum(len(t.run["results"]) for t in part.runs), bytes=len(part.data), gzip_bytes=part.gzip_bytes))


def write_fleet_reports(report: FleetReport, results: list[TenantResult], out: Path,
                        formats: tuple[str, ...] = FLEET_FORMATS) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    written = []
    if "sarif" in formats:  # first: the other files say where each tenant's results went
        parts = fleet_sarif_parts(results, base_dir=Path.cwd())
        place_sarif(report, parts)
        for stale in stale_parts(out, [part.name for part in parts]):
            stale.unlink()  # an earlier run's extra files would be uploaded with this run's
        # owner-only, as the tenants' reports: they name tenant objects and settings
        written += [write_atomically(out / part.name, part.data, mode=0o600) for part in parts]
    makers: dict[str, tuple[str, Callable[[], bytes]]] = {
        "json": ("json", lambda: fleet_json(report)), "html": ("html", lambda: fleet_html(report)),
        "markdown": ("md", lambda: fleet_markdown(report))}
    for name in formats:
        if name in makers:
            extension, make = makers[name]
            written.append(write_atomically(out / f"{FLEET_STEM}.{extension}", make(), mode=0o600))
    return written


def fleet_report_schema() -> dict[str, Any]:
    schema = FleetReport.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "https://github.com/sspr-auditor/sspr-auditor/fleet-report-schema.json"
    return schema
