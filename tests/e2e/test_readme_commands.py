"""Every command the README shows is run here, in order, as a user would type them: in one empty folder, against
the lab (its tenant, and its domain where Samba runs). A line whose comment says `needs a tenant` cannot run here:
it is parsed by the real command-line parser instead (a misspelt option or command fails). A `# FILE.yaml` block
is written to that file first. `pip`/`pipx` lines must name this package and its extras; `scripts/` lines must
be this repository's scripts (scripts/demo's own command is run; scripts/test is what .ci/run runs).

A comment naming `exit N` is the exit code the line must return; any other line must not return a usage error
(2), an internal error (70) or a signal's code."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

import pytest

from auditor.cli import build_parser

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
BLOCK = re.compile(r"^```(sh|yaml)\n(.*?)^```", re.MULTILINE | re.DOTALL)


@dataclass(frozen=True)
class Line:
    command: str
    comment: str
    number: int


def _split_comment(line: str) -> tuple[str, str]:
    """`cmd  # comment` → (cmd, comment); a `#` inside quotes is not a comment."""
    quote = None
    for index, char in enumerate(line):
        if char in "'\"" and quote in (None, char):
            quote = None if quote == char else char
        elif char == "#" and quote is None and (index == 0 or line[index - 1].isspace()):
            return line[:index].strip(), line[index + 1:].strip()
    return line.strip(), ""


def readme_blocks() -> list[tuple[str, str, int]]:
    text = README.read_text(encoding="utf-8")
    return [(m.group(1), m.group(2), text[:m.start()].count("\n") + 2) for m in BLOCK.finditer(text)]


def shell_lines() -> list[Line]:
    out = []
    for kind, body, first in readme_blocks():
        if kind != "sh":
            continue
        for offset, raw in enumerate(body.splitlines()):
            command, comment = _split_comment(raw)
            if command:
                out.append(Line(command, comment, first + offset))
    return out


def _argv(command: str) -> list[str]:
    words = shlex.split(command)
    while words and re.match(r"^[A-Z_][A-Z0-9_]*=", words[0]):  # VAR=value before the command
        words.pop(0)
    return words


def _needs_tenant(line: Line) -> bool:
    return "needs a tenant" in line.comment


def test_the_readme_shows_commands_of_every_kind() -> None:
    lines = shell_lines()
    assert len(lines) >= 20
    assert any(_needs_tenant(line) for line in lines) and any(not _needs_tenant(line) for line in lines)


def test_every_tenant_command_parses() -> None:
    parser = build_parser()
    tenant = [line for line in shell_lines() if _needs_tenant(line)]
    assert tenant
    for line in tenant:
        argv = _argv(line.command)
        assert argv[0] == "sspr-audit", line
        try:
            parser.parse_args(argv[1:])
        except SystemExit as exc:  # argparse says why on stderr
            pytest.fail(f"README.md:{line.number}: `{line.command}` does not parse (exit {exc.code})")


def test_install_lines_name_this_package_and_its_extras() -> None:
    from packaging.requirements import Requirement

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = set(project["optional-dependencies"])
    installs = [line for line in shell_lines() if _argv(line.command)[0] in ("pip", "pipx")]
    assert installs
    for line in installs:
        argv = _argv(line.command)
        assert argv[1] == "install", line
        spec = argv[2]
        if spec == ".":  # a clone's folder
            continue
        if spec.startswith("."):  # a clone's folder with extras
            assert set(re.findall(r"\[(.*)\]", spec)[0].split(",")) <= extras, line
            continue
        wheel = re.fullmatch(r"\$\(ls dist/(\w+)-\*\.whl\)\[(.*)\]", spec)
        if wheel is not None:  # the wheel `python -m pip wheel --no-deps -w dist .` builds, with extras
            assert wheel[1] == re.sub(r"[-_.]+", "_", project["name"]) and set(wheel[2].split(",")) <= extras, line
            assert "pip wheel --no-deps -w dist ." in line.comment, line
            continue
        requirement = Requirement(spec)
        assert requirement.name == project["name"] and requirement.extras <= extras, line


def test_script_lines_are_this_repositorys_scripts(tmp_path: Path) -> None:
    scripts = [line for line in shell_lines() if line.command.startswith("scripts/")]
    assert {line.command.split()[0] for line in scripts} == {"scripts/demo", "scripts/test"}
    for line in scripts:
        path = ROOT / line.command.split()[0]
        assert path.is_file() and os.access(path, os.X_OK), line
    assert "scripts/test " in (ROOT / ".ci" / "run").read_text()  # CI runs the README's test command
    demo = (ROOT / "scripts" / "demo").read_text().strip().splitlines()[-1]
    assert demo == 'exec .venv/bin/sspr-audit check policies/baseline.yaml --lab "${SCENARIO:-demo}" --out reports "$@"'
    # what it runs once set up: a real report under reports/, exit 1 for the demo's drift
    result = subprocess.run([sys.executable, "-m", "auditor.cli", "check", "policies/baseline.yaml", "--lab", "demo",
                             "--out", str(tmp_path / "reports")], cwd=ROOT, capture_output=True, text=True,
                            timeout=600)
    assert result.returncode == 1, result.stdout + result.stderr
    assert (tmp_path / "reports" / "sspr-audit.html").is_file()


def test_every_lab_command_runs_in_order(tmp_path: Path) -> None:
    """The README's commands (all but the tenant, install and script lines) as one session in an empty folder."""
    bin_dir = Path(sys.executable).parent
    assert (bin_dir / "sspr-audit").exists(), "the sspr-audit entry point is installed beside this Python"
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
           "XDG_STATE_HOME": str(tmp_path / "state"), "XDG_CACHE_HOME": str(tmp_path / "cache")}
    env.pop("SSPR_PLAN_KEY", None)
    session = tmp_path / "session"
    session.mkdir()
    cwd = session
    files = {body.splitlines()[0].lstrip("# ").strip(): body for kind, body, _ in readme_blocks()
             if kind == "yaml" and re.match(r"^# [\w.-]+\.ya?ml\n", body)}
    assert "fleet.yaml" in files
    ran = []
    for line in shell_lines():
        argv = _argv(line.command)
        if _needs_tenant(line) or argv[0] in ("pip", "pipx") or line.command.startswith("scripts/"):
            continue
        for name, body in files.items():
            if name in argv and not (cwd / name).exists():
                (cwd / name).write_text(body, encoding="utf-8")
        marker = tmp_path / "cwd"
        result = subprocess.run(["bash", "-c", f'{line.command}\nrc=$?\npwd > "{marker}"\nexit $rc'], cwd=cwd,
                                env=env, capture_output=True, text=True, timeout=900)
        where = f"README.md:{line.number}: `{line.command}` exited {result.returncode}\n{result.stdout}{result.stderr}"
        expected = re.search(r"\bexit (\d+)\b", line.comment)
        if expected:
            assert result.returncode == int(expected.group(1)), where
        else:
            assert result.returncode not in (2, 70) and result.returncode < 128, where
        assert "Traceback" not in result.stderr, where
        cwd = Path(marker.read_text().strip())
        ran.append(argv[0])
    assert ran.count("sspr-audit") >= 10
    assert (cwd / "policy.yaml").is_file() and (cwd / "reports" / "sspr-audit.sarif").is_file()
    assert (cwd / "fleet-reports").is_dir() and (cwd / "plan.json").is_file()
