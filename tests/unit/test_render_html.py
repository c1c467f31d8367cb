"""The HTML report: self-contained, summary first, every finding with its proof, data escaped."""

from __future__ import annotations

import re

import pytest

from auditor.checks.base import Status
from auditor.render import get_renderer
from auditor.render.html import (
    CONTENT_SECURITY_POLICY,
    HtmlRenderer,
    _environment,
    reveal_hidden,
    safe_href,
    view_value,
)
from auditor.report import AuditReport
from tests.helpers.report_factory import (
    ATTRIBUTE_BREAKOUT,
    GRAPH_FIX_ADMIN,
    JAVASCRIPT_URL,
    LONG_STRING,
    PORTAL_FIX_GATES,
    POWERSHELL_FIX_ADMIN,
    RIGHT_TO_LEFT_OVERRIDE,
    SCRIPT_TAG,
    ParsedPage,
    build_report,
    finding,
    hostile_report,
    parse_html,
    realistic_report,
)


def render(report: AuditReport) -> str:
    return HtmlRenderer().render(report).decode("utf-8")


@pytest.fixture(scope="module")
def html() -> str:
    return render(realistic_report())


@pytest.fixture(scope="module")
def page(html: str) -> ParsedPage:
    return parse_html(html)


def card(html: str, check: str) -> ParsedPage:
    """The finding card (`<article>`) of `check`: the first one if the check has several."""
    for match in re.finditer(r"<article\b.*?</article>", html, re.DOTALL):
        article = parse_html(match.group())
        if check in article.text.split():
            return article
    raise AssertionError(f"no finding card for {check}")


# ---- self-contained and script-free ---------------------------------------------------------


def test_registered_as_html() -> None:
    renderer = get_renderer("html")
    assert isinstance(renderer, HtmlRenderer)
    assert (renderer.extension, renderer.media_type) == ("html", "text/html")


def test_the_page_forbids_script_and_loads_nothing(html: str, page: ParsedPage) -> None:
    csp = [m["content"] for m in page.tags("meta") if m.get("http-equiv") == "Content-Security-Policy"]
    assert csp == [CONTENT_SECURITY_POLICY]
    assert "default-src 'none'; style-src 'unsafe-inline'; img-src data:" in csp[0]
    assert "script-src" not in csp[0]
    assert not page.tags("script") and not page.tags("link") and not page.tags("img")
    assert not page.attribute_values("src")
    assert "@import" not in html and "url(" not in html
    assert html.startswith("<!doctype html>")


def test_autoescape_is_on_for_every_template_name() -> None:
    # select_autoescape's defaults would not cover a `.html.j2` name: autoescape must be True.
    assert _environment().autoescape is True


# ---- header and summary ---------------------------------------------------------------------


def test_header_names_the_run(page: ParsedPage) -> None:
    text = page.text
    for expected in ("sspr-auditor 0.1.0", "lab:demo", "policies/baseline.yaml",
                     "Snapshot taken 2025-03-14 09:26:53 UTC", "Report generated 2025-03-14 09:30:00 UTC"):
        assert expected in text


def test_summary_then_the_findings_then_the_data_sources(html: str) -> None:
    positions = [html.index(marker) for marker in ('id="summary"', 'id="findings"', 'id="sources"')]
    assert positions == sorted(positions)


def test_summary_counts_every_status(page: ParsedPage) -> None:
    assert "4 Fail 1 Unknown 1 Waived 3 Pass 2 Not applicable" in page.text
    assert "11 findings in total" in page.text


def test_summary_shows_a_status_with_no_findings_as_zero() -> None:
    only_pass = [finding("sspr.gates", Status.passed, expected=2, actual=2)]
    text = parse_html(render(build_report(only_pass))).text
    assert "0 Fail 0 Unknown 0 Waived 1 Pass 0 Not applicable" in text
    assert "Passed" in text and "exit code 0" in text


def test_summary_counts_failures_by_severity(page: ParsedPage) -> None:
    assert "Failures by severity critical 0 high 2 medium 2 low 0 info 0" in page.text


def test_summary_states_the_exit_code_and_its_meaning(page: ParsedPage) -> None:
    assert "Drift found A fail at or above --fail-on (default low). exit code 1" in page.text


def test_incomplete_run_says_so() -> None:
    report = build_report([finding("admin_sspr", Status.unknown, reason="403 Forbidden")])
    text = parse_html(render(report)).text
    assert "Incomplete" in text and "exit code 3" in text


def test_data_sources_say_what_was_read_and_why_not(page: ParsedPage) -> None:
    text = page.text
    assert "3 of 4 snapshot sections could be read" in text
    assert ("authorization_policy graph:GET /policies/authorizationPolicy 2025-03-14 09:26:53 UTC "
            "Not read: 403 Forbidden (Policy.Read.All not granted)") in text
    assert "sspr_policy portal:GET /PasswordResetPolicies 2025-03-14 09:26:53 UTC Read" in text


# ---- findings -------------------------------------------------------------------------------


def test_groups_run_fail_unknown_waived_pass_not_applicable(html: str) -> None:
    order = ["fail", "unknown", "waived", "pass", "not_applicable"]
    positions = [html.index(f'id="status-{status}"') for status in order]
    assert positions == sorted(positions)


def test_passing_and_not_applicable_groups_start_folded(page: ParsedPage) -> None:
    folded = {d["id"] for d in page.tags("details") if d.get("class", "").startswith("group")}
    assert folded == {"status-pass", "status-not_applicable"}
    assert not [d for d in page.tags("details") if d.get("id") in folded and "open" in d]


def test_every_finding_has_a_card(html: str) -> None:
    report = realistic_report()
    cards = re.findall(r"<article\b", html)
    assert len(cards) == len(report.findings)
    for item in report.findings:
        assert item.title in card(html, item.check).text


def test_a_failure_shows_expected_actual_reason_location_evidence_and_fix(html: str) -> None:
    text = card(html, "sspr.gates").text
    assert "Fail high" in text
    assert "Target tenant" in text
    assert "the number of methods required is 1, the policy asks for 2" in text
    assert "Expected (policy) 2 Actual (live) 1" in text
    assert "policies/baseline.yaml:7 · sspr.methods_required" in text
    assert "portal:GET /PasswordResetPolicies › numberOfAuthenticationMethodsRequired = 1" in text
    assert "Fix How to fix this ↓" in text
    [block] = [d for d in re.findall(r'<details class="fix" id="fix-sspr.gates">.*?</details>', html, re.DOTALL)]
    assert f"Entra admin center {PORTAL_FIX_GATES}" in parse_html(block).text


def test_structured_values_are_readable(html: str) -> None:
    scope = card(html, "sspr.scope").text
    assert "Expected (policy) scope selected group SSPR-Pilot Actual (live) scope all group —" in scope
    methods = card(html, "sspr.methods").text
    assert "security_questions" in methods.split("Actual (live)")[1]
    assert "securityQuestionsEnabled = on" in methods
    assert "Expected (policy) on Actual (live) off" in card(html, "sspr.notify_admins").text


def test_graph_and_powershell_fixes_are_code() -> None:
    failing = finding("admin_sspr", Status.failed, expected=False, actual=True,
                      fix={"portal": "Entra admin center > Protection > Password reset",
                           "graph": GRAPH_FIX_ADMIN, "powershell": POWERSHELL_FIX_ADMIN})
    block = re.search(r'<details class="fix" id="fix-admin_sspr">.*?</details>', render(build_report([failing])),
                      re.DOTALL)
    assert block is not None
    blocks = re.findall(r"<pre><code>(.*?)</code></pre>", block.group(), re.DOTALL)
    assert [parse_html(code).text for code in blocks] == [
        " ".join(GRAPH_FIX_ADMIN.split()), POWERSHELL_FIX_ADMIN]
    assert "&#34;allowedToUseSSPR&#34;: false" in block.group()


def test_an_unknown_finding_has_no_fix_block(html: str) -> None:
    assert 'id="fix-admin_sspr"' not in html
    assert "How to fix" not in card(html, "admin_sspr").text


def test_unknown_finding_carries_its_reason(html: str) -> None:
    text = card(html, "admin_sspr").text
    assert "Unknown high" in text
    assert "graph:GET /policies/authorizationPolicy: 403 Forbidden (Policy.Read.All not granted)" in text
    assert "Actual (live) —" in text


def test_waived_finding_shows_its_waiver(html: str) -> None:
    text = card(html, "writeback.unlock").text
    assert "Waived until 2099-06-30." in text
    assert ("Reason Unlock waits for the change advisory board Owner iam-team Ticket CHG-1042 "
            "Expires 2099-06-30") in text
    assert "EXPIRED" not in text


def test_an_expired_waiver_is_marked_and_the_failure_counts(html: str) -> None:
    article = card(html, "sspr.notify_admins")
    assert article.text.startswith("Fail medium")
    assert "EXPIRED This waiver expired on 2024-12-31 and no longer applies" in article.text
    assert "Owner secops@contoso.example" in article.text
    assert "https://tickets.contoso.example/CHG-0815" in article.attribute_values("href")


def test_passing_findings_show_values_and_links_but_no_fix(html: str) -> None:
    article = card(html, "sspr.helpdesk")
    assert "https://help.contoso.example/sspr" in article.attribute_values("href")
    assert "How to fix" not in article.text
    assert "Expected (policy) on Actual (live) on" in card(html, "writeback.enabled").text


def test_not_applicable_findings_say_why(html: str) -> None:
    text = card(html, "ad.acl.writeback_rights").text
    assert "the policy declares no `directory` section" in text
    assert "not declared in a policy file" in text


def test_failures_are_ordered_most_severe_first(html: str) -> None:
    fail_group = html[html.index('id="status-fail"'):html.index('id="status-unknown"')]
    checks = re.findall(r'<code class="check-id">([^<]+)</code>', fail_group)
    assert checks == ["sspr.gates", "sspr.scope", "sspr.methods", "sspr.notify_admins"]


def test_finding_anchors_are_unique(page: ParsedPage) -> None:
    anchors = [a["id"] for a in page.tags("article")]
    assert anchors == [f"finding-{n}" for n in range(1, len(anchors) + 1)]


# ---- hostile strings ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def hostile_html() -> str:
    return render(hostile_report())


def test_script_tags_from_data_are_text(hostile_html: str) -> None:
    page = parse_html(hostile_html)
    assert not page.tags("script") and not page.tags("img")
    assert "<script" not in hostile_html.lower()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in hostile_html
    assert SCRIPT_TAG in page.text
    assert '<img src=x onerror="alert(1)">' in page.text


def test_quotes_cannot_break_out_of_markup(hostile_html: str) -> None:
    page = parse_html(hostile_html)
    assert ATTRIBUTE_BREAKOUT not in hostile_html
    assert "&#34; onmouseover=&#34;alert(1)" in hostile_html
    assert ATTRIBUTE_BREAKOUT in page.text
    handlers = [name for _, attrs in page.elements for name in attrs if name.startswith("on")]
    assert handlers == []


def test_only_web_and_mail_links_are_links(hostile_html: str) -> None:
    page = parse_html(hostile_html)
    hrefs = page.attribute_values("href")
    assert hrefs, "the expected helpdesk URL should still be a link"
    assert not [h for h in hrefs if "javascript" in h.lower()]
    assert all(re.match(r"^(#[a-z0-9_-]+|https?://|mailto:)", href) for href in hrefs)
    assert JAVASCRIPT_URL in page.text


def test_bidi_overrides_are_shown_not_obeyed(hostile_html: str) -> None:
    assert RIGHT_TO_LEFT_OVERRIDE not in hostile_html
    assert "invoice[U+202E]fdp.exe" in parse_html(hostile_html).text


def test_long_values_are_kept_whole_and_escaped(hostile_html: str) -> None:
    assert "A" * 4_990 + "&lt;b&gt;tail&lt;/b&gt;" in hostile_html
    assert LONG_STRING in parse_html(hostile_html).text


# ---- value helpers --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "kind"),
    [(None, "none"), (True, "on"), (False, "off"), ("", "empty_text"), ("all", "text"), (3, "text"),
     ([], "empty"), ({}, "empty"), (["a", "b"], "chips"), ([{"a": 1}], "list"), ({"a": 1}, "map"),
     ("https://example.org/x", "link"), (JAVASCRIPT_URL, "text")],
)
def test_view_value_kinds(value: object, kind: str) -> None:
    assert view_value(value).kind == kind


def test_view_value_stops_at_a_depth() -> None:
    nested: object = "leaf"
    for _ in range(20):
        nested = [nested]
    depth = 0
    view = view_value(nested)
    while view.items:
        view, depth = view.items[0], depth + 1
    assert depth == 8 and view.kind == "text"


@pytest.mark.parametrize(
    "url", ["https://help.contoso.example/sspr?x=1#y", "http://intranet/help", "mailto:help@contoso.example"]
)
def test_safe_href_accepts_web_and_mail(url: str) -> None:
    assert safe_href(url) == url


@pytest.mark.parametrize(
    "url",
    [JAVASCRIPT_URL, "JaVaScRiPt:alert(1)", " https://x.example", "data:text/html,<b>", "vbscript:x",
     "https://x.example/\u202e", 'https://x.example/"onmouseover=alert(1)', "mailto:", "//x.example",
     "help@contoso.example", None, 42],
)
def test_safe_href_refuses_everything_else(url: object) -> None:
    assert safe_href(url) is None


def test_reveal_hidden_shows_controls_and_keeps_newlines() -> None:
    assert reveal_hidden("a\u202eb\u200bc\x07d\ne\tf") == "a[U+202E]b[U+200B]c[U+0007]d\ne\tf"


def test_warnings_and_trend_panels_show_and_escape() -> None:
    from auditor.checks.base import Severity, Status
    from auditor.diff import attach_trend
    from auditor.render.html import HtmlRenderer
    from tests.helpers.report_factory import build_report, finding

    old = build_report([finding("sspr.gates", Status.passed, Severity.high, target="tenant", actual=2),
                        finding("sspr.scope", Status.failed, Severity.high, target="tenant", actual="selected")])
    new = build_report([finding("sspr.gates", Status.failed, Severity.high, target="tenant", actual=1),
                        finding("sspr.scope", Status.passed, Severity.high, target="tenant", actual="all")],
                       warnings=["waiver for <script>x</script> matches no finding"])
    html = HtmlRenderer().render(attach_trend(new, old, "old <b>run</b>.json")).decode()
    assert 'id="warnings"' in html and "&lt;script&gt;x&lt;/script&gt;" in html
    assert 'id="trend"' in html and "old &lt;b&gt;run&lt;/b&gt;.json" in html
    trend_part = html[html.index('id="trend"'):html.index('id="sources"')]
    assert "New failures (1)" in trend_part and "Fixed (1)" in trend_part
    assert "pass → fail" in trend_part and "fail → pass" in trend_part
    assert "<script>" not in html


@pytest.mark.parametrize(("fail_on", "said"), [("high", "--fail-on high."), ("low", "--fail-on low (the default).")])
def test_the_banner_names_the_fail_on_the_run_used(fail_on: str, said: str) -> None:
    """A gate set to high must not read as if low was used (a new user's run, stop 39)."""
    text = parse_html(render(build_report(fail_on=fail_on))).text
    assert f"Drift found A fail at or above {said} exit code 1" in text
    assert "(default low)" not in text
