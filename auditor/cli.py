"""`sspr-audit`: argument parsing, terminal output and exit codes only.

Exit codes: auditor/exit_codes.py, the one table every command, the help and the README use.
Heavy libraries (msgraph, azure.identity, ldap3, jinja2) are imported only by the commands
that need them, so `--help` and `validate` start fast.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TextIO

from auditor import exit_codes
from auditor.exit_codes import Exit
from auditor.interrupts import Interrupted, on_signal

SEVERITIES = ("info", "low", "medium", "high", "critical")
# what apply's and rollback's outcomes exit with
OUTCOME_EXIT = {"nothing_to_do": Exit.ok, "dry_run": Exit.ok, "applied": Exit.ok, "restored": Exit.ok,
                "failed": Exit.failed, "refused": Exit.refused, "partial": Exit.partial}


class UsageError(Exception):
    """A user mistake the CLI reports in one line with exit code 2."""


def main(argv: Sequence[str] | None = None) -> int:
    import signal
    import threading

    _tolerant_streams()
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    # MSAL's debug log carries token-request bodies (the device code; found by tests/integration/test_secrets.py):
    # it stays at WARNING even under -v.
    logging.getLogger("msal").setLevel(logging.WARNING)
    if not getattr(args, "handler", None):
        parser.print_help()
        return Exit.usage
    previous = {}
    if threading.current_thread() is threading.main_thread():  # Python delivers signals to the main thread only
        # SIGINT too: left to Python, a Ctrl-C inside asyncio.run only cancels the main task (Python 3.11's
        # asyncio.Runner), and a reader that turns the cancellation into a failed read lets the run carry on.
        # While an event loop runs, auditor.interrupts.run routes them to the loop instead (a raise inside an
        # asyncio callback would be swallowed).
        previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT)}
    try:
        return int(args.handler(args))
    except (KeyboardInterrupt, Interrupted) as exc:
        signum = exc.signum if isinstance(exc, Interrupted) else signal.SIGINT
        _stop_lab_processes()
        print(f"interrupted by {signal.Signals(signum).name}: stopped; lab processes this run started were "
              "stopped", file=sys.stderr)
        return 128 + int(signum)
    except Exception as exc:
        message = _known_error_message(exc)
        if message is None:
            from auditor.app.crash import report_crash

            print(report_crash(exc, _command_name(args)), file=sys.stderr)
            return Exit.internal
        print(message, file=sys.stderr)
        return Exit.usage
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _command_name(args: argparse.Namespace) -> str:
    handler = getattr(args, "handler", None)
    name = getattr(handler, "__name__", "").removeprefix("cmd_")
    return name.replace("_", " ")


def _stop_lab_processes() -> None:
    if "auditor.app.lab" in sys.modules or "auditor.lab_domain.samba" in sys.modules:
        from auditor.app.lab import stop_lab_processes

        stop_lab_processes()


class _PipeSafe:
    """stdout or stderr that, once its reader is gone (`| head -1`, `2>&1 | head -1`, a closed pipe), drops the
    rest instead of failing the run: the exit code stays the audit's."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self.closed_by_reader = False

    def write(self, text: str) -> int:
        if not self.closed_by_reader:
            try:
                return self._stream.write(text)
            except BrokenPipeError:
                self._gone()
        return len(text)

    def flush(self) -> None:
        if not self.closed_by_reader:
            try:
                self._stream.flush()
            except BrokenPipeError:
                self._gone()

    def _gone(self) -> None:
        import os

        self.closed_by_reader = True
        # the interpreter flushes stdout once more at exit: point the descriptor at /dev/null first
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, self._stream.fileno())
        os.close(devnull)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def _tolerant_streams() -> None:
    """A terminal that cannot show a character gets an escape, never a crash; a closed pipe ends quietly."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(errors="backslashreplace")
    sys.stdout = _pipe_safe(sys.stdout)  # type: ignore[assignment]
    sys.stderr = _pipe_safe(sys.stderr)  # type: ignore[assignment]


def _pipe_safe(stream: TextIO) -> TextIO | _PipeSafe:
    if isinstance(stream, _PipeSafe) or not hasattr(stream, "fileno"):
        return stream
    try:
        stream.fileno()
    except (OSError, ValueError):  # a captured stream in tests has no descriptor: leave it as it is
        return stream
    return _PipeSafe(stream)


def _int_at_least(minimum: int) -> Callable[[str], int]:
    """An argparse type: a whole number of at least `minimum`."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be {minimum} or more, not {value}")
        return value
    return parse


_non_negative_int = _int_at_least(0)
_positive_int = _int_at_least(1)


def _port(text: str) -> int:
    value = _non_negative_int(text)
    if not 1 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"a TCP port is 1 to 65535, not {value}")
    return value


def _seconds(text: str) -> float:
    import math

    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not math.isfinite(value) or value <= 0 or value > 3600:
        raise argparse.ArgumentTypeError(f"must be more than 0 and at most 3600 seconds, not {text}")
    return value


def _known_error_message(exc: Exception) -> str | None:
    from auditor.app.audit import SourceError
    from auditor.policy.loader import PolicyError
    from auditor.snapshot.store import SnapshotError

    if isinstance(exc, PolicyError):
        lines = [str(issue) for issue in exc.issues]
        shown = lines[:20] + ([f"... and {len(lines) - 20} more"] if len(lines) > 20 else [])
        return "policy error:\n  " + "\n  ".join(shown)
    from auditor.app.portal_snapshot import PortalSnapshotError
    from auditor.diff import TrendError
    from auditor.files import InputFileError, OutputPathError

    if isinstance(exc, SnapshotError | SourceError | UsageError | TrendError | OutputPathError | InputFileError
                  | PortalSnapshotError):
        return f"error: {exc}"
    from auditor.remediation.apply import ApplyError
    from auditor.remediation.changes import PlanError
    from auditor.remediation.endpoints import TargetError
    from auditor.remediation.seal import SealError

    if isinstance(exc, PlanError | ApplyError | TargetError | SealError):
        return f"error: {exc}"
    if type(exc).__name__ in ("CredentialError", "ScenarioError"):
        return f"error: {exc}"
    if isinstance(exc, OSError) and exc.filename:  # a folder that cannot be made, a file that cannot be opened
        return f"error: {exc.filename}: {exc.strerror or exc}"
    return None


def build_parser() -> argparse.ArgumentParser:
    from auditor import __version__

    parser = argparse.ArgumentParser(
        prog="sspr-audit",
        description="Audit Entra ID self-service password reset and password writeback against a policy file.",
    )
    parser.add_argument("--version", action="version", version=f"sspr-audit {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug detail to stderr")
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")

    check = commands.add_parser("check", help="audit the live state (or the lab, or a snapshot) against a policy",)
    check.add_argument("policy", type=Path, help="policy YAML file")
    _add_source_options(check, allow_snapshot=True)
    check.add_argument("--out", type=Path, default=Path("reports"), help="folder for reports (default: reports/)")
    check.add_argument("--format", default="html,json", help="comma-separated report formats (default: html,json)")
    check.add_argument("--fail-on", choices=SEVERITIES, default="low",
                       help="lowest severity of a failure that makes the exit code 1 (default: low)")
    check.add_argument("--unknown", choices=("fail", "warn"), default="fail",
                       help="fail: an unknown gives exit code 3 (default); warn: report it only")
    check.add_argument("--previous", type=Path, metavar="OLD.json",
                       help="a JSON report of an earlier run: add what changed since then to the reports")
    check.add_argument("--framework", action="append", choices=("cis", "cis-m365", "cis-azure", "eidsca", "scuba",
                                                                "secure-score"),
                       help="also print the status of each control of this framework the checks evidence "
                            "(repeat for more); cis = CIS Microsoft 365 Foundations")
    check.set_defaults(handler=cmd_check)

    collect = commands.add_parser("collect", help="read the live state (or the lab) into a snapshot file")
    _add_source_options(collect, allow_snapshot=False)
    collect.add_argument("--out", type=Path, required=True, help="snapshot JSON file to write")
    collect.add_argument("--policy", type=Path, metavar="POLICY",
                         help="policy whose `directory` section names the OUs and sync account to read from AD")
    collect.add_argument("--portal-only", action="store_true",
                         help="write only the portal's SSPR sections, with when and by whom they were read (run by "
                              "an admin with --portal; a pipeline then takes them with check --portal-snapshot)")
    collect.add_argument("--discover", action="store_true",
                         help="with --ad-host and no --policy (with --lab, the default): find the synced OUs and "
                              "the sync account as export does, and read them (then `export --snapshot` writes the "
                              "`directory` section)")
    collect.set_defaults(handler=cmd_collect)

    export = commands.add_parser("export", help="write the live state (or the lab's) as a policy file, "
                                               "every value explicit, each commented with its source")
    _add_source_options(export, allow_snapshot=True)
    export.add_argument("--out", type=Path, required=True, help="policy YAML file to write")
    export.set_defaults(handler=cmd_export)

    plan = commands.add_parser(
        "plan", help="write the changes that would fix the drift (and the manual steps) to a plan file",)
    plan.add_argument("policy", type=Path, help="policy YAML file")
    _add_source_options(plan, allow_snapshot=True)
    plan.add_argument("--out", type=Path, required=True, help="plan JSON file to write")
    plan.add_argument("--powershell", type=Path, metavar="PLAN.ps1",
                      help="also write the plan as a PowerShell script (supports -WhatIf)")
    plan.set_defaults(handler=cmd_plan)

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
    _add_target_options(apply)
    apply.set_defaults(handler=cmd_apply)

    rollback = commands.add_parser("rollback", help="restore what an apply changed, from its backup file",)
    rollback.add_argument("backup", type=Path, metavar="BACKUP", help="backup JSON file written by `apply`")
    rollback.add_argument("--yes", action="store_true", help="really restore (without it: a dry run)")
    rollback.add_argument("--force", action="store_true",
                          help="also restore objects changed since the apply (by default they are shown and left)")
    rollback.add_argument("--other-target", action="store_true",
                          help="restore to endpoints other than the ones the apply that wrote the backup wrote to")
    _add_target_options(rollback)
    rollback.set_defaults(handler=cmd_rollback)

    diff = commands.add_parser("diff", help="what changed between two JSON reports (or two snapshots): "
                                           "new failures, fixed, still failing, changed values")
    diff.add_argument("old", type=Path, metavar="OLD", help="the earlier JSON report or snapshot")
    diff.add_argument("new", type=Path, metavar="NEW", help="the later JSON report or snapshot")
    diff.set_defaults(handler=cmd_diff)

    validate = commands.add_parser("validate", help="check policy files for errors, without reading any tenant")
    validate.add_argument("policies", type=Path, nargs="+", metavar="POLICY")
    validate.add_argument("--show", action="store_true",
                          help="print each policy as it is checked: the files it `extends` merged, every key "
                               "marked with the file and line that set it")
    validate.set_defaults(handler=cmd_validate)

    init = commands.add_parser(
        "init", help="start a policy here: every key with its default, its meaning and the checks that judge it",
        description="Writes policy.yaml (the recommended baseline, every key annotated) and policy.schema.json "
                    "into the current folder; never overwrites a file.")
    init.add_argument("--policy", default="policy.yaml", metavar="NAME",
                      help="the policy file's name (default: policy.yaml)")
    init.add_argument("--workflow", action="store_true",
                      help="also write .github/workflows/sspr-audit.yml, a scheduled audit using the action")
    init.set_defaults(handler=cmd_init)

    schema = commands.add_parser("schema", help="print the policy JSON Schema (for editors and CI)")
    schema.add_argument("--out", type=Path, help="write to this file instead of stdout")
    schema.set_defaults(handler=cmd_schema)

    login = commands.add_parser(
        "login", help="sign a dedicated reader account in once (device code) and seal its token cache, so "
                      "unattended runs read the portal with --portal-auth login-cache",
        description="Runs the OAuth 2.0 device-code flow for the portal API and writes MSAL's token cache "
                    "encrypted (AES-256-GCM) with a key from SSPR_LOGIN_KEY. Later runs refresh it silently. "
                    "The authority is AZURE_AUTHORITY_HOST (default https://login.microsoftonline.com) + --tenant-id.")
    login.add_argument("--tenant-id", required=True, help="directory (tenant) id")
    login.add_argument("--client-id", help="public client to sign in with (default: Microsoft's Azure CLI client)")
    login.add_argument("--cache", type=Path, metavar="FILE",
                       help="where to write the sealed cache (default: SSPR_LOGIN_CACHE, else "
                            "~/.config/sspr-auditor/login-cache.json)")
    login.add_argument("--timeout", type=_seconds, default=30.0, help="seconds per request (default: 30)")
    login.set_defaults(handler=cmd_login)

    _add_fleet_commands(commands)

    lab = commands.add_parser("lab", help="the built-in lab tenant")
    lab_commands = lab.add_subparsers(title="lab commands", metavar="LAB_COMMAND")
    serve = lab_commands.add_parser("serve", help="serve the Graph + portal emulator until interrupted")
    serve.add_argument("--scenario", default="demo", help="scenario name (default: demo)")
    serve.add_argument("--host", default="127.0.0.1", help="loopback address to listen on (default: 127.0.0.1)")
    serve.add_argument("--port", type=_port, default=8765, help="port (default: 8765)")
    serve.set_defaults(handler=cmd_lab_serve)
    scenarios = lab_commands.add_parser("scenarios", help="list the lab scenarios")
    scenarios.set_defaults(handler=cmd_lab_scenarios)
    generate = lab_commands.add_parser(
        "generate", help="write a lab tenant of N users with a chosen mix, and its ground truth (JSON) beside it")
    generate.add_argument("--users", type=int, required=True, help="number of users, 10 to 100000")
    generate.add_argument("--out", type=Path, required=True, help="folder for tenant-N.yaml and tenant-N.truth.json")
    generate.add_argument("--scope", choices=("all", "group"), default="all", help="SSPR scope (default: all)")
    for share, default in (("guests", 2), ("disabled", 3), ("unregistered", 8), ("unlicensed", 3), ("synced", 60)):
        generate.add_argument(f"--{share}", type=float, default=default, metavar="PCT",
                              help=f"percent of users that are {share} (default: {default})")
    generate.add_argument("--seed", type=int, default=1, help="generator seed (default: 1)")
    generate.add_argument("--window-days", type=int, default=30,
                          help="audit window the ground truth counts activity over (default: 30)")
    generate.set_defaults(handler=cmd_lab_generate)
    _with_exit_codes(parser, "")
    return parser


def _with_exit_codes(parser: argparse.ArgumentParser, name: str) -> None:
    """Each command's --help ends with the exit codes it can return, from the one table."""
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.epilog = exit_codes.epilog(name) if name else exit_codes.overview()
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub_name, sub in action.choices.items():
                _with_exit_codes(sub, f"{name} {sub_name}".strip())


def _add_source_options(parser: argparse.ArgumentParser, allow_snapshot: bool) -> None:
    source = parser.add_argument_group("where the live state comes from (one of)")
    choice = source.add_mutually_exclusive_group()
    choice.add_argument("--lab", metavar="SCENARIO",
                        help="start the built-in lab emulator with this scenario (demo, baseline, traps, hostile; or a "
                             "`lab generate` tenant file)")
    if allow_snapshot:
        choice.add_argument("--snapshot", type=Path, metavar="FILE", help="audit a saved snapshot offline")
        source.add_argument("--portal-snapshot", type=Path, metavar="FILE",
                            help="take the portal's SSPR settings from a `collect --portal-only` file (for app-only "
                                 "pipelines): labelled with its age, unknown when older than "
                                 "sources.portal.max_age_days or when the audit log shows a later change")
    source.add_argument("--lab-forbid", action="append", default=[], metavar="ENDPOINT",
                        help="lab fault: answer 403 on this endpoint (e.g. portal, authorization_policy)")
    source.add_argument("--progress", choices=("auto", "always", "never"), default="auto",
                        help="show the reads' progress on stderr: auto = live on a terminal, one line per source "
                             "in a log (CI); always; never (default: auto)")
    source.add_argument("--lab-latency-ms", type=_non_negative_int, default=0, metavar="MS",
                        help="lab fault: latency per request")
    live = parser.add_argument_group("live tenant (secrets only from the environment)")
    live.add_argument("--tenant-id", help="directory (tenant) id")
    live.add_argument("--client-id", help="application (client) id of the app registration")
    live.add_argument("--auth", choices=("secret", "certificate", "workload-identity", "github-oidc",
                                         "azure-cli", "device-code", "lab"),
                      help="credential kind for Graph: secret reads AZURE_CLIENT_SECRET, certificate reads "
                           "AZURE_CLIENT_CERTIFICATE_PATH (and _PASSWORD); lab only for a loopback emulator")
    live.add_argument("--portal", action="store_true",
                      help="also read the portal's SSPR API (undocumented; needs a delegated admin token)")
    live.add_argument("--portal-auth", choices=("azure-cli", "device-code", "login-cache", "lab"), default="azure-cli",
                      help="delegated credential for the portal API (default: azure-cli); login-cache = the sealed "
                           "cache `sspr-audit login` wrote, refreshed silently (key from SSPR_LOGIN_KEY)")
    live.add_argument("--login-cache", type=Path, metavar="FILE",
                      help="the login cache for --portal-auth login-cache (default: SSPR_LOGIN_CACHE, else "
                           "~/.config/sspr-auditor/login-cache.json)")
    live.add_argument("--graph-url", help="Graph base URL (e.g. a running `sspr-audit lab serve`: "
                                          "http://127.0.0.1:8765/v1.0)")
    live.add_argument("--portal-url", help="portal API base URL (e.g. http://127.0.0.1:8765/api)")
    live.add_argument("--timeout", type=_seconds, default=30.0, help="seconds per request (default: 30)")
    _add_ad_options(parser)


def _add_fleet_commands(commands: Any) -> None:
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
    check.add_argument("--concurrency", type=_positive_int, help="tenants at once (default: the inventory's)")
    check.add_argument("--previous", type=Path, metavar="FILE",
                       help="an earlier sspr-fleet.json: the fleet report says which cells got worse or better")
    check.add_argument("--progress", choices=("auto", "always", "never"), default="auto",
                       help="a row per tenant on stderr (auto: live on a terminal, a line per tenant in a log)")
    check.set_defaults(handler=cmd_fleet_check)
    matrix = fleet_commands.add_parser("matrix", help="print a GitHub Actions matrix (JSON): one job per tenant")
    matrix.add_argument("fleet_file", type=Path, metavar="FLEET")
    matrix.set_defaults(handler=cmd_fleet_matrix)
    merge = fleet_commands.add_parser("merge", help="build the fleet report from separate runs' JSON reports")
    merge.add_argument("reports", nargs="+", metavar="REPORT",
                       help="a tenant's sspr-audit.json, as NAME=PATH or PATH (the name is then its folder's)")
    merge.add_argument("--out", type=Path, required=True, help="folder for the fleet report")
    merge.add_argument("--previous", type=Path, metavar="FILE", help="an earlier sspr-fleet.json (the trend)")
    merge.add_argument("--fleet", type=Path, metavar="FLEET", dest="fleet_file",
                       help="the inventory: each report must be of the tenant id it gives that name")
    merge.set_defaults(handler=cmd_fleet_merge)
    validate = fleet_commands.add_parser("validate", help="check the inventory and every tenant's policy")
    validate.add_argument("fleet_file", type=Path, metavar="FLEET")
    validate.add_argument("--show", action="store_true", help="print each tenant's policy as it is checked")
    validate.set_defaults(handler=cmd_fleet_validate)


def _add_ad_options(parser: argparse.ArgumentParser) -> None:
    ad = parser.add_argument_group("on-premises AD (the policy's `directory` section; password from SSPR_AD_PASSWORD)")
    ad.add_argument("--ad-host", help="domain controller IP or name (as on its TLS certificate)")
    ad.add_argument("--ad-user", help="bind account: user@REALM, DOMAIN\\user or a DN (also used for SYSVOL)")
    ad.add_argument("--ad-tls", choices=("ldaps", "starttls", "none"), default="ldaps",
                    help="ldaps (636, default) or starttls (389), both verifying the certificate; "
                         "none = plain LDAP with the password in clear: refused unless --insecure-ldap")
    ad.add_argument("--insecure-ldap", action="store_true",
                    help="accept --ad-tls none, a simple bind that sends the password in clear (a lab only)")
    ad.add_argument("--ad-ca-file", type=Path, help="PEM file of the CA that signed the DC's certificate")
    ad.add_argument("--ad-tls-name", help="name expected on the DC's certificate when --ad-host is an IP")
    ad.add_argument("--ad-base-dn", help="domain naming context (default: read from the rootDSE)")
    ad.add_argument("--smb-host", help="host serving SYSVOL (default: --ad-host)")


def _add_target_options(parser: argparse.ArgumentParser) -> None:
    where = parser.add_argument_group("where to write (default: the endpoints recorded in the plan; "
                                      "secrets only from the environment)")
    where.add_argument("--lab", metavar="SCENARIO", help="write to a fresh in-process lab emulator with this scenario "
                                                       "(demo, baseline, traps, hostile)")
    where.add_argument("--graph-url", help="Graph base URL")
    where.add_argument("--portal-url", help="portal API base URL")
    where.add_argument("--auth", choices=("secret", "certificate", "workload-identity", "github-oidc", "azure-cli",
                                          "device-code", "lab"), help="credential kind for Graph")
    where.add_argument("--portal-auth", choices=("azure-cli", "device-code", "lab"),
                       help="delegated credential for the portal API")
    where.add_argument("--tenant-id", help="directory (tenant) id")
    where.add_argument("--client-id", help="application (client) id")
    where.add_argument("--ad-host", help="domain controller to write to (overrides the plan's)")
    where.add_argument("--ad-tls-name", help="the name the DC's TLS certificate carries, when --ad-host is an IP "
                                             "or an alias (overrides the plan's)")
    where.add_argument("--ad-ca-file", type=Path,
                       help="CA bundle that signed the DC's certificate (overrides the plan's)")
    where.add_argument("--smb-host", help="host serving SYSVOL (overrides the plan's)")
    where.add_argument("--timeout", type=_seconds, default=30.0, help="seconds per request (default: 30)")
    where.add_argument("--insecure-ldap", action="store_true",
                       help="accept a plan that binds to AD without TLS (--ad-tls none): the password goes in clear")


def _plan_source(args: argparse.Namespace, origin: str) -> Any:
    from auditor.remediation.changes import PlanSource

    def arg(name: str) -> Any:
        return getattr(args, name, None)

    portal = bool(arg("portal"))
    live = not arg("lab") and not arg("snapshot")
    graph_url, portal_url = arg("graph_url"), arg("portal_url")
    if live:  # the endpoints the state was read from, recorded even when they were the defaults
        from auditor.readers.graph import GRAPH_URL
        from auditor.readers.portal import PORTAL_URL

        graph_url, portal_url = graph_url or GRAPH_URL, portal_url or PORTAL_URL
    return PlanSource(
        origin=origin, graph_url=graph_url, portal_url=portal_url if portal else None,
        auth=arg("auth"), portal_auth=arg("portal_auth") if portal else None, tenant_id=arg("tenant_id"),
        client_id=arg("client_id"), ad_host=arg("ad_host"), ad_user=arg("ad_user"), ad_tls=arg("ad_tls"),
        ad_ca_file=str(arg("ad_ca_file")) if arg("ad_ca_file") else None, ad_tls_name=arg("ad_tls_name"),
        ad_base_dn=arg("ad_base_dn"), smb_host=arg("smb_host"), ephemeral=bool(arg("lab")),
    )


def _snapshot_from_args(args: argparse.Namespace, policy: Any = None) -> Any:
    _refuse_mixed_sources(args)
    if getattr(args, "snapshot", None):
        from auditor.app.snapshot_trust import load_trusted_snapshot

        return load_trusted_snapshot(args.snapshot, policy, warn=lambda note: print(f"note: {note}", file=sys.stderr))
    from auditor.app.sources import snapshot_with_portal_file
    from auditor.progress_display import shown

    portal_snapshot = getattr(args, "portal_snapshot", None)
    # the progress display on stderr only: stdout and the reports never see it
    snapshot = snapshot_with_portal_file(_source_request(args), policy, portal_snapshot,
                                         around_collect=lambda: shown(args.progress, sys.stderr))
    if portal_snapshot is not None:
        from auditor.remediation.seal import signed

        if not signed():
            print(f"note: {portal_snapshot} is checked without SSPR_PLAN_KEY, so its seal is only a digest anyone "
                  "can recompute: its tenant, date and values are taken on trust (set SSPR_PLAN_KEY when it is "
                  "collected and when it is checked)", file=sys.stderr)
    return snapshot


def _source_request(args: argparse.Namespace) -> Any:
    from auditor.app.sources import SourceRequest

    return SourceRequest(
        lab=args.lab, lab_forbid=tuple(args.lab_forbid), lab_latency_ms=args.lab_latency_ms,
        tenant_id=args.tenant_id, client_id=args.client_id, auth=args.auth, portal=args.portal,
        portal_auth=args.portal_auth, login_cache=str(args.login_cache) if args.login_cache else None,
        graph_url=args.graph_url, portal_url=args.portal_url, timeout=args.timeout, ad_host=args.ad_host,
        ad_user=args.ad_user, ad_tls=args.ad_tls, insecure_ldap=args.insecure_ldap,
        ad_ca_file=str(args.ad_ca_file) if args.ad_ca_file else None, ad_tls_name=args.ad_tls_name,
        ad_base_dn=args.ad_base_dn, smb_host=args.smb_host)


_LIVE_OPTIONS = ("tenant_id", "client_id", "auth", "portal", "graph_url", "portal_url")
_AD_OPTIONS = ("ad_host", "ad_user", "ad_ca_file", "ad_tls_name", "ad_base_dn", "smb_host")


def _refuse_mixed_sources(args: argparse.Namespace) -> None:
    """An option that the chosen source would ignore is a mistake to say, not to swallow."""
    def given(names: tuple[str, ...]) -> list[str]:
        return ["--" + n.replace("_", "-") for n in names if getattr(args, n, None)]

    if getattr(args, "snapshot", None):
        ignored = given(_LIVE_OPTIONS + _AD_OPTIONS + ("portal_snapshot",)) + \
            (["--lab-forbid"] if args.lab_forbid else []) + \
            (["--lab-latency-ms"] if args.lab_latency_ms else [])
        if ignored:
            raise UsageError(f"--snapshot audits a saved file: {', '.join(ignored)} would be ignored; leave "
                             f"{'it' if len(ignored) == 1 else 'them'} out")
    elif args.lab:
        ignored = given(_LIVE_OPTIONS + _AD_OPTIONS)
        if ignored:
            raise UsageError(f"--lab {args.lab} reads the built-in lab tenant and domain: {', '.join(ignored)} "
                             "would be ignored; leave them out, or drop --lab to read a live tenant")


def _inputs(args: argparse.Namespace) -> tuple[Any, ...]:
    """The files a command reads: none of them may also be one of its outputs."""
    return (getattr(args, "policy", None), getattr(args, "snapshot", None), getattr(args, "portal_snapshot", None))


def _check_outputs(*outputs: tuple[Path | None, str], inputs: tuple[Any, ...] = ()) -> None:
    """Refuse, before any work, an output that is a directory, device, link, an input, or another output."""
    from auditor.files import check_output_file

    given = [(path, what) for path, what in outputs if path is not None]
    for index, (path, what) in enumerate(given):
        others = tuple(p for p, _ in given[:index])
        check_output_file(path, inputs=(*inputs, *others), what=what)


def cmd_check(args: argparse.Namespace) -> int:
    from auditor.app.audit import ExitPolicy, checked_report
    from auditor.app.report_trust import ReportTrustError, other_tenant, read_report, sealed
    from auditor.checks.base import Severity
    from auditor.diff import attach_trend
    from auditor.policy.loader import load_policy
    from auditor.render import RENDERERS, write_reports

    formats = [f.strip() for f in args.format.split(",") if f.strip()]
    unknown = [f for f in formats if f not in RENDERERS]
    if unknown or not formats:
        raise UsageError(f"unknown report format {', '.join(unknown) or '(none)'}; "
                         f"choose from {', '.join(sorted(RENDERERS))}")
    from auditor.files import check_output_folder

    check_output_folder(args.out, stem="sspr-audit", inputs=_inputs(args))
    from auditor.remediation.seal import plan_key

    plan_key()  # a weak SSPR_PLAN_KEY (the report's MAC) is an error before anything is read
    policy = load_policy(args.policy)  # before any network: a policy error writes nothing
    try:  # a known report format and version, its seal checked, its counts derived again from its findings
        previous = read_report(args.previous, "previous report") if args.previous else None
    except ReportTrustError as exc:
        raise UsageError(f"--previous: {exc}") from None
    snapshot = _snapshot_from_args(args, policy)
    report = checked_report(policy, snapshot, ExitPolicy(Severity(args.fail_on), args.unknown == "fail"))
    if previous is not None:
        elsewhere = other_tenant(previous, report)
        if elsewhere:
            raise UsageError(f"--previous {args.previous}: {elsewhere}; give an earlier report of the same tenant")
        report = attach_trend(report, previous, args.previous.name)
    report = sealed(report)  # with SSPR_PLAN_KEY set, the JSON report carries a MAC that merge/--previous check
    paths = write_reports(report, args.out, formats)
    _print_summary(report, paths, sys.stdout, _next_step(args, report))
    if args.framework:
        from auditor.checks.frameworks import FRAMEWORK_ALIASES
        from auditor.render.framework_view import control_table

        for name in dict.fromkeys(args.framework):
            print()
            print(control_table(report.controls, FRAMEWORK_ALIASES[name]))
    return report.summary.exit_code


def _next_step(args: argparse.Namespace, report: Any) -> str | None:
    """The command to run next: `plan …` with the same source when the plan can fix something."""
    import shlex

    failing = [f for f in report.findings if f.status.value == "fail"]
    if any(f.fixable for f in failing):
        source: list[str] = []
        if getattr(args, "snapshot", None):
            source = ["--snapshot", str(args.snapshot)]
        elif args.lab:
            source = ["--lab", args.lab]
        else:
            for name in ("tenant_id", "client_id", "auth", "graph_url", "portal_url", "portal_auth", "ad_host",
                         "ad_user", "ad_tls", "ad_ca_file", "ad_tls_name", "ad_base_dn", "smb_host"):
                value = getattr(args, name, None)
                if value is not None and not (name in ("portal_auth", "ad_tls") and value in ("azure-cli", "ldaps")):
                    source += ["--" + name.replace("_", "-"), str(value)]
            if args.portal:
                source.append("--portal")
        return "sspr-audit plan " + " ".join(shlex.quote(part) for part in
                                            [str(args.policy), *source, "--out", "plan.json"])
    if failing:
        return "the failures above need manual steps: each finding's fix is in the report"
    if any(f.status.value == "unknown" for f in report.findings):
        return "give the readers what they lack (the reasons above say what), then run again"
    return None


def cmd_plan(args: argparse.Namespace) -> int:
    from auditor.app.audit import findings_of
    from auditor.policy.loader import load_policy
    from auditor.remediation.changes import save_plan
    from auditor.remediation.describe import describe_plan
    from auditor.remediation.planner import make_plan, plan_exit_code
    from auditor.remediation.powershell import render_powershell

    _check_outputs((args.out, "plan"), (args.powershell, "PowerShell script"),
                   inputs=_inputs(args))
    policy = load_policy(args.policy)
    snapshot = _snapshot_from_args(args, policy)
    findings = findings_of(policy, snapshot)  # the verdicts only: no report views over every user
    plan = make_plan(policy, snapshot, findings, source=_plan_source(args, snapshot.origin))
    path = save_plan(plan, args.out)
    print(f"sspr-audit plan: {policy.source_file} against {snapshot.origin}")
    for line in describe_plan(plan):
        print(line)
    print(f"  {len(plan.changes)} change(s), {len(plan.manual)} manual step(s), "
          f"{len(plan.unplanned)} finding(s) not planned (input not read)")
    print(f"plan written: {path}")
    if args.powershell:
        from auditor.files import write_atomically

        args.powershell.parent.mkdir(parents=True, exist_ok=True)
        # with a BOM so Windows PowerShell 5.1 reads it as UTF-8
        script = render_powershell(plan).replace("\r\n", "\n").replace("\n", "\r\n")
        write_atomically(args.powershell, script.encode("utf-8-sig"))
        print(f"PowerShell script written: {args.powershell} (run it with -WhatIf first)")
    return plan_exit_code(plan)


def cmd_apply(args: argparse.Namespace) -> int:
    from auditor.app.audit import open_targets
    from auditor.app.remediate import RefusedError, apply_plan, endpoints_of, other_target, plan_policy
    from auditor.remediation.apply import default_backup_path
    from auditor.remediation.changes import load_plan
    from auditor.remediation.seal import signed

    plan = load_plan(args.plan)
    backup = args.backup or default_backup_path(args.plan)
    _check_outputs((backup, "backup"), inputs=(args.plan, args.policy, plan.policy_path))
    chosen = _target_source(args, plan.source)
    try:
        policy = plan_policy(plan, args.policy)
        elsewhere = other_target(plan, chosen, args.lab)
        if elsewhere and not args.other_target:
            raise RefusedError(f"the plan would be written to {elsewhere}: give --other-target if that is meant")
        print(f"policy: {policy.source_file} (sha256 {(policy.source_sha256 or '')[:16]}…); plan "
              f"{'signed and verified with SSPR_PLAN_KEY' if signed() else 'not signed (SSPR_PLAN_KEY unset)'}")
        with open_targets(chosen, lab_scenario=args.lab, timeout_seconds=args.timeout,
                          insecure_ldap=args.insecure_ldap) as targets:
            result = apply_plan(plan, targets, policy=policy, yes=args.yes, backup_path=backup,
                                endpoints=endpoints_of(targets) if not args.lab else [],
                                allow_other_tenant=args.other_target)
    except RefusedError as exc:
        print(f"refused, nothing written: {exc}", file=sys.stderr)
        return Exit.refused
    for change in result.changes:
        detail = f": {change.detail}" if change.detail else ""
        print(f"  {change.status.upper():<13} {change.id}. {_clip(change.summary, 200)}{_clip(detail, 400)}")
    if not args.yes:
        from auditor.remediation.impact import impact_lines

        for line in impact_lines(result.impact):  # as the state reads now, not as the plan file says
            print(line)
    print(result.message, file=sys.stderr if result.outcome in ("failed", "refused") else sys.stdout)
    return OUTCOME_EXIT[result.outcome]


def cmd_rollback(args: argparse.Namespace) -> int:
    from auditor.app.audit import open_targets
    from auditor.app.remediate import RefusedError, backup_elsewhere, endpoints_of, rollback_backup
    from auditor.remediation.apply import load_backup
    from auditor.remediation.seal import signed

    backup = load_backup(args.backup)
    chosen = _target_source(args, backup.source)
    elsewhere = backup_elsewhere(backup, chosen, args.lab)
    if elsewhere and not args.other_target:
        print(f"refused, nothing written: this rollback would write to {elsewhere}: give --other-target if that "
              "is meant", file=sys.stderr)
        return Exit.refused
    if not signed():
        print("backup not signed (SSPR_PLAN_KEY unset): its digest is checked, but only the file's permissions "
              "stand between it and an edit", file=sys.stderr)
    try:
        with open_targets(chosen, lab_scenario=args.lab, timeout_seconds=args.timeout,
                          insecure_ldap=args.insecure_ldap) as targets:
            result = rollback_backup(backup, targets, yes=args.yes, force=args.force,
                                     endpoints=endpoints_of(targets) if not args.lab else [])
    except RefusedError as exc:
        print(f"refused, nothing written: {exc}", file=sys.stderr)
        return Exit.refused
    for item in result.objects:
        detail = f": {item.detail}" if item.detail else ""
        print(f"  {item.status.upper():<10} {_clip(item.target, 200)}{_clip(detail, 400)}")
    print(result.message, file=sys.stderr if result.outcome in ("failed", "partial") else sys.stdout)
    return OUTCOME_EXIT[result.outcome]


def _target_source(args: argparse.Namespace, source: Any) -> Any:
    from auditor.remediation.endpoints import describe_targets, with_overrides

    chosen = with_overrides(source, graph_url=args.graph_url, portal_url=args.portal_url, auth=args.auth,
                            portal_auth=args.portal_auth, tenant_id=args.tenant_id, client_id=args.client_id,
                            ad_host=args.ad_host, ad_tls_name=args.ad_tls_name,
                            ad_ca_file=str(args.ad_ca_file) if args.ad_ca_file else None, smb_host=args.smb_host)
    print(f"writing to: {describe_targets(chosen, lab_scenario=args.lab)}")
    return chosen


def cmd_export(args: argparse.Namespace) -> int:
    from auditor.export import export_policy

    _check_outputs((args.out, "policy"), inputs=(getattr(args, "snapshot", None),))
    snapshot = _snapshot_from_args(args) if getattr(args, "snapshot", None) else _export_snapshot(args)
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


def _export_snapshot(args: argparse.Namespace) -> Any:
    """No policy to say which OUs and sync account: the domain is read after the cloud names its synced users."""
    from auditor.app.sources import export_snapshot
    from auditor.progress_display import shown

    _refuse_mixed_sources(args)
    with shown(args.progress, sys.stderr):
        return export_snapshot(_source_request(args))


def cmd_diff(args: argparse.Namespace) -> int:
    from auditor.diff import diff_files, trend_lines

    for line in trend_lines(diff_files(args.old, args.new)):
        print(line)
    return Exit.ok


def cmd_collect(args: argparse.Namespace) -> int:
    from auditor.policy.loader import load_policy
    from auditor.snapshot.store import save_snapshot

    _check_outputs((args.out, "snapshot"), inputs=(args.policy,))
    if args.portal_only and not (args.portal or args.lab):
        raise UsageError("--portal-only reads the portal: give --portal (and a delegated --portal-auth), or --lab")
    if args.discover:
        if args.policy or args.portal_only:
            raise UsageError("--discover finds what a policy's `directory` section would name: give it without "
                             "--policy and --portal-only")
        if not (args.lab or args.ad_host):
            raise UsageError("--discover reads a domain: give --lab SCENARIO or --ad-host (and --ad-user)")
        snapshot = _export_snapshot(args)
    elif args.lab and not args.policy and not args.portal_only:  # the lab's domain, found as --discover finds it:
        snapshot = _export_snapshot(args)  # `check --snapshot` then reads what `check --lab` reads
    else:
        snapshot = _snapshot_from_args(args, load_policy(args.policy) if args.policy else None)
    if args.portal_only:
        import getpass
        import socket

        from auditor.app.portal_snapshot import PortalSnapshotError, portal_only

        who = getpass.getuser()
        if args.portal_auth == "login-cache" and not args.lab:
            who = _login_cache_user(args)
        try:
            snapshot = portal_only(snapshot, f"{who}@{socket.gethostname()}")
        except PortalSnapshotError as exc:  # an input this run could not read: incomplete, not a usage error
            print(f"error: {exc}", file=sys.stderr)
            return Exit.incomplete
    if not args.portal_only:  # bound to its tenant and sealed as a portal snapshot is (auditor.app.snapshot_trust)
        from auditor.app.snapshot_trust import sealed_snapshot

        snapshot = sealed_snapshot(snapshot)
    path = save_snapshot(snapshot, args.out)
    for name, section in snapshot:
        if hasattr(section, "source"):
            state = "ok" if section.readable else f"ERROR {section.error}"
            print(f"  {name:<22} {state}")
    print(f"snapshot written: {path}")
    if args.portal_only:
        from auditor.text import one_line

        print(f"  of tenant {one_line(snapshot.tenant_id or '')}, "
              + ("sealed with SSPR_PLAN_KEY" if snapshot.mac else "not sealed (SSPR_PLAN_KEY unset): anyone who can "
                 "write the file can change its date and values"))
    return Exit.ok


def _login_cache_user(args: argparse.Namespace) -> str:
    from auditor.app.audit import login_cache_credential

    return str(login_cache_credential(str(args.login_cache) if args.login_cache else None,
                                      tenant_id=args.tenant_id).username)


def cmd_login(args: argparse.Namespace) -> int:
    """Sign the dedicated reader in once (device code) and seal its token cache for unattended runs."""
    from auditor.readers.login_cache import (
        LOGIN_KEY_VARIABLE,
        LoginCacheError,
        default_cache_path,
        device_login,
        login_key,
        refuse_to_replace_other_files,
        write_login_cache,
    )

    path = args.cache or default_cache_path()
    _check_outputs((path, "login cache"))
    try:
        login_key()  # before any network: without the key nothing could be kept
        refuse_to_replace_other_files(path)
    except LoginCacheError as exc:
        raise UsageError(str(exc)) from None

    def show(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    try:
        record = device_login(args.tenant_id, args.client_id, show, timeout_seconds=args.timeout)
    except LoginCacheError as exc:
        print(f"login failed: {exc}", file=sys.stderr)
        return Exit.incomplete
    write_login_cache(path, record)
    import shlex

    from auditor.text import one_line

    print(f"signed in as {one_line(record.username)} (tenant {one_line(record.tenant_id)}) for the portal API")
    print(f"login cache written: {path} (AES-256-GCM, key from {LOGIN_KEY_VARIABLE}; mode 0600)")
    print("next: sspr-audit check POLICY --portal --portal-auth login-cache --login-cache "
          f"{shlex.quote(str(path))} …")
    return Exit.ok


def _previous_fleet(path: Path | None) -> Any:
    if path is None:
        return None
    from pydantic import ValidationError

    from auditor.files import parse_json_bounded, read_bounded
    from auditor.fleet_report import FleetReport

    raw = read_bounded(path, 256 << 20, "fleet report").decode("utf-8", "replace")
    try:
        return FleetReport.model_validate(parse_json_bounded(raw, str(path), "fleet report"))
    except ValidationError as exc:
        raise UsageError(f"{path}: --previous takes an sspr-fleet.json ({exc.error_count()} problem(s))") from None


def cmd_fleet_check(args: argparse.Namespace) -> int:
    from auditor.app.fleet import run_fleet
    from auditor.app.fleet_folders import FleetBusy, FleetFolderError, check_tenant_folder, locked_out
    from auditor.files import check_output_folder
    from auditor.policy.fleet import load_fleet
    from auditor.progress_display import FleetProgress
    from auditor.render.fleet import FLEET_STEM, build_fleet_report, write_fleet_reports

    check_output_folder(args.out, stem=FLEET_STEM, inputs=(args.fleet_file, args.previous))
    loaded = load_fleet(args.fleet_file)  # every tenant's policy too: an error anywhere reads nothing
    from auditor.remediation.seal import plan_key

    plan_key()  # a weak SSPR_PLAN_KEY (the reports' MAC) is an error before any tenant is read
    names = {t.name for t in loaded.fleet.tenants}
    unknown = [name for name in args.only or [] if name not in names]
    if unknown:
        raise UsageError(f"--only {', '.join(unknown)}: no such tenant in {args.fleet_file}")
    previous = _previous_fleet(args.previous)
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
        print(f"refused, nothing written: {exc}", file=sys.stderr)
        return Exit.refused
    _print_fleet(report, paths)
    return report.exit_code


def _same_tenants(path: Path | None, previous: Any, report: Any) -> None:
    """Refuse a --previous fleet report that lists another tenant under one of this run's names."""
    from auditor.fleet_report import other_tenants

    moved = other_tenants(previous, report) if previous is not None else []
    if moved:
        raise UsageError(f"--previous {path}: another tenant under the same name: {', '.join(moved[:5])}; give an "
                         "earlier report of this fleet")


def _print_fleet(report: Any, paths: list[Path]) -> None:
    from auditor.text import one_line

    for row in report.tenants:
        counts = row.summary.by_status if row.summary else {}
        what = (f"{counts.get('fail', 0)} fail, {counts.get('unknown', 0)} unknown, {counts.get('pass', 0)} pass"
                if row.summary else f"not audited: {one_line(row.error or '')}")
        print(f"  {one_line(row.name):<24} exit {row.exit_code}  {what}")
    print(f"fleet: {len(report.tenants)} tenant(s), exit {report.exit_code}")
    for path in paths:
        print(f"  wrote {path}")


def cmd_fleet_matrix(args: argparse.Namespace) -> int:
    import json

    from auditor.app.fleet import matrix
    from auditor.policy.fleet import load_fleet

    print(json.dumps(matrix(load_fleet(args.fleet_file)), separators=(",", ":")))
    return Exit.ok


def cmd_fleet_merge(args: argparse.Namespace) -> int:
    from auditor.app.fleet import MergeError, merge_inputs, merge_reports
    from auditor.app.fleet_folders import FleetBusy, FleetFolderError, locked_out
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
    previous = _previous_fleet(args.previous)
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
        print(f"refused, nothing written: {exc}", file=sys.stderr)
        return Exit.refused
    _print_fleet(report, paths)
    return report.exit_code


def cmd_fleet_validate(args: argparse.Namespace) -> int:
    from auditor.policy.fleet import load_fleet

    loaded = load_fleet(args.fleet_file)
    print(f"{args.fleet_file}: ok ({len(loaded.fleet.tenants)} tenant(s))")
    if args.show:
        from auditor.policy.show import expanded_yaml

        for tenant in loaded.fleet.tenants:
            print(f"# tenant {tenant.name}: its policy as checked")
            print(expanded_yaml(loaded.policies[tenant.name]), end="")
    return Exit.ok


def cmd_validate(args: argparse.Namespace) -> int:
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


def cmd_init(args: argparse.Namespace) -> int:
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


def cmd_schema(args: argparse.Namespace) -> int:
    from auditor.policy.schema import policy_schema_json

    text = policy_schema_json()
    if args.out:
        from auditor.files import write_atomically

        _check_outputs((args.out, "schema"))
        write_atomically(args.out, text.encode("utf-8"))
        print(f"schema written: {args.out}")
    else:
        sys.stdout.write(text)
    return Exit.ok


def cmd_lab_serve(args: argparse.Namespace) -> int:
    from auditor.app.lab import require_lab_server, serve_forever

    if not (args.host.startswith("127.") or args.host in ("localhost", "::1")):
        raise UsageError("the lab emulator listens on loopback addresses only")
    require_lab_server("lab serve")  # before the banner: without the `lab` extra, only the one-line error
    print(f"lab emulator ({args.scenario}): Graph http://{args.host}:{args.port}/v1.0, "
          f"portal http://{args.host}:{args.port}/api  (Ctrl-C to stop)", flush=True)
    serve_forever(args.scenario, args.host, args.port)
    return Exit.ok


def cmd_lab_generate(args: argparse.Namespace) -> int:
    from pydantic import ValidationError

    from auditor.app.lab import generate_tenant

    try:
        tenant = generate_tenant(args.out, args.window_days, users=args.users, seed=args.seed, scope=args.scope,
                                 guests=args.guests / 100, disabled=args.disabled / 100,
                                 unregistered=args.unregistered / 100, unlicensed=args.unlicensed / 100,
                                 synced=args.synced / 100)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        raise UsageError(f"lab generate: {'.'.join(str(p) for p in first['loc'])}: {first['msg']}") from None
    print(f"tenant written: {tenant.scenario_path} (audit it with --lab {tenant.scenario_path})")
    print(f"ground truth:   {tenant.truth_path}")
    return Exit.ok


def cmd_lab_scenarios(args: argparse.Namespace) -> int:
    from auditor.app.lab import list_scenarios

    for name in list_scenarios():
        print(name)
    return Exit.ok


def _print_summary(report: Any, paths: list[Path], out: TextIO, next_step: str | None = None) -> None:
    """The findings that need attention, grouped by severity (worst first), fitted to the terminal's width."""
    import shutil

    from auditor.findings import STATUS_ORDER, Severity
    from auditor.render.terminal import finding_lines

    counts = report.summary.by_status
    width = max(60, shutil.get_terminal_size((120, 24)).columns)  # COLUMNS wins, as in every CLI
    print(f"sspr-audit {report.tool_version}: {_clip(report.policy_file, 200)} against {_clip(report.origin, 200)}",
          file=out)
    shown = [f for f in report.findings if f.status.value not in ("pass", "not_applicable")]
    for severity in sorted(Severity, key=lambda s: -list(Severity).index(s)):
        group = sorted((f for f in shown if f.severity == severity), key=lambda f: STATUS_ORDER.index(f.status))
        if not group:
            continue
        print(f"  {severity.value} ({len(group)})", file=out)
        print("\n".join(finding_lines(group, width)), file=out)  # each reason wrapped, never cut
    print("  " + ", ".join(f"{counts.get(s.value, 0)} {s.value}" for s in STATUS_ORDER), file=out)
    expired = [f for f in report.findings if f.waiver is not None and f.waiver.expired]
    if expired:
        print(f"  WARNING  {len(expired)} waiver(s) expired, so their findings fail again: "
              + ", ".join(f"{f.check} (owner {_clip(f.waiver.owner, 40)}, expired {f.waiver.expires.isoformat()})"
                          for f in expired[:5] if f.waiver is not None), file=out)
    for warning in report.warnings:
        print(f"  WARNING  {warning}", file=out)
    if report.trend is not None:
        trend = report.trend
        print(f"  since {trend.previous_label}: {len(trend.new_failures)} new failure(s), {len(trend.fixed)} fixed, "
              f"{len(trend.still_failing)} still failing, {len(trend.changed_values)} changed value(s)", file=out)
    for path in paths:
        print(f"report: {path}", file=out)
    code = report.summary.exit_code
    row = exit_codes.meaning(code)
    print(f"exit code {code}: {row.said_by('check') if row else 'not one sspr-audit returns'}", file=out)
    if next_step:
        print(f"next: {next_step}", file=out)


def _clip(text: str, width: int) -> str:
    from auditor.text import one_line

    # tenant and domain strings reach the terminal: control, escape and bidi characters are shown, not obeyed
    text = one_line(text)
    return text if len(text) <= width else text[: width - 1] + "…"


if __name__ == "__main__":
    sys.exit(main())
