"""Issue 29: keys are read as bytes and judged for strength; a weak or non-UTF-8 key never tracebacks."""

from __future__ import annotations

import base64
import os

import pytest

from auditor.readers.login_cache import LoginCacheError, login_key
from auditor.remediation.seal import SealError, plan_key

# fixed samples of what `openssl rand -base64 32` and `openssl rand -hex 32` print (no randomness in the test)
GOOD = [b"q7Jx2V0f3mN8pL1sR4tY6uW9zA5bC0dE2fG4hI6jK8M=",
        b"9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
        b"login-key-canary-4f1b9c7e2d8a6b3f5e0c1a9d"]
WEAK = {"32 spaces": b" " * 32, "one letter": b"k" * 40, "two letters": b"ab" * 20,
        "a counting run": b"abcdefghijklmnopqrstuvwxyz012345", "hex digits twice": b"0123456789abcdef" * 2}
NOT_UTF8 = b"\xff\xfe" + base64.b64decode("q7Jx2V0f3mN8pL1sR4tY6uW9zA5bC0dE2fG4hI6jK8M=")


@pytest.mark.parametrize("key", GOOD)
def test_random_keys_are_accepted(key: bytes) -> None:
    from auditor.keys import judge_key

    assert judge_key("K", key) == key


@pytest.mark.parametrize("name", list(WEAK))
def test_regular_keys_are_refused_saying_what_a_good_key_is(name: str) -> None:
    from auditor.keys import KeyStrengthError, judge_key

    with pytest.raises(KeyStrengthError, match=r"openssl rand -base64 32") as caught:
        judge_key("SSPR_PLAN_KEY", WEAK[name])
    assert "\n" not in str(caught.value) and "SSPR_PLAN_KEY" in str(caught.value)


@pytest.mark.parametrize("variable", ["SSPR_PLAN_KEY", "SSPR_LOGIN_KEY"])
def test_a_key_of_32_spaces_is_refused(monkeypatch: pytest.MonkeyPatch, variable: str) -> None:
    monkeypatch.setenv(variable, " " * 32)
    with pytest.raises((SealError, LoginCacheError), match="openssl rand -base64 32"):
        plan_key() if variable == "SSPR_PLAN_KEY" else login_key()


@pytest.mark.parametrize("variable", ["SSPR_PLAN_KEY", "SSPR_LOGIN_KEY"])
def test_a_key_that_is_not_utf8_is_used_as_the_bytes_it_is(monkeypatch: pytest.MonkeyPatch, variable: str) -> None:
    monkeypatch.setitem(os.environb, variable.encode(), NOT_UTF8)
    key = plan_key() if variable == "SSPR_PLAN_KEY" else login_key()
    assert key == NOT_UTF8


def test_the_plan_seal_works_with_a_key_that_is_not_utf8(monkeypatch: pytest.MonkeyPatch) -> None:
    from auditor.remediation.seal import check_seal
    from tests.unit.test_remediation_apply import plan

    monkeypatch.setitem(os.environb, b"SSPR_PLAN_KEY", NOT_UTF8)
    signed = plan()
    assert signed.mac and check_seal(signed, "plan") is None
