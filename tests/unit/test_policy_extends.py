"""Issue 16: a per-tenant policy `extends` a base and states only what differs; errors name the file that erred."""

from __future__ import annotations

from pathlib import Path

import pytest

from auditor.cli import main
from auditor.policy.loader import PolicyError, load_policy

ROOT = Path(__file__).resolve().parents[2]
BASE = """\
version: 1
sspr:
  scope: all
  methods_required: 2
  methods:
    email: true
    mobile_phone: true
writeback:
  enabled: true
waivers:
  - check: sspr.helpdesk
    reason: base waiver
    owner: a@example.org
    expires: 2099-01-01
"""


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_mappings_merge_key_by_key_and_lists_are_replaced(tmp_path: Path) -> None:
    base = write(tmp_path, "base.yaml", BASE)
    child = write(tmp_path, "tenants/contoso.yaml", "extends: ../base.yaml\nsspr:\n  methods_required: 1\n"
                                                    "waivers: []\n")
    policy = load_policy(child)
    assert policy.sspr is not None and policy.sspr.methods_required == 1 and policy.sspr.scope == "all"
    assert policy.writeback is not None and policy.writeback.enabled is True
    assert policy.waivers == []  # a list is replaced, not appended to
    # where each key was set: the override in the child, the rest in the base
    assert (policy.location("sspr.methods_required").file, policy.location("sspr.methods_required").line) == (
        str(child), 3)
    inherited = policy.location("writeback.enabled")
    assert (inherited.file, inherited.line) == (str(base.resolve()), 9)


def test_an_error_in_the_base_names_the_base_and_its_line(tmp_path: Path) -> None:
    write(tmp_path, "base.yaml", BASE.replace("methods_required: 2", "methods_required: seven"))
    child = write(tmp_path, "child.yaml", "extends: base.yaml\nwriteback:\n  unlock: true\n")
    with pytest.raises(PolicyError) as caught:
        load_policy(child)
    issue = caught.value.issues[0]
    assert issue.file == str((tmp_path / "base.yaml").resolve()) and issue.line == 4
    assert issue.path == "sspr.methods_required"


def test_an_error_in_the_override_names_the_override(tmp_path: Path) -> None:
    write(tmp_path, "base.yaml", BASE)
    child = write(tmp_path, "child.yaml", "extends: base.yaml\nsspr:\n  methods_required: 9\n")
    with pytest.raises(PolicyError) as caught:
        load_policy(child)
    issue = caught.value.issues[0]
    assert (issue.file, issue.line, issue.path) == (str(child), 3, "sspr.methods_required")


@pytest.mark.parametrize(("text", "message"), [
    ("extends: nowhere.yaml\n", "nowhere.yaml is not a file"),
    ("extends: child.yaml\n", "goes round in a circle"),
    ("extends: 3\n", "takes the path of a policy file"),
])
def test_a_bad_extends_is_an_error_on_its_line(tmp_path: Path, text: str, message: str) -> None:
    child = write(tmp_path, "child.yaml", "version: 1\n" + text + "writeback:\n  enabled: true\n")
    with pytest.raises(PolicyError) as caught:
        load_policy(child)
    issue = caught.value.issues[0]
    assert (issue.file, issue.line, issue.path) == (str(child), 2, "extends") and message in issue.message


def test_a_longer_cycle_is_found(tmp_path: Path) -> None:
    write(tmp_path, "a.yaml", "extends: b.yaml\nwriteback:\n  enabled: true\n")
    write(tmp_path, "b.yaml", "extends: a.yaml\nwriteback:\n  enabled: true\n")
    with pytest.raises(PolicyError, match="circle"):
        load_policy(tmp_path / "a.yaml")


def test_the_digest_covers_the_base(tmp_path: Path) -> None:
    base = write(tmp_path, "base.yaml", BASE)
    child = write(tmp_path, "child.yaml", "extends: base.yaml\n")
    before = load_policy(child).source_sha256
    base.write_text(BASE.replace("methods_required: 2", "methods_required: 1"))
    assert load_policy(child).source_sha256 != before  # a plan made from the child notices the base changed


def test_validate_show_prints_the_expanded_policy_with_where_each_key_came_from(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(tmp_path, "base.yaml", BASE)
    child = write(tmp_path, "child.yaml", "extends: base.yaml\nsspr:\n  methods_required: 1\n")
    assert main(["validate", "--show", str(child)]) == 0
    out = capsys.readouterr().out
    assert f"methods_required: 1 # {child}:3" in out
    assert f"enabled: true  # {(tmp_path / 'base.yaml').resolve()}:9" in out
    assert "extends" not in out.split("\n", 2)[2]  # merged away
