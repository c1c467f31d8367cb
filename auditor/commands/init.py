"""`sspr-audit init`: start a policy here, every key with its default, its meaning and the checks that judge it."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from auditor.commands.common import UsageError
from auditor.exit_codes import Exit


def register(commands: Any) -> None:
    init = commands.add_parser(
        "init", help="start a policy here: every key with its default, its meaning and the checks that judge it",
        description="Writes policy.yaml (the recommended baseline, every key annotated) and policy.schema.json "
                    "into the current folder; never overwrites a file.")
    init.add_argument("--policy", default="policy.yaml", metavar="NAME",
                      help="the policy file's name (default: policy.yaml)")
    init.add_argument("--workflow", action="store_true",
                      help="also write .github/workflows/sspr-audit.yml, a scheduled audit using the action")
    init.set_defaults(handler=run, command="init")


def run(args: argparse.Namespace) -> int:
    from auditor.app.init import init_files

    name = Path(args.policy)
    if name.name != args.policy or name.suffix not in (".yaml", ".yml"):
        raise UsageError(f"--policy {args.policy!r}: give a file name ending in .yaml, written in this folder")
    for written in init_files(Path.cwd(), policy_name=args.policy, workflow=args.workflow):
        verb = "kept" if written.kept else "wrote"
        note = " (already there; init never overwrites)" if written.kept else ""
        print(f"{verb} {written.path.relative_to(Path.cwd())}: {written.what}{note}")
    print(f"next: sspr-audit check {args.policy} --lab demo   (the built-in lab; needs the [lab] extra)")
    return Exit.ok
