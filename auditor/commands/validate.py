"""`sspr-audit validate`: check policy files for errors, without reading any tenant."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from auditor.exit_codes import Exit


def register(commands: Any) -> None:
    validate = commands.add_parser("validate", help="check policy files for errors, without reading any tenant")
    validate.add_argument("policies", type=Path, nargs="+", metavar="POLICY")
    validate.add_argument("--show", action="store_true",
                          help="print each policy as it is checked: the files it `extends` merged, every key "
                               "marked with the file and line that set it")
    validate.set_defaults(handler=run, command="validate")


def run(args: argparse.Namespace) -> int:
    from auditor.policy.loader import PolicyError, load_policy

    failed = 0
    for path in args.policies:
        try:
            policy = load_policy(path)
        except PolicyError as exc:
            failed += 1
            print("\n".join(str(issue) for issue in exc.issues[:20]), file=sys.stderr)
        else:
            print(f"{path}: ok")
            if args.show:
                from auditor.policy.show import expanded_yaml

                print(f"# {path}, as checked (`extends` merged, defaults filled in; each key: the file and line "
                      "that set it, or `default`)")
                print(expanded_yaml(policy), end="")
    return Exit.usage if failed else Exit.ok
