"""Golden cases for the cloud checks: for each check id, a (policy, snapshot) that passes and one that fails.

The baseline policy is `policies/baseline.yaml`; `compliant_snapshot()` matches it. Each case
changes one live value (or one policy value) from there.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from auditor.policy.loader import load_policy
from auditor.policy.models import Policy
from auditor.snapshot.models import (
    AuthorizationPolicyState,
    MethodConfiguration,
    MethodsPolicyState,
    OnPremisesWritebackState,
    Section,
    Snapshot,
    SsprPolicyState,
    SyncFeaturesState,
)

BASELINE = Path(__file__).resolve().parents[2] / "policies" / "baseline.yaml"
Case = Callable[[], tuple[Policy, Snapshot]]


def baseline_policy() -> Policy:
    return load_policy(BASELINE)


def compliant_sspr() -> SsprPolicyState:
    return SsprPolicyState(
        enablement="all", methods_required=2, mobile_app_notification=True, mobile_app_code=True, email=True,
        mobile_phone=True, office_phone=False, security_questions=False, questions_to_register=3,
        questions_to_reset=3, registration_required_on_sign_in=True, reconfirm_days=180, notify_users=True,
        notify_admins=True, customize_helpdesk=False, helpdesk_email_or_url=None, skip_registration_allowed=True,
        skip_registration_max_days=7, registration_ca_policies=0, chosen_questions=[],
    )


def compliant_methods(state: str = "migrationComplete") -> MethodsPolicyState:
    def config(method_id: str, on: bool, **extra: Any) -> MethodConfiguration:
        return MethodConfiguration(id=method_id, state="enabled" if on else "disabled",
                                   include_target_ids=["all_users"] if on else [], **extra)

    return MethodsPolicyState(migration_state=state, configurations=[
        config("MicrosoftAuthenticator", True), config("SoftwareOath", True), config("Email", True),
        config("Sms", True), config("Voice", True, is_office_phone_allowed=False), config("Fido2", True),
        config("TemporaryAccessPass", False),
    ], registration_campaign_state="enabled")  # the baseline's methods_policy.registration_campaign


def compliant_snapshot(**overrides: Any) -> Snapshot:
    sections: dict[str, Any] = {
        "authorization_policy": Section[AuthorizationPolicyState].ok(
            "graph:GET /policies/authorizationPolicy", AuthorizationPolicyState(allowed_to_use_sspr=False)),
        "methods_policy": Section[MethodsPolicyState].ok(
            "graph:GET /policies/authenticationMethodsPolicy", compliant_methods()),
        "sync_features": Section[SyncFeaturesState].ok(
            "graph:GET /directory/onPremisesSynchronization", SyncFeaturesState(password_writeback_enabled=True)),
        "sspr_policy": Section[SsprPolicyState].ok("portal:GET /PasswordReset/PasswordResetPolicies",
                                                   compliant_sspr()),
        "onprem_writeback": Section[OnPremisesWritebackState].ok(
            "portal:GET /PasswordReset/OnPremisesPasswordResetPolicies",
            OnPremisesWritebackState(writeback_enabled=True, writeback_supported=True, unlock_enabled=True,
                                     unlock_supported=True)),
    }
    sections.update(overrides)
    return Snapshot(tool_version="test", origin="test", **sections)


def with_sspr(**changes: Any) -> Snapshot:
    value = compliant_sspr().model_copy(update=changes)
    return compliant_snapshot(sspr_policy=Section[SsprPolicyState].ok("portal:test", value))


def with_onprem(**changes: Any) -> Snapshot:
    value = OnPremisesWritebackState(writeback_enabled=True, writeback_supported=True, unlock_enabled=True,
                                     unlock_supported=True).model_copy(update=changes)
    return compliant_snapshot(onprem_writeback=Section[OnPremisesWritebackState].ok("portal:test", value))


def policy_with(**sspr_changes: Any) -> Policy:
    base = baseline_policy()
    assert base.sspr is not None
    data = base.model_dump()
    data["sspr"].update(sspr_changes)
    return Policy.model_validate(data)


def email_for_pilot_only(*, phones: bool = True) -> Snapshot:
    """Scope all over the coverage cases' users; Email targets only the pilot group (5 of the 10 members), so
    whom it reaches needs the group's members and the users (scope_groups, cloud_users)."""
    from auditor.snapshot.tenant import ScopeGroup, ScopeGroupsState
    from tests.unit.cases_coverage import PILOT, USERS, coverage_snapshot

    configurations = [c.model_copy(update={"include_target_ids": [PILOT]}) if c.id == "Email"
                      else c.model_copy(update={"state": "disabled"}) if c.id in ("Sms", "Voice") and not phones
                      else c for c in compliant_methods().configurations]
    groups = ScopeGroupsState(groups=[ScopeGroup(query=PILOT, why=["methods"], found=True, id=PILOT,
                                                 display_name="SSPR-Pilot", user_ids=[u.id for u in USERS[:5]])])
    return coverage_snapshot(
        methods_policy=Section[MethodsPolicyState].ok(
            "graph:GET /policies/authenticationMethodsPolicy",
            compliant_methods().model_copy(update={"configurations": configurations})),
        scope_groups=Section[ScopeGroupsState].ok("graph:GET /groups/{id}/transitiveMembers", groups))


def _ok(snapshot_factory: Callable[[], Snapshot]) -> Case:
    return lambda: (baseline_policy(), snapshot_factory())


CASES: dict[str, dict[str, Case]] = {
    "sspr.scope": {
        "pass": _ok(compliant_snapshot),
        "fail": _ok(lambda: with_sspr(enablement="selected", group_ids=["7f3c2a10-5b6d-4e8f-9a1b-2c3d4e5f6a7b"])),
    },
    "sspr.gates": {"pass": _ok(compliant_snapshot), "fail": _ok(lambda: with_sspr(methods_required=1))},
    "sspr.methods": {"pass": _ok(compliant_snapshot),
                     "fail": _ok(lambda: with_sspr(security_questions=True)),
                     "fail: a targeted method": lambda: (baseline_policy(), email_for_pilot_only())},
    "sspr.methods_available": {
        "pass": _ok(compliant_snapshot),
        # only the Authenticator app is left (notification and code count once): one method, two needed
        "fail": _ok(lambda: compliant_snapshot(methods_policy=Section[MethodsPolicyState].ok(
            "graph:test", compliant_methods().model_copy(update={"configurations": [
                c.model_copy(update={"state": "disabled"}) if c.id in ("Email", "Sms", "Voice") else c
                for c in compliant_methods().configurations]})))),
        # email reaches only the pilot group: the users outside it are offered the app alone
        "fail: a targeted method": lambda: (baseline_policy(), email_for_pilot_only(phones=False)),
    },
    "sspr.security_questions": {
        "pass": lambda: (policy_with(methods={**baseline_policy().sspr.methods.model_dump(),  # type: ignore[union-attr]
                                              "security_questions": True},
                                     security_questions={"number_to_register": 5, "number_to_reset": 3}),
                         with_sspr(security_questions=True, questions_to_register=5)),
        "fail": lambda: (policy_with(methods={**baseline_policy().sspr.methods.model_dump(),  # type: ignore[union-attr]
                                              "security_questions": True},
                                     security_questions={"number_to_register": 5, "number_to_reset": 3}),
                         with_sspr(security_questions=True, questions_to_register=3)),
    },
    "sspr.registration": {"pass": _ok(compliant_snapshot), "fail": _ok(lambda: with_sspr(reconfirm_days=0))},
    "sspr.notify_users": {"pass": _ok(compliant_snapshot), "fail": _ok(lambda: with_sspr(notify_users=False))},
    "sspr.notify_admins": {"pass": _ok(compliant_snapshot), "fail": _ok(lambda: with_sspr(notify_admins=False))},
    "sspr.helpdesk": {"pass": _ok(compliant_snapshot),
                      "fail": _ok(lambda: with_sspr(customize_helpdesk=True,
                                                    helpdesk_email_or_url="https://help.example"))},
    "writeback.enabled": {"pass": _ok(compliant_snapshot), "fail": _ok(lambda: with_onprem(writeback_enabled=False))},
    "writeback.unlock": {"pass": _ok(compliant_snapshot), "fail": _ok(lambda: with_onprem(unlock_enabled=False))},
    "admin_sspr": {
        "pass": _ok(compliant_snapshot),
        "fail": _ok(lambda: compliant_snapshot(authorization_policy=Section[AuthorizationPolicyState].ok(
            "graph:test", AuthorizationPolicyState(allowed_to_use_sspr=True)))),
    },
    "methods_policy.migration": {
        "pass": _ok(compliant_snapshot),
        "fail": _ok(lambda: compliant_snapshot(methods_policy=Section[MethodsPolicyState].ok(
            "graph:test", compliant_methods("migrationInProgress")))),
    },
}
