"""Issue 16: the fleet report in headless Chromium: the grid's cells as laid out in the DOM equal the fleet
JSON (tenant × check, status by status), every link reaches an anchor of the tenant's own page, and the
screenshot's pixels show as many failing and passing cells as the JSON counts.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.e2e.test_coverage_browser import read_png
from tests.helpers.fault_matrix import run_cli
from tests.helpers.fleet_lab import make_fleet
from tests.helpers.report_factory import parse_html

pytestmark = pytest.mark.browser

Headless = Callable[..., subprocess.CompletedProcess[str]]
ROOT = Path(__file__).resolve().parents[2]
FAIL, PASS = (0xB4, 0x23, 0x18), (0x06, 0x76, 0x47)
CELL_PIXELS = 26 * 22
WINDOW = (1400, 1400)


@pytest.fixture(scope="module")
def fleet_out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("fleet-browser")
    fleet, _ = make_fleet(folder)
    out = folder / "out"
    run = run_cli("fleet", "check", str(fleet), "--out", str(out), "--progress", "never")
    assert run.code == 1, run.stdout + run.stderr
    return out


def test_the_grid_in_the_dom_is_the_fleet_json(headless: Headless, fleet_out: Path) -> None:
    report = json.loads((fleet_out / "sspr-fleet.json").read_text())
    dom = parse_html(headless("--dump-dom", (fleet_out / "sspr-fleet.html").as_uri()).stdout)
    assert not dom.tags("script") and not dom.tags("img")
    rows = [a["data-tenant"] for a in dom.tags("tr") if "data-tenant" in a]
    assert rows == [row["name"] for row in report["tenants"]]
    cells = [a for a in dom.tags("td") if "data-check" in a]
    assert len(cells) == len(rows) * len(report["checks"])
    shown = Counter(a["data-status"] for a in cells)
    expected = Counter(cell["status"] for row in report["tenants"] for cell in row["cells"].values())
    assert shown == expected
    links = [a["href"] for a in dom.tags("a") if "#finding-" in a.get("href", "")]
    assert len(links) == sum(1 for row in report["tenants"] for cell in row["cells"].values() if cell["href"])
    for href in links:
        page, anchor = href.split("#")
        assert f'id="{anchor}"' in (fleet_out / page).read_text(), href


def test_the_screenshot_shows_the_failing_and_passing_cells(headless: Headless, fleet_out: Path,
                                                            tmp_path: Path) -> None:
    report = json.loads((fleet_out / "sspr-fleet.json").read_text())
    screenshot = tmp_path / "fleet.png"
    headless(f"--screenshot={screenshot}", f"--window-size={WINDOW[0]},{WINDOW[1]}",
             (fleet_out / "sspr-fleet.html").as_uri())
    width, height, pixels = read_png(screenshot.read_bytes())
    assert (width, height) == WINDOW
    colours = Counter(pixels)
    counts = report["summary"]["cells_by_status"]
    # each cell is a 26 × 22 block of its colour, less the digits written on it
    assert colours[FAIL] >= counts["fail"] * CELL_PIXELS * 0.6, (counts, colours.most_common(6))
    assert colours[PASS] >= counts["pass"] * CELL_PIXELS * 0.6, (counts, colours.most_common(6))
    keep = ROOT / "reports" / "fleet-screenshot.png"
    if keep.parent.is_dir():
        shutil.copyfile(screenshot, keep)  # for a human to look at; reports/ is not committed


def test_the_page_explains_its_colours_names_its_checks_and_says_why_each_unknown(headless: Headless,
                                                                                    fleet_out: Path) -> None:
    """Issue 32: a legend, each check's title beside its id, and the reason of every unknown cell on the page."""
    report = json.loads((fleet_out / "sspr-fleet.json").read_text())
    dom = parse_html(headless("--dump-dom", (fleet_out / "sspr-fleet.html").as_uri()).stdout)
    text = dom.text
    assert "Fail the tenant's live value differs from the policy" in text
    assert "Unknown an input the check needs could not be read" in text
    assert "blank the check did not run for that tenant" in text
    for check in report["checks"]:
        assert f"{check['id']} {check['title']} {check['severity']}" in text, check["id"]
    unknown = [(row["name"], check, cell["detail"]) for row in report["tenants"] if row["error"] is None
               for check, cell in row["cells"].items() if cell["status"] == "unknown"]
    assert unknown, "the lab fleet has an audited tenant with an unknown check"
    listed = [(a["data-unknown-tenant"], a["data-unknown-check"]) for a in dom.tags("tr")
              if "data-unknown-tenant" in a]
    assert sorted(listed) == sorted((tenant, check) for tenant, check, _ in unknown)
    for _, _, detail in unknown:
        assert " ".join(detail.split()) in text
