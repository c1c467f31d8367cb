"""Cloud Sync in the lab (issue #33, item 5): the `cloudsync` and `cloudsync-demo` lab names, a real Samba DC holding
the gMSA provAgentgMSA$ and the emulated tenant with cloudProvisioningEnablementForTenant on, run as a user runs them.

`cloudsync` passes policies/cloudsync.yaml whole; `cloudsync-demo` fails exactly its planted Cloud Sync drift; the
Connect baseline policy against the Cloud Sync lab fails ad.sync_engine instead of judging the wrong rule set; export
writes `sync_engine: cloud_sync` with its evidence, and the exported policy passes against the same lab.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from samba_fixtures import collect_ad, require_samba, running, state_dir

from auditor.policy.loader import load_policy

pytestmark = [pytest.mark.samba, pytest.mark.roundtrip]

ROOT = Path(__file__).resolve().parents[2]
CLOUD_SYNC = ROOT / "policies" / "cloudsync.yaml"
BASELINE = ROOT / "policies" / "baseline.yaml"
BASE = "DC=corp,DC=example,DC=test"
GMSA_DN = f"CN=provAgentgMSA,CN=Managed Service Accounts,{BASE}"


def run(*args: str) -> subprocess.CompletedProcess[str]:
    require_samba()
    environment = {**os.environ, "SSPR_LAB_DIR": str(state_dir())}
    return subprocess.run([sys.executable, "-m", "auditor.cli", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=600, env=environment)


def findings(out: Path) -> list[dict[str, Any]]:
    report: dict[str, Any] = json.loads((out / "sspr-audit.json").read_text())
    return list(report["findings"])


def test_cloudsync_lab_passes_the_cloud_sync_policy(tmp_path: Path) -> None:
    result = run("check", str(CLOUD_SYNC), "--lab", "cloudsync", "--out", str(tmp_path), "--format", "json")
    assert result.returncode == 0, result.stdout + result.stderr
    by_check = {f["check"]: f for f in findings(tmp_path)}
    assert by_check["ad.sync_engine"]["status"] == "pass"
    # the agent's host (the DC, through Domain Controllers) may retrieve the managed password: accepted
    assert by_check["ad.service_account.control"]["status"] == "pass"
    assert by_check["ad.service_account.control"]["target"] == GMSA_DN


def test_cloudsync_demo_fails_exactly_its_planted_drift(tmp_path: Path) -> None:
    result = run("check", str(CLOUD_SYNC), "--lab", "cloudsync-demo", "--out", str(tmp_path), "--format", "json")
    assert result.returncode == 1, result.stdout + result.stderr
    failed = {(f["check"], f["target"]) for f in findings(tmp_path) if f["status"] == "fail"}
    assert failed == {("ad.acl.writeback_rights", f"OU=Sales,{BASE}"),
                      ("ad.service_account.control", "svc-backup")}
    control = next(f for f in findings(tmp_path) if f["check"] == "ad.service_account.control")
    # msDS-GroupMSAMembership names GG-Service-Accounts; the gMSA holds the hash sync rights: critical
    assert control["severity"] == "critical" and "Retrieve the managed password" in control["reason"]
    assert "unknown" not in {f["status"] for f in findings(tmp_path)}


def test_connect_policy_against_the_cloud_sync_lab_fails_the_engine(tmp_path: Path) -> None:
    result = run("check", str(BASELINE), "--lab", "cloudsync", "--out", str(tmp_path), "--format", "json")
    assert result.returncode == 1, result.stdout + result.stderr
    engine = next(f for f in findings(tmp_path) if f["check"] == "ad.sync_engine")
    assert engine["status"] == "fail"
    assert "provAgentgMSA$" in engine["reason"] and "cloudProvisioningEnablementForTenant is true" in engine["reason"]


def test_export_names_cloud_sync_and_its_policy_passes(tmp_path: Path) -> None:
    exported = tmp_path / "live.yaml"
    result = run("export", "--lab", "cloudsync", "--out", str(exported))
    assert result.returncode == 0, result.stdout + result.stderr
    text = exported.read_text()
    line = next(x for x in text.splitlines() if x.strip().startswith("sync_engine:"))
    assert "cloud_sync" in line and "cloudProvisioningEnablementForTenant" in line
    assert "# Cloud Sync gMSAs in DC=corp,DC=example,DC=test: provAgentgMSA$" in text
    policy = load_policy(exported)
    assert policy.directory is not None and policy.directory.service_account == "provAgentgMSA$"
    result = run("check", str(exported), "--lab", "cloudsync", "--out", str(tmp_path / "out"), "--format", "json")
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_reader_finds_the_gmsa_by_its_documented_name() -> None:
    """Read against the DC itself: a real msDS-GroupManagedServiceAccount in cloudsync, none in baseline."""
    for scenario, expected in (("cloudsync", [("provAgentgMSA$", True)]), ("baseline", [])):
        for dc in running(scenario):
            policy = load_policy(CLOUD_SYNC if scenario == "cloudsync" else BASELINE)
            assert policy.directory is not None
            snapshot = collect_ad(dc, policy)
            assert snapshot.directory is not None and snapshot.directory.value is not None
            found = snapshot.directory.value.cloud_sync_accounts
            assert found is not None and found.error is None
            assert [(a.sam_account_name, a.gmsa) for a in found.accounts] == expected
            assert [a.dn for a in found.accounts] == ([GMSA_DN] if expected else [])
