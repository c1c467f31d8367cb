"""JUnit XML, read back with junitparser (the parser CI test-report plugins are built on)."""

from __future__ import annotations

from pathlib import Path

import pytest
from junitparser import Error, Failure, JUnitXml, Skipped

from auditor.checks.base import Status
from auditor.render import get_renderer
from auditor.render.section_facts import report_sections
from tests.helpers.onprem_factory import HOSTILE_NAME, HOSTILE_OU
from tests.helpers.report_factory import (
    RIGHT_TO_LEFT_OVERRIDE,
    SCRIPT_TAG,
    build_report,
    finding,
    hostile_report,
    realistic_report,
)
from tests.helpers.section_report import line_of_key, sectioned_report
from tests.unit.cases_ad import BASELINE, SALES, STAFF


def parsed(report, tmp_path: Path) -> JUnitXml:  # type: ignore[no-untyped-def]
    path = tmp_path / "junit.xml"
    path.write_bytes(get_renderer("junit").render(report))
    return JUnitXml.fromfile(str(path))


def cases(xml: JUnitXml) -> dict[tuple[str, str], object]:
    return {(case.classname, case.name): case for suite in xml for case in suite}


def test_one_testcase_per_check_and_target(tmp_path: Path) -> None:
    report = realistic_report()
    found = cases(parsed(report, tmp_path))
    assert set(found) == {(f.check, f.target) for f in report.findings}


def test_counts_match_the_statuses(tmp_path: Path) -> None:
    report = realistic_report()
    xml = parsed(report, tmp_path)
    (suite,) = list(xml)
    by_status = report.summary.by_status
    assert suite.tests == len(report.findings)
    assert suite.failures == by_status["fail"]
    assert suite.errors == by_status["unknown"]
    assert suite.skipped == by_status["waived"] + by_status["not_applicable"]


def test_results_by_status(tmp_path: Path) -> None:
    found = cases(parsed(realistic_report(), tmp_path))
    (failure,) = found[("sspr.gates", "tenant")].result
    assert isinstance(failure, Failure) and failure.type == "high"
    assert "expected: 2" in failure.text and "actual: 1" in failure.text
    assert "policies/baseline.yaml:7" in failure.text
    (error,) = found[("admin_sspr", "tenant")].result
    assert isinstance(error, Error) and error.message.startswith("unknown:") and "403" in error.message
    (skipped,) = found[("writeback.unlock", "Entra Connect writeback")].result
    assert isinstance(skipped, Skipped)
    assert "Unlock waits for the change advisory board" in skipped.message and "iam-team" in skipped.message
    (not_applicable,) = found[("sspr.security_questions", "tenant")].result
    assert isinstance(not_applicable, Skipped) and not_applicable.message.startswith("not applicable")
    assert found[("writeback.enabled", "Entra Connect writeback")].result == []


def test_expired_waiver_fails_and_says_so(tmp_path: Path) -> None:
    (failure,) = cases(parsed(realistic_report(), tmp_path))[("sspr.notify_admins", "tenant")].result
    assert isinstance(failure, Failure)
    assert "waiver EXPIRED on 2024-12-31" in failure.text


def test_testcase_carries_the_policy_file_and_line(tmp_path: Path) -> None:
    case = cases(parsed(realistic_report(), tmp_path))[("sspr.gates", "tenant")]
    assert case._elem.get("file") == "policies/baseline.yaml"
    assert case._elem.get("line") == "7"


def test_warnings_are_skipped_cases_not_failures(tmp_path: Path) -> None:
    report = build_report([finding("sspr.gates", Status.passed)],
                          warnings=["waivers[0] for `sspr.gatez` matches nothing: no check has this id"])
    xml = parsed(report, tmp_path)
    (suite,) = list(xml)
    assert suite.failures == 0 and suite.errors == 0
    warning = cases(xml)[("sspr-audit.warnings", "warning 1")]
    (skipped,) = warning.result
    assert "sspr.gatez" in skipped.message
    assert any(p.name == "warning" and "sspr.gatez" in p.value for p in suite.properties())


@pytest.mark.parametrize("text", ["nul\x00byte", "bell\x07", "esc\x1b[31m"])
def test_characters_xml_cannot_carry_are_shown_not_written(tmp_path: Path, text: str) -> None:
    report = build_report([finding("sspr.helpdesk", Status.failed, target=text, actual=text, reason=text)])
    found = cases(parsed(report, tmp_path))
    ((_classname, name),) = found
    assert "[U+00" in name


def test_hostile_strings_parse_as_text(tmp_path: Path) -> None:
    xml = parsed(hostile_report(), tmp_path)
    assert any(name == SCRIPT_TAG for (_, name) in cases(xml))


def test_bidi_controls_from_the_tenant_are_shown_escaped(tmp_path: Path) -> None:
    text = "admin\u202egpj.exe\u2067"
    report = build_report([finding("sspr.helpdesk", Status.failed, target=text, actual=text, reason=text)])
    raw = get_renderer("junit").render(report).decode("utf-8")
    assert "\u202e" not in raw and "\u2067" not in raw and "admin[U+202E]gpj.exe[U+2067]" in raw


# ---- the sections the HTML page draws ------------------------------------------------------------


def test_each_section_is_a_passing_testcase_on_the_line_of_its_policy_key(tmp_path: Path) -> None:
    report = sectioned_report()
    xml = parsed(report, tmp_path)
    (suite,) = list(xml)
    found = cases(xml)
    coverage = found[("sspr-audit.sections", "Coverage: who can actually reset")]
    onprem = found[("sspr-audit.sections", "On-premises Active Directory")]
    assert coverage.result == [] and onprem.result == []  # a section is not a verdict: the checks fail
    assert (coverage._elem.get("file"), coverage._elem.get("line")) == (str(BASELINE), str(line_of_key("coverage")))
    assert onprem._elem.get("line") == str(line_of_key("directory"))
    assert suite.tests == len(report.findings) + 2
    assert suite.failures == report.summary.by_status["fail"] and suite.errors == report.summary.by_status["unknown"]
    out = onprem.system_out
    assert "Writeback rights per target OU" in out and f"  {SALES}: in-scope users: 2;" in out
    assert "Write pwdLastSet: Missing (no ACE grants it)" in out
    assert "  2025-01-02: resets 2, failed 1, unlocks 1" in coverage.system_out


def test_every_fact_is_a_suite_property(tmp_path: Path) -> None:
    report = sectioned_report()
    (suite,) = list(parsed(report, tmp_path))
    properties = {p.name: p.value for p in suite.properties()}
    for section in report_sections(report):
        for name, value in section.facts:
            assert properties[f"{section.key}.{name}"] == value
    assert properties["coverage.secure_score.score"] == "1 of 1 (100.0%)"
    assert properties["coverage.activity.blocked_users"] == "0"
    assert properties[f"on_premises.rights.{STAFF}"].startswith("in-scope users: 7; Reset Password: Present")
    assert properties["on_premises.users.ad.users.contact"].endswith("users: 2 users (1 waived); who: cara.zeller, "
                                                                     "hana.park")
    assert "precedence 10, wins for 2 in-scope users" in properties["on_premises.password_age.fgpp PSO-Sales"]
    assert properties["on_premises.sign_in_gpos.SSPR sign-in screen"].startswith(
        "GUID: {F99FD350-CB8B-54E4-A5CE-4AF8C2B2227E}; AllowPasswordReset: 1 (shows the link)")


def test_no_section_testcase_without_the_section(tmp_path: Path) -> None:
    assert not [key for key in cases(parsed(realistic_report(), tmp_path)) if key[0] == "sspr-audit.sections"]


def test_hostile_directory_names_in_a_section_parse_as_text(tmp_path: Path) -> None:
    report = sectioned_report(HOSTILE_OU, user_name=HOSTILE_NAME, pso_name="nul\x00" + SCRIPT_TAG, gpo_name=SCRIPT_TAG)
    raw = get_renderer("junit").render(report).decode("utf-8")
    assert RIGHT_TO_LEFT_OVERRIDE not in raw and "\x00" not in raw
    (suite,) = list(parsed(report, tmp_path))
    properties = {p.name: p.value for p in suite.properties()}
    assert f"on_premises.rights.{HOSTILE_OU}" in properties
    assert any(name.startswith("on_premises.password_age.fgpp nul[U+0000]<script>") for name in properties)
