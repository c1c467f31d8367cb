"""Tenant reports that another run reads back (`fleet merge`, `check --previous`): claims, not facts.

* Only an sspr-audit JSON report of a format version this build knows is read: a plan, a backup, a snapshot or
  a report of a later version is refused with one line naming the file.
* Its summary and exit code are never taken from the file: they are derived again from its findings, with the
  `fail_on` / `unknown` the report records (the strictest, low and fail, for a report that records none). An
  edited summary is therefore harmless; a report that claims 0 over failing findings is drift (1).
* It names its tenant (`tenant_id` from a live run's origin, `tenant` from the fleet inventory), and a reader
  refuses it for another tenant (`other_tenant`): another live tenant id, or the lab for a live tenant.
* With `SSPR_PLAN_KEY` set, every JSON report written carries a `mac` (HMAC-SHA256, the plan's key and helpers in
  `auditor.remediation.seal`) over all its other fields as written; a reader with the key refuses a report whose
  MAC is missing or wrong, and a reader without it refuses a signed report (as `apply` does for plans). Only the
  MAC protects the findings themselves: re-derivation makes the counts follow the findings, not the findings true.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from auditor.report import REPORT_FORMAT, AuditReport, ReportSummary

log = logging.getLogger(__name__)

KNOWN_FORMAT_VERSIONS = frozenset({1})
MAX_REPORT_BYTES = 256 << 20


class ReportTrustError(Exception):
    """A report that is not one this build reads, is another tenant's, or whose seal does not hold."""


def written_data(report: AuditReport) -> dict[str, object]:
    """`report` as the JSON file holds it (the renderer's bytes, parsed back)."""
    from auditor.render.json_report import JsonRenderer

    data: dict[str, object] = json.loads(JsonRenderer().render(report))
    return data


def sealed(report: AuditReport) -> AuditReport:
    """`report` with its MAC when `SSPR_PLAN_KEY` is set (unchanged, no MAC, when it is not)."""
    from auditor.remediation.seal import data_mac, plan_key

    key = plan_key()
    if key is None:
        return report.model_copy(update={"mac": None})
    return report.model_copy(update={"mac": data_mac(written_data(report.model_copy(update={"mac": None})), key)})


def rederived(report: AuditReport, label: str) -> AuditReport:
    """`report` with its summary and exit code derived from its findings, whatever the file claimed."""
    from auditor.checks.base import Severity
    from auditor.checks.exit_codes import Summary, exit_code

    counts = Summary.of(list(report.findings))
    code = int(exit_code(list(report.findings), Severity(report.fail_on or "low"), report.unknown != "warn"))
    summary = ReportSummary(total=counts.total, by_status=counts.by_status,
                            failed_by_severity=counts.failed_by_severity, exit_code=code)
    claimed = report.summary
    if (claimed.exit_code, claimed.total, dict(claimed.by_status)) != (code, counts.total, counts.by_status):
        log.warning("%s: the report's summary says exit %s, %s finding(s); its findings say exit %s, %s: the "
                    "findings are used", label, claimed.exit_code, claimed.total, code, counts.total)
    return report.model_copy(update={"summary": summary})


def read_report(path: Path, what: str = "report") -> AuditReport:
    """The JSON report at `path`: known format and version, seal checked, summary derived again from the findings."""
    from pydantic import ValidationError

    from auditor.files import InputFileError, parse_json_bounded, read_bounded
    from auditor.remediation.seal import check_data_seal
    from auditor.text import one_line

    try:
        raw = read_bounded(path, MAX_REPORT_BYTES, what).decode("utf-8")
        data = parse_json_bounded(raw, str(path), what)
    except InputFileError as exc:
        raise ReportTrustError(str(exc)) from None
    except UnicodeDecodeError:
        raise ReportTrustError(f"{path}: not an sspr-audit JSON report (not UTF-8 text)") from None
    kind = data.get("format") if isinstance(data, dict) else None
    if not isinstance(data, dict) or kind != REPORT_FORMAT:
        shown = one_line(kind)[:60] if isinstance(kind, str) else "missing"
        raise ReportTrustError(f"{path}: not an sspr-audit JSON report (its format is {shown!r}, a report's is "
                               f"{REPORT_FORMAT!r})")
    version = data.get("format_version")
    if type(version) is not int or version not in KNOWN_FORMAT_VERSIONS:
        shown = str(version) if type(version) is int and abs(version) < 10**9 else "not a number"
        raise ReportTrustError(f"{path}: an sspr-audit report of format version {shown}; this build reads version "
                               f"{', '.join(map(str, sorted(KNOWN_FORMAT_VERSIONS)))} (use the sspr-audit that "
                               "wrote it)")
    problem = check_data_seal(data, what)
    if problem:
        raise ReportTrustError(f"{path}: {problem}")
    try:
        report = AuditReport.model_validate(data)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        where = ".".join(str(p) for p in first["loc"]) or "(top level)"
        raise ReportTrustError(f"{path}: not a valid sspr-audit JSON report ({exc.error_count()} problem(s); the "
                               f"first at {one_line(where)[:120]}: {one_line(first['msg'])[:120]})") from None
    return rederived(report, str(path))


def tenant_key(report: AuditReport) -> str | None:
    """The live tenant the report is about, compared case-insensitively (its tenant id, or the id its origin names);
    None for a lab run or a run that names no tenant. Lab scenarios are states of one lab, not tenants."""
    from auditor.report import tenant_of_origin

    tenant = report.tenant_id or tenant_of_origin(report.origin)
    return tenant.casefold() if tenant else None


def _identity(report: AuditReport) -> str | None:
    key = tenant_key(report)
    if key is not None:
        return key
    return "(lab)" if report.origin.startswith("lab:") else None


def other_tenant(old: AuditReport, new: AuditReport) -> str | None:
    """Why `old` is not a report of `new`'s tenant (None when it is, or when either does not say): two live tenant
    ids that differ, or a live tenant and the lab."""
    from auditor.text import one_line

    before, after = _identity(old), _identity(new)
    if before is not None and after is not None and before != after:
        return (f"it is a report of tenant {one_line(old.tenant_id or old.origin)[:200]}, this run audits "
                f"{one_line(new.tenant_id or new.origin)[:200]}")
    if old.tenant and new.tenant and old.tenant != new.tenant:
        return (f"it is the fleet tenant {one_line(old.tenant)[:80]}'s report, this run audits "
                f"{one_line(new.tenant)[:80]}")
    return None
