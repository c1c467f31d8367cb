"""Which compliance-framework controls each check evidences, and a control's status from the findings.

One table, each row with its source. A mapping is listed only when the control's id and title were read
in a public source; `partial` marks a control that covers more (or less) than the check judges, so the
check is evidence for part of it. Researched 2026-12 (notes: the closing note of issue 17):

* CIS Microsoft 365 Foundations Benchmark v7.0.0: ids, sections and descriptions as prowler-cloud/prowler@3e000fa
  `prowler/compliance/m365/cis_7.0_m365.json` reproduces them. v7.0.0 moved the SSPR sub-settings from the Azure
  benchmark into 5.2.4 Password reset (5.2.4.1 enabled for All, 5.2.4.2 two methods, 5.2.4.3 register at sign-in and
  re-confirm, 5.2.4.4 notify users, 5.2.4.5 notify admins) and the smart lockout ones into 5.2.3 Authentication
  Methods (5.2.3.8 threshold, 5.2.3.9 duration), and added 5.2.3.7 (email OTP disabled). That file carries no titles:
  the titles here are CIS's own wording of the same settings where an earlier edition gives it (v3.0.0–v6.0.0 as
  silverhack/monkey365@b7b0497 `rules/rulesets/cis_m365_{3.0,4.0,5.0}.json`, turbot/steampipe-mod-microsoft365-
  compliance@71af692 `cis_v600/section_5.pp`; the Azure titles below), else the description's recommended state.
  Check them against the licensed CIS document.
* CIS Microsoft Azure Foundations Benchmark v4.0.0 (6 Identity Services, 6.5–6.11): prowler-cloud/prowler@3e000fa
  `prowler/compliance/azure/cis_4.0_azure.json` (it spells 6.10 as "6.1", between 6.9 and 6.11). v5.0.0 numbers the
  same controls 5.5–5.11 (`cis_5.0_azure.json`, turbot/steampipe-mod-azure-compliance@464a8ef `cis_v500/
  section_5.pp`); v6.0.0 (`cis_6.0_azure.json`) no longer has them (they moved to M365 v7.0.0 5.2.3/5.2.4).
* EIDSCA: Cloud-Architekt/AzureAD-Attack-Defense@cb1eb1e `config/EidscaConfig.json` (branch AADSCAv4), the
  catalogue Maester generates `Test-MtEidsca*` from.
* CISA ScubaGear 1.8.0 Entra ID baseline: cisagov/ScubaGear@4d34e9a `PowerShell/ScubaGear/baselines/aad.md`.
* CIS Microsoft 365 Foundations Benchmark v7.0.0 keeps 5.2.2.10 "Ensure a managed device is required to register
  security information" in its new section 5.2.2 Conditional Access (Flo-at-Skaylink/ca-policy-analyzer@3632f55
  `src/data/cis-benchmarks.ts`, "Based on CIS Microsoft 365 Foundations Benchmark v7.0.0"; v6.0.0 numbers it the
  same: turbot/steampipe-mod-microsoft365-compliance@71af692 `cis_v600/section_5.pp`, control cis_v600_5_2_2_10).
* SCuBA MS.AAD.3.8v1 "Managed Devices SHOULD be required to register MFA.": cisagov/ScubaGear@4d34e9a
  `PowerShell/ScubaGear/baselines/aad.md`.
* Maester MT.1011 "At least one Conditional Access policy is configured to secure security info registration only
  from a trusted location." (https://maester.dev/docs/tests/MT.1011; the test list of maester365/maester).
* Microsoft Zero Trust Assessment: test 21806 "Secure the MFA registration (My Security Info) page" (passes when
  an enabled Conditional Access policy on urn:user:registersecurityinfo includes All users, whatever its grant):
  microsoft/zerotrustassessment@83a8700 `src/powershell/tests/Test-Assessment.21806.ps1` and `.md`. Its TAP tests
  21845 "Temporary access pass is enabled" and 21846 "Restrict Temporary Access Pass to Single Use" are not mapped:
  registration.temporary_access_pass judges whether TAP reaches in-scope users, not whether it is enabled or
  one-time (it reports isUsableOnce as evidence only).
* Microsoft Secure Score: the control names in a captured live `GET /security/secureScores` and
  `/secureScoreControlProfiles` (rknightion/graph2otel@dfd9ef7 `internal/collectors/entra/securescore/
  securescore_test.go`), and Microsoft Learn "What's new in Microsoft Secure Score".
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from auditor.findings import ControlRef, ControlResult, Finding, Status, worst
from auditor.graph_fields import SSPR_CONTROL

__all__ = ["CONTROLS", "FRAMEWORK_ALIASES", "FRAMEWORK_LABELS", "Framework", "Mapping", "control_results",
           "controls_of"]


class Framework(StrEnum):
    cis_m365 = "cis-m365"
    cis_azure = "cis-azure"
    eidsca = "eidsca"
    scuba = "scuba"
    secure_score = "secure-score"
    maester = "maester"
    zta = "zta"


FRAMEWORK_LABELS = {
    Framework.cis_m365: "CIS Microsoft 365 Foundations Benchmark v7.0.0",
    Framework.cis_azure: "CIS Microsoft Azure Foundations Benchmark v4.0.0",
    Framework.eidsca: "EIDSCA (Entra ID Security Config Analyzer)",
    Framework.scuba: "CISA SCuBA Entra ID baseline (ScubaGear 1.8.0)",
    Framework.secure_score: "Microsoft Secure Score",
    Framework.maester: "Maester (its own Conditional Access tests, MT.10xx)",
    Framework.zta: "Microsoft Zero Trust Assessment (microsoft/zerotrustassessment tests)",
}
FRAMEWORK_ALIASES = {"cis": Framework.cis_m365, **{f.value: f for f in Framework}}


Requirement = Callable[[Any], str | None]
"""What the control asks of the policy: None when the policy asks at least as much, else what it asks instead."""


@dataclass(frozen=True)
class Mapping:
    """A control, the targets of the check's findings that evidence it (None: every finding), and what the
    policy must ask for a passing finding to mean the control is met."""

    control: ControlRef
    targets: frozenset[str] | None = None
    requires: Requirement | None = None


def _c(framework: Framework, control: str, title: str, partial: bool = False,
       targets: tuple[str, ...] | None = None, requires: Requirement | None = None) -> Mapping:
    return Mapping(ControlRef(framework=framework.value, id=control, title=title, partial=partial),
                   frozenset(targets) if targets is not None else None, requires)


def _asks(key: str, ok: Callable[[Any], bool], wanted: str) -> Requirement:
    """The policy's value at `key` must satisfy `ok`; else say what it asks and what the control wants."""
    def check(policy: Any) -> str | None:
        value = policy.value_at(key)
        if value is None or ok(value):
            return None  # an absent section: its findings say not applicable
        shown = getattr(value, "value", value)
        return f"the policy asks {key}: {str(shown).lower() if isinstance(shown, bool) else shown}; " \
               f"the control wants {wanted}"
    return check


def _all(*requirements: Requirement) -> Requirement:
    def check(policy: Any) -> str | None:
        return next((why for why in (r(policy) for r in requirements) if why), None)
    return check


CIS, AZ, EID, SCUBA, SS = Framework.cis_m365, Framework.cis_azure, Framework.eidsca, Framework.scuba, \
    Framework.secure_score
MAESTER, ZTA = Framework.maester, Framework.zta
WEAK_METHODS = ("mobile_phone", "office_phone")  # SSPR's SMS/voice to a mobile phone, and voice to an office phone
ON_PREM = ("password protection on-premises",)
BANNED_LIST = ("custom banned password list",)
THRESHOLD, DURATION = ("smart lockout threshold",), ("smart lockout duration (seconds)",)
MIGRATED = _asks("methods_policy.migration_state", lambda v: str(getattr(v, "value", v)) == "migrationComplete",
                 "migrationComplete")
BANNED = _asks("password_protection.custom_banned_list", bool, "true")
ON_PREM_ON = _asks("password_protection.on_premises", lambda v: v in ("enforce", "audit"), "enforce (or audit)")
ON_PREM_ENFORCED = _asks("password_protection.on_premises", lambda v: v == "enforce", "enforce")
AT_MOST_10 = _asks("password_protection.lockout_threshold_at_most", lambda v: v <= 10, "at most 10")
AT_LEAST_60 = _asks("password_protection.lockout_duration_seconds_at_least", lambda v: v >= 60, "at least 60")

REGISTER = _all(_asks("sspr.registration.require_on_sign_in", bool, "true"),
                _asks("sspr.registration.reconfirm_days", lambda v: v != 0, "not 0"))
REGISTRATION_DEVICE = _asks("sspr.registration.conditional_access.require",
                            lambda v: v == "compliant_or_joined_device", "compliant_or_joined_device")
REGISTRATION_LOCATION = _asks("sspr.registration.conditional_access.require",
                              lambda v: v == "block_untrusted_locations", "block_untrusted_locations")

CONTROLS: dict[str, tuple[Mapping, ...]] = {
    "sspr.scope": (
        _c(CIS, "5.2.4.1", "Ensure 'Self service password reset enabled' is set to 'All'",
           requires=_asks("sspr.scope", lambda v: str(getattr(v, "value", v)) == "all", "all")),
    ),
    "sspr.gates": (
        _c(CIS, "5.2.4.2", "Ensure 'Number of methods required to reset' is set to '2'",
           requires=_asks("sspr.methods_required", lambda v: v == 2, "2")),
        _c(AZ, "6.5", "Ensure that 'Number of methods required to reset' is set to '2'",
           requires=_asks("sspr.methods_required", lambda v: v == 2, "2")),
    ),
    "sspr.registration": (
        # v7.0.0 asks both halves the check judges: register at sign-in, and re-confirm (not 0 days)
        _c(CIS, "5.2.4.3", "Ensure 'Require users to register when signing in' is 'Yes' and re-confirmation is "
                           "not set to '0'", requires=REGISTER),
        _c(AZ, "6.9", "Ensure that 'Number of days before users are asked to re-confirm their authentication "
                      "information' is not set to '0'", partial=True,  # the check also judges register-at-sign-in
           requires=_asks("sspr.registration.reconfirm_days", lambda v: v != 0, "not 0")),
    ),
    "sspr.notify_users": (
        _c(CIS, "5.2.4.4", "Ensure 'Notify users on password resets?' is set to 'Yes'",
           requires=_asks("sspr.notifications.notify_users", bool, "true")),
        _c(AZ, "6.10", "Ensure that 'Notify users on password resets?' is set to 'Yes'",
           requires=_asks("sspr.notifications.notify_users", bool, "true")),
    ),
    "sspr.notify_admins": (
        _c(CIS, "5.2.4.5", "Ensure 'Notify all admins when other admins reset their password?' is set to 'Yes'",
           requires=_asks("sspr.notifications.notify_admins", bool, "true")),
        _c(AZ, "6.11", "Ensure that 'Notify all admins when other admins reset their password?' is set to 'Yes'",
           requires=_asks("sspr.notifications.notify_admins", bool, "true")),
    ),
    "sspr.methods": (
        # these controls are about the methods as a whole (sign-in too); SSPR's offer is the part judged here
        _c(CIS, "5.2.3.5", "Ensure weak authentication methods are disabled", partial=True, targets=WEAK_METHODS,
           requires=_all(*(_asks(f"sspr.methods.{m}", lambda v: not v, "false") for m in WEAK_METHODS))),
        _c(CIS, "5.2.3.7", "Ensure the email OTP authentication method is disabled", partial=True,
           targets=("email",), requires=_asks("sspr.methods.email", lambda v: not v, "false")),
        _c(SCUBA, "MS.AAD.3.5v2", "The authentication methods SMS, Voice Call, and Email One-Time Passcode (OTP) "
                                  "SHALL be disabled.", partial=True, targets=(*WEAK_METHODS, "email"),
           requires=_all(*(_asks(f"sspr.methods.{m}", lambda v: not v, "false") for m in (*WEAK_METHODS, "email")))),
        _c(EID, "AV01", "Authentication Method - Voice call - State", partial=True, targets=WEAK_METHODS,
           requires=_all(*(_asks(f"sspr.methods.{m}", lambda v: not v, "false") for m in WEAK_METHODS))),
    ),
    "admin_sspr": (
        _c(EID, "AP01", "Default Authorization Settings - Enabled Self service password reset for administrators",
           requires=_asks("admin_sspr.allowed", lambda v: not v, "false")),
    ),
    "methods_policy.migration": (
        _c(EID, "AG01", "Authentication Method - General Settings - Manage migration", requires=MIGRATED),
        _c(SCUBA, "MS.AAD.3.4v1", "The Authentication Methods Manage Migration feature SHALL be set to Migration "
                                  "Complete.", requires=MIGRATED),
    ),
    "password_protection": (
        _c(CIS, "5.2.3.2", "Ensure custom banned passwords lists are used", targets=BANNED_LIST, requires=BANNED),
        _c(CIS, "5.2.3.3", "Ensure password protection is enabled for on-prem Active Directory", targets=ON_PREM,
           requires=ON_PREM_ON),
        _c(CIS, "5.2.3.8", "Ensure the account 'Lockout threshold' is less than or equal to '10'",
           targets=THRESHOLD, requires=AT_MOST_10),
        _c(CIS, "5.2.3.9", "Ensure the account 'Lockout duration in seconds' is greater than or equal to '60'",
           targets=DURATION, requires=AT_LEAST_60),
        _c(AZ, "6.6", "Ensure that account 'Lockout threshold' is less than or equal to '10'", targets=THRESHOLD,
           requires=AT_MOST_10),
        _c(AZ, "6.7", "Ensure that account 'Lockout duration in seconds' is greater than or equal to '60'",
           targets=DURATION, requires=AT_LEAST_60),
        _c(AZ, "6.8", "Ensure that a 'Custom banned password list' is set to 'Enforce'", targets=BANNED_LIST,
           requires=BANNED),
        _c(EID, "PR01", "Default Settings - Password Rule Settings - Password Protection - Mode", targets=ON_PREM,
           requires=ON_PREM_ENFORCED),
        _c(EID, "PR02", "Default Settings - Password Rule Settings - Password Protection - Enable password "
                        "protection on Windows Server Active Directory", targets=ON_PREM, requires=ON_PREM_ON),
        _c(EID, "PR03", "Default Settings - Password Rule Settings - Enforce custom list", targets=BANNED_LIST,
           requires=BANNED),
        _c(EID, "PR05", "Default Settings - Password Rule Settings - Smart Lockout - Lockout duration in seconds",
           targets=DURATION, requires=AT_LEAST_60),
        _c(EID, "PR06", "Default Settings - Password Rule Settings - Smart Lockout - Lockout threshold",
           targets=THRESHOLD, requires=AT_MOST_10),
        _c(SS, "aad_custom_banned_passwords", "Ensure custom banned passwords lists are used", targets=BANNED_LIST,
           requires=BANNED),
    ),
    "registration.coverage": (
        _c(CIS, "5.2.3.4", "Ensure all member users are 'MFA capable'", partial=True,  # SSPR-registered ≠ MFA
           requires=_asks("coverage.registration_min_percent", lambda v: v >= 100, "100 (every member)")),
    ),
    "registration.conditional_access": (
        # each control asks for one control on registration (a managed device; a trusted location); the check
        # judges whichever the policy asks, for every in-scope user
        _c(CIS, "5.2.2.10", "Ensure a managed device is required to register security information",
           requires=REGISTRATION_DEVICE),
        _c(SCUBA, "MS.AAD.3.8v1", "Managed Devices SHOULD be required to register MFA.", requires=REGISTRATION_DEVICE),
        _c(MAESTER, "MT.1011", "At least one Conditional Access policy is configured to secure security info "
                               "registration only from a trusted location.", partial=True,  # any one policy
           requires=REGISTRATION_LOCATION),
        # any enabled policy on the user action that includes All users, whatever it grants: the check judges per
        # in-scope user the control the policy asks, so a pass is evidence for it, not the same test
        _c(ZTA, "21806", "Secure the MFA registration (My Security Info) page", partial=True),
    ),
    "secure_score.sspr": (
        _c(SS, SSPR_CONTROL, "Self-service password reset (Secure Score control)",
           requires=_asks("coverage.secure_score_min_percent", lambda v: v >= 100, "100 (the full score)")),
    ),
}


def _targeted(check_id: str) -> frozenset[str]:
    return frozenset(t for m in CONTROLS.get(check_id, ()) if m.targets for t in m.targets)


def controls_of(finding: Finding) -> list[ControlRef]:
    """The controls `finding` evidences: those mapped to its target, or all of its check's when it speaks for the
    whole check (an unknown or not-applicable finding whose target is none of the mapped ones)."""
    mappings = CONTROLS.get(finding.check, ())
    catch_all = finding.target not in _targeted(finding.check)
    return [m.control for m in mappings if m.targets is None or finding.target in m.targets or catch_all]


def control_results(policy: Any, findings: list[Finding]) -> list[ControlResult]:
    """Every mapped control, in framework then control order: the worst status of the findings that evidence it;
    `fail` when they pass but the policy asks for less than the control (a pass against a weaker policy is not the
    control met); `not_applicable` when no finding evidences it (the policy does not ask for that part)."""
    out = []
    for framework in Framework:
        controls: dict[str, tuple[ControlRef, list[Mapping]]] = {}
        for listed in CONTROLS.values():
            for mapping in listed:
                if mapping.control.framework != framework.value:
                    continue
                known = controls.setdefault(mapping.control.id, (mapping.control, []))
                if mapping.control.partial and not known[0].partial:
                    controls[mapping.control.id] = (mapping.control, known[1])
                controls[mapping.control.id][1].append(mapping)
        evidence: dict[str, list[Finding]] = {control_id: [] for control_id in controls}
        for finding in findings:
            for control in finding.controls or controls_of(finding):
                if control.framework == framework.value and control.id in evidence:
                    evidence[control.id].append(finding)
        for control_id in sorted(controls, key=_control_order):
            control, mappings = controls[control_id]
            mapped = evidence[control_id]
            status = worst(f.status for f in mapped)
            note = None if mapped else "no finding evidences it: the policy does not ask for this part"
            weaker = next((why for why in (m.requires(policy) for m in mappings if m.requires) if why), None)
            if weaker and status in (Status.passed, Status.waived):
                status, note = Status.failed, weaker
            elif weaker:
                note = weaker
            checks = sorted({check for check, ms in CONTROLS.items() if any(m in mappings for m in ms)})
            out.append(ControlResult(framework=framework.value, id=control.id, title=control.title,
                                     partial=control.partial, status=status, checks=checks,
                                     findings=len(mapped), failed=sum(1 for f in mapped if f.status.value == "fail"),
                                     note=note))
    return out


def _control_order(control_id: str) -> tuple[object, ...]:
    import re

    return tuple(int(part) if part.isdigit() else part for part in re.split(r"(\d+)", control_id))
