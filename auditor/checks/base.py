"""What a check is, what it produces, and the helpers every check shares.

A check is a module under `auditor.checks` whose dotted path below the package is its id
(`auditor/checks/sspr/gates.py` is `sspr.gates`). It defines `SPEC` and a pure function
`evaluate(ctx) -> list[Finding]`. Checks never do I/O: everything comes from the policy and
the snapshot handed to them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal

from auditor.findings import (
    STATUS_ORDER,
    Evidence,
    Finding,
    Severity,
    Status,
    Subject,
    Unreadable,
    WaiverNote,
    section_value,
)
from auditor.policy.models import Location, Policy, Waiver
from auditor.snapshot.models import Section, Snapshot

# re-exported from auditor.findings (checks import them from here); the names this module defines are public anyway
__all__ = [
    "STATUS_ORDER",
    "Evidence",
    "Finding",
    "Severity",
    "Status",
    "Subject",
    "Unreadable",
    "WaiverNote",
    "section_value",
]


@dataclass(frozen=True)
class Fix:
    """How to reach the secure state by hand: the steps in a console, and the commands.

    `console` names the tool the `portal` steps are made in (reports label the steps with it); `shell` names what
    runs the `powershell` command. `fills` says which `<placeholder>` in the commands a report may fill with a
    value it knows, and from what (`auditor.render.fix_blocks.FILL_SOURCES`); a placeholder without a fill, or
    whose value the report does not know, stays as it is. A command never carries an example value that could be
    pasted as real data.
    """

    portal: str
    graph: str | None = None
    powershell: str | None = None
    console: str = "Entra admin center"
    shell: str = "PowerShell"
    fills: tuple[tuple[str, str], ...] = ()

    def steps(self) -> dict[str, str]:
        """The steps a finding carries (its `fix`): portal, Graph and PowerShell texts, the ones given."""
        return {k: v for k, v in (("portal", self.portal), ("graph", self.graph), ("powershell", self.powershell))
                if v}


@dataclass(frozen=True)
class OptionalSection:
    """A section a check can judge without, and what it does then.

    Without it, each of the check's findings is the same as with it, or `unknown`, or keeps its verdict while
    carrying the section's `(section)` evidence (so the report names the input it could not use). Never a
    stand-in value: what cannot be judged without the section is `unknown`.
    """

    name: str
    without: str


@dataclass(frozen=True)
class CheckSpec:
    id: str
    title: str
    severity: Severity
    policy_key: str
    sections: tuple[str, ...]
    """Every snapshot section the check reads. Those not in `optional` are required: unreadable, every finding
    of the check is `unknown` (the per-section meta-test breaks each one alone and holds the check to this)."""
    references: tuple[str, ...]
    fix: Fix
    description: str = ""
    secure_score_control: str | None = None
    also_reads: tuple[str, ...] = ()  # other policy keys the check judges besides `policy_key` (init's notes)
    optional: tuple[OptionalSection, ...] = ()
    """The sections among `sections` the check can do without, each with what its absence does."""
    changed_attributes: tuple[str, ...] = ()
    """The LDAP attributes behind an on-premises verdict (the DACL, a GPO's versionNumber and its link's gPLink, a
    password setting): a failing finding carries, as `last_change` evidence, when and on which DC each last changed
    on the objects it names (`auditor.derive.attribution`)."""
    audit_log: Literal["sspr_settings", "writeback"] | None = None
    """Which of the SSPR service's audit events changes what the check judges: `sspr_settings` (the portal's SSPR
    settings) or `writeback` (the writeback toggle); a failing finding carries the latest such event (who, when)
    as `last_change` evidence, where the log holds one."""
    manual: str | None = None
    """Why no writer fixes this check's failures (a decision only people make); a plan lists them as manual steps
    with this reason. A check that can be fixed declares `FIXER` in its module instead."""

    def __post_init__(self) -> None:
        stray = [o.name for o in self.optional if o.name not in self.sections]
        if stray:
            raise ValueError(f"{self.id}: optional section(s) {stray} are not among its sections")
        if any(not o.without.strip() for o in self.optional):
            raise ValueError(f"{self.id}: every optional section must say what its absence does")

    @property
    def required(self) -> tuple[str, ...]:
        """The sections without which every finding of the check is `unknown`."""
        optional = {o.name for o in self.optional}
        return tuple(name for name in self.sections if name not in optional)

    def without(self, name: str) -> str | None:
        """What the check does when optional section `name` is unreadable (None: `name` is required)."""
        return next((o.without for o in self.optional if o.name == name), None)


class UndeclaredSection(AssertionError):
    """A check read a section its spec does not declare: a bug in the check, caught by the meta-tests."""


@dataclass
class Context:
    """What a check sees: the policy, the snapshot, and constructors for its findings."""

    spec: CheckSpec
    policy: Policy
    snapshot: Snapshot
    findings: list[Finding] = field(default_factory=list)

    def section(self, name: str) -> Any:
        """The value of snapshot section `name`, or raise Unreadable with the reason.

        Only sections the spec declares may be read, so the "unknown, never pass" meta-test sees every input.
        """
        if name not in self.spec.sections:
            raise UndeclaredSection(f"{self.spec.id} reads `{name}` but its CheckSpec.sections does not declare it")
        return section_value(self.snapshot, name)

    def section_or_none(self, name: str, reasons: list[str], evidence: list[Evidence]) -> Any:
        """The section's value, or None with why appended to `reasons` (for a check with alternative sources)."""
        try:
            return self.section(name)
        except Unreadable as exc:
            reasons.append(exc.reason)
            evidence.extend(exc.evidence)
            return None

    def source(self, name: str) -> str:
        section: Section[Any] | None = getattr(self.snapshot, name, None)
        return section.source if section is not None else name

    def location(self, key: str | None = None) -> Location | None:
        return self.policy.location(key or self.spec.policy_key)

    def result(
        self,
        status: Status,
        *,
        target: str = "tenant",
        expected: Any = None,
        actual: Any = None,
        evidence: list[Evidence] | None = None,
        reason: str | None = None,
        key: str | None = None,
        subject: Subject | None = None,
    ) -> Finding:
        location = self.location(key)
        if location is not None and location.defaulted and status != Status.not_applicable:
            evidence, reason = self._defaulted(location, status, evidence, reason)
        return Finding(
            check=self.spec.id,
            title=self.spec.title,
            status=status,
            severity=self.spec.severity,
            target=target,
            expected=expected,
            actual=actual,
            evidence=evidence or [],
            policy_location=location,
            subject=subject,
            reason=reason,
            fix=self.spec.fix.steps(),
            references=list(self.spec.references),
        )

    def _defaulted(self, location: Location, status: Status, evidence: list[Evidence] | None,
                   reason: str | None) -> tuple[list[Evidence], str | None]:
        """A finding that judges a key the policy does not write says so: the key and its default in the evidence,
        and for a failure in the reason too (a default is enforced like a written value, never silently)."""
        value = self.policy.value_at(location.key)
        shown = value.model_dump(mode="json") if hasattr(value, "model_dump") else value
        note = Evidence(source=f"policy default (not written in {location.file})", field=location.key, value=shown)
        said = f"`{location.key}` is not written in the policy: its default {_show(shown)} applies"
        if status == Status.failed:
            reason = f"{reason}; {said}" if reason else said
        return [*(evidence or []), note], reason

    def compare(
        self,
        expected: Any,
        actual: Any,
        evidence: list[Evidence],
        *,
        target: str = "tenant",
        key: str | None = None,
        what: str | None = None,
    ) -> Finding:
        """pass when equal, fail with a reason when not, unknown when the live value is absent."""
        if actual is None:
            return self.result(
                Status.unknown, target=target, expected=expected, evidence=evidence, key=key,
                reason=f"the live value of {what or 'this setting'} was not present in the response",
            )
        if actual == expected:
            return self.result(Status.passed, target=target, expected=expected, actual=actual,
                               evidence=evidence, key=key)
        return self.result(
            Status.failed, target=target, expected=expected, actual=actual, evidence=evidence, key=key,
            reason=f"{what or 'the setting'} is {_show(actual)}, the policy asks for {_show(expected)}",
        )


def _show(value: Any) -> str:
    if isinstance(value, bool):
        return "on" if value else "off"
    return repr(value) if isinstance(value, str) else str(value)


Evaluate = Callable[[Context], list[Finding]]


def apply_waivers(findings: list[Finding], waivers: list[Waiver], today: date) -> list[Finding]:
    """Turn covered failures into `waived`; an expired waiver leaves the failure and says so."""
    out = []
    for finding in findings:
        waiver = _matching_waiver(finding, waivers) if finding.status == Status.failed else None
        if waiver is None:
            out.append(finding)
            continue
        expired = waiver.expires < today
        note = WaiverNote(reason=waiver.reason, owner=waiver.owner, ticket=waiver.ticket,
                          expires=waiver.expires, expired=expired)
        status = Status.failed if expired else Status.waived
        out.append(finding.model_copy(update={"status": status, "waiver": note}))
    return out


def _matching_waiver(finding: Finding, waivers: list[Waiver]) -> Waiver | None:
    matches = [w for w in waivers if w.check == finding.check and w.target in (None, finding.target)]
    # a waiver for this exact target wins over a check-wide one
    matches.sort(key=lambda w: w.target is None)
    return matches[0] if matches else None


@dataclass(frozen=True)
class UnmatchedWaiver:
    """A waiver that covered no failing finding, and why: a typo, a stale exception, or a check that passes now."""

    index: int
    waiver: Waiver
    reason: str

    def message(self) -> str:
        target = f" target `{self.waiver.target}`" if self.waiver.target is not None else ""
        return f"waivers[{self.index}] for `{self.waiver.check}`{target} matches nothing: {self.reason}"


def unmatched_waivers(findings: list[Finding], waivers: list[Waiver], known_checks: set[str]) -> list[UnmatchedWaiver]:
    """The waivers that were applied to no failing finding (waived, or failing with the waiver expired).

    Run over the findings that `apply_waivers` returned: the waiver chosen for each failing or
    waived finding is the one `_matching_waiver` picks, so a check-wide waiver shadowed by a
    target-specific one for every target also shows up here.
    """
    used = set()
    for finding in findings:
        if finding.status in (Status.failed, Status.waived):
            chosen = _matching_waiver(finding, waivers)
            if chosen is not None:
                used.add(id(chosen))
    out = []
    for index, waiver in enumerate(waivers):
        if id(waiver) in used:
            continue
        out.append(UnmatchedWaiver(index, waiver, _why_unmatched(waiver, findings, known_checks)))
    return out


def _why_unmatched(waiver: Waiver, findings: list[Finding], known_checks: set[str]) -> str:
    if waiver.check not in known_checks:
        return "no check has this id"
    same_check = [f for f in findings if f.check == waiver.check]
    if waiver.target is not None:
        targets = sorted({f.target for f in same_check})
        if waiver.target not in targets:
            shown = ", ".join(f"`{t}`" for t in targets) or "(none)"
            return f"the check has no finding for this target (its targets: {shown})"
        same_check = [f for f in same_check if f.target == waiver.target]
    statuses = sorted({f.status.value for f in same_check})
    if not statuses:
        return "the check produced no finding"
    if Status.failed.value in statuses or Status.waived.value in statuses:
        return "a waiver for the exact target covers every failure it would match"
    return f"nothing to waive: the finding is {'/'.join(statuses)}"
