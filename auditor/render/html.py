"""The HTML report: one self-contained file, summary first, then what failed (worst first, each rule's fix
collapsed once below its findings, naming the objects it affects), then coverage, on-premises, frameworks and
the data sources; every finding with its proof.

Everything a tenant or a policy supplies is data: the template is rendered with autoescape
on for every template (a `.html.j2` name would slip past `select_autoescape`'s defaults),
control and bidirectional-override characters are shown as `[U+202E]` instead of being
obeyed, and a value becomes a link only when it is a plain http(s) or mailto URL.
The page carries a Content-Security-Policy that allows no script, font, frame or fetch.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from enum import Enum
from functools import cache
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel

from auditor import exit_codes
from auditor.derive.attribution import LastChange, last_changes
from auditor.findings import STATUS_ORDER, Evidence, Finding, Severity, Status
from auditor.render.base import Renderer, register
from auditor.render.coverage_view import coverage_view
from auditor.render.fix_blocks import FixBlock, fix_block
from auditor.render.onprem_page import finding_anchors, onprem_view
from auditor.report import AuditReport
from auditor.text import HIDDEN_CHARACTERS, reveal_hidden

if TYPE_CHECKING:
    from jinja2 import Environment

TEMPLATE_NAME = "report.html.j2"
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'"
)

SEVERITY_ORDER = tuple(sorted(Severity, key=lambda s: -s.rank))
STATUS_LABELS = {
    Status.failed: "Fail",
    Status.unknown: "Unknown",
    Status.waived: "Waived",
    Status.passed: "Pass",
    Status.not_applicable: "Not applicable",
}
STATUS_BLURBS = {
    Status.failed: "The live value differs from the policy.",
    Status.unknown: "A needed input could not be read, so these are neither pass nor fail.",
    Status.waived: "These would fail, but a current waiver in the policy covers them.",
    Status.passed: "The live value matches the policy.",
    Status.not_applicable: "The policy does not ask for these.",
}
# Statuses whose findings start folded away: they need no action.
FOLDED_STATUSES = frozenset({Status.passed, Status.not_applicable})


_MAX_VALUE_DEPTH = 8
_SAFE_URL = re.compile(r"(?:https?://[^\s\"'<>`\\]+|mailto:[^\s\"'<>`\\/:]+@[^\s\"'<>`\\]+)", re.IGNORECASE)


@register
class HtmlRenderer(Renderer):
    name = "html"
    extension = "html"
    media_type = "text/html"

    def render(self, report: AuditReport) -> bytes:
        template = _environment().get_template(TEMPLATE_NAME)
        return template.render(report_context(report)).encode("utf-8")

    def render_files(self, report: AuditReport, stem: str) -> dict[str, bytes]:
        """The page, and beside it as CSV files the full user lists too long for a `data:` link."""
        context = report_context(report, beside=stem)
        files = {self.filename(stem): _environment().get_template(TEMPLATE_NAME).render(context).encode("utf-8")}
        coverage = context["coverage"]
        for item in coverage.lists if coverage is not None else []:
            if item.download.content is not None:
                files[item.download.file_name] = item.download.content
        return files


# ---- values ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ValueView:
    """A JSON-ish value made ready to display: which shape it is, and its parts."""

    kind: Literal["none", "on", "off", "text", "empty_text", "link", "chips", "list", "map", "empty"]
    text: str = ""
    items: tuple[ValueView, ...] = ()
    pairs: tuple[tuple[str, ValueView], ...] = ()


def view_value(value: Any, depth: int = 0) -> ValueView:
    """Classify `value` for display: bools as on/off, None as a dash, lists and maps as such."""
    value = _plain(value)
    if value is None:
        return ValueView("none")
    if isinstance(value, bool):
        return ValueView("on" if value else "off")
    if isinstance(value, str):
        if not value:
            return ValueView("empty_text")
        return ValueView("link" if safe_href(value) else "text", text=value)
    if depth >= _MAX_VALUE_DEPTH or not isinstance(value, dict | list):
        return ValueView("text", text=str(value))
    if not value:
        return ValueView("empty")
    if isinstance(value, dict):
        return ValueView("map", pairs=tuple((str(k), view_value(v, depth + 1)) for k, v in value.items()))
    items = tuple(view_value(item, depth + 1) for item in value)
    nested = any(item.kind in ("chips", "list", "map") for item in items)
    return ValueView("list" if nested else "chips", items=items)


def _plain(value: Any) -> Any:
    """Python objects that may sit in a finding's `Any` fields, as JSON-like data."""
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, Enum) and not isinstance(value, str):
        return value.value
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, tuple | frozenset | set):
        return sorted(value, key=str) if isinstance(value, frozenset | set) else list(value)
    return value


def safe_href(value: object) -> str | None:
    """`value` if it is a plain http(s) or mailto URL that can go in an `href`, else None."""
    if not isinstance(value, str) or HIDDEN_CHARACTERS.search(value):
        return None
    return value if _SAFE_URL.fullmatch(value) else None


def format_when(moment: datetime | date) -> str:
    if isinstance(moment, datetime):
        if moment.tzinfo is not None:
            return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
        return moment.strftime("%Y-%m-%d %H:%M:%S")
    return moment.isoformat()


def _finalize(value: Any) -> Any:
    """Applied to every `{{ }}` output before escaping."""
    from markupsafe import Markup

    if isinstance(value, Markup):
        return value
    if value is None:
        return "—"
    if isinstance(value, str):
        return reveal_hidden(value)
    return value


# ---- the page's view of the report ---------------------------------------------------------


@dataclass(frozen=True)
class Count:
    key: str
    label: str
    count: int


@dataclass(frozen=True)
class EvidenceView:
    source: str
    field: str
    value: ValueView


@dataclass(frozen=True)
class FindingView:
    anchor: str
    finding: Finding
    status_label: str
    expected: ValueView
    actual: ValueView
    evidence: list[EvidenceView]
    ticket_href: str | None
    references: list[str]
    since: list[LastChange]
    """Since when, by whom: the last change behind a failure (auditor.derive.attribution)."""


@dataclass(frozen=True)
class RuleGroup:
    """The findings of one check within a status group, and (for failures) the rule's one fix block."""

    check: str
    findings: list[FindingView]
    fix: FixBlock | None


@dataclass(frozen=True)
class FindingGroup:
    status: Status
    label: str
    blurb: str
    folded: bool
    findings: list[FindingView]
    rules: list[RuleGroup]


def report_context(report: AuditReport, beside: str | None = None) -> dict[str, Any]:
    """Everything the template shows, computed here so the template only lays it out; `beside`: the file
    stem of the report, when full lists too long to inline may be written as CSV files beside it."""
    summary = report.summary
    groups = group_findings(report.findings, report)
    anchors = finding_anchors([(view.finding, view.anchor) for group in groups for view in group.findings])
    return {
        "report": report,
        "csp": CONTENT_SECURITY_POLICY,
        "status_counts": status_counts(summary.by_status),
        "severity_counts": severity_counts(summary.failed_by_severity),
        "verdict": exit_meaning(summary.exit_code, report.fail_on),
        "readable_sections": sum(1 for section in report.sections if section.readable),
        "groups": groups,
        "coverage": coverage_view(report.coverage, beside),
        "on_premises": onprem_view(report.on_premises, anchors),
        "trend": report.trend,
        "trend_blocks": trend_blocks(report),
        "controls": _control_rows(report, groups),
    }


def _control_rows(report: AuditReport, groups: list[FindingGroup]) -> list[dict[str, Any]]:
    first_anchor: dict[str, str] = {}
    for view in (v for group in groups for v in group.findings):
        first_anchor.setdefault(view.finding.check, view.anchor)
    return [{"row": row, "links": [(check, first_anchor.get(check)) for check in row.checks]}
            for row in report.controls]


def trend_blocks(report: AuditReport) -> list[dict[str, Any]]:
    trend = report.trend
    if trend is None:
        return []
    return [
        {"label": "New failures", "entries": trend.new_failures},
        {"label": "Fixed", "entries": trend.fixed},
        {"label": "Still failing", "entries": trend.still_failing},
        {"label": "Other status changes", "entries": trend.other_changes},
    ]


def status_counts(by_status: dict[str, int]) -> list[Count]:
    """One count per status, in report order, zero when the summary leaves it out."""
    return [Count(s.value, STATUS_LABELS[s], by_status.get(s.value, 0)) for s in STATUS_ORDER]


def severity_counts(failed_by_severity: dict[str, int]) -> list[Count]:
    return [Count(s.value, s.value.capitalize(), failed_by_severity.get(s.value, 0)) for s in SEVERITY_ORDER]


def exit_meaning(exit_code: int, fail_on: str | None = None) -> dict[str, str]:
    row = exit_codes.meaning(exit_code)
    if row is None:
        return {"title": f"Exit code {exit_code} is not one sspr-audit returns", "meaning": "", "tone": "unknown"}
    detail = row.detail("check", fail_on) or row.meaning
    return {"title": row.title, "meaning": detail[:1].upper() + detail[1:] + ".", "tone": row.tone}


def group_findings(findings: list[Finding], report: AuditReport | None = None) -> list[FindingGroup]:
    """Non-empty groups in status order; most severe first within each, then by check and target.

    Findings are numbered through the whole page, so each has a stable `#finding-N` anchor. Within a group the
    findings of one check sit together (a check has one severity); a failing check carries its fix once.
    """
    ordered = sorted(findings, key=lambda f: (-f.severity.rank, f.check, f.target))
    groups = []
    numbered = 0
    for status in STATUS_ORDER:
        members = [f for f in ordered if f.status == status]
        if not members:
            continue
        views = [finding_view(f, numbered + offset) for offset, f in enumerate(members, start=1)]
        numbered += len(members)
        groups.append(FindingGroup(status, STATUS_LABELS[status], STATUS_BLURBS[status],
                                   status in FOLDED_STATUSES, views, _rules(views, status, report)))
    return groups


def _rules(views: list[FindingView], status: Status, report: AuditReport | None) -> list[RuleGroup]:
    by_check: dict[str, list[FindingView]] = {}
    for view in views:
        by_check.setdefault(view.finding.check, []).append(view)
    anchors = {id(view.finding): view.anchor for view in views}
    return [RuleGroup(check, members,
                      fix_block([v.finding for v in members], anchors, report) if status == Status.failed else None)
            for check, members in by_check.items()]


def finding_view(finding: Finding, number: int) -> FindingView:
    ticket = finding.waiver.ticket if finding.waiver else None
    return FindingView(
        anchor=f"finding-{number}",
        finding=finding,
        status_label=STATUS_LABELS[finding.status],
        expected=view_value(finding.expected),
        actual=view_value(finding.actual),
        evidence=[evidence_view(e) for e in finding.evidence],
        ticket_href=safe_href(ticket),
        references=[href for href in map(safe_href, finding.references) if href],
        since=last_changes(finding),
    )


def evidence_view(evidence: Evidence) -> EvidenceView:
    return EvidenceView(source=evidence.source, field=evidence.field, value=view_value(evidence.value))


@cache
def _environment() -> Environment:
    import jinja2

    environment = jinja2.Environment(
        loader=jinja2.PackageLoader("auditor.render", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        finalize=_finalize,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    environment.filters["when"] = format_when
    environment.filters["iso"] = lambda moment: moment.isoformat()
    environment.filters["safe_href"] = safe_href
    return environment
