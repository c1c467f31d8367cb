"""The report of a 1,000-user tenant in headless Chromium: it opens, draws its charts, says the counts the
generator's ground truth says, and the first rows of the long lists are in the page with every user in
its CSV download. (The 100,000-user report is measured by benchmarks/run.py: its size, and its lists
beside it as CSV files once too long for a link, tests/unit/test_render_scale.py.)
"""

from __future__ import annotations

import shutil
import subprocess
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from urllib.parse import unquote

import pytest

from auditor.app.audit import CoverageOptions, ExitPolicy, audit, collect_lab
from auditor.endpoints import LabSelection
from auditor.lab.tenant_generator import TenantMix, generate_tenant
from auditor.policy.loader import load_policy
from auditor.policy.models import Policy
from auditor.render import write_reports
from tests.e2e.test_coverage_browser import GREEN, RED, read_png
from tests.helpers.page_layout import with_findings_hidden
from tests.helpers.report_factory import parse_html

pytestmark = pytest.mark.browser

Headless = Callable[..., subprocess.CompletedProcess[str]]
ROOT = Path(__file__).resolve().parents[2]
USERS = 1000
WINDOW = (1280, 2400)


@pytest.fixture(scope="module")
def tenant_report(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, object]]:
    folder = tmp_path_factory.mktemp("scale")
    tenant = generate_tenant(TenantMix(users=USERS, scope="all", unregistered=0.2), folder / "tenant")
    data = load_policy(ROOT / "policies" / "baseline.yaml").model_dump()
    data["directory"] = None
    snapshot = collect_lab(LabSelection(scenario=str(tenant.scenario_path)), CoverageOptions(activity_days=30))
    report = audit(Policy.model_validate(data), snapshot, ExitPolicy()).report
    paths = write_reports(report, folder / "reports", ["html"])
    return paths[0], tenant.truth


def test_the_page_opens_and_draws_the_counts_of_a_1000_user_tenant(headless: Headless, tmp_path: Path,
                                                                    tenant_report: tuple[Path, dict]) -> None:
    page, truth = tenant_report
    screenshot = tmp_path / "scale.png"  # the coverage charts, the findings that lead the page hidden
    headless(f"--screenshot={screenshot}", f"--window-size={WINDOW[0]},{WINDOW[1]}",
             with_findings_hidden(page, tmp_path).as_uri())
    width, height, pixels = read_png(screenshot.read_bytes())
    assert (width, height) == WINDOW
    colours = Counter(pixels)
    assert colours[GREEN] > 5_000 and colours[RED] > 500, colours.most_common(8)
    keep = ROOT / "reports" / "scale-1000-screenshot.png"
    if keep.parent.is_dir():
        shutil.copyfile(screenshot, keep)  # for a human to look at; reports/ is not committed

    dom = parse_html(headless("--dump-dom", page.as_uri()).stdout)
    text = dom.text
    assert f"{truth['in_scope']:,}" in text or str(truth["in_scope"]) in text
    links = {attrs["download"]: attrs["href"] for attrs in dom.tags("a") if attrs.get("download")}
    rows = unquote(links["unregistered-users.csv"].split(",", 1)[1]).lstrip("\ufeff").splitlines()[1:]
    assert sorted(row.split(",")[0] for row in rows) == truth["unregistered_upns"]
