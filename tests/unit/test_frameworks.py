"""Issue 17: each check names the framework controls it evidences; a control's status is judged with what the
policy asks, so a pass against a policy weaker than the control is never reported as the control met."""

from __future__ import annotations

import importlib
import inspect

import pytest

from auditor.checks.frameworks import CONTROLS, Framework, control_results, controls_of
from auditor.checks.registry import all_checks
from auditor.findings import Finding, Severity, Status
from auditor.policy.loader import parse_policy

POLICY = b"""
version: 1
sspr:
  scope: all
  methods_required: 2
  methods: {email: true, mobile_phone: true}
password_protection:
  on_premises: enforce
  lockout_threshold_at_most: 10
  lockout_duration_seconds_at_least: 60
"""


def finding(check: str, target: str, status: Status) -> Finding:
    return Finding(check=check, title=check, status=status, severity=Severity.medium, target=target)


def result(policy_text: bytes, findings: list[Finding], framework: str, control: str) -> object:
    policy = parse_policy(policy_text, "p.yaml")
    found = [r for r in control_results(policy, findings) if r.framework == framework and r.id == control]
    assert len(found) == 1
    return found[0]


def test_every_mapped_check_exists_and_every_target_is_one_its_module_emits() -> None:
    checks = {c.spec.id: c for c in all_checks()}
    assert set(CONTROLS) <= set(checks)
    for check_id, mappings in CONTROLS.items():
        source = inspect.getsource(importlib.import_module(checks[check_id].module))
        methods = {"mobile_app_notification", "mobile_app_code", "email", "mobile_phone", "office_phone"}
        for mapping in mappings:
            for target in mapping.targets or ():
                assert f'"{target}"' in source or target in methods, (check_id, target)  # no typo in a target


def test_a_pass_against_a_weaker_policy_is_not_the_control_met() -> None:
    weaker = POLICY.replace(b"methods_required: 2", b"methods_required: 1")
    gates = [finding("sspr.gates", "tenant", Status.passed)]
    assert result(POLICY, gates, "cis-azure", "6.5").status == Status.passed  # type: ignore[attr-defined]
    judged = result(weaker, gates, "cis-azure", "6.5")
    assert judged.status == Status.failed  # type: ignore[attr-defined]
    assert "sspr.methods_required: 1" in judged.note and "wants 2" in judged.note  # type: ignore[attr-defined]


def test_a_control_draws_only_on_the_findings_of_its_targets() -> None:
    findings = [finding("password_protection", "smart lockout threshold", Status.failed),
                finding("password_protection", "smart lockout duration (seconds)", Status.passed),
                finding("password_protection", "password protection on-premises", Status.passed)]
    assert result(POLICY, findings, "cis-azure", "6.6").status == Status.failed  # type: ignore[attr-defined]
    assert result(POLICY, findings, "cis-azure", "6.7").status == Status.passed  # type: ignore[attr-defined]
    assert result(POLICY, findings, "eidsca", "PR01").status == Status.passed  # type: ignore[attr-defined]
    banned = result(POLICY, findings, "cis-m365", "5.2.3.2")  # the policy does not ask for the banned list
    assert banned.status == Status.not_applicable and "does not ask" in banned.note  # type: ignore[attr-defined]


def test_a_finding_that_speaks_for_the_whole_check_evidences_all_its_controls() -> None:
    unknown = finding("password_protection", "tenant", Status.unknown)
    assert {c.id for c in controls_of(unknown)} == {m.control.id for m in CONTROLS["password_protection"]}
    assert result(POLICY, [unknown], "cis-azure", "6.7").status == Status.unknown  # type: ignore[attr-defined]


@pytest.mark.parametrize("framework", list(Framework))
def test_every_framework_has_controls_with_titles(framework: Framework) -> None:
    controls = [m.control for ms in CONTROLS.values() for m in ms if m.control.framework == framework.value]
    assert controls and all(c.title and c.id for c in controls)


def test_sarif_rules_carry_the_controls_as_tags() -> None:
    from auditor.render.sarif import control_tags

    assert "CIS-M365-5.2.4.1" in control_tags("sspr.scope")
    assert {"EIDSCA-AG01", "SCUBA-MS.AAD.3.4v1"} <= set(control_tags("methods_policy.migration"))
    assert control_tags("writeback.enabled") == []  # no framework control found for writeback (see the note)


# CIS Microsoft 365 Foundations v7.0.0 moved the SSPR sub-settings into 5.2.4 and the smart lockout into 5.2.3, and
# added 5.2.3.7 (email OTP); CIS Azure Foundations v4.0.0 numbers the Azure ones 6.5–6.11
# (prowler-cloud/prowler@3e000fa prowler/compliance/{m365/cis_7.0_m365,azure/cis_4.0_azure}.json)
@pytest.mark.parametrize("check, target, expected", [
    ("sspr.scope", "tenant", {("cis-m365", "5.2.4.1")}),
    ("sspr.gates", "tenant", {("cis-m365", "5.2.4.2"), ("cis-azure", "6.5")}),
    ("sspr.registration", "reconfirm interval", {("cis-m365", "5.2.4.3"), ("cis-azure", "6.9")}),
    ("sspr.notify_users", "tenant", {("cis-m365", "5.2.4.4"), ("cis-azure", "6.10")}),
    ("sspr.notify_admins", "tenant", {("cis-m365", "5.2.4.5"), ("cis-azure", "6.11")}),
    ("password_protection", "smart lockout threshold", {("cis-m365", "5.2.3.8"), ("cis-azure", "6.6"),
                                                        ("eidsca", "PR06")}),
    ("password_protection", "smart lockout duration (seconds)", {("cis-m365", "5.2.3.9"), ("cis-azure", "6.7"),
                                                                 ("eidsca", "PR05")}),
    ("password_protection", "custom banned password list", {("cis-m365", "5.2.3.2"), ("cis-azure", "6.8"),
                                                            ("eidsca", "PR03"),
                                                            ("secure-score", "aad_custom_banned_passwords")}),
    ("sspr.methods", "email", {("cis-m365", "5.2.3.7"), ("scuba", "MS.AAD.3.5v2")}),
])
def test_the_controls_follow_cis_m365_v7_and_cis_azure_v4(check: str, target: str,
                                                         expected: set[tuple[str, str]]) -> None:
    assert {(c.framework, c.id) for c in controls_of(finding(check, target, Status.failed))} == expected


def test_register_and_reconfirm_are_both_what_5_2_4_3_asks() -> None:
    passed = [finding("sspr.registration", "reconfirm interval", Status.passed)]
    policy = POLICY.replace(b"methods_required: 2\n", b"methods_required: 2\n"
                            b"  registration: {require_on_sign_in: false, reconfirm_days: 180}\n")
    judged = result(policy, passed, "cis-m365", "5.2.4.3")
    assert judged.status == Status.failed  # type: ignore[attr-defined]
    assert "require_on_sign_in: false" in judged.note  # type: ignore[attr-defined]
    assert result(policy, passed, "cis-azure", "6.9").status == Status.passed  # type: ignore[attr-defined]


def test_registration_conditional_access_evidences_the_zero_trust_assessment_test() -> None:
    # microsoft/zerotrustassessment@83a8700 src/powershell/tests/Test-Assessment.21806.ps1: any enabled policy on
    # urn:user:registersecurityinfo including All users passes it; the check is stricter, so it is partial evidence
    passing = finding("registration.conditional_access", "tenant", Status.passed)
    [zta] = [c for c in controls_of(passing) if c.framework == "zta"]
    assert zta.id == "21806" and zta.partial and "My Security Info" in zta.title
    assert not any(c.framework == "zta" for c in controls_of(finding("registration.temporary_access_pass", "tenant",
                                                                     Status.passed)))
