"""plan → apply → rollback against a running lab emulator (what `sspr-audit lab serve` serves), each command its own
process as a user runs them (issue 32): apply and rollback sign in as the plan read, with the lab's token, so no
Azure CLI credential is tried (azure.identity warned three times and apply exited 1 before), and every exit code
is the table's (auditor/exit_codes.py)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from auditor.exit_codes import Exit
from auditor.lab.server import LabServer

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(name="lab")
def lab_fixture() -> Iterator[LabServer]:
    with LabServer("demo") as server:
        yield server


def run(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "SSPR_LOCK_DIR": str(tmp_path / "locks")}
    environment.pop("SSPR_PLAN_KEY", None)
    return subprocess.run([sys.executable, "-m", "auditor.cli", *args], cwd=tmp_path, capture_output=True,
                          text=True, timeout=300, env=environment)


def test_the_loop_against_lab_serve_reuses_the_lab_token(lab: LabServer, tmp_path: Path) -> None:
    policy = tmp_path / "cloud.yaml"  # the cloud part of the baseline: `lab serve` runs no domain
    text = (ROOT / "policies" / "baseline.yaml").read_text()
    start = text.index("\ndirectory:")
    end = text.index("\ncoverage:")
    policy.write_text(text[:start] + text[end:])
    source = ["--graph-url", lab.graph_url, "--portal", "--portal-url", lab.portal_url]
    runs = {"plan": run(tmp_path, "plan", str(policy), *source, "--out", "plan.json")}
    recorded = json.loads((tmp_path / "plan.json").read_text())["source"]["endpoints"]
    assert (recorded["auth"], recorded["portal_auth"]) == ("lab", "lab")
    runs["dry run"] = run(tmp_path, "apply", "plan.json")
    runs["apply"] = run(tmp_path, "apply", "plan.json", "--yes", "--backup", "backup.json")
    runs["rollback dry run"] = run(tmp_path, "rollback", "backup.json")
    runs["rollback"] = run(tmp_path, "rollback", "backup.json", "--yes")
    codes = {name: done.returncode for name, done in runs.items()}
    assert codes == {"plan": Exit.changes, "dry run": Exit.ok, "apply": Exit.ok, "rollback dry run": Exit.ok,
                     "rollback": Exit.ok}, {name: done.stderr for name, done in runs.items()}
    for name, done in runs.items():
        assert "azure.identity" not in done.stderr and "AzureCliCredential" not in done.stderr, (name, done.stderr)
    assert "WOULD APPLY" in runs["dry run"].stdout and "WOULD RESTORE" in runs["rollback dry run"].stdout
    would = re.search(r"dry run: (\d+) object\(s\) would be restored", runs["rollback dry run"].stdout)
    assert would and int(would.group(1)) > 0
    assert f"restored {would.group(1)} object(s)" in runs["rollback"].stdout
