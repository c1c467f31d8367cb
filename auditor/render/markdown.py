"""A compact Markdown summary for `$GITHUB_STEP_SUMMARY` (or a pull-request comment).

Verdict and counts first; then the failing findings (severity, check, target and the reason, four columns
that fit a pull-request page, values in words: never JSON), each one's expected and actual values and policy
line folded below them in a `<details>`; the unknown findings with why; the waivers, active and expired;
warnings; the framework controls (folded); the coverage and
on-premises sections of the HTML page as tables (`section_facts`: rights per OU, users per check,
every password-age source, the sign-in GPOs, Secure Score, the activity, with the daily series folded);
and, with `check --previous`, what changed since the last run. Passing checks are only counted.

Everything from the tenant or the policy is text, never markup: `escape` turns HTML
characters into entities, backslash-escapes Markdown punctuation (so a value cannot open a
link, emphasis, code span or table cell), defuses `@mentions` and autolinks (GFM's extended
autolinks too: an address-shaped run around an `@` is a code span), and shows
control and bidirectional-override characters as `[U+202E]`. A `:` is an entity only after a scheme GFM makes an
autolink of (`http:`, `https:`, `mailto:`, `xmpp:`: https://github.github.com/gfm/#autolinks-extension-), so a
policy line reads `baseline.yaml:12`.
"""

from __future__ import annotations

import html
import re
from typing import Any

from auditor.checks.base import Finding, Severity, Status
from auditor.render.base import Renderer, register
from auditor.render.plain import describe, location_text, ordered, value_words
from auditor.render.section_facts import Part, SectionFacts, report_sections
from auditor.report import AuditReport, Trend, TrendEntry
from auditor.text import reveal_hidden

MAX_CELL = 300
MAX_ROWS = 200
VERDICTS = {0: "✅ compliant", 1: "❌ drift found", 2: "⚠️ usage or policy error",
            3: "⚠️ incomplete: some inputs could not be read"}
STATUS_HEADINGS = (("fail", "fail"), ("unknown", "unknown"), ("waived", "waived"), ("pass", "pass"),
                   ("not_applicable", "n/a"))
_MARKDOWN_PUNCTUATION = re.compile(r"([\\`*_{}\[\]()#+\-.!|~$])")
_ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;", "@": "&#64;"}
_SCHEME_COLON = re.compile(r"(?i)(https?|mailto|xmpp):")
# GFM's extended autolinks (https://github.github.com/gfm/#autolinks-extension-): `www.` and `http(s)://` are
# recognised in the raw source, so the escaped `.` and the scheme's `&#58;` already keep them text; an email address
# (`a.b@example.com`, also after `mailto:` or `xmpp:`) is recognised in the text *after* escapes and entities are
# decoded (cmark-gfm, which GitHub renders with, links `a\.b&#64;example\.com`). Its autolink extension rewrites
# text only, never a code span, so a run of the characters an address is made of on both sides of an `@` is shown as a
# code span: the same characters, as text. The run holds only these ASCII characters, so it needs no escaping inside
# the span (no backtick, no `|`). tests/unit/test_trust_markup.py renders with cmark-gfm itself (cmarkgfm).
_AT_RUN = re.compile(r"([A-Za-z0-9.+_-]+@[A-Za-z0-9._-]+)", re.ASCII)


@register
class MarkdownRenderer(Renderer):
    name = "markdown"
    extension = "md"
    media_type = "text/markdown"

    def render(self, report: AuditReport) -> bytes:
        return markdown_summary(report).encode("utf-8")


def escape(value: Any, limit: int = MAX_CELL) -> str:
    """`value` as inert Markdown text on one line, clipped to `limit` characters before escaping."""
    text = value if isinstance(value, str) else value_words(value)
    text = " ".join(reveal_hidden(text).split())
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    parts = _AT_RUN.split(text)  # even: text to escape; odd: an address-shaped run, shown as a code span
    return "".join(f"`{part}`" if odd else _escaped(part) for odd, part in
                   ((index % 2 == 1, part) for index, part in enumerate(parts)))


def _escaped(text: str) -> str:
    text = _MARKDOWN_PUNCTUATION.sub(r"\\\1", text)
    text = "".join(_ENTITIES.get(ch, ch) for ch in text)
    return _SCHEME_COLON.sub(r"\1&#58;", text)


def markdown_summary(report: AuditReport) -> str:
    summary = report.summary
    lines = [
        f"## sspr-audit: {VERDICTS.get(summary.exit_code, 'exit code ' + str(summary.exit_code))} "
        f"(exit code {summary.exit_code})",
        "",
        f"Policy {escape(report.policy_file)} against {escape(report.origin)}, "
        f"snapshot of {report.snapshot_created_at.isoformat()}.",
        "",
        "| " + " | ".join(label for _, label in STATUS_HEADINGS) + " | total |",
        "|" + "---:|" * (len(STATUS_HEADINGS) + 1),
        "| " + " | ".join(str(summary.by_status.get(key, 0)) for key, _ in STATUS_HEADINGS)
        + f" | {summary.total} |",
    ]
    failed = [(s, summary.failed_by_severity.get(s.value, 0)) for s in sorted(Severity, key=lambda s: -s.rank)]
    if any(count for _, count in failed):
        lines += ["", "Failures by severity: " + ", ".join(f"{s.value} {n}" for s, n in failed if n) + "."]
    lines += _failing(report.findings)
    lines += _unknown(report.findings)
    lines += _waivers(report.findings)
    lines += _warnings(report)
    lines += _controls(report)
    for section in report_sections(report):
        lines += _section(section)
    if report.trend is not None:
        lines += trend_markdown(report.trend)
    return "\n".join(lines) + "\n"


def _controls(report: AuditReport) -> list[str]:
    """The findings grouped by the framework controls they evidence (auditor.checks.frameworks)."""
    if not report.controls:
        return []
    failing = sum(1 for row in report.controls if row.status == Status.failed)
    out = ["", "### Framework controls", "", f"{len(report.controls)} controls, {failing} failing.", "",
           "<details><summary>Each control, its status and the checks that evidence it</summary>", "",
           "| framework | control | status | checks | note |", "|---|---|---|---|---|"]
    for row in report.controls:
        partial = " (partly)" if row.partial else ""
        out.append(f"| {escape(row.framework)} | {escape(row.id)} {escape(row.title, limit=120)}{partial} | "
                   f"{row.status.value} | {escape(', '.join(row.checks))} | {escape(row.note or '')} |")
    return [*out, "", "</details>"]


def _section(section: SectionFacts) -> list[str]:
    """A section of the HTML page: its summary and policy line, then each part as a table (the long daily
    series folded in a `<details>`; the HTML report has the lists of users, the JSON report every figure)."""
    where = location_text(section.location) or "not declared in the policy file"
    lines = ["", f"### {section.title}", "", escape(section.summary, limit=1000), "",
             f"Policy key `{section.policy_key}`: {escape(where)}"]
    for part in section.parts:
        lines += _part(part)
    return lines


def _part(part: Part) -> list[str]:
    table = ["| " + " | ".join(escape(column) for column in part.columns) + " |",
             "|" + "---|" * len(part.columns),
             *_capped(["| " + " | ".join(escape(cell, limit=400) for cell in row.cells) + " |" for row in part.rows])]
    if part.folded:  # the summary line is raw HTML, where Markdown escapes would show: the title is ours, not data
        return ["", f"<details><summary>{html.escape(part.title)}</summary>", "", *table, "", "</details>"]
    return ["", f"#### {escape(part.title)}", "", *table]


def _failing(findings: list[Finding]) -> list[str]:
    """Four columns and the reason in words; each finding's expected, actual and policy line folded below."""
    failing = [f for f in ordered(findings) if f.status == Status.failed]
    if not failing:
        return []
    rows = [f"| {f.severity.value} | {_check(f)} | {escape(f.target)} | {escape(_reason(f), limit=600)} |"
            for f in failing]
    values = [f"- {_check(f)} · {escape(f.target)}: the policy asks {escape(f.expected)}; the tenant has "
              f"{escape(f.actual)}; policy line {escape(location_text(f.policy_location) or 'none')}"
              for f in failing]
    return ["", f"### Failing ({len(failing)})", "",
            "| severity | check | target | reason |", "|---|---|---|---|", *_capped(rows), "",
            "<details><summary>Expected and actual values, and the policy line of each</summary>", "",
            *_capped(values), "", "</details>"]


def _reason(finding: Finding) -> str:
    if finding.reason:
        return finding.reason
    return f"the policy asks {_clipped(finding.expected)}; the tenant has {_clipped(finding.actual)}"


def _clipped(value: Any, limit: int = 200) -> str:
    text = value_words(value)
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _check(finding: Finding) -> str:
    text = escape(finding.check)
    if finding.waiver is not None and finding.waiver.expired:
        text += f" (waiver expired {finding.waiver.expires.isoformat()})"
    return text


def _unknown(findings: list[Finding]) -> list[str]:
    unknown = [f for f in ordered(findings) if f.status == Status.unknown]
    if not unknown:
        return []
    rows = [f"| {f.severity.value} | {escape(f.check)} | {escape(f.target)} | {escape(describe(f), limit=600)} |"
            for f in unknown]
    return ["", f"### Unknown: could not be checked ({len(unknown)})", "",
            "| severity | check | target | why |", "|---|---|---|---|", *_capped(rows)]


def _waivers(findings: list[Finding]) -> list[str]:
    waived = [f for f in ordered(findings) if f.waiver is not None]
    if not waived:
        return []
    rows = []
    for f in waived:
        note = f.waiver
        assert note is not None
        state = f"**expired** {note.expires.isoformat()}: failing again" if note.expired \
            else f"waived until {note.expires.isoformat()}"
        rows.append(f"| {escape(f.check)} | {escape(f.target)} | {state} | {escape(note.owner)} | "
                    f"{escape(note.ticket or '')} | {escape(note.reason)} |")
    return ["", f"### Waivers ({len(waived)})", "", "| check | target | state | owner | ticket | reason |",
            "|---|---|---|---|---|---|", *_capped(rows)]


def _warnings(report: AuditReport) -> list[str]:
    if not report.warnings:
        return []
    return ["", f"### Warnings ({len(report.warnings)})", "", *(f"- {escape(w, 1000)}" for w in report.warnings)]


def trend_markdown(trend: Trend) -> list[str]:
    """The "since last run" section."""
    when = f" ({trend.previous_at.isoformat()})" if trend.previous_at else ""
    lines = ["", f"### Since last run: {escape(trend.previous_label)}{when}", "",
             f"{len(trend.new_failures)} new failure(s), {len(trend.fixed)} fixed, "
             f"{len(trend.still_failing)} still failing, {len(trend.other_changes)} other status change(s), "
             f"{len(trend.changed_values)} changed value(s)."]
    for heading, entries in (("New failures", trend.new_failures), ("Fixed", trend.fixed),
                             ("Other status changes", trend.other_changes)):
        if entries:
            lines += ["", f"**{heading}**", "", *_capped([f"- {_trend_entry(e)}" for e in entries])]
    if trend.changed_values:
        lines += ["", "**Changed values**", "", "| where | before | after |", "|---|---|---|",
                  *_capped([f"| {escape(c.subject)} | {escape(c.before)} | {escape(c.after)} |"
                            for c in trend.changed_values])]
    return lines


def _trend_entry(entry: TrendEntry) -> str:
    return (f"{entry.severity} {escape(entry.check)} \\[{escape(entry.target)}\\]: "
            f"{entry.status_before or 'absent'} → {entry.status_after or 'absent'}")


def _capped(rows: list[str]) -> list[str]:
    if len(rows) <= MAX_ROWS:
        return rows
    return [*rows[:MAX_ROWS], "", f"… and {len(rows) - MAX_ROWS} more (see the HTML or JSON report)"]
