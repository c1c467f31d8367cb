"""`sspr-audit schema`: print the policy JSON Schema (for editors and CI)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from auditor.commands.common import check_outputs
from auditor.exit_codes import Exit


def register(commands: Any) -> None:
    schema = commands.add_parser("schema", help="print the policy JSON Schema (for editors and CI)")
    schema.add_argument("--out", type=Path, help="write to this file instead of stdout")
    schema.set_defaults(handler=run, command="schema")


def run(args: argparse.Namespace) -> int:
    from auditor.policy.schema import policy_schema_json

    text = policy_schema_json()
    if args.out:
        from auditor.files import write_atomically

        check_outputs((args.out, "schema"))
        write_atomically(args.out, text.encode("utf-8"))
        print(f"schema written: {args.out}")
    else:
        sys.stdout.write(text)
    return Exit.ok
