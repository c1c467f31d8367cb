"""Issue 15, way 2: a dedicated reader signs in once (device code) and unattended runs refresh silently.

Through the CLI against the lab: the emulator's portal is guarded by the lab identity platform
(`LabIdentityServer.guard`), so it takes only user tokens for the portal's resource that the platform issued
over TLS, as the real portal takes only delegated tokens. MSAL runs for real (device-code flow, silent refresh,
refresh-token rotation); the only lab-specific settings are `AZURE_AUTHORITY_HOST` and the lab CA in
`REQUESTS_CA_BUNDLE`.
"""

from __future__ import annotations

import json
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from auditor.lab.identity import issue_app_token
from auditor.lab.server import LabIdentityServer, LabServer
from tests.helpers.fault_matrix import assert_no_traceback, run_cli
from tests.integration.test_portal_snapshot import changed_checks, policy_file, portal_checks

KEY = "login-key-canary-4f1b9c7e2d8a6b3f5e0c1a9d"


@pytest.fixture(name="labs")
def labs_fixture(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[tuple[LabServer, LabIdentityServer]]:
    with LabServer("demo") as lab, LabIdentityServer() as identity:
        identity.guard(lab)
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(identity.ca_file))
        monkeypatch.setenv("AZURE_AUTHORITY_HOST", identity.base_url)
        monkeypatch.setenv("SSPR_LOGIN_KEY", KEY)
        monkeypatch.delenv("SSPR_LOGIN_CACHE", raising=False)
        monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
        yield lab, identity


def login(identity: LabIdentityServer, cache: Path) -> Any:
    run = run_cli("login", "--tenant-id", identity.state.tenant_id, "--cache", str(cache))
    assert_no_traceback(run)
    return run


def check(lab: LabServer, policy: Path, out: Path, *portal: str) -> tuple[int, dict[tuple[str, str], dict[str, Any]]]:
    run = run_cli("check", str(policy), "--graph-url", lab.graph_url, "--auth", "lab", "--portal",
                  "--portal-url", lab.portal_url, *portal, "--out", str(out), "--format", "json", "--progress", "never")
    assert_no_traceback(run)
    assert run.code in (1, 3), run.stdout + run.stderr
    report = json.loads((out / "sspr-audit.json").read_text())
    return run.code, {(f["check"], f["target"]): f for f in report["findings"]}


def with_cache(cache: Path) -> tuple[str, ...]:
    return ("--portal-auth", "login-cache", "--login-cache", str(cache))


def test_login_shows_the_device_code_and_seals_a_cache_with_no_token_in_clear(
        labs: tuple[LabServer, LabIdentityServer], tmp_path: Path) -> None:
    _, identity = labs
    cache = tmp_path / "login-cache.json"
    run = login(identity, cache)
    assert run.code == 0, run.stdout + run.stderr
    assert "signed in as sspr-reader@lab.example" in run.stdout and str(cache) in run.stdout
    assert "enter the code" in run.stderr  # the device-code message, for the person signing in
    assert identity.state.outcomes("urn:ietf:params:oauth:grant-type:device_code") == [
        "authorization_pending", "tokens"]
    assert stat.S_IMODE(cache.stat().st_mode) == 0o600
    data = cache.read_bytes()
    assert identity.state.issued and not [token for token in identity.state.issued if token.encode() in data]
    assert KEY.encode() not in data and b"sspr-reader" not in data  # even the account's name is sealed
    for text in (run.stdout, run.stderr, run.log):
        assert not [token for token in identity.state.issued[1:] if token in text]  # [0] is the device code


def test_an_unattended_check_with_the_login_cache_gives_the_delegated_verdicts(
        labs: tuple[LabServer, LabIdentityServer], tmp_path: Path) -> None:
    lab, identity = labs
    policy, cache = policy_file(tmp_path), tmp_path / "cache.json"
    assert login(identity, cache).code == 0
    guarded_code, guarded = check(lab, policy, tmp_path / "lab-token", "--portal-auth", "lab")
    _, cached = check(lab, policy, tmp_path / "cached", *with_cache(cache))
    lab.state.portal_token_problem = None  # the unguarded lab portal: what a delegated admin's run reads
    _, delegated = check(lab, policy, tmp_path / "delegated", "--portal-auth", "lab")
    assert {k: f["status"] for k, f in cached.items()} == {k: f["status"] for k, f in delegated.items()}
    # a token the identity platform did not issue to a user is refused by the guarded portal: those are unknown
    changed = changed_checks(delegated, guarded)
    assert guarded_code in (1, 3) and changed and changed <= portal_checks()
    assert any("not issued by the lab identity platform" in (f.get("reason") or "") for f in guarded.values())


def test_an_app_only_token_is_refused_by_the_lab_portal(labs: tuple[LabServer, LabIdentityServer]) -> None:
    import httpx

    lab, identity = labs
    token = issue_app_token(identity.state)
    response = httpx.get(f"{lab.portal_url}/PasswordReset/PasswordResetPolicies",
                         headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401 and "delegated user token" in response.text


def test_a_short_lived_access_token_is_refreshed_silently_and_the_rotated_cache_kept_sealed(
        labs: tuple[LabServer, LabIdentityServer], tmp_path: Path) -> None:
    lab, identity = labs
    policy, cache = policy_file(tmp_path), tmp_path / "cache.json"
    identity.state.access_token_seconds = 60  # under MSAL's 5-minute margin: the next run must refresh
    assert login(identity, cache).code == 0
    sealed = cache.read_bytes()
    _, first = check(lab, policy, tmp_path / "first", *with_cache(cache))
    assert identity.state.outcomes("refresh_token") == ["refreshed"]
    assert cache.read_bytes() != sealed and stat.S_IMODE(cache.stat().st_mode) == 0o600
    assert not [token for token in identity.state.issued if token.encode() in cache.read_bytes()]
    _, second = check(lab, policy, tmp_path / "second", *with_cache(cache))  # the rotated refresh token works
    assert identity.state.outcomes("refresh_token") == ["refreshed", "refreshed"]
    assert {k: f["status"] for k, f in first.items()} == {k: f["status"] for k, f in second.items()}
    assert not any("login" in (f.get("reason") or "") for f in second.values())


@pytest.mark.parametrize(("spoil", "code"), [
    ("expire", "AADSTS700082"),  # 91 days without a run: the refresh token died of inactivity
    ("revoke", "AADSTS50173"),  # an admin revoked the reader's sessions (or its password was reset)
])
def test_a_refused_refresh_token_is_one_clear_error_and_unknown_never_a_crash(
        labs: tuple[LabServer, LabIdentityServer], tmp_path: Path, spoil: str, code: str) -> None:
    lab, identity = labs
    policy, cache = policy_file(tmp_path), tmp_path / "cache.json"
    identity.state.access_token_seconds = 60
    assert login(identity, cache).code == 0
    _, before = check(lab, policy, tmp_path / "before", *with_cache(cache))
    if spoil == "expire":
        identity.state.advance(91 * 24 * 3600)
    else:
        identity.state.revoke_sessions()
    exit_code, after = check(lab, policy, tmp_path / "after", *with_cache(cache))
    assert exit_code in (1, 3)  # the demo drifts elsewhere too
    assert identity.state.outcomes("refresh_token") == ["refreshed", "expired" if spoil == "expire" else "revoked"]
    changed = changed_checks(before, after)
    assert changed and changed <= portal_checks()
    moved = [f for key, f in after.items() if key not in before or before[key]["status"] != f["status"]]
    assert moved and all(f["status"] == "unknown" for f in moved)
    assert all(code in f["reason"] and "run `sspr-audit login` again" in f["reason"] for f in moved), moved[0]


def test_portal_only_collect_with_the_login_cache_names_the_reader(
        labs: tuple[LabServer, LabIdentityServer], tmp_path: Path) -> None:
    lab, identity = labs
    cache, out = tmp_path / "cache.json", tmp_path / "portal.json"
    assert login(identity, cache).code == 0
    run = run_cli("collect", "--graph-url", lab.graph_url, "--auth", "lab", "--portal", "--portal-url",
                  lab.portal_url, *with_cache(cache), "--portal-only", "--out", str(out), "--progress", "never")
    assert run.code == 0, run.stdout + run.stderr
    data = json.loads(out.read_text())
    assert data["collected_by"].startswith("sspr-reader@lab.example@")
    assert data["sspr_policy"]["error"] is None and data["onprem_writeback"]["error"] is None


def test_a_declined_sign_in_writes_nothing(labs: tuple[LabServer, LabIdentityServer], tmp_path: Path) -> None:
    _, identity = labs
    identity.state.user_action = "decline"
    cache = tmp_path / "cache.json"
    run = login(identity, cache)
    assert run.code == 3 and "authorization_declined" in run.stderr and not cache.exists()


@pytest.mark.parametrize("case", ["no key", "short key", "other key", "edited", "not a cache", "missing"])
def test_a_cache_that_cannot_be_opened_is_a_usage_error_before_any_read(
        labs: tuple[LabServer, LabIdentityServer], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, case: str) -> None:
    lab, identity = labs
    policy, cache = policy_file(tmp_path), tmp_path / "cache.json"
    assert login(identity, cache).code == 0
    expected = {"no key": "set SSPR_LOGIN_KEY", "short key": "use at least 32", "other key": "cannot be decrypted",
                "edited": "cannot be decrypted", "not a cache": "not an sspr-auditor login cache",
                "missing": "cache.json"}[case]
    if case == "no key":
        monkeypatch.delenv("SSPR_LOGIN_KEY")
    elif case == "short key":
        monkeypatch.setenv("SSPR_LOGIN_KEY", "short")
    elif case == "other key":
        monkeypatch.setenv("SSPR_LOGIN_KEY", "other-login-key-6d2b9f04e7a1c853b0d4")
    elif case == "edited":
        envelope = json.loads(cache.read_text())
        envelope["nonce"] = envelope["nonce"][::-1]
        cache.write_text(json.dumps(envelope))
    elif case == "not a cache":
        cache.write_text('{"format": "something else"}')
    else:
        cache.unlink()
    lab.state.clear_log()
    run = run_cli("check", str(policy), "--graph-url", lab.graph_url, "--auth", "lab", "--portal", "--portal-url",
                  lab.portal_url, *with_cache(cache), "--out", str(tmp_path / "out"), "--progress", "never")
    assert_no_traceback(run)
    assert run.code == 2 and expected in run.stderr, run.stderr
    assert not (tmp_path / "out").exists() and not lab.requests()  # nothing read, nothing written


def test_login_without_the_key_asks_for_it_before_any_request(
        labs: tuple[LabServer, LabIdentityServer], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _, identity = labs
    monkeypatch.delenv("SSPR_LOGIN_KEY")
    run = login(identity, tmp_path / "cache.json")
    assert run.code == 2 and "SSPR_LOGIN_KEY" in run.stderr and not identity.state.outcomes()


def test_login_never_replaces_a_file_that_is_not_a_login_cache(
        labs: tuple[LabServer, LabIdentityServer], tmp_path: Path) -> None:
    _, identity = labs
    policy = tmp_path / "policy.yaml"
    policy.write_text("version: 1\n")
    run = login(identity, policy)
    assert run.code == 2 and "is not a login cache" in run.stderr and policy.read_text() == "version: 1\n"
    assert not identity.state.outcomes()  # refused before any request
    cache = tmp_path / "cache.json"
    assert login(identity, cache).code == 0 and login(identity, cache).code == 0  # a cache may be replaced
