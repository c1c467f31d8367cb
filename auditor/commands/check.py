"""`sspr-audit check`: audit the live state (or the lab, or a snapshot) against a policy."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from auditor.commands.common import SEVERITIES, UsageError, inputs
from auditor.commands.endpoint_options import add_read_options, source_arguments

FRAMEWORKS = ("cis", "cis-m365", "cis-azure", "eidsca", "scuba", "secure-score", "maester", "zta")


def register(commands: Any) -> None:
    check = commands.add_parser("check", help="audit the live state (or the lab, or a snapshot) against a policy",)
    check.add_argument("policy", type=Path, help="policy YAML file")
    add_read_options(check, allow_snapshot=True)
    check.add_argument("--out", type=Path, default=Path("reports"), help="folder for reports (default: reports/)")
    check.add_argument("--format", default="html,json", help="comma-separated report formats (default: html,json)")
    check.add_argument("--fail-on", choices=SEVERITIES, default="low",
                       help="lowest severity of a failure that makes the exit code 1 (default: low)")
    check.add_argument("--unknown", choices=("fail", "warn"), default="fail",
                       help="fail: an unknown gives exit code 3 (default); warn: report it only")
    check.add_argument("--lab-after", type=Path, metavar="PLAN",
                       help="with --lab: read the lab tenant and domain kept for PLAN as `apply PLAN --lab` (or "
                            "`rollback --lab`) left them, instead of a fresh lab")
    check.add_argument("--previous", type=Path, metavar="OLD.json",
                       help="a JSON report of an earlier run: add what changed since then to the reports")
    check.add_argument("--framework", action="append", choices=FRAMEWORKS,
                       help="also print the status of each control of this framework the checks evidence "
                            "(repeat for more); cis = CIS Microsoft 365 Foundations")
    check.set_defaults(handler=run, command="check")


def run(args: argparse.Namespace) -> int:
    from auditor.app.audit import ExitPolicy, checked_report
    from auditor.app.report_trust import ReportTrustError, other_tenant, read_report, sealed
    from auditor.checks.base import Severity
    from auditor.commands.present import print_summary
    from auditor.commands.reading import snapshot_of
    from auditor.diff import attach_trend
    from auditor.files import check_output_folder
    from auditor.policy.loader import load_policy
    from auditor.remediation.seal import plan_key
    from auditor.render import RENDERERS, write_reports

    formats = [f.strip() for f in args.format.split(",") if f.strip()]
    unknown = [f for f in formats if f not in RENDERERS]
    if unknown or not formats:
        raise UsageError(f"unknown report format {', '.join(unknown) or '(none)'}; "
                         f"choose from {', '.join(sorted(RENDERERS))}")
    check_output_folder(args.out, stem="sspr-audit", inputs=inputs(args))
    plan_key()  # a weak SSPR_PLAN_KEY (the report's MAC) is an error before anything is read
    policy = load_policy(args.policy)  # before any network: a policy error writes nothing
    try:  # a known report format and version, its seal checked, its counts derived again from its findings
        previous = read_report(args.previous, "previous report") if args.previous else None
    except ReportTrustError as exc:
        raise UsageError(f"--previous: {exc}") from None
    snapshot = _kept_lab(args, policy) if args.lab_after else snapshot_of(args, policy)
    report = checked_report(policy, snapshot, ExitPolicy(Severity(args.fail_on), args.unknown == "fail"))
    if previous is not None:
        elsewhere = other_tenant(previous, report)
        if elsewhere:
            raise UsageError(f"--previous {args.previous}: {elsewhere}; give an earlier report of the same tenant")
        report = attach_trend(report, previous, args.previous.name)
    report = sealed(report)  # with SSPR_PLAN_KEY set, the JSON report carries a MAC that merge/--previous check
    paths = write_reports(report, args.out, formats)
    print_summary(report, paths, sys.stdout, next_step(args, report))
    if args.framework:
        from auditor.checks.frameworks import FRAMEWORK_ALIASES
        from auditor.render.framework_view import control_table

        for name in dict.fromkeys(args.framework):
            print()
            print(control_table(report.controls, FRAMEWORK_ALIASES[name]))
    return int(report.summary.exit_code)


def _kept_lab(args: argparse.Namespace, policy: Any) -> Any:
    from auditor.app.lab_workspace import kept_lab_snapshot
    from auditor.commands.endpoint_options import endpoints_of

    lab = endpoints_of(args).lab
    if lab is None:
        raise UsageError("--lab-after PLAN needs --lab SCENARIO (the scenario the plan was made against)")
    return kept_lab_snapshot(lab, args.lab_after, policy, args.timeout)


def next_step(args: argparse.Namespace, report: Any) -> str | None:
    """The command to run next: `plan …` with the same source when the plan can fix something."""
    import shlex

    failing = [f for f in report.findings if f.status.value == "fail"]
    if any(f.fixable for f in failing):
        return "sspr-audit plan " + " ".join(shlex.quote(part) for part in
                                            [str(args.policy), *source_arguments(args), "--out", "plan.json"])
    if failing:
        return "the failures above need manual steps: each finding's fix is in the report"
    if any(f.status.value == "unknown" for f in report.findings):
        return "give the readers what they lack (the reasons above say what), then run again"
    return None
