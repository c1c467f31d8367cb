"""Issue 28 item 6: the fleet SARIF stays within GitHub code scanning's published limits, for 21 tenants and for
1,000 (tenant reports built through the real report model, not 1,000 live audits), and says where each went."""

from __future__ import annotations

import gzip
import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from auditor.checks.base import Severity, Status
from auditor.fleet_report import FleetReport
from auditor.render import fleet_sarif
from auditor.render.fleet import TenantResult, build_fleet_report, write_fleet_reports
from auditor.render.sarif import FINGERPRINT_KEY, sarif_log
from tests.helpers.report_factory import build_report, finding, realistic_findings
from tests.unit.test_render_sarif import assert_valid_sarif


def tenant_results(count: int) -> list[TenantResult]:
    """`count` tenants, each with its own mix of the realistic findings; every seventh could not be audited."""
    results = []
    for index in range(count):
        name = f"tenant-{index:04d}"
        if index % 7 == 6:
            results.append(TenantResult(name=name, exit_code=3, error="could not read the portal"))
            continue
        findings = [f for number, f in enumerate(realistic_findings()) if number % 5 != index % 5]
        report = build_report(findings, origin=f"tenant:{name}")
        results.append(TenantResult(name=name, exit_code=report.summary.exit_code, report=report))
    return results


def written(out: Path) -> tuple[FleetReport, list[tuple[Path, dict[str, Any], bytes]]]:
    report = FleetReport.model_validate_json((out / "sspr-fleet.json").read_text())
    files = sorted(out.glob("sspr-fleet.*.sarif"))
    return report, [(path, json.loads(path.read_bytes()), path.read_bytes()) for path in files]


def emitted(result: TenantResult) -> Counter[str]:
    """The fingerprints of what the tenant's own single-run SARIF emits."""
    assert result.report is not None
    return Counter(r["partialFingerprints"][FINGERPRINT_KEY]
                   for r in sarif_log(result.report, base_dir=Path.cwd())["runs"][0]["results"])


@pytest.mark.parametrize(("count", "validate_every"), [(21, 1), (1000, 10)])
def test_every_file_is_within_githubs_limits_and_every_finding_lands_once(
        tmp_path: Path, count: int, validate_every: int) -> None:
    results = tenant_results(count)
    report = build_fleet_report(results, tmp_path)
    write_fleet_reports(report, results, tmp_path)
    report, files = written(tmp_path)
    audited = [r for r in results if r.report is not None]
    assert len(files) == -(-len(audited) // fleet_sarif.MAX_RUNS_PER_FILE)  # full files of 20, in fleet order
    seen: dict[str, Counter[str]] = {}
    categories: list[str] = []
    for number, (path, log, data) in enumerate(files):
        assert fleet_sarif.problems(log, data) == [], path.name
        assert len(log["runs"]) <= 20
        assert len(gzip.compress(data)) <= 10_000_000 * 3 // 4  # even its base64 within GitHub's 10 MB
        ids = [run["automationDetails"]["id"] for run in log["runs"]]
        assert len(set(ids)) == len(ids)  # code scanning refuses runs that share a tool and category
        categories += ids
        for run in log["runs"]:
            assert len(run["results"]) <= 5_000 and all(len(r["locations"]) == 1 for r in run["results"])
            assert all(len(rule["properties"]["tags"]) <= 20 for rule in run["tool"]["driver"]["rules"])
            tenant = run["properties"]["tenant"]
            assert run["automationDetails"]["id"] == f"sspr-audit/{tenant}/" and tenant not in seen
            seen[tenant] = Counter(r["partialFingerprints"][FINGERPRINT_KEY] for r in run["results"])
        if number % validate_every == 0:
            assert_valid_sarif(log)
    assert len(set(categories)) == len(categories) == len(audited)  # one upload per file: unique across them too
    # every tenant's every emitted finding, once, with the fingerprint its own SARIF gives it
    assert seen == {r.name: emitted(r) for r in audited}
    # the fleet report says where each went
    rows = {row.name: row for row in report.tenants}
    for path, log, _ in files:
        for index, run in enumerate(log["runs"]):
            placement = rows[run["properties"]["tenant"]].sarif
            assert placement is not None and (placement.file, placement.run) == (path.name, index)
            assert placement.results == len(run["results"]) and placement.left_out == 0
    assert all(rows[r.name].sarif is None for r in results if r.report is None)
    assert [f.file for f in report.sarif_files] == [path.name for path, _, _ in files]
    assert [t for f in report.sarif_files for t in f.tenants] == [r.name for r in audited]
    markdown = (tmp_path / "sspr-fleet.md").read_text()
    assert f"Code scanning: {len(files)} SARIF file(s)" in markdown and "tenant\\-0006" in markdown.split("no run")[1]
    html = (tmp_path / "sspr-fleet.html").read_text()
    assert f'data-tenant="tenant-0000" data-sarif-file="{files[0][0].name}"' in html


def test_a_tenant_over_the_results_limit_keeps_the_most_severe_and_says_what_went(tmp_path: Path) -> None:
    many = [finding("sspr.scope", Status.failed, Severity.low, target=f"user-{i:05d}") for i in range(6_000)]
    many += [finding("sspr.methods", Status.failed, Severity.critical, target=f"critical-{i}") for i in range(10)]
    many += [finding("sspr.registration", Status.unknown, Severity.high, target=f"unknown-{i}") for i in range(10)]
    big = build_report(many)
    results = [TenantResult(name="big", exit_code=1, report=big)]
    report = build_fleet_report(results, tmp_path)
    write_fleet_reports(report, results, tmp_path)
    report, files = written(tmp_path)
    (_, log, data), = files
    run = log["runs"][0]
    assert fleet_sarif.problems(log, data) == [] and len(run["results"]) == 5_000
    kept = {r["properties"]["target"] for r in run["results"]}
    assert {f"critical-{i}" for i in range(10)} <= kept and {f"unknown-{i}" for i in range(10)} <= kept
    total = len(sarif_log(big, base_dir=Path.cwd())["runs"][0]["results"])
    notes = [n for n in run["invocations"][0]["toolExecutionNotifications"] if n["descriptor"]["id"] ==
             fleet_sarif.LEFT_OUT_ID]
    assert len(notes) == 1 and notes[0]["properties"]["leftOut"] == total - 5_000
    assert notes[0]["properties"]["byRule"] == {"sspr.scope": total - 5_000}
    assert f"{total - 5_000} of {total} results left out" in notes[0]["message"]["text"]
    row = report.tenants[0]
    assert row.sarif is not None and row.sarif.left_out == total - 5_000 and row.sarif.results == 5_000
    assert "big: " in (tmp_path / "sspr-fleet.md").read_text()
    assert_valid_sarif(log)


def test_files_split_by_size_and_a_tenant_alone_over_the_cap_shrinks(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """The size cap at work, with a cap small enough to reach without writing 10 MB (the code reads the same
    constant for packing and for checking)."""
    monkeypatch.setattr(fleet_sarif, "MAX_GZIP_BYTES", 60_000)
    results = tenant_results(12)
    noisy = [finding("sspr.scope", Status.failed, Severity.medium, target=f"user-{i:05d}",
                     reason=f"{i * 7919:x}" * 40) for i in range(3_000)]
    noisy_report = build_report(noisy)
    results.append(TenantResult(name="noisy", exit_code=1, report=noisy_report))
    report = build_fleet_report(results, tmp_path)
    write_fleet_reports(report, results, tmp_path)
    report, files = written(tmp_path)
    audited = [r.name for r in results if r.report is not None]
    assert len(files) > -(-len(audited) // 20)  # the size, not the run count, split them
    assert [run["properties"]["tenant"] for _, log, _ in files for run in log["runs"]] == audited
    for _, log, data in files:
        assert fleet_sarif.problems(log, data) == [] and fleet_sarif.gzip_size(data) <= 60_000
    row = next(row for row in report.tenants if row.name == "noisy")
    assert row.sarif is not None and row.sarif.left_out > 0
    assert row.sarif.results + row.sarif.left_out == sum(emitted(results[-1]).values())


def test_an_earlier_runs_extra_files_are_removed(tmp_path: Path) -> None:
    results = tenant_results(45)
    write_fleet_reports(build_fleet_report(results, tmp_path), results, tmp_path)
    assert len(list(tmp_path.glob("sspr-fleet.*.sarif"))) == 2
    (tmp_path / "sspr-fleet.sarif").write_text("{}")  # the single file earlier versions wrote
    fewer = results[:10]
    write_fleet_reports(build_fleet_report(fewer, tmp_path), fewer, tmp_path)
    assert sorted(p.name for p in tmp_path.glob("sspr-fleet.*sarif")) == ["sspr-fleet.001.sarif"]


def test_problems_names_each_limit_broken() -> None:
    run = sarif_log(build_report(), base_dir=Path.cwd())["runs"][0]
    run["automationDetails"] = {"id": "sspr-audit/a/"}
    assert fleet_sarif.problems({"runs": [run]}) == []
    run["tool"]["driver"]["rules"][0]["properties"]["tags"] = [f"t{i}" for i in range(21)]
    run["results"][0]["locations"] = []
    found = fleet_sarif.problems({"runs": [run] * 21})
    assert any("21 runs > 20" in p for p in found) and any("again" in p for p in found)
    assert any("21 tags > 20" in p for p in found) and any("0 locations" in p for p in found)
