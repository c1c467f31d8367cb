"""The digest and the optional keyed MAC that seal a plan or a backup file.

The digest (SHA-256 over the whole file but the seal itself: source, policy, changes, manual steps,
objects) catches an accidental edit or a truncated copy. Anyone can recompute it, so it is not what
stops an attacker: `apply` re-derives every change from the policy and the live state and refuses
what it did not derive. What re-derivation cannot see is *which* policy file and *which* endpoints a
reviewer approved, and what a backup held before apply. The MAC covers exactly that: with
`SSPR_PLAN_KEY` in the environment (a CI secret, never written to any file), `plan` and `apply`
sign what they write with HMAC-SHA256, and `apply` and `rollback` refuse a file whose MAC is missing
or wrong. A signed file read without the key is refused too, so dropping the key is not a way around it.
The same seal covers a portal snapshot (`collect --portal-only`): its tenant, its time and its values.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from typing import Any, Protocol, Self, TypeVar

from auditor.keys import MIN_KEY_BYTES, KeyStrengthError, key_from_environment

KEY_VARIABLE = "SSPR_PLAN_KEY"
MIN_KEY_LENGTH = MIN_KEY_BYTES
SEAL_FIELDS = frozenset({"digest", "mac"})


class Sealable(Protocol):
    """A model with a seal: a plan, a backup, a snapshot (pydantic models with `digest` and `mac` fields)."""

    @property
    def digest(self) -> str | None: ...

    @property
    def mac(self) -> str | None: ...

    def model_dump(self, *, mode: str = ..., exclude: set[str] | None = None) -> dict[str, Any]: ...

    def model_copy(self, *, update: Mapping[str, Any] | None = None, deep: bool = False) -> Self: ...


S = TypeVar("S", bound=Sealable)


class SealError(Exception):
    """A plan or backup whose seal does not hold, or a key that is too weak to use."""


def plan_key() -> bytes | None:
    """The signing key from the environment (as bytes: any byte string), or None; a short or regular key is an
    error, never silently used."""
    try:
        return key_from_environment(KEY_VARIABLE)
    except KeyStrengthError as exc:
        raise SealError(str(exc)) from None


def canonical(model: Sealable) -> bytes:
    body = model.model_dump(mode="json", exclude=set(SEAL_FIELDS))
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode("ascii")


def digest_of(model: Sealable) -> str:
    return "sha256:" + hashlib.sha256(canonical(model)).hexdigest()


def mac_of(model: Sealable, key: bytes) -> str:
    return "hmac-sha256:" + hmac.new(key, canonical(model), hashlib.sha256).hexdigest()


def seal(model: S) -> S:
    """`model` with its digest and, when a key is set, its MAC."""
    key = plan_key()
    update = {"digest": digest_of(model), "mac": mac_of(model, key) if key else None}
    return model.model_copy(update=update)


def check_seal(model: Sealable, what: str) -> str | None:
    """Why `model`'s seal does not hold (None when it does)."""
    if model.digest != digest_of(model):
        return f"the {what} was edited after it was written (its digest does not match)"
    key = plan_key()
    if key is None:
        if model.mac:
            return (f"the {what} is signed: set {KEY_VARIABLE} to the key it was signed with, so the signature "
                    "can be checked")
        return None
    if not model.mac:
        return (f"{KEY_VARIABLE} is set but the {what} is not signed (it was written without the key): "
                "make it again with the key set")
    # as bytes: hmac.compare_digest refuses a str with a non-ASCII character (TypeError), and the MAC is read
    if not hmac.compare_digest(str(model.mac).encode("utf-8"), mac_of(model, key).encode("utf-8")):
        return f"the {what}'s signature does not match {KEY_VARIABLE}: it was edited, or signed with another key"
    return None


def signed() -> bool:
    return plan_key() is not None


# -- JSON reports ---------------------------------------------------------------------------------
# A tenant report is sealed over its JSON data as written (every field but `mac`), not over a model: a report
# is read back by other runs (`fleet merge`, `--previous`) and must verify byte-for-byte as the data they read.


def canonical_data(body: dict[str, Any]) -> bytes:
    """`body` (JSON data, its `mac` left out) as the bytes the MAC covers."""
    rest = {key: value for key, value in body.items() if key not in SEAL_FIELDS}
    return json.dumps(rest, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode("ascii")


def data_mac(body: dict[str, Any], key: bytes) -> str:
    return "hmac-sha256:" + hmac.new(key, canonical_data(body), hashlib.sha256).hexdigest()


def check_data_seal(body: dict[str, Any], what: str) -> str | None:
    """Why the MAC of `body` (JSON data with a `mac` key) does not hold (None when it does, or no key and no MAC)."""
    key = plan_key()
    mac = body.get("mac")
    if key is None:
        if mac:
            return (f"the {what} is signed: set {KEY_VARIABLE} to the key it was signed with, so the signature "
                    "can be checked")
        return None
    if not mac:
        return (f"{KEY_VARIABLE} is set but the {what} is not signed (it was written without the key): "
                "make it again with the key set")
    if not isinstance(mac, str) or not hmac.compare_digest(mac.encode("utf-8"), data_mac(body, key).encode("ascii")):
        return f"the {what}'s signature does not match {KEY_VARIABLE}: it was edited, or signed with another key"
    return None
