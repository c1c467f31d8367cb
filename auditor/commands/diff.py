"""`sspr-audit diff`: what changed between two JSON reports (or two snapshots)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from auditor.exit_codes import Exit


def register(commands: Any) -> None:
    diff = commands.add_parser("diff", help="what changed between two JSON reports (or two snapshots): "
                                           "new failures, fixed, still failing, changed values")
    diff.add_argument("old", type=Path, metavar="OLD", help="the earlier JSON report or snapshot")
    diff.add_argument("new", type=Path, metavar="NEW", help="the later JSON report or snapshot")
    diff.set_defaults(handler=run, command="diff")


def run(args: argparse.Namespace) -> int:
    from auditor.diff import diff_files, trend_lines

    for line in trend_lines(diff_files(args.old, args.new)):
        print(line)
    return Exit.ok
