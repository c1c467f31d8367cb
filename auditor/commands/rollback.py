"""`sspr-audit rollback`: restore what an apply changed, from its backup file."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from auditor.commands.endpoint_options import add_write_options
from auditor.exit_codes import OUTCOME_EXIT, Exit


def register(commands: Any) -> None:
    rollback = commands.add_parser("rollback", help="restore what an apply changed, from its backup file",)
    rollback.add_argument("backup", type=Path, metavar="BACKUP", help="backup JSON file written by `apply`")
    rollback.add_argument("--yes", action="store_true", help="really restore (without it: a dry run)")
    rollback.add_argument("--force", action="store_true",
                          help="also restore objects changed since the apply (by default they are shown and left)")
    rollback.add_argument("--other-target", action="store_true",
                          help="restore to endpoints other than the ones the apply that wrote the backup wrote to")
    add_write_options(rollback)
    rollback.set_defaults(handler=run, command="rollback")


def run(args: argparse.Namespace) -> int:
    from auditor.app.lab_workspace import write_targets
    from auditor.app.remediate import RefusedError, backup_elsewhere, endpoints_of, rollback_backup
    from auditor.commands.apply import chosen_endpoints
    from auditor.commands.present import print_rollback, refused
    from auditor.remediation.apply import load_backup
    from auditor.remediation.seal import signed

    backup = load_backup(args.backup)
    chosen = chosen_endpoints(args, backup.source, backup.plan_digest)
    elsewhere = backup_elsewhere(backup, chosen)
    if elsewhere and not args.other_target:
        refused(f"this rollback would write to {elsewhere}: give --other-target if that is meant")
        return Exit.refused
    if not signed():
        print("backup not signed (SSPR_PLAN_KEY unset): its digest is checked, but only the file's permissions "
              "stand between it and an edit", file=sys.stderr)
    try:
        with write_targets(chosen, backup.source, backup.plan_digest, create=False) as opened:
            result = rollback_backup(backup, opened.reached, yes=args.yes, force=args.force,
                                     endpoints=endpoints_of(opened.reached) if chosen.lab is None else [])
    except RefusedError as exc:
        refused(exc)
        return Exit.refused
    print_rollback(result)
    return OUTCOME_EXIT[result.outcome]
