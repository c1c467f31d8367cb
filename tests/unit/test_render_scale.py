"""A report that scales: full user lists too long for a `data:` link are CSV files beside the HTML page."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from auditor.derive.figures import CoverageReport, UserRef
from auditor.render import write_reports
from auditor.render.coverage_view import INLINE_CSV_LIMIT, LIST_LIMIT
from tests.helpers.report_factory import build_report, parse_html

MANY = 20_000


def users(count: int, detail: str) -> list[UserRef]:
    return [UserRef(id=f"00000000-0000-4000-8000-{i:012d}", upn=f"user{i:06d}@contoso.example",
                    display_name=f"User {i:06d}", detail=detail) for i in range(count)]


def coverage(unregistered: int, unlicensed: int) -> CoverageReport:
    return CoverageReport(scope="all", in_scope=MANY * 2, registered=MANY * 2 - unregistered,
                          not_registered=unregistered, unregistered_users=users(unregistered, "not registered"),
                          licensed=MANY * 2 - unlicensed, unlicensed=unlicensed,
                          unlicensed_users=users(unlicensed, "no P1"))


def links(html: str) -> dict[str, str]:
    """download file name -> href of the page's CSV links."""
    page = parse_html(html)
    return {attrs["download"]: attrs["href"] for attrs in page.tags("a") if attrs.get("download")}


def test_a_long_list_is_a_csv_file_beside_the_page_and_a_short_one_stays_inline(tmp_path: Path) -> None:
    report = build_report(coverage=coverage(MANY, 3))
    paths = write_reports(report, tmp_path, ["html"])
    names = sorted(p.name for p in paths)
    assert names == ["sspr-audit-unregistered-users.csv", "sspr-audit.html"]
    html = (tmp_path / "sspr-audit.html").read_text(encoding="utf-8")
    found = links(html)
    # linked by its name, relative to the page
    assert found["sspr-audit-unregistered-users.csv"] == "sspr-audit-unregistered-users.csv"
    assert found["unlicensed-users.csv"].startswith("data:text/csv;charset=utf-8,")
    rows = list(csv.reader(io.StringIO((tmp_path / "sspr-audit-unregistered-users.csv").read_text("utf-8-sig"))))
    assert len(rows) == MANY + 1 and rows[1][0] == "user000000@contoso.example"
    # the page shows the first rows and stays small: no 20,000-row data: link in it
    assert len(html) < INLINE_CSV_LIMIT + 1_000_000
    assert html.count("user0") < LIST_LIMIT + 200


def test_render_alone_keeps_every_list_inline() -> None:
    from auditor.render.html import HtmlRenderer

    html = HtmlRenderer().render(build_report(coverage=coverage(MANY, 3))).decode("utf-8")
    assert all(href.startswith("data:") for href in links(html).values())


def test_other_formats_write_one_file_each(tmp_path: Path) -> None:
    paths = write_reports(build_report(coverage=coverage(MANY, 3)), tmp_path, ["json", "markdown"])
    assert sorted(p.name for p in paths) == ["sspr-audit.json", "sspr-audit.md"]
