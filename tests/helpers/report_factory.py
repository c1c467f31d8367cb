"""Builders of realistic `AuditReport` objects for renderer and CLI tests.

`realistic_report()` holds one finding or more of every status, a waived failure and a
failure whose waiver has expired, an unreadable data source, and evidence, policy locations
and fixes shaped like the real checks'. `hostile_report()` puts attacker-controlled strings
everywhere a tenant or policy can put text. `parse_html()` reads a rendered page back into
its elements and visible text, for assertions that do not depend on the markup's layout.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from html.parser import HTMLParser
from typing import Any

from auditor.checks.base import Evidence, Finding, Severity, Status, WaiverNote
from auditor.checks.exit_codes import Summary, exit_code
from auditor.policy.models import Location
from auditor.report import AuditReport, ReportSummary, SectionStatus

POLICY_FILE = "policies/baseline.yaml"
SNAPSHOT_AT = datetime(2025, 3, 14, 9, 26, 53, tzinfo=UTC)
GENERATED_AT = datetime(2025, 3, 14, 9, 30, 0, tzinfo=UTC)
PORTAL_SSPR = "portal:GET /PasswordResetPolicies"
PORTAL_ONPREM = "portal:GET /OnPremisesPasswordResetPolicies"
GRAPH_AUTHZ = "graph:GET /policies/authorizationPolicy"
GRAPH_METHODS = "graph:GET /policies/authenticationMethodsPolicy"
PORTAL_FIX_GATES = ("Entra admin center > Protection > Password reset > Authentication methods > "
                    "Number of methods required to reset")
GRAPH_FIX_ADMIN = ('PATCH https://graph.microsoft.com/v1.0/policies/authorizationPolicy\n'
                   '{"allowedToUseSSPR": false}')
POWERSHELL_FIX_ADMIN = ("Update-MgPolicyAuthorizationPolicy -AllowedToUseSspr:$false")


def at(line: int, key: str, column: int = 3) -> Location:
    return Location(file=POLICY_FILE, line=line, column=column, key=key)


def finding(check: str, status: Status, severity: Severity = Severity.medium, **fields: Any) -> Finding:
    """A finding with a title and a portal fix unless given."""
    fields.setdefault("title", f"{check} is as the policy says")
    fields.setdefault("target", "tenant")
    fields.setdefault("fix", {"portal": f"Entra admin center > Protection > Password reset ({check})"})
    return Finding(check=check, status=status, severity=severity, **fields)


def realistic_findings() -> list[Finding]:
    return [
        finding(
            "sspr.scope", Status.failed, Severity.high,
            title="SSPR is enabled for the intended users",
            expected={"scope": "selected", "group": "SSPR-Pilot"}, actual={"scope": "all", "group": None},
            evidence=[Evidence(source=PORTAL_SSPR, field="enablementType", value=2)],
            policy_location=at(4, "sspr.scope"),
            reason="SSPR is enabled for all users, the policy asks for the group SSPR-Pilot",
        ),
        finding(
            "sspr.gates", Status.failed, Severity.high,
            title="A password reset needs the required number of verification methods",
            expected=2, actual=1,
            evidence=[Evidence(source=PORTAL_SSPR, field="numberOfAuthenticationMethodsRequired", value=1)],
            policy_location=at(7, "sspr.methods_required"),
            reason="the number of methods required is 1, the policy asks for 2",
            fix={"portal": PORTAL_FIX_GATES},
        ),
        finding(
            "sspr.methods", Status.failed, Severity.medium,
            title="Only the intended verification methods are offered",
            expected=["mobile_app_notification", "mobile_app_code", "email", "mobile_phone"],
            actual=["mobile_app_notification", "mobile_app_code", "email", "mobile_phone", "security_questions"],
            evidence=[Evidence(source=PORTAL_SSPR, field="securityQuestionsEnabled", value=True)],
            policy_location=at(8, "sspr.methods"),
            reason="security_questions is offered but the policy does not enable it",
        ),
        finding(
            "sspr.notify_admins", Status.failed, Severity.medium,
            title="All admins are notified when another admin resets their password",
            expected=True, actual=False,
            evidence=[Evidence(source=PORTAL_SSPR, field="notifyOnAdminPasswordReset", value=False)],
            policy_location=at(21, "sspr.notifications.notify_admins", 5),
            reason="admin notification is off, the policy asks for on",
            waiver=WaiverNote(reason="Mail relay migration", owner="secops@contoso.example",
                              ticket="https://tickets.contoso.example/CHG-0815",
                              expires=date(2024, 12, 31), expired=True),
        ),
        finding(
            "admin_sspr", Status.unknown, Severity.high,
            title="Administrators cannot use SSPR as the policy says",
            expected=False,
            evidence=[Evidence(source=GRAPH_AUTHZ, field="(section)")],
            policy_location=at(30, "admin_sspr.allowed"),
            reason=f"{GRAPH_AUTHZ}: 403 Forbidden (Policy.Read.All not granted)",
            fix={"portal": "Entra admin center > Protection > Password reset",
                 "graph": GRAPH_FIX_ADMIN, "powershell": POWERSHELL_FIX_ADMIN},
        ),
        finding(
            "writeback.unlock", Status.waived, Severity.low,
            title="Users can unlock their on-premises account without resetting their password",
            target="Entra Connect writeback", expected=True, actual=False,
            evidence=[Evidence(source=PORTAL_ONPREM, field="accountUnlockEnabled", value=False)],
            policy_location=at(36, "writeback.unlock"),
            reason="account unlock is off, the policy asks for on",
            waiver=WaiverNote(reason="Unlock waits for the change advisory board", owner="iam-team",
                              ticket="CHG-1042", expires=date(2099, 6, 30), expired=False),
        ),
        finding(
            "sspr.helpdesk", Status.passed, Severity.low,
            title="The SSPR helpdesk link points where the policy says", target="helpdesk target",
            expected="https://help.contoso.example/sspr", actual="https://help.contoso.example/sspr",
            evidence=[Evidence(source=PORTAL_SSPR, field="customHelpdeskEmailOrUrl",
                               value="https://help.contoso.example/sspr")],
            policy_location=at(26, "sspr.helpdesk.email_or_url", 5),
        ),
        finding(
            "writeback.enabled", Status.passed, Severity.high,
            title="Password writeback to on-premises Active Directory is enabled",
            target="Entra Connect writeback", expected=True, actual=True,
            evidence=[Evidence(source=PORTAL_ONPREM, field="enablementForTenant", value=True),
                      Evidence(source=PORTAL_ONPREM, field="passwordWritebackSupported", value=True)],
            policy_location=at(35, "writeback.enabled"),
        ),
        finding(
            "methods_policy.migration", Status.passed, Severity.medium,
            title="Authentication methods are managed in the converged methods policy",
            expected="migrationComplete", actual="migrationComplete",
            evidence=[Evidence(source=GRAPH_METHODS, field="policyMigrationState", value="migrationComplete")],
            policy_location=at(33, "methods_policy.migration_state"),
        ),
        finding(
            "sspr.security_questions", Status.not_applicable, Severity.low,
            title="Security questions are configured as the policy says",
            reason="the policy does not enable security questions",
            policy_location=at(8, "sspr.methods"),
        ),
        finding(
            "ad.acl.writeback_rights", Status.not_applicable, Severity.critical,
            title="The sync account holds the writeback rights on every target OU",
            reason="the policy declares no `directory` section",
        ),
    ]


def realistic_sections() -> list[SectionStatus]:
    return [
        SectionStatus(name="authorization_policy", source=GRAPH_AUTHZ, collected_at=SNAPSHOT_AT, readable=False,
                      error="403 Forbidden (Policy.Read.All not granted)"),
        SectionStatus(name="methods_policy", source=GRAPH_METHODS, collected_at=SNAPSHOT_AT, readable=True),
        SectionStatus(name="sspr_policy", source=PORTAL_SSPR, collected_at=SNAPSHOT_AT, readable=True),
        SectionStatus(name="onprem_writeback", source=PORTAL_ONPREM, collected_at=SNAPSHOT_AT, readable=True),
    ]


def summarize(findings: list[Finding], fail_on: Severity = Severity.low) -> ReportSummary:
    counts = Summary.of(findings)
    return ReportSummary(total=counts.total, by_status=counts.by_status,
                         failed_by_severity=counts.failed_by_severity,
                         exit_code=int(exit_code(findings, fail_on)))


def build_report(findings: list[Finding] | None = None, **overrides: Any) -> AuditReport:
    """An `AuditReport` of `findings` (the realistic set by default) with a matching summary."""
    findings = realistic_findings() if findings is None else findings
    fields: dict[str, Any] = {
        "tool_version": "0.1.0",
        "generated_at": GENERATED_AT,
        "policy_file": POLICY_FILE,
        "origin": "lab:demo",
        "snapshot_created_at": SNAPSHOT_AT,
        "sections": realistic_sections(),
        "summary": summarize(findings),
        "findings": findings,
    }
    fields.update(overrides)
    return AuditReport(**fields)


def realistic_report() -> AuditReport:
    return build_report()


SCRIPT_TAG = "<script>alert(1)</script>"
ATTRIBUTE_BREAKOUT = '" onmouseover="alert(1)'
JAVASCRIPT_URL = "javascript:alert(1)"
RIGHT_TO_LEFT_OVERRIDE = "\u202e"
SPOOFED_NAME = f"invoice{RIGHT_TO_LEFT_OVERRIDE}fdp.exe"
LONG_STRING = "A" * 4_990 + "<b>tail</b>"


def hostile_findings() -> list[Finding]:
    return [
        finding(
            "sspr.helpdesk", Status.failed, Severity.low,
            title="The SSPR helpdesk link points where the policy says",
            target=SCRIPT_TAG, expected="https://help.contoso.example/sspr", actual=JAVASCRIPT_URL,
            evidence=[Evidence(source=PORTAL_SSPR, field="customHelpdeskEmailOrUrl", value=JAVASCRIPT_URL)],
            policy_location=Location(file=f"policies/{SCRIPT_TAG}.yaml", line=26, column=5,
                                     key="sspr.helpdesk.email_or_url"),
            reason=f"the helpdesk target is {JAVASCRIPT_URL}",
        ),
        finding(
            "sspr.scope", Status.failed, Severity.high,
            target=ATTRIBUTE_BREAKOUT, expected={"group": "SSPR-Pilot"},
            actual={"group": ATTRIBUTE_BREAKOUT, SCRIPT_TAG: [SPOOFED_NAME, LONG_STRING]},
            evidence=[Evidence(source=f"portal:{SCRIPT_TAG}", field=ATTRIBUTE_BREAKOUT, value=SPOOFED_NAME),
                      Evidence(source=PORTAL_SSPR, field="longValue", value=LONG_STRING)],
            reason=LONG_STRING,
            fix={"portal": SCRIPT_TAG, "powershell": f"Set-Thing -Name '{ATTRIBUTE_BREAKOUT}'"},
        ),
        finding(
            "writeback.unlock", Status.waived, Severity.low,
            target=SPOOFED_NAME, expected=True, actual=False,
            waiver=WaiverNote(reason=SCRIPT_TAG, owner=ATTRIBUTE_BREAKOUT, ticket=JAVASCRIPT_URL,
                              expires=date(2099, 1, 1), expired=False),
        ),
    ]


def hostile_report() -> AuditReport:
    findings = hostile_findings()
    sections = [SectionStatus(name="sspr_policy", source=f"portal:{SCRIPT_TAG}", collected_at=SNAPSHOT_AT,
                              readable=False, error='<img src=x onerror="alert(1)">')]
    return build_report(findings, origin=f"lab:{SCRIPT_TAG}", policy_file=SPOOFED_NAME, sections=sections)


@dataclass
class ParsedPage:
    """What a rendered HTML report holds: its elements with their attributes, and its visible text."""

    elements: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    text_parts: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        """All text outside `<style>`, with runs of whitespace collapsed to one space."""
        return " ".join(" ".join(self.text_parts).split())

    def tags(self, name: str) -> list[dict[str, str]]:
        return [attrs for tag, attrs in self.elements if tag == name]

    def attribute_values(self, attribute: str) -> list[str]:
        return [attrs[attribute] for _, attrs in self.elements if attribute in attrs]


class _PageParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.page = ParsedPage()
        self._in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.page.elements.append((tag, {name: value or "" for name, value in attrs}))
        self._in_style = tag == "style"

    def handle_endtag(self, tag: str) -> None:
        if tag == "style":
            self._in_style = False

    def handle_data(self, data: str) -> None:
        if not self._in_style:
            self.page.text_parts.append(data)


def parse_html(html: str) -> ParsedPage:
    parser = _PageParser()
    parser.feed(html)
    parser.close()
    return parser.page
