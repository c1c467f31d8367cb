"""`sspr-audit apply`: apply a plan (a dry run unless --yes): backup first, verify each change, stop at a failure."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from auditor.commands.common import check_outputs
from auditor.commands.endpoint_options import add_write_options
from auditor.exit_codes import OUTCOME_EXIT, Exit


def register(commands: Any) -> None:
    apply = commands.add_parser(
        "apply", help="apply a plan: a dry run unless --yes; backup first, verify each change, stop at a failure",)
    apply.add_argument("plan", type=Path, metavar="PLAN", help="plan JSON file made by `plan`")
    apply.add_argument("--yes", action="store_true", help="really write (without it: a dry run)")
    apply.add_argument("--backup", type=Path, metavar="FILE",
                       help="backup file to write before the first change (default: next to the plan, timestamped)")
    apply.add_argument("--policy", type=Path, metavar="POLICY",
                       help="the policy file the plan was made from, when it moved (its sha256 must match the plan's)")
    apply.add_argument("--other-target", action="store_true",
                       help="write to endpoints other than the ones the plan's live state was read from")
    add_write_options(apply)
    apply.set_defaults(handler=run, command="apply")


def run(args: argparse.Namespace) -> int:
    from auditor.app.lab_workspace import write_targets
    from auditor.app.remediate import RefusedError, apply_plan, endpoints_of, other_target, plan_policy
    from auditor.commands.present import print_apply, refused
    from auditor.remediation.apply import default_backup_path
    from auditor.remediation.changes import load_plan
    from auditor.remediation.seal import signed

    plan = load_plan(args.plan)
    backup = args.backup or default_backup_path(args.plan)
    check_outputs((backup, "backup"), inputs=(args.plan, args.policy, plan.policy_path))
    chosen = chosen_endpoints(args, plan.source, plan.digest)
    try:
        policy = plan_policy(plan, args.policy)
        elsewhere = other_target(plan, chosen)
        if elsewhere and not args.other_target:
            raise RefusedError(f"the plan would be written to {elsewhere}: give --other-target if that is meant")
        print(f"policy: {policy.source_file} (sha256 {(policy.source_sha256 or '')[:16]}…); plan "
              f"{'signed and verified with SSPR_PLAN_KEY' if signed() else 'not signed (SSPR_PLAN_KEY unset)'}")
        with write_targets(chosen, plan.source, plan.digest, create=True,
                           fingerprints=plan.fingerprints) as opened:
            result = apply_plan(plan, opened.reached, policy=policy, yes=args.yes, backup_path=backup,
                                endpoints=endpoints_of(opened.reached) if chosen.lab is None else [],
                                allow_other_tenant=args.other_target, prove=opened.prove,
                                writing=opened.writing)
    except RefusedError as exc:
        refused(exc)
        return Exit.refused
    print_apply(result, dry_run=not args.yes)
    return OUTCOME_EXIT[result.outcome]


def chosen_endpoints(args: argparse.Namespace, source: Any, plan_digest: str) -> Any:
    """The plan's (or backup's) endpoints with the options given, said before anything is written."""
    from auditor.app.lab_workspace import kept_place
    from auditor.app.remediate import describe_targets, write_endpoints
    from auditor.commands.endpoint_options import write_overrides

    chosen = write_endpoints(source, **write_overrides(args))
    kept_in = kept_place(plan_digest) if chosen.lab is not None else ""  # never makes a lab folder otherwise
    print(f"writing to: {describe_targets(chosen, source, kept_in)}")
    return chosen
