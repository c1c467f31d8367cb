"""The report's coverage and on-premises sections as tables of text, for the formats that are not a page.

The HTML report draws these sections (`coverage_view`, `onprem_page`); Markdown, JUnit and SARIF carry
the same figures from here, so no format says less than the page. `report_sections(report)` gives each
section the report holds as a `SectionFacts`: its parts as tables (column names and rows of text, not yet
escaped for any format), the policy key and line the section belongs to, a one-line summary, and `facts`,
one (name, value) per row, for the formats that take name/value pairs (JUnit properties, SARIF properties).
A part the run could not read is a row of the part `unavailable`, with the reason.
"""

from __future__ import annotations

from dataclasses import dataclass

from auditor.derive.figures import ActivitySummary, CoverageReport, SecureScoreSummary
from auditor.onprem_view import OnPremisesReport
from auditor.policy.models import Location
from auditor.render.onprem_page import STATUS_WORDS, AgeCard, GpoRow, GroupView, OnPremView, RowView, onprem_view
from auditor.render.plain import location_text
from auditor.report import AuditReport

Fact = tuple[str, str]
SECTIONS = {"coverage": ("Coverage: who can actually reset", "coverage"),
            "on_premises": ("On-premises Active Directory", "directory")}
"""The report's field → (the HTML section's heading, the top-level policy key the section belongs to)."""
KIND_WORDS = {"gpo": "Group Policy", "domain": "Domain", "fgpp": "Fine-grained policy"}
SUMMARY_CLIP = 120  # characters of one tenant string in a summary line; the facts carry it whole
NAMES_SHOWN = 10  # users named per check in the on-premises users table; the HTML and JSON reports list them all


@dataclass(frozen=True)
class Row:
    name: str
    """The row's fact name: a snake_case key in a two-column part, the row's subject (an OU, a GPO) in a table."""
    cells: tuple[str, ...]


@dataclass(frozen=True)
class Part:
    key: str
    title: str
    columns: tuple[str, ...]
    rows: tuple[Row, ...]
    folded: bool = False
    """A long series (one row per day): Markdown folds it, and it is one fact, not one per row."""

    def series_text(self, row: Row) -> str:
        """A row of a folded series on its own: `2025-01-02: resets 2, failed 1, …`."""
        return f"{row.cells[0]}: " + ", ".join(f"{column} {cell}" for column, cell
                                               in zip(self.columns[1:], row.cells[1:], strict=True) if cell)

    def facts(self, top: bool) -> list[Fact]:
        if self.folded:
            return [(self.key, "; ".join(self.series_text(row) for row in self.rows))]
        out = []
        for row in self.rows:
            name = row.name if top else f"{self.key}.{row.name}"
            if len(self.columns) == 2:
                out.append((name, row.cells[1]))
            else:
                out.append((name, "; ".join(f"{column}: {cell}" for column, cell
                                            in zip(self.columns[1:], row.cells[1:], strict=True) if cell)))
        return out


@dataclass(frozen=True)
class SectionFacts:
    key: str
    """`coverage` or `on_premises`: the report's field."""
    title: str
    """The HTML section's heading."""
    policy_key: str
    """The top-level policy key the section belongs to: `coverage` or `directory`."""
    location: Location | None
    """Where the policy file declares that key; None when it does not."""
    summary: str
    parts: tuple[Part, ...]

    @property
    def facts(self) -> list[Fact]:
        """Every row as (name, value): the first part's rows by their own name, the others' as `<part>.<row>`;
        a name seen twice (two GPOs of one name) gets ` (2)`."""
        seen: dict[str, int] = {}
        out = []
        for index, part in enumerate(self.parts):
            for name, value in part.facts(top=index == 0):
                seen[name] = seen.get(name, 0) + 1
                out.append((name if seen[name] == 1 else f"{name} ({seen[name]})", value))
        return out


    def text(self) -> str:
        """The section as plain text: the summary, the policy line, then each part's rows (JUnit's system-out)."""
        where = location_text(self.location) or "not declared in the policy file"
        lines = [self.summary, f"policy key `{self.policy_key}`: {where}"]
        for part in self.parts:
            lines += ["", part.title]
            if part.folded:
                lines += [f"  {part.series_text(row)}" for row in part.rows]
            else:
                lines += [f"  {row.cells[0]}: {value}"
                          for row, (_, value) in zip(part.rows, part.facts(top=True), strict=True)]
        return "\n".join(lines)


def report_sections(report: AuditReport) -> list[SectionFacts]:
    """The coverage and on-premises sections the report holds, in the page's order."""
    out = []
    if report.coverage is not None:
        out.append(coverage_section(report.coverage))
    if report.on_premises is not None:
        out.append(onprem_section(report.on_premises))
    return out


def _count(value: int | None) -> str:
    return "not read" if value is None else f"{value:,}"


def _percent(value: float | None) -> str:
    return "not read" if value is None else f"{value:.1f}%"


def _word(tone: str) -> str:
    """The page's status word for a tone (`fail` → Fail)."""
    return next(word for status, word in STATUS_WORDS.items() if status.value == tone)


def _clip(text: str) -> str:
    return text if len(text) <= SUMMARY_CLIP else text[: SUMMARY_CLIP - 1] + "…"


def _two(key: str, title: str, rows: list[tuple[str, str]], column: str = "figure") -> Part | None:
    return Part(key, title, (column, "value"), tuple(Row(name, (name.replace("_", " "), value))
                                                      for name, value in rows)) if rows else None


def _table(key: str, title: str, columns: tuple[str, ...], rows: list[Row], folded: bool = False) -> Part | None:
    return Part(key, title, columns, tuple(rows), folded) if rows else None


def _parts(*parts: Part | None) -> tuple[Part, ...]:
    return tuple(part for part in parts if part is not None)


# --- coverage ----------------------------------------------------------------------------------------


def coverage_section(coverage: CoverageReport) -> SectionFacts:
    return SectionFacts(
        key="coverage", title=SECTIONS["coverage"][0], policy_key=SECTIONS["coverage"][1],
        location=coverage.policy_location, summary=_coverage_summary(coverage),
        parts=_parts(
            _two("summary", "Users in scope, registered and licensed", _coverage_rows(coverage)),
            _two("policy_scope", "The scope the policy asks for", _policy_scope_rows(coverage)),
            *_score_parts(coverage.secure_score),
            *_activity_parts(coverage.activity),
            _two("unavailable", "Not counted", list(coverage.unavailable.items()), "part"),
        ))


def _coverage_rows(coverage: CoverageReport) -> list[tuple[str, str]]:
    rows = []
    if coverage.scope is not None:
        basis = f" ({coverage.scope_basis})" if coverage.scope_basis else ""
        note = f": {coverage.scope_note}" if coverage.scope_note else ""
        rows.append(("scope", f"{coverage.scope}{basis}{note}"))
    rows += [("users_total", _count(coverage.users_total)), ("enabled_members", _count(coverage.enabled_members)),
             ("guests", _count(coverage.guests)), ("disabled", _count(coverage.disabled)),
             ("in_scope", _count(coverage.in_scope))]
    if coverage.registered is not None or coverage.registered_percent is not None:
        minimum = coverage.registration_min_percent
        verdict = ""
        if minimum is not None:
            met = coverage.registered_percent is not None and coverage.registered_percent >= minimum
            verdict = f" ({'meets' if met else 'below'} the policy minimum {minimum:g}%)"
        rows += [("registered", f"{_count(coverage.registered)} = {_percent(coverage.registered_percent)} of in "
                                f"scope{verdict}"),
                 ("not_registered", _count(coverage.not_registered)), ("no_record", _count(coverage.no_record))]
    if coverage.licensed is not None or coverage.unlicensed is not None:
        rows += [("licensed", f"{_count(coverage.licensed)} = {_percent(coverage.licensed_percent)} of in scope"),
                 ("unlicensed", _count(coverage.unlicensed))]
    if coverage.licence_seats is not None:
        rows.append(("licence_seats", f"{_count(coverage.licence_seats_used)} used of "
                                      f"{_count(coverage.licence_seats)}"))
    return rows


def _policy_scope_rows(coverage: CoverageReport) -> list[tuple[str, str]]:
    asked = coverage.policy_scope
    if asked is None:
        return []
    if asked.unavailable:
        return [("scope", f"{asked.scope}: not counted ({asked.unavailable})")]
    rows = [("scope", asked.scope), ("in_scope", _count(asked.in_scope))]
    if asked.registered is not None:
        rows += [("registered", f"{_count(asked.registered)} = {_percent(asked.registered_percent)} of that scope"),
                 ("not_registered", _count(asked.not_registered)), ("no_record", _count(asked.no_record))]
    if asked.licensed is not None:
        rows += [("licensed", f"{_count(asked.licensed)} = {_percent(asked.licensed_percent)} of that scope"),
                 ("unlicensed", _count(asked.unlicensed))]
    return rows


def _score_parts(score: SecureScoreSummary | None) -> list[Part | None]:
    if score is None:
        return []
    rows = [("control", score.control),
            ("score", f"{score.score:g} of {score.max_score:g} ({_percent(score.percent)})"
             if score.score is not None and score.max_score else
             f"{score.score:g}" if score.score is not None else "not listed")]
    if score.count is not None and score.total is not None:
        rows.append(("users_counted", f"{score.count:,} of {score.total:,}"))
    if score.implementation_status:
        rows.append(("implementation_status", score.implementation_status))
    if score.as_of is not None:
        rows.append(("as_of", score.as_of.isoformat()))
    if score.projected is not None:
        rows.append(("projected", f"{score.projected.score:g} ({score.projected.change:+g}), an estimate: "
                                  f"{score.projected.basis}"))
    history = [Row(p.day.isoformat(), (p.day.isoformat(), _percent(p.percent),
                                       f"{p.count:,} of {p.total:,}" if p.count is not None and p.total else ""))
               for p in score.history]
    return [_two("secure_score", "Secure Score: SSPR control", rows),
            _table("secure_score_history", f"Secure Score per day ({len(history)} days)",
                   ("day", "percent", "users counted"), history, folded=True)]


def _activity_parts(activity: ActivitySummary | None) -> list[Part | None]:
    if activity is None:
        return []
    rows = [("window", f"{activity.window_start:%Y-%m-%d} to {activity.window_end:%Y-%m-%d} "
                       f"({activity.window_days} days)"),
            ("resets", f"{activity.resets:,}"), ("resets_failed", f"{activity.resets_failed:,}"),
            ("unlocks", f"{activity.unlocks:,}"), ("blocked", f"{activity.blocked:,}"),
            ("blocked_users", f"{activity.blocked_users:,}"), ("registrations", f"{activity.registrations:,}"),
            ("other", f"{activity.other:,}"), ("writeback_enabled", f"{activity.writeback_enabled:,}"),
            ("writeback_disabled", f"{activity.writeback_disabled:,}")]
    changes = [Row(change.at.isoformat(), (change.at.isoformat(), "enabled" if change.enabled else "disabled",
                                           change.initiated_by or "unknown"))
               for change in activity.writeback_changes]
    days = [Row(d.day.isoformat(), (d.day.isoformat(), str(d.resets), str(d.resets_failed), str(d.unlocks),
                                    str(d.blocked), str(d.registrations))) for d in activity.days]
    return [_two("activity", f"SSPR activity, last {activity.window_days} days", rows),
            _table("writeback_changes", "Password writeback switched", ("when", "writeback", "by"), changes),
            _table("activity_days", f"SSPR activity per day ({len(days)} days)",
                   ("day", "resets", "failed", "unlocks", "blocked", "registrations"), days, folded=True)]


def _coverage_summary(coverage: CoverageReport) -> str:
    parts = []
    if coverage.in_scope is not None:
        basis = f", {coverage.scope_basis}" if coverage.scope_basis else ""
        parts.append(f"{coverage.in_scope:,} user(s) in scope (scope {coverage.scope}{basis})")
    if coverage.registered is not None:
        minimum = (f", policy minimum {coverage.registration_min_percent:g}%"
                   if coverage.registration_min_percent is not None else "")
        parts.append(f"{coverage.registered:,} registered ({_percent(coverage.registered_percent)}{minimum})")
    if coverage.licensed is not None:
        parts.append(f"{coverage.licensed:,} licensed ({_percent(coverage.licensed_percent)})")
    score = coverage.secure_score
    if score is not None and score.score is not None:
        parts.append(f"Secure Score {_clip(score.control)} {score.score:g}"
                     + (f" of {score.max_score:g}" if score.max_score else ""))
    activity = coverage.activity
    if activity is not None:
        parts.append(f"last {activity.window_days} days: {activity.resets:,} reset(s) "
                     f"({activity.resets_failed:,} failed), {activity.unlocks:,} unlock(s), "
                     f"{activity.blocked:,} blocked")
    if coverage.unavailable:
        parts.append("not counted: " + ", ".join(map(_clip, coverage.unavailable)))
    return "Coverage: " + ("; ".join(parts) or "nothing could be counted") + "."


# --- on-premises -------------------------------------------------------------------------------------


def onprem_section(section: OnPremisesReport) -> SectionFacts:
    view = onprem_view(section, {})
    assert view is not None
    return SectionFacts(
        key="on_premises", title=SECTIONS["on_premises"][0], policy_key=SECTIONS["on_premises"][1],
        location=section.policy_location, summary=_onprem_summary(view),
        parts=_parts(
            _two("summary", "Domain and sync account", _onprem_rows(view)),
            _table("rights", "Writeback rights per target OU",
                   ("target OU", "in-scope users", *view.rights, "status", "granted to", "note"),
                   [_rights_row(row) for row in view.table_rows]),
            _table("users", "In-scope users who cannot reset through writeback",
                   ("check", "issue", "status", "users", "who", "cause"),
                   [Row(g.group.check, (g.group.check, g.label, g.status_word, g.count_text, _names(g),
                                        g.group.explanation or g.group.summary or "")) for g in view.groups]),
            _table("password_age", "Minimum password age, every source",
                   ("source", "kind", "minimum age", "setting", "reach", "status", "note", "where"),
                   [_age_row(card) for card in view.cards]),
            _table("sign_in_gpos", "Reset link on the Windows sign-in screen: AllowPasswordReset per GPO",
                   ("GPO", "GUID", "AllowPasswordReset", "linked to", "note"), [_gpo_row(row) for row in view.gpos]),
            _table("seams", "Across the seam: authentication, Entra Connect, writeback, lockout, DC agents, reach",
                   ("topic", "setting", "value", "source", "status", "note"),
                   [Row(f.name, (f.topic, f.name, f.value if f.value is not None else "unknown", f.source,
                                 STATUS_WORDS[f.status] if f.status else "", f.note or "")) for f in section.seams]),
            _two("unavailable", "Not read", list(section.unavailable.items()), "part"),
        ))


def _onprem_rows(view: OnPremView) -> list[tuple[str, str]]:
    report = view.report
    rows = []
    if report.domain:
        rows.append(("domain", report.domain))
    if report.server:
        rows.append(("read_from", report.server))
    status = STATUS_WORDS[report.service_account_status] if report.service_account_status else "not judged"
    detail = f": {report.service_account_detail}" if report.service_account_detail else ""
    rows.append(("service_account", f"{report.service_account} ({status}){detail}"))
    if report.in_scope_users is not None:
        rows.append(("in_scope_users", f"{report.in_scope_users:,} under {len(report.ous)} target OU(s)"))
    rows.append(("minimum_age_limit", f"{view.limit} (directory.password_age.minimum_days)"))
    if view.age_note:
        rows.append(("password_age_note", view.age_note))
    if report.sign_in_status is not None:
        detail = f": {report.sign_in_detail}" if report.sign_in_detail else ""
        rows.append(("sign_in_reset", f"{STATUS_WORDS[report.sign_in_status]}{detail}"))
    return rows


def _rights_row(row: RowView) -> Row:
    cells = [f"{cell.word} ({cell.holder})" if cell and cell.holder else cell.word if cell else "—"
             for cell in row.cells]
    status = _word(row.tone)
    users = f"{row.users:,}" if row.users is not None else "—"
    return Row(row.dn, (row.dn, users, *cells, status, row.holder or "", row.note or ""))


def _names(group: GroupView) -> str:
    names = [u.user.name for u in group.users]
    more = group.group.count - min(len(names), NAMES_SHOWN)
    return ", ".join(names[:NAMES_SHOWN]) + (f" and {more:,} more" if more > 0 else "")


def _age_row(card: AgeCard) -> Row:
    source = card.source
    reach = ", ".join(card.facts)
    value = card.value if source.days is not None or not source.raw else f"{source.raw} (raw)"
    return Row(f"{source.kind} {source.name}", (source.name, KIND_WORDS[source.kind], value, source.setting, reach,
                                                 card.status_word, source.note or "", source.where))


def _gpo_row(row: GpoRow) -> Row:
    gpo = row.gpo
    links = "; ".join(link.container + (f" ({link.remark})" if link.remark else "") for link in row.links)
    notes = [*([] if gpo.computer_settings_enabled else ["computer settings disabled"]),
             *([gpo.error] if gpo.error else [])]
    return Row(gpo.name or gpo.guid, (gpo.name or gpo.guid, gpo.guid, row.value_text, links or "not linked",
                                      "; ".join(notes)))


def _onprem_summary(view: OnPremView) -> str:
    report = view.report
    where = f" {_clip(report.domain)}" if report.domain else ""
    account = STATUS_WORDS[report.service_account_status] if report.service_account_status else "not judged"
    parts = [f"sync account {_clip(report.service_account)} ({account})"]
    if view.table_rows:
        tally: dict[str, int] = {}
        for row in view.table_rows:
            tally[row.tone] = tally.get(row.tone, 0) + 1
        parts.append(f"writeback rights on {len(view.table_rows)} object(s): "
                     + ", ".join(f"{count} {_word(tone)}" for tone, count in tally.items()))
    failing = [g for g in view.groups if g.group.count]
    if failing:
        parts.append("users who cannot reset through writeback: "
                     + ", ".join(f"{g.group.check} {g.count_text}" for g in failing))
    if view.age_tone:
        parts.append(f"minimum password age {_word(view.age_tone)}")
    if view.sign_in_word:
        parts.append(f"sign-in screen reset link {view.sign_in_word}")
    if report.unavailable:
        parts.append("not read: " + ", ".join(map(_clip, report.unavailable)))
    return f"On-premises Active Directory{where}: " + "; ".join(parts) + "."
