"""The report's coverage and on-premises sections as plain facts, for the formats that are not a page.

The HTML report draws these sections; Markdown, JUnit and SARIF carry the same figures through
`coverage_facts` and `onprem_facts`: (key, value) pairs, in reading order, values already as text
(not yet escaped for any format). A part the run could not read is a fact `unavailable.<part>` with the reason.
"""

from __future__ import annotations

from auditor.derive.figures import CoverageReport
from auditor.onprem_view import OnPremisesReport

Fact = tuple[str, str]


def _count(value: int | None) -> str:
    return "not read" if value is None else f"{value:,}"


def _percent(value: float | None) -> str:
    return "not read" if value is None else f"{value:.1f}%"


def coverage_facts(coverage: CoverageReport | None) -> list[Fact]:
    if coverage is None:
        return []
    facts: list[Fact] = []
    if coverage.scope is not None:
        basis = f" ({coverage.scope_basis})" if coverage.scope_basis else ""
        note = f": {coverage.scope_note}" if coverage.scope_note else ""
        facts.append(("scope", f"{coverage.scope}{basis}{note}"))
    facts += [("users_total", _count(coverage.users_total)), ("in_scope", _count(coverage.in_scope))]
    if coverage.registered is not None or coverage.registered_percent is not None:
        minimum = (f" (policy minimum {coverage.registration_min_percent:g}%)"
                   if coverage.registration_min_percent is not None else "")
        facts += [("registered", f"{_count(coverage.registered)} = {_percent(coverage.registered_percent)}{minimum}"),
                  ("not_registered", _count(coverage.not_registered)), ("no_record", _count(coverage.no_record))]
    if coverage.licensed is not None or coverage.unlicensed is not None:
        facts += [("licensed", f"{_count(coverage.licensed)} = {_percent(coverage.licensed_percent)}"),
                  ("unlicensed", _count(coverage.unlicensed))]
        if coverage.licence_seats is not None:
            facts.append(("licence_seats", f"{_count(coverage.licence_seats_used)} used of "
                                           f"{_count(coverage.licence_seats)}"))
    score = coverage.secure_score
    if score is not None:
        when = f" as of {score.as_of:%Y-%m-%d}" if score.as_of else ""
        facts.append(("secure_score", f"{score.control}: {score.score} of {score.max_score} "
                                      f"({_percent(score.percent)}){when}"))
    activity = coverage.activity
    if activity is not None:
        facts.append(("activity", f"last {activity.window_days} days: {activity.resets} reset(s) "
                                  f"({activity.resets_failed} failed), {activity.unlocks} unlock(s), "
                                  f"{activity.blocked} blocked ({activity.blocked_users} user(s)), "
                                  f"{activity.registrations} registration(s)"))
    facts += [(f"unavailable.{part}", why) for part, why in coverage.unavailable.items()]
    return facts


def onprem_facts(section: OnPremisesReport | None) -> list[Fact]:
    if section is None:
        return []
    facts: list[Fact] = []
    if section.domain or section.server:
        facts.append(("domain", " on ".join(x for x in (section.domain, section.server) if x)))
    status = f" ({section.service_account_status.value})" if section.service_account_status else ""
    detail = f": {section.service_account_detail}" if section.service_account_detail else ""
    facts += [("service_account", f"{section.service_account}{status}{detail}"),
              ("in_scope_users", _count(section.in_scope_users))]
    for ou in [*section.ous, *([section.admin_sd_holder] if section.admin_sd_holder else [])]:
        rights = ", ".join(f"{cell.label} {cell.status.value}" for cell in ou.rights)
        note = f" ({ou.note})" if ou.note else ""
        facts.append((f"rights {ou.dn}", f"{ou.status.value}: {rights or 'not judged'}{note}"))
    for group in section.affected:
        facts.append((f"users {group.check}", f"{group.status.value}: {group.count} user(s)"
                                              + (f", {group.waived} waived" if group.waived else "")
                                              + (f"; {group.explanation}" if group.explanation else "")))
    for source in section.password_age:
        days = f"{source.days} day(s)" if source.days is not None else (source.raw or "not set")
        decides = f", decides for {source.wins_for} user(s)" if source.wins_for is not None else ""
        judged = f" ({source.status.value})" if source.status else ""
        facts.append((f"password_age {source.kind} {source.name}", f"{source.setting} = {days}{decides}{judged}"))
    if section.sign_in_status is not None:
        facts.append(("sign_in_reset", f"{section.sign_in_status.value}"
                                       + (f": {section.sign_in_detail}" if section.sign_in_detail else "")))
    facts += [(f"unavailable.{part}", why) for part, why in section.unavailable.items()]
    return facts
