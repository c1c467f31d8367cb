"""Reports say, per failing finding, whether the plan can fix it (HTML and JSON)."""

from __future__ import annotations

import json

from auditor.checks.base import Status
from auditor.render.html import HtmlRenderer
from auditor.render.json_report import JsonRenderer, report_json_schema
from tests.helpers.report_factory import build_report, finding


def report():  # type: ignore[no-untyped-def]
    return build_report([
        finding("sspr.gates", Status.failed, fixable=True),
        finding("ad.users.contact", Status.failed, target="CN=Ann", fixable=False),
        finding("admin_sspr", Status.passed),
    ])


def test_html_marks_fixable_and_manual_failures() -> None:
    html = HtmlRenderer().render(report()).decode()
    assert html.count("Fixable by the plan") == 1 and html.count("Manual step") == 1
    assert html.count("<dt>Remediation</dt>") == 2  # not on the passing finding


def test_json_carries_fixable_and_the_schema_requires_it() -> None:
    data = json.loads(JsonRenderer().render(report()))
    assert [f["fixable"] for f in data["findings"]] == [True, False, None]
    finding_schema = report_json_schema()["$defs"]["Finding"]
    assert "fixable" in finding_schema["required"]
