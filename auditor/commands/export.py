"""`sspr-audit export`: write the live state (or the lab's) as a policy file."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from auditor.commands.common import check_outputs
from auditor.commands.endpoint_options import add_read_options
from auditor.exit_codes import Exit


def register(commands: Any) -> None:
    export = commands.add_parser("export", help="write the live state (or the lab's) as a policy file, "
                                               "every value explicit, each commented with its source")
    add_read_options(export, allow_snapshot=True)
    export.add_argument("--out", type=Path, required=True, help="policy YAML file to write")
    export.set_defaults(handler=run, command="export")


def run(args: argparse.Namespace) -> int:
    from auditor.commands.reading import discovered_snapshot, snapshot_of
    from auditor.export import export_policy

    check_outputs((args.out, "policy"), inputs=(getattr(args, "snapshot", None),))
    snapshot = snapshot_of(args) if getattr(args, "snapshot", None) else discovered_snapshot(args)
    result = export_policy(snapshot, args.out)
    for note in result.commented_out:
        print(f"  commented out: {note}")
    print(f"policy written: {result.path}")
    if result.issues:
        print("the live state breaks rules the policy format enforces, so this file will not validate "
              "until they are fixed (the values were written as read, not adjusted):", file=sys.stderr)
        for issue in result.issues:
            print(f"  {issue}", file=sys.stderr)
        return Exit.drift
    return Exit.ok
