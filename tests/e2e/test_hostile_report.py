"""The `hostile` lab tenant (auditor/lab/scenarios/hostile.yaml) through the whole CLI and every report format.

Display names, the scope group's name, UPNs and the helpdesk link are XSS payloads (each writes `PWNED`
into the page title if it ever runs), `javascript:` URLs, quotes, template and spreadsheet formulas,
right-to-left overrides, zero-width and control characters, and a 5,000-character name. The HTML report
must show every one as text and run none: the file is checked as written, then opened in headless
Chromium (with its Content-Security-Policy, and again without it, so the escaping alone is proven).
"""

from __future__ import annotations

import csv
import io
import json
import re
import subprocess
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from auditor.lab.scenario import load_scenario
from tests.helpers.fault_matrix import assert_no_traceback, run_cli
from tests.helpers.hostile import CANARY, assert_inert_html, assert_nothing_ran, head_title, shown

ROOT = Path(__file__).resolve().parents[2]
BASELINE = ROOT / "policies" / "baseline.yaml"
HELPDESK = "https://help.contoso.example/sspr"
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
TERMINAL_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f\u202a-\u202e\u2066-\u2069]")

Headless = Callable[..., subprocess.CompletedProcess[str]]


def hostile_strings() -> dict[str, str]:
    """Every tenant string in the scenario that is an attack, by where it sits."""
    tenant = load_scenario("hostile")
    strings = {"group name": tenant.groups[0]["displayName"],
               "helpdesk link": tenant.password_reset_policies["customHelpdeskEmailOrUrl"]}
    for user in tenant.users[1:]:
        strings[f"display name {user['id'][:8]}"] = user["displayName"]
        strings[f"UPN {user['id'][:8]}"] = user["userPrincipalName"]
    return strings


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`check --lab hostile` in every format, with a policy that wants a custom helpdesk link (so the live,
    hostile link is compared and shown)."""
    folder = tmp_path_factory.mktemp("hostile")
    yaml = YAML(typ="rt")
    policy = yaml.load(BASELINE.read_text())
    policy["sspr"]["helpdesk"] = {"customize": True, "email_or_url": HELPDESK}
    policy_path = folder / "policy.yaml"
    with policy_path.open("w") as handle:
        yaml.dump(policy, handle)
    run = run_cli("check", str(policy_path), "--lab", "hostile", "--out", str(folder / "reports"),
                  "--format", "html,json,sarif,junit,markdown,csv")
    assert run.code == 1, run.stdout + run.stderr  # drift (the scope, the link, coverage), never a crash
    assert_no_traceback(run)
    assert not TERMINAL_CONTROL.search(run.stdout + run.stderr)  # no escape sequence reaches the terminal
    return folder / "reports"


def test_the_scenario_is_hostile_where_the_issue_says() -> None:
    strings = hostile_strings()
    values = list(strings.values())
    assert any("<script>" in v for v in values) and any(v.startswith("javascript:") for v in values)
    assert any("\u202e" in v for v in values) and any(len(v) > 5000 for v in values)
    assert any('"' in v and "'" in v for v in values) and any("\x00" in v for v in values)
    assert len(strings) >= 20


def test_the_html_report_is_inert_and_shows_every_string_as_text(reports: Path) -> None:
    html = (reports / "sspr-audit.html").read_text(encoding="utf-8")
    page = assert_inert_html(html)
    text = page.text
    for where, value in hostile_strings().items():
        assert shown(value)[:200] in text, (where, value[:80])
    assert "{{ 7*7 }}" in text and ">49<" not in html  # a template expression stays text
    assert "[U+202E]" in text and "\u202e" not in html  # the override is shown, never obeyed
    # the CSV downloads are data: links holding the (URL-encoded) names; no other link carries a payload
    links = [h for h in page.attribute_values("href") if not h.startswith("data:text/csv;")]
    assert not [h for h in links if "javascript" in h.lower() or CANARY in h], links


def test_no_script_runs_and_nothing_navigates_in_chromium(reports: Path, headless: Headless) -> None:
    page = reports / "sspr-audit.html"
    result = headless("--virtual-time-budget=5000", "--dump-dom", page.as_uri())
    assert_nothing_ran(result.stdout, page.read_text(encoding="utf-8"))


def test_escaping_alone_holds_without_the_csp(reports: Path, headless: Headless, tmp_path: Path) -> None:
    """Take the Content-Security-Policy away: the payloads are still text, so still nothing runs."""
    html = (reports / "sspr-audit.html").read_text(encoding="utf-8")
    start = html.index('<meta http-equiv="Content-Security-Policy"')
    bare = html[:start] + html[html.index(">", start) + 1:]
    assert "Content-Security-Policy" not in bare
    page = tmp_path / "no-csp.html"
    page.write_text(bare, encoding="utf-8")
    result = headless("--virtual-time-budget=5000", "--dump-dom", page.as_uri())
    assert head_title(result.stdout) == head_title(html)
    assert_nothing_ran(result.stdout, html)


def test_the_other_formats_carry_the_strings_as_data(reports: Path) -> None:
    report = json.loads((reports / "sspr-audit.json").read_text(encoding="utf-8"))
    dumped = json.dumps(report, ensure_ascii=False)
    for where, value in hostile_strings().items():
        if where.startswith("UPN") or where == "group name":
            assert json.dumps(value, ensure_ascii=False)[1:-1] in dumped, where  # exactly as the tenant said
    json.loads((reports / "sspr-audit.sarif").read_text(encoding="utf-8"))
    ET.parse(reports / "sspr-audit.junit.xml")  # well-formed: NUL and ESC never reach the XML
    markdown = (reports / "sspr-audit.md").read_text(encoding="utf-8")
    assert "<script" not in markdown.lower() and "<img" not in markdown.lower()
    for row in csv.reader(io.StringIO((reports / "sspr-audit.csv").read_text(encoding="utf-8-sig"))):
        assert not [cell for cell in row if cell.startswith(FORMULA_START)], row
