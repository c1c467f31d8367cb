"""The starter policy `sspr-audit init` writes: every key of the policy model, with its meaning, its default
and the checks that judge it, set to the shipped baseline's recommended value.

Generated from the pydantic models (`auditor/policy/models.py`: each field's description and default) and
the check registry (each check's `policy_key`), so it cannot drift from what `validate` accepts or what the
checks read. A key whose omission means "not audited" is written commented out, with that said.
"""

from __future__ import annotations

import json
import textwrap
import types
from typing import Any, Union, get_args, get_origin

from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from auditor.checks.registry import all_checks
from auditor.policy.models import Policy

INDENT = "  "
WIDTH = 110
SCHEMA_FILE = "policy.schema.json"

HEADER = """\
# yaml-language-server: $schema=./{schema}
# sspr-audit policy: the SSPR and password writeback state you want. Written by `sspr-audit init`.
#
# Each key is set to the recommended baseline shipped with sspr-auditor; the comment above it says what
# it means, its default when the key is left out, and the checks (ids) that judge it. A section left out
# entirely is not checked (its checks say not_applicable).
#   sspr-audit validate {policy}                 # is it well-formed?
#   sspr-audit validate {policy} --show          # the policy as it is checked, defaults filled in
#   sspr-audit check {policy} --lab demo         # try it against the built-in lab tenant and domain
#   sspr-audit export --tenant-id <id> ...       # or write a policy from a live tenant instead
# The directory section below names the lab domain's OUs and sync account: replace them with yours.
"""


WAIVER_EXAMPLE = (
    "For example (each waiver expires; an expired one no longer applies):",
    "  - check: ad.acl.coverage",
    "    target: CN=Nora Quinn,OU=Staff,DC=corp,DC=example,DC=test",
    "    reason: inheritance is off on this account until the HR migration ends",
    "    owner: identity-team@example.com",
    "    ticket: CHG-1234",
    "    expires: 2027-03-31",
)


def starter_policy(baseline: dict[str, Any], policy_name: str) -> str:
    """The annotated starter policy as YAML text, with the values of `baseline` (a parsed policy document)."""
    judges = _judges()
    lines = [HEADER.format(schema=SCHEMA_FILE, policy=policy_name)]
    lines += _model_lines(Policy, baseline, "", 0, judges)
    return "\n".join(lines).rstrip("\n") + "\n"


def _judges() -> dict[str, list[str]]:
    by_key: dict[str, list[str]] = {}
    for check in all_checks():
        for key in (check.spec.policy_key, *check.spec.also_reads):
            by_key.setdefault(key, []).append(check.spec.id)
    return by_key


def judged_by(path: str, judges: dict[str, list[str]]) -> list[str]:
    """The checks anchored at `path` or at the nearest section above it that has any."""
    parts = path.split(".")
    while parts:
        found = judges.get(".".join(parts))
        if found:
            return sorted(found)
        parts.pop()
    return []


def _model_lines(model: type[BaseModel], values: dict[str, Any], prefix: str, depth: int,
                 judges: dict[str, list[str]]) -> list[str]:
    lines: list[str] = []
    for name, info in model.model_fields.items():
        key = info.alias or name
        path = f"{prefix}.{key}" if prefix else key
        lines += _key_lines(key, path, info, values, depth, judges)
    return lines


def _key_lines(key: str, path: str, info: FieldInfo, values: dict[str, Any], depth: int,
               judges: dict[str, list[str]]) -> list[str]:
    pad = INDENT * depth
    nested = _nested_model(info.annotation)
    comment = [f"{pad}# {line}" for line in textwrap.wrap(_about(path, info, nested, judges), WIDTH - len(pad) - 2)]
    blank = [""] if depth == 0 else []
    if key in values:
        value = values[key]
        if nested is not None and isinstance(value, dict):
            return blank + comment + [f"{pad}{key}:"] + _model_lines(nested, value, path, depth + 1, judges)
        return blank + comment + _value_lines(pad, key, value)
    default = _default(info)
    if nested is not None and default is not None:  # a section with defaults: show every key inside it
        return blank + comment + [f"{pad}{key}:"] + _model_lines(nested, {}, path, depth + 1, judges)
    if nested is not None:  # an optional section left out: shown commented out, every key inside it too
        inner = _model_lines(nested, {}, path, depth + 1, judges)
        return blank + comment + [f"{pad}# {key}:"] + [_commented_out(line) for line in inner]
    if default is None or default is PydanticUndefined:  # left out: not audited (or a value only you can give)
        return blank + comment + [f"{pad}# {key}:"]
    return blank + comment + _value_lines(pad, key, default)


def _commented_out(line: str) -> str:
    body = line.lstrip(" ")
    return line if body.startswith("#") else f"{line[:len(line) - len(body)]}# {body}"


def _about(path: str, info: FieldInfo, nested: type[BaseModel] | None, judges: dict[str, list[str]]) -> str:
    meaning = info.description or (nested.__doc__ or "").strip().split("\n")[0] if nested else info.description
    meaning = (meaning or "").strip().rstrip(".")
    default = _default(info)
    if nested is not None:
        told = "left out: not checked" if default is None else "left out: every key below at its default"
    elif default is PydanticUndefined:
        told = "required in its section"
    elif default is None:
        told = "left out: not audited" if judged_by(path, judges) else "optional"
    else:
        told = f"default {_inline(default)}"
    checks = judged_by(path, judges)
    said = f"{meaning}. {told[0].upper()}{told[1:]}."
    if nested is None:
        said += f" Judged by {', '.join(checks)}." if checks else " No check judges it: it shapes the audit."
    elif judges.get(path):  # a section one check judges as a whole
        said += f" Judged by {', '.join(sorted(judges[path]))}."
    return said


def _default(info: FieldInfo) -> Any:
    if info.default_factory is not None:
        made = info.get_default(call_default_factory=True)
        return made.model_dump(mode="json", by_alias=True) if isinstance(made, BaseModel) else made
    return info.default


def _nested_model(annotation: Any) -> type[BaseModel] | None:
    """The policy section model an annotation holds (`Sspr | None` → Sspr), or None for a value."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if get_origin(annotation) in (Union, types.UnionType):
        found = [arg for arg in get_args(annotation) if isinstance(arg, type) and issubclass(arg, BaseModel)]
        return found[0] if len(found) == 1 else None
    return None


def _value_lines(pad: str, key: str, value: Any) -> list[str]:
    if isinstance(value, list) and value:
        return [f"{pad}{key}:"] + [f"{pad}  - {_inline(item)}" for item in value]
    if key == "waivers" and value == []:
        return [f"{pad}{key}: []", *(f"{pad}# {line}" for line in WAIVER_EXAMPLE)]
    return [f"{pad}{key}: {_inline(value)}"]


def _inline(value: Any) -> str:
    """A YAML flow scalar (JSON is YAML): strings quoted only when plain YAML would read them otherwise."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, str) and value and _plain_ok(value):
        return value
    if hasattr(value, "isoformat"):
        return str(value.isoformat())
    return json.dumps(value, ensure_ascii=False)


def _plain_ok(text: str) -> bool:
    from ruamel.yaml import YAML

    if text != text.strip() or any(c in text for c in ":#{}[],&*!|>'\"%@`\n"):
        return False
    try:
        return bool(YAML(typ="safe").load(text) == text)
    except Exception:  # anything plain YAML cannot read back as the same string gets quotes
        return False
