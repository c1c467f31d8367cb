"""Issue 29, class 1: state carried between runs is bound to its tenant and sealed; never another tenant's pass.

Against the lab emulators through the real clients: portal snapshots (`collect --portal-only`, `check
--portal-snapshot`), login caches (`login`, `--portal-auth login-cache`, MSAL against the lab identity
platform), plans and backups (`plan`, `apply`, `rollback`). The lab scenarios `demo` and `baseline` are two
tenants with different ids (their /directory/onPremisesSynchronization ids), as Graph reports them.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from auditor.cli import main
from auditor.exit_codes import Exit
from auditor.lab.server import LabIdentityServer, LabServer
from tests.helpers.fault_matrix import assert_no_traceback, run_cli
from tests.integration.test_portal_snapshot import (
    changed_checks,
    graph,
    moved,
    policy_file,
    portal,
    portal_checks,
    resealed,
    take_snapshot,
    verdicts,
)

ROOT = Path(__file__).resolve().parents[2]
PLAN_KEY = "bound-state-plan-key-0e4c7a19d2b85f36"
LOGIN_KEY = "bound-state-login-key-9a3d6f1b0c8e2475"
NOT_UTF8 = b"\xff\xfe\x81bound-state-key-\xc3(-6e1f0a9c4d27b583"
WRITES = {"PUT", "PATCH", "POST", "DELETE"}


@pytest.fixture(autouse=True)
def no_keys(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SSPR_PLAN_KEY", raising=False)
    monkeypatch.setenv("SSPR_LOCK_DIR", str(tmp_path / "locks"))


@pytest.fixture(name="demo")
def demo_fixture() -> Iterator[LabServer]:
    with LabServer("demo") as server:
        yield server


@pytest.fixture(name="baseline")
def baseline_fixture() -> Iterator[LabServer]:
    with LabServer("baseline") as server:
        yield server


def tenant_of(lab: LabServer) -> str:
    return str(lab.state.tenant.on_premises_synchronization[0]["id"])


def audit(lab: LabServer, policy: Path, out: Path, *extra: str) -> dict[tuple[str, str], dict[str, Any]]:
    """`check`'s findings, whatever the verdict (the baseline tenant complies: exit 0)."""
    run = run_cli("check", str(policy), *graph(lab), *extra, "--out", str(out), "--format", "json")
    assert_no_traceback(run)
    assert run.code in (0, 1, 3), run.stdout + run.stderr
    report = json.loads((out / "sspr-audit.json").read_text())
    return {(f["check"], f["target"]): f for f in report["findings"]}


def statuses(run: dict[tuple[str, str], dict[str, Any]]) -> dict[tuple[str, str], str]:
    return {key: finding["status"] for key, finding in run.items()}


# --- portal snapshots -----------------------------------------------------------------------------


def test_a_portal_snapshot_names_the_tenant_graph_reported_and_the_run_says_it_is_unsealed(
        demo: LabServer, tmp_path: Path) -> None:
    out = tmp_path / "portal.json"
    run = run_cli("collect", *graph(demo), *portal(demo), "--portal-only", "--out", str(out))
    assert run.code == 0 and f"of tenant {tenant_of(demo)}" in run.stdout and "not sealed" in run.stdout
    data = json.loads(out.read_text())
    assert data["tenant_id"] == tenant_of(demo) and data["digest"].startswith("sha256:") and data["mac"] is None
    check = run_cli("check", str(policy_file(tmp_path)), *graph(demo), "--portal-snapshot", str(out),
                    "--out", str(tmp_path / "r"), "--format", "json")
    assert "taken on trust" in check.stderr and "SSPR_PLAN_KEY" in check.stderr
    report = json.loads((tmp_path / "r" / "sspr-audit.json").read_text())
    sources = {e["source"] for f in report["findings"] for e in f.get("evidence") or []}
    assert any("portal snapshot portal.json of" in s and "unsealed" in s for s in sources)


def test_no_portal_snapshot_is_written_when_graph_does_not_name_the_tenant(tmp_path: Path) -> None:
    out = tmp_path / "portal.json"
    run = run_cli("collect", "--lab", "demo", "--lab-forbid", "sync", "--portal-only", "--out", str(out),
                  "--progress", "never")
    assert_no_traceback(run)
    assert run.code == Exit.incomplete and "must name its tenant" in run.stderr, run.stdout + run.stderr
    assert "/directory/onPremisesSynchronization" in run.stderr and not out.exists()


def test_another_tenants_portal_snapshot_makes_the_portal_checks_unknown_naming_both(
        demo: LabServer, baseline: LabServer, tmp_path: Path) -> None:
    policy = policy_file(tmp_path)
    (tmp_path / "own").mkdir()
    (tmp_path / "foreign").mkdir()
    own, foreign = take_snapshot(baseline, tmp_path / "own"), take_snapshot(demo, tmp_path / "foreign")
    fresh = audit(baseline, policy, tmp_path / "fresh", "--portal-snapshot", str(own))
    crossed = audit(baseline, policy, tmp_path / "crossed", "--portal-snapshot", str(foreign))
    changed = changed_checks(fresh, crossed)
    assert changed and changed <= portal_checks()
    for finding in moved(fresh, crossed):
        assert finding["status"] == "unknown", finding
        reason = finding["reason"]
        assert tenant_of(demo) in reason and tenant_of(baseline) in reason and "\n" not in reason, reason


def test_with_the_key_an_edited_date_and_value_break_the_seal_never_a_pass(
        demo: LabServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SSPR_PLAN_KEY", PLAN_KEY)
    policy = policy_file(tmp_path, max_age_days=1)
    old = take_snapshot(demo, tmp_path, datetime.now(UTC) - timedelta(days=5))  # sealed when it was written
    assert json.loads(old.read_text())["mac"].startswith("hmac-sha256:")
    stale = verdicts(demo, policy, tmp_path / "stale", "--portal-snapshot", str(old))
    data = json.loads(old.read_text())
    data["created_at"] = datetime.now(UTC).isoformat().replace("+00:00", "Z")  # "taken today"
    data["sspr_policy"]["value"]["methods_required"] = 2  # and a value an attacker prefers
    monkeypatch.delenv("SSPR_PLAN_KEY")  # without the key, the attacker recomputes the digest only
    edited_text = resealed(data)
    monkeypatch.setenv("SSPR_PLAN_KEY", PLAN_KEY)
    old.write_text(edited_text)
    edited = verdicts(demo, policy, tmp_path / "edited", "--portal-snapshot", str(old))
    assert statuses(edited) == statuses(stale)  # the age rule and the verdicts did not follow the edit
    refused = [f for f in moved(verdicts(demo, policy, tmp_path / "none"), edited) if f["check"] in portal_checks()]
    assert not refused  # exactly as unknown as a run without the portal
    reasons = {f["reason"] for f in edited.values() if f["check"] in portal_checks() and f["status"] == "unknown"}
    assert any("is not signed" in r or "signature does not match" in r for r in reasons), reasons


def test_a_snapshot_without_seal_or_tenant_is_not_used(demo: LabServer, tmp_path: Path) -> None:
    policy = policy_file(tmp_path)
    path = take_snapshot(demo, tmp_path)
    fresh = verdicts(demo, policy, tmp_path / "fresh", "--portal-snapshot", str(path))
    data = json.loads(path.read_text())
    for field in ("tenant_id", "digest", "mac"):  # as an older sspr-audit wrote it
        data.pop(field)
    path.write_text(json.dumps(data))
    older = verdicts(demo, policy, tmp_path / "older", "--portal-snapshot", str(path))
    changed = moved(fresh, older)
    assert changed and all(f["status"] == "unknown" and "has no seal and names no tenant" in f["reason"]
                           for f in changed)


# --- login caches ---------------------------------------------------------------------------------


@pytest.fixture(name="labs")
def labs_fixture(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[tuple[LabServer, LabIdentityServer]]:
    with LabServer("demo") as lab, LabIdentityServer() as identity:
        identity.guard(lab)
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(identity.ca_file))
        monkeypatch.setenv("AZURE_AUTHORITY_HOST", identity.base_url)
        monkeypatch.setenv("SSPR_LOGIN_KEY", LOGIN_KEY)
        monkeypatch.delenv("SSPR_LOGIN_CACHE", raising=False)
        monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
        yield lab, identity


def login(identity: LabIdentityServer, cache: Path) -> Any:
    run = run_cli("login", "--tenant-id", identity.state.tenant_id, "--cache", str(cache))
    assert_no_traceback(run)
    return run


def check_with(lab: LabServer, cache: Path, out: Path, *extra: str) -> Any:
    run = run_cli("check", str(policy_file(out.parent)), "--graph-url", lab.graph_url, "--auth", "lab", "--portal",
                  "--portal-url", lab.portal_url, "--portal-auth", "login-cache", "--login-cache", str(cache),
                  *extra, "--out", str(out), "--format", "json", "--progress", "never")
    assert_no_traceback(run)
    return run


def test_a_login_cache_of_one_tenant_refuses_another_tenant_id(
        labs: tuple[LabServer, LabIdentityServer], tmp_path: Path) -> None:
    lab, identity = labs
    cache = tmp_path / "cache.json"
    assert login(identity, cache).code == 0
    other = "0b7c4a2e-5d1f-4e8a-9c3b-6f2d1e0a9b8c"  # not the lab's tenant, which the reader signs in to
    assert other != identity.state.tenant_id
    lab.state.clear_log()
    run = check_with(lab, cache, tmp_path / "out", "--tenant-id", other)
    assert run.code == 2, run.stdout + run.stderr
    line = run.stderr.strip().splitlines()[-1]
    assert identity.state.tenant_id in line and other in line
    assert not lab.requests() and not (tmp_path / "out").exists()
    assert check_with(lab, cache, tmp_path / "same", "--tenant-id", identity.state.tenant_id).code in (1, 3)


def test_a_symlinked_cache_is_refused_and_stays_a_link(
        labs: tuple[LabServer, LabIdentityServer], tmp_path: Path) -> None:
    lab, identity = labs
    identity.state.access_token_seconds = 60  # the next run refreshes, and so would rewrite the cache
    real, link = tmp_path / "real.json", tmp_path / "link.json"
    assert login(identity, real).code == 0
    link.symlink_to(real)
    sealed = real.read_bytes()
    run = check_with(lab, link, tmp_path / "out")
    assert run.code == 2 and "symbolic link" in run.stderr, run.stdout + run.stderr
    assert link.is_symlink() and real.read_bytes() == sealed


@pytest.mark.parametrize("case", ["group readable", "world readable", "another owner"])
def test_a_cache_others_can_read_or_replace_is_refused_as_ssh_refuses_a_key(
        labs: tuple[LabServer, LabIdentityServer], tmp_path: Path, case: str) -> None:
    lab, identity = labs
    cache = tmp_path / "cache.json"
    assert login(identity, cache).code == 0
    if case == "another owner":
        if os.geteuid() != 0:
            pytest.skip("giving a file to another user needs root")
        os.chown(cache, 65534, 65534)
    else:
        cache.chmod(0o640 if case == "group readable" else 0o604)
    lab.state.clear_log()
    run = check_with(lab, cache, tmp_path / "out")
    assert run.code == 2, run.stdout + run.stderr
    assert ("owned by uid 65534" if case == "another owner" else "chmod 600") in run.stderr
    assert not lab.requests()


def test_a_key_that_is_not_utf8_seals_after_the_sign_in_and_opens_again(
        labs: tuple[LabServer, LabIdentityServer], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    lab, identity = labs
    monkeypatch.setitem(os.environb, b"SSPR_LOGIN_KEY", NOT_UTF8)
    cache = tmp_path / "cache.json"
    run = login(identity, cache)
    assert run.code == 0, run.stdout + run.stderr
    assert stat.S_IMODE(cache.stat().st_mode) == 0o600
    checked = check_with(lab, cache, tmp_path / "out")
    assert checked.code in (1, 3)
    report = json.loads((tmp_path / "out" / "sspr-audit.json").read_text())
    assert not [f for f in report["findings"] if "login" in (f.get("reason") or "")]


@pytest.mark.parametrize("key", [" " * 32, "k" * 40])
def test_a_weak_login_key_is_refused_before_any_request(
        labs: tuple[LabServer, LabIdentityServer], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, key: str) -> None:
    _, identity = labs
    monkeypatch.setenv("SSPR_LOGIN_KEY", key)
    run = login(identity, tmp_path / "cache.json")
    assert run.code == 2 and "openssl rand -base64 32" in run.stderr, run.stderr
    assert not identity.state.outcomes() and not (tmp_path / "cache.json").exists()


# --- plans and backups ----------------------------------------------------------------------------


def source(lab: LabServer) -> list[str]:
    return ["--graph-url", lab.graph_url, "--portal", "--portal-url", lab.portal_url, "--portal-auth", "lab"]


def writes(lab: LabServer) -> list[tuple[str, str]]:
    time.sleep(0.05)  # the emulator logs a request just after answering it
    return [(r.method, r.path) for r in lab.requests() if r.method in WRITES]


def make_plan(lab: LabServer, tmp_path: Path) -> Path:
    policy = tmp_path / "policy.yaml"
    shutil.copy(ROOT / "policies" / "baseline.yaml", policy)
    out = tmp_path / "plan.json"
    assert main(["plan", str(policy), *source(lab), "--out", str(out)]) == Exit.changes
    lab.state.clear_log()
    return out


def test_a_plan_key_that_is_not_utf8_signs_the_plan(demo: LabServer, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(os.environb, b"SSPR_PLAN_KEY", NOT_UTF8)
    plan = make_plan(demo, tmp_path)
    data = json.loads(plan.read_text())
    assert data["mac"].startswith("hmac-sha256:") and data["source"]["read_tenant_id"] == tenant_of(demo)


def test_a_plan_is_not_applied_to_a_tenant_the_same_credentials_now_reach(
        demo: LabServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    plan = make_plan(demo, tmp_path)
    planned = tenant_of(demo)
    other = "0b5e9d2c-7a41-4c8e-9f36-d1a2b3c4e5f6"
    demo.state.tenant.on_premises_synchronization[0]["id"] = other  # same URLs, no --tenant-id: another tenant
    demo.state.encoded.clear()
    demo.state.kept.clear()
    capsys.readouterr()
    assert main(["apply", str(plan), "--yes", "--backup", str(tmp_path / "b.json")]) == Exit.refused
    err = capsys.readouterr().err
    assert planned in err and other in err and "--other-target" in err
    assert writes(demo) == [] and not (tmp_path / "b.json").exists()


def test_a_backup_is_not_restored_to_other_endpoints(demo: LabServer, tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    plan = make_plan(demo, tmp_path)
    backup = tmp_path / "b.json"
    assert main(["apply", str(plan), "--yes", "--backup", str(backup)]) == Exit.ok
    with LabServer("demo") as other:
        other.state.clear_log()
        capsys.readouterr()
        code = main(["rollback", str(backup), "--yes", "--graph-url", other.graph_url, "--portal-url",
                     other.portal_url])
        err = capsys.readouterr().err
        assert code == Exit.refused and other.graph_url in err and demo.graph_url in err, err
        assert writes(other) == []
