"""One module per command (hatch's layout): each `register`s its parser and runs it. `auditor.cli` only assembles
the parser, sets up the streams and signals, and maps errors to exit codes (auditor/commands/errors.py).

The order here is the order `sspr-audit --help` lists the commands in."""

from __future__ import annotations

COMMANDS = ("check", "collect", "export", "plan", "apply", "rollback", "diff", "validate", "init", "schema", "login",
            "fleet", "lab")
