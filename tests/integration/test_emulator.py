"""The lab emulator over HTTP: the real msgraph-sdk client (paging, retry middleware, errors),
raw HTTP for the wire details, the portal routes, faults, and the scenarios."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, TypeVar

import httpx
import pytest
from azure.core.credentials import AccessToken
from kiota_abstractions.base_request_configuration import RequestConfiguration
from kiota_authentication_azure.azure_identity_authentication_provider import (
    AzureIdentityAuthenticationProvider,
)
from msgraph import GraphRequestAdapter, GraphServiceClient
from msgraph.generated.models.authentication_method_state import AuthenticationMethodState
from msgraph.generated.models.authentication_methods_policy_migration_state import (
    AuthenticationMethodsPolicyMigrationState,
)
from msgraph.generated.models.authorization_policy import AuthorizationPolicy
from msgraph.generated.models.o_data_errors.o_data_error import ODataError
from msgraph.generated.models.voice_authentication_method_configuration import (
    VoiceAuthenticationMethodConfiguration,
)
from msgraph.generated.policies.authorization_policy.authorization_policy_request_builder import (
    AuthorizationPolicyRequestBuilder,
)
from msgraph.generated.reports.authentication_methods.user_registration_details import (
    user_registration_details_request_builder as registration_builder,
)
from msgraph.generated.users.users_request_builder import UsersRequestBuilder
from msgraph_core import GraphClientFactory
from msgraph_core.tasks.page_iterator import PageIterator
from pydantic import ValidationError

from auditor.lab.emulator import Faults, Paging, create_app, lab_state
from auditor.lab.scenario import Scenario, list_scenarios, load_scenario, scenario_from_mapping
from auditor.lab.server import LabServer

T = TypeVar("T")
BEARER = {"Authorization": "Bearer lab-token"}
SSPR_PILOT = "7f3c2a10-5b6d-4e8f-9a1b-2c3d4e5f6a7b"


class StaticTokenCredential:
    """azure-core's TokenCredential protocol: hands out a fixed token for the lab."""

    def get_token(self, *scopes: str, claims: str | None = None, tenant_id: str | None = None,
                  enable_cae: bool = False, **kwargs: Any) -> AccessToken:
        return AccessToken("lab-token", int(time.time()) + 3600)


def run_with_client(lab: LabServer, work: Callable[[GraphServiceClient, GraphRequestAdapter], Awaitable[T]]) -> T:
    """Build the real SDK client against the lab (as graph.md says) and run `work` with it."""

    async def main() -> T:
        http = GraphClientFactory.create_with_default_middleware(client=httpx.AsyncClient(base_url=lab.graph_url))
        auth = AzureIdentityAuthenticationProvider(
            StaticTokenCredential(), allowed_hosts=["127.0.0.1"],
            scopes=["https://graph.microsoft.com/.default"],
        )
        adapter = GraphRequestAdapter(auth, client=http)
        adapter.base_url = lab.graph_url
        async with http:
            return await work(GraphServiceClient(request_adapter=adapter), adapter)

    return asyncio.run(main())


@pytest.fixture
def demo() -> Iterator[LabServer]:
    with LabServer("demo") as server:
        yield server


@pytest.fixture
def baseline() -> Iterator[LabServer]:
    with LabServer("baseline") as server:
        yield server


def statuses(lab: LabServer, endpoint: str) -> list[int]:
    return [record.status for record in lab.requests(endpoint)]


# --- the SDK reads every Graph surface -------------------------------------------------------


def test_sdk_reads_authorization_policy_with_select(demo: LabServer) -> None:
    async def work(client: GraphServiceClient, _: GraphRequestAdapter) -> AuthorizationPolicy | None:
        query = AuthorizationPolicyRequestBuilder.AuthorizationPolicyRequestBuilderGetQueryParameters(
            select=["allowedToUseSSPR"])
        return await client.policies.authorization_policy.get(
            request_configuration=RequestConfiguration(query_parameters=query))

    policy = run_with_client(demo, work)
    assert policy is not None and policy.allowed_to_use_s_s_p_r is True and policy.id == "authorizationPolicy"
    assert policy.display_name is None  # not selected
    (record,) = demo.requests("authorization_policy")
    assert "%24select=allowedToUseSSPR" in record.query or "$select=allowedToUseSSPR" in record.query


def test_sdk_reads_methods_policy_with_configurations_inline(demo: LabServer) -> None:
    async def work(client: GraphServiceClient, _: GraphRequestAdapter) -> Any:
        return await client.policies.authentication_methods_policy.get()

    policy = run_with_client(demo, work)
    assert policy.policy_migration_state == AuthenticationMethodsPolicyMigrationState.MigrationInProgress
    configs = {c.id: c for c in policy.authentication_method_configurations}
    assert set(configs) == {"Email", "Sms", "Voice", "MicrosoftAuthenticator", "SoftwareOath", "Fido2",
                            "TemporaryAccessPass"}
    voice = configs["Voice"]
    assert isinstance(voice, VoiceAuthenticationMethodConfiguration)
    assert voice.is_office_phone_allowed is True and voice.state == AuthenticationMethodState.Disabled


def test_sdk_reads_directory_sync_collection(demo: LabServer) -> None:
    async def work(client: GraphServiceClient, _: GraphRequestAdapter) -> Any:
        return await client.directory.on_premises_synchronization.get()

    response = run_with_client(demo, work)
    (sync,) = response.value
    assert sync.features.password_sync_enabled is True
    assert sync.features.password_writeback_enabled is False  # documented as not in use


def test_sdk_pages_users_through_next_links(demo: LabServer) -> None:
    select = ["id", "userPrincipalName", "accountEnabled", "onPremisesSyncEnabled", "userType"]

    async def work(client: GraphServiceClient, adapter: GraphRequestAdapter) -> list[Any]:
        query = UsersRequestBuilder.UsersRequestBuilderGetQueryParameters(top=6, select=select)
        first = await client.users.get(request_configuration=RequestConfiguration(query_parameters=query))
        seen: list[Any] = []

        def keep(user: Any) -> bool:  # PageIterator needs a plain function
            seen.append(user)
            return True

        await PageIterator(first, adapter).iterate(keep)
        return seen

    users = run_with_client(demo, work)
    total = len(demo.scenario.users)  # 68: 2 written out, 48 synced from the lab domain, 18 generated
    assert total == 68 and len(users) == total and len({u.id for u in users}) == total
    assert {u.user_type for u in users} == {"Member", "Guest"}
    assert any(u.on_premises_sync_enabled for u in users)
    assert any(u.on_premises_sync_enabled is None for u in users)  # cloud-only: null, not false
    records = demo.requests("users")
    assert [r.status for r in records] == [200] * 12  # 11 pages of 6, then 2
    assert all("skiptoken" in r.query for r in records[1:]) and "skiptoken" not in records[0].query


def test_sdk_reads_registration_details_with_select_and_filter(demo: LabServer) -> None:
    builder = registration_builder.UserRegistrationDetailsRequestBuilder

    async def work(client: GraphServiceClient, _: GraphRequestAdapter) -> Any:
        query = builder.UserRegistrationDetailsRequestBuilderGetQueryParameters(
            filter="isSsprRegistered eq false and isSsprEnabled eq true",
            select=["id", "userPrincipalName", "isSsprRegistered", "isSsprEnabled"],
        )
        details = client.reports.authentication_methods.user_registration_details
        return await details.get(request_configuration=RequestConfiguration(query_parameters=query))

    response = run_with_client(demo, work)
    expected = [r for r in demo.scenario.user_registration_details
                if not r["isSsprRegistered"] and r["isSsprEnabled"]]
    assert len(response.value) == len(expected) == 7  # 3 synced pilot users and 4 generated ones
    for item in response.value:
        assert item.is_sspr_registered is False and item.is_sspr_enabled is True
        assert item.user_principal_name and item.is_admin is None  # not selected
        assert not item.additional_data


def test_sdk_raises_odata_error_for_forbidden_endpoints() -> None:
    faults = Faults(forbidden={"registration_details", "authorization_policy"})
    with LabServer("demo", faults=faults) as lab:
        async def registration(client: GraphServiceClient, _: GraphRequestAdapter) -> Any:
            return await client.reports.authentication_methods.user_registration_details.get()

        async def authorization(client: GraphServiceClient, _: GraphRequestAdapter) -> Any:
            return await client.policies.authorization_policy.get()

        with pytest.raises(ODataError) as premium:
            run_with_client(lab, registration)
        with pytest.raises(ODataError) as denied:
            run_with_client(lab, authorization)
    assert premium.value.response_status_code == 403
    assert premium.value.error.code == "Authentication_RequestFromNonPremiumTenantOrB2CTenant"
    assert denied.value.error.code == "Authorization_RequestDenied"
    assert denied.value.error.inner_error.request_id


def test_retry_middleware_rides_out_429_and_503() -> None:
    faults = Faults(throttle={"methods_policy": 1}, unavailable={"sync": 1})
    with LabServer("demo", faults=faults) as lab:
        async def work(client: GraphServiceClient, _: GraphRequestAdapter) -> tuple[Any, Any]:
            return (await client.policies.authentication_methods_policy.get(),
                    await client.directory.on_premises_synchronization.get())

        policy, sync = run_with_client(lab, work)
        assert policy.id == "authenticationMethodsPolicy" and sync.value
        assert statuses(lab, "methods_policy") == [429, 200]
        assert statuses(lab, "sync") == [503, 200]
        assert lab.faults.throttle == {"methods_policy": 0}


def test_sdk_patches_persist(demo: LabServer) -> None:
    async def work(client: GraphServiceClient, _: GraphRequestAdapter) -> tuple[Any, Any]:
        await client.policies.authorization_policy.patch(AuthorizationPolicy(allowed_to_use_s_s_p_r=False))
        configs = client.policies.authentication_methods_policy.authentication_method_configurations
        await configs.by_authentication_method_configuration_id("Voice").patch(
            VoiceAuthenticationMethodConfiguration(state=AuthenticationMethodState.Enabled,
                                                   is_office_phone_allowed=False))
        return (await client.policies.authorization_policy.get(),
                await configs.by_authentication_method_configuration_id("Voice").get())

    policy, voice = run_with_client(demo, work)
    assert policy.allowed_to_use_s_s_p_r is False
    assert voice.state == AuthenticationMethodState.Enabled and voice.is_office_phone_allowed is False
    assert statuses(demo, "authorization_policy") == [204, 200]
    assert statuses(demo, "method_configuration") == [204, 200]
    assert demo.state.writes_succeeded == 2
    # the scenario object itself is untouched: the app works on a copy
    assert demo.scenario.authorization_policy["allowedToUseSSPR"] is True


def test_fail_writes_after_answers_500_to_later_writes(demo: LabServer) -> None:
    demo.faults = Faults(fail_writes_after=1)

    async def work(client: GraphServiceClient, _: GraphRequestAdapter) -> None:
        await client.policies.authorization_policy.patch(AuthorizationPolicy(allowed_to_use_s_s_p_r=False))
        await client.policies.authorization_policy.patch(AuthorizationPolicy(allowed_to_use_s_s_p_r=True))

    with pytest.raises(ODataError) as failed:
        run_with_client(demo, work)
    assert failed.value.response_status_code == 500 and failed.value.error.code == "generalException"
    assert demo.state.tenant.authorization_policy["allowedToUseSSPR"] is False
    assert statuses(demo, "authorization_policy") == [204, 500]


# --- wire details ---------------------------------------------------------------------------


def test_requests_without_a_bearer_get_401_in_odata_shape(demo: LabServer) -> None:
    for url in (f"{demo.graph_url}/users", f"{demo.portal_url}/PasswordReset/PasswordResetPolicies"):
        response = httpx.get(url, headers={"client-request-id": "c0ffee00-0000-4000-8000-000000000001"})
        assert response.status_code == 401
        error = response.json()["error"]
        assert error["code"] == "InvalidAuthenticationToken" and error["message"]
        assert set(error["innerError"]) == {"date", "request-id", "client-request-id"}
        assert response.headers["request-id"] == error["innerError"]["request-id"]
        assert response.headers["client-request-id"] == "c0ffee00-0000-4000-8000-000000000001"
    assert httpx.get(f"{demo.graph_url}/users", headers={"Authorization": "Basic abc"}).status_code == 401


def test_unknown_routes_and_methods_answer_odata_errors(demo: LabServer) -> None:
    missing = httpx.get(f"{demo.graph_url}/policies/nope", headers=BEARER)
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "NotFound"
    assert "request-id" in missing.headers
    wrong = httpx.delete(f"{demo.graph_url}/users", headers=BEARER)
    assert wrong.status_code == 405 and "error" in wrong.json()


def test_users_default_projection_and_absolute_next_link(demo: LabServer) -> None:
    body = httpx.get(f"{demo.graph_url}/users", params={"$top": "3"}, headers=BEARER).json()
    assert body["@odata.context"] == f"{demo.base_url}/v1.0/$metadata#users"
    assert set(body["value"][0]) == {"businessPhones", "displayName", "givenName", "jobTitle", "mail",
                                     "mobilePhone", "officeLocation", "preferredLanguage", "surname",
                                     "userPrincipalName", "id"}
    link = body["@odata.nextLink"]
    assert link.startswith(f"{demo.base_url}/v1.0/users?") and "$top=3" in link and "$skiptoken=" in link
    page2 = httpx.get(link, headers=BEARER).json()
    assert {u["id"] for u in page2["value"]}.isdisjoint({u["id"] for u in body["value"]})


def test_registration_details_page_size_and_top(demo: LabServer) -> None:
    url = f"{demo.graph_url}/reports/authenticationMethods/userRegistrationDetails"
    whole = httpx.get(url, headers=BEARER).json()
    # disabled users have no record: 68 users, 3 disabled in the lab domain and 1 generated
    assert "@odata.nextLink" not in whole and len(whole["value"]) == 64
    paged = httpx.get(url, params={"$top": "7", "$select": "isSsprCapable"}, headers=BEARER).json()
    assert len(paged["value"]) == 7 and set(paged["value"][0]) == {"id", "isSsprCapable"}


def test_paging_defaults_are_configurable() -> None:
    with LabServer("baseline", paging=Paging(users=8)) as lab:
        body = httpx.get(f"{lab.graph_url}/users", headers=BEARER).json()
    assert len(body["value"]) == 8 and "$skiptoken=" in body["@odata.nextLink"]


@pytest.mark.parametrize(("path", "params", "code"), [
    ("/users", {"$filter": "startswith(displayName,'A')"}, "Request_UnsupportedQuery"),
    ("/users", {"$filter": "accountEnabled eq 'yes'"}, "Request_UnsupportedQuery"),
    ("/users", {"$select": "displayName,shoeSize"}, "BadRequest"),
    ("/users", {"$top": "1000"}, "BadRequest"),
    ("/users", {"$orderby": "displayName"}, "BadRequest"),
    ("/users", {"$skiptoken": "not-a-token"}, "Directory_ExpiredPageToken"),
    ("/reports/authenticationMethods/userRegistrationDetails", {"$filter": "isSsprRegistered ne true"},
     "BadRequest"),
    ("/policies/authorizationPolicy", {"$select": "nope"}, "BadRequest"),
])
def test_unsupported_queries_answer_400(demo: LabServer, path: str, params: dict[str, str], code: str) -> None:
    response = httpx.get(f"{demo.graph_url}{path}", params=params, headers=BEARER)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == code


def test_filters_on_booleans_and_strings(demo: LabServer) -> None:
    url = f"{demo.graph_url}/users"
    guests = httpx.get(url, params={"$filter": "userType eq 'guest'", "$select": "userType"}, headers=BEARER)
    assert [u["userType"] for u in guests.json()["value"]] == ["Guest"]
    synced = httpx.get(url, params={"$filter": "onPremisesSyncEnabled eq true"}, headers=BEARER).json()
    assert len(synced["value"]) == sum(1 for u in demo.scenario.users if u["onPremisesSyncEnabled"])


def test_select_on_single_objects(demo: LabServer) -> None:
    policy = httpx.get(f"{demo.graph_url}/policies/authenticationMethodsPolicy",
                       params={"$select": "policyMigrationState"}, headers=BEARER).json()
    assert {k for k in policy if not k.startswith("@")} == {"id", "policyMigrationState"}
    voice = httpx.get(f"{demo.graph_url}/policies/authenticationMethodsPolicy/authenticationMethodConfigurations/voice",
                      params={"$select": "isOfficePhoneAllowed"}, headers=BEARER).json()
    assert voice["@odata.type"] == "#microsoft.graph.voiceAuthenticationMethodConfiguration"
    assert voice["isOfficePhoneAllowed"] is True and "state" not in voice


def test_configuration_patch_needs_odata_type_and_valid_values(demo: LabServer) -> None:
    url = f"{demo.graph_url}/policies/authenticationMethodsPolicy/authenticationMethodConfigurations/Sms"
    assert httpx.patch(url, json={"state": "disabled"}, headers=BEARER).status_code == 400
    wrong_type = {"@odata.type": "#microsoft.graph.emailAuthenticationMethodConfiguration", "state": "disabled"}
    assert httpx.patch(url, json=wrong_type, headers=BEARER).status_code == 400
    bad_state = {"@odata.type": "#microsoft.graph.smsAuthenticationMethodConfiguration", "state": "off"}
    assert httpx.patch(url, json=bad_state, headers=BEARER).status_code == 400
    good = {"@odata.type": "#microsoft.graph.smsAuthenticationMethodConfiguration", "state": "disabled"}
    assert httpx.patch(url, json=good, headers=BEARER).status_code == 204
    assert demo.state.tenant.method_configuration("sms")["state"] == "disabled"
    assert demo.state.writes_succeeded == 1


def test_patch_rejects_unknown_properties_and_wrong_types(demo: LabServer) -> None:
    url = f"{demo.graph_url}/policies/authorizationPolicy"
    assert httpx.patch(url, json={"allowedToUseSSPR": "no"}, headers=BEARER).status_code == 400
    assert httpx.patch(url, json={"allowedToUseSsprTypo": False}, headers=BEARER).status_code == 400
    assert httpx.patch(url, content=b"[1]", headers=BEARER).status_code == 400
    methods = f"{demo.graph_url}/policies/authenticationMethodsPolicy"
    assert httpx.patch(methods, json={"policyMigrationState": "done"}, headers=BEARER).status_code == 400
    changed = httpx.patch(methods, json={"policyMigrationState": "migrationComplete"}, headers=BEARER)
    assert changed.status_code == 200 and changed.json()["policyMigrationState"] == "migrationComplete"


def test_group_and_members(demo: LabServer) -> None:
    group = httpx.get(f"{demo.graph_url}/groups/{SSPR_PILOT}", headers=BEARER).json()
    assert group["displayName"] == "SSPR-Pilot"
    members = httpx.get(f"{demo.graph_url}/groups/{SSPR_PILOT}/members", params={"$top": "4"},
                        headers=BEARER).json()
    assert len(members["value"]) == 4 and members["value"][0]["@odata.type"] == "#microsoft.graph.user"
    assert "@odata.nextLink" in members


# --- the portal ------------------------------------------------------------------------------


def test_portal_sspr_policy_get_put_round_trip(demo: LabServer) -> None:
    url = f"{demo.portal_url}/PasswordReset/PasswordResetPolicies"
    policy = httpx.get(url, params={"getPasswordResetEnabledGroup": "true"}, headers=BEARER).json()
    assert policy["objectId"] == "default" and policy["enablementType"] == 1
    assert policy["passwordResetEnabledGroupIds"] == [SSPR_PILOT]
    assert policy["registrationReconfirmIntevalInDays"] == 0
    policy.update(numberOfAuthenticationMethodsRequired=2, registrationReconfirmIntevalInDays=180,
                  mobilePhoneOptionAllowed=False)
    put = httpx.put(url, json=policy, headers=BEARER)
    assert put.status_code == 200
    again = httpx.get(url, headers=BEARER).json()
    assert again["numberOfAuthenticationMethodsRequired"] == 2
    assert again["registrationReconfirmIntevalInDays"] == 180
    assert again["mobilePhoneOptionAllowed"] is True  # licensing flags are the service's


def test_portal_sspr_put_validates_the_whole_object(demo: LabServer) -> None:
    url = f"{demo.portal_url}/PasswordReset/PasswordResetPolicies"
    policy = httpx.get(url, headers=BEARER).json()
    without_id = {k: v for k, v in policy.items() if k != "objectId"}
    assert httpx.put(url, json=without_id, headers=BEARER).status_code == 400
    assert httpx.put(url, json=["objectId"], headers=BEARER).status_code == 400
    assert httpx.put(url, json={"objectId": "default", "enablementType": 2}, headers=BEARER).status_code == 400
    assert httpx.put(url, json={**policy, "registrationReconfirmIntevalInDays": 999},
                     headers=BEARER).status_code == 400
    assert httpx.put(url, json={**policy, "numberOfQuestionsToReset": 5, "numberOfQuestionsToRegister": 3},
                     headers=BEARER).status_code == 400
    assert demo.state.tenant.password_reset_policies == policy


def test_portal_onprem_policy_merges_one_field_per_put(demo: LabServer) -> None:
    url = f"{demo.portal_url}/PasswordReset/OnPremisesPasswordResetPolicies"
    before = httpx.get(url, headers=BEARER).json()
    assert before["enablementForTenant"] is True and before["accountUnlockEnabled"] is False
    assert httpx.put(url, json={"accountUnlockEnabled": True}, headers=BEARER).status_code == 200
    after = httpx.get(url, headers=BEARER).json()
    assert after == {**before, "accountUnlockEnabled": True}
    assert httpx.put(url, json={"accountUnlockEnabled": "yes"}, headers=BEARER).status_code == 400
    assert httpx.put(url, json={"surprise": True}, headers=BEARER).status_code == 400


def test_faults_change_at_runtime_and_portal_alias_covers_both_routes(demo: LabServer) -> None:
    sspr = f"{demo.portal_url}/PasswordReset/PasswordResetPolicies"
    onprem = f"{demo.portal_url}/PasswordReset/OnPremisesPasswordResetPolicies"
    assert httpx.get(sspr, headers=BEARER).status_code == 200
    demo.faults = Faults(forbidden={"portal"})
    for url in (sspr, onprem):
        denied = httpx.get(url, headers=BEARER)
        assert denied.status_code == 403 and denied.json()["error"]["code"] == "Authorization_RequestDenied"
    demo.faults.forbidden.clear()
    demo.faults.throttle["portal_onprem"] = 1
    throttled = httpx.get(onprem, headers=BEARER)
    assert throttled.status_code == 429 and throttled.headers["Retry-After"] == "1"
    assert httpx.get(onprem, headers=BEARER).status_code == 200
    demo.faults.latency_ms = 5
    assert httpx.get(sspr, headers=BEARER).status_code == 200
    assert [(r.method, r.path, r.status) for r in demo.requests("portal_onprem")][-2:] == [
        ("GET", "/api/PasswordReset/OnPremisesPasswordResetPolicies", 429),
        ("GET", "/api/PasswordReset/OnPremisesPasswordResetPolicies", 200),
    ]


def test_faults_reject_unknown_endpoint_names() -> None:
    with pytest.raises(ValidationError):
        Faults(forbidden={"userz"})
    with pytest.raises(ValidationError):
        Faults(throttle={"users": -1})
    faults = Faults()
    with pytest.raises(ValidationError):
        faults.forbidden = {"nope"}


# --- scenarios -------------------------------------------------------------------------------


def test_list_and_unknown_scenarios() -> None:
    assert {"baseline", "demo"} <= set(list_scenarios())
    with pytest.raises(ValueError, match=r"unknown lab scenario 'nope'; available: .*baseline.*demo"):
        load_scenario("nope")
    with pytest.raises(ValueError, match="unknown lab scenario"):
        load_scenario("../demo")


def test_baseline_matches_the_baseline_policy() -> None:
    s = load_scenario("baseline")
    sspr = s.password_reset_policies
    assert {k: sspr[k] for k in (
        "objectId", "enablementType", "numberOfAuthenticationMethodsRequired", "mobileAppNotificationEnabled",
        "mobileAppCodeEnabled", "emailOptionEnabled", "mobilePhoneOptionEnabled", "officePhoneOptionEnabled",
        "securityQuestionsOptionEnabled", "registrationRequiredOnSignIn", "registrationReconfirmIntevalInDays",
        "notifyUsersOnPasswordReset", "notifyOnAdminPasswordReset", "customizeHelpdeskLink")} == {
        "objectId": "default", "enablementType": 2, "numberOfAuthenticationMethodsRequired": 2,
        "mobileAppNotificationEnabled": True, "mobileAppCodeEnabled": True, "emailOptionEnabled": True,
        "mobilePhoneOptionEnabled": True, "officePhoneOptionEnabled": False,
        "securityQuestionsOptionEnabled": False, "registrationRequiredOnSignIn": True,
        "registrationReconfirmIntevalInDays": 180, "notifyUsersOnPasswordReset": True,
        "notifyOnAdminPasswordReset": True, "customizeHelpdeskLink": False}
    onprem = s.on_premises_password_reset_policies
    assert onprem["enablementForTenant"] and onprem["accountUnlockEnabled"]
    assert onprem["passwordWritebackSupported"] and onprem["accountUnlockSupported"]
    assert s.authorization_policy["allowedToUseSSPR"] is False
    methods = s.authentication_methods_policy
    assert methods["policyMigrationState"] == "migrationComplete"
    for config_id in ("MicrosoftAuthenticator", "SoftwareOath", "Email", "Sms", "Voice"):
        assert s.method_configuration(config_id)["state"] == "enabled", config_id
    assert s.method_configuration("Voice")["isOfficePhoneAllowed"] is False
    enabled = [r for r in s.user_registration_details if r["isSsprEnabled"]]
    assert enabled and all(r["isSsprCapable"] for r in enabled)


def test_demo_has_the_planted_drift() -> None:
    s = load_scenario("demo")
    sspr = s.password_reset_policies
    assert sspr["enablementType"] == 1 and sspr["passwordResetEnabledGroupName"] == "SSPR-Pilot"
    assert sspr["passwordResetEnabledGroupIds"] == [SSPR_PILOT]
    assert sspr["numberOfAuthenticationMethodsRequired"] == 1
    assert sspr["securityQuestionsOptionEnabled"] and sspr["officePhoneOptionEnabled"]
    assert (sspr["numberOfQuestionsToRegister"], sspr["numberOfQuestionsToReset"]) == (3, 3)
    assert len(sspr["securityQuestions"]) >= 3
    assert sspr["registrationReconfirmIntevalInDays"] == 0
    assert not sspr["notifyOnAdminPasswordReset"] and sspr["notifyUsersOnPasswordReset"]
    assert not sspr["customizeHelpdeskLink"]
    onprem = s.on_premises_password_reset_policies
    assert onprem["enablementForTenant"] and not onprem["accountUnlockEnabled"]
    assert s.authorization_policy["allowedToUseSSPR"] is True
    assert s.authentication_methods_policy["policyMigrationState"] == "migrationInProgress"
    assert len(s.users) == 68
    synced = [u for u in s.users if u["onPremisesSyncEnabled"]]
    assert len(synced) == 48  # the lab domain's 45 users and the 3 the demo domain plants
    assert {u["onPremisesSamAccountName"] for u in synced} >= {"nora.quinn", "adam.admin", "tess.temp"}
    enabled = {u["id"] for u in s.users if u["accountEnabled"]}
    in_scope = {r["id"] for r in s.user_registration_details if r["isSsprEnabled"]}
    assert in_scope == set(s.group_members[SSPR_PILOT]) & enabled
    unregistered = [r for r in s.user_registration_details if r["isSsprEnabled"] and not r["isSsprRegistered"]]
    assert len(unregistered) == 7
    sales = [u for u in synced if ",OU=Sales," in u["onPremisesDistinguishedName"]]
    assert sales and not {u["id"] for u in sales} & in_scope  # the pilot leaves Sales out


def test_generated_users_are_deterministic_and_scale() -> None:
    assert load_scenario("demo") == load_scenario("demo")
    base = load_scenario("baseline").model_dump()
    big = scenario_from_mapping({**base, "users": [], "user_registration_details": [],
                                 "generate_users": {"count": 2000, "guests": 20, "unregistered": 100}})
    assert len(big.users) == 2000
    assert len({u["id"] for u in big.users}) == 2000
    assert len({u["userPrincipalName"].lower() for u in big.users}) == 2000
    assert sum(not r["isSsprRegistered"] for r in big.user_registration_details if r["userType"] == "member") == 100
    shorthand = scenario_from_mapping({**base, "users": [], "user_registration_details": [], "generate_users": 5})
    assert len(shorthand.users) == 5 and shorthand.generate_users is None


def test_scenario_validation_reports_bad_wire_shapes() -> None:
    base = load_scenario("baseline").model_dump()
    bad_state = {**base, "authentication_methods_policy": {
        **base["authentication_methods_policy"], "policyMigrationState": "finished"}}
    with pytest.raises(ValidationError, match="policyMigrationState"):
        Scenario.model_validate(bad_state)
    with pytest.raises(ValidationError, match="duplicate id"):
        Scenario.model_validate({**base, "users": base["users"] * 2})
    with pytest.raises(ValidationError):
        Scenario.model_validate({**base, "unexpected_section": {}})


def test_apps_hold_private_copies_of_the_scenario() -> None:
    scenario = load_scenario("demo")
    first, second = create_app(scenario), create_app(scenario)
    lab_state(first).tenant.authorization_policy["allowedToUseSSPR"] = False
    assert lab_state(second).tenant.authorization_policy["allowedToUseSSPR"] is True
    assert scenario.authorization_policy["allowedToUseSSPR"] is True


def test_server_refuses_non_loopback_hosts() -> None:
    with pytest.raises(ValueError, match="loopback"):
        LabServer("demo", host="0.0.0.0")
