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


# -- issue 29: the older cases ---------------------------------------------------------------------------

BODY = "version: 1\nwriteback:\n  enabled: true\n"


@pytest.mark.parametrize(("encoding", "named"), [
    ("utf-16", "UTF-16 (little-endian, with a byte-order mark)"),
    ("utf-16-le", "UTF-16 (little-endian, no byte-order mark)"),
    ("utf-16-be", "UTF-16 (big-endian, no byte-order mark)"),
    ("utf-32", "UTF-32 (little-endian, with a byte-order mark)"),
    ("utf-32-le", "UTF-32 (little-endian, no byte-order mark)"),
    ("utf-32-be", "UTF-32 (big-endian, no byte-order mark)"),
])
def test_a_utf16_or_utf32_file_is_named_as_such(encoding: str, named: str) -> None:
    (message,) = errors_of(BODY.encode(encoding))
    assert message == f"p.yaml:1:1: not UTF-8: the file is {named}; save it as UTF-8"


@pytest.mark.parametrize(("hidden", "shown"), [("\u200b", "\\u200b"), ("\ufeff", "\\ufeff"), ("\u2060", "\\u2060"),
                                               ("\u2028", "\\u2028"), ("\u200e", "\\u200e")])
def test_invisible_characters_in_a_key_are_shown_escaped(hidden: str, shown: str) -> None:
    messages = errors_of(f"version: 1\nwriteback:\n  enab{hidden}led: true\n")
    unknown = next(m for m in messages if "unknown key" in m)
    assert hidden not in unknown and f"writeback.enab{shown}led: unknown key; did you mean `enabled`?" in unknown


def test_str_tag_is_text_and_no_message_shows_an_internal_repr() -> None:
    policy = parse_policy(b"version: 1\ntenant:\n  name: !!str 2024\nwriteback:\n  enabled: true\n", "p.yaml")
    assert policy.tenant.name == "2024"
    (message,) = errors_of("version: 1\nwriteback:\n  enabled: !!str 2024\n")
    assert message.startswith("p.yaml:3:3: writeback.enabled: ") and "(got '2024')" in message
    assert "TaggedScalar" not in message and "Tag(" not in message
    (message,) = errors_of("version: 1\nwriteback:\n  enabled: !custom yes\n")
    assert message.startswith("p.yaml:3:3: writeback.enabled: the YAML tag !custom is not one a policy uses")


def test_an_anchored_boolean_stays_a_boolean() -> None:
    policy = parse_policy(b"version: 1\nwriteback:\n  enabled: &on true\n  unlock: *on\n", "p.yaml")
    assert policy.writeback is not None and policy.writeback.enabled is True and policy.writeback.unlock is True


def test_a_very_long_integer_is_refused_on_its_line() -> None:
    (message,) = errors_of("version: 1\nwriteback:\n  enabled: true\nsspr:\n  methods_required: " + "9" * 5000 + "\n")
    assert message == "p.yaml:5:21: an integer of 5000 digits (the limit is 64)"


@pytest.mark.parametrize("nested", [
    "".join("  " * (i + 1) + f"k{i}:\n" for i in range(400)) + "  " * 401 + "v\n",
    "  x:\n    " + "- " * 400 + "v\n",
])
def test_deep_block_nesting_is_refused_near_its_line(nested: str) -> None:
    (message,) = errors_of("version: 1\nwriteback:\n  enabled: true\nsspr:\n" + nested)
    line = int(message.split(":")[1])
    assert line >= 5 and "nested more than 64 levels deep" in message, message
