"""Terminal output: what the commands print, in one place. Strings from the tenant or the domain reach the
terminal through `clip`, which shows control, escape and bidi characters instead of obeying them."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, TextIO

from auditor import exit_codes


def clip(text: str, width: int) -> str:
    from auditor.text import one_line

    # tenant and domain strings reach the terminal: control, escape and bidi characters are shown, not obeyed
    text = one_line(text)
    return text if len(text) <= width else text[: width - 1] + "…"


def say(text: str = "", *, err: bool = False) -> None:
    print(text, file=sys.stderr if err else sys.stdout)


def print_summary(report: Any, paths: list[Path], out: TextIO, next_step: str | None = None) -> None:
    """The findings that need attention, grouped by severity (worst first), fitted to the terminal's width."""
    import shutil

    from auditor.findings import STATUS_ORDER, Severity
    from auditor.render.terminal import finding_lines

    counts = report.summary.by_status
    width = max(60, shutil.get_terminal_size((120, 24)).columns)  # COLUMNS wins, as in every CLI
    print(f"sspr-audit {report.tool_version}: {clip(report.policy_file, 200)} against {clip(report.origin, 200)}",
          file=out)
    shown = [f for f in report.findings if f.status.value not in ("pass", "not_applicable")]
    for severity in sorted(Severity, key=lambda s: -list(Severity).index(s)):
        group = sorted((f for f in shown if f.severity == severity), key=lambda f: STATUS_ORDER.index(f.status))
        if not group:
            continue
        print(f"  {severity.value} ({len(group)})", file=out)
        print("\n".join(finding_lines(group, width)), file=out)  # each reason wrapped, never cut
    print("  " + ", ".join(f"{counts.get(s.value, 0)} {s.value}" for s in STATUS_ORDER), file=out)
    expired = [f for f in report.findings if f.waiver is not None and f.waiver.expired]
    if expired:
        print(f"  WARNING  {len(expired)} waiver(s) expired, so their findings fail again: "
              + ", ".join(f"{f.check} (owner {clip(f.waiver.owner, 40)}, expired {f.waiver.expires.isoformat()})"
                          for f in expired[:5] if f.waiver is not None), file=out)
    for warning in report.warnings:
        print(f"  WARNING  {warning}", file=out)
    if report.trend is not None:
        trend = report.trend
        print(f"  since {trend.previous_label}: {len(trend.new_failures)} new failure(s), {len(trend.fixed)} fixed, "
              f"{len(trend.still_failing)} still failing, {len(trend.changed_values)} changed value(s)", file=out)
    for path in paths:
        print(f"report: {path}", file=out)
    code = report.summary.exit_code
    row = exit_codes.meaning(code)
    print(f"exit code {code}: {row.said_by('check', report.fail_on) if row else 'not one sspr-audit returns'}",
          file=out)
    if next_step:
        print(f"next: {next_step}", file=out)


def print_fleet(report: Any, paths: list[Path]) -> None:
    from auditor.text import one_line

    for row in report.tenants:
        counts = row.summary.by_status if row.summary else {}
        what = (f"{counts.get('fail', 0)} fail, {counts.get('unknown', 0)} unknown, {counts.get('pass', 0)} pass"
                if row.summary else f"not audited: {one_line(row.error or '')}")
        print(f"  {one_line(row.name):<24} exit {row.exit_code}  {what}")
    print(f"fleet: {len(report.tenants)} tenant(s), exit {report.exit_code}")
    for path in paths:
        print(f"  wrote {path}")


def print_plan(plan: Any, policy_file: str, origin: str, path: Path) -> None:
    from auditor.remediation.describe import describe_plan

    print(f"sspr-audit plan: {policy_file} against {origin}")
    for line in describe_plan(plan):
        print(line)
    print(f"  {len(plan.changes)} change(s), {len(plan.manual)} manual step(s), "
          f"{len(plan.unplanned)} finding(s) not planned (input not read)")
    print(f"plan written: {path}")


# what each status says on the terminal: a dry run says what would happen, not a state name
APPLY_LABELS = {"pending": "WOULD APPLY", "already": "IN PLACE"}
ROLLBACK_LABELS = {"would_restore": "WOULD RESTORE"}


def print_apply(result: Any, *, dry_run: bool) -> None:
    for change in result.changes:
        detail = f": {change.detail}" if change.detail else ""
        label = APPLY_LABELS.get(change.status, change.status.upper())
        if change.status == "pending" and (not dry_run or result.outcome == "refused"):
            label = "NOT WRITTEN"  # derived and ready, but the run stopped before any write
        print(f"  {label:<13} {change.id}. {clip(change.summary, 200)}{clip(detail, 400)}")
    if dry_run:
        from auditor.remediation.impact import impact_lines

        for line in impact_lines(result.impact):  # as the state reads now, not as the plan file says
            print(line)
    print(result.message, file=sys.stderr if result.outcome in ("failed", "refused") else sys.stdout)


def print_rollback(result: Any) -> None:
    for item in result.objects:
        detail = f": {item.detail}" if item.detail else ""
        label = ROLLBACK_LABELS.get(item.status, item.status.upper())
        print(f"  {label:<13} {clip(item.target, 200)}{clip(detail, 400)}")
    print(result.message, file=sys.stderr if result.outcome in ("failed", "partial") else sys.stdout)


def print_snapshot(snapshot: Any, path: Path, *, portal_only: bool) -> None:
    for name, section in snapshot:
        if hasattr(section, "source"):
            state = "ok" if section.readable else f"ERROR {section.error}"
            print(f"  {name:<22} {state}")
    print(f"snapshot written: {path}")
    if portal_only:
        from auditor.text import one_line

        print(f"  of tenant {one_line(snapshot.tenant_id or '')}, "
              + ("sealed with SSPR_PLAN_KEY" if snapshot.mac else "not sealed (SSPR_PLAN_KEY unset): anyone who can "
                 "write the file can change its date and values"))


def refused(reason: object) -> None:
    print(f"refused, nothing written: {reason}", file=sys.stderr)
