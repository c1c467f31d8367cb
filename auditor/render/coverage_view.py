"""The HTML report's coverage section: tiles, inline-SVG charts and CSV downloads, computed here so
the template only lays them out.

Charts are geometry (rectangles, lines, points, labels) in a fixed viewBox, drawn by the template
as inline SVG: no script, no external font (text uses the page's system font stack), and every
label that comes from data is escaped by jinja like the rest of the page.

CSV downloads are `data:text/csv` links with a `download` file name, so the report stays one
self-contained file; a full list whose link would pass `INLINE_CSV_LIMIT` (tens of thousands of users)
is written as a CSV file beside the report instead and linked by its name, so the page stays a few
megabytes at any tenant size (the page itself shows the first `LIST_LIMIT` rows either way).
The page's Content-Security-Policy does not stop them: `default-src` covers
fetched resources, and a download link is neither a fetch nor a navigation that CSP governs.
Cells that a spreadsheet would run as a formula are prefixed with `'` (as in the CSV plan).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import date
from urllib.parse import quote

from auditor.derive.figures import ActivitySummary, CoverageReport, SecureScoreSummary, UserRef
from auditor.render.csv_report import safe_cell

LIST_LIMIT = 1000  # rows shown in the page; the CSV download has every one
INLINE_CSV_LIMIT = 1_000_000
"""Longest `data:` link (characters) of a full list: a longer list is a CSV file beside the report, linked by
its name, so a report of a 100,000-user tenant stays a few megabytes however many users a list holds."""
CSV_COLUMNS = ("user_principal_name", "display_name", "object_id", "why")


@dataclass(frozen=True)
class Tile:
    key: str
    label: str
    value: str
    detail: str
    tone: str  # pass, fail, unknown, na


@dataclass(frozen=True)
class Rect:
    x: float
    y: float
    width: float
    height: float
    css: str
    tip: str = ""


@dataclass(frozen=True)
class Line:
    x1: float
    y1: float
    x2: float
    y2: float
    css: str
    tip: str = ""


@dataclass(frozen=True)
class Label:
    x: float
    y: float
    text: str
    anchor: str = "start"
    css: str = "lbl"


@dataclass(frozen=True)
class Point:
    x: float
    y: float
    tip: str


@dataclass(frozen=True)
class LegendItem:
    css: str
    text: str


@dataclass(frozen=True)
class Chart:
    id: str
    title: str
    description: str
    width: int
    height: int
    rects: list[Rect] = field(default_factory=list)
    lines: list[Line] = field(default_factory=list)
    labels: list[Label] = field(default_factory=list)
    points: list[Point] = field(default_factory=list)
    polyline: str = ""
    legend: list[LegendItem] = field(default_factory=list)


@dataclass(frozen=True)
class Download:
    file_name: str
    href: str
    rows: int
    content: bytes | None = None
    """The CSV file to write beside the report (then `href` is its name), or None for a `data:` link."""


@dataclass(frozen=True)
class UserList:
    key: str
    title: str
    users: list[UserRef]
    total: int
    download: Download

    @property
    def truncated(self) -> bool:
        return self.total > len(self.users)


@dataclass(frozen=True)
class CoverageView:
    report: CoverageReport
    tiles: list[Tile]
    charts: list[Chart]
    lists: list[UserList]
    activity: ActivitySummary | None
    score: SecureScoreSummary | None


def coverage_view(report: CoverageReport | None, beside: str | None = None) -> CoverageView | None:
    """`beside`: the report's file stem, when long lists may be written as CSV files beside it."""
    if report is None:
        return None
    charts = [c for c in (registration_chart(report), score_chart(report.secure_score),
                          activity_chart(report.activity)) if c is not None]
    lists = [
        user_list("unregistered", "Users in scope not registered for SSPR", report.unregistered_users,
                  "unregistered-users.csv", beside),
        user_list("unlicensed", "Users in scope without Entra ID P1", report.unlicensed_users,
                  "unlicensed-users.csv", beside),
    ]
    return CoverageView(report=report, tiles=tiles(report), charts=charts, lists=lists, activity=report.activity,
                        score=report.secure_score)


# --- tiles ---------------------------------------------------------------------------------------


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}%"


def _count(value: int | None) -> str:
    return "—" if value is None else f"{value:,}"


def tiles(report: CoverageReport) -> list[Tile]:
    scope_detail = {"all": "all users", "selected": "one group", "none": "nobody"}.get(report.scope or "", "unknown")
    basis = " (inferred)" if report.scope_basis == "inferred" else ""
    out = [Tile("in-scope", "In SSPR scope", _count(report.in_scope),
                f"of {_count(report.enabled_members)} enabled members · scope: {scope_detail}{basis}",
                "na" if report.in_scope is not None else "unknown")]
    minimum = report.registration_min_percent
    registered_ok = (report.registered_percent is not None and minimum is not None
                     and report.registered_percent >= minimum)
    out.append(Tile("registered", "Registered", _count(report.registered),
                    f"{_pct(report.registered_percent)} of in scope"
                    + (f" · policy ≥ {minimum:g}%" if minimum is not None else ""),
                    "unknown" if report.registered is None else "pass" if registered_ok else "fail"))
    out.append(Tile("licensed", "Licensed (P1 or better)", _count(report.licensed),
                    f"{_pct(report.licensed_percent)} of in scope"
                    + (f" · {_count(report.licence_seats_used)} of {_count(report.licence_seats)} seats used"
                       if report.licence_seats is not None else ""),
                    "unknown" if report.unlicensed is None else "pass" if report.unlicensed == 0 else "fail"))
    score = report.secure_score
    if score is not None and score.score is not None:
        projected = (f" · fixed: {score.projected.score:g} (estimate)" if score.projected is not None else "")
        out.append(Tile("secure-score", "Secure Score: SSPR control",
                        f"{score.score:g} / {score.max_score:g}" if score.max_score else f"{score.score:g}",
                        f"{_pct(score.percent)}{projected}", "pass" if (score.percent or 0) >= 100 else "fail"))
    else:
        out.append(Tile("secure-score", "Secure Score: SSPR control", "—",
                        report.unavailable.get("secure_score", "the control is not listed"), "unknown"))
    return out


# --- charts --------------------------------------------------------------------------------------


def registration_chart(report: CoverageReport) -> Chart | None:
    """Two 100% bars of the in-scope users: registered (with the policy's minimum marked), and licensed."""
    if report.in_scope is None or (report.registered is None and report.licensed is None):
        return None
    width, left, right, bar = 560, 10, 10, 30
    span = width - left - right
    rects: list[Rect] = []
    lines: list[Line] = []
    labels: list[Label] = []
    top = 26
    if report.registered is not None:
        _bar(rects, left, top, span, bar, report.in_scope, [
            ("registered", report.registered, "seg-pass"), ("not registered", report.not_registered or 0, "seg-fail"),
            ("no record", report.no_record or 0, "seg-unknown")])
        labels.append(Label(left, top - 8, f"Registered: {report.registered:,} of {report.in_scope:,} "
                                           f"({_pct(report.registered_percent)})", "start", "lbl strong"))
        if report.registration_min_percent is not None:
            mx = round(left + span * report.registration_min_percent / 100, 2)
            tip = f"policy minimum {report.registration_min_percent:g}%"
            lines.append(Line(mx, top - 4, mx, top + bar + 4, "marker", tip))
            labels.append(Label(width - right, top - 8, f"policy ≥ {report.registration_min_percent:g}%", "end",
                                "lbl small"))
        top += bar + 40
    if report.licensed is not None:
        _bar(rects, left, top, span, bar, report.in_scope, [
            ("licensed", report.licensed, "seg-pass"), ("unlicensed", report.unlicensed or 0, "seg-fail")])
        labels.append(Label(left, top - 8, f"Licensed (P1 or better): {report.licensed:,} of {report.in_scope:,} "
                                           f"({_pct(report.licensed_percent)})", "start", "lbl strong"))
        top += bar + 40
    legend = [LegendItem("seg-pass", "registered / licensed"), LegendItem("seg-fail", "not registered / unlicensed"),
              LegendItem("seg-unknown", "no registration record")]
    return Chart("chart-registration", "Registration and licences of in-scope users",
                 "Share of in-scope users registered for SSPR (against the policy's minimum) and holding Entra ID "
                 "P1 or better", width, top - 26, rects=rects, lines=lines, labels=labels, legend=legend)


def _bar(rects: list[Rect], left: float, top: float, span: float, height: float, total: int,
         parts: list[tuple[str, int, str]]) -> None:
    if total <= 0:
        rects.append(Rect(left, top, span, height, "seg-empty", "nobody is in scope"))
        return
    x = float(left)
    for name, count, css in parts:
        width = span * count / total
        if width > 0:
            rects.append(Rect(round(x, 2), top, round(width, 2), height, css,
                              f"{count:,} {name} ({100 * count / total:.1f}%)"))
        x += width


def _day_label(day: date) -> str:
    return day.strftime("%d %b")


def score_chart(score: SecureScoreSummary | None) -> Chart | None:
    """Secure Score's SelfServicePasswordReset control, percent per day."""
    if score is None:
        return None
    points = [p for p in score.history if p.percent is not None]
    if not points:
        return None
    width, height, left, right, top, bottom = 560, 220, 44, 14, 14, 30
    plot_w, plot_h = width - left - right, height - top - bottom
    lines, labels = [], []
    for tick in (0, 25, 50, 75, 100):
        y = round(top + plot_h * (1 - tick / 100), 2)
        lines.append(Line(left, y, width - right, y, "grid"))
        labels.append(Label(left - 6, y + 4, f"{tick}%", "end", "lbl small"))
    step = plot_w / max(len(points) - 1, 1)
    coords = []
    dots = []
    for index, p in enumerate(points):
        x = round(left + step * index if len(points) > 1 else left + plot_w / 2, 2)
        y = round(top + plot_h * (1 - (p.percent or 0) / 100), 2)
        coords.append(f"{x},{y}")
        users = f" ({p.total - p.count:,} of {p.total:,} users)" if p.count is not None and p.total else ""
        dots.append(Point(x, y, f"{p.day.isoformat()}: {p.percent:g}%{users}"))
    for index in sorted({0, len(points) // 2, len(points) - 1}):
        anchor = "start" if index == 0 else "end" if index == len(points) - 1 else "middle"
        labels.append(Label(dots[index].x, height - 10, _day_label(points[index].day), anchor, "lbl small"))
    return Chart("chart-score", "SSPR coverage over time (Secure Score)",
                 "Daily score of Secure Score's SelfServicePasswordReset control, in percent: the share of users "
                 "Secure Score counts as able to reset", width, height, lines=lines, labels=labels, points=dots,
                 polyline=" ".join(coords), legend=[LegendItem("line-score", "SelfServicePasswordReset control")])


ACTIVITY_SERIES = (("resets_ok", "seg-pass", "resets"), ("resets_failed", "seg-fail", "failed resets"),
                   ("unlocks", "seg-info", "unlocks"), ("blocked", "seg-unknown", "blocked attempts"),
                   ("registrations", "seg-muted", "registrations"))


def activity_chart(activity: ActivitySummary | None) -> Chart | None:
    """Stacked bars of SSPR events per day, with writeback switched off or on marked."""
    if activity is None or not activity.days:
        return None
    width, height, left, right, top, bottom = 1040, 230, 40, 14, 14, 30
    plot_w, plot_h = width - left - right, height - top - bottom
    days = activity.days
    totals = [d.resets + d.unlocks + d.blocked + d.registrations for d in days]
    peak = max(max(totals), 1)
    ceiling = _nice_ceiling(peak)
    lines, labels, rects = [], [], []
    for tick in (0, ceiling / 2, ceiling):
        y = round(top + plot_h * (1 - tick / ceiling), 2)
        lines.append(Line(left, y, width - right, y, "grid"))
        labels.append(Label(left - 6, y + 4, f"{tick:g}", "end", "lbl small"))
    slot = plot_w / len(days)
    bar = max(min(slot * 0.7, 28), 1)
    for index, day in enumerate(days):
        x = left + slot * index + (slot - bar) / 2
        values = {"resets_ok": day.resets - day.resets_failed, "resets_failed": day.resets_failed,
                  "unlocks": day.unlocks, "blocked": day.blocked, "registrations": day.registrations}
        y = top + plot_h
        for key, css, name in ACTIVITY_SERIES:
            h = plot_h * values[key] / ceiling
            if h > 0:
                y -= h
                rects.append(Rect(round(x, 2), round(y, 2), round(bar, 2), round(h, 2), css,
                                  f"{day.day.isoformat()}: {values[key]} {name}"))
    for index in sorted({0, len(days) // 4, len(days) // 2, 3 * len(days) // 4, len(days) - 1}):
        labels.append(Label(round(left + slot * index + slot / 2, 2), height - 10, _day_label(days[index].day),
                            "middle", "lbl small"))
    first = days[0].day
    for change in activity.writeback_changes:
        offset = (change.at.date() - first).days
        if 0 <= offset < len(days):
            # placed by the time of day, so an off and an on the same day are told apart
            of_day = (change.at.hour * 3600 + change.at.minute * 60 + change.at.second) / 86_400
            x = round(left + slot * (offset + of_day), 2)
            state = "enabled" if change.enabled else "disabled"
            lines.append(Line(x, top, x, top + plot_h, "wb-on" if change.enabled else "wb-off",
                              f"{change.at.isoformat()}: writeback {state} by {change.initiated_by or 'unknown'}"))
    legend = [LegendItem(css, name) for _, css, name in ACTIVITY_SERIES]
    legend += [LegendItem("wb-off", "writeback disabled"), LegendItem("wb-on", "writeback enabled")]
    return Chart("chart-activity", f"SSPR activity per day (last {activity.window_days} days)",
                 "Self-service password reset audit events per day: resets, failed resets, unlocks, blocked "
                 "attempts and registrations; vertical lines mark writeback switched off or on",
                 width, height, rects=rects, lines=lines, labels=labels, legend=legend)


def _nice_ceiling(peak: int) -> float:
    for step in (2, 4, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 5000, 10_000):
        if peak <= step:
            return float(step)
    return float(peak)


# --- lists and CSV downloads ------------------------------------------------------------------------


def user_list(key: str, title: str, users: list[UserRef], file_name: str, beside: str | None = None) -> UserList:
    text = "\ufeff" + users_csv(users)
    href = "data:text/csv;charset=utf-8," + quote(text, safe="")
    if beside is not None and len(href) > INLINE_CSV_LIMIT:
        name = f"{beside}-{file_name}"
        download = Download(name, name, len(users), text.encode("utf-8"))
    else:
        download = Download(file_name, href, len(users))
    return UserList(key=key, title=title, users=users[:LIST_LIMIT], total=len(users), download=download)


def users_csv(users: list[UserRef]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for user in users:
        writer.writerow([safe_cell(user.upn), safe_cell(user.display_name), safe_cell(user.id),
                         safe_cell(user.detail)])
    return buffer.getvalue()


def csv_href(users: list[UserRef]) -> str:
    """A `data:` URL of the users as CSV (UTF-8 with a byte order mark, so spreadsheets read accents)."""
    return "data:text/csv;charset=utf-8," + quote("\ufeff" + users_csv(users), safe="")
