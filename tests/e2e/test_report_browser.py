"""The HTML report as a browser shows it: opened offline from a file in headless Chromium."""

from __future__ import annotations

import struct
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from auditor.render import write_reports
from auditor.report import AuditReport
from tests.helpers.report_factory import (
    ATTRIBUTE_BREAKOUT,
    LONG_STRING,
    SCRIPT_TAG,
    ParsedPage,
    hostile_report,
    parse_html,
    realistic_report,
)

pytestmark = pytest.mark.browser

# The `headless` fixture (tests/e2e/conftest.py): runs Chromium with these arguments and a timeout.
Headless = Callable[..., subprocess.CompletedProcess[str]]

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
WINDOW = (1280, 2000)


def write_html(report: AuditReport, out_dir: Path) -> Path:
    [path] = write_reports(report, out_dir / "reports", ["html"])
    return path


def rendered_dom(headless: Headless, page: Path) -> ParsedPage:
    result = headless("--dump-dom", page.as_uri())
    assert "</html>" in result.stdout, result.stderr[-2000:]
    return parse_html(result.stdout)


def test_the_browser_shows_the_summary_first(headless: Headless, tmp_path: Path) -> None:
    dom = rendered_dom(headless, write_html(realistic_report(), tmp_path))
    text = dom.text
    assert "Self-service password reset audit" in text
    assert "Drift found" in text and "exit code 1" in text
    assert "4 Fail 1 Unknown 1 Waived 3 Pass 2 Not applicable" in text
    assert text.index("Summary") < text.index("sspr.gates") < text.index("Data sources")  # findings first
    assert "EXPIRED" in text


def test_hostile_strings_stay_text_in_the_browser(headless: Headless, tmp_path: Path) -> None:
    dom = rendered_dom(headless, write_html(hostile_report(), tmp_path))
    assert not dom.tags("script") and not dom.tags("img")
    assert not [name for _, attrs in dom.elements for name in attrs if name.startswith("on")]
    assert not [href for href in dom.attribute_values("href") if "javascript" in href.lower()]
    text = dom.text
    assert SCRIPT_TAG in text
    assert ATTRIBUTE_BREAKOUT in text
    assert "invoice[U+202E]fdp.exe" in text
    assert LONG_STRING in text


def test_screenshot_of_the_report(headless: Headless, tmp_path: Path) -> None:
    page = write_html(realistic_report(), tmp_path)
    screenshot = tmp_path / "report.png"
    headless(f"--screenshot={screenshot}", f"--window-size={WINDOW[0]},{WINDOW[1]}", page.as_uri())
    png = screenshot.read_bytes()
    assert png.startswith(PNG_SIGNATURE)
    width, height = struct.unpack(">II", png[16:24])
    assert (width, height) == WINDOW
    # A blank or unstyled page compresses to a few kilobytes; the styled report does not.
    assert len(png) > 50_000
