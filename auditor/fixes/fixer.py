"""What a check's fixer is and what it sees.

A check that can be fixed declares `FIXER = Fixer(plan=...)` in its own module (prowler keeps a fixer beside
each check: https://github.com/prowler-cloud/prowler, `prowler/providers/*/services/*/*/*_fixer.py`). The
fixer gets the check's failing findings and a `FixContext`, and turns each finding's typed subject (its
target, its `subject`) into typed changes (`auditor.fixes.changes`) or a manual step saying why no writer
makes it. A finding the fixer leaves alone becomes a manual step with the check's `CheckSpec.manual` reason.

The planner (`auditor.remediation.planner`) runs the fixers, orders and numbers the changes and seals the
plan; it knows no check. `check` asks the same fixers which failures a plan would fix, without a plan.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from auditor.findings import Finding, Status
from auditor.fixes.changes import FindingRef
from auditor.policy.models import Policy
from auditor.snapshot.models import Snapshot
from auditor.snapshot.store import fingerprint

DEFAULT_WHY = "the plan has no writer for this setting"


@dataclass
class Draft:
    """A change being built: its model, fields and the findings it fixes (mutable until the plan is sealed)."""

    cls: type[Any]
    fields: dict[str, Any]
    fixes: list[FindingRef] = field(default_factory=list)


@dataclass(frozen=True)
class ManualNote:
    """A failing finding no change fixes, and why."""

    finding: Finding
    why: str


class FixContext:
    """The policy, the snapshot and the failing findings, and what the fixers have proposed so far."""

    def __init__(self, policy: Policy, snapshot: Snapshot, findings: Iterable[Finding]) -> None:
        self.policy, self.snapshot = policy, snapshot
        self.failing = [f for f in findings if f.status == Status.failed]
        self.drafts: list[Draft] = []
        self.manual: list[ManualNote] = []
        self.handled: set[FindingRef] = set()

    def failing_of(self, check: str, target: str | None = None) -> list[Finding]:
        """The failing findings of `check` (about `target`, when given)."""
        return [f for f in self.failing if f.check == check and (target is None or f.target == target)]

    def value(self, name: str) -> Any:
        """Snapshot section `name`'s value; None when it was not read."""
        section = getattr(self.snapshot, name, None)
        return section.value if section is not None and section.readable else None

    def depends(self, *names: str) -> dict[str, str]:
        """The fingerprints of the sections a change is derived from (apply refuses it when they moved)."""
        return {name: fingerprint(getattr(self.snapshot, name, None)) for name in names}

    def add(self, cls: type[Any], fixes: Iterable[Finding], **fields: Any) -> Draft:
        refs = [FindingRef.of(f) for f in fixes]
        draft = Draft(cls, fields, refs)
        self.drafts.append(draft)
        self.handled.update(refs)
        return draft

    def attach(self, draft: Draft, findings: Iterable[Finding]) -> None:
        for finding in findings:
            ref = FindingRef.of(finding)
            if ref not in draft.fixes:
                draft.fixes.append(ref)
            self.handled.add(ref)

    def withdraw(self, draft: Draft) -> list[Finding]:
        """Take `draft` back; its findings are no longer handled, and are returned."""
        self.drafts.remove(draft)
        self.handled.difference_update(draft.fixes)
        return [f for f in self.failing if FindingRef.of(f) in draft.fixes]

    def drafts_of(self, cls: type[Any]) -> list[Draft]:
        return [d for d in self.drafts if d.cls is cls]

    def manual_step(self, finding: Finding, why: str) -> None:
        """`finding` is done by hand, for reason `why` (the first reason given for a finding stands)."""
        ref = FindingRef.of(finding)
        if ref in self.handled:
            return
        self.handled.add(ref)
        self.manual.append(ManualNote(finding, why))

    def fixed(self) -> set[FindingRef]:
        """The findings some change fixes."""
        return {ref for draft in self.drafts for ref in draft.fixes}


Plan = Callable[[FixContext, list[Finding]], None]


@dataclass(frozen=True)
class Fixer:
    """A check's fixer: `plan(ctx, failing)` adds changes and manual steps for the check's failing findings.

    `after` names the checks whose fixers must run first: a fixer that reads their drafts (the methods
    fixer reads the migration state's change), or whose changes of one kind come first in the plan.
    """

    plan: Plan
    after: tuple[str, ...] = ()


def on(value: object) -> str:
    """A setting's value as a plan summary shows it."""
    if value is None:
        return "unset"
    if isinstance(value, bool):
        return "on" if value else "off"
    return str(value)
