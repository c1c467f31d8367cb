"""How to fix, in the HTML report: one collapsed block per rule naming the objects it affects, labelled with the
console that makes the change, its commands filled with the values the report knows and never an invented one."""

from __future__ import annotations

import re

import pytest

from auditor.checks.base import Severity, Status
from auditor.checks.registry import all_checks, check_by_id
from auditor.onprem_view import OnPremisesReport
from auditor.render.fix_blocks import FILL_SOURCES, fill
from auditor.render.html import HtmlRenderer
from auditor.render.plain import fix_lines
from tests.helpers.report_factory import build_report, finding, parse_html

STAFF = "OU=Staff,DC=corp,DC=example,DC=test"
CARA, HANA = f"CN=Cara Zeller,{STAFF}", f"CN=Hana Park,{STAFF}"
ON_PREMISES = OnPremisesReport(domain="corp.example.test", service_account="MSOL_0a1b2c3d4e5f",
                               minimum_age_limit=0)


def spec_fix(check: str) -> dict[str, str]:
    return check_by_id(check).spec.fix.steps()


def contact(target: str, mobile: str | None, reason: str) -> object:
    return finding("ad.users.contact", Status.failed, target=target, expected={"mobile": "+CC NUMBER"},
                   actual={"mobile": mobile}, reason=reason, fix=spec_fix("ad.users.contact"))


def blocks(html: str) -> dict[str, str]:
    return {m.group(1): m.group(0) for m in re.finditer(r'<details class="fix" id="fix-([^"]+)">.*?</details>', html,
                                                          re.DOTALL)}


@pytest.fixture(scope="module")
def html() -> str:
    findings = [
        contact(CARA, "(425) 555-0102", "mobile: no leading + and country code"),
        contact(HANA, "+14255550107", "mobile: no space between the country code and the number"),
        finding("ad.gpo.min_password_age", Status.failed, Severity.high, target="DC=corp,DC=example,DC=test",
                expected="≤ 0 day(s)", actual=1, fix=spec_fix("ad.gpo.min_password_age")),
        finding("sspr.gates", Status.failed, Severity.high, expected=2, actual=1, fix=spec_fix("sspr.gates")),
    ]
    return HtmlRenderer().render(build_report(findings, on_premises=ON_PREMISES)).decode()


def test_one_collapsed_block_per_rule_naming_every_object(html: str) -> None:
    found = blocks(html)
    assert sorted(found) == ["ad.gpo.min_password_age", "ad.users.contact", "sspr.gates"]
    assert not [b for b in found.values() if re.match(r"<details[^>]*\bopen\b", b)]
    text = parse_html(found["ad.users.contact"]).text
    assert "· 2 objects ·" in text
    assert CARA in text and HANA in text
    assert html.count("How to fix:") == 3


def test_each_block_is_labelled_with_the_console_that_makes_the_change(html: str) -> None:
    found = {check: parse_html(block).text for check, block in blocks(html).items()}
    assert "Active Directory Users and Computers" in found["ad.users.contact"]
    assert "PowerShell (ActiveDirectory module)" in found["ad.users.contact"]
    assert "Group Policy Management Console" in found["ad.gpo.min_password_age"]
    assert "Entra admin center" not in found["ad.users.contact"] + found["ad.gpo.min_password_age"]
    assert "Entra admin center" in found["sspr.gates"]


def test_commands_carry_the_values_the_report_knows(html: str) -> None:
    codes = [parse_html(c).text for c in re.findall(r"<pre><code>(.*?)</code></pre>", html, re.DOTALL)]
    assert f"Set-ADUser -Identity '{CARA}' -MobilePhone '<+CC NUMBER>'" in codes
    assert f"Set-ADUser -Identity '{HANA}' -MobilePhone '<+CC NUMBER>'" in codes
    assert "Set-ADDefaultDomainPasswordPolicy -Identity 'corp.example.test' -MinPasswordAge 0.00:00:00" in codes
    assert not [c for c in codes if "<user DN>" in c or "<domain>" in c]


def test_the_phone_fix_shows_the_users_own_number_and_invents_none(html: str) -> None:
    text = parse_html(blocks(html)["ad.users.contact"]).text
    assert "now mobile +14255550107" in text and "now mobile (425) 555-0102" in text
    assert "4255550100" not in html


def test_no_check_fix_carries_an_example_phone_number() -> None:
    for check in all_checks():
        for _, text in fix_lines(check.spec.fix.steps(), check.spec.id):
            assert not re.search(r"\+\d[\d ]{6,}", text), (check.spec.id, text)


def test_no_on_premises_fix_is_labelled_with_the_entra_admin_center() -> None:
    for check in all_checks():
        if check.spec.id.startswith("ad."):
            assert next(label for label, _ in fix_lines(check.spec.fix.steps(), check.spec.id)) != "Entra admin center"


def test_every_fill_names_a_known_source_and_a_placeholder_its_commands_hold() -> None:
    for check in all_checks():
        fix = check.spec.fix
        for placeholder, source in fix.fills:
            assert source in FILL_SOURCES, (check.spec.id, source)
            assert placeholder in (fix.graph or "") + (fix.powershell or ""), (check.spec.id, placeholder)


@pytest.mark.parametrize(("target", "filled"), [
    ("CN=Dan O'Brien,OU=Staff,DC=corp", "Set-ADUser -Identity 'CN=Dan O''Brien,OU=Staff,DC=corp' -X"),
    ("CN=Eve\u2019; Remove-ADUser x,OU=Staff", "Set-ADUser -Identity '<user DN>' -X"),
    ("CN=Mal\u202e,OU=Staff", "Set-ADUser -Identity '<user DN>' -X"),
    ("tenant", "Set-ADUser -Identity '<user DN>' -X"),
])
def test_a_value_goes_into_a_command_only_quoted_safely(target: str, filled: str) -> None:
    item = finding("ad.users.contact", Status.failed, target=target)
    assert fill("Set-ADUser -Identity '<user DN>' -X", (("<user DN>", "target"),), item, None) == filled


@pytest.mark.parametrize(("target", "filled"), [
    ("CN=Ann,OU=Staff,DC=corp", 'dsacls "CN=Ann,OU=Staff,DC=corp" /P:N'),
    ("CN=%PATH%,OU=Staff", 'dsacls "<user DN>" /P:N'),
    ('CN=a" & calc & ",OU=Staff', 'dsacls "<user DN>" /P:N'),
])
def test_cmd_double_quotes_take_no_quote_or_variable(target: str, filled: str) -> None:
    item = finding("ad.acl.coverage", Status.failed, target=target)
    assert fill('dsacls "<user DN>" /P:N', (("<user DN>", "target"),), item, None) == filled


def test_a_bare_placeholder_takes_only_a_plain_word() -> None:
    fills = (("<state>", "expected"),)
    plain = finding("methods_policy.migration", Status.failed, expected="migrationComplete")
    odd = finding("methods_policy.migration", Status.failed, expected="x; Remove-Item")
    assert fill("Update -State <state>", fills, plain, None) == "Update -State migrationComplete"
    assert fill("Update -State <state>", fills, odd, None) == "Update -State <state>"
    assert fill("-Allowed:$<true|false>", (("<true|false>", "expected"),),
                finding("admin_sspr", Status.failed, expected=False), None) == "-Allowed:$false"
