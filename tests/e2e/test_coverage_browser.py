"""The report's coverage section in headless Chromium: the inline-SVG charts are drawn (counted in
the screenshot's pixels, not only present in the markup), and the CSV downloads are intact links.

The lab's demo tenant is audited with the cloud part of the baseline policy (no domain controller),
the HTML report written, opened from a file, dumped and photographed.
"""

from __future__ import annotations

import shutil
import struct
import subprocess
import zlib
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from urllib.parse import unquote

import pytest

from auditor.app.audit import CoverageOptions, ExitPolicy, audit, collect_lab
from auditor.endpoints import LabSelection
from auditor.policy.loader import load_policy
from auditor.policy.models import Policy
from auditor.render import write_reports
from auditor.report import AuditReport
from tests.helpers.page_layout import with_findings_hidden
from tests.helpers.report_factory import parse_html

pytestmark = pytest.mark.browser

Headless = Callable[..., subprocess.CompletedProcess[str]]
ROOT = Path(__file__).resolve().parents[2]
WINDOW = (1280, 2600)
# fills of the chart marks (report.html.j2): registered/licensed, not registered, the Secure Score line
GREEN, RED, ACCENT = (0x32, 0xA4, 0x67), (0xD9, 0x53, 0x4F), (0x1D, 0x3B, 0x6B)


@pytest.fixture(scope="module")
def demo_report() -> AuditReport:
    data = load_policy(ROOT / "policies" / "baseline.yaml").model_dump()
    data["directory"] = None
    snapshot = collect_lab(LabSelection(scenario="demo"), CoverageOptions(activity_days=30))
    return audit(Policy.model_validate(data), snapshot, ExitPolicy()).report


@pytest.fixture
def page(demo_report: AuditReport, tmp_path: Path) -> Path:
    [path] = write_reports(demo_report, tmp_path / "reports", ["html"])
    return path


def test_the_charts_are_inline_svg_in_the_rendered_page(headless: Headless, page: Path,
                                                        demo_report: AuditReport) -> None:
    result = headless("--dump-dom", page.as_uri())
    dom = parse_html(result.stdout)
    assert not dom.tags("script") and not dom.tags("img") and not dom.tags("link")
    figures = {attrs.get("id") for attrs in dom.tags("figure")}
    assert {"chart-registration", "chart-score", "chart-activity"} <= figures
    assert len(dom.tags("svg")) == 3
    assert len(dom.tags("circle")) == len(demo_report.coverage.secure_score.history)
    assert len(dom.tags("rect")) > 30  # stacked bars of 31 days of activity, and the coverage bars
    text = dom.text
    assert "Coverage: who can actually reset" in text
    assert "an estimate" in text and "password writeback disabled" in text


def test_the_csv_downloads_hold_every_listed_user(headless: Headless, page: Path, demo_report: AuditReport) -> None:
    dom = parse_html(headless("--dump-dom", page.as_uri()).stdout)
    links = {attrs["download"]: attrs["href"] for attrs in dom.tags("a") if "download" in attrs}
    assert set(links) == {"unregistered-users.csv", "unlicensed-users.csv"}
    for name, users in (("unregistered-users.csv", demo_report.coverage.unregistered_users),
                        ("unlicensed-users.csv", demo_report.coverage.unlicensed_users)):
        href = links[name]
        assert href.startswith("data:text/csv;charset=utf-8,")
        rows = unquote(href.split(",", 1)[1]).lstrip("\ufeff").splitlines()
        assert rows[0] == "user_principal_name,display_name,object_id,why"
        assert sorted(row.split(",")[0] for row in rows[1:]) == sorted(u.upn for u in users)


def test_screenshot_shows_the_charts(headless: Headless, page: Path, tmp_path: Path) -> None:
    shown = with_findings_hidden(page, tmp_path)  # the findings lead the page: coverage onto the first screen
    screenshot = tmp_path / "coverage.png"
    headless(f"--screenshot={screenshot}", f"--window-size={WINDOW[0]},{WINDOW[1]}", shown.as_uri())
    width, height, pixels = read_png(screenshot.read_bytes())
    assert (width, height) == WINDOW
    colours = Counter(pixels)
    # drawn, not merely present: the bars and the line cover real area of the picture
    assert colours[GREEN] > 5_000, colours.most_common(8)
    assert colours[RED] > 1_000
    assert colours[ACCENT] > 500
    keep = ROOT / "reports" / "coverage-screenshot.png"
    if keep.parent.is_dir():
        shutil.copyfile(screenshot, keep)  # for a human to look at; reports/ is not committed


# --- a small PNG reader (8-bit RGB or RGBA, non-interlaced: what Chromium writes) --------------


def read_png(data: bytes) -> tuple[int, int, list[tuple[int, int, int]]]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    offset, idat, header = 8, b"", None
    while offset < len(data):
        (length,) = struct.unpack(">I", data[offset:offset + 4])
        kind, body = data[offset + 4:offset + 8], data[offset + 8:offset + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        offset += 12 + length
    assert header is not None
    width, height, depth, colour, _, _, interlace = header
    assert depth == 8 and colour in (2, 6) and interlace == 0, header
    channels = 3 if colour == 2 else 4
    raw = zlib.decompress(idat)
    stride = width * channels
    previous = bytearray(stride)
    pixels: list[tuple[int, int, int]] = []
    for row in range(height):
        start = row * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1:start + 1 + stride])
        for i in range(stride):
            left = line[i - channels] if i >= channels else 0
            up = previous[i]
            corner = previous[i - channels] if i >= channels else 0
            if kind == 1:
                line[i] = (line[i] + left) & 0xFF
            elif kind == 2:
                line[i] = (line[i] + up) & 0xFF
            elif kind == 3:
                line[i] = (line[i] + (left + up) // 2) & 0xFF
            elif kind == 4:
                estimate = left + up - corner
                a, b, c = abs(estimate - left), abs(estimate - up), abs(estimate - corner)
                line[i] = (line[i] + (left if a <= b and a <= c else up if b <= c else corner)) & 0xFF
        pixels.extend(tuple(line[i:i + 3]) for i in range(0, stride, channels))  # type: ignore[misc]
        previous = line
    return width, height, pixels
