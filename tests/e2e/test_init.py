"""`sspr-audit init`: a starter policy outside the repository, every key explained, never overwriting (issue 28)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from auditor.checks.registry import all_checks
from auditor.data import SHIPPED, shipped, shipped_text
from auditor.export.starter import judged_by, starter_policy
from auditor.policy.loader import load_policy
from auditor.policy.models import Policy
from auditor.policy.schema import policy_schema

pytestmark = pytest.mark.roundtrip

ROOT = Path(__file__).resolve().parents[2]


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "auditor.cli", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=300, env={**os.environ, "PYTHONPATH": str(ROOT)})


def _keys(model: type, prefix: str = "") -> list[tuple[str, object]]:
    from auditor.export.starter import _nested_model

    found = []
    for name, info in model.model_fields.items():
        path = f"{prefix}.{name}" if prefix else name
        found.append((path, info))
        nested = _nested_model(info.annotation)
        if nested is not None:
            found += _keys(nested, path)
    return found


def test_init_writes_a_valid_policy_and_its_schema_and_never_overwrites(tmp_path: Path) -> None:
    result = run("init", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    policy_file, schema_file = tmp_path / "policy.yaml", tmp_path / "policy.schema.json"
    text = policy_file.read_text()
    assert text.startswith("# yaml-language-server: $schema=./policy.schema.json\n")
    assert json.loads(schema_file.read_text()) == policy_schema()
    baseline = load_policy(ROOT / "policies" / "baseline.yaml")
    assert load_policy(policy_file).model_dump() == baseline.model_dump()  # the baseline's values

    before = {path.name: path.read_bytes() for path in (policy_file, schema_file)}
    again = run("init", cwd=tmp_path)  # both there: refused, nothing touched
    assert again.returncode == 2 and "never overwrites" in again.stderr and "Traceback" not in again.stderr
    assert {path.name: path.read_bytes() for path in (policy_file, schema_file)} == before

    policy_file.write_text(text + "# my edit\n")  # an edited policy and a missing schema: the schema comes back,
    schema_file.unlink()                       # the policy is kept as it is
    third = run("init", cwd=tmp_path)
    assert third.returncode == 0, third.stderr
    assert "kept policy.yaml: starter policy (already there; init never overwrites)" in third.stdout
    assert policy_file.read_text() == text + "# my edit\n" and schema_file.read_bytes() == before["policy.schema.json"]


def test_every_key_is_shown_with_its_meaning_default_and_checks() -> None:
    baseline = YAML(typ="safe").load(shipped_text("baseline.yaml"))
    lines = starter_policy(baseline, "policy.yaml").splitlines()
    judges: dict[str, list[str]] = {}
    for check in all_checks():
        for key in (check.spec.policy_key, *check.spec.also_reads):
            judges.setdefault(key, []).append(check.spec.id)
    for path, info in _keys(Policy):
        start = 0
        for depth, part in enumerate(path.split(".")):  # each part of the path, below the one before, at its depth
            start = next((i for i in range(start, len(lines)) if _at(lines[i], part, depth)), -1)
            assert start >= 0, f"{path} is not in the starter"
        comment = []
        i = start - 1
        while i >= 0 and lines[i].strip().startswith("#") and not lines[i].strip().lstrip("# ").startswith("-"):
            comment.insert(0, lines[i].strip().lstrip("# "))
            i -= 1
        said = " ".join(comment)
        assert not said.startswith("."), f"{path}: no meaning ({said!r})"
        assert ("Default" in said or "Left out" in said or "Required" in said or "Optional" in said), path
        from auditor.export.starter import _nested_model

        section = _nested_model(info.annotation) is not None  # type: ignore[attr-defined]
        for check_id in judges.get(path, []) if section else judged_by(path, judges):
            assert check_id in said, f"{path}: {check_id} not named ({said!r})"


def test_a_policy_name_must_be_a_yaml_file_here(tmp_path: Path) -> None:
    for bad in ("../policy.yaml", "policy.txt", "sub/policy.yaml"):
        result = run("init", "--policy", bad, cwd=tmp_path)
        assert result.returncode == 2 and "--policy" in result.stderr, (bad, result.stderr)
    assert list(tmp_path.iterdir()) == []


def _at(line: str, key: str, depth: int) -> bool:
    body = line.lstrip(" ")
    return len(line) - len(body) == 2 * depth and body.removeprefix("# ").startswith(f"{key}:")


@pytest.mark.parametrize("name", SHIPPED)
def test_the_shipped_files_are_the_repositorys(name: str) -> None:
    copies = {"baseline.yaml": "policies/baseline.yaml", "policy.schema.json": "policies/schema.json",
              "report.schema.json": "report-schema.json", "fleet-report.schema.json": "fleet-report-schema.json"}
    assert shipped(name).read_bytes() == (ROOT / copies[name]).read_bytes()


def test_init_workflow_is_the_shipped_template_on_the_policy_and_passes_actionlint(tmp_path: Path) -> None:
    """What `init --workflow` writes, in a repository holding this checkout's action.yml, lints clean."""
    from tests.unit.test_workflows import ACTION, THE_ACTION, run_actionlint

    result = run("init", "--workflow", "--policy", "sspr.yaml", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    workflow = tmp_path / ".github" / "workflows" / "sspr-audit.yml"
    document = YAML(typ="safe").load(workflow.read_text())
    audit = [step for job in document["jobs"].values() for step in job["steps"] if step.get("uses", "").startswith(
        THE_ACTION)]
    assert len(audit) == 1 and audit[0]["with"]["policy"] == "sspr.yaml"
    workflow.write_text(workflow.read_text().replace(f"{THE_ACTION}@v0", "./"))
    (tmp_path / "action.yml").write_bytes(ACTION.read_bytes())
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True, timeout=60)
    linted = run_actionlint(tmp_path)
    assert linted.returncode == 0, linted.stdout + linted.stderr


def test_init_workflow_after_init_adds_the_workflow_and_keeps_the_policy(tmp_path: Path) -> None:
    assert run("init", cwd=tmp_path).returncode == 0
    policy = (tmp_path / "policy.yaml").read_bytes()
    added = run("init", "--workflow", cwd=tmp_path)
    assert added.returncode == 0, added.stderr
    assert "wrote .github/workflows/sspr-audit.yml" in added.stdout and "kept policy.yaml" in added.stdout
    assert (tmp_path / "policy.yaml").read_bytes() == policy
