"""SARIF 2.1.0 for GitHub code scanning (and any SARIF viewer), anchored to the policy's YAML lines.

- One rule per check (every registered check, plus any check id a finding names that the
  registry does not know), with the title, the fix as help text, the references, and
  `properties.security-severity` (critical 9.5, high 8.0, medium 5.5, low 3.0, info 0.0) so
  code scanning shows Critical/High/Medium/Low.
- Only `fail`, `unknown` and `waived` findings become results; a check that passes (or does
  not apply) emits nothing, so code scanning closes the alert when drift is fixed.
- `fail`: `kind: fail`, `level` from the severity (critical/high → error, medium/low →
  warning, info → note). A failure whose waiver expired is an ordinary failure whose message
  says the waiver expired.
- `unknown`: `kind: open`, `level: none` (SARIF §3.27.9: the rule was evaluated but there was
  not enough information to decide; any level other than `none` would claim a failure). The
  message starts with "Unknown:" and gives the reason the input could not be read.
- `waived`: a failure with a `suppressions` entry (`kind: external`, `status: accepted`) whose
  justification is the waiver's reason, owner, ticket and expiry; code scanning shows it as
  dismissed.
- Each result is located at the policy key that declared the expectation
  (`region.startLine/startColumn`), with the file path relative to the working directory
  (`uriBaseId: %SRCROOT%`), which in CI is the repository root. Every result has a location:
  code scanning rejects a whole file when one result has none.
- `partialFingerprints` hash only the check id and target, never a time or a line number, so
  an alert keeps its identity across runs and policy edits.
- Warnings (a waiver that matches nothing) and unreadable snapshot sections are
  `toolExecutionNotifications` of the invocation, not results.
- Each report section the HTML page draws (coverage, on-premises) is one result of its own rule
  (`section.coverage`, `section.on_premises`), located at the policy key it belongs to (`coverage:`,
  `directory:`; the policy file without a region when the file does not declare the key), so code
  scanning shows the section on that line. It is `kind: informational`, hence `level: none` (SARIF
  §3.27.10: a result whose kind is not `fail` has no other level): the verdicts are the findings'.
  The message summarises the section; `properties.facts` has every row of it (`section_facts`).
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from auditor.checks.base import CheckSpec, Finding, Severity, Status
from auditor.render.base import Renderer, register
from auditor.render.plain import CODE_FIXES, describe, fix_lines, fix_steps, value_text, waiver_text
from auditor.report import AuditReport

if TYPE_CHECKING:
    from auditor.render.section_facts import SectionFacts

SARIF_VERSION = "2.1.0"
SARIF_SCHEMA = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
TOOL_NAME = "sspr-audit"
FINGERPRINT_KEY = "sspr-audit/finding/v1"
SECURITY_SEVERITY = {
    Severity.critical: "9.5",
    Severity.high: "8.0",
    Severity.medium: "5.5",
    Severity.low: "3.0",
    Severity.info: "0.0",
}
FAIL_LEVEL = {
    Severity.critical: "error",
    Severity.high: "error",
    Severity.medium: "warning",
    Severity.low: "warning",
    Severity.info: "note",
}
EMITTED = (Status.failed, Status.unknown, Status.waived)
SECTION_LEVEL = "none"  # SARIF §3.27.10: kind other than `fail` → level `none`
SECTION_HELP = {
    "coverage": "Who can actually reset: the users the SSPR policy covers, how many are registered and licensed, "
                "Secure Score's SSPR control and the SSPR activity, as the report's coverage section shows them.",
    "on_premises": "What password writeback needs on the domain: the sync account, its rights on every target OU, "
                   "the in-scope users who would still fail, every source of a minimum password age and the GPOs "
                   "behind the sign-in screen's reset link, as the report's on-premises section shows them.",
}


@register
class SarifRenderer(Renderer):
    name = "sarif"
    extension = "sarif"
    media_type = "application/sarif+json"

    def render(self, report: AuditReport) -> bytes:
        log = sarif_log(report, base_dir=Path.cwd())
        return (json.dumps(log, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def sarif_log(report: AuditReport, base_dir: Path) -> dict[str, Any]:
    """The SARIF log of `report`, with file paths made relative to `base_dir` where they lie below it."""
    from auditor.render.section_facts import report_sections

    rules = [*_rules(report.findings), *_section_rules()]
    index = {rule["id"]: position for position, rule in enumerate(rules)}
    results = [_result(f, index[f.check], report, base_dir) for f in _emitted(report.findings)]
    results += [_section_result(section, index[_section_rule_id(section.key)], report, base_dir)
                for section in report_sections(report)]
    run: dict[str, Any] = {
        "tool": {"driver": {
            "name": TOOL_NAME,
            "version": report.tool_version,
            "informationUri": "https://learn.microsoft.com/entra/identity/authentication/concept-sspr-howitworks",
            "rules": rules,
        }},
        "invocations": [_invocation(report)],
        "columnKind": "unicodeCodePoints",
        "results": results,
        "properties": _revealed({"origin": report.origin, "policyFile": report.policy_file,
                                 "summary": report.summary.model_dump(mode="json")}),
    }
    return {"$schema": SARIF_SCHEMA, "version": SARIF_VERSION, "runs": [run]}


def fingerprint(check: str, target: str) -> str:
    """Stable identity of a finding across runs: its check id and target, nothing else."""
    return hashlib.sha256(f"{check}\0{target}".encode()).hexdigest()


def _emitted(findings: list[Finding]) -> list[Finding]:
    return sorted((f for f in findings if f.status in EMITTED), key=lambda f: (f.check, f.target))


# ---- rules ---------------------------------------------------------------------------------


def _rules(findings: list[Finding]) -> list[dict[str, Any]]:
    from auditor.checks.registry import all_checks

    specs: dict[str, CheckSpec | Finding] = {check.spec.id: check.spec for check in all_checks()}
    for finding in findings:
        specs.setdefault(finding.check, finding)
    return [_rule(check_id, specs[check_id]) for check_id in sorted(specs)]


def _rule(check_id: str, source: CheckSpec | Finding) -> dict[str, Any]:
    if isinstance(source, CheckSpec):
        title, severity, description = source.title, source.severity, source.description or source.title
        fix = source.fix.steps()
        references, policy_key = list(source.references), source.policy_key
        help_ = _help(fix, references, policy_key, check_id)
    else:  # a check this build does not know, described by a report (fleet merge): its text is data, never markup
        title, severity, description = source.title, source.severity, source.title
        fix, references = dict(source.fix), list(source.references)
        policy_key = source.policy_location.key if source.policy_location else ""
        help_ = _inert_help(fix, references, policy_key)
    rule: dict[str, Any] = {
        "id": check_id,
        "name": "".join(part.capitalize() for part in check_id.replace("_", ".").split(".")),
        "shortDescription": {"text": title},
        "fullDescription": {"text": description},
        "help": help_,
        "defaultConfiguration": {"level": FAIL_LEVEL[severity]},
        "properties": {
            "security-severity": SECURITY_SEVERITY[severity],
            "severity": severity.value,
            "precision": "very-high",
            "tags": list(dict.fromkeys(["security", "entra-id", "sspr", check_id.split(".", 1)[0],
                                        *control_tags(check_id)])),
        },
    }
    if references and safe_uri(references[0]):  # never `javascript:`, `data:` or a relative link
        rule["helpUri"] = references[0]
    return rule if isinstance(source, CheckSpec) else _revealed(rule)


SAFE_URI = re.compile(r"https://[A-Za-z0-9.-]+(?::[0-9]{1,5})?(?:/[A-Za-z0-9._~%!$&'()*+,;=:@/?#-]*)?", re.ASCII)


def safe_uri(value: str) -> bool:
    """An https URL of plain characters: safe as `helpUri` and inside a Markdown autolink `<…>`."""
    return bool(SAFE_URI.fullmatch(value))


def _inert_help(fix: dict[str, str], references: list[str], policy_key: str) -> dict[str, str]:
    """The help of a rule described by report data: the same text, its Markdown escaped so nothing in it becomes
    a link, an image, HTML or a code fence (code scanning shows `help.markdown` as Markdown: https://docs.github.com/
    en/code-security/reference/code-scanning/sarif-files/sarif-support-for-code-scanning; CommonMark's backslash
    escapes: https://spec.commonmark.org/0.31.2/#backslash-escapes)."""
    from auditor.render.markdown import escape

    def inert(value: str) -> str:
        return escape(value, limit=4000)

    text = [f"The expected value comes from the policy key {policy_key}."] if policy_key else []
    markdown = [f"The expected value comes from the policy key {inert(policy_key)}."] if policy_key else []
    for label, how in fix_lines(fix):
        text.append(f"{label}: {how}")
        markdown.append(f"**{inert(label)}**: {inert(how)}")
    if references:
        text.append("References: " + " ".join(references))
        markdown.append("References:\n" + "\n".join(f"- <{url}>" if safe_uri(url) else f"- {inert(url)}"
                                                     for url in references))
    return {"text": _revealed("\n".join(text)) or "See the report.",
            "markdown": "\n\n".join(markdown) or "See the report."}


def control_tags(check_id: str) -> list[str]:
    """`CIS-M365-5.2.4.1`, `EIDSCA-AP01`: the framework controls the check evidences, as SARIF rule tags."""
    from auditor.checks.frameworks import CONTROLS

    return list(dict.fromkeys(f"{m.control.framework.upper()}-{m.control.id}" for m in CONTROLS.get(check_id, ())))


def _help(fix: dict[str, str], references: list[str], policy_key: str, check_id: str) -> dict[str, str]:
    text = [f"The expected value comes from the policy key `{policy_key}`."] if policy_key else []
    markdown = list(text)
    for kind, label, how in fix_steps(fix, check_id):
        text.append(f"{label}: {how}")
        is_code = kind in CODE_FIXES
        markdown.append(f"**{label}**\n\n```\n{how}\n```" if is_code else f"**{label}**: {how}")
    if references:
        text.append("References: " + " ".join(references))
        markdown.append("References:\n" + "\n".join(f"- <{url}>" for url in references))
    return {"text": "\n".join(text) or "See the report.", "markdown": "\n\n".join(markdown) or "See the report."}


def _section_rule_id(section: str) -> str:
    return f"section.{section}"


def _section_rules() -> list[dict[str, Any]]:
    from auditor.render.section_facts import SECTIONS

    rules = []
    for section, (title, policy_key) in SECTIONS.items():
        rule_id = _section_rule_id(section)
        text = (f"{SECTION_HELP[section]} Informational, shown on the policy's `{policy_key}` key; the checks' "
                "results carry the verdicts.")
        rules.append({
            "id": rule_id,
            "name": "".join(part.capitalize() for part in rule_id.replace("_", ".").split(".")),
            "shortDescription": {"text": title},
            "fullDescription": {"text": SECTION_HELP[section]},
            "help": {"text": text, "markdown": text},
            "defaultConfiguration": {"level": SECTION_LEVEL},
            "properties": {"tags": ["entra-id", "sspr", "report-section", section]},
        })
    return rules


# ---- results ---------------------------------------------------------------------------------


def _result(finding: Finding, rule_index: int, report: AuditReport, base_dir: Path) -> dict[str, Any]:
    result: dict[str, Any] = {"ruleId": finding.check, "ruleIndex": rule_index}
    if finding.status == Status.unknown:
        result["kind"], result["level"] = "open", "none"
    else:
        result["kind"], result["level"] = "fail", FAIL_LEVEL[finding.severity]
    result["message"] = {"text": message_text(_message(finding))}
    result["locations"] = [_location(finding, report, base_dir)]
    subject = finding.subject.right if finding.subject is not None and finding.subject.right else None
    # one finding per right shares check and target (an OU, AdminSDHolder): the subject keeps their alerts apart
    target = f"{finding.target}\0{subject}" if subject else finding.target
    result["partialFingerprints"] = {FINGERPRINT_KEY: fingerprint(finding.check, target)}
    if finding.status == Status.waived and finding.waiver is not None:
        result["suppressions"] = [{"kind": "external", "status": "accepted",
                                   "justification": waiver_text(finding.waiver)}]
    result["properties"] = _revealed({
        "status": finding.status.value,
        "severity": finding.severity.value,
        "target": finding.target,
        "expected": finding.expected,
        "actual": finding.actual,
        "evidence": [e.model_dump(mode="json") for e in finding.evidence],
        "waiver": finding.waiver.model_dump(mode="json") if finding.waiver else None,
    })
    return result


def _section_result(section: SectionFacts, rule_index: int, report: AuditReport, base_dir: Path) -> dict[str, Any]:
    rule_id = _section_rule_id(section.key)
    where = section.location
    physical: dict[str, Any] = {"artifactLocation": _artifact(where.file if where else report.policy_file, base_dir)}
    if where is not None:  # a key the file does not declare has no line: the result is on the file
        physical["region"] = {"startLine": max(where.line, 1), "startColumn": max(where.column, 1)}
    logical = {"name": section.policy_key, "fullyQualifiedName": f"{rule_id}/{section.policy_key}",
               "kind": "resource"}
    return {
        "ruleId": rule_id,
        "ruleIndex": rule_index,
        "kind": "informational",
        "level": SECTION_LEVEL,
        "message": {"text": message_text(section.summary)},
        "locations": [{"physicalLocation": physical, "logicalLocations": [_revealed(logical)]}],
        # one result per section and run: its identity is the section and its policy key, never a figure
        "partialFingerprints": {FINGERPRINT_KEY: fingerprint(rule_id, section.policy_key)},
        "properties": _revealed({"section": section.key, "target": section.policy_key,
                                 "facts": dict(section.facts)}),
    }


def _revealed(value: Any) -> Any:
    """Every string in `value` with hidden characters revealed (tenant text reaches code-scanning UIs)."""
    from auditor.text import reveal_hidden

    if isinstance(value, str):
        return reveal_hidden(value)
    if isinstance(value, dict):  # keys too: a fact's name can hold an OU's DN
        return {_revealed(k): _revealed(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_revealed(v) for v in value]
    return value


def message_text(text: str) -> str:
    """`text` as a SARIF plain-text message that says only what it says: hidden characters revealed (a
    code-scanning UI shows bidi overrides as they are), then every `\\`, `[` and `]` escaped with a backslash.
    A plain-text message may embed links, `[text](N)` to a location or `[text](uri)` (SARIF 2.1.0 §3.11.6,
    https://docs.oasis-open.org/sarif/sarif/v2.1.0/sarif-v2.1.0.html), and a viewer
    turns them into links and unescapes `\\[`, `\\]` and `\\\\` back to the text (GitHub's CodeQL extension:
    `unescapeSarifText` in github/vscode-codeql extensions/ql-vscode/src/common/sarif-utils.ts): so a tenant's
    name such as `[sign in](https://evil.example)` is shown as written, never as a link."""
    from auditor.text import reveal_hidden

    return _SARIF_SPECIAL.sub(r"\\\g<0>", reveal_hidden(text))


_SARIF_SPECIAL = re.compile(r"[\\\[\]]")


def _message(finding: Finding) -> str:
    where = f" ({finding.target})" if finding.target else ""
    if finding.status == Status.unknown:
        return f"Unknown: {finding.title}{where} could not be checked: {describe(finding)}."
    parts = [f"{finding.title}{where}: {describe(finding)}."]
    if finding.expected is not None or finding.actual is not None:
        parts.append(f"Expected {value_text(finding.expected) or '(none)'}, "
                     f"found {value_text(finding.actual) or '(none)'}.")
    if finding.waiver is not None:
        parts.append(waiver_text(finding.waiver)[:1].upper() + waiver_text(finding.waiver)[1:] + ".")
    return " ".join(parts)


def _location(finding: Finding, report: AuditReport, base_dir: Path) -> dict[str, Any]:
    loc = finding.policy_location
    file, line, column = (loc.file, loc.line, loc.column) if loc else (report.policy_file, 1, 1)
    physical = {"artifactLocation": _artifact(file, base_dir),
                "region": {"startLine": max(line, 1), "startColumn": max(column, 1)}}
    logical = {"name": finding.target, "fullyQualifiedName": f"{finding.check}/{finding.target}",
               "kind": "resource"}
    return {"physicalLocation": physical, "logicalLocations": [_revealed(logical)]}


def _artifact(file: str, base_dir: Path) -> dict[str, str]:
    path = Path(file)
    if path.is_absolute():
        try:
            path = path.resolve().relative_to(base_dir.resolve())
        except ValueError:
            return {"uri": path.resolve().as_uri()}
    relative = PurePosixPath(*path.parts) if path.parts else PurePosixPath(file)
    return {"uri": quote(str(relative), safe="/"), "uriBaseId": "%SRCROOT%"}


# ---- the invocation ----------------------------------------------------------------------------


def _invocation(report: AuditReport) -> dict[str, Any]:
    notifications = [
        {"level": "warning", "message": {"text": message_text(warning)}, "descriptor": {"id": "sspr-audit/warning"}}
        for warning in report.warnings
    ]
    notifications += [
        {"level": "warning",
         "message": {"text": message_text(f"could not read {s.name} from {s.source}: {s.error or 'no value'}")},
         "descriptor": {"id": "sspr-audit/unreadable-section"}}
        for s in report.sections if not s.readable
    ]
    invocation: dict[str, Any] = {
        "executionSuccessful": True,
        "exitCode": report.summary.exit_code,
        "endTimeUtc": report.generated_at.isoformat().replace("+00:00", "Z"),
    }
    if notifications:
        invocation["toolExecutionNotifications"] = notifications
    return invocation
