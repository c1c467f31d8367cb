"""The lab emulator's web server is the `lab` extra (issue 28): a live audit installs without it, and `--lab` or
`lab serve` without it is one line naming the extra, exit 2, no traceback and no report."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# The packages are made unimportable the way Python itself allows (None in sys.modules), then the CLI runs.
WITHOUT = """
import sys
for name in {hidden!r}:
    sys.modules[name] = None
from auditor.cli import main
sys.exit(main(sys.argv[1:]))
"""


def run_without(hidden: tuple[str, ...], *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", WITHOUT.format(hidden=hidden), *args], capture_output=True,
                          text=True, timeout=120, cwd=cwd, check=False)


def test_the_lab_server_packages_are_the_lab_extra_and_not_runtime_dependencies() -> None:
    from auditor.app.lab import LAB_SERVER_PACKAGES

    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    runtime = " ".join(project["dependencies"])
    lab = " ".join(project["optional-dependencies"]["lab"])
    for name in LAB_SERVER_PACKAGES:
        assert name not in runtime and name in lab
    assert "sspr-auditor[lab]" in project["optional-dependencies"]["dev"]


@pytest.mark.parametrize("hidden", [("starlette",), ("uvicorn",), ("starlette", "uvicorn")])
def test_check_with_lab_names_the_extra_in_one_line(hidden: tuple[str, ...], tmp_path: Path) -> None:
    done = run_without(hidden, "check", str(ROOT / "policies" / "baseline.yaml"), "--lab", "demo",
                       "--out", str(tmp_path / "reports"), cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip().splitlines() == [
        f"error: --lab needs the lab emulator's web server ({', '.join(hidden)} not installed): "
        "pip install 'sspr-auditor[lab]'"]
    assert not (tmp_path / "reports").exists()


def test_lab_serve_names_the_extra_before_saying_it_listens(tmp_path: Path) -> None:
    done = run_without(("uvicorn",), "lab", "serve", "--scenario", "demo", "--port", "1", cwd=tmp_path)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.strip() == ("error: lab serve needs the lab emulator's web server (uvicorn not installed): "
                                   "pip install 'sspr-auditor[lab]'")


def test_a_live_audit_source_needs_no_lab_server(tmp_path: Path) -> None:
    """`validate` runs with the lab server packages absent (the live readers import neither)."""
    done = run_without(("starlette", "uvicorn"), "validate", str(ROOT / "policies" / "baseline.yaml"), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
