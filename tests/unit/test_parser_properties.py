"""Property-based tests of the two parsers that read bytes from outside: the policy loader and the security
descriptor parser. Whatever the input, nothing escapes but the documented error type.

`parse_policy(bytes, name)` returns a Policy or raises PolicyError, whose every issue names the file, a
line and column inside it (or 1:1), and fits one line. `parse_dacl(bytes)` returns DaclFacts or raises
DescriptorError; garbage never reads as a NULL DACL. Inputs: arbitrary bytes, arbitrary text, YAML
documents built from the policy's own keys, mutations of policies/baseline.yaml, and mutations of real
descriptors read from a Samba DC (tests/fixtures/ad/samba_descriptors.json).
"""

from __future__ import annotations

import base64
import json
from functools import cache
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

from auditor.ad.sd import DaclFacts, DescriptorError, parse_dacl
from auditor.policy.loader import PolicyError, parse_policy
from auditor.policy.models import Policy

ROOT = Path(__file__).resolve().parents[2]
BASELINE = (ROOT / "policies" / "baseline.yaml").read_bytes()
DESCRIPTORS = ROOT / "tests" / "fixtures" / "ad" / "samba_descriptors.json"
NAME = "fuzzed.yaml"

# No wall clock (no deadline), no example database written into the tree.
PROPERTIES = settings(deadline=None, database=None, max_examples=300,
                      suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def load(raw: bytes) -> Policy | PolicyError:
    try:
        return parse_policy(raw, NAME)
    except PolicyError as exc:
        return exc


def assert_documented(outcome: Policy | PolicyError, raw: bytes) -> None:
    if isinstance(outcome, Policy):
        return
    assert outcome.issues, "a PolicyError names at least one issue"
    lines = raw.count(b"\n") + 2
    for issue in outcome.issues:
        assert issue.file == NAME
        assert 1 <= issue.line <= lines and issue.column >= 1, issue
        text = str(issue)
        assert "\n" not in text and len(text) < 1000, text


# -- the policy loader ---------------------------------------------------------------------------------

@PROPERTIES
@given(st.binary(max_size=4096))
def test_any_bytes(raw: bytes) -> None:
    assert_documented(load(raw), raw)


@PROPERTIES
@given(st.text(max_size=2048))
def test_any_text(text: str) -> None:
    raw = text.encode("utf-8", "surrogatepass")
    assert_documented(load(raw), raw)


YAML_PUNCTUATION = st.sampled_from([*":-?[]{},#&*!|>'\"%@`\t\n \\", "\u202e", "\x00", "\ufeff", "<<", "---"])


@PROPERTIES
@given(st.data())
def test_mutations_of_the_baseline(data: st.DataObject) -> None:
    raw = bytearray(BASELINE)
    for _ in range(data.draw(st.integers(1, 8))):
        at = data.draw(st.integers(0, len(raw)))
        action = data.draw(st.sampled_from(["insert", "delete", "replace", "punctuate"]))
        if action == "delete":
            del raw[at:at + data.draw(st.integers(1, 40))]
        elif action == "punctuate":
            raw[at:at] = data.draw(YAML_PUNCTUATION).encode("utf-8", "surrogatepass")
        else:
            chunk = data.draw(st.binary(min_size=1, max_size=8))
            raw[at:at + (len(chunk) if action == "replace" else 0)] = chunk
    assert_documented(load(bytes(raw)), bytes(raw))


@cache
def policy_keys() -> list[str]:
    """Every key the baseline uses, so generated documents reach deep into the models."""
    keys: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            keys.update(map(str, node))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(YAML(typ="safe").load(BASELINE))
    return sorted(keys)


SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(-(10**30), 10**30), st.floats(allow_nan=True),
    st.text(max_size=30), st.sampled_from(["all", "selected", "none", "2026-02-30", "OU=Staff,DC=x", "S-1-5-21",
                                           "javascript:alert(1)", "migrationComplete", "\u202e", "3f8e2b6a"]),
)


def documents() -> st.SearchStrategy[Any]:
    keys = st.one_of(st.sampled_from(policy_keys()), st.text(max_size=12))
    return st.recursive(SCALARS, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                          st.dictionaries(keys, inner, max_size=6)), max_leaves=40)


@PROPERTIES
@given(st.dictionaries(st.sampled_from(policy_keys()), documents(), max_size=8))
def test_documents_built_from_policy_keys(document: dict[str, Any]) -> None:
    import io

    buffer = io.StringIO()
    YAML(typ="safe", pure=True).dump(document, buffer)
    raw = buffer.getvalue().encode("utf-8", "surrogatepass")
    assert_documented(load(raw), raw)


# -- the security descriptor parser ----------------------------------------------------------------------

@cache
def real_descriptors() -> list[bytes]:
    objects = json.loads(DESCRIPTORS.read_text())["objects"]
    return [base64.b64decode(item["sd"]) for item in objects.values()]


def parse(raw: bytes) -> DaclFacts | DescriptorError:
    try:
        return parse_dacl(raw)
    except DescriptorError as exc:
        return exc


@PROPERTIES
@given(st.binary(max_size=2048))
def test_descriptor_from_any_bytes(raw: bytes) -> None:
    outcome = parse(raw)
    if isinstance(outcome, DaclFacts) and outcome.null_dacl:
        # "everyone has full access" only from a well-formed header that sets no DACL offset
        assert len(raw) >= 20 and raw[0] == 1 and int.from_bytes(raw[16:20], "little") == 0


@PROPERTIES
@given(st.data())
def test_mutations_of_real_descriptors(data: st.DataObject) -> None:
    raw = bytearray(data.draw(st.sampled_from(real_descriptors())))
    for _ in range(data.draw(st.integers(1, 6))):
        at = data.draw(st.integers(0, len(raw)))
        action = data.draw(st.sampled_from(["flip", "truncate", "insert", "count"]))
        if action == "flip" and at < len(raw):
            raw[at] = data.draw(st.integers(0, 255))
        elif action == "truncate":
            del raw[at:]
        elif action == "count" and len(raw) >= 20:  # the ACE count and ACL size, where a parser trusts them
            dacl = int.from_bytes(raw[16:20], "little")
            if dacl > 0 and dacl + 6 <= len(raw):
                raw[dacl + 2:dacl + 6] = data.draw(st.binary(min_size=4, max_size=4))
        else:
            raw[at:at] = data.draw(st.binary(min_size=1, max_size=12))
    outcome = parse(bytes(raw))
    assert isinstance(outcome, DaclFacts | DescriptorError)


@PROPERTIES
@given(control=st.integers(0, 0xFFFF), offsets=st.lists(st.integers(0, 300), min_size=4, max_size=4),
       body=st.binary(max_size=300))
def test_descriptors_built_from_header_fields(control: int, offsets: list[int], body: bytes) -> None:
    raw = bytes([1, 0]) + control.to_bytes(2, "little") + b"".join(o.to_bytes(4, "little") for o in offsets) + body
    outcome = parse(raw)
    assert isinstance(outcome, DaclFacts | DescriptorError)


def test_real_descriptors_still_parse() -> None:
    for raw in real_descriptors():
        facts = parse_dacl(raw)
        assert facts.aces and not facts.null_dacl


def test_empty_and_truncated_descriptors_are_errors_not_null_dacls() -> None:
    for raw in (b"", b"\x01", bytes(19), b"\x02" + bytes(19), real_descriptors()[0][:30]):
        assert isinstance(parse(raw), DescriptorError), raw
