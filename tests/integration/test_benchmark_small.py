"""The scale benchmark (benchmarks/run.py) end to end at 200 users: CI proves it runs and reports every
figure in the shape the README quotes. It asserts no wall-clock time: only counts, shapes and sizes.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from samba_fixtures import require_samba

ROOT = Path(__file__).resolve().parents[2]
USERS = 200


def run_benchmark(tmp_path: Path, *extra: str) -> tuple[str, dict[str, Any]]:
    results = tmp_path / "results.json"
    command = [sys.executable, str(ROOT / "benchmarks" / "run.py"), "--users", str(USERS), "--latency-ms", "5",
               "--cache", str(tmp_path / "cache"), "--json", str(results), *extra]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]
    return done.stdout, json.loads(results.read_text())


def test_the_cloud_run_reports_phases_requests_the_bound_memory_and_sizes(tmp_path: Path) -> None:
    stdout, results = run_benchmark(tmp_path, "--no-ad")
    assert results["latency_ms"] == 5 and results["machine"]["cpus"] >= 1
    (run,) = results["runs"]
    assert run["users"] == USERS and run["ad"] == {"skipped": "--no-ad"}
    cloud = run["cloud"]
    assert set(cloud["phases"]) >= {"start", "collect", "checks", "render", "snapshot"}
    assert all(seconds >= 0 for seconds in cloud["phases"].values())
    assert cloud["total"] >= cloud["phases"]["collect"]
    # every section was read, and the users the tenant holds are in the snapshot
    assert cloud["unreadable_sections"] == [] and cloud["coverage_users"] == USERS
    # 200 users fit one page of each collection: one request per endpoint, the fewest the APIs allow
    floor = cloud["floor"]
    assert cloud["requests"] == floor["fewest"]
    assert cloud["requests_total"] == floor["fewest_total"] == sum(floor["fewest"].values())
    assert cloud["requests_ratio"] == 1.0
    assert floor["chain_requests"] == max(floor["chains"].values()) >= 1
    assert cloud["bound_seconds"] == pytest.approx(floor["chain_requests"] * 0.005)
    assert cloud["ratio_total"] == pytest.approx(cloud["total"] / cloud["bound_seconds"])
    assert cloud["sizes"]["users"] == USERS and cloud["sizes"]["registration_details"] > 0
    assert cloud["peak_rss_bytes"] > 10 * 2**20
    assert cloud["html_bytes"] > 0 and cloud["json_bytes"] > 0 and cloud["snapshot_bytes"] > 0
    assert cloud["chromium"].get("opened", "skipped" in cloud["chromium"]) is True  # opened, where installed
    for heading in ("Cloud: lab tenant", "Requests per endpoint", "longest chain", "AD: Samba DC"):
        assert heading in stdout
    assert f"{USERS:>8,}" in stdout


@pytest.mark.samba
def test_the_ad_run_reads_the_bulk_loaded_domain(tmp_path: Path) -> None:
    require_samba()
    _, results = run_benchmark(tmp_path)
    (run,) = results["runs"]
    ad = run["ad"]
    assert "skipped" not in ad, ad
    assert ad["users_read"] >= USERS  # the demo domain's users and the bulk-loaded ones
    assert set(ad["phases"]) >= {"collect", "checks"} and ad["findings"] > 0
    assert ad["peak_rss_bytes"] > 10 * 2**20 and ad["distinct_dacls"] >= 1
