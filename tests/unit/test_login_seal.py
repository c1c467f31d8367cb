"""The login cache's seal: AES-256-GCM under a key from the environment; any edit or other key is refused."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from auditor.readers.login_cache import LoginCacheError, LoginRecord, login_key, seal, unseal

KEY = b"login-seal-test-key-7c3e91d05fa8b264"
OTHER = b"other-seal-test-key-2b8d4f60e19ac735"


def record() -> LoginRecord:
    return LoginRecord(authority="https://login.microsoftonline.com/t", client_id="c", tenant_id="t",
                       username="reader@example.org", home_account_id="u.t", signed_in_at=datetime.now(UTC),
                       msal_cache='{"RefreshToken": {"x": {"secret": "refresh-canary"}}}')


def test_a_sealed_record_opens_with_its_key_and_holds_nothing_in_clear() -> None:
    kept = record()
    data = seal(kept, KEY)
    assert b"refresh-canary" not in data and b"reader@example.org" not in data and KEY not in data
    assert unseal(data, KEY, "f") == kept
    assert seal(kept, KEY) != data  # a fresh salt and nonce each time


@pytest.mark.parametrize("edit", ["nonce", "ciphertext", "salt", "n", "cipher", "version", "format"])
def test_any_edit_is_refused(edit: str) -> None:
    envelope = json.loads(seal(record(), KEY))
    if edit in ("nonce", "ciphertext"):
        raw = envelope[edit]
        envelope[edit] = ("A" if raw[0] != "A" else "B") + raw[1:]
    elif edit in ("salt", "n"):
        envelope["kdf"][edit] = "AAAAAAAAAAAAAAAAAAAAAA==" if edit == "salt" else 2**10
    elif edit == "cipher":
        envelope["cipher"] = "AES-128-CBC"
    elif edit == "version":
        envelope["version"] = 2
    else:
        envelope["format"] = "other"
    with pytest.raises(LoginCacheError):
        unseal(json.dumps(envelope).encode(), KEY, "f")


@pytest.mark.parametrize("data", [b"", b"not json", b"[]", b'{"format": "sspr-auditor-login-cache"}'])
def test_a_file_that_is_not_a_cache_is_one_clear_error(data: bytes) -> None:
    with pytest.raises(LoginCacheError, match=r"^f: "):
        unseal(data, KEY, "f")


def test_another_key_cannot_open_it() -> None:
    with pytest.raises(LoginCacheError, match="cannot be decrypted with SSPR_LOGIN_KEY"):
        unseal(seal(record(), KEY), OTHER, "f")


def test_the_key_comes_from_the_environment_and_is_long_enough(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SSPR_LOGIN_KEY", raising=False)
    with pytest.raises(LoginCacheError, match="set SSPR_LOGIN_KEY"):
        login_key()
    monkeypatch.setenv("SSPR_LOGIN_KEY", "short")
    with pytest.raises(LoginCacheError, match="at least 32"):
        login_key()
    monkeypatch.setenv("SSPR_LOGIN_KEY", KEY.decode())
    assert login_key() == KEY
