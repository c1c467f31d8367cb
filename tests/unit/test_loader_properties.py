"""Property-based tests of every loader that reads a file from outside (issue 29): the policy (and a base it
`extends`), the fleet inventory, the snapshot, the plan, the backup, the login cache and the JSON report (as
`diff` and `--previous` read it). Whatever the bytes, each gives a value or its own error type, whose message
names the file and holds one line per problem: never another exception (a traceback).

Inputs: arbitrary bytes; arbitrary JSON and YAML trees; real artifacts (the corpus plan, a snapshot, a report,
a login cache, a policy) with one value replaced by a hostile one; deep nesting; huge integers; the same
documents in UTF-16, UTF-32 and Latin-1. The example counts are modest (the whole module runs in seconds);
`--hypothesis-seed` replays a failure.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from auditor.diff import TrendError, load_previous_report, load_run
from auditor.policy.fleet import load_fleet
from auditor.policy.loader import PolicyError, load_policy
from auditor.readers.login_cache import LoginCacheError, LoginRecord, load_login_cache, seal
from auditor.remediation.apply import load_backup
from auditor.remediation.changes import PlanError, load_plan
from auditor.snapshot.store import SnapshotError, load_snapshot

ROOT = Path(__file__).resolve().parents[2]
PLAN = json.loads((ROOT / "tests" / "fixtures" / "bad_policies" / "plan-edited-value.json").read_text())
BASELINE = (ROOT / "policies" / "baseline.yaml").read_text()
LOGIN_KEY = "property-test-login-key-of-32-chars!!"

PROPERTIES = settings(deadline=None, database=None, max_examples=40,
                      suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                             HealthCheck.function_scoped_fixture])

SCALARS = (st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats(allow_nan=True)
           | st.text(max_size=30) | st.sampled_from(["", "Z", "2026-01-01T00:00:00", "2026-13-45", "1" * 80,
                                                   "\u2028", "\ufeff", "\ud800", "lab:demo", "-1", "NaN"]))
TREES = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=4)
                     | st.dictionaries(st.text(max_size=12), inner, max_size=4), max_leaves=20)


def json_text(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, allow_nan=True)


@st.composite
def mutations(draw: st.DrawFn, real: Callable[[], Any]) -> Any:
    """The real document with one value somewhere inside it replaced by a generated tree (or a key dropped)."""
    return mutated(real(), draw)


def mutated(document: Any, draw: Callable[[st.SearchStrategy[Any]], Any]) -> Any:
    document = copy.deepcopy(document)
    data = type("Draws", (), {"draw": staticmethod(draw)})
    node = document
    for _ in range(data.draw(st.integers(0, 6))):
        if isinstance(node, dict) and node:
            key = data.draw(st.sampled_from(sorted(node)))
            if not isinstance(node[key], dict | list) or not node[key]:
                break
            node = node[key]
        elif isinstance(node, list) and node:
            index = data.draw(st.integers(0, len(node) - 1))
            if not isinstance(node[index], dict | list) or not node[index]:
                break
            node = node[index]
    if isinstance(node, dict) and node:
        key = data.draw(st.sampled_from(sorted(node)))
        if data.draw(st.booleans()):
            node[key] = data.draw(TREES)
        else:
            del node[key]
    elif isinstance(node, list) and node:
        node[data.draw(st.integers(0, len(node) - 1))] = data.draw(TREES)
    return document


HOSTILE_TEXT = st.one_of(
    st.integers(150, 3000).map(lambda n: "[" * n + "]" * n),
    st.integers(150, 3000).map(lambda n: '{"a":' * n + "1" + "}" * n),
    st.integers(60, 6000).map(lambda n: '{"format_version": ' + "9" * n + "}"),
    st.text(max_size=200),
)


def raw_inputs(real: Callable[[], Any]) -> st.SearchStrategy[bytes]:
    """Bytes for a JSON loader: random, random trees, the real document mutated, hostile text, other encodings."""
    return st.one_of(
        st.binary(max_size=1024),
        TREES.map(lambda tree: json_text(tree).encode("utf-8", "surrogatepass")),
        mutations(real).map(lambda document: json_text(document).encode("utf-8", "surrogatepass")),
        HOSTILE_TEXT.map(lambda text: text.encode("utf-8", "surrogatepass")),
        st.sampled_from(["utf-16", "utf-16-be", "utf-32", "utf-32-le", "latin-1"]).map(
            lambda encoding: json_text(real()).encode(encoding, "replace")),
    )


def assert_own_error(load: Callable[[Path], Any], errors: type[Exception] | tuple[type[Exception], ...],
                     path: Path, raw: bytes) -> None:
    path.write_bytes(raw)
    try:
        load(path)
    except errors as exc:
        text = str(exc)
        assert text.strip(), "an error says why"
        for line in text.splitlines():
            assert str(path) in line or path.name in line, (line, text)
            assert len(line) < 2000, line


# -- the real artifacts the mutations start from ------------------------------------------------------------

@cache
def snapshot_document() -> dict[str, Any]:
    from tests.unit.cases_cloud import compliant_snapshot

    return json.loads(compliant_snapshot().model_dump_json())


@cache
def report_document() -> dict[str, Any]:
    from auditor.render.json_report import JsonRenderer
    from tests.helpers.report_factory import realistic_report

    return json.loads(JsonRenderer().render(realistic_report()))


def backup_document() -> dict[str, Any]:
    return {**copy.deepcopy(PLAN), "format": "sspr-auditor-backup", "objects": [
        {"key": "portal", "writer": "portal", "data": {"a": 1}, "after": None}]}


@cache
def login_document() -> dict[str, Any]:
    import os

    os.environ.setdefault("SSPR_LOGIN_KEY", LOGIN_KEY)
    from datetime import UTC, datetime

    try:
        record = LoginRecord(authority="https://login.example.test/t", client_id="c", tenant_id="t", username="u",
                             home_account_id="h", signed_in_at=datetime.now(UTC), msal_cache="{}")
    except Exception:  # the record's shape is the sealing helper's business: the envelope is what is fuzzed
        return {"format": "sspr-auditor-login-cache", "version": 1, "kdf": {"salt": "AAAA"}, "nonce": "",
                "ciphertext": ""}
    return json.loads(seal(record, LOGIN_KEY))


@pytest.fixture(autouse=True)
def keys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SSPR_LOGIN_KEY", LOGIN_KEY)
    monkeypatch.delenv("SSPR_PLAN_KEY", raising=False)


# -- JSON loaders ------------------------------------------------------------------------------------------

# shapes the generators reach only now and then, tried on every run (each broke a loader once)
HOSTILE_JSON = [
    b"[" * 5000 + b"]" * 5000,
    b'{"a":' * 3000 + b"1" + b"}" * 3000,
    b'{"format_version": ' + b"9" * 5000 + b"}",
    b'{"format": "sspr-auditor-login-cache", "version": 1, "kdf": [1], "cipher": "AES-256-GCM"}',
    b'{"format": "sspr-auditor-login-cache", "version": 1, "kdf": "n", "nonce": 1, "ciphertext": []}',
    b"\xff\xfe" + '{"format": "x"}'.encode("utf-16-le"),
    b'"\\ud800"',
    b"",
]


def with_hostile_examples(test: Callable[..., None]) -> Callable[..., None]:
    for raw in HOSTILE_JSON:
        test = example(raw=raw)(test)
    return test


@PROPERTIES
@given(raw=raw_inputs(lambda: PLAN))
@with_hostile_examples
def test_plan(raw: bytes, tmp_path: Path) -> None:
    assert_own_error(load_plan, PlanError, tmp_path / "plan.json", raw)


@PROPERTIES
@given(raw=raw_inputs(backup_document))
@with_hostile_examples
def test_backup(raw: bytes, tmp_path: Path) -> None:
    assert_own_error(load_backup, PlanError, tmp_path / "backup.json", raw)


@PROPERTIES
@given(raw=raw_inputs(snapshot_document))
@with_hostile_examples
def test_snapshot(raw: bytes, tmp_path: Path) -> None:
    assert_own_error(load_snapshot, SnapshotError, tmp_path / "snapshot.json", raw)


@PROPERTIES
@given(raw=raw_inputs(report_document))
@with_hostile_examples
def test_report_as_diff_and_previous_read_it(raw: bytes, tmp_path: Path) -> None:
    assert_own_error(load_run, TrendError, tmp_path / "report.json", raw)
    assert_own_error(load_previous_report, TrendError, tmp_path / "previous.json", raw)


@settings(PROPERTIES, max_examples=25)  # a well-formed envelope costs a scrypt derivation
@given(raw=raw_inputs(login_document))
@with_hostile_examples
def test_login_cache(raw: bytes, tmp_path: Path) -> None:
    def load(path: Path) -> Any:
        path.chmod(0o600)  # a cache open to others is refused unread: private, so the fuzz reaches the parser
        return load_login_cache(path)

    assert_own_error(load, LoginCacheError, tmp_path / "login-cache.json", raw)


# -- YAML loaders ------------------------------------------------------------------------------------------

YAML_TREES = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=3)
                          | st.dictionaries(st.sampled_from(["version", "extends", "sspr", "writeback", "tenant",
                                                             "tenants", "policy", "name", "lab", "scope", "fleet",
                                                             "\ufeffkey", "k\u200b", "1", "true", "~"]) | st.text(
                                                                 max_size=8), inner, max_size=4), max_leaves=15)


def yaml_text(tree: Any) -> str:
    from io import StringIO

    from ruamel.yaml import YAML

    buffer = StringIO()
    yaml = YAML(typ="safe", pure=True)
    yaml.allow_unicode = True
    yaml.dump(tree, buffer)
    return buffer.getvalue()


YAML_INPUTS = st.one_of(
    st.binary(max_size=1024),
    YAML_TREES.map(lambda tree: yaml_text(tree).encode("utf-8", "surrogatepass")),
    st.text(max_size=300).map(lambda text: text.encode("utf-8", "surrogatepass")),
    st.integers(70, 2000).map(lambda n: ("a:\n" + "".join("  " * (i + 1) + f"k{i}:\n" for i in range(n))).encode()),
    st.integers(70, 3000).map(lambda n: ("x: " + "- " * n + "v\n").encode()),
    st.integers(60, 6000).map(lambda n: f"version: {'9' * n}\n".encode()),
    st.sampled_from(["!!str 2024", "!!binary aGk=", "!foo bar", "&a true", "*a", "!!int '12'", "!!python/name:os"]
                    ).map(lambda tag: f"version: 1\ntenant:\n  name: {tag}\nwriteback:\n  enabled: true\n".encode()),
    st.sampled_from(["utf-16", "utf-16-le", "utf-32-be", "latin-1"]).map(
        lambda encoding: BASELINE.encode(encoding, "replace")),
)


@PROPERTIES
@given(raw=YAML_INPUTS)
def test_policy_and_a_base_it_extends(raw: bytes, tmp_path: Path) -> None:
    assert_own_error(load_policy, PolicyError, tmp_path / "policy.yaml", raw)
    (tmp_path / "base.yaml").write_bytes(raw)
    child = tmp_path / "child.yaml"
    child.write_text("version: 1\nextends: base.yaml\nwriteback:\n  enabled: true\n")
    try:
        load_policy(child)
    except PolicyError as exc:  # the base is named by the child's issue, and never more than one line of it
        for line in str(exc).splitlines():
            assert str(child) in line or "base.yaml" in line, line


FLEET = {"version": 1, "tenants": [{"name": "a", "lab": {"scenario": "demo"}, "policy": "base.yaml"},
                                   {"name": "b", "lab": {"scenario": "demo"},
                                    "policy": {"extends": "base.yaml", "sspr": {"methods_required": 1}}}]}


@PROPERTIES
@given(data=st.data(), raw=YAML_INPUTS)
def test_fleet_inventory(data: st.DataObject, raw: bytes, tmp_path: Path) -> None:
    (tmp_path / "base.yaml").write_text(BASELINE)
    inventory = tmp_path / "fleet.yaml"
    assert_own_error(load_fleet, PolicyError, inventory, raw)
    mutated_fleet = yaml_text(mutated(FLEET, data.draw)).encode("utf-8", "surrogatepass")
    assert_own_error(load_fleet, PolicyError, inventory, mutated_fleet)
