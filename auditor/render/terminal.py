"""The findings as `check` prints them on the terminal (or a CI log): per finding a head line (status, check,
target) and below it the reason, indented under the check and wrapped to the width, never cut.

A target too long for the head line goes on its own line under the check; a word longer than a line (a DN) is
broken, never dropped.
Tenant and domain text is shown with `one_line`: control, escape and bidi characters are shown, not obeyed.
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterable

from auditor.findings import Finding
from auditor.text import one_line

STATUS_WIDTH = 8
CHECK_WIDTH = 26
INDENT = 2 + STATUS_WIDTH + 1  # where the check column starts: continuation lines start here


def finding_lines(findings: Iterable[Finding], width: int) -> list[str]:
    """The lines for `findings`, none longer than `width` (at least 40) but for a word that cannot be broken."""
    width = max(40, width)
    lines: list[str] = []
    for finding in findings:
        detail = one_line(finding.reason or "")
        if finding.waiver is not None and finding.waiver.expired:
            detail = f"[waiver expired {finding.waiver.expires.isoformat()}] {detail}".strip()
        check, target = one_line(finding.check), one_line(finding.target)
        head = f"  {finding.status.value.upper():<{STATUS_WIDTH}} {check:<{CHECK_WIDTH}} "
        if len(head) + len(target) <= width:
            lines.append(head + target)
        else:  # a long target (a DN) on its own lines, under the check
            lines += [head.rstrip(), *_wrap(target, width, " " * INDENT, " " * INDENT)]
        if detail:
            lines += _wrap(detail, width, " " * INDENT, " " * INDENT)
    return lines


def _wrap(text: str, width: int, first: str, rest: str) -> list[str]:
    return textwrap.wrap(text, width=width, initial_indent=first, subsequent_indent=rest, break_on_hyphens=False,
                         break_long_words=True) or [first.rstrip()]
