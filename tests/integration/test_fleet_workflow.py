"""Issue 16: the shipped fleet workflow's own commands, run against the lab: the matrix job's step prints the
matrix, one audit job per `include` entry runs its step in a workspace of its own, their uploads are gathered
as `download-artifact` (merge-multiple) gathers them, and the merge job's step builds the fleet report from
those real per-job outputs.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from tests.helpers.fleet_lab import make_fleet

ROOT = Path(__file__).resolve().parents[2]
WORKFLOW = ROOT / "auditor" / "workflows" / "fleet-audit.yml"


def workflow() -> dict[str, Any]:
    data: dict[str, Any] = YAML(typ="safe").load(WORKFLOW.read_text())
    return data


def step(job: dict[str, Any], *, id_: str | None = None, uses: str | None = None) -> dict[str, Any]:
    for candidate in job["steps"]:
        if (id_ and candidate.get("id") == id_) or (uses and candidate.get("uses", "").split("@")[0] == uses):
            return dict(candidate)
    raise KeyError(id_ or uses)


def expand(text: str, context: dict[str, Any]) -> str:
    """`${{ matrix.x }}` and the like, from `context` (an unknown expression fails the test)."""
    def value(match: re.Match[str]) -> str:
        path = match.group(1).strip().split(".")
        found: Any = context
        for part in path:
            found = found[part]
        return str(found)

    return re.sub(r"\$\{\{\s*([^}]+?)\s*\}\}", value, text)


def run_step(script: str, workspace: Path, env: dict[str, str]) -> tuple[int, dict[str, str]]:
    output = workspace / ".github-output"
    output.write_text("")
    venv_bin = str(Path(sys.executable).parent)
    environment = {**os.environ, **env, "GITHUB_OUTPUT": str(output), "PATH": f"{venv_bin}:{os.environ['PATH']}"}
    done = subprocess.run(["bash", "-e", "-c", script], cwd=workspace, env=environment, capture_output=True,
                          text=True, timeout=600)
    assert "Traceback" not in done.stderr, done.stderr[-3000:]
    outputs = dict(line.split("=", 1) for line in output.read_text().splitlines() if "=" in line)
    return done.returncode, outputs


def gather(upload: dict[str, Any], job_workspace: Path, into: Path) -> None:
    """What upload-artifact (these paths) then download-artifact (merge-multiple) leave in `into`."""
    patterns = [line.strip() for line in upload["with"]["path"].splitlines() if line.strip()]
    included = [p for p in patterns if not p.startswith("!")]
    excluded = [p[1:] for p in patterns if p.startswith("!")]
    assert included == ["reports/"]  # the root of the artifact is then reports/ itself
    root = job_workspace / "reports"
    for path in root.rglob("*"):
        relative = path.relative_to(job_workspace).as_posix()
        if path.is_dir() or any(Path(relative).match(pattern) for pattern in excluded):
            continue
        target = into / path.relative_to(root)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)


@pytest.fixture(scope="module")
def lab_fleet(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("repo")
    fleet, _ = make_fleet(folder, count=5)
    return folder, fleet


def test_the_matrix_audit_and_merge_jobs_run_against_the_lab(lab_fleet: tuple[Path, Path], tmp_path: Path) -> None:
    repository, fleet = lab_fleet
    jobs = workflow()["jobs"]
    env = {"FLEET_FILE": str(fleet), **{k: v for k, v in workflow()["env"].items() if k != "FLEET_FILE"}}

    # the matrix job
    code, outputs = run_step(step(jobs["matrix"], id_="matrix")["run"], repository, env)
    assert code == 0
    matrix = json.loads(outputs["matrix"])
    assert jobs["audit"]["strategy"]["matrix"] == "${{ fromJSON(needs.matrix.outputs.matrix) }}"
    assert [entry["tenant"] for entry in matrix["include"]] == ["demo", "baseline", "hostile", "traps", "gen-small"]

    # one audit job per entry, each in a fresh copy of the repository, as a runner would check it out
    downloaded = tmp_path / "merge" / "tenants"
    audit, upload = step(jobs["audit"], id_="audit"), step(jobs["audit"], uses="actions/upload-artifact")
    codes = {}
    for entry in matrix["include"]:
        workspace = tmp_path / "jobs" / entry["tenant"]
        shutil.copytree(repository, workspace)
        job_env = {**env, "FLEET_FILE": str(workspace / fleet.name),
                   **{k: expand(v, {"matrix": entry}) for k, v in audit["env"].items()}}
        code, outputs = run_step(audit["run"], workspace, job_env)
        assert code == 0  # `set +e`: the step records the audit's code, a later step fails the job
        codes[entry["tenant"]] = int(outputs["exit-code"])
        assert upload["if"] == "always()"
        gather(upload, workspace, downloaded)
    assert sorted(p.name for p in downloaded.iterdir()) == sorted(codes)  # a folder per tenant, no fleet file

    # the merge job, over the jobs' real outputs
    merge = step(jobs["merge"], id_="merge")
    download = step(jobs["merge"], uses="actions/download-artifact")
    assert download["with"] == {"pattern": "sspr-tenant-*", "path": "tenants", "merge-multiple": True}
    code, outputs = run_step(merge["run"], tmp_path / "merge", env)
    assert code == 0
    report = json.loads((tmp_path / "merge" / "fleet-report" / "sspr-fleet.json").read_text())
    assert sorted(row["name"] for row in report["tenants"]) == sorted(codes)
    assert {row["name"]: row["exit_code"] for row in report["tenants"]} == codes
    assert int(outputs["exit-code"]) == report["exit_code"] == (1 if 1 in codes.values() else max(codes.values()))
    assert all(row["report_html"] for row in report["tenants"])  # the cells link into the tenants' own pages
    gate = jobs["merge"]["steps"][-1]
    assert gate["if"] == "always()" and "steps.merge.outputs.exit-code" in gate["env"]["FLEET_EXIT_CODE"]
    assert jobs["merge"]["if"] == "always()" and jobs["audit"]["strategy"]["fail-fast"] is False
