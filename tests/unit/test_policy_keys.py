"""Every policy key a check or a fixer reads exists in the policy model, and `Policy.value_at` refuses one that
does not (issue 31: a misspelt key used to read as None, which a check then judged as "not asked for")."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

import auditor
from auditor.checks.registry import all_checks
from auditor.policy.models import Policy, policy_key_exists
from auditor.portal_fields import POLICY_KEYS
from tests.unit.cases_cloud import baseline_policy

ROOT = Path(auditor.__file__).parent
# where checks and fixers name policy keys: the checks, their fixers, and the framework mappings among them
READERS = [*sorted((ROOT / "checks").rglob("*.py")), *sorted((ROOT / "fixes").rglob("*.py"))]
SECTIONS = tuple(name for name in Policy.model_fields if name not in ("version", "extends", "waivers"))
DOTTED = re.compile(rf"^({'|'.join(SECTIONS)})(\.[a-z_0-9]+)+$")


def _keys_in_source() -> dict[str, list[str]]:
    """Every string literal in a check or fixer module that is shaped like a dotted policy key, with where it is.
    Check ids share that shape (`sspr.gates`) and are left out: their own `policy_key` is checked below."""
    check_ids = {check.spec.id for check in all_checks()}
    found: dict[str, list[str]] = {}
    for path in READERS:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and DOTTED.match(node.value) \
                    and node.value not in check_ids:
                found.setdefault(node.value, []).append(f"{path.relative_to(ROOT.parent)}:{node.lineno}")
    return found


def test_the_scan_sees_the_keys_checks_read() -> None:
    keys = _keys_in_source()
    assert {"sspr.registration.reconfirm_days", "directory.target_ous", "sspr.group"} <= set(keys)


def test_every_policy_key_a_check_or_fixer_names_is_in_the_model() -> None:
    named = dict(_keys_in_source())
    for check in all_checks():
        for key in (check.spec.policy_key, *check.spec.also_reads):
            named.setdefault(key, []).append(f"CheckSpec of {check.spec.id}")
    for key in POLICY_KEYS:
        named.setdefault(key, []).append("auditor/portal_fields.py POLICY_KEYS")
    missing = {key: where for key, where in named.items() if not policy_key_exists(key)}
    assert missing == {}


def test_a_key_not_in_the_model_is_an_error_not_none() -> None:
    policy = baseline_policy()
    assert policy.value_at("sspr.registration.reconfirm_days") == 180
    assert policy.value_at("password_protection.custom_banned_list") is True
    assert policy.value_at("writeback.cloud_sync") is None  # in the model, not set
    with pytest.raises(KeyError, match=re.escape("sspr.registraton.reconfirm_days")):
        policy.value_at("sspr.registraton.reconfirm_days")
    with pytest.raises(KeyError):
        Policy().value_at("sspr.registration.reconfirm_dayz")  # the section is absent: still a misspelling
