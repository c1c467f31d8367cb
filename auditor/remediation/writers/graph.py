"""Write Microsoft Graph through msgraph-sdk: the authorization policy, the methods policy and its
method configurations (each PATCH carries `@odata.type`, which Graph requires for these).

Reads go through the same client as raw JSON (`send_primitive_async(..., "bytes")`), so the
backup holds the Graph objects exactly as Graph returned them.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from auditor.graph_fields import (
    AUTHORIZATION_FIELDS,
    AUTHORIZATION_PATH,
    CONFIGURATION_FIELDS,
    CONFIGURATION_PATH,
    METHODS_FIELDS,
    METHODS_PATH,
)
from auditor.remediation.changes import (
    GraphAuthorizationChange,
    GraphMethodConfigurationChange,
    GraphMethodsPolicyChange,
    SettingChange,
)
from auditor.remediation.session import ApplyError
from auditor.remediation.writers.base import Observation, Writer, classify

if TYPE_CHECKING:
    from auditor.remediation.session import BackupObject


# @odata.type of each built-in configuration → the msgraph-sdk model that serialises it
_CONFIGURATION_MODELS = {
    "#microsoft.graph.emailAuthenticationMethodConfiguration":
        ("email_authentication_method_configuration", "EmailAuthenticationMethodConfiguration"),
    "#microsoft.graph.smsAuthenticationMethodConfiguration":
        ("sms_authentication_method_configuration", "SmsAuthenticationMethodConfiguration"),
    "#microsoft.graph.voiceAuthenticationMethodConfiguration":
        ("voice_authentication_method_configuration", "VoiceAuthenticationMethodConfiguration"),
    "#microsoft.graph.microsoftAuthenticatorAuthenticationMethodConfiguration":
        ("microsoft_authenticator_authentication_method_configuration",
         "MicrosoftAuthenticatorAuthenticationMethodConfiguration"),
    "#microsoft.graph.softwareOathAuthenticationMethodConfiguration":
        ("software_oath_authentication_method_configuration", "SoftwareOathAuthenticationMethodConfiguration"),
    "#microsoft.graph.fido2AuthenticationMethodConfiguration":
        ("fido2_authentication_method_configuration", "Fido2AuthenticationMethodConfiguration"),
    "#microsoft.graph.temporaryAccessPassAuthenticationMethodConfiguration":
        ("temporary_access_pass_authentication_method_configuration",
         "TemporaryAccessPassAuthenticationMethodConfiguration"),
}


def _path_and_fields(change: Any) -> tuple[str, dict[str, str]]:
    if isinstance(change, GraphAuthorizationChange):
        return AUTHORIZATION_PATH, AUTHORIZATION_FIELDS
    if isinstance(change, GraphMethodsPolicyChange):
        return METHODS_PATH, METHODS_FIELDS
    if isinstance(change, GraphMethodConfigurationChange):
        return CONFIGURATION_PATH.format(id=change.configuration_id), CONFIGURATION_FIELDS
    raise TypeError(f"the Graph writer does not write {type(change).__name__}")


class GraphWriter(Writer):
    @property
    def client(self) -> Any:
        targets = self.session.targets
        if not targets.graph_url or targets.graph_credential is None:
            raise ApplyError("the plan changes Microsoft Graph but no Graph endpoint or credential is configured")

        def make() -> Any:
            from auditor.readers.graph import build_client

            return build_client(targets.graph_url, targets.graph_credential, targets.timeout_seconds)

        def close(client: Any) -> None:
            http = getattr(client.request_adapter, "_http_client", None)
            if http is not None:
                self.session.run(http.aclose())

        return self.session.client("graph", make, close)

    def get(self, path: str) -> dict[str, Any]:
        from kiota_abstractions.method import Method
        from kiota_abstractions.request_information import RequestInformation
        from msgraph.generated.models.o_data_errors.o_data_error import ODataError

        adapter = self.client.request_adapter
        info = RequestInformation(Method.GET, "{+baseurl}" + path)
        info.path_parameters["baseurl"] = adapter.base_url
        info.headers.try_add("Accept", "application/json")
        raw = self.session.run(adapter.send_primitive_async(info, "bytes", {"XXX": ODataError}))
        body = json.loads(raw or b"null")
        if not isinstance(body, dict):
            raise ApplyError(f"Graph GET {path} did not return an object")
        return body

    @staticmethod
    def identity(change: Any) -> dict[str, str]:
        return {"path": _path_and_fields(change)[0], "kind": change.kind}

    def read(self, change: Any) -> dict[str, Any]:
        path = _path_and_fields(change)[0]
        return {"path": path, "kind": change.kind, "json": self.get(path)}

    @staticmethod
    def state_of(change: Any, data: dict[str, Any]) -> Observation:
        fields = _path_and_fields(change)[1]
        body = data["json"]
        pairs = [(s.name, body.get(fields[s.name]), s.old, s.new) for s in change.settings_list()]
        state, detail = classify(pairs)
        return Observation(state, detail, data)

    def write(self, change: Any) -> None:
        self._patch(change.kind, _path_and_fields(change)[0], change.settings_list())

    def _patch(self, kind: str, path: str, settings: list[SettingChange]) -> None:
        values = {s.name: s.new for s in settings}
        policies = self.client.policies
        if kind == "graph.authorization_policy":
            from msgraph.generated.models.authorization_policy import AuthorizationPolicy

            body = AuthorizationPolicy(allowed_to_use_s_s_p_r=values["allowed_to_use_sspr"])
            self.session.run(policies.authorization_policy.patch(body))
        elif kind == "graph.methods_policy":
            from msgraph.generated.models.authentication_methods_policy import AuthenticationMethodsPolicy
            from msgraph.generated.models.authentication_methods_policy_migration_state import (
                AuthenticationMethodsPolicyMigrationState,
            )

            state = AuthenticationMethodsPolicyMigrationState(values["migration_state"])
            self.session.run(policies.authentication_methods_policy.patch(
                AuthenticationMethodsPolicy(policy_migration_state=state)))
        else:
            config_id = path.rsplit("/", 1)[1]
            body = self._configuration_body(self.get(path).get("@odata.type"), values)
            builder = policies.authentication_methods_policy.authentication_method_configurations
            self.session.run(builder.by_authentication_method_configuration_id(config_id).patch(body))

    @staticmethod
    def _configuration_body(odata_type: object, values: dict[str, Any]) -> Any:
        import importlib

        from msgraph.generated.models.authentication_method_state import AuthenticationMethodState

        if odata_type not in _CONFIGURATION_MODELS:
            raise ApplyError(f"unknown authentication method configuration type {odata_type!r}")
        module, name = _CONFIGURATION_MODELS[str(odata_type)]
        model = getattr(importlib.import_module(f"msgraph.generated.models.{module}"), name)()
        model.odata_type = odata_type  # Graph needs @odata.type in the body of this PATCH
        if "state" in values:
            model.state = AuthenticationMethodState(values["state"])
        if "is_office_phone_allowed" in values:
            model.is_office_phone_allowed = values["is_office_phone_allowed"]
        return model

    def matches(self, obj: BackupObject) -> bool:
        return not self._differences(obj)

    def _differences(self, obj: BackupObject) -> list[SettingChange]:
        fields = {"graph.authorization_policy": AUTHORIZATION_FIELDS, "graph.methods_policy": METHODS_FIELDS,
                  "graph.method_configuration": CONFIGURATION_FIELDS}[obj.data["kind"]]
        current, old = self.get(obj.data["path"]), obj.data["json"]
        return [SettingChange(name=name, old=current.get(prop), new=old.get(prop))
                for name, prop in fields.items() if prop in old and current.get(prop) != old.get(prop)]

    def restore(self, obj: BackupObject) -> None:
        settings = self._differences(obj)
        if settings:
            self._patch(obj.data["kind"], obj.data["path"], settings)
