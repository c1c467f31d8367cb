"""The exceptions a command turns into one line and an exit code, by type (never by class name).

`known_error(exc)` walks one table, in order: the first row whose types match says the exit code and how the
message reads. An exception in no row is a bug: the CLI writes a crash report and exits 70. The modules are
imported when an error is being mapped, never on the way to `--help`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from auditor.exit_codes import Exit


@dataclass(frozen=True)
class Known:
    code: Exit
    message: str


def _policy_lines(exc: Exception) -> str:
    lines = [str(issue) for issue in getattr(exc, "issues", [])]
    shown = lines[:20] + ([f"... and {len(lines) - 20} more"] if len(lines) > 20 else [])
    return "policy error:\n  " + "\n  ".join(shown)


def _plain(exc: Exception) -> str:
    return f"error: {exc}"


def _file(exc: Exception) -> str:
    assert isinstance(exc, OSError)
    return f"error: {exc.filename}: {exc.strerror or exc}"


def table() -> tuple[tuple[tuple[type[BaseException], ...], Exit, Callable[[Exception], str]], ...]:
    """(exception types, exit code, message) rows, first match wins."""
    from auditor.app.errors import SourceError
    from auditor.app.portal_snapshot import PortalSnapshotError
    from auditor.commands.common import UsageError
    from auditor.diff import TrendError
    from auditor.files import InputFileError, OutputPathError
    from auditor.fleet_report import FleetReportError
    from auditor.policy.loader import PolicyError
    from auditor.readers.credentials import CredentialError
    from auditor.readers.reach import EndpointError
    from auditor.remediation.changes import PlanError
    from auditor.remediation.seal import SealError
    from auditor.remediation.session import ApplyError
    from auditor.snapshot.store import SnapshotError

    return (
        ((PolicyError,), Exit.usage, _policy_lines),
        ((SnapshotError, SourceError, UsageError, TrendError, OutputPathError, InputFileError, PortalSnapshotError,
          PlanError, ApplyError, EndpointError, SealError, CredentialError, FleetReportError), Exit.usage, _plain),
    )


def known_error(exc: Exception) -> Known | None:
    """The exit code and one-line message for an error a user can fix; None for a bug."""
    for types, code, message in table():
        if isinstance(exc, types):
            return Known(code, message(exc))
    if isinstance(exc, OSError) and exc.filename:  # a folder that cannot be made, a file that cannot be opened
        return Known(Exit.usage, _file(exc))
    return None
