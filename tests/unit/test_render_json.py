"""The JSON report and the renderer registry: data that round-trips and follows its schema."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from auditor.checks.base import Status
from auditor.render import RENDERERS, Renderer, get_renderer, register, report_json_schema, write_reports
from auditor.render.json_report import JsonRenderer
from auditor.report import AuditReport
from tests.helpers.report_factory import build_report, finding, hostile_report, realistic_report

FINDING_KEYS = {"check", "status", "severity", "target", "expected", "actual", "evidence", "policy_location"}


def render(report: AuditReport) -> bytes:
    return JsonRenderer().render(report)


@pytest.fixture(scope="module")
def data() -> dict[str, Any]:
    return json.loads(render(realistic_report()))


# ---- the JSON report ------------------------------------------------------------------------


def test_registered_as_json() -> None:
    renderer = get_renderer("json")
    assert isinstance(renderer, JsonRenderer)
    assert (renderer.extension, renderer.media_type) == ("json", "application/json")


def test_top_level_holds_metadata_summary_and_findings(data: dict[str, Any]) -> None:
    assert list(data)[:2] == ["format", "format_version"]
    assert data["format"] == "sspr-auditor-report"
    assert data["origin"] == "lab:demo"
    assert data["summary"]["by_status"] == {"pass": 3, "fail": 4, "unknown": 1, "not_applicable": 2,
                                            "waived": 1}
    assert data["summary"]["exit_code"] == 1


def test_each_finding_carries_its_proof(data: dict[str, Any]) -> None:
    for item in data["findings"]:
        assert set(item) >= FINDING_KEYS
    gates = next(item for item in data["findings"] if item["check"] == "sspr.gates")
    assert (gates["status"], gates["severity"], gates["expected"], gates["actual"]) == ("fail", "high", 2, 1)
    assert gates["evidence"] == [{"source": "portal:GET /PasswordResetPolicies",
                                  "field": "numberOfAuthenticationMethodsRequired", "value": 1}]
    assert gates["policy_location"] == {"file": "policies/baseline.yaml", "line": 7, "column": 3,
                                        "key": "sspr.methods_required", "defaulted": False}


def test_waivers_keep_their_expiry(data: dict[str, Any]) -> None:
    waivers = {item["check"]: item["waiver"] for item in data["findings"] if item["waiver"]}
    assert waivers["sspr.notify_admins"]["expired"] is True
    assert waivers["writeback.unlock"] == {"reason": "Unlock waits for the change advisory board",
                                           "owner": "iam-team", "ticket": "CHG-1042",
                                           "expires": "2099-06-30", "expired": False}


def test_round_trips_to_the_same_report() -> None:
    for report in (realistic_report(), hostile_report()):
        assert AuditReport.model_validate_json(render(report)) == report


def test_output_is_indented_utf8_and_ends_with_a_newline() -> None:
    output = render(hostile_report())
    assert output.endswith(b"}\n")
    assert b'\n  "summary": {' in output
    assert "\u202e".encode() in output


def test_output_is_byte_stable_whatever_the_insertion_order() -> None:
    forwards = finding("sspr.scope", Status.failed, expected={"scope": "all", "group": None},
                       fix={"powershell": "Set-X", "portal": "Portal > X"})
    backwards = finding("sspr.scope", Status.failed, expected={"group": None, "scope": "all"},
                        fix={"portal": "Portal > X", "powershell": "Set-X"})
    first, second = render(build_report([forwards])), render(build_report([backwards]))
    assert first == second == render(build_report([forwards]))
    item = json.loads(first)["findings"][0]
    assert list(item["expected"]) == ["group", "scope"]
    assert list(item["fix"]) == ["portal", "powershell"]


def test_summary_counts_follow_status_and_severity_order() -> None:
    report = realistic_report()
    shuffled = report.summary.model_copy(update={
        "by_status": dict(reversed(report.summary.by_status.items())),
        "failed_by_severity": dict(sorted(report.summary.failed_by_severity.items())),
    })
    summary = json.loads(render(report.model_copy(update={"summary": shuffled})))["summary"]
    assert list(summary["by_status"]) == [s.value for s in Status]
    assert list(summary["failed_by_severity"]) == ["critical", "high", "medium", "low", "info"]


# ---- the schema -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft202012Validator:
    schema = report_json_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())


def test_schema_is_draft_2020_12_and_serialisable() -> None:
    schema = report_json_schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert {"summary", "findings"} <= set(schema["required"])
    json.dumps(schema)


def test_reports_validate_against_the_schema(validator: jsonschema.Draft202012Validator) -> None:
    for report in (realistic_report(), hostile_report(), build_report([])):
        validator.validate(json.loads(render(report)))


@pytest.mark.parametrize(
    ("path", "bad_value"),
    [(("findings", 0, "status"), "maybe"), (("summary", "exit_code"), "one"), (("findings", 0, "check"), None),
     (("format",), "some-other-report")],
)
def test_schema_rejects_malformed_reports(
    validator: jsonschema.Draft202012Validator, data: dict[str, Any], path: tuple[Any, ...], bad_value: Any
) -> None:
    broken = json.loads(json.dumps(data))
    parent = broken
    for step in path[:-1]:
        parent = parent[step]
    parent[path[-1]] = bad_value
    assert not validator.is_valid(broken)


@pytest.mark.parametrize("key", sorted(FINDING_KEYS))
def test_schema_requires_every_finding_field(
    validator: jsonschema.Draft202012Validator, data: dict[str, Any], key: str
) -> None:
    broken = json.loads(json.dumps(data))
    del broken["findings"][0][key]
    assert not validator.is_valid(broken)


# ---- the registry and writing reports --------------------------------------------------------


def test_registry_holds_the_built_in_formats() -> None:
    assert {"html", "json"} <= set(RENDERERS)
    for name, renderer in RENDERERS.items():
        assert renderer.name == name and renderer.extension and renderer.media_type


def test_unknown_format_names_the_known_ones() -> None:
    with pytest.raises(ValueError, match=r"unknown report format 'pdf'; known formats: .*html.*json"):
        get_renderer("pdf")


def test_a_name_can_be_registered_only_once() -> None:
    class Duplicate(Renderer):
        name = "json"
        extension = "dup.json"
        media_type = "application/json"

        def render(self, report: AuditReport) -> bytes:
            return b""

    with pytest.raises(ValueError, match="already registered"):
        register(Duplicate)
    assert isinstance(RENDERERS["json"], JsonRenderer)


def test_write_reports_writes_each_format_once(tmp_path: Path) -> None:
    report = realistic_report()
    out_dir = tmp_path / "reports" / "today"
    paths = write_reports(report, out_dir, ["json", "html", "json"], stem="audit")
    assert paths == [out_dir / "audit.json", out_dir / "audit.html"]
    assert paths[0].read_bytes() == render(report)
    assert paths[1].read_bytes() == get_renderer("html").render(report)
    assert sorted(p.name for p in out_dir.iterdir()) == ["audit.html", "audit.json"]


def test_write_reports_replaces_an_older_report(tmp_path: Path) -> None:
    (tmp_path / "sspr-audit.json").write_text("old")
    [path] = write_reports(realistic_report(), tmp_path, ["json"])
    assert json.loads(path.read_bytes())["format"] == "sspr-auditor-report"
    assert [p.name for p in tmp_path.iterdir()] == ["sspr-audit.json"]


def test_write_reports_writes_nothing_when_a_format_is_unknown(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown report format 'pdf'"):
        write_reports(realistic_report(), tmp_path / "out", ["json", "pdf"])
    assert not (tmp_path / "out").exists()


def test_importing_the_renderers_does_not_load_jinja2() -> None:
    code = "import sys, auditor.render; assert 'jinja2' not in sys.modules, 'jinja2 imported'"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).parents[2], timeout=60)
