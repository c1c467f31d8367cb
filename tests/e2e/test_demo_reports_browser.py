"""Issue 32: the reports of the lab's demo (`check policies/baseline.yaml --lab demo`, cloud and lab domain) lead
with what to fix. In headless Chromium the first failing finding is drawn above coverage, on-premises, frameworks
and the data sources; the HTML invents no phone number; the Markdown summary holds no raw JSON; on an 80-column
terminal every failing reason is printed whole.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from auditor.lab_domain import samba
from tests.helpers.page_layout import measure

pytestmark = [pytest.mark.browser, pytest.mark.samba]

Headless = Callable[..., subprocess.CompletedProcess[str]]
ROOT = Path(__file__).resolve().parents[2]
BASELINE = ROOT / "policies" / "baseline.yaml"
COLUMNS = 80
AFTER_THE_FINDINGS = ("#coverage", "#on-premises", "#frameworks", "#sources")


@dataclass(frozen=True)
class DemoRun:
    stdout: str
    html: Path
    markdown: str
    report: dict[str, Any]


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> DemoRun:
    reason = samba.unavailable_reason()
    if reason is not None:
        pytest.skip(reason)
    out = tmp_path_factory.mktemp("demo-reports")
    environment = {**os.environ, "COLUMNS": str(COLUMNS)}
    result = subprocess.run([sys.executable, "-m", "auditor.cli", "check", str(BASELINE), "--lab", "demo",
                             "--out", str(out), "--format", "html,json,markdown", "--progress", "never"],
                            cwd=ROOT, capture_output=True, text=True, timeout=600, env=environment)
    assert result.returncode == 1, result.stdout + result.stderr
    return DemoRun(result.stdout, out / "sspr-audit.html", (out / "sspr-audit.md").read_text(),
                   json.loads((out / "sspr-audit.json").read_text()))


def test_the_failing_findings_are_drawn_before_coverage_and_the_rest(headless: Headless, demo: DemoRun) -> None:
    layout = measure(headless, demo.html, ["#summary", "#status-fail .finding", *AFTER_THE_FINDINGS])
    tops: dict[str, int] = layout["tops"]  # type: ignore[assignment]
    assert all(tops[part] is not None for part in tops), tops
    assert tops["#summary"] < tops["#status-fail .finding"] < min(tops[part] for part in AFTER_THE_FINDINGS), tops
    assert tops["#status-fail .finding"] < 1000, tops  # on the first screen, under the summary


def test_every_fix_is_collapsed_and_once_per_failing_rule(demo: DemoRun) -> None:
    html = demo.html.read_text()
    blocks = re.findall(r'<details class="fix"( open)? id="fix-([^"]+)"', html)
    failing = {f["check"] for f in demo.report["findings"] if f["status"] == "fail"}
    assert sorted(check for _, check in blocks) == sorted(failing)
    assert not [check for opened, check in blocks if opened]


def test_no_invented_phone_number_in_the_demo_html(demo: DemoRun) -> None:
    html = demo.html.read_text()
    assert "4255550100" not in html
    commands = " ".join(re.findall(r"<pre><code>(.*?)</code></pre>", html, re.DOTALL))
    assert "-MobilePhone &#39;&lt;+CC NUMBER&gt;&#39;" in commands
    assert not re.search(r"\+\d[\d ]{6,}", commands)  # a command carries no number: a marked placeholder


def test_the_markdown_summary_holds_no_raw_json(demo: DemoRun) -> None:
    assert '{"' not in demo.markdown and '["' not in demo.markdown
    assert "| severity | check | target | reason |" in demo.markdown


def test_every_failing_reason_is_whole_at_80_columns(demo: DemoRun) -> None:
    lines = demo.stdout.splitlines()
    findings = [line for line in lines if line.startswith("  ")]  # not the paths and the command to copy
    assert max(len(line) for line in findings) <= COLUMNS, [line for line in findings if len(line) > COLUMNS]
    # a word longer than the width (an ACE string) is broken across lines, never cut: compare without whitespace
    printed = "".join("".join(line.split()) for line in lines)
    failing = [f for f in demo.report["findings"] if f["status"] == "fail" and f["reason"]]
    assert len(failing) == demo.report["summary"]["by_status"]["fail"]
    cut = [f["reason"] for f in failing if "".join(f["reason"].split()) not in printed]
    assert not cut, cut
    assert "…" not in demo.stdout
