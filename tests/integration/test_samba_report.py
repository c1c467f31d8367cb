"""The HTML report's on-premises section for the lab's demo domain, as `sspr-audit check --lab demo`
writes it: OU=Sales shows Write pwdLastSet missing, the password-age sources stand side by side (the
Default Domain Policy's 1 day and the domain's 1 day against the policy's 0), and the GPO that sets
the sign-in screen's reset link is shown linked where no computer is."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from samba_fixtures import require_samba, state_dir

from auditor.app.audit import (
    ExitPolicy,
    OnPremisesRequest,
    audit,
    collect_lab,
    collect_on_premises,
    coverage_options,
)
from auditor.endpoints import LabSelection
from auditor.lab_domain.domain_seed import SIGN_IN_GPO
from auditor.policy.loader import load_policy
from auditor.render import write_reports
from tests.helpers.report_factory import ParsedPage, parse_html

pytestmark = pytest.mark.samba

ROOT = Path(__file__).resolve().parents[2]
BASE = "DC=corp,DC=example,DC=test"
SALES, STAFF = f"OU=Sales,{BASE}", f"OU=Staff,{BASE}"


@pytest.fixture(scope="module")
def demo_reports(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo audit through the same path as the CLI: lab tenant and lab domain, then the reports."""
    require_samba()
    policy = load_policy(ROOT / "policies" / "baseline.yaml")
    assert policy.directory is not None
    on_premises = collect_on_premises(OnPremisesRequest(directory=policy.directory, lab_scenario="demo",
                                                        lab_state_dir=state_dir()))
    assert all(section.readable for section in on_premises if section is not None), on_premises
    snapshot = collect_lab(LabSelection(scenario="demo"), coverage_options(policy))
    snapshot = snapshot.model_copy(update=on_premises._asdict())
    out = tmp_path_factory.mktemp("demo-reports")
    write_reports(audit(policy, snapshot, ExitPolicy()).report, out, ["html", "json"])
    return out


@pytest.fixture(scope="module")
def section(demo_reports: Path) -> tuple[str, ParsedPage]:
    html = (demo_reports / "sspr-audit.html").read_text(encoding="utf-8")
    part = html[html.index('<section class="panel onprem" id="on-premises"'):html.index('id="sources"')]
    return part, parse_html(part)


def test_sales_shows_write_pwd_last_set_missing(section: tuple[str, ParsedPage]) -> None:
    _, page = section
    cells: dict[tuple[str, str], str] = {}
    ou = None
    for tag, attrs in page.elements:
        if tag == "tr":
            ou = attrs.get("data-ou")
        elif tag == "td" and ou and "data-right" in attrs:
            cells[(ou, attrs["data-right"])] = attrs["data-status"]
    assert cells[(SALES, "Write pwdLastSet")] == "fail"
    assert {status for (where, right), status in cells.items()
            if where == SALES and right != "Write pwdLastSet"} == {"pass"}
    assert {status for (where, _), status in cells.items() if where == STAFF} == {"pass"}
    assert "granted to group GG-Writeback-Delegation" in page.text  # Sales: through the nested groups
    assert "no ACE grants it" in page.text


def test_gpo_value_and_domain_value_stand_beside_the_policy(section: tuple[str, ParsedPage]) -> None:
    _, page = section
    cards = [attrs for tag, attrs in page.elements if tag == "li" and "data-kind" in attrs]
    by_kind = [(c["data-kind"], c["data-days"], c["class"]) for c in cards]
    assert by_kind[0][:2] == ("gpo", "1") and "st-fail" in by_kind[0][2]
    assert by_kind[1][:2] == ("domain", "1") and "st-fail" in by_kind[1][2]
    assert ("fgpp", "1") in [(kind, days) for kind, days, _ in by_kind[2:]]
    text = page.text
    assert "Highest allowed ≤ 0 days" in text
    assert text.index("≤ 0 days") < text.index("Default Domain Policy") < text.index("Domain password policy")
    assert "PSO-Sales" in text and "precedence 10 wins for 14 in-scope users" in text
    assert "PSO-Service-Accounts" in text and "wins for 0 in-scope users" in text


def test_affected_users_and_the_sign_in_gpo(section: tuple[str, ParsedPage], demo_reports: Path) -> None:
    html, page = section
    counts = {}
    for tag, attrs in page.elements:
        if tag == "span" and "data-count" in attrs:
            counts[attrs["data-count"]] = None
    assert {"ad.acl.coverage", "ad.users.temporary_password", "ad.users.privileged", "ad.users.contact"} <= set(counts)
    coverage = html[html.index('id="affected-ad.acl.coverage"'):]
    coverage = coverage[:coverage.index("</details>")]
    assert "2 users" in coverage and "nora.quinn" in coverage and "adam.admin" in coverage
    assert f"{SIGN_IN_GPO} sets AllowPasswordReset = 1 but is not linked" in page.text
    assert "no member computer below" in page.text
    report = json.loads((demo_reports / "sspr-audit.json").read_text(encoding="utf-8"))
    gpos = {g["name"]: g for g in report["on_premises"]["sign_in_gpos"]}
    assert (gpos[SIGN_IN_GPO]["value"], gpos[SIGN_IN_GPO]["counts"]) == (1, False)
    assert report["on_premises"]["sign_in_status"] == "fail"
