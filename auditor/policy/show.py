"""`validate --show`: a policy as it is checked, its `extends` chain merged, each key marked with where it was set."""

from __future__ import annotations

import io
from typing import Any

from auditor.policy.models import Policy


def expanded_yaml(policy: Policy) -> str:
    """The merged document as YAML; every key carries `# FILE:LINE` of the file that set it."""
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
            return out
        if isinstance(node, list):
            return CommentedSeq(build(item, f"{prefix}.{index}") for index, item in enumerate(node))
        return node

    yaml = YAML(typ="rt")
    yaml.width = 120
    yaml.indent(mapping=2, sequence=4, offset=2)
    stream = io.StringIO()
    yaml.dump(build(source.expanded, ""), stream)
    return stream.getvalue()
