"""Issue 29 leftovers: folders written through one descriptor, and no value echoed from a file the user did not name.

- `locked_folder` yields the folder it opened (O_NOFOLLOW) and locked; files are made and renamed relative to that
  descriptor, so a folder renamed away and replaced by a link after the check is never written through.
- A fleet's tenant folder is checked by the same helper as any reports folder (`files.check_output_folder`).
- A misspelt value in a policy-shaped base file reached through `extends:` is reported at its line without the
  value: a pull request may point `extends` at a file whose values should not reach the CI log.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from auditor.app.fleet_folders import FleetFolderError, check_tenant_folder
from auditor.files import OutputPathError, locked_folder
from auditor.policy.loader import PolicyError, load_policy

SECRET = "ghp_Zx8Q2r7Lk5Tn1Vb9Wc3Yd6Fh0Jm4Ps2Ua"


def test_a_locked_folder_swapped_for_a_link_is_not_written_through(tmp_path: Path) -> None:
    out, moved, elsewhere = tmp_path / "out", tmp_path / "moved", tmp_path / "elsewhere"
    elsewhere.mkdir()
    with locked_folder(out) as folder:
        os.rename(out, moved)  # after the check and the lock, the folder is moved away and a link put in its place
        os.symlink(elsewhere, out)
        written = folder.write("sspr-audit.json", b"{}\n", mode=0o600)
    assert written == out / "sspr-audit.json"
    assert list(elsewhere.iterdir()) == []
    assert [p.name for p in moved.iterdir()] == ["sspr-audit.json"]  # no temporary file left either
    assert (moved / "sspr-audit.json").stat().st_mode & 0o777 == 0o600


def test_a_link_in_the_folder_is_replaced_never_followed(tmp_path: Path) -> None:
    precious = tmp_path / "precious.txt"
    precious.write_text("keep\n")
    with locked_folder(tmp_path / "out") as folder:
        os.symlink(precious, folder.path / "sspr-audit.json")
        assert folder.is_link("sspr-audit.json")
        folder.write("sspr-audit.json", b"report\n")
    assert precious.read_text() == "keep\n"
    assert not (tmp_path / "out" / "sspr-audit.json").is_symlink()


def test_the_fleet_tenant_folder_check_is_the_reports_folder_check(tmp_path: Path) -> None:
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "demo").symlink_to(tmp_path, target_is_directory=True)
    with pytest.raises(FleetFolderError, match="symlink"):
        check_tenant_folder(tmp_path / "out", "demo")
    (tmp_path / "out" / "file").write_text("x")
    with pytest.raises(FleetFolderError, match="not a folder"):
        check_tenant_folder(tmp_path / "out", "file")
    with pytest.raises(OutputPathError, match="symlink"), locked_folder(tmp_path / "out" / "demo"):
        pass


def policy_extending(tmp_path: Path, base: str, own: str = "") -> Path:
    (tmp_path / ".git").mkdir()
    (tmp_path / "base.yaml").write_text(base)
    policy = tmp_path / "policy.yaml"
    policy.write_text("version: 1\nextends: base.yaml\n" + own)
    return policy


@pytest.mark.parametrize("base", [
    f"version: 1\nsspr:\n  scope: {SECRET}\n",  # an enum: "(got …)"
    f"version: 1\nsspr:\n  scope: all\n  methods_required: {SECRET}\n",  # a number: "(got …)"
])
def test_a_bad_value_in_an_extended_base_is_not_echoed(tmp_path: Path, base: str) -> None:
    policy = policy_extending(tmp_path, base)
    with pytest.raises(PolicyError) as caught:
        load_policy(policy)
    message = str(caught.value)
    assert SECRET not in message and SECRET[:12] not in message, message
    assert "base.yaml:" in message and "sspr." in message and "not shown" in message


def test_the_users_own_file_still_says_what_it_got(tmp_path: Path) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text("version: 1\nsspr:\n  scope: everyone\n")
    with pytest.raises(PolicyError, match=r"policy.yaml:3:\d+: sspr.scope: .*\(got 'everyone'\)"):
        load_policy(policy)
