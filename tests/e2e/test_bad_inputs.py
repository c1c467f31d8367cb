"""The bad-input corpus (tests/fixtures/bad_policies/): every broken policy and hand-edited plan gives one
screen of error naming `file:line`, exit code 2, no traceback, and writes nothing.

The manifest is the table in tests/fixtures/bad_policies/README.md (file, what it breaks, the line, a
fragment of the message). Policies go through `check`, `plan` and `validate`; plans through `apply --yes`,
the command that loads them. Most runs are in-process (fast); a few run `sspr-audit` as a real process.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.helpers.fault_matrix import Run, assert_no_traceback, run_cli

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT / "tests" / "fixtures" / "bad_policies"
MANIFEST = CORPUS / "README.md"
ONE_SCREEN = (25, 500, 4000)  # at most this many lines, each at most this long, this many characters in all
_ROW = re.compile(r"^\| `(?P<file>[^`]+)` \| (?P<breaks>.+?) \| (?P<line>\d+) \| (?P<fragment>.+?) \|$")


@dataclass(frozen=True)
class BadInput:
    file: str
    breaks: str
    line: int
    fragment: str

    @property
    def path(self) -> Path:
        return CORPUS / self.file


def manifest() -> list[BadInput]:
    rows = [_ROW.match(line) for line in MANIFEST.read_text(encoding="utf-8").splitlines()]
    return [BadInput(m["file"], m["breaks"], int(m["line"]), m["fragment"]) for m in rows if m]


CASES = manifest()
POLICIES = [case for case in CASES if not case.file.endswith(".json")]
PLANS = [case for case in CASES if case.file.endswith(".json")]


def test_the_manifest_lists_every_file_and_at_least_fifty() -> None:
    listed = {case.file for case in CASES}
    present = {path.name for path in CORPUS.iterdir() if path.name != "README.md"}
    assert listed == present, (listed ^ present)
    assert len(CASES) >= 50 and len(PLANS) >= 5


def assert_one_screen_error(run: Run, case_path: Path, line: int, fragment: str) -> None:
    assert run.code == 2, run.stdout + run.stderr
    assert_no_traceback(run)
    lines = run.stderr.strip().splitlines()
    assert lines and len(lines) <= ONE_SCREEN[0], run.stderr
    assert all(len(text) <= ONE_SCREEN[1] for text in lines), run.stderr
    assert len(run.stderr) <= ONE_SCREEN[2], run.stderr
    # the line that holds the expected message names the file and the line
    named = [text for text in lines if fragment in text]
    assert named, (fragment, run.stderr)
    assert any(f"{case_path}:{line}:" in text for text in named), (line, run.stderr)


@pytest.mark.parametrize("case", POLICIES, ids=[case.file for case in POLICIES])
def test_broken_policy(case: BadInput, tmp_path: Path) -> None:
    out, plan = tmp_path / "reports", tmp_path / "plan.json"
    snapshot = tmp_path / "never-read.json"  # the policy is loaded first: no snapshot, no network
    checked = run_cli("check", str(case.path), "--snapshot", str(snapshot), "--out", str(out))
    assert_one_screen_error(checked, case.path, case.line, case.fragment)
    assert checked.stderr.startswith("policy error:")
    planned = run_cli("plan", str(case.path), "--snapshot", str(snapshot), "--out", str(plan))
    assert_one_screen_error(planned, case.path, case.line, case.fragment)
    validated = run_cli("validate", str(case.path))
    assert_one_screen_error(validated, case.path, case.line, case.fragment)
    assert not out.exists() and not plan.exists()
    assert not list(tmp_path.iterdir())  # nothing written at all


@pytest.mark.parametrize("case", PLANS, ids=[case.file for case in PLANS])
def test_hand_edited_plan(case: BadInput, tmp_path: Path) -> None:
    backup = tmp_path / "plan.backup.json"
    applied = run_cli("apply", str(case.path), "--yes", "--backup", str(backup))
    assert_one_screen_error(applied, case.path, case.line, case.fragment)
    assert applied.stderr.startswith("error:")
    assert not backup.exists() and not list(tmp_path.iterdir())


def test_a_policy_over_one_mebibyte(tmp_path: Path) -> None:
    """Made here rather than committed: a valid-looking policy of 2 MiB (waiver after waiver)."""
    waiver = ("  - check: writeback.unlock\n    reason: Unlock waits for the change advisory board\n"
              "    owner: iam-team@contoso.example\n    expires: 2026-06-30\n")
    huge = tmp_path / "huge.yaml"
    huge.write_text("version: 1\nwaivers:\n" + waiver * (2 * 1024 * 1024 // len(waiver) + 1))
    out = tmp_path / "reports"
    run = run_cli("check", str(huge), "--snapshot", str(tmp_path / "none.json"), "--out", str(out))
    assert_one_screen_error(run, huge, 1, "the limit is 1048576")
    assert not out.exists()


def test_a_policy_just_under_the_limit_is_read_whole(tmp_path: Path) -> None:
    """The limit is on bytes, not on what they hold: 1 MiB of comments around a valid policy is fine."""
    body = "version: 1\nadmin_sspr:\n  allowed: false\n"
    padding = "# " + "x" * 97 + "\n"
    text = body + padding * ((1024 * 1024 - len(body)) // len(padding) - 1)
    policy = tmp_path / "padded.yaml"
    policy.write_text(text)
    assert len(text.encode()) < 1024 * 1024
    run = run_cli("validate", str(policy))
    assert run.code == 0, run.stderr


@pytest.mark.parametrize("name", ["alias-bomb.yaml", "encoding-latin1.yaml", "deep-brackets.yaml",
                                  "plan-edited-value.json"])
def test_as_a_real_process(name: str, tmp_path: Path) -> None:
    """The same promise from `sspr-audit` itself: exit 2, the file:line, no traceback, nothing written."""
    case = next(c for c in CASES if c.file == name)
    command = (["apply", str(case.path), "--yes", "--backup", str(tmp_path / "b.json")] if name.endswith(".json")
               else ["check", str(case.path), "--snapshot", str(tmp_path / "s.json"), "--out", str(tmp_path / "r")])
    result = subprocess.run([sys.executable, "-m", "auditor.cli", *command], cwd=ROOT, capture_output=True,
                            text=True, timeout=120, env={**os.environ, "PYTHONWARNINGS": "ignore"})
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert f"{case.path}:{case.line}:" in result.stderr and case.fragment in result.stderr
    assert not list(tmp_path.iterdir())
