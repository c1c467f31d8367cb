"""Issue 30: the methods policy read as Microsoft documents it, on real tenant captures.

- SSPR's "Mobile app code" is offered by Microsoft Authenticator only when its `isSoftwareOathEnabled` is true
  ("Use of OTP from Microsoft Authenticator is controlled by the Allow use of Microsoft Authenticator OTP
  control", learn.microsoft.com/entra/identity/authentication/how-to-authentication-methods-manage), or by an
  enabled SoftwareOath configuration. Both real captures (cli-microsoft365's development tenant, CISA
  ScubaGear's test tenant; tests/fixtures/real/SOURCES.md) have the app enabled with the flag false and
  SoftwareOath disabled: the code is not offered through the methods policy.
- A target of `targetType: user` is that user ("id: Object Id of a Microsoft Entra user or group",
  learn.microsoft.com/graph/api/resources/authenticationmethodtarget), never a group to look up.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from auditor.checks.base import Status
from auditor.checks.registry import run_checks
from auditor.derive.sspr_methods import (
    carries,
    group_members_map,
    reach,
    target_group_ids,
    undetermined,
)
from auditor.export import _method
from auditor.readers.graph import _method_configuration
from auditor.snapshot.models import MethodConfiguration, MethodsPolicyState, Section, SsprPolicyState
from tests.unit.cases_cloud import baseline_policy, compliant_snapshot, compliant_sspr

REAL = Path(__file__).resolve().parents[1] / "fixtures" / "real" / "graph"
USERS = frozenset({"u1", "u2", "u3"})


def camel(value: Any) -> Any:
    """The Graph wire names from the PowerShell SDK's PascalCase ones (IsSoftwareOathEnabled → isSoftwareOathEnabled,
    IncludeTargets@odata.context → includeTargets@odata.context); values are untouched."""
    if isinstance(value, list):
        return [camel(v) for v in value]
    if isinstance(value, dict):
        return {(k if k.startswith("@") else k[:1].lower() + k[1:]): camel(v) for k, v in value.items()}
    return value


def cli_m365() -> MethodsPolicyState:
    body = json.loads((REAL / "cli-m365-authenticationmethodspolicy.json").read_text())
    return MethodsPolicyState(migration_state=body["policyMigrationState"],
                              configurations=[_method_configuration(c) for c in body[
                                  "authenticationMethodConfigurations"]])


def scubagear() -> tuple[MethodsPolicyState, list[dict[str, Any]]]:
    raw = json.loads((REAL / "scubagear-sample-authentication-method.json").read_text())
    entry = camel(raw[0])
    configs = entry["authentication_method_feature_settings"]
    state = entry["authentication_method_policy"]["policyMigrationState"]
    return MethodsPolicyState(migration_state=state,
                              configurations=[_method_configuration(c) for c in configs]), configs


def legacy_without_code() -> SsprPolicyState:
    return compliant_sspr().model_copy(update={"mobile_app_code": False})


def test_the_real_captures_read_the_apps_code_flag_as_false() -> None:
    for policy in (cli_m365(), scubagear()[0]):
        app = policy.configuration("MicrosoftAuthenticator")
        assert app is not None and app.state == "enabled" and app.is_software_oath_enabled is False
        assert policy.configuration("SoftwareOath").state == "disabled"  # type: ignore[union-attr]
        assert carries("mobile_app_notification", app) and not carries("mobile_app_code", app)
        assert reach("mobile_app_code", policy, USERS, {}).users == frozenset()
        assert reach("mobile_app_notification", policy, USERS, {}).users == USERS


def test_sspr_methods_fails_the_apps_code_on_the_real_captures() -> None:
    """main passed `mobile_app_code` here: an enabled Authenticator counted as offering the code."""
    for policy in (cli_m365(), scubagear()[0]):
        assert policy.migration_state == "migrationInProgress"
        snapshot = compliant_snapshot(
            methods_policy=Section[MethodsPolicyState].ok("graph:GET /policies/authenticationMethodsPolicy", policy),
            sspr_policy=Section[SsprPolicyState].ok("portal:test", legacy_without_code()))
        found = {(f.check, f.target): f for f in run_checks(baseline_policy(), snapshot)}
        code = found[("sspr.methods", "mobile_app_code")]
        assert code.status == Status.failed, code
        shown = code.evidence[0].value["MicrosoftAuthenticator"]
        assert shown["isSoftwareOathEnabled"] is False and "isSoftwareOathEnabled" in code.evidence[0].field
        assert found[("sspr.methods", "mobile_app_notification")].status == Status.passed


def test_the_export_says_the_apps_code_is_off_on_a_real_capture() -> None:
    leaf = _method("mobile_app_code", "migrationComplete", legacy_without_code(), "portal", cli_m365(), "graph")
    assert leaf.value is False and "isSoftwareOathEnabled" in leaf.source
    on = cli_m365().model_copy(update={"configurations": [
        c.model_copy(update={"is_software_oath_enabled": True}) for c in cli_m365().configurations]})
    assert _method("mobile_app_code", "migrationComplete", legacy_without_code(), "portal", on, "graph").value is True


def test_an_absent_flag_is_unknown_never_false() -> None:
    body = json.loads((REAL / "cli-m365-authenticationmethodspolicy.json").read_text())
    for config in body["authenticationMethodConfigurations"]:
        config.pop("isSoftwareOathEnabled", None)
    policy = MethodsPolicyState(migration_state="migrationComplete",
                                configurations=[_method_configuration(c) for c in body[
                                    "authenticationMethodConfigurations"]])
    assert undetermined("mobile_app_code", policy) is not None
    snapshot = compliant_snapshot(
        methods_policy=Section[MethodsPolicyState].ok("graph:GET /policies/authenticationMethodsPolicy", policy))
    found = {(f.check, f.target): f for f in run_checks(baseline_policy(), snapshot)}
    code = found[("sspr.methods", "mobile_app_code")]
    assert code.status == Status.unknown and "isSoftwareOathEnabled" in code.reason
    leaf = _method("mobile_app_code", "migrationComplete", compliant_sspr(), "portal", policy, "graph")
    assert leaf.value is None and leaf.absent and "isSoftwareOathEnabled" in leaf.absent


def enabled_sms(include: list[dict[str, Any]], exclude: list[dict[str, Any]]) -> MethodConfiguration:
    """ScubaGear's real Sms configuration (a `user` include target), enabled, with the given targets."""
    _, configs = scubagear()
    sms = next(c for c in configs if c["id"] == "Sms")
    return _method_configuration({**sms, "state": "enabled", "includeTargets": include, "excludeTargets": exclude})


def test_a_user_include_target_reaches_that_user_and_is_not_a_group() -> None:
    _, configs = scubagear()
    real = next(c for c in configs if c["id"] == "Sms")["includeTargets"]
    user_id = real[0]["id"].lower()
    assert real[0]["targetType"] == "user"
    sms = enabled_sms(real, [])
    policy = MethodsPolicyState(migration_state="migrationComplete", configurations=[sms])
    assert target_group_ids(policy) == []  # never looked up as a group (main did, and got a 404)
    # what main made of the 404: a deleted group that reaches nobody
    main_members = group_members_map([type("G", (), {"id": user_id, "found": False, "error": None})()])
    assert reach("mobile_phone", policy, USERS | {user_id}, main_members).users == {user_id}


def test_a_user_exclude_target_excludes_that_user() -> None:
    user = {"targetType": "user", "id": "U2", "isRegistrationRequired": False}
    sms = enabled_sms([{"targetType": "group", "id": "all_users", "isRegistrationRequired": False}], [user])
    policy = MethodsPolicyState(migration_state="migrationComplete", configurations=[sms])
    main_members = group_members_map([type("G", (), {"id": "u2", "found": False, "error": None})()])
    assert reach("mobile_phone", policy, USERS, main_members).users == USERS - {"u2"}


def test_an_unrecognised_target_type_is_unknown() -> None:
    odd = {"targetType": "unknownFutureValue", "id": "x1"}
    sms = enabled_sms([odd], [])
    policy = MethodsPolicyState(migration_state="migrationComplete", configurations=[sms])
    try:
        reach("mobile_phone", policy, USERS, {})
    except Exception as exc:  # TargetsUnread: never guessed
        assert "unknownFutureValue" in str(exc)
    else:
        raise AssertionError("an unrecognised targetType was guessed")
