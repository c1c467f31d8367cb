"""How to fix what failed: one block per rule (check), naming the objects it affects, its console, and its
commands filled with the values the report knows.

A check's `Fix` (auditor/checks/base.py) names the console its steps are made in, the shell of its command and
which `<placeholder>` the report may fill, and from what (`FILL_SOURCES`). A value goes into a command only when it
cannot change the command: inside '…' (PowerShell's verbatim string) with each ' doubled, inside "…" (cmd) when it
holds no " % or !, bare when it is a plain word. Anything else, or a value the report does not know, leaves the
placeholder as it is: a report never invents a value, and tenant text never becomes code.

PowerShell's single-quoted strings: "a verbatim string … To include a single quotation mark in a single-quoted
string, use a second consecutive single quote" (https://learn.microsoft.com/powershell/module/
microsoft.powershell.core/about/about_quoting_rules); PowerShell also takes U+2018–U+201B as single quotes
(Microsoft KB 2918008, https://support.microsoft.com/kb/2918008), so a value holding one is never filled. cmd
expands %VAR% on the line, and !VAR! with delayed expansion (`cmd /v`), quotes or not
(https://learn.microsoft.com/windows-server/administration/windows-commands/cmd).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from auditor.findings import Finding, Status
from auditor.render.plain import CODE_FIXES, FIX_LABELS, fix_steps, value_words
from auditor.report import AuditReport
from auditor.text import HIDDEN_CHARACTERS, one_line

_DN = re.compile(r"[A-Za-z][A-Za-z0-9-]*=[^\r\n]+")
_WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
_DNS_NAME = re.compile(r"[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*")
_TYPOGRAPHIC_SINGLE_QUOTES = frozenset("\u2018\u2019\u201a\u201b")
MAX_NOW = 160


def _target(finding: Finding, report: AuditReport | None) -> str | None:
    return finding.target if _DN.fullmatch(finding.target) else None


def _expected(finding: Finding, report: AuditReport | None) -> str | None:
    value = finding.expected
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value) if isinstance(value, str | int) else None


def _domain(finding: Finding, report: AuditReport | None) -> str | None:
    domain = report.on_premises.domain if report is not None and report.on_premises is not None else None
    return domain if domain and _DNS_NAME.fullmatch(domain) else None


def _domain_dn(finding: Finding, report: AuditReport | None) -> str | None:
    """The domain's naming context, DC= per label of its DNS name (how AD names a domain's root)."""
    domain = _domain(finding, report)
    return ",".join(f"DC={label}" for label in domain.split(".")) if domain else None


def _sync_account(finding: Finding, report: AuditReport | None) -> str | None:
    return report.on_premises.service_account if report is not None and report.on_premises is not None else None


FILL_SOURCES: dict[str, Callable[[Finding, AuditReport | None], str | None]] = {
    "target": _target,            # the finding's target, when it is a DN
    "expected": _expected,        # the value the policy asks for, when it is one word, number or boolean
    "domain": _domain,            # the on-premises domain's DNS name
    "domain_dn": _domain_dn,      # the domain's DN
    "sync_account": _sync_account,  # the sync (AD DS connector) account the policy names
}


def fill(template: str, fills: Iterable[tuple[str, str]], finding: Finding, report: AuditReport | None) -> str:
    """`template` with each fillable placeholder replaced by its value, where that value is safe in its place."""
    text = template
    for placeholder, source in fills:
        value = FILL_SOURCES[source](finding, report)
        if value is None:
            continue
        text = re.sub(re.escape(placeholder), functools.partial(_quoted, value=value), text)
    return text


def _quoted(match: re.Match[str], value: str) -> str:
    """The value for the placeholder `match` found, quoted as the text around it quotes it; else the placeholder."""
    text, start, end = match.string, match.start(), match.end()
    before, after = text[start - 1:start], text[end:end + 1]
    if HIDDEN_CHARACTERS.search(value) or "\n" in value or "\r" in value:
        return match.group()
    if before == after == "'":
        return match.group() if _TYPOGRAPHIC_SINGLE_QUOTES & set(value) else value.replace("'", "''")
    if before == after == '"':
        return match.group() if set('"%!') & set(value) else value
    return value if _WORD.fullmatch(value) else match.group()


@dataclass(frozen=True)
class FixObject:
    """One object a rule's fix affects: the failing finding, what is wrong and what it holds now."""

    target: str
    anchor: str | None
    reason: str
    now: str
    commands: tuple[tuple[str, str], ...]  # (label, command) filled for this object


@dataclass(frozen=True)
class FixStep:
    kind: str
    label: str
    text: str
    is_code: bool
    per_object: bool  # the command differs per object: each object below carries its own


@dataclass(frozen=True)
class FixBlock:
    check: str
    title: str
    console: str
    steps: tuple[FixStep, ...]
    objects: tuple[FixObject, ...]
    references: tuple[str, ...]


def fix_block(findings: list[Finding], anchors: dict[int, str], report: AuditReport | None) -> FixBlock | None:
    """The fix of one rule for its failing `findings` (anchors: a finding's id() → its anchor on the page)."""
    failing = [f for f in findings if f.status == Status.failed and f.fix]
    if not failing:
        return None
    first = failing[0]
    fills = _fills(first.check)
    steps, per_object_commands = [], []
    labelled = fix_steps(first.fix, first.check)
    for kind, label, text in labelled:
        if kind not in CODE_FIXES:  # console steps are prose; a kind this build does not know is shown as code
            steps.append(FixStep(kind, label, text, kind not in FIX_LABELS, False))
            continue
        filled = [fill(text, fills, f, report) for f in failing]
        per_object = len(set(filled)) > 1
        steps.append(FixStep(kind, label, filled[0] if not per_object else text, True, per_object))
        per_object_commands.append((label, filled) if per_object else None)
    objects = []
    for index, finding in enumerate(failing):
        commands = tuple((label, filled[index]) for label, filled in filter(None, per_object_commands))
        objects.append(FixObject(target=finding.target, anchor=anchors.get(id(finding)),
                                 reason=one_line(finding.reason or ""), now=_now(finding.actual),
                                 commands=commands))
    console = next((label for kind, label, _ in labelled if kind == "portal"), "")
    return FixBlock(check=first.check, title=first.title, console=console, steps=tuple(steps),
                    objects=tuple(objects), references=tuple(first.references))


def _now(actual: Any) -> str:
    text = one_line(value_words(actual))
    return text if len(text) <= MAX_NOW else text[:MAX_NOW - 1] + "…"


def _fills(check: str) -> tuple[tuple[str, str], ...]:
    from auditor.checks.registry import all_checks

    spec = next((c.spec for c in all_checks() if c.spec.id == check), None)
    return spec.fix.fills if spec is not None else ()
