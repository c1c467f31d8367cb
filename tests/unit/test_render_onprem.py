"""The report's on-premises section: built from real checks over a drifted directory snapshot, laid
out in the HTML (rights per OU, affected users per check, password-age sources side by side, the
GPOs behind the sign-in screen), and every directory string kept as text."""

from __future__ import annotations

import json

import pytest

from auditor.ad.rights import WRITEBACK_RIGHTS
from auditor.ad.wellknown import DEFAULT_DOMAIN_POLICY_GUID
from auditor.checks.base import Status
from auditor.onprem_view import onprem_report, right_of
from auditor.policy.models import Policy
from auditor.render.html import HtmlRenderer
from auditor.render.json_report import report_json_schema
from auditor.report import AuditReport
from auditor.snapshot.models import Section, Snapshot
from tests.helpers.onprem_factory import (
    HOSTILE_NAME,
    HOSTILE_OU,
    SIGN_IN_GUID,
    drifted_report,
    drifted_snapshot,
    report_for,
)
from tests.helpers.report_factory import RIGHT_TO_LEFT_OVERRIDE, SCRIPT_TAG, ParsedPage, parse_html
from tests.unit.cases_ad import SALES, STAFF, baseline_policy


@pytest.fixture(scope="module")
def report() -> AuditReport:
    return drifted_report()


@pytest.fixture(scope="module")
def html(report: AuditReport) -> str:
    return HtmlRenderer().render(report).decode("utf-8")


@pytest.fixture(scope="module")
def page(html: str) -> ParsedPage:
    return parse_html(html)


def rights_cells(page: ParsedPage) -> dict[tuple[str, str], dict[str, str]]:
    """(OU, right label) → the cell's attributes, read in page order (cells follow their row)."""
    out: dict[tuple[str, str], dict[str, str]] = {}
    ou = None
    for tag, attrs in page.elements:
        if tag == "tr":
            ou = attrs.get("data-ou")
        elif tag == "td" and ou and "data-right" in attrs:
            out[(ou, attrs["data-right"])] = attrs
    return out


def links_in_cells(html: str) -> dict[tuple[str, str], str]:
    page = parse_html(html)
    out: dict[tuple[str, str], str] = {}
    key = None
    ou = None
    for tag, attrs in page.elements:
        if tag == "tr":
            ou = attrs.get("data-ou")
        elif tag == "td":
            key = (ou, attrs["data-right"]) if ou and "data-right" in attrs else None
        elif tag == "a" and key and "right" in attrs.get("class", ""):
            out[key] = attrs["href"]
    return out


# --- the model ------------------------------------------------------------------------------------


def test_the_section_model_follows_the_findings(report: AuditReport) -> None:
    onprem = report.on_premises
    assert onprem is not None and onprem.domain == "corp.example.test"
    assert onprem.rights == ["Reset Password", "Change Password", "Write lockoutTime", "Write pwdLastSet"]
    staff, sales = onprem.ous
    assert (staff.dn, staff.status, staff.in_scope_users) == (STAFF, Status.passed, 7)
    assert {c.label: c.status for c in sales.rights} == {
        "Reset Password": Status.passed, "Change Password": Status.passed, "Write lockoutTime": Status.passed,
        "Write pwdLastSet": Status.failed}
    assert {c.holder for c in sales.rights if c.status == Status.passed} == {"group GG-Writeback-Delegation"}
    groups = {g.check: g for g in onprem.affected}
    assert {check: (g.status, g.count, g.waived) for check, g in groups.items()} == {
        "ad.acl.coverage": (Status.failed, 2, 0),  # Nora (protected DACL) and Adam (adminCount=1)
        "ad.users.temporary_password": (Status.failed, 1, 0),
        "ad.users.privileged": (Status.failed, 1, 0),
        "ad.users.contact": (Status.failed, 2, 1),
    }
    assert {u.name for u in groups["ad.acl.coverage"].users} == {"Nora Quinn", "adam.admin"}
    assert "inheritance is disabled" in next(u.detail for u in groups["ad.acl.coverage"].users
                                             if u.name == "Nora Quinn")
    ages = {(s.kind, s.name): s for s in onprem.password_age}
    assert (ages[("gpo", "Default Domain Policy")].days, ages[("gpo", "Default Domain Policy")].status) == (
        1, Status.failed)
    domain = ages[("domain", "Domain password policy")]
    assert (domain.days, domain.status, domain.wins_for) == (0, Status.passed, 7)
    pso = ages[("fgpp", "PSO-Sales")]
    assert (pso.days, pso.precedence, pso.wins_for, pso.status) == (1, 10, 2, Status.failed)
    assert ages[("fgpp", "PSO-Service")].status is None and ages[("fgpp", "PSO-Service")].wins_for == 0
    assert [s.kind for s in onprem.password_age] == ["gpo", "domain", "fgpp", "fgpp"]  # PSOs by precedence
    assert onprem.password_age[2].name == "PSO-Service"
    assert onprem.minimum_age_limit == 0
    assert [(g.name, g.value, g.counts) for g in onprem.sign_in_gpos] == [
        ("SSPR sign-in screen", 1, False), ("Default Domain Policy", None, True)]
    assert onprem.unavailable == {}


def test_rights_are_matched_without_policy_locations() -> None:
    """An in-memory policy has no file positions, so findings carry no keys: the rights still line up."""
    policy = Policy.model_validate(baseline_policy(target_ous=[STAFF, SALES]).model_dump())
    snap = drifted_snapshot()
    report = report_for(policy, snap)
    writeback = [f for f in report.findings if f.check == "ad.acl.writeback_rights"]
    assert writeback and all(f.policy_location is None for f in writeback)
    assert all(right_of(f, list(WRITEBACK_RIGHTS)) is not None for f in writeback)
    sales = report.on_premises.ous[1]
    assert [c.status for c in sales.rights] == [Status.passed] * 3 + [Status.failed]


def test_no_directory_section_means_no_on_premises_part() -> None:
    policy = baseline_policy().model_copy(update={"directory": None})
    assert onprem_report(policy, drifted_snapshot(), []) is None
    assert report_for(policy, drifted_snapshot()).on_premises is None
    assert 'id="on-premises"' not in HtmlRenderer().render(report_for(policy, drifted_snapshot())).decode()


def test_an_unreadable_directory_says_why_and_judges_nothing() -> None:
    reason = "cannot reach ldaps://10.0.0.5:636: timed out"
    snap = Snapshot(tool_version="t", origin="t", directory=Section.failed("ldaps://10.0.0.5:636", reason),
                    sysvol=Section.failed("smb", reason), gpo_sign_in_reset=Section.failed("smb", reason))
    report = report_for(baseline_policy(), snap)
    onprem = report.on_premises
    assert set(onprem.unavailable) == {"directory", "GptTmpl.inf", "Registry.pol"}
    assert all(ou.status == Status.unknown and ou.rights == [] for ou in onprem.ous)
    assert all(g.status == Status.unknown and g.count == 0 for g in onprem.affected)
    assert [s.status for s in onprem.password_age] == [Status.unknown, Status.unknown]
    html = HtmlRenderer().render(report).decode()
    page = parse_html(html)
    assert "timed out" in page.text and "No target OU was judged" not in page.text
    assert not rights_cells(page)


# --- the page -------------------------------------------------------------------------------------


def test_the_section_sits_after_the_findings_and_before_the_sources(html: str) -> None:
    assert html.index('id="findings"') < html.index('id="on-premises"') < html.index('id="sources"')


def test_rights_per_ou_are_present_or_missing_and_link_to_their_finding(html: str, page: ParsedPage) -> None:
    cells = rights_cells(page)
    assert {k: v["data-status"] for k, v in cells.items() if k[0] == SALES} == {
        (SALES, "Reset Password"): "pass", (SALES, "Change Password"): "pass",
        (SALES, "Write lockoutTime"): "pass", (SALES, "Write pwdLastSet"): "fail"}
    assert {v["data-status"] for k, v in cells.items() if k[0] == STAFF} == {"pass"}
    links = links_in_cells(html)
    assert len(links) == 8
    anchors = {attrs["id"] for tag, attrs in page.elements if tag == "article"}
    assert set(links.values()) <= {f"#{a}" for a in anchors}
    missing = links[(SALES, "Write pwdLastSet")][1:]
    card = html[html.index(f'id="{missing}"'):]
    card = card[:card.index("</article>")]
    assert "ad.acl.writeback_rights" in card and "Write pwdLastSet" in card and SALES in card
    text = page.text
    assert "granted to group GG-Writeback-Delegation" in text and "no ACE grants it" in text


def test_affected_users_are_folded_behind_their_counts(html: str, page: ParsedPage) -> None:
    counts = {attrs["data-count"]: None for tag, attrs in page.elements if tag == "span" and "data-count" in attrs}
    assert set(counts) >= {"ad.acl.coverage", "ad.users.temporary_password", "ad.users.privileged",
                           "ad.users.contact"}
    groups = {attrs["id"]: attrs for tag, attrs in page.elements if tag == "details" and
              attrs.get("id", "").startswith("affected-")}
    assert set(groups) == {"affected-ad.acl.coverage", "affected-ad.users.temporary_password",
                           "affected-ad.users.privileged", "affected-ad.users.contact"}
    assert all("open" not in attrs for attrs in groups.values())  # names only inside <details>
    contact = html[html.index('id="affected-ad.users.contact"'):]
    contact = contact[:contact.index("</details>")]
    assert "2 users (1 waived)" in contact and "hana.park" in contact and "cara.zeller" in contact
    summary = contact[:contact.index("</summary>")]
    assert "hana.park" not in summary


def test_password_age_sources_stand_side_by_side(page: ParsedPage) -> None:
    cards = [attrs for tag, attrs in page.elements if tag == "li" and "data-kind" in attrs]
    assert [(c["data-kind"], c["data-days"]) for c in cards] == [("gpo", "1"), ("domain", "0"), ("fgpp", "1"),
                                                                  ("fgpp", "1")]
    assert "st-fail" in cards[0]["class"] and "st-pass" in cards[1]["class"]
    text = page.text
    assert "Highest allowed ≤ 0 days" in text
    assert "The Default Domain Policy says 1 day and the domain's minPwdAge 0 days" in text
    assert "precedence 10 wins for 2 in-scope users" in text
    assert "for 7 in-scope users without a fine-grained policy" in text
    assert "Not judged" in text


def test_sign_in_gpos_show_value_and_where_linked(html: str, page: ParsedPage) -> None:
    rows = [attrs["data-gpo"] for tag, attrs in page.elements if tag == "tr" and "data-gpo" in attrs]
    assert rows == [SIGN_IN_GUID, DEFAULT_DOMAIN_POLICY_GUID]
    text = page.text
    assert "1 (shows the link)" in text and "no member computer below" in text and "link disabled" in text
    assert "SSPR sign-in screen sets AllowPasswordReset = 1 but is not linked" in text


def test_the_report_json_carries_the_section_and_the_schema_covers_it(report: AuditReport) -> None:
    import jsonschema

    from auditor.render.json_report import JsonRenderer

    data = json.loads(JsonRenderer().render(report))
    assert data["on_premises"]["ous"][1]["rights"][3]["status"] == "fail"
    jsonschema.Draft202012Validator(report_json_schema()).validate(data)


# --- hostile directory strings ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def hostile_html() -> str:
    policy = baseline_policy(target_ous=[STAFF, HOSTILE_OU], service_account="MSOL_0a1b2c3d4e5f")
    snap = drifted_snapshot(target_ou=HOSTILE_OU, user_name=HOSTILE_NAME, pso_name=SCRIPT_TAG, gpo_name=SCRIPT_TAG)
    return HtmlRenderer().render(report_for(policy, snap)).decode("utf-8")


def test_hostile_dns_and_names_stay_text(hostile_html: str) -> None:
    page = parse_html(hostile_html)
    assert not page.tags("script") and not page.tags("img")
    assert [name for _, attrs in page.elements for name in attrs if name.startswith("on")] == []
    section = hostile_html[hostile_html.index('id="on-premises"'):hostile_html.index('id="sources"')]
    assert "<script" not in section.lower() and "<img" not in section.lower()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in section
    text = parse_html(section).text
    assert "OU=<script>alert(1)</script>\\," in text  # the OU, escaped and whole
    assert '"><img src=x onerror=alert(1)>[U+202E]gpj.exe' in text  # the user, its bidi override shown
    assert RIGHT_TO_LEFT_OVERRIDE not in hostile_html
    cells = rights_cells(parse_html(hostile_html))
    assert cells[(HOSTILE_OU, "Write pwdLastSet")]["data-status"] == "fail"  # the attribute round-trips

    cards = [attrs for tag, attrs in page.elements if tag == "li" and attrs.get("data-kind") == "fgpp"]
    assert len(cards) == 2
    assert text.count(SCRIPT_TAG) >= 3  # the PSO, the GPO and the sign-in reason name them, as text
