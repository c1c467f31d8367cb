"""Every exit code `sspr-audit` returns, defined once: the CLI's help, the README's table, the HTML report's
banner, `plan`'s codes and the fleet's worst-tenant code all come from here.

A code means one thing whichever command returns it, so a CI gate can tell drift (1) from a crash (70), an
unreadable input (3) from a refused apply (6). 70 is EX_SOFTWARE from BSD's sysexits.h (Python's
`os.EX_SOFTWARE`), "an internal software error"; 128 + N is what shells report for a process ended by signal N.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum


class Exit(IntEnum):
    ok = 0
    drift = 1
    usage = 2
    incomplete = 3
    changes = 4
    manual = 5
    refused = 6
    failed = 7
    partial = 8
    internal = 70


SIGNAL_BASE = 128

# what apply's and rollback's outcomes exit with
OUTCOME_EXIT = {"nothing_to_do": Exit.ok, "dry_run": Exit.ok, "applied": Exit.ok, "restored": Exit.ok,
                "failed": Exit.failed, "refused": Exit.refused, "partial": Exit.partial}


@dataclass(frozen=True)
class Meaning:
    code: Exit
    title: str  # a few words, for the HTML report's banner
    meaning: str  # what it means whichever command returns it
    commands: dict[str, str]  # the commands that return it ("*" every command), each with what it means there
    tone: str  # pass | fail | unknown: how the HTML report colours it

    def detail(self, command: str, fail_on: str | None = None) -> str:
        """What the code means for `command`; for one `check` run that drifted, the --fail-on it used (a report
        that records none gets the table's text)."""
        if command == "check" and self.code == Exit.drift and fail_on:
            return _DRIFT.format(fail_on + (" (the default)" if fail_on == DEFAULT_FAIL_ON else ""))
        return self.commands.get(command) or self.commands.get("*") or ""

    def said_by(self, command: str, fail_on: str | None = None) -> str:
        """The meaning as one command's help (or report) says it."""
        detail = self.detail(command, fail_on)
        return f"{self.meaning}: {detail}" if detail else self.meaning

    def said_once(self) -> str:
        """The meaning with every command's detail, for the README's table."""
        grouped: dict[str, list[str]] = {}
        for name, text in self.commands.items():
            if text:
                grouped.setdefault(text, []).append(name)
        general = self.commands.get("*") or ""
        details = [f"{', '.join(f'`{n}`' for n in names)}: {text}" for text, names in grouped.items()
                   if names != ["*"]]
        said = f"{self.meaning}: {general}" if general else self.meaning
        return f"{said}. {'; '.join(details)}" if details else said


_DRIFT = "a fail at or above --fail-on {}"  # `check`'s 1; a run names the threshold it used (Meaning.detail)
DEFAULT_FAIL_ON = "low"

_APPLY_REFUSALS = ("the plan is stale (a target changed since it was made), holds a change the policy does not ask "
                   "for now, names a policy file that changed, or goes to another target without --other-target; "
                   "or another apply or rollback holds the target")

TABLE: tuple[Meaning, ...] = (
    Meaning(Exit.ok, "Passed", "success", {
        "check": "every finding is pass, waived or not_applicable, and every needed input was read",
        "fleet check": "every tenant's audit exited 0", "fleet merge": "every tenant's audit exited 0",
        "plan": "nothing to change", "apply": "done, a dry run, or nothing to do", "rollback": "restored, or "
        "a dry run", "*": ""}, "pass"),
    Meaning(Exit.drift, "Drift found", "drift", {
        "check": _DRIFT.format(f"(default {DEFAULT_FAIL_ON})"), "fleet check": "a tenant drifted",
        "fleet merge": "a tenant drifted", "export": "the live state breaks a rule of the policy format, so the "
        "policy written will not validate"}, "fail"),
    Meaning(Exit.usage, "Usage or policy error", "usage, policy or input error", {
        "*": "the message names the file, line and field; nothing was written or changed"}, "fail"),
    Meaning(Exit.incomplete, "Incomplete", "incomplete", {
        "check": "a needed input could not be read (an unknown) and nothing drifted; --unknown warn reports it "
        "without failing", "fleet check": "no tenant drifted, but one did not exit 0",
        "fleet merge": "no tenant drifted, but one did not exit 0",
        "plan": "nothing planned, but some inputs could not be read", "login": "the sign-in failed"}, "unknown"),
    Meaning(Exit.changes, "Changes planned", "changes planned", {
        "plan": "`apply` has work to do (manual steps may be listed too); Terraform's plan -detailed-exitcode "
        "says 2 for this"}, "fail"),
    Meaning(Exit.manual, "Manual steps remain", "manual steps only", {
        "plan": "no change the plan can make, but manual steps remain"}, "fail"),
    Meaning(Exit.refused, "Refused", "refused, nothing written", {
        "apply": _APPLY_REFUSALS, "rollback": "another apply or rollback holds the target",
        "fleet check": "another fleet run is writing the same --out folder",
        "fleet merge": "another fleet run is writing the same --out folder"}, "fail"),
    Meaning(Exit.failed, "Failed part-way", "a change failed", {
        "apply": "the run stopped there; what it wrote before is in the backup file (`rollback` restores it)",
        "rollback": "the run stopped there; the objects not yet restored are listed"}, "fail"),
    Meaning(Exit.partial, "Partly restored", "partly restored", {
        "rollback": "objects changed since the apply were left as they are (--force restores them too)"},
        "unknown"),
    Meaning(Exit.internal, "Internal error", "internal error (a bug in sspr-audit)", {
        "*": "one line on stderr names the file the traceback was written to"}, "fail"),
)

SIGNALS_MEANING = ("stopped by SIGINT (Ctrl-C), SIGTERM or SIGHUP (128 + the signal, as shells report it): "
                   "lab processes the run started are stopped first and no file is half-written")

BY_CODE: dict[int, Meaning] = {row.code: row for row in TABLE}  # an Exit key hashes and compares as its int


def meaning(code: int) -> Meaning | None:
    return BY_CODE.get(code)


def for_command(command: str) -> list[Meaning]:
    return [row for row in TABLE if "*" in row.commands or command in row.commands]


def epilog(command: str) -> str:
    """The `--help` text of one command's exit codes."""
    import textwrap

    rows = [(str(row.code.value), row.said_by(command)) for row in for_command(command)]
    rows.append(("128+N", SIGNALS_MEANING))
    return "exit codes (one table for every command; `sspr-audit --help` lists them all):\n" + "\n".join(
        textwrap.fill(text, width=110, initial_indent=f"  {code:>5}  ", subsequent_indent=" " * 9)
        for code, text in rows)


def overview() -> str:
    """The top-level --help's list: every code, what it means whichever command returns it."""
    import textwrap

    rows = [(str(row.code.value), row.meaning) for row in TABLE] + [("128+N", SIGNALS_MEANING)]
    return "exit codes (each command's --help says which it returns and when):\n" + "\n".join(
        textwrap.fill(text, width=110, initial_indent=f"  {code:>5}  ", subsequent_indent=" " * 9)
        for code, text in rows)


def markdown_table() -> str:
    """The README's table (tests/unit/test_exit_codes.py keeps the README equal to it)."""
    lines = ["| code | meaning | returned by |", "|---|---|---|"]
    for row in TABLE:
        commands = "every command" if "*" in row.commands else ", ".join(f"`{name}`" for name in row.commands)
        lines.append(f"| {row.code.value} | {row.said_once()} | {commands} |")
    lines.append(f"| 128+N | {SIGNALS_MEANING} | every command |")
    return "\n".join(lines)


def worst(codes: list[int]) -> Exit:
    """The fleet's code from its tenants': drift if any drifted, else incomplete if any is not ok, else ok."""
    if any(code == Exit.drift for code in codes):
        return Exit.drift
    if any(code != Exit.ok for code in codes):
        return Exit.incomplete
    return Exit.ok

