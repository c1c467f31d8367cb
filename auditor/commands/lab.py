"""`sspr-audit lab serve | scenarios | generate`: the built-in lab tenant."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from auditor.commands.common import UsageError, port
from auditor.exit_codes import Exit


def register(commands: Any) -> None:
    lab = commands.add_parser("lab", help="the built-in lab tenant")
    lab_commands = lab.add_subparsers(title="lab commands", metavar="LAB_COMMAND")
    serve = lab_commands.add_parser("serve", help="serve the Graph + portal emulator until interrupted")
    serve.add_argument("--scenario", default="demo", help="scenario name (default: demo)")
    serve.add_argument("--host", default="127.0.0.1", help="loopback address to listen on (default: 127.0.0.1)")
    serve.add_argument("--port", type=port, default=8765, help="port (default: 8765)")
    serve.set_defaults(handler=run_serve, command="lab serve")
    scenarios = lab_commands.add_parser("scenarios", help="list the lab scenarios")
    scenarios.set_defaults(handler=run_scenarios, command="lab scenarios")
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
    generate.set_defaults(handler=run_generate, command="lab generate")


def run_serve(args: argparse.Namespace) -> int:
    from auditor.app.lab import require_lab_server, serve_forever

    if not (args.host.startswith("127.") or args.host in ("localhost", "::1")):
        raise UsageError("the lab emulator listens on loopback addresses only")
    require_lab_server("lab serve")  # before the banner: without the `lab` extra, only the one-line error
    print(f"lab emulator ({args.scenario}): Graph http://{args.host}:{args.port}/v1.0, "
          f"portal http://{args.host}:{args.port}/api  (Ctrl-C to stop)", flush=True)
    serve_forever(args.scenario, args.host, args.port)
    return Exit.ok


def run_generate(args: argparse.Namespace) -> int:
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


def run_scenarios(args: argparse.Namespace) -> int:
    from auditor.app.lab import list_scenarios

    for name in list_scenarios():
        print(name)
    return Exit.ok
