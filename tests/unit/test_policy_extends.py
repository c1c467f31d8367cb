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
    (tmp_path / ".git").mkdir()  # a repository: `../base.yaml` stays inside it
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


# -- issue 29: `extends` stays in the policy's repository folder and never prints a file that is no policy -------

SECRETS = {
    "mapping": "client_secret: hunter2-Secret\npassword: SuperSecret\n",
    "env": "AZURE_CLIENT_SECRET=hunter2-Secret\n",
    "json": '{"clientId": "x", "clientSecret": "hunter2-Secret", "tenantId": "SuperSecret"}\n',
    "duplicate key": "token: hunter2-Secret\ntoken: SuperSecret\n",
    "bad yaml": "password: [hunter2-Secret\nSuperSecret: {\n",
    "alias": "a: *hunter2-Secret\n",
    "list": "- hunter2-Secret\n- SuperSecret\n",
    "pem": "-----BEGIN PRIVATE KEY-----\nhunter2-Secret\n-----END PRIVATE KEY-----\n",
    "binary": b"\x30\x82\x01\xffhunter2-Secret\x00SuperSecret",
    "utf16": "password: hunter2-Secret\n".encode("utf-16"),
}


@pytest.mark.parametrize("kind", list(SECRETS))
def test_extends_naming_a_file_that_is_no_policy_never_prints_it(kind: str, tmp_path: Path,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    secret = tmp_path / "secret.txt"
    content = SECRETS[kind]
    secret.write_bytes(content if isinstance(content, bytes) else content.encode())
    child = write(tmp_path, "child.yaml", "version: 1\nextends: secret.txt\nwriteback:\n  enabled: true\n")
    with pytest.raises(PolicyError) as caught:
        load_policy(child)
    text = str(caught.value)
    for word in ("hunter2", "SuperSecret", "client_secret", "clientSecret", "password", "token", "PRIVATE"):
        assert word not in text, text
    (issue,) = caught.value.issues
    assert (issue.file, issue.line, issue.path) == (str(child), 2, "extends")
    assert "secret.txt is not a policy file" in issue.message and "\n" not in str(issue)
    assert main(["validate", str(child)]) == 2
    err = capsys.readouterr().err
    assert "hunter2" not in err and "SuperSecret" not in err and "secret.txt" in err


def test_a_base_policy_with_a_misspelt_section_keeps_its_helpful_message(tmp_path: Path) -> None:
    write(tmp_path, "base.yaml", BASE.replace("writeback:", "writebak:"))
    child = write(tmp_path, "child.yaml", "extends: base.yaml\n")
    with pytest.raises(PolicyError) as caught:
        load_policy(child)
    (issue,) = caught.value.issues
    assert issue.file == str((tmp_path / "base.yaml").resolve()) and issue.line == 8
    assert issue.path == "writebak" and "did you mean `writeback`" in issue.message


@pytest.mark.parametrize(("ref", "needle"), [
    ("/etc/passwd", "is an absolute path"),
    ("../outside/base.yaml", "leaves"),
    ("../../../../../../etc/hostname", "leaves"),
    ("escape.yaml", "is a symbolic link to a file outside"),
    ("loop.yaml", "go round in a loop"),
    ("", "takes the relative path of a policy file"),
])
def test_extends_outside_the_policy_folder_is_refused(ref: str, needle: str, tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    write(tmp_path, "outside/base.yaml", BASE)
    (repo / "escape.yaml").parent.mkdir(parents=True)
    (repo / "escape.yaml").symlink_to(tmp_path / "outside" / "base.yaml")
    (repo / "loop.yaml").symlink_to(repo / "loop2.yaml")
    (repo / "loop2.yaml").symlink_to(repo / "loop.yaml")
    child = write(repo, "child.yaml", f"version: 1\nextends: '{ref}'\nwriteback:\n  enabled: true\n")
    with pytest.raises(PolicyError) as caught:
        load_policy(child)
    (issue,) = caught.value.issues
    assert (issue.file, issue.line, issue.path) == (str(child), 2, "extends") and needle in issue.message, issue


def test_a_symlink_loop_is_exit_2_not_a_traceback(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "a.yaml").symlink_to(tmp_path / "b.yaml")
    (tmp_path / "b.yaml").symlink_to(tmp_path / "a.yaml")
    child = write(tmp_path, "child.yaml", "extends: a.yaml\nwriteback:\n  enabled: true\n")
    assert main(["validate", str(child)]) == 2
    assert "go round in a loop" in capsys.readouterr().err


def test_the_repository_folder_and_sspr_extends_allow_widen_the_boundary(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    shared = write(tmp_path, "shared/base.yaml", BASE)
    child = write(tmp_path, "repo/tenants/contoso.yaml", "extends: ../../shared/base.yaml\n")
    with pytest.raises(PolicyError, match="leaves"):
        load_policy(child)
    monkeypatch.setenv("SSPR_EXTENDS_ALLOW", str(tmp_path / "shared"))
    assert load_policy(child).writeback is not None
    absolute = write(tmp_path, "repo/abs.yaml", f"extends: {shared}\n")
    assert load_policy(absolute).writeback is not None
    monkeypatch.delenv("SSPR_EXTENDS_ALLOW")
    (tmp_path / ".git").mkdir()  # now all of tmp_path is one repository
    assert load_policy(child).writeback is not None


def test_a_fleet_tenant_policy_is_held_to_the_same_boundary(tmp_path: Path) -> None:
    from auditor.policy.fleet import load_fleet

    write(tmp_path, "secret.json", '{"clientSecret": "hunter2-Secret"}')
    write(tmp_path, "elsewhere/base.yaml", BASE)
    fleet = write(tmp_path, "fleet/fleet.yaml", "version: 1\ntenants:\n"
                  "  - name: a\n    lab: {scenario: demo}\n    policy: ../secret.json\n"
                  "  - name: b\n    lab: {scenario: demo}\n    policy: {extends: ../elsewhere/base.yaml}\n")
    with pytest.raises(PolicyError) as caught:
        load_fleet(fleet)
    first, second = caught.value.issues
    assert (first.line, first.path) == (5, "tenants.0.policy") and "leaves" in first.message
    assert (second.line, second.path) == (8, "tenants.1.policy.extends") and "leaves" in second.message
    write(tmp_path, "fleet/secret.json", '{"clientSecret": "hunter2-Secret"}')
    fleet.write_text(fleet.read_text().replace("../secret.json", "secret.json").replace("../elsewhere/", ""))
    write(tmp_path, "fleet/base.yaml", BASE)
    with pytest.raises(PolicyError) as caught:
        load_fleet(fleet)
    (issue,) = caught.value.issues
    assert "secret.json is not a policy file" in issue.message and "hunter2" not in str(caught.value)
