"""The CI pipeline through the CLI against the lab: every format, SARIF on the YAML line, waivers, trend, schema."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from junitparser import Failure, JUnitXml, Skipped

from auditor.render import report_json_schema

ROOT = Path(__file__).resolve().parents[2]
BASELINE = ROOT / "policies" / "baseline.yaml"
REPORT_SCHEMA = ROOT / "report-schema.json"
SARIF_SCHEMA = ROOT / "tests" / "fixtures" / "sarif" / "sarif-schema-2.1.0.json"
ALL_FORMATS = "html,json,sarif,junit,markdown,csv"


def cli(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "auditor.cli", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=300, check=False)


def line_of(path: Path, section: str, key: str) -> int:
    """1-based line of the first line starting with `key` inside the top-level `section:` of the file."""
    lines = path.read_text(encoding="utf-8").splitlines()
    start = lines.index(f"{section}:")
    return next(number for number, line in enumerate(lines, start=1)
                if number > start and line.strip().startswith(key))


@pytest.fixture(scope="module")
def demo_reports(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("demo")
    result = cli("check", "policies/baseline.yaml", "--lab", "demo", "--out", str(out), "--format", ALL_FORMATS)
    assert result.returncode == 1, result.stdout + result.stderr
    return out


def sarif_results(path: Path) -> dict[tuple[str, str], dict[str, Any]]:
    log = json.loads(path.read_text(encoding="utf-8"))
    return {(r["ruleId"], r["properties"]["target"]): r for r in log["runs"][0]["results"]}


# ---- the demo scenario, every format -------------------------------------------------------------


def test_every_format_is_written(demo_reports: Path) -> None:
    names = {p.name for p in demo_reports.iterdir()}
    assert {"sspr-audit.html", "sspr-audit.json", "sspr-audit.sarif", "sspr-audit.junit.xml", "sspr-audit.md",
            "sspr-audit.csv"} <= names


def test_demo_sarif_points_at_the_lines_of_the_baseline(demo_reports: Path) -> None:
    log = json.loads((demo_reports / "sspr-audit.sarif").read_text(encoding="utf-8"))
    validator = jsonschema.Draft4Validator(json.loads(SARIF_SCHEMA.read_text(encoding="utf-8")))
    assert not list(validator.iter_errors(log))
    results = sarif_results(demo_reports / "sspr-audit.sarif")
    expected_keys = {
        ("sspr.gates", "tenant"): ("sspr", "methods_required:"),
        ("sspr.scope", "tenant"): ("sspr", "scope:"),
        ("admin_sspr", "administrators"): ("admin_sspr", "allowed:"),
        ("methods_policy.migration", "tenant"): ("methods_policy", "migration_state:"),
        ("sspr.methods", "security_questions"): ("sspr", "security_questions: false"),
        ("sspr.notify_admins", "tenant"): ("sspr", "notify_admins:"),
        ("writeback.unlock", "tenant"): ("writeback", "unlock:"),
    }
    for key, (section, yaml_key) in expected_keys.items():
        physical = results[key]["locations"][0]["physicalLocation"]
        assert physical["artifactLocation"]["uri"] == "policies/baseline.yaml", key
        assert physical["region"]["startLine"] == line_of(BASELINE, section, yaml_key), key
    gates = results[("sspr.gates", "tenant")]["locations"][0]["physicalLocation"]["region"]
    assert gates["startColumn"] == 3
    assert results[("sspr.gates", "tenant")]["level"] == "error"


def test_demo_junit_parses_with_a_failure_per_failing_finding(demo_reports: Path) -> None:
    report = json.loads((demo_reports / "sspr-audit.json").read_text(encoding="utf-8"))
    xml = JUnitXml.fromfile(str(demo_reports / "sspr-audit.junit.xml"))
    (suite,) = list(xml)
    sections = [key for key in ("coverage", "on_premises") if report[key] is not None]
    assert suite.tests == len(report["findings"]) + len(sections)  # one passing test case per report section
    assert suite.failures == report["summary"]["by_status"]["fail"]


def test_demo_json_follows_the_published_schema_and_the_schema_is_current(demo_reports: Path) -> None:
    published = json.loads(REPORT_SCHEMA.read_text(encoding="utf-8"))
    assert published == report_json_schema(), (
        "report-schema.json is stale; regenerate it with: .venv/bin/python -c \"import json; "
        "from auditor.render import report_json_schema as s; "
        "open('report-schema.json', 'w').write(json.dumps(s(), indent=2, ensure_ascii=False) + '\\n')\"")
    jsonschema.Draft202012Validator.check_schema(published)
    report = json.loads((demo_reports / "sspr-audit.json").read_text(encoding="utf-8"))
    errors = list(jsonschema.Draft202012Validator(published).iter_errors(report))
    assert not errors, [e.message for e in errors[:5]]


def test_demo_markdown_and_csv(demo_reports: Path) -> None:
    text = (demo_reports / "sspr-audit.md").read_text(encoding="utf-8")
    assert "drift found" in text and r"sspr\.gates" in text
    rows = list(csv.DictReader(io.StringIO((demo_reports / "sspr-audit.csv").read_text(encoding="utf-8-sig"))))
    assert any(r["finding"] == "sspr.gates" and r["status"] == "fail" for r in rows)


# ---- waivers: expired, active, matching nothing ---------------------------------------------------


@pytest.fixture(scope="module")
def waived_reports(tmp_path_factory: pytest.TempPathFactory) -> Path:
    workdir = tmp_path_factory.mktemp("waivers")
    yesterday = date.today() - timedelta(days=1)
    waivers = f"""waivers:
  - check: sspr.gates
    reason: Pilot runs with one gate until the app rollout
    owner: ann@example.test
    ticket: SEC-1
    expires: {yesterday.isoformat()}
  - check: writeback.unlock
    reason: Unlock waits for the change advisory board
    owner: iam-team
    expires: 2099-12-31
  - check: sspr.gatez
    reason: a typo in the check id
    owner: bob
    expires: 2099-12-31
"""
    text = BASELINE.read_text(encoding="utf-8")
    assert text.rstrip().endswith("waivers: []")
    (workdir / "policy.yaml").write_text(text.rstrip()[: -len("waivers: []")] + waivers, encoding="utf-8")
    result = cli("check", "policy.yaml", "--lab", "demo", "--out", "out", "--format", ALL_FORMATS, cwd=workdir)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "WARNING" in result.stdout and "sspr.gatez" in result.stdout
    return workdir / "out"


def test_expired_waiver_fails_again_and_every_output_says_so(waived_reports: Path) -> None:
    report = json.loads((waived_reports / "sspr-audit.json").read_text(encoding="utf-8"))
    gates = next(f for f in report["findings"] if f["check"] == "sspr.gates")
    assert gates["status"] == "fail" and gates["waiver"]["expired"] is True
    sarif = sarif_results(waived_reports / "sspr-audit.sarif")[("sspr.gates", "tenant")]
    assert "suppressions" not in sarif and "EXPIRED" in sarif["message"]["text"]
    junit = JUnitXml.fromfile(str(waived_reports / "sspr-audit.junit.xml"))
    case = next(c for suite in junit for c in suite if c.classname == "sspr.gates")
    (failure,) = case.result
    assert isinstance(failure, Failure) and "waiver EXPIRED" in failure.text
    assert "**expired**" in (waived_reports / "sspr-audit.md").read_text(encoding="utf-8")
    rows = list(csv.DictReader(io.StringIO((waived_reports / "sspr-audit.csv").read_text(encoding="utf-8-sig"))))
    assert next(r for r in rows if r["finding"] == "sspr.gates")["status"] == "fail (waiver expired)"
    assert "EXPIRED" in (waived_reports / "sspr-audit.html").read_text(encoding="utf-8")


def test_active_waiver_is_waived_everywhere(waived_reports: Path) -> None:
    report = json.loads((waived_reports / "sspr-audit.json").read_text(encoding="utf-8"))
    unlock = next(f for f in report["findings"] if f["check"] == "writeback.unlock")
    assert unlock["status"] == "waived"
    sarif = sarif_results(waived_reports / "sspr-audit.sarif")[("writeback.unlock", "tenant")]
    assert sarif["suppressions"][0]["justification"].endswith("Unlock waits for the change advisory board")
    junit = JUnitXml.fromfile(str(waived_reports / "sspr-audit.junit.xml"))
    case = next(c for suite in junit for c in suite if c.classname == "writeback.unlock")
    (skipped,) = case.result
    assert isinstance(skipped, Skipped) and "iam-team" in skipped.message


def test_waiver_matching_nothing_is_a_warning_in_every_output(waived_reports: Path) -> None:
    report = json.loads((waived_reports / "sspr-audit.json").read_text(encoding="utf-8"))
    (warning,) = report["warnings"]
    assert warning.startswith("waivers[2] for `sspr.gatez`") and "no check has this id" in warning
    assert report["summary"]["by_status"]["fail"] >= 1  # warnings never add failures
    sarif = json.loads((waived_reports / "sspr-audit.sarif").read_text(encoding="utf-8"))
    notes = sarif["runs"][0]["invocations"][0]["toolExecutionNotifications"]
    assert any("sspr.gatez" in n["message"]["text"] for n in notes)
    assert "sspr.gatez" in (waived_reports / "sspr-audit.junit.xml").read_text(encoding="utf-8")
    assert r"sspr\.gatez" in (waived_reports / "sspr-audit.md").read_text(encoding="utf-8")
    assert "sspr.gatez" in (waived_reports / "sspr-audit.csv").read_text(encoding="utf-8-sig")


# ---- trend: check --previous and diff ---------------------------------------------------------------


def test_check_previous_adds_since_last_run(demo_reports: Path, tmp_path: Path) -> None:
    previous = demo_reports / "sspr-audit.json"
    result = cli("check", "policies/baseline.yaml", "--lab", "baseline", "--previous", str(previous),
                 "--out", str(tmp_path), "--format", "json,markdown")
    assert result.returncode in (0, 3), result.stdout + result.stderr
    assert "since sspr-audit.json:" in result.stdout
    report = json.loads((tmp_path / "sspr-audit.json").read_text(encoding="utf-8"))
    fixed = {(e["check"], e["target"]) for e in report["trend"]["fixed"]}
    assert {("sspr.gates", "tenant"), ("sspr.scope", "tenant"), ("admin_sspr", "administrators")} <= fixed
    assert report["trend"]["new_failures"] == []
    assert "### Since last run" in (tmp_path / "sspr-audit.md").read_text(encoding="utf-8")


def test_check_previous_rejects_a_missing_file_before_reading_the_tenant(tmp_path: Path) -> None:
    result = cli("check", "policies/baseline.yaml", "--lab", "demo", "--previous", str(tmp_path / "none.json"),
                 "--out", str(tmp_path / "out"))
    assert result.returncode == 2 and "cannot read" in result.stderr
    assert not (tmp_path / "out").exists()


def test_diff_of_two_runs(demo_reports: Path, tmp_path: Path) -> None:
    baseline = cli("check", "policies/baseline.yaml", "--lab", "baseline", "--out", str(tmp_path), "--format", "json")
    assert baseline.returncode in (0, 3), baseline.stderr
    result = cli("diff", str(tmp_path / "sspr-audit.json"), str(demo_reports / "sspr-audit.json"))
    assert result.returncode == 0, result.stderr
    assert "sspr.gates [tenant] pass -> fail" in result.stdout
    assert "fixed: 0" in result.stdout and "still failing: 0" in result.stdout
    assert "sspr.gates [tenant]: 2 -> 1" in result.stdout


def test_markdown_junit_and_sarif_carry_the_coverage_and_on_premises_sections(demo_reports: Path) -> None:
    """Issue 17: the sections the HTML page draws reach the other formats, with the same figures."""
    import xml.etree.ElementTree as ET

    report = json.loads((demo_reports / "sspr-audit.json").read_text(encoding="utf-8"))
    coverage, onprem = report["coverage"], report["on_premises"]
    markdown = (demo_reports / "sspr-audit.md").read_text(encoding="utf-8")
    assert "### Coverage: who can actually reset" in markdown and "### On-premises Active Directory" in markdown
    assert f"| in scope | {coverage['in_scope']} |" in markdown
    assert f"| registered | {coverage['registered']} = " in markdown
    for ou in onprem["ous"]:
        assert ou["dn"] in markdown.replace("\\", "")
    suite = ET.parse(demo_reports / "sspr-audit.junit.xml").getroot().find("testsuite")
    assert suite is not None
    properties = {p.get("name"): p.get("value") for p in suite.iter("property")}
    assert properties["coverage.in_scope"] == f"{coverage['in_scope']:,}"
    assert properties["on_premises.service_account"].startswith(onprem["service_account"])
    assert any(name.startswith("on_premises.password_age.") for name in properties)
    results = sarif_results(demo_reports / "sspr-audit.sarif")
    for (rule, target), section, key in ((("section.coverage", "coverage"), "coverage", "coverage"),
                                         (("section.on_premises", "directory"), "on_premises", "directory")):
        result = results[(rule, target)]
        assert (result["kind"], result["level"]) == ("informational", "none")
        physical = result["locations"][0]["physicalLocation"]
        assert physical["artifactLocation"]["uri"] == "policies/baseline.yaml"
        assert physical["region"]["startLine"] == BASELINE.read_text(encoding="utf-8").splitlines().index(
            f"{key}:") + 1, section
        assert physical["region"]["startLine"] == report[section]["policy_location"]["line"]
    assert results[("section.coverage", "coverage")]["properties"]["facts"]["in_scope"] == f"{coverage['in_scope']:,}"
    onprem_facts = results[("section.on_premises", "directory")]["properties"]["facts"]
    assert onprem_facts["service_account"].startswith(onprem["service_account"])
    assert {f"rights.{ou['dn']}" for ou in onprem["ous"]} <= set(onprem_facts)
    run = json.loads((demo_reports / "sspr-audit.sarif").read_text(encoding="utf-8"))["runs"][0]
    assert "coverage" not in run["properties"] and "onPremises" not in run["properties"]  # said once, on the line
