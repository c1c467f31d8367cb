"""Issue 17: `check --framework cis` prints the per-control status a security team pastes into its report; the
JSON, Markdown and HTML reports carry the same per-control verdicts, and SARIF rules carry them as tags."""

from __future__ import annotations

import json
import re
from pathlib import Path

from tests.helpers.fault_matrix import assert_no_traceback, run_cli
from tests.helpers.report_factory import parse_html

ROOT = Path(__file__).resolve().parents[2]


def test_check_framework_prints_the_controls_with_the_reports_verdicts(tmp_path: Path) -> None:
    policy = tmp_path / "policy.yaml"
    text = (ROOT / "policies" / "baseline.yaml").read_text()
    policy.write_text(text[: text.index("\ndirectory:")] + "\n" if "\ndirectory:" in text else text)
    run = run_cli("check", str(policy), "--lab", "demo", "--out", str(tmp_path / "r"), "--progress", "never",
                  "--format", "json,markdown,html,sarif", "--framework", "cis", "--framework", "eidsca")
    assert_no_traceback(run)
    assert run.code == 1
    report = json.loads((tmp_path / "r" / "sspr-audit.json").read_text())
    controls = {(c["framework"], c["id"]): c for c in report["controls"]}
    scope = [f for f in report["findings"] if f["check"] == "sspr.scope"]
    worst = max((f["status"] for f in scope), key=["not_applicable", "pass", "waived", "unknown", "fail"].index)
    assert controls[("cis-m365", "5.2.4.1")]["status"] == worst
    line = next(line for line in run.stdout.splitlines() if line.strip().startswith("5.2.4.1"))
    assert worst.upper() in line
    assert "EIDSCA (Entra ID Security Config Analyzer)" in run.stdout and re.search(r"^\s+AP01\s+", run.stdout, re.M)
    markdown = (tmp_path / "r" / "sspr-audit.md").read_text()
    assert "### Framework controls" in markdown and "5\\.2\\.4\\.1" in markdown
    dom = parse_html((tmp_path / "r" / "sspr-audit.html").read_text())
    rows = {(a["data-framework"], a["data-control"]): a["data-status"] for a in dom.tags("tr") if "data-control" in a}
    assert rows == {key: c["status"] for key, c in controls.items()}
    sarif = json.loads((tmp_path / "r" / "sspr-audit.sarif").read_text())
    tags = {rule["id"]: rule["properties"]["tags"] for rule in sarif["runs"][0]["tool"]["driver"]["rules"]}
    assert "CIS-M365-5.2.4.1" in tags["sspr.scope"]
