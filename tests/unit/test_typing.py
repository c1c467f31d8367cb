"""The strict type checker stays on (issue 31): `[tool.mypy]` in pyproject.toml checks auditor/ with `strict`,
scripts/test (CI's test command, .ci/run) runs it beside ruff, and every `# type: ignore` left in auditor/ names
its error code and says why (https://mypy.readthedocs.io/en/stable/config_file.html#confval-strict,
https://mypy.readthedocs.io/en/stable/error_codes.html#silencing-errors-based-on-error-codes)."""

from __future__ import annotations

import re
import shlex
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
IGNORE = re.compile(r"#\s*type:\s*ignore(?P<codes>\[[^\]]*\])?(?P<rest>.*)$")


def _mypy_config() -> dict[str, object]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    return dict(config.get("tool", {}).get("mypy", {}))


def test_mypy_is_strict_over_the_whole_package():
    config = _mypy_config()
    assert config.get("strict") is True, "[tool.mypy] strict must be true"
    assert config.get("files") == ["auditor"]
    assert "pydantic.mypy" in config.get("plugins", [])  # models' constructors checked against their fields
    # no switch that turns a strict check back off for the whole package
    loosened = {key for key, value in config.items() if key.startswith(("allow_", "implicit_")) and value is True}
    loosened |= {key for key, value in config.items()
                 if key.startswith(("disallow_", "warn_", "check_", "strict_")) and value is False}
    assert not loosened, f"[tool.mypy] loosens strict mode: {sorted(loosened)}"
    overrides = config.get("overrides", [])
    assert isinstance(overrides, list)
    for override in overrides:  # only third-party modules may be read leniently, never the package's own
        modules = override["module"] if isinstance(override["module"], list) else [override["module"]]
        assert not [m for m in modules if m == "auditor" or m.startswith("auditor.")], override


def test_ci_test_command_runs_mypy_before_the_tests():
    lines = [line.strip() for line in (ROOT / "scripts" / "test").read_text(encoding="utf-8").splitlines()
             if line.strip() and not line.strip().startswith("#")]
    commands = [shlex.split(line)[0] for line in lines]
    assert ".venv/bin/mypy" in commands, "scripts/test must run mypy"
    assert commands.index(".venv/bin/mypy") < next(i for i, line in enumerate(lines) if "pytest" in line)


def test_each_type_ignore_names_its_code_and_why():
    bare, unexplained = [], []
    for path in sorted((ROOT / "auditor").rglob("*.py")):
        lines = path.read_text(encoding="utf-8").splitlines()
        for number, line in enumerate(lines, 1):
            match = IGNORE.search(line)
            if match is None:
                continue
            where = f"{path.relative_to(ROOT)}:{number}"
            if not match["codes"]:
                bare.append(where)
            # the reason: a comment after the ignore, or a comment line right above
            above = lines[number - 2].strip() if number > 1 else ""
            if not match["rest"].strip().lstrip("#").strip() and not above.startswith("#"):
                unexplained.append(where)
    assert not bare, f"`# type: ignore` without an error code: {bare}"
    assert not unexplained, f"`# type: ignore` without a reason: {unexplained}"
