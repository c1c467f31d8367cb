"""The report's on-premises section in headless Chromium: laid out (the rights table, the folded user
groups, the password-age cards side by side) and drawn (the present and missing marks counted in the
screenshot's pixels), for the drifted directory of `tests.helpers.onprem_factory`.

The screenshot shows the section alone (the page's other panels hidden by one added style rule), so
its colours are the section's own.
"""

from __future__ import annotations

import shutil
import subprocess
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest

from auditor.render import write_reports
from tests.e2e.test_coverage_browser import read_png
from tests.helpers.onprem_factory import drifted_report
from tests.helpers.report_factory import parse_html

pytestmark = pytest.mark.browser

Headless = Callable[..., subprocess.CompletedProcess[str]]
ROOT = Path(__file__).resolve().parents[2]
WINDOW = (1280, 1800)
PASS, FAIL = (0x06, 0x76, 0x47), (0xB4, 0x23, 0x18)  # --pass and --fail: the marks, card tops and pills
ONLY_THE_SECTION = "main > *:not(#on-premises) { display: none !important; }"


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> Path:
    [path] = write_reports(drifted_report(), tmp_path_factory.mktemp("onprem"), ["html"])
    return path


def test_the_section_renders_with_its_parts(headless: Headless, page: Path) -> None:
    dom = parse_html(headless("--dump-dom", page.as_uri()).stdout)
    assert not dom.tags("script") and not dom.tags("img") and not dom.tags("link")
    ids = {attrs.get("id") for _, attrs in dom.elements}
    assert {"on-premises", "onprem-rights", "onprem-users", "onprem-age", "onprem-sign-in"} <= ids
    assert len([a for a in dom.tags("td") if "data-right" in a]) == 8  # 2 OUs × 4 rights
    assert [a["data-status"] for a in dom.tags("td") if a.get("data-right") == "Write pwdLastSet"] == ["pass", "fail"]
    folded = [a for a in dom.tags("details") if a.get("id", "").startswith("affected-")]
    assert len(folded) == 4 and not any("open" in a for a in folded)
    assert [a["data-kind"] for a in dom.tags("li") if "data-kind" in a] == ["gpo", "domain", "fgpp", "fgpp"]


def test_screenshot_draws_the_marks(headless: Headless, page: Path, tmp_path: Path) -> None:
    alone = tmp_path / "onprem.html"
    alone.write_text(page.read_text(encoding="utf-8").replace("</style>", ONLY_THE_SECTION + "</style>", 1),
                     encoding="utf-8")
    screenshot = tmp_path / "onprem.png"
    headless(f"--screenshot={screenshot}", f"--window-size={WINDOW[0]},{WINDOW[1]}", alone.as_uri())
    width, height, pixels = read_png(screenshot.read_bytes())
    assert (width, height) == WINDOW
    colours = Counter(pixels)
    # seven present marks, pass pills and the passing domain card are drawn in --pass; the missing mark,
    # four failing groups, two failing cards and their pills in --fail
    assert colours[PASS] > 1_500, colours.most_common(8)
    assert colours[FAIL] > 3_000, colours.most_common(8)
    keep = ROOT / "reports" / "onprem-screenshot.png"
    if keep.parent.is_dir():
        shutil.copyfile(screenshot, keep)  # for a human to look at; reports/ is not committed
