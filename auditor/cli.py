"""`sspr-audit`: the dispatcher. It assembles the parser from the command modules (auditor/commands/), sets up
the streams and signals, runs the chosen command and maps its errors to exit codes by type.

Exit codes: auditor/exit_codes.py, the one table every command, the help and the README use.
Heavy libraries (msgraph, azure.identity, ldap3, jinja2) are imported only by the commands
that need them, so `--help` and `validate` start fast.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

from auditor import exit_codes
from auditor.commands import COMMANDS
from auditor.commands.common import UsageError
from auditor.exit_codes import Exit
from auditor.interrupts import Interrupted, on_signal

__all__ = ["UsageError", "build_parser", "main"]


def main(argv: Sequence[str] | None = None) -> int:
    import signal
    import threading

    from auditor.commands.streams import tolerant_streams

    tolerant_streams()
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
        return exit_codes.SIGNAL_BASE + int(signum)
    except Exception as exc:
        from auditor.commands.errors import known_error

        known = known_error(exc)
        if known is None:
            from auditor.app.crash import report_crash

            print(report_crash(exc, getattr(args, "command", "")), file=sys.stderr)
            return Exit.internal
        print(known.message, file=sys.stderr)
        return known.code
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _stop_lab_processes() -> None:
    if "auditor.app.lab" in sys.modules or "auditor.lab_domain.samba" in sys.modules:
        from auditor.app.lab import stop_lab_processes

        stop_lab_processes()


def build_parser() -> argparse.ArgumentParser:
    from auditor import __version__

    parser = argparse.ArgumentParser(
        prog="sspr-audit",
        description="Audit Entra ID self-service password reset and password writeback against a policy file.",
    )
    parser.add_argument("--version", action="version", version=f"sspr-audit {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug detail to stderr")
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(f"auditor.commands.{name}").register(commands)
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


if __name__ == "__main__":
    sys.exit(main())
