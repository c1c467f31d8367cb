"""`sspr-audit plan`: write the changes that would fix the drift (and the manual steps) to a plan file."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from auditor.commands.common import check_outputs, inputs
from auditor.commands.endpoint_options import add_read_options


def register(commands: Any) -> None:
    plan = commands.add_parser(
        "plan", help="write the changes that would fix the drift (and the manual steps) to a plan file",)
    plan.add_argument("policy", type=Path, help="policy YAML file")
    add_read_options(plan, allow_snapshot=True)
    plan.add_argument("--out", type=Path, required=True, help="plan JSON file to write")
    plan.add_argument("--powershell", type=Path, metavar="PLAN.ps1",
                      help="also write the plan as a PowerShell script (supports -WhatIf)")
    plan.set_defaults(handler=run, command="plan")


def run(args: argparse.Namespace) -> int:
    from auditor.app.audit import findings_of
    from auditor.commands.endpoint_options import endpoints_of, plan_source
    from auditor.commands.present import print_plan
    from auditor.commands.reading import snapshot_of
    from auditor.endpoints import Endpoints
    from auditor.policy.loader import load_policy
    from auditor.remediation.changes import save_plan
    from auditor.remediation.planner import make_plan, plan_exit_code

    check_outputs((args.out, "plan"), (args.powershell, "PowerShell script"), inputs=inputs(args))
    policy = load_policy(args.policy)
    snapshot = snapshot_of(args, policy)
    findings = findings_of(policy, snapshot)  # the verdicts only: no report views over every user
    endpoints = Endpoints() if args.snapshot else endpoints_of(args)
    source = plan_source(args, endpoints, snapshot.origin)
    if source.endpoints.lab is not None:  # apply and rollback --lab work on the domain the plan read
        from auditor.app.lab_workspace import lab_domain_read

        source = source.model_copy(update={"lab_domain": lab_domain_read(snapshot, source.endpoints.lab)})
    plan = make_plan(policy, snapshot, findings, source=source)
    print_plan(plan, str(policy.source_file), snapshot.origin, save_plan(plan, args.out))
    if args.powershell:
        from auditor.remediation.powershell import write_powershell

        write_powershell(plan, args.powershell)
        print(f"PowerShell script written: {args.powershell} (run it with -WhatIf first)")
    return int(plan_exit_code(plan))
