"""`sspr-audit fleet check | matrix | merge | validate`: many tenants as one audit."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from auditor.commands.common import UsageError, positive_int
from auditor.exit_codes import Exit


def register(commands: Any) -> None:
    fleet = commands.add_parser("fleet", help="many tenants as one audit: check them all, or split the work "
                                              "over CI jobs (matrix) and merge their reports")
    fleet_commands = fleet.add_subparsers(title="fleet commands", metavar="FLEET_COMMAND")
    check = fleet_commands.add_parser("check", help="audit every tenant of the inventory, a few at a time: one "
                                                    "folder of reports per tenant and one fleet report")
    check.add_argument("fleet_file", type=Path, metavar="FLEET", help="the inventory (fleet.yaml)")
    check.add_argument("--out", type=Path, default=Path("reports/fleet"),
                       help="folder for the fleet report and a folder per tenant (default: reports/fleet)")
    check.add_argument("--only", action="append", metavar="TENANT",
                       help="audit only this tenant (repeat for more): one matrix job's share")
    check.add_argument("--concurrency", type=positive_int, help="tenants at once (default: the inventory's)")
    check.add_argument("--previous", type=Path, metavar="FILE",
                       help="an earlier sspr-fleet.json: the fleet report says which cells got worse or better")
    check.add_argument("--progress", choices=("auto", "always", "never"), default="auto",
                       help="a row per tenant on stderr (auto: live on a terminal, a line per tenant in a log)")
    check.set_defaults(handler=run_check, command="fleet check")
    matrix = fleet_commands.add_parser("matrix", help="print a GitHub Actions matrix (JSON): one job per tenant")
    matrix.add_argument("fleet_file", type=Path, metavar="FLEET")
    matrix.set_defaults(handler=run_matrix, command="fleet matrix")
    merge = fleet_commands.add_parser("merge", help="build the fleet report from separate runs' JSON reports")
    merge.add_argument("reports", nargs="+", metavar="REPORT",
                       help="a tenant's sspr-audit.json, as NAME=PATH or PATH (the name is then its folder's)")
    merge.add_argument("--out", type=Path, required=True, help="folder for the fleet report")
    merge.add_argument("--previous", type=Path, metavar="FILE", help="an earlier sspr-fleet.json (the trend)")
    merge.add_argument("--fleet", type=Path, metavar="FLEET", dest="fleet_file",
                       help="the inventory: each report must be of the tenant id it gives that name")
    merge.set_defaults(handler=run_merge, command="fleet merge")
    validate = fleet_commands.add_parser("validate", help="check the inventory and every tenant's policy")
    validate.add_argument("fleet_file", type=Path, metavar="FLEET")
    validate.add_argument("--show", action="store_true", help="print each tenant's policy as it is checked")
    validate.set_defaults(handler=run_validate, command="fleet validate")


def run_check(args: argparse.Namespace) -> int:
    from auditor.app.fleet import run_fleet
    from auditor.app.fleet_folders import FleetBusy, FleetFolderError, check_tenant_folder, locked_out
    from auditor.commands.present import print_fleet, refused
    from auditor.files import check_output_folder
    from auditor.policy.fleet import load_fleet
    from auditor.progress_display import FleetProgress
    from auditor.remediation.seal import plan_key
    from auditor.render.fleet import FLEET_STEM, build_fleet_report, write_fleet_reports

    check_output_folder(args.out, stem=FLEET_STEM, inputs=(args.fleet_file, args.previous))
    loaded = load_fleet(args.fleet_file)  # every tenant's policy too: an error anywhere reads nothing
    plan_key()  # a weak SSPR_PLAN_KEY (the reports' MAC) is an error before any tenant is read
    names = {t.name for t in loaded.fleet.tenants}
    unknown = [name for name in args.only or [] if name not in names]
    if unknown:
        raise UsageError(f"--only {', '.join(unknown)}: no such tenant in {args.fleet_file}")
    previous = _previous(args.previous)
    chosen = [t.name for t in loaded.fleet.tenants if not args.only or t.name in args.only]
    try:
        for name in chosen:  # a tenant folder that is a link: refused before any tenant is read
            check_tenant_folder(args.out, name)
        with locked_out(args.out):  # one run at a time writes --out: never two runs' files interleaved
            with FleetProgress(args.progress, sys.stderr, chosen) as display:
                results = run_fleet(loaded, args.out, only=args.only, concurrency=args.concurrency,
                                    on_event=display)
            report = build_fleet_report(results, args.out, fleet_file=str(args.fleet_file), previous=previous,
                                        previous_label=args.previous.name if args.previous else "previous fleet run")
            _same_tenants(args.previous, previous, report)
            paths = write_fleet_reports(report, results, args.out)
    except FleetFolderError as exc:
        raise UsageError(str(exc)) from None
    except FleetBusy as exc:
        refused(exc)
        return Exit.refused
    print_fleet(report, paths)
    return int(report.exit_code)


def _previous(path: Path | None) -> Any:
    if path is None:
        return None
    from auditor.fleet_report import load_fleet_report

    return load_fleet_report(path)


def _same_tenants(path: Path | None, previous: Any, report: Any) -> None:
    """Refuse a --previous fleet report that lists another tenant under one of this run's names."""
    from auditor.fleet_report import other_tenants

    moved = other_tenants(previous, report) if previous is not None else []
    if moved:
        raise UsageError(f"--previous {path}: another tenant under the same name: {', '.join(moved[:5])}; give an "
                         "earlier report of this fleet")


def run_matrix(args: argparse.Namespace) -> int:
    import json

    from auditor.app.fleet import matrix
    from auditor.policy.fleet import load_fleet

    print(json.dumps(matrix(load_fleet(args.fleet_file)), separators=(",", ":")))
    return Exit.ok


def run_merge(args: argparse.Namespace) -> int:
    from auditor.app.fleet import MergeError, merge_inputs, merge_reports
    from auditor.app.fleet_folders import FleetBusy, FleetFolderError, locked_out
    from auditor.commands.present import print_fleet, refused
    from auditor.files import check_output_folder
    from auditor.render.fleet import FLEET_STEM, build_fleet_report, write_fleet_reports

    try:
        items = merge_inputs(args.reports)
    except MergeError as exc:
        raise UsageError(str(exc)) from None
    check_output_folder(args.out, stem=FLEET_STEM, inputs=(*[path for _, path in items], args.previous,
                                                           args.fleet_file))
    fleet = None
    if args.fleet_file is not None:
        from auditor.policy.fleet import load_fleet

        fleet = load_fleet(args.fleet_file)
    try:
        results = merge_reports(items, fleet)
    except MergeError as exc:
        raise UsageError(str(exc)) from None
    previous = _previous(args.previous)
    report = build_fleet_report(results, args.out, fleet_file=str(args.fleet_file) if args.fleet_file else None,
                                previous=previous,
                                previous_label=args.previous.name if args.previous else "previous fleet run")
    _same_tenants(args.previous, previous, report)
    try:
        with locked_out(args.out):
            paths = write_fleet_reports(report, results, args.out)
    except FleetFolderError as exc:
        raise UsageError(str(exc)) from None
    except FleetBusy as exc:
        refused(exc)
        return Exit.refused
    print_fleet(report, paths)
    return int(report.exit_code)


def run_validate(args: argparse.Namespace) -> int:
    from auditor.policy.fleet import load_fleet

    loaded = load_fleet(args.fleet_file)
    print(f"{args.fleet_file}: ok ({len(loaded.fleet.tenants)} tenant(s))")
    if args.show:
        from auditor.policy.show import expanded_yaml

        for tenant in loaded.fleet.tenants:
            print(f"# tenant {tenant.name}: its policy as checked")
            print(expanded_yaml(loaded.policies[tenant.name]), end="")
    return Exit.ok
