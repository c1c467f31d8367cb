"""The HTML report's on-premises section: the report's `on_premises` data made ready to lay out
(tones, labels, the finding each cell or row links to), so the template only places it.

Every string from the directory (DNs, account and policy names, GPO names) stays data: the
template escapes it like the rest of the page and never builds markup from it.
"""

from __future__ import annotations

from dataclasses import dataclass

from auditor.ad.rights import WRITEBACK_RIGHTS
from auditor.checks.base import Finding, Status
from auditor.findings import worst
from auditor.onprem_view import (
    FGPP_AGE_CHECK,
    GPO_AGE_CHECK,
    RIGHTS_CHECK,
    SIGN_IN_CHECK,
    AffectedGroup,
    AffectedUser,
    AgeSource,
    OnPremisesReport,
    OuRights,
    RightCell,
    SignInGpo,
    right_of,
)

TONES = {status: status.value for status in Status}  # the page's `st-<status>` colour classes
STATUS_WORDS = {Status.passed: "Pass", Status.failed: "Fail", Status.unknown: "Unknown", Status.waived: "Waived",
                Status.not_applicable: "Not applicable"}
RIGHT_WORDS = {Status.passed: ("✓", "Present"), Status.failed: ("✗", "Missing"), Status.unknown: ("?", "Unknown"),
               Status.waived: ("✗", "Missing, waived"), Status.not_applicable: ("–", "Not asked")}
USER_CHECK_LABELS = {
    "ad.acl.coverage": "Do not receive the writeback rights",
    "ad.users.temporary_password": "Temporary password (must change at next logon)",
    "ad.users.privileged": "On-premises administrators in the synced OUs",
    "ad.users.contact": "Missing or malformed phone numbers",
}
SETTINGS = {"gpo": "GptTmpl.inf MinimumPasswordAge", "domain": "minPwdAge", "fgpp": "msDS-MinimumPasswordAge"}
Anchors = dict[tuple[str, str, str], str]


@dataclass(frozen=True)
class CellView:
    tone: str
    mark: str
    word: str
    holder: str | None
    detail: str | None
    href: str | None


@dataclass(frozen=True)
class RowView:
    dn: str
    users: int | None
    tone: str
    cells: tuple[CellView | None, ...]  # one per column; None when the OU has no finding for that right
    note: str | None
    holder: str | None  # who holds every right the row grants, said once (cells then leave it out)


@dataclass(frozen=True)
class UserView:
    user: AffectedUser
    tone: str
    href: str | None


@dataclass(frozen=True)
class GroupView:
    group: AffectedGroup
    label: str
    tone: str
    status_word: str
    count_text: str
    users: tuple[UserView, ...]
    hidden: int  # failing users not listed (beyond the report's limit)


@dataclass(frozen=True)
class AgeCard:
    source: AgeSource
    tone: str
    status_word: str
    value: str
    setting: str
    facts: tuple[str, ...]
    href: str | None


@dataclass(frozen=True)
class GpoLinkText:
    container: str
    remark: str | None  # why the link does not reach member computers, or that it is enforced
    counts: bool


@dataclass(frozen=True)
class GpoRow:
    gpo: SignInGpo
    value_text: str
    value_tone: str
    links: tuple[GpoLinkText, ...]


@dataclass(frozen=True)
class OnPremView:
    report: OnPremisesReport
    rights: tuple[str, ...]
    rows: tuple[RowView, ...]
    holder: RowView | None
    rights_tone: str | None
    groups: tuple[GroupView, ...]
    limit: str
    cards: tuple[AgeCard, ...]
    age_tone: str | None
    age_note: str | None
    gpos: tuple[GpoRow, ...]
    sign_in_tone: str | None
    sign_in_word: str | None
    sign_in_href: str | None
    account_tone: str | None

    @property
    def table_rows(self) -> tuple[RowView, ...]:
        """The target OUs, then AdminSDHolder when the policy asks for the rights there."""
        return self.rows + ((self.holder,) if self.holder else ())


def onprem_view(report: OnPremisesReport | None, anchors: Anchors) -> OnPremView | None:
    if report is None:
        return None
    rights = tuple(report.rights)
    gpo_days = next((s.days for s in report.password_age if s.kind == "gpo"), None)
    domain_days = next((s.days for s in report.password_age if s.kind == "domain"), None)
    age_note = None
    if gpo_days is not None and domain_days is not None and gpo_days != domain_days:
        age_note = (f"The Default Domain Policy says {days(gpo_days)} and the domain's minPwdAge {days(domain_days)}: "
                    "Windows DCs rewrite minPwdAge from the GPO at the next policy refresh, so the GPO's value is the "
                    "one that lasts.")
    rows = [*report.ous, *([report.admin_sd_holder] if report.admin_sd_holder else [])]
    judged = [s.status for s in report.password_age if s.status is not None]
    return OnPremView(
        report=report, rights=rights,
        rows=tuple(_row(ou, rights, anchors) for ou in report.ous),
        holder=_row(report.admin_sd_holder, rights, anchors) if report.admin_sd_holder else None,
        rights_tone=TONES[worst([r.status for r in rows])] if rows else None,
        groups=tuple(_group(g, anchors) for g in report.affected),
        limit=f"≤ {days(report.minimum_age_limit)}",
        cards=tuple(_card(s, anchors) for s in report.password_age),
        age_tone=TONES[worst(judged)] if judged else None,
        age_note=age_note,
        gpos=tuple(_gpo(g) for g in report.sign_in_gpos),
        sign_in_tone=TONES[report.sign_in_status] if report.sign_in_status else None,
        sign_in_word=STATUS_WORDS[report.sign_in_status] if report.sign_in_status else None,
        sign_in_href=_href(anchors, SIGN_IN_CHECK, "sign-in screen"),  # an in-page anchor: `#finding-N`
        account_tone=TONES[report.service_account_status] if report.service_account_status else None,
    )


def finding_anchors(numbered: list[tuple[Finding, str]]) -> Anchors:
    """(check, target, right) → the page anchor of that finding; `right` is set for writeback rights only."""
    rights = list(WRITEBACK_RIGHTS)
    out: Anchors = {}
    for finding, anchor in numbered:
        right = right_of(finding, rights) if finding.check == RIGHTS_CHECK else None
        out.setdefault((finding.check, finding.target, right.name if right else ""), anchor)
    return out


def days(count: int) -> str:
    return f"{count} day" if count == 1 else f"{count} days"


def _row(ou: OuRights, rights: tuple[str, ...], anchors: Anchors) -> RowView:
    by_label = {cell.label: cell for cell in ou.rights}
    granted = {c.holder for c in ou.rights if c.status == Status.passed}
    shared = next(iter(granted)) if len(granted) == 1 else None
    cells = tuple(_cell(by_label[label], anchors, shared) if label in by_label else None for label in rights)
    return RowView(dn=ou.dn, users=ou.in_scope_users, tone=TONES[ou.status], cells=cells, note=ou.note,
                   holder=shared)


def _cell(cell: RightCell, anchors: Anchors, shared_holder: str | None) -> CellView:
    mark, word = RIGHT_WORDS[cell.status]
    denied = (cell.detail or "").startswith("denied")
    if cell.status in (Status.failed, Status.waived) and denied:
        word = "Denied" if cell.status == Status.failed else "Denied, waived"
    if cell.status == Status.passed:
        note = None if cell.holder == shared_holder else (f"via {cell.holder}" if cell.holder else None)
    else:  # what stands in the way: a deny naming someone, or no ACE at all
        note = f"denied to {cell.holder}" if denied and cell.holder else cell.detail
    href = anchors.get((RIGHTS_CHECK, cell.target, cell.right))
    return CellView(tone=TONES[cell.status], mark=mark, word=word, holder=note, detail=cell.detail,
                    href=f"#{href}" if href else None)


def _group(group: AffectedGroup, anchors: Anchors) -> GroupView:
    users = tuple(UserView(u, TONES[u.status], _href(anchors, group.check, u.dn)) for u in group.users)
    if group.count:
        count_text = f"{group.count} user" + ("" if group.count == 1 else "s")
        if group.waived:
            count_text += f" ({group.waived} waived)"
    elif group.status == Status.passed:
        count_text = "none"
    else:
        count_text = STATUS_WORDS[group.status].lower()
    return GroupView(group=group, label=USER_CHECK_LABELS.get(group.check, group.title), tone=TONES[group.status],
                     status_word=STATUS_WORDS[group.status], count_text=count_text, users=users,
                     hidden=max(0, group.count - len(group.users)))


def _card(source: AgeSource, anchors: Anchors) -> AgeCard:
    facts = []
    if source.precedence is not None:
        facts.append(f"precedence {source.precedence}")
    if source.wins_for is not None:
        noun = "user" if source.wins_for == 1 else "users"
        facts.append(f"wins for {source.wins_for} in-scope {noun}" if source.kind != "domain" else
                     f"for {source.wins_for} in-scope {noun} without a fine-grained policy")
    check = FGPP_AGE_CHECK if source.kind == "fgpp" else GPO_AGE_CHECK
    status = source.status
    return AgeCard(
        source=source, tone=TONES[status] if status else "not_applicable",
        status_word=STATUS_WORDS[status] if status else "Not judged",
        value=days(source.days) if source.days is not None else "—", setting=SETTINGS[source.kind],
        facts=tuple(facts),
        href=_href(anchors, check, source.target) if source.target else None,
    )


def _gpo(gpo: SignInGpo) -> GpoRow:
    if gpo.error:
        value_text, tone = "unreadable", "unknown"
    elif gpo.value is None:
        value_text, tone = "not set", "not_applicable"
    else:
        value_text = f"{gpo.value} ({'shows the link' if gpo.value == 1 else 'hides the link'})"
        tone = ("pass" if gpo.value == 1 else "fail") if gpo.counts else "not_applicable"
    links = []
    for link in gpo.links:
        if not link.enabled:
            remark: str | None = "link disabled"
        elif link.holds_computers is False:
            remark = "no member computer below"
        else:
            remark = "enforced" if link.enforced else None
        links.append(GpoLinkText(link.container, remark, link.enabled and link.holds_computers is not False))
    return GpoRow(gpo=gpo, value_text=value_text, value_tone=tone, links=tuple(links))


def _href(anchors: Anchors, check: str, target: str) -> str | None:
    anchor = anchors.get((check, target, ""))
    return f"#{anchor}" if anchor else None
