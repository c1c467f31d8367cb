"""Keep the fake honest: the emulator's Graph responses against Microsoft's documented examples
and the msgraph-sdk models.

For each Graph endpoint the emulator serves, ``tests/fixtures/graph_docs/`` holds the example
response from its Microsoft Graph documentation page (URL and docs commit inside each file).
The tests check that

* the emulator's body has every documented key the SDK model knows, with the same JSON type
  (null on either side is compatible), recursively; items of lists are matched by well-known
  ``id`` (authentication method configurations), else every emulator item is compared with
  every documented item;
* the emulator's body deserialises into the SDK model with nothing left in ``additional_data``
  (apart from ``@odata.*`` annotations) and no non-null value the SDK could not read (such as an
  enum member it does not know);
* the documented examples themselves deserialise, and the documented keys the current SDK does
  not know (stale examples) are exactly the ones listed here, so a change on either side shows.

Open types are the one exception: Secure Score's `controlScore` carries properties the v1.0
schema does not declare (`scoreInPercentage`, `implementationStatus`, `count`, `total`, ...),
which the service returns and the SDK keeps in `additional_data`; each case lists the ones it
allows (`open_type_keys`, list indices written `[*]`).
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from kiota_serialization_json.json_parse_node_factory import JsonParseNodeFactory
from msgraph.generated.models.authentication_method_configuration import AuthenticationMethodConfiguration
from msgraph.generated.models.authentication_methods_policy import AuthenticationMethodsPolicy
from msgraph.generated.models.authorization_policy import AuthorizationPolicy
from msgraph.generated.models.device_configuration_collection_response import DeviceConfigurationCollectionResponse
from msgraph.generated.models.directory_audit_collection_response import DirectoryAuditCollectionResponse
from msgraph.generated.models.directory_object_collection_response import DirectoryObjectCollectionResponse
from msgraph.generated.models.group_setting_collection_response import GroupSettingCollectionResponse
from msgraph.generated.models.on_premises_directory_synchronization_collection_response import (
    OnPremisesDirectorySynchronizationCollectionResponse,
)
from msgraph.generated.models.secure_score_collection_response import SecureScoreCollectionResponse
from msgraph.generated.models.secure_score_control_profile_collection_response import (
    SecureScoreControlProfileCollectionResponse,
)
from msgraph.generated.models.subscribed_sku_collection_response import SubscribedSkuCollectionResponse
from msgraph.generated.models.user_collection_response import UserCollectionResponse
from msgraph.generated.models.user_registration_details_collection_response import (
    UserRegistrationDetailsCollectionResponse,
)

from auditor.lab.server import LabServer

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "graph_docs"
BEARER = {"Authorization": "Bearer lab-token"}
CONFIGS = "/policies/authenticationMethodsPolicy/authenticationMethodConfigurations"


@dataclass(frozen=True)
class DocCase:
    fixture: str
    path: str
    model: Any
    wrap_in_collection: bool = False
    """The docs page shows one object; the emulator's route returns a collection of them."""
    stale_docs_keys: frozenset[str] = frozenset()
    """Documented keys the current msgraph-sdk v1.0 model does not know (old examples)."""
    unreadable_docs_values: frozenset[str] = frozenset()
    """Documented non-null values the SDK reads as None (e.g. an empty enum string)."""
    open_type_keys: frozenset[str] = frozenset()
    """Properties of open types the service sends beyond the schema (the SDK keeps them in additional_data)."""
    docs_quirks: frozenset[str] = frozenset()
    """Documented paths not to compare: mistakes in the example or annotations the service adds at will."""


CASES = [
    DocCase("authorizationpolicy-get", "/policies/authorizationPolicy", AuthorizationPolicy),
    DocCase("authenticationmethodspolicy-get", "/policies/authenticationMethodsPolicy",
            AuthenticationMethodsPolicy, stale_docs_keys=frozenset({
                "$.authenticationMethodConfigurations[1].includeTargets[0].outlookMobileAllowedState",
                "$.authenticationMethodConfigurations[1].includeTargets[0].displayAppInformationRequiredState",
                "$.authenticationMethodConfigurations[1].includeTargets[0].numberMatchingRequiredState",
            })),
    DocCase("emailauthenticationmethodconfiguration-get", f"{CONFIGS}/email", AuthenticationMethodConfiguration),
    DocCase("microsoftauthenticatorauthenticationmethodconfiguration-get", f"{CONFIGS}/microsoftAuthenticator",
            AuthenticationMethodConfiguration, stale_docs_keys=frozenset({
                "$.featureSettings.displayAppContextRequiredState",
                "$.featureSettings.displayLocationContextRequiredState",
            })),
    DocCase("authenticationmethodsroot-list-userregistrationdetails",
            "/reports/authenticationMethods/userRegistrationDetails", UserRegistrationDetailsCollectionResponse,
            unreadable_docs_values=frozenset({"$.value[1].userPreferredMethodForSecondaryAuthentication"})),
    DocCase("onpremisesdirectorysynchronization-get", "/directory/onPremisesSynchronization",
            OnPremisesDirectorySynchronizationCollectionResponse, wrap_in_collection=True),
    DocCase("user-list", "/users", UserCollectionResponse),
    DocCase("subscribedsku-list", "/subscribedSkus", SubscribedSkuCollectionResponse),
    DocCase("security-list-securescores", "/security/secureScores?$top=1", SecureScoreCollectionResponse,
            open_type_keys=frozenset(f"$.value[*].controlScores[*].{key}" for key in (
                "scoreInPercentage", "on", "lastSynced", "implementationStatus", "count", "total"))),
    DocCase("security-list-securescorecontrolprofiles", "/security/secureScoreControlProfiles",
            SecureScoreControlProfileCollectionResponse),
    DocCase("directoryaudit-list", "/auditLogs/directoryAudits", DirectoryAuditCollectionResponse,
            stale_docs_keys=frozenset({  # newer than the msgraph-sdk v1.0 userIdentity model
                "$.value[0].initiatedBy.user.userType", "$.value[0].initiatedBy.user.homeTenantId",
                "$.value[0].initiatedBy.user.homeTenantName"}),
            docs_quirks=frozenset({"$.@microsoft.graph.tips"})),
    DocCase("groupsetting-list", "/groupSettings", GroupSettingCollectionResponse),
    DocCase("group-list-transitivemembers", "/groups/7f3c2a10-5b6d-4e8f-9a1b-2c3d4e5f6a7b/transitiveMembers",
            DirectoryObjectCollectionResponse),
    DocCase("intune-deviceconfig-windows10customconfiguration-list", "/deviceManagement/deviceConfigurations",
            DeviceConfigurationCollectionResponse,
            # the example's omaSetting @odata.type lacks its '#', so the SDK makes a base omaSetting
            # and cannot place `value`; the service (and the emulator) send '#microsoft.graph....'
            stale_docs_keys=frozenset({"$.value[0].omaSettings[0].value"}),
            docs_quirks=frozenset({"$.value[0].omaSettings[0].@odata.type"})),
]
IDS = [case.fixture for case in CASES]


@pytest.fixture(scope="module")
def lab() -> Iterator[LabServer]:
    with LabServer("demo") as server:
        yield server


def docs_example(case: DocCase) -> dict[str, Any]:
    document = json.loads((FIXTURES / f"{case.fixture}.json").read_text(encoding="utf-8"))
    assert document["source"].startswith("https://learn.microsoft.com/graph/api/")
    response: dict[str, Any] = document["response"]
    if case.wrap_in_collection:
        item = {k: v for k, v in response.items() if not k.startswith("@odata.context")}
        response = {"value": [item]}
    return response


def emulator_body(lab: LabServer, case: DocCase) -> dict[str, Any]:
    response = httpx.get(f"{lab.graph_url}{case.path}", headers=BEARER)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def parse(body: dict[str, Any], model: Any) -> Any:
    node = JsonParseNodeFactory().get_root_parse_node("application/json", json.dumps(body).encode())
    return node.get_object_value(model)


# --- walking JSON and the kiota model side by side -------------------------------------------


def attribute_name(json_key: str) -> str:
    """kiota's Python naming: every capital starts a new snake-case word."""
    return re.sub(r"([A-Z])", r"_\1", json_key).lower()


@dataclass
class SdkReading:
    unknown: set[str] = dataclasses.field(default_factory=set)
    """JSON paths the model put into additional_data."""
    unreadable: set[str] = dataclasses.field(default_factory=set)
    """JSON paths with a non-null value that the model holds as None."""


def read_with_sdk(json_value: Any, model_value: Any, path: str, reading: SdkReading) -> None:
    if isinstance(json_value, list) and isinstance(model_value, list):
        for index, (item, parsed) in enumerate(zip(json_value, model_value, strict=False)):
            read_with_sdk(item, parsed, f"{path}[{index}]", reading)
        return
    if not isinstance(json_value, dict) or not dataclasses.is_dataclass(model_value):
        return
    extra = getattr(model_value, "additional_data", None) or {}
    for key, value in json_value.items():
        child = f"{path}.{key}"
        if key.startswith("@"):
            continue
        if key in extra:
            reading.unknown.add(child)
            continue
        attribute = attribute_name(key)
        assert hasattr(model_value, attribute), f"{child}: no attribute {attribute} on {type(model_value)}"
        parsed = getattr(model_value, attribute)
        if value is not None and value != [] and parsed is None:
            reading.unreadable.add(child)
        read_with_sdk(value, parsed, child, reading)


def sdk_reading(body: dict[str, Any], model: Any) -> SdkReading:
    reading = SdkReading()
    read_with_sdk(body, parse(body, model), "$", reading)
    return reading


# --- comparing shapes --------------------------------------------------------------------------


def json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    return {str: "string", list: "array", dict: "object"}.get(type(value), "null")


def compare_shape(docs: Any, ours: Any, path: str, skip: frozenset[str], problems: list[str]) -> None:
    if docs is None or ours is None:
        return
    if json_type(docs) != json_type(ours):
        problems.append(f"{path}: documented {json_type(docs)}, emulator {json_type(ours)}")
        return
    if isinstance(docs, dict):
        for key, value in docs.items():
            child = f"{path}.{key}"
            if child in skip or (key.startswith("@odata.") and key != "@odata.type"):
                continue
            if key not in ours:
                problems.append(f"{child}: documented, missing from the emulator")
            elif key == "@odata.type" and value != ours[key]:
                problems.append(f"{child}: documented {value}, emulator {ours[key]}")
            else:
                compare_shape(value, ours[key], child, skip, problems)
    elif isinstance(docs, list) and docs and ours:
        compare_lists(docs, ours, path, skip, problems)


def compare_lists(docs: list[Any], ours: list[Any], path: str, skip: frozenset[str], problems: list[str]) -> None:
    # Well-known ids (method configurations) are matched; arbitrary ids (users) are not.
    by_id = all(isinstance(item, dict) and "id" in item for item in [*docs, *ours])
    ours_by_id = {str(item["id"]).casefold(): item for item in ours} if by_id else {}
    if any(str(item["id"]).casefold() in ours_by_id for item in docs if by_id):
        for index, item in enumerate(docs):
            match = ours_by_id.get(str(item["id"]).casefold())
            if match is None:
                problems.append(f"{path}[{index}]: documented id {item['id']!r} missing from the emulator")
            else:
                compare_shape(item, match, f"{path}[{index}]", skip, problems)
        return
    for index, item in enumerate(docs):
        for ours_item in ours:
            compare_shape(item, ours_item, f"{path}[{index}]", skip, problems)


# --- the tests ---------------------------------------------------------------------------------


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_documented_example_reads_into_the_sdk_model(case: DocCase) -> None:
    reading = sdk_reading(docs_example(case), case.model)
    assert reading.unknown == set(case.stale_docs_keys)
    assert reading.unreadable == set(case.unreadable_docs_values)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_emulator_response_has_the_documented_shape(lab: LabServer, case: DocCase) -> None:
    problems: list[str] = []
    compare_shape(docs_example(case), emulator_body(lab, case), "$", case.stale_docs_keys | case.docs_quirks,
                  problems)
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_emulator_response_reads_into_the_sdk_model_without_leftovers(lab: LabServer, case: DocCase) -> None:
    body = emulator_body(lab, case)
    reading = sdk_reading(body, case.model)
    unknown = {key for key in reading.unknown if re.sub(r"\[\d+\]", "[*]", key) not in case.open_type_keys}
    assert not unknown, f"fields the SDK does not know: {sorted(unknown)}"
    assert not reading.unreadable, f"values the SDK cannot read: {sorted(reading.unreadable)}"
    parsed = parse(body, case.model)
    assert {k for k in (parsed.additional_data or {}) if not k.startswith("@odata.")} == set()


def test_emulator_users_with_every_stored_property_read_cleanly(lab: LabServer) -> None:
    """All user properties the scenarios store (selected explicitly) are known to the SDK."""
    stored = sorted({key for user in lab.scenario.users for key in user})
    response = httpx.get(f"{lab.graph_url}/users", params={"$select": ",".join(stored)}, headers=BEARER)
    reading = sdk_reading(response.json(), UserCollectionResponse)
    assert not reading.unknown and not reading.unreadable, reading


@pytest.mark.parametrize("config_id", ["Email", "Sms", "Voice", "MicrosoftAuthenticator", "SoftwareOath",
                                       "Fido2", "TemporaryAccessPass"])
def test_every_method_configuration_reads_into_its_sdk_type(lab: LabServer, config_id: str) -> None:
    body = httpx.get(f"{lab.graph_url}{CONFIGS}/{config_id}", headers=BEARER).json()
    reading = sdk_reading(body, AuthenticationMethodConfiguration)
    assert not reading.unknown and not reading.unreadable, reading
    parsed = parse(body, AuthenticationMethodConfiguration)
    assert type(parsed).__name__.lower() == body["@odata.type"].removeprefix("#microsoft.graph.").lower()


def test_comparison_catches_a_wrong_type_and_a_missing_key() -> None:
    problems: list[str] = []
    docs = {"a": True, "b": {"c": "x"}, "items": [{"id": "1", "n": 1}]}
    ours = {"a": "true", "b": {}, "items": [{"id": "1", "n": "1"}]}
    compare_shape(docs, ours, "$", frozenset(), problems)
    assert problems == ["$.a: documented boolean, emulator string", "$.b.c: documented, missing from the emulator",
                        "$.items[0].n: documented number, emulator string"]
