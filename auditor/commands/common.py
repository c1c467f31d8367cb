"""What every command module shares: the usage error, argparse value types, and the output-path check."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import Any

SEVERITIES = ("info", "low", "medium", "high", "critical")


class UsageError(Exception):
    """A user mistake the CLI reports in one line with exit code 2."""


def int_at_least(minimum: int) -> Callable[[str], int]:
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


non_negative_int = int_at_least(0)
positive_int = int_at_least(1)


def port(text: str) -> int:
    value = non_negative_int(text)
    if not 1 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"a TCP port is 1 to 65535, not {value}")
    return value


def seconds(text: str) -> float:
    import math

    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not math.isfinite(value) or value <= 0 or value > 3600:
        raise argparse.ArgumentTypeError(f"must be more than 0 and at most 3600 seconds, not {text}")
    return value


def inputs(args: argparse.Namespace) -> tuple[Any, ...]:
    """The files a command reads: none of them may also be one of its outputs."""
    return (getattr(args, "policy", None), getattr(args, "snapshot", None), getattr(args, "portal_snapshot", None),
            getattr(args, "lab_after", None))


def check_outputs(*outputs: tuple[Path | None, str], inputs: tuple[Any, ...] = ()) -> None:
    """Refuse, before any work, an output that is a directory, device, link, an input, or another output."""
    from auditor.files import check_output_file

    given = [(path, what) for path, what in outputs if path is not None]
    for index, (path, what) in enumerate(given):
        others = tuple(p for p, _ in given[:index])
        check_output_file(path, inputs=(*inputs, *others), what=what)
