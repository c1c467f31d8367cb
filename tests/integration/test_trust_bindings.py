"""Issue 29 leftovers: no run reads another tenant's state, or an edited file, as its own.

- A full snapshot (`collect`, then `check --snapshot`) is sealed and names its tenant as a portal snapshot does:
  an edited date or value, an unsigned file while SSPR_PLAN_KEY is set, and a snapshot of another tenant than the
  policy's are refused (exit 2), before any verdict.
- A policy's `tenant.tenant_id` is no longer a label only: the tenant Graph reports (live or lab) and the fleet
  inventory's id for the tenant must be it (exit 2, at the policy's line, naming both ids).
- A login cache serves only the tenant Graph reports, with or without --tenant-id.
- A refresh of the login cache is written into the folder it was read from, never through a link or a folder
  swapped in since.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from auditor.lab.server import LabIdentityServer, LabServer
from tests.helpers.fault_matrix import assert_no_traceback, run_cli
from tests.integration.test_login_cache import labs_fixture, login, with_cache  # noqa: F401 (the `labs` fixture)
from tests.integration.test_portal_snapshot import policy_file

ROOT = Path(__file__).resolve().parents[2]
KEY = "9f8e7d6c5b4a39281706f5e4d3c2b1a0" + "Zq7Wx2Rt"
LAB_TENANT = "9c1d7e4b-2a3f-4b5c-8d6e-7f8091a2b3c4"  # the demo scenario's onPremisesSynchronization id
OTHER_TENANT = "0b7c4a2e-5d1f-4e8a-9c3b-6f2d1e0a9b8c"


def cloud_policy(folder: Path, tenant_id: str | None = None) -> Path:
    """The baseline without its `directory` section (no DC), naming `tenant_id` when given."""
    from ruamel.yaml import YAML

    yaml = YAML(typ="rt")
    base = yaml.load((ROOT / "policies" / "baseline.yaml").read_text())
    del base["directory"]
    if tenant_id is not None:
        base["tenant"] = {"name": "Contoso", "tenant_id": tenant_id}
    path = folder / "policy.yaml"
    with path.open("w") as handle:
        yaml.dump(base, handle)
    return path


def refused(run: Any, *needles: str) -> str:
    assert_no_traceback(run)
    assert run.code == 2, run.stdout + run.stderr
    for needle in needles:
        assert needle in run.stderr, (needle, run.stderr)
    return run.stderr


def tenant_line(policy: Path) -> int:
    return next(number for number, line in enumerate(policy.read_text().splitlines(), 1) if "tenant_id:" in line)


# --- full snapshots: sealed, bound to their tenant -------------------------------------------------------------


def test_a_collected_snapshot_is_sealed_and_an_edit_of_its_date_or_a_value_is_refused(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SSPR_PLAN_KEY", KEY)
    policy, snapshot = cloud_policy(tmp_path), tmp_path / "snap.json"
    assert run_cli("collect", "--lab", "demo", "--out", str(snapshot)).code == 0
    data = json.loads(snapshot.read_text())
    assert data["tenant_id"] == LAB_TENANT and data["mac"].startswith("hmac-sha256:")
    assert run_cli("check", str(policy), "--snapshot", str(snapshot), "--out", str(tmp_path / "ok")).code == 1

    newer = dict(data, created_at="2099-01-01T00:00:00Z")  # a stale snapshot made to look fresh
    (tmp_path / "newer.json").write_text(json.dumps(newer))
    refused(run_cli("check", str(policy), "--snapshot", str(tmp_path / "newer.json"), "--out", str(tmp_path / "a")),
            "newer.json", "edited")
    section = data["authorization_policy"]["value"]
    flipped = dict(data, authorization_policy=dict(data["authorization_policy"], value=dict(
        section, allowed_to_use_sspr=not section["allowed_to_use_sspr"])))
    (tmp_path / "flipped.json").write_text(json.dumps(flipped))
    refused(run_cli("check", str(policy), "--snapshot", str(tmp_path / "flipped.json"), "--out", str(tmp_path / "b")),
            "flipped.json", "edited")
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


def test_with_the_key_an_unsigned_snapshot_is_refused_and_without_it_one_with_no_seal_is_noted(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SSPR_PLAN_KEY", raising=False)
    policy, snapshot = cloud_policy(tmp_path), tmp_path / "snap.json"
    assert run_cli("collect", "--lab", "demo", "--out", str(snapshot)).code == 0  # sealed with a digest only
    data = json.loads(snapshot.read_text())
    assert data["digest"].startswith("sha256:") and data["mac"] is None
    monkeypatch.setenv("SSPR_PLAN_KEY", KEY)
    refused(run_cli("check", str(policy), "--snapshot", str(snapshot), "--out", str(tmp_path / "a")),
            "SSPR_PLAN_KEY is set", "not signed")
    bare = {k: v for k, v in data.items() if k not in ("digest", "mac")}  # an older file, or a seal torn off
    (tmp_path / "bare.json").write_text(json.dumps(bare))
    refused(run_cli("check", str(policy), "--snapshot", str(tmp_path / "bare.json"), "--out", str(tmp_path / "b")),
            "has no seal", "SSPR_PLAN_KEY is set")
    monkeypatch.delenv("SSPR_PLAN_KEY")
    taken = run_cli("check", str(policy), "--snapshot", str(tmp_path / "bare.json"), "--out", str(tmp_path / "c"))
    assert taken.code == 1 and "no seal" in taken.stderr and "taken on trust" in taken.stderr, taken.stderr


def test_a_snapshot_of_another_tenant_than_the_policys_is_refused(tmp_path: Path) -> None:
    snapshot = tmp_path / "snap.json"
    assert run_cli("collect", "--lab", "demo", "--out", str(snapshot)).code == 0
    policy = cloud_policy(tmp_path, OTHER_TENANT)
    for command in ("check", "plan"):
        stderr = refused(run_cli(command, str(policy), "--snapshot", str(snapshot), "--out", str(tmp_path / command)),
                         f"{policy}:{tenant_line(policy)}:", "tenant.tenant_id", OTHER_TENANT, LAB_TENANT)
        assert "snap.json" in stderr
        assert not (tmp_path / command).exists()
    same = cloud_policy(tmp_path, LAB_TENANT.upper())  # ids compare case-insensitively
    assert run_cli("check", str(same), "--snapshot", str(snapshot), "--out", str(tmp_path / "same")).code == 1


# --- the policy's tenant against the tenant read and the fleet inventory ------------------------------------------


def test_a_policy_of_another_tenant_than_graph_reports_is_an_input_error(tmp_path: Path) -> None:
    policy = cloud_policy(tmp_path, OTHER_TENANT)
    refused(run_cli("check", str(policy), "--lab", "demo", "--out", str(tmp_path / "r")),
            f"{policy}:{tenant_line(policy)}:", "tenant.tenant_id", OTHER_TENANT, "Graph reports", LAB_TENANT)
    assert not (tmp_path / "r").exists()
    own = cloud_policy(tmp_path, LAB_TENANT)
    assert run_cli("check", str(own), "--lab", "demo", "--out", str(tmp_path / "own")).code == 1


def test_a_fleet_tenant_whose_policy_names_another_tenant_id_is_an_input_error(tmp_path: Path) -> None:
    policy = cloud_policy(tmp_path, OTHER_TENANT)
    fleet = tmp_path / "fleet.yaml"
    fleet.write_text(f"version: 1\ntenants:\n  - name: contoso\n    tenant_id: {LAB_TENANT}\n    auth: secret\n"
                     f"    policy: {policy.name}\n")
    refused(run_cli("fleet", "check", str(fleet), "--out", str(tmp_path / "out")),
            f"{policy}:{tenant_line(policy)}:", OTHER_TENANT, LAB_TENANT, "fleet inventory")
    assert not (tmp_path / "out").exists()


# --- the login cache ---------------------------------------------------------------------------------------------


def test_a_login_cache_of_another_tenant_is_refused_without_tenant_id(
        labs: tuple[LabServer, LabIdentityServer], tmp_path: Path) -> None:
    lab, identity = labs
    identity.state.tenant_id = OTHER_TENANT  # the reader signed in to another tenant than the lab's Graph
    cache = tmp_path / "cache.json"
    assert login(identity, cache).code == 0
    run = run_cli("check", str(policy_file(tmp_path)), "--graph-url", lab.graph_url, "--auth", "lab", "--portal",
                  "--portal-url", lab.portal_url, *with_cache(cache), "--out", str(tmp_path / "r"), "--progress",
                  "never")
    refused(run, str(cache), OTHER_TENANT, LAB_TENANT)
    assert not (tmp_path / "r").exists()


def test_a_refresh_is_written_into_the_folder_the_cache_was_read_from(
        labs: tuple[LabServer, LabIdentityServer], tmp_path: Path) -> None:
    from auditor.readers.credentials import PORTAL_SCOPE
    from auditor.readers.login_cache import LoginCacheCredential

    _, identity = labs
    identity.state.access_token_seconds = 60  # under MSAL's margin: the first token is a refresh, which rotates
    folder = tmp_path / "private"
    folder.mkdir(mode=0o700)
    cache = folder / "cache.json"
    assert login(identity, cache).code == 0
    sealed = cache.read_bytes()
    credential = LoginCacheCredential(cache)
    # meanwhile, the cache's folder is moved away and a link to another folder is put in its place
    elsewhere, moved = tmp_path / "elsewhere", tmp_path / "moved"
    elsewhere.mkdir()
    os.rename(folder, moved)
    os.symlink(elsewhere, folder)
    assert credential.get_token(PORTAL_SCOPE).token
    assert identity.state.outcomes("refresh_token") == ["refreshed"]
    assert list(elsewhere.iterdir()) == []  # nothing written through the link
    assert (moved / "cache.json").read_bytes() != sealed  # the rotated token kept where the cache was read
    assert [p.name for p in moved.iterdir()] == ["cache.json"]  # and no temporary file left behind
