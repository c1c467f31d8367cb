"""`sspr-audit init`: start a policy in the current folder from what ships inside the package.

Writes the annotated starter policy (export/starter.py, values from the shipped baseline) and the policy
JSON Schema its `$schema` line names, and with `--workflow` a GitHub workflow that runs the action. Never
overwrites: a file already there is kept and said so (so `init --workflow` after `init` adds the workflow), and
when every file is already there nothing is written and it says so (files.write_new refuses a name made
meanwhile).
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

from auditor.files import OutputPathError

WORKFLOW_TEMPLATE = "scheduled-audit.yml"
WORKFLOW_PATH = Path(".github") / "workflows" / "sspr-audit.yml"
POLICY_LINE = "policy: policy.yaml"


@dataclass(frozen=True)
class Written:
    path: Path
    what: str
    kept: bool = False  # already there: left as it was


def init_files(folder: Path, *, policy_name: str = "policy.yaml", workflow: bool = False) -> list[Written]:
    """Write the starter files into `folder`, keeping any already there; refuse (OutputPathError) when all are."""
    from ruamel.yaml import YAML

    from auditor.data import BASELINE, shipped_text
    from auditor.export.starter import SCHEMA_FILE, starter_policy
    from auditor.files import write_new
    from auditor.policy.schema import policy_schema_json

    baseline = YAML(typ="safe").load(shipped_text(BASELINE))
    planned = [(folder / policy_name, starter_policy(baseline, policy_name), "starter policy"),
               (folder / SCHEMA_FILE, policy_schema_json(), "policy JSON Schema (editors: the $schema line)")]
    if workflow:
        planned.append((folder / WORKFLOW_PATH, workflow_text(policy_name), "GitHub workflow (the sspr-audit action)"))
    existing = {path for path, _, _ in planned if path.exists() or path.is_symlink()}
    if len(existing) == len(planned):
        raise OutputPathError(f"{', '.join(str(path) for path in sorted(existing))}: already there; `init` never "
                              "overwrites (move them away or run it in another folder)")
    written = []
    for path, text, what in planned:
        if path in existing:
            written.append(Written(path, what, kept=True))
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        written.append(Written(write_new(path, text.encode("utf-8")), what))
    return written


def workflow_text(policy_name: str) -> str:
    """The shipped scheduled-audit workflow, pointed at the policy `init` wrote."""
    template = files("auditor") / "workflows" / WORKFLOW_TEMPLATE
    text = template.read_text(encoding="utf-8")
    if text.count(POLICY_LINE) != 1:
        raise RuntimeError(f"the shipped {WORKFLOW_TEMPLATE} has no single `{POLICY_LINE}` to point at the policy")
    return text.replace(POLICY_LINE, f"policy: {policy_name}")
