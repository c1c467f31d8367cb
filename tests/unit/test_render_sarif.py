"""SARIF 2.1.0: valid against the official OASIS schema, located on the policy line, stable fingerprints."""

from __future__ import annotations

import json
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from auditor.app.audit import ExitPolicy, audit
from auditor.checks.base import Severity, Status, WaiverNote
from auditor.checks.registry import all_checks
from auditor.policy.loader import load_policy
from auditor.policy.models import Location
from auditor.render import get_renderer
from auditor.render.sarif import FINGERPRINT_KEY, SECURITY_SEVERITY, fingerprint, sarif_log
from auditor.render.section_facts import report_sections
from tests.helpers.hostile import shown
from tests.helpers.onprem_factory import HOSTILE_NAME, HOSTILE_OU, drifted_report
from tests.helpers.report_factory import (
    RIGHT_TO_LEFT_OVERRIDE,
    build_report,
    finding,
    hostile_report,
    realistic_report,
)
from tests.helpers.section_report import line_of_key, sectioned_report
from tests.unit.cases_ad import BASELINE, SALES
from tests.unit.cases_coverage import coverage_snapshot

SCHEMA_FILE = Path(__file__).resolve().parents[1] / "fixtures" / "sarif" / "sarif-schema-2.1.0.json"


@cache
def sarif_validator() -> jsonschema.Draft4Validator:
    schema = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    jsonschema.Draft4Validator.check_schema(schema)
    return jsonschema.Draft4Validator(schema)


def assert_valid_sarif(log: dict[str, Any]) -> None:
    errors = sorted(sarif_validator().iter_errors(log), key=lambda e: list(e.absolute_path))
    assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors[:10])


def rendered(report: Any) -> dict[str, Any]:
    return json.loads(get_renderer("sarif").render(report))


def results_by(log: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(r["ruleId"], r["properties"]["target"]): r for r in log["runs"][0]["results"]}


def test_the_fixture_is_the_official_schema() -> None:
    schema = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    assert schema["id"].startswith("https://docs.oasis-open.org/sarif/sarif/v2.1.0/")
    assert schema["properties"]["version"]["enum"] == ["2.1.0"]


@pytest.mark.parametrize("report", [realistic_report(), hostile_report(), build_report([])],
                         ids=["realistic", "hostile", "empty"])
def test_output_validates_against_the_official_schema(report: Any) -> None:
    log = rendered(report)
    assert log["version"] == "2.1.0"
    assert_valid_sarif(log)


def test_one_rule_per_registered_check_with_security_severity_and_help() -> None:
    log = rendered(realistic_report())
    rules = {rule["id"]: rule for rule in log["runs"][0]["tool"]["driver"]["rules"]}
    for check in all_checks():
        rule = rules[check.spec.id]
        assert rule["properties"]["security-severity"] == SECURITY_SEVERITY[check.spec.severity]
        assert float(rule["properties"]["security-severity"]) == {
            "critical": 9.5, "high": 8.0, "medium": 5.5, "low": 3.0, "info": 0.0}[check.spec.severity.value]
        assert rule["shortDescription"]["text"] == check.spec.title
        assert check.spec.fix.portal in rule["help"]["text"]
        assert check.spec.policy_key in rule["help"]["markdown"]
    assert all(f.check in rules for f in realistic_report().findings)


def test_a_check_unknown_to_the_registry_still_gets_a_rule() -> None:
    report = build_report([finding("future.check", Status.failed, Severity.critical, title="Future check")])
    rules = {rule["id"]: rule for rule in rendered(report)["runs"][0]["tool"]["driver"]["rules"]}
    assert rules["future.check"]["properties"]["security-severity"] == "9.5"
    assert rules["future.check"]["shortDescription"]["text"] == "Future check"


def test_rule_index_points_at_the_rule() -> None:
    run = rendered(realistic_report())["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    assert run["results"]
    for result in run["results"]:
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]


def test_only_fail_unknown_and_waived_become_results() -> None:
    report = realistic_report()
    emitted = {(f.check, f.target) for f in report.findings
               if f.status in (Status.failed, Status.unknown, Status.waived)}
    assert set(results_by(rendered(report))) == emitted


def test_levels_and_kinds_by_status_and_severity() -> None:
    by_key = results_by(rendered(realistic_report()))
    gates = by_key[("sspr.gates", "tenant")]
    assert (gates["kind"], gates["level"]) == ("fail", "error")  # high
    methods = by_key[("sspr.methods", "tenant")]
    assert (methods["kind"], methods["level"]) == ("fail", "warning")  # medium
    unknown = by_key[("admin_sspr", "tenant")]
    assert (unknown["kind"], unknown["level"]) == ("open", "none")
    assert unknown["message"]["text"].startswith("Unknown:")
    assert "403 Forbidden" in unknown["message"]["text"]


def test_info_failure_is_a_note() -> None:
    report = build_report([finding("sspr.helpdesk", Status.failed, Severity.info,
                                   policy_location=Location(file="p.yaml", line=3, column=1, key="x"))])
    (result,) = rendered(report)["runs"][0]["results"]
    assert result["level"] == "note"


def test_result_is_located_at_the_policy_line() -> None:
    by_key = results_by(rendered(realistic_report()))
    physical = by_key[("sspr.gates", "tenant")]["locations"][0]["physicalLocation"]
    assert physical["artifactLocation"] == {"uri": "policies/baseline.yaml", "uriBaseId": "%SRCROOT%"}
    assert physical["region"] == {"startLine": 7, "startColumn": 3}


def test_absolute_policy_path_under_the_working_directory_becomes_relative(tmp_path: Path) -> None:
    policy = tmp_path / "policies" / "my policy.yaml"
    report = build_report([finding("sspr.gates", Status.failed, policy_location=Location(
        file=str(policy), line=12, column=3, key="sspr.methods_required"))])
    log = sarif_log(report, base_dir=tmp_path)
    location = log["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]
    assert location == {"uri": "policies/my%20policy.yaml", "uriBaseId": "%SRCROOT%"}
    outside = sarif_log(report, base_dir=tmp_path / "elsewhere")
    uri = outside["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
    assert uri.startswith("file:///") and uri.endswith("my%20policy.yaml")
    assert_valid_sarif(outside)


def test_a_finding_without_a_policy_location_still_has_a_location() -> None:
    report = build_report([finding("sspr.gates", Status.failed)])
    (result,) = rendered(report)["runs"][0]["results"]
    physical = result["locations"][0]["physicalLocation"]
    assert physical["artifactLocation"]["uri"] == "policies/baseline.yaml"
    assert physical["region"]["startLine"] == 1


def test_fingerprints_depend_on_check_and_target_only() -> None:
    first = results_by(rendered(realistic_report()))
    moved = build_report([f.model_copy(update={
        "policy_location": Location(file="other.yaml", line=99, column=9, key="k"), "actual": "changed"})
        for f in realistic_report().findings], generated_at=realistic_report().generated_at.replace(year=2030))
    second = results_by(rendered(moved))
    for key, result in first.items():
        assert result["partialFingerprints"] == second[key]["partialFingerprints"]
        assert result["partialFingerprints"][FINGERPRINT_KEY] == fingerprint(*key)
    assert len({r["partialFingerprints"][FINGERPRINT_KEY] for r in first.values()}) == len(first)


def test_waived_result_is_suppressed_with_the_justification() -> None:
    result = results_by(rendered(realistic_report()))[("writeback.unlock", "Entra Connect writeback")]
    (suppression,) = result["suppressions"]
    assert suppression["status"] == "accepted"
    assert "Unlock waits for the change advisory board" in suppression["justification"]
    assert "iam-team" in suppression["justification"] and "2099-06-30" in suppression["justification"]


def test_expired_waiver_is_a_plain_failure_that_says_it_expired() -> None:
    result = results_by(rendered(realistic_report()))[("sspr.notify_admins", "tenant")]
    assert result["kind"] == "fail" and "suppressions" not in result
    assert "EXPIRED on 2024-12-31" in result["message"]["text"]
    assert result["properties"]["waiver"]["expired"] is True


def test_warnings_and_unreadable_sections_are_notifications() -> None:
    report = build_report(warnings=["waivers[0] for `sspr.gatez` matches nothing: no check has this id"])
    (invocation,) = rendered(report)["runs"][0]["invocations"]
    texts = [n["message"]["text"] for n in invocation["toolExecutionNotifications"]]
    assert any("sspr.gatez" in text for text in texts)
    assert any("authorization_policy" in text and "403" in text for text in texts)
    assert invocation["executionSuccessful"] is True
    assert invocation["exitCode"] == report.summary.exit_code


def test_same_report_same_bytes() -> None:
    renderer = get_renderer("sarif")
    assert renderer.render(realistic_report()) == renderer.render(realistic_report())


def test_waiver_note_in_hostile_strings_stays_data() -> None:
    report = build_report([finding("writeback.unlock", Status.waived, target="x\u202ey", waiver=WaiverNote(
        reason='"}]}, {"injected": true', owner="o", ticket=None, expires=date(2099, 1, 1), expired=False))])
    log = rendered(report)
    assert_valid_sarif(log)
    assert log["runs"][0]["results"][0]["suppressions"][0]["justification"].count("injected") == 1


def test_bidi_controls_from_the_tenant_are_shown_escaped() -> None:
    text = "OU=\u202eselaS\u2069"
    report = build_report([finding("sspr.helpdesk", Status.failed, target=text, actual=text, reason=text)])
    raw = get_renderer("sarif").render(report).decode("utf-8")
    assert "\u202e" not in raw and "\\u202e" not in raw.lower() and "OU=[U+202E]selaS[U+2069]" in raw
    assert_valid_sarif(rendered(report))


# ---- the report's sections, on the policy lines of their keys ----------------------------------------


def section_results(log: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {r["ruleId"]: r for r in log["runs"][0]["results"] if r["ruleId"].startswith("section.")}


@cache
def sectioned_log() -> dict[str, Any]:
    return sarif_log(sectioned_report(), base_dir=BASELINE.parents[1])


def test_each_section_is_a_result_on_the_line_of_its_policy_key() -> None:
    log = sectioned_log()
    assert_valid_sarif(log)
    results = section_results(log)
    assert set(results) == {"section.coverage", "section.on_premises"}
    for rule_id, key in (("section.coverage", "coverage"), ("section.on_premises", "directory")):
        physical = results[rule_id]["locations"][0]["physicalLocation"]
        assert physical["artifactLocation"] == {"uri": "policies/baseline.yaml", "uriBaseId": "%SRCROOT%"}
        assert physical["region"] == {"startLine": line_of_key(key), "startColumn": 1}, rule_id
        assert results[rule_id]["locations"][0]["logicalLocations"][0]["name"] == key
        assert (results[rule_id]["kind"], results[rule_id]["level"]) == ("informational", "none")


def test_each_section_has_its_rule_and_the_result_points_at_it() -> None:
    run = sectioned_log()["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    for result in section_results(sectioned_log()).values():
        rule = rules[result["ruleIndex"]]
        assert rule["id"] == result["ruleId"]
        assert rule["defaultConfiguration"]["level"] == "none"
        assert "security-severity" not in rule["properties"]  # informational: no security alert severity
    by_id = {rule["id"]: rule for rule in rules}
    assert by_id["section.coverage"]["shortDescription"]["text"] == "Coverage: who can actually reset"
    assert by_id["section.on_premises"]["shortDescription"]["text"] == "On-premises Active Directory"


def test_the_message_summarises_and_the_properties_hold_every_fact() -> None:
    report = sectioned_report()
    results = section_results(sectioned_log())
    coverage = results["section.coverage"]
    assert coverage["message"]["text"].startswith("Coverage: 10 user(s) in scope")
    assert "Secure Score" in coverage["message"]["text"]
    assert coverage["properties"]["facts"] == dict(report_sections(report)[0].facts)
    assert coverage["properties"]["facts"]["licence_seats"] == "10 used of 25"
    onprem = results["section.on_premises"]["properties"]["facts"]
    assert onprem == dict(report_sections(report)[1].facts)
    assert "Write pwdLastSet: Missing" in onprem[f"rights.{SALES}"]
    assert onprem["users.ad.users.contact"].startswith("issue: Missing or malformed phone numbers; status: Fail; "
                                                       "users: 2 users (1 waived)")
    assert "precedence 10, wins for 2 in-scope users" in onprem["password_age.fgpp PSO-Sales"]


def test_the_sections_are_said_once_on_their_lines_not_in_the_run_properties() -> None:
    assert set(sectioned_log()["runs"][0]["properties"]) == {"origin", "policyFile", "summary"}


def test_no_section_result_when_the_report_has_no_section() -> None:
    log = rendered(realistic_report())
    assert section_results(log) == {}
    assert {"section.coverage", "section.on_premises"} <= {r["id"] for r in log["runs"][0]["tool"]["driver"]["rules"]}


def test_a_key_the_policy_file_does_not_declare_puts_the_result_on_the_file(tmp_path: Path) -> None:
    lines = BASELINE.read_text(encoding="utf-8").splitlines(keepends=True)
    start = lines.index("coverage:\n")
    end = next(i for i in range(start + 1, len(lines)) if lines[i][:1].isalpha())
    policy_file = tmp_path / "no-coverage.yaml"
    policy_file.write_text("".join(lines[:start] + lines[end:]), encoding="utf-8")
    policy = load_policy(policy_file)
    assert policy.coverage is None
    report = audit(policy, coverage_snapshot(), ExitPolicy()).report
    assert report.coverage is not None and report.coverage.policy_location is None
    log = sarif_log(report, base_dir=tmp_path)
    assert_valid_sarif(log)
    physical = section_results(log)["section.coverage"]["locations"][0]["physicalLocation"]
    assert physical == {"artifactLocation": {"uri": "no-coverage.yaml", "uriBaseId": "%SRCROOT%"}}


def test_section_fingerprints_name_the_section_never_a_figure() -> None:
    first = section_results(sectioned_log())
    other = section_results(rendered(drifted_report()))  # other figures, another target OU set
    for rule_id, result in first.items():
        assert result["partialFingerprints"] == other[rule_id]["partialFingerprints"]
    assert len({r["partialFingerprints"][FINGERPRINT_KEY] for r in first.values()}) == 2


def test_hostile_directory_names_in_a_section_stay_data() -> None:
    report = sectioned_report(HOSTILE_OU, user_name=HOSTILE_NAME, pso_name=HOSTILE_NAME, gpo_name=HOSTILE_NAME)
    raw = get_renderer("sarif").render(report).decode("utf-8")
    assert RIGHT_TO_LEFT_OVERRIDE not in raw and "\\u202e" not in raw.lower()
    log = json.loads(raw)
    assert_valid_sarif(log)
    facts = section_results(log)["section.on_premises"]["properties"]["facts"]
    assert f"rights.{HOSTILE_OU}" in facts  # the DN, a property name, is kept whole and inert
    assert any(shown(HOSTILE_NAME) in value for value in facts.values())
