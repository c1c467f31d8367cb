"""The policy loader: valid files load; every error names file:line:column, the field, and a hint."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from auditor.policy.loader import PolicyError, load_policy, parse_policy
from auditor.policy.schema import policy_schema

ROOT = Path(__file__).resolve().parents[2]
MINIMAL = "sspr:\n  scope: all\n  methods_required: 1\n  methods:\n    email: true\n"


def errors_of(text: str | bytes) -> list[str]:
    raw = text.encode() if isinstance(text, str) else text
    with pytest.raises(PolicyError) as caught:
        parse_policy(raw, "p.yaml")
    return [str(issue) for issue in caught.value.issues]


def test_baseline_loads_with_positions() -> None:
    policy = load_policy(ROOT / "policies" / "baseline.yaml")
    assert policy.sspr is not None and policy.sspr.scope.value == "all"
    location = policy.location("sspr.methods_required")
    assert location is not None and location.file.endswith("baseline.yaml")
    lines = (ROOT / "policies" / "baseline.yaml").read_text().splitlines()
    assert lines[location.line - 1].strip().startswith("methods_required:")
    ou = policy.location("directory.target_ous.0")
    assert ou is not None and "OU=" in lines[ou.line - 1]


def test_misspelt_key_names_line_column_and_suggests() -> None:
    (message,) = errors_of("sspr:\n  scope: all\n  methods_requried: 2\n")
    assert message == "p.yaml:3:3: sspr.methods_requried: unknown key; did you mean `methods_required`?"


def test_unknown_key_without_close_match_lists_allowed() -> None:
    (message,) = errors_of("colour: blue\n")
    assert message.startswith("p.yaml:1:1: colour: unknown key; expected one of:")
    assert "sspr" in message


def test_duplicate_keys_are_errors() -> None:
    (message,) = errors_of("sspr:\n  scope: all\n  scope: none\n")
    assert message.startswith("p.yaml:3:3:") and "duplicate key" in message


def test_tabs_are_explained() -> None:
    (message,) = errors_of("sspr:\n\tscope: all\n")
    assert message.startswith("p.yaml:2:1:") and "tabs" in message


@pytest.mark.parametrize(
    ("text", "where", "fragment"),
    [
        ("sspr:\n  scope: some\n", "p.yaml:2:3: sspr.scope", "'none', 'selected' or 'all'"),
        ("sspr:\n  scope: selected\n", "p.yaml:1:1: sspr", "needs a `group`"),
        ("sspr:\n  scope: all\n  methods_required: 3\n", "p.yaml:3:3: sspr.methods_required", "got 3"),
        (MINIMAL + "  registration:\n    reconfirm_days: 731\n", "p.yaml:7:5: sspr.registration.reconfirm_days",
         "less than or equal to 730"),
        (MINIMAL + "  security_questions:\n    number_to_register: 3\n    number_to_reset: 4\n",
         "p.yaml:6:3: sspr.security_questions", "must not exceed"),
        (MINIMAL + "  security_questions:\n    number_to_register: 6\n",
         "p.yaml:7:5: sspr.security_questions.number_to_register", "less than or equal to 5"),
        ("sspr:\n  scope: all\n  methods_required: 2\n  methods:\n    email: true\n", "p.yaml:1:1: sspr",
         "only 1 method(s) are enabled"),
        ("sspr:\n  scope: all\n  methods_required: 2\n  methods: {mobile_app_code: true, email: true}\n",
         "p.yaml:1:1: sspr", "two other methods"),
        ("directory:\n  service_account: svc\n  target_ous: ['Staff']\n",
         "p.yaml:3:16: directory.target_ous.0", "not a distinguished name"),
        ("waivers:\n  - check: sspr.gates\n    reason: pilot\n    owner: ann\n    expires: soon\n",
         "p.yaml:5:5: waivers.0.expires", "valid date"),
        ("tenant:\n  tenant_id: not-a-guid\n", "p.yaml:2:3: tenant.tenant_id", "pattern"),
        ("sspr:\n  scope: all\n  helpdesk: {customize: true, email_or_url: 'javascript:alert(1)'}\n",
         "p.yaml:3:3: sspr.helpdesk", "http(s) URL or an email"),
    ],
)
def test_semantic_and_type_errors_point_at_the_field(text: str, where: str, fragment: str) -> None:
    messages = errors_of(text)
    assert any(m.startswith(where) and fragment in m for m in messages), messages


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [(b"", "empty"), (b"- a\n- b\n", "expected a mapping"), (b"sspr: \xff\n", "not UTF-8"),
     (b"sspr: [\n", "YAML syntax"), (b"a: &x [1]\n" + b"".join(b"k%d: *x\n" % i for i in range(150)), "aliases")],
)
def test_broken_files_give_one_clear_error(raw: bytes, fragment: str) -> None:
    messages = errors_of(raw)
    assert len(messages) == 1 and fragment in messages[0], messages
    assert messages[0].startswith("p.yaml:")


def test_missing_file_is_a_policy_error(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match="cannot read the policy file"):
        load_policy(tmp_path / "nope.yaml")


def test_committed_schema_is_current() -> None:
    committed = json.loads((ROOT / "policies" / "schema.json").read_text())
    assert committed == policy_schema(), "run: sspr-audit schema --out policies/schema.json"


def test_baseline_validates_against_schema() -> None:
    jsonschema = pytest.importorskip("jsonschema")
    from ruamel.yaml import YAML

    data = YAML(typ="safe").load((ROOT / "policies" / "baseline.yaml").read_text())
    jsonschema.validate(json.loads(json.dumps(data, default=str)), policy_schema())
