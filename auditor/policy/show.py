"""`validate --show`: a policy as it is checked, its `extends` chain merged and its defaults filled in; each key
marked with where it was set, or `default` when no file writes it (a default is enforced like a written value)."""

from __future__ import annotations

import io
from typing import Any

from auditor.policy.models import Policy

DEFAULT = "default"
DEFAULT_UNSET = "default: unset"


def effective(policy: Policy) -> dict[str, Any]:
    """The policy as the checks see it: every key with its value, the sections left out (not checked) omitted."""
    document = policy.model_dump(mode="json", by_alias=True, exclude={"extends"})
    return {key: value for key, value in document.items() if value is not None}


def expanded_yaml(policy: Policy) -> str:
    """The effective policy as YAML; every key carries `# FILE:LINE` of the file that set it, or `# default`."""
    from ruamel.yaml import YAML
    from ruamel.yaml.comments import CommentedMap, CommentedSeq

    source = policy._source
    if source is None:
        raise ValueError("the policy was not loaded from a file")

    def build(node: Any, prefix: str) -> Any:
        if isinstance(node, dict):
            out = CommentedMap()
            for key, value in node.items():
                path = f"{prefix}.{key}" if prefix else key
                out[key] = build(value, path)
                where = source.positions.get(path)
                if where is not None:
                    out.yaml_add_eol_comment(f"{source.file_of(path)}:{where[0]}", key)
                else:
                    out.yaml_add_eol_comment(DEFAULT_UNSET if value is None else DEFAULT, key)
            return out
        if isinstance(node, list):
            return CommentedSeq(build(item, f"{prefix}.{index}") for index, item in enumerate(node))
        return node

    yaml = YAML(typ="rt")
    yaml.width = 120
    yaml.indent(mapping=2, sequence=4, offset=2)
    stream = io.StringIO()
    yaml.dump(build(effective(policy), ""), stream)
    return stream.getvalue()
