"""Trend: what changed between two runs (two JSON reports, or two snapshots).

Between two reports, findings are matched by (check, target): a `fail` that was not failing
before is a new failure, a `fail` that now passes is fixed, a `fail` in both is still failing,
any other change of status (fail → waived, pass → unknown, …) is listed as such, and a live
value (`actual`) that differs is a changed value whatever the statuses. Between two snapshots
there is no policy, so only the values (and whether each section could be read) are compared.

What every run changes is not a change: the moments a value was read or computed (`as_of`, a reading window's
`window_start` and `window_end`, `collected_at`, `generated_at`) and run ids are left out of the comparison
(`RUN_FACTS`), so two runs of an unchanged tenant differ in nothing. A finding's real settings (a lockout
`duration`, an expiry) are compared as they are.

Nothing here reads the clock: both sides carry their own timestamps.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from auditor.report import Trend, TrendEntry, ValueChange

if TYPE_CHECKING:
    from auditor.report import AuditReport
    from auditor.snapshot.models import Snapshot

MAX_COMPARE_BYTES = 64 * 1024 * 1024
RUN_FACTS = frozenset({"as_of", "window_start", "window_end", "collected_at", "generated_at", "run_id"})
"""Keys whose values say when or in which run something was read, not what the tenant holds."""


class TrendError(Exception):
    """The files cannot be compared (unreadable, not a report or snapshot, or of different kinds)."""


# ---- loading ---------------------------------------------------------------------------------


def load_run(path: str | Path) -> AuditReport | Snapshot:
    """A JSON report or snapshot file, told apart by its `format` field."""
    from auditor.files import InputFileError, decode_utf8, parse_json_bounded, read_bounded
    from auditor.report import REPORT_FORMAT, AuditReport
    from auditor.snapshot.models import SNAPSHOT_FORMAT, Snapshot

    path = Path(path)
    try:
        text = decode_utf8(read_bounded(path, MAX_COMPARE_BYTES, "report"), str(path), "report or snapshot")
        data = parse_json_bounded(text, str(path), "report or snapshot")
    except InputFileError as exc:
        raise TrendError(str(exc)) from None
    kind = data.get("format") if isinstance(data, dict) else None
    model: type[AuditReport] | type[Snapshot]
    if kind == REPORT_FORMAT:
        model = AuditReport
    elif kind == SNAPSHOT_FORMAT:
        model = Snapshot
    else:
        raise TrendError(f"{path}: not an sspr-audit JSON report or snapshot (format is {kind!r})")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        where = ".".join(str(p) for p in first["loc"]) or "(top level)"
        raise TrendError(f"{path}: not a valid {kind} ({first['msg']} at {where})") from None


def diff_files(old_path: str | Path, new_path: str | Path) -> Trend:
    from auditor.report import AuditReport

    old, new = load_run(old_path), load_run(new_path)
    if isinstance(old, AuditReport) and isinstance(new, AuditReport):
        return diff_reports(old, new, previous_label=Path(old_path).name)
    if not isinstance(old, AuditReport) and not isinstance(new, AuditReport):
        return diff_snapshots(old, new, previous_label=Path(old_path).name)
    raise TrendError("compare two JSON reports or two snapshots, not one of each")


def load_previous_report(path: str | Path) -> AuditReport:
    from auditor.report import AuditReport

    run = load_run(path)
    if not isinstance(run, AuditReport):
        raise TrendError(f"{path}: --previous takes a JSON report (from --format json), not a snapshot")
    return run


# ---- comparing ---------------------------------------------------------------------------------


def diff_reports(old: AuditReport, new: AuditReport, previous_label: str = "previous report") -> Trend:
    before = {(f.check, f.target): f for f in old.findings}
    after = {(f.check, f.target): f for f in new.findings}
    buckets: dict[str, list[TrendEntry]] = {"new": [], "fixed": [], "still": [], "other": []}
    changed: list[ValueChange] = []
    for key in sorted(set(before) | set(after)):
        was, now = before.get(key), after.get(key)
        shown = now or was  # the key came from one report or both
        if shown is None:
            continue
        entry = TrendEntry(
            check=key[0], target=key[1], title=shown.title,
            severity=shown.severity.value,
            status_before=was.status.value if was else None, status_after=now.status.value if now else None,
            actual_before=_plain(was.actual) if was else None, actual_after=_plain(now.actual) if now else None,
            expected=_plain(shown.expected),
        )
        bucket = _bucket(entry.status_before, entry.status_after)
        if bucket:
            buckets[bucket].append(entry)
        if was is not None and now is not None and _stable(was.actual) != _stable(now.actual):
            changed.append(ValueChange(subject=f"{key[0]} [{key[1]}]", before=_plain(was.actual),
                                       after=_plain(now.actual)))
    return Trend(kind="reports", previous_label=previous_label, previous_at=old.generated_at,
                 current_at=new.generated_at, new_failures=_by_severity(buckets["new"]), fixed=buckets["fixed"],
                 still_failing=_by_severity(buckets["still"]), other_changes=buckets["other"],
                 changed_values=changed)


def diff_snapshots(old: Snapshot, new: Snapshot, previous_label: str = "previous snapshot") -> Trend:
    old_values, new_values = _snapshot_values(old), _snapshot_values(new)
    changed = [
        ValueChange(subject=path, before=old_values.get(path), after=new_values.get(path))
        for path in sorted(set(old_values) | set(new_values))
        if old_values.get(path, _MISSING) != new_values.get(path, _MISSING)
    ]
    return Trend(kind="snapshots", previous_label=previous_label, previous_at=old.created_at,
                 current_at=new.created_at, changed_values=changed)


def attach_trend(report: AuditReport, previous: AuditReport, previous_label: str) -> AuditReport:
    """`report` with a "since last run" trend against `previous`."""
    return report.model_copy(update={"trend": diff_reports(previous, report, previous_label)})


def _bucket(before: str | None, after: str | None) -> str | None:
    if after == "fail":
        return "still" if before == "fail" else "new"
    if before == "fail":
        return "fixed" if after == "pass" else "other"
    if before != after and before is not None and after is not None:
        return "other"
    return None


_SEVERITY_RANK = {"critical": 0, "high": 1, "medium": 2, "low": 3, "info": 4}


def _by_severity(entries: list[TrendEntry]) -> list[TrendEntry]:
    return sorted(entries, key=lambda e: (_SEVERITY_RANK.get(e.severity, 9), e.check, e.target))


_MISSING = object()


def _snapshot_values(snapshot: Snapshot) -> dict[str, Any]:
    """Every leaf value of every section as `section.path`, plus `section.(read)` with the error if any."""
    out: dict[str, Any] = {}
    for name in type(snapshot).model_fields:
        section = getattr(snapshot, name)
        if section is None or not hasattr(section, "source"):
            continue
        out[f"{name}.(read)"] = "ok" if section.readable else f"error: {section.error or 'no value'}"
        if section.value is not None:
            _flatten(_stable(section.value.model_dump(mode="json")), name, out)
    return out


def _flatten(value: Any, prefix: str, out: dict[str, Any]) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            _flatten(item, f"{prefix}.{key}", out)
    elif isinstance(value, list) and value and all(isinstance(i, dict) and "id" in i for i in value):
        for item in value:
            _flatten({k: v for k, v in item.items() if k != "id"}, f"{prefix}[{item['id']}]", out)
    else:
        out[prefix] = value


def _stable(value: Any) -> Any:
    """`value` JSON-shaped without the run facts (RUN_FACTS) in any mapping within it."""
    def strip(item: Any) -> Any:
        if isinstance(item, dict):
            return {k: strip(v) for k, v in item.items() if k not in RUN_FACTS}
        if isinstance(item, list):
            return [strip(v) for v in item]
        return item

    return strip(_plain(value))


def _plain(value: Any) -> Any:
    """JSON-shaped, so values from a parsed report and a fresh one compare equal."""
    return json.loads(json.dumps(value, default=str, sort_keys=True))


# ---- text for the terminal -----------------------------------------------------------------------


def trend_lines(trend: Trend) -> list[str]:
    """A plain-text account of `trend`, one line per item, for `sspr-audit diff`."""
    when = f" ({trend.previous_at.isoformat()})" if trend.previous_at else ""
    lines = [f"since {trend.previous_label}{when}:"]
    if not (trend.new_failures or trend.fixed or trend.other_changes or trend.changed_values):
        lines.append("  no change" + (": the same statuses and values" if trend.kind == "reports" else
                                      ": the same values"))
    if trend.kind == "reports":
        sections = (("new failures", trend.new_failures), ("fixed", trend.fixed),
                    ("still failing", trend.still_failing), ("other status changes", trend.other_changes))
        for heading, entries in sections:
            lines.append(f"  {heading}: {len(entries)}")
            lines.extend(f"    {_entry_text(e)}" for e in entries)
    lines.append(f"  changed values: {len(trend.changed_values)}")
    lines.extend(f"    {c.subject}: {_show(c.before)} -> {_show(c.after)}" for c in trend.changed_values)
    return lines


def _entry_text(entry: TrendEntry) -> str:
    return (f"{entry.severity:<8} {entry.check} [{entry.target}] "
            f"{entry.status_before or '(absent)'} -> {entry.status_after or '(absent)'}")


def _show(value: Any) -> str:
    if value is _MISSING or value is None:
        return "(none)"
    text = json.dumps(value, ensure_ascii=False, sort_keys=True)
    text = "".join(ch if ch.isprintable() else f"\\u{ord(ch):04x}" for ch in text)
    return text if len(text) <= 120 else text[:119] + "…"
