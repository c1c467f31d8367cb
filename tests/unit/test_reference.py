"""The README and docs/ say what the code says: the generated tables and pages are current (scripts/docs rewrites
them), the README stays a user's page (25 KB at most, install and `init` on its first screen), and every link in
them points at a file of this repository."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from auditor.app import reference
from auditor.checks.registry import all_checks
from auditor.policy.models import Policy

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
PAGES = [README, *sorted((ROOT / "docs").glob("*.md"))]


@pytest.mark.parametrize("path", list(reference.expected_files(ROOT)), ids=lambda p: p.name)
def test_generated_files_are_current(path: Path) -> None:
    expected = reference.expected_files(ROOT)[path]
    assert path.read_text(encoding="utf-8") == expected, f"{path.relative_to(ROOT)} is stale: run scripts/docs"


def test_the_check_script_says_which_file_is_stale(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "docs").mkdir()
    text = README.read_text(encoding="utf-8")
    first = all_checks()[0].spec.id
    (tmp_path / "README.md").write_text(text.replace(f"| `{first}` |", "| `renamed` |", 1), encoding="utf-8")
    assert reference.main(["--check", "--root", str(tmp_path)]) == 1
    said = capsys.readouterr().out
    assert "differs: README.md" in said and "differs: docs/policy.md" in said
    assert reference.main(["--root", str(tmp_path)]) == 0  # rewritten …
    assert reference.main(["--check", "--root", str(tmp_path)]) == 0  # … and now current
    assert (tmp_path / "README.md").read_text(encoding="utf-8") == text


def test_every_check_is_in_the_readme_table() -> None:
    text = README.read_text(encoding="utf-8")
    for check in all_checks():
        assert f"| `{check.spec.id}` | {check.spec.title} |" in text


def test_the_readme_is_a_users_page() -> None:
    text = README.read_text(encoding="utf-8")
    assert len(text.encode("utf-8")) <= 25 * 1024
    first_screen = "\n".join(text.splitlines()[:60])
    for said in ("pipx install", "sspr-audit init", "scripts/demo", "scripts/test", "## What it checks"):
        assert said in first_screen, said
    assert ".venv/bin/" not in text


def test_the_policy_reference_names_every_key() -> None:
    page = (ROOT / "docs" / "policy.md").read_text(encoding="utf-8")
    for name in Policy.model_fields:
        assert f"## `{name}`" in page
    for check in all_checks():
        assert f"`{check.spec.policy_key}`" in page, check.spec.policy_key


_LINK = re.compile(r"\]\(([^)\s]+)\)")


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_every_relative_link_is_a_file_of_the_repository(page: Path) -> None:
    for target in _LINK.findall(page.read_text(encoding="utf-8")):
        if re.match(r"^(https?:|mailto:|#)", target):
            continue
        resolved = (page.parent / target.split("#", 1)[0]).resolve()
        assert resolved.is_relative_to(ROOT) and resolved.exists(), f"{page.name}: {target}"


def test_lab_help_names_every_shipped_scenario() -> None:
    from auditor.cli import build_parser

    scenarios = sorted(p.stem for p in (ROOT / "auditor" / "lab" / "scenarios").glob("*.yaml"))
    parser = build_parser()
    for command in ("check", "collect", "plan", "export"):
        sub = parser._subparsers._group_actions[0].choices[command]  # type: ignore[union-attr]
        lab = next(action for action in sub._actions if "--lab" in action.option_strings)
        for name in scenarios:
            assert name in (lab.help or ""), (command, name)
