"""JUnit XML, the test-report format every CI system reads (Jenkins, GitLab, Azure Pipelines, GitHub test reporters).

One `<testcase>` per check and target (`classname` = check id, `name` = target), in one
`<testsuite>` inside `<testsuites>`:

- `pass` → a plain test case;
- `fail` → `<failure>` (type = severity; the text has expected, actual, evidence, the policy
  line and the fix; a failure whose waiver expired says so);
- `unknown` → `<error>`: in JUnit an error means the test could not run to a verdict, which is
  what "a needed input could not be read" is. It is never a pass, and never a failure either;
- `not_applicable` → `<skipped>` with the reason;
- `waived` → `<skipped>` with the waiver (reason, owner, ticket, expiry);
- each warning (e.g. a waiver that matches nothing) → a `<skipped>` test case in the class
  `sspr-audit.warnings`, so it is visible without failing the build, and a `warning` property;
- each report section the HTML page draws (coverage, on-premises) → a passing test case in the class
  `sspr-audit.sections`, on the policy line of its key (`coverage`, `directory`), whose `<system-out>` is
  the section as text, and one suite property per row (`coverage.in_scope`, `on_premises.rights.<OU>`, …).
  It passes because a section is not a verdict: the checks' test cases carry those.

Text from the tenant or the policy may hold characters XML 1.0 cannot carry (NUL, other C0
controls); they are written as `[U+0000]`.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from typing import TYPE_CHECKING, Any

from auditor.checks.base import Finding, Status
from auditor.render.base import Renderer, register
from auditor.render.plain import describe, fix_lines, location_text, ordered, value_text, waiver_text
from auditor.report import AuditReport

if TYPE_CHECKING:
    from auditor.render.section_facts import SectionFacts

SUITE_NAME = "sspr-audit"
WARNING_CLASS = "sspr-audit.warnings"
SECTION_CLASS = "sspr-audit.sections"
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


@register
class JunitRenderer(Renderer):
    name = "junit"
    extension = "junit.xml"
    media_type = "application/xml"

    def render(self, report: AuditReport) -> bytes:
        root = junit_tree(report)
        ET.indent(root)
        data: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)  # typeshed: Any for an encoding
        return data + b"\n"


def junit_tree(report: AuditReport) -> ET.Element:
    from auditor.render.section_facts import report_sections

    sections = report_sections(report)
    cases = [_testcase(f) for f in ordered(report.findings)]
    cases += [_section_case(section) for section in sections]
    cases += [_warning_case(index, warning) for index, warning in enumerate(report.warnings)]
    counts = _counts(cases)
    timestamp = report.generated_at.replace(tzinfo=None).isoformat(timespec="seconds")
    root = ET.Element("testsuites", _attrs(name=SUITE_NAME, time="0", **counts))
    suite = ET.SubElement(root, "testsuite", _attrs(
        name=f"{SUITE_NAME}: {report.policy_file} against {report.origin}", timestamp=timestamp,
        time="0", **counts))
    properties = ET.SubElement(suite, "properties")
    for name, value in [("policy_file", report.policy_file), ("origin", report.origin),
                        ("snapshot_created_at", report.snapshot_created_at.isoformat()),
                        ("tool_version", report.tool_version), ("exit_code", str(report.summary.exit_code))]:
        ET.SubElement(properties, "property", _attrs(name=name, value=value))
    for warning in report.warnings:
        ET.SubElement(properties, "property", _attrs(name="warning", value=warning))
    for section in sections:
        for name, value in section.facts:
            ET.SubElement(properties, "property", _attrs(name=f"{section.key}.{name}", value=value))
    suite.extend(cases)
    return root


def _testcase(finding: Finding) -> ET.Element:
    location = finding.policy_location
    attrs: dict[str, str] = {"classname": finding.check, "name": finding.target or finding.check, "time": "0"}
    if location is not None:
        attrs |= {"file": location.file, "line": str(location.line)}
    case = ET.Element("testcase", _attrs(**attrs))
    if finding.status == Status.failed:
        child = ET.SubElement(case, "failure", _attrs(message=describe(finding), type=finding.severity.value))
        child.text = _clean(_details(finding))
    elif finding.status == Status.unknown:
        child = ET.SubElement(case, "error", _attrs(message=f"unknown: {describe(finding)}", type="unknown"))
        child.text = _clean(_details(finding))
    elif finding.status == Status.waived:
        note = waiver_text(finding.waiver) if finding.waiver else "waived"
        ET.SubElement(case, "skipped", _attrs(message=note))
    elif finding.status == Status.not_applicable:
        ET.SubElement(case, "skipped", _attrs(message=f"not applicable: {finding.reason or 'not asked for'}"))
    return case


def _section_case(section: SectionFacts) -> ET.Element:
    attrs = {"classname": SECTION_CLASS, "name": section.title, "time": "0"}
    if section.location is not None:
        attrs |= {"file": section.location.file, "line": str(section.location.line)}
    case = ET.Element("testcase", _attrs(**attrs))
    ET.SubElement(case, "system-out").text = _clean(section.text())
    return case


def _warning_case(index: int, warning: str) -> ET.Element:
    case = ET.Element("testcase", _attrs(classname=WARNING_CLASS, name=f"warning {index + 1}", time="0"))
    ET.SubElement(case, "skipped", _attrs(message=f"warning: {warning}"))
    return case


def _details(finding: Finding) -> str:
    lines = [f"{finding.title}", f"severity: {finding.severity.value}", f"target: {finding.target}"]
    if finding.expected is not None or finding.status == Status.failed:
        lines.append(f"expected: {value_text(finding.expected)}")
    if finding.actual is not None or finding.status == Status.failed:
        lines.append(f"actual: {value_text(finding.actual)}")
    if finding.reason:
        lines.append(f"reason: {finding.reason}")
    lines += [f"evidence: {e.source} {e.field} = {value_text(e.value)}" for e in finding.evidence]
    if finding.policy_location is not None:
        lines.append(f"policy: {location_text(finding.policy_location)} ({finding.policy_location.key})")
    if finding.waiver is not None:
        lines.append(waiver_text(finding.waiver))
    lines += [f"fix ({label}): {how}" for label, how in fix_lines(finding.fix, finding.check)]
    return "\n".join(lines)


def _counts(cases: list[ET.Element]) -> dict[str, str]:
    def count(tag: str) -> int:
        return sum(1 for case in cases if case.find(tag) is not None)

    return {"tests": str(len(cases)), "failures": str(count("failure")), "errors": str(count("error")),
            "skipped": str(count("skipped"))}


def _attrs(**values: Any) -> dict[str, str]:
    return {key: _clean(str(value)) for key, value in values.items()}


def _clean(text: str) -> str:
    from auditor.text import reveal_hidden

    return reveal_hidden(_NOT_XML.sub(lambda m: f"[U+{ord(m.group()):04X}]", text))
