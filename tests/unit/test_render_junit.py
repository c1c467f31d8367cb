"""JUnit XML, read back with junitparser (the parser CI test-report plugins are built on)."""

from __future__ import annotations

from pathlib import Path

import pytest
from junitparser import Error, Failure, JUnitXml, Skipped

from auditor.checks.base import Status
from auditor.render import get_renderer
from tests.helpers.report_factory import SCRIPT_TAG, build_report, finding, hostile_report, realistic_report


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
