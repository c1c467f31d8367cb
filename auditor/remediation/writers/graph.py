"""Write Microsoft Graph through msgraph-sdk: the authorization policy, the methods policy and its
method configurations (each PATCH carries `@odata.type`, which Graph requires for these), and the
tenant's Password Rule Settings (a groupSetting: PATCH of its whole values array, or POST of a new one
from the template when none exists; rollback of a created one deletes it).

Reads go through the same client as raw JSON (`send_primitive_async(..., "bytes")`), so the
backup holds the Graph objects exactly as Graph returned them.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from auditor.graph_fields import (
    AUTHORIZATION_FIELDS,
    AUTHORIZATION_PATH,
    CA_POLICIES_PATH,
    CONFIGURATION_FIELDS,
    CONFIGURATION_PATH,
    GROUP_SETTINGS_PATH,
    METHOD_CONFIGURATION_TYPES,
    METHODS_PATH,
    METHODS_RESTORED,
    METHODS_SETTINGS,
    PASSWORD_RULE_DEFAULTS,
    PASSWORD_RULE_FIELDS,
    PASSWORD_RULE_TEMPLATE,
    REGISTRATION_CAMPAIGN,
    REGISTRATION_ENFORCEMENT,
    methods_value,
    password_rule_value,
    password_rule_values,
    password_rule_wire,
)
from auditor.remediation.changes import GraphCaPolicyChange, GraphPasswordRulesChange, SettingChange
from auditor.remediation.crashpoints import boundary
from auditor.remediation.session import ApplyError
from auditor.remediation.writers.base import Observation, Writer, classify

if TYPE_CHECKING:
    from auditor.remediation.session import BackupObject


# each built-in configuration's @odata.type (graph_fields) → the msgraph-sdk model that serialises it
_CONFIGURATION_MODELS = {METHOD_CONFIGURATION_TYPES[config_id]: model for config_id, model in {
    "email": ("email_authentication_method_configuration", "EmailAuthenticationMethodConfiguration"),
    "sms": ("sms_authentication_method_configuration", "SmsAuthenticationMethodConfiguration"),
    "voice": ("voice_authentication_method_configuration", "VoiceAuthenticationMethodConfiguration"),
    "microsoftauthenticator": ("microsoft_authenticator_authentication_method_configuration",
                               "MicrosoftAuthenticatorAuthenticationMethodConfiguration"),
    "softwareoath": ("software_oath_authentication_method_configuration",
                     "SoftwareOathAuthenticationMethodConfiguration"),
    "fido2": ("fido2_authentication_method_configuration", "Fido2AuthenticationMethodConfiguration"),
    "temporaryaccesspass": ("temporary_access_pass_authentication_method_configuration",
                            "TemporaryAccessPassAuthenticationMethodConfiguration"),
}.items()}


class GraphWriter(Writer):
    @property
    def client(self) -> Any:
        targets = self.session.targets
        url = targets.graph_url
        if not url or targets.graph_credential is None:
            raise ApplyError("the plan changes Microsoft Graph but no Graph endpoint or credential is configured")

        def make() -> Any:
            from auditor.readers.graph import build_client

            return build_client(url, targets.graph_credential, targets.timeout_seconds)

        def close(client: Any) -> None:
            http = getattr(client.request_adapter, "_http_client", None)
            if http is not None:
                self.session.run(http.aclose())

        return self.session.client("graph", make, close)

    def get(self, path: str, *, absolute: bool = False) -> dict[str, Any]:
        """The JSON object at `path` (below the client's base URL, or a whole URL such as a nextLink)."""
        from kiota_abstractions.method import Method
        from kiota_abstractions.request_information import RequestInformation
        from msgraph.generated.models.o_data_errors.o_data_error import ODataError

        adapter = self.client.request_adapter
        if absolute:
            info = RequestInformation(Method.GET)
            info.url = path
        else:
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
        return _OBJECTS[change.kind].identity(change)

    def read(self, change: Any) -> dict[str, Any]:
        return _OBJECTS[change.kind].read(self, change)

    @staticmethod
    def state_of(change: Any, data: dict[str, Any]) -> Observation:
        return _OBJECTS[change.kind].state_of(change, data)

    @staticmethod
    def expected(change: Any, data: dict[str, Any]) -> dict[str, Any] | None:
        return _OBJECTS[change.kind].expected(change, data)

    def write(self, change: Any) -> None:
        _OBJECTS[change.kind].write(self, change)

    def _patch(self, kind: str, path: str, settings: list[SettingChange]) -> None:
        values = {s.name: s.new for s in settings}
        policies = self.client.policies
        if kind == "graph.authorization_policy":
            from msgraph.generated.models.authorization_policy import AuthorizationPolicy

            body = AuthorizationPolicy(allowed_to_use_s_s_p_r=values["allowed_to_use_sspr"])
            self.session.run(policies.authorization_policy.patch(body))
        elif kind == "graph.methods_policy":
            if "registration_enforcement" in values:  # a rollback: the whole object as the backup holds it
                self._send("PATCH", METHODS_PATH, {REGISTRATION_ENFORCEMENT: values["registration_enforcement"]})
            if "registration_campaign_state" in values:
                self._write_campaign_state(str(values["registration_campaign_state"]))
            if "migration_state" in values:
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
            boundary(f"{kind}: inside the write, between GET and PATCH")
            builder = policies.authentication_methods_policy.authentication_method_configurations
            self.session.run(builder.by_authentication_method_configuration_id(config_id).patch(body))

    def _write_campaign_state(self, state: str) -> None:
        """The registration campaign's `state`, inside the whole `registrationEnforcement` as read just before: its
        targets, snooze settings and anything this tool does not know go back exactly as read. Graph keeps the
        properties a PATCH leaves out (authenticationmethodspolicy-update: "Existing properties that aren't included
        in the request body maintain their previous values"), but the page does not say whether a nested object
        is merged or replaced, so the object is never sent in part."""
        enforcement = self.get(METHODS_PATH).get(REGISTRATION_ENFORCEMENT)
        campaign = enforcement.get(REGISTRATION_CAMPAIGN) if isinstance(enforcement, dict) else None
        if not isinstance(enforcement, dict) or not isinstance(campaign, dict):
            raise ApplyError(f"the authentication methods policy holds no {REGISTRATION_ENFORCEMENT}."
                             f"{REGISTRATION_CAMPAIGN} object: the plan does not decide its targets")
        body = {**enforcement, REGISTRATION_CAMPAIGN: {**campaign, "state": state}}
        boundary("graph.methods_policy: inside the write, between GET and PATCH")
        self._send("PATCH", METHODS_PATH, {REGISTRATION_ENFORCEMENT: body})

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
        if "is_software_oath_enabled" in values:
            model.is_software_oath_enabled = values["is_software_oath_enabled"]
        return model

    def matches(self, obj: BackupObject) -> bool:
        if obj.data["kind"] == "graph.ca_policy":
            current, old = self._ca_policy(obj.data["display_name"]), obj.data["json"]
            if old is None or current is None:
                return old is None and current is None
            return bool(current.get("id") == old.get("id") and current.get("state") == old.get("state"))
        if obj.data["kind"] == "graph.password_rules":
            return _same_rules(self._password_rules(), obj.data["json"])
        return not self._differences(obj)

    def _differences(self, obj: BackupObject) -> list[SettingChange]:
        fields = {"graph.authorization_policy": AUTHORIZATION_FIELDS, "graph.methods_policy": METHODS_RESTORED,
                  "graph.method_configuration": CONFIGURATION_FIELDS}[obj.data["kind"]]
        current, old = self.get(obj.data["path"]), obj.data["json"]
        return [SettingChange(name=name, old=current.get(prop), new=old.get(prop))
                for name, prop in fields.items() if prop in old and current.get(prop) != old.get(prop)]

    def restore(self, obj: BackupObject) -> None:
        if obj.data["kind"] == "graph.ca_policy":
            self._restore_ca_policy(obj.data["display_name"], obj.data["json"])
            return
        if obj.data["kind"] == "graph.password_rules":
            self._restore_password_rules(obj.data["json"])
            return
        settings = self._differences(obj)
        if settings:
            self._patch(obj.data["kind"], obj.data["path"], settings)

    # -- the Conditional Access policy on registering security info --------------------------------

    def _ca_policy(self, display_name: str) -> dict[str, Any] | None:
        """The policy named `display_name`, as Graph returns it; None if none (two: refused)."""
        body = self.get(CA_POLICIES_PATH)
        found: list[Any] = []
        for _ in range(_MAX_PAGES):
            if not isinstance(body.get("value"), list):
                raise ApplyError(f"Graph GET {CA_POLICIES_PATH} answered without a `value` list")
            found += [p for p in body["value"] if isinstance(p, dict)
                      and str(p.get("displayName") or "").strip().casefold() == display_name.strip().casefold()]
            next_link = body.get("@odata.nextLink")
            if not next_link:
                break
            body = self.get(str(next_link), absolute=True)
        else:
            raise ApplyError(f"Graph GET {CA_POLICIES_PATH}: paging would never end")
        if len(found) > 1:
            raise ApplyError(f"the tenant has {len(found)} Conditional Access policies named {display_name!r}")
        return found[0] if found else None

    def _write_ca_policy(self, change: GraphCaPolicyChange) -> None:
        if change.policy_id is None:
            if self._ca_policy(change.display_name) is not None:
                raise ApplyError(f"a policy named {change.display_name!r} exists now: the plan was made to create it")
            self._send("POST", CA_POLICIES_PATH, change.body())
            return
        boundary(f"change {change.id}: inside the write, before PATCH")
        self._send("PATCH", f"{CA_POLICIES_PATH}/{change.policy_id}", {"state": change.setting.new})

    def _restore_ca_policy(self, display_name: str, old: dict[str, Any] | None) -> None:
        current = self._ca_policy(display_name)
        if old is None:  # apply created it: rollback deletes it
            if current is not None:
                self._send("DELETE", f"{CA_POLICIES_PATH}/{current['id']}", None)
            return
        if current is None:
            raise ApplyError(f"the policy {display_name!r} was deleted since the apply: nothing to put back")
        self._send("PATCH", f"{CA_POLICIES_PATH}/{current['id']}", {"state": old.get("state")})

    def _send(self, method: str, path: str, body: dict[str, Any] | None) -> None:
        """One write through the SDK's adapter (auth, retry, OData errors) with a JSON body as given: the policy
        is sent exactly as `GraphCaPolicyChange.body` builds it."""
        from kiota_abstractions.method import Method
        from kiota_abstractions.request_information import RequestInformation
        from msgraph.generated.models.o_data_errors.o_data_error import ODataError

        adapter = self.client.request_adapter
        info = RequestInformation(Method[method], "{+baseurl}" + path)
        info.path_parameters["baseurl"] = adapter.base_url
        info.headers.try_add("Accept", "application/json")
        if body is not None:
            info.set_stream_content(json.dumps(body).encode(), "application/json")
        self.session.run(adapter.send_no_response_content_async(info, {"XXX": ODataError}))

    # -- the Password Rule Settings ----------------------------------------------------------------

    def _password_rules(self) -> dict[str, Any] | None:
        """The tenant's groupSetting from the Password Rule Settings template, as Graph returns it; None if none."""
        body = self.get(GROUP_SETTINGS_PATH)
        found: list[Any] = []
        for _ in range(_MAX_PAGES):
            if not isinstance(body.get("value"), list):
                raise ApplyError(f"Graph GET {GROUP_SETTINGS_PATH} answered without a `value` list")
            found += [s for s in body["value"] if isinstance(s, dict)
                      and str(s.get("templateId") or "").lower() == PASSWORD_RULE_TEMPLATE]
            next_link = body.get("@odata.nextLink")
            if not next_link:
                break
            body = self.get(str(next_link), absolute=True)
        else:
            raise ApplyError(f"Graph GET {GROUP_SETTINGS_PATH}: paging would never end")
        if len(found) > 1:  # Graph allows one per template: two is not a tenant the plan understands
            raise ApplyError(f"the tenant has {len(found)} Password Rule Settings objects: expected at most one")
        return found[0] if found else None

    def _write_password_rules(self, change: GraphPasswordRulesChange) -> None:
        if change.setting_id is None:
            self._create_password_rules(password_rule_values({s.name: s.new for s in change.settings}))
            return
        new = {PASSWORD_RULE_FIELDS[s.name]: password_rule_wire(s.name, s.new) for s in change.settings}
        current = self._password_rules()
        if current is None or str(current.get("id")).lower() != change.setting_id.lower():
            raise ApplyError(f"the Password Rule Settings {change.setting_id} changed just before the write")
        stored = _stored(current)
        lacking = [name for name, _ in PASSWORD_RULE_DEFAULTS if name.lower() not in stored and name not in new]
        if lacking:  # the PATCH must carry them, and filling in defaults is a decision the plan did not make
            raise ApplyError(f"the Password Rule Settings {change.setting_id} hold no {', '.join(lacking)}: Graph "
                             "takes only the whole values collection, and the plan does not decide "
                             f"{'these values' if len(lacking) > 1 else 'this value'}")
        boundary(f"change {change.id}: inside the write, between GET and PATCH")
        self._patch_password_rules(change.setting_id, _values_with(current.get("values"), new))

    def _restore_password_rules(self, old: dict[str, Any] | None) -> None:
        current = self._password_rules()
        if old is None:  # apply created it: deleting it is what returns the tenant to its defaults
            if current is not None:
                builder = self.client.group_settings.by_group_setting_id(str(current["id"]))
                self.session.run(builder.delete())
            return
        values = _values_with(old.get("values"), {})
        if current is None:  # deleted since the apply: its values come back in a new object
            self._create_password_rules(values)
        else:
            self._patch_password_rules(str(current["id"]), values)

    def _create_password_rules(self, values: list[tuple[str, Any]]) -> None:
        from msgraph.generated.models.group_setting import GroupSetting
        from msgraph.generated.models.setting_value import SettingValue

        body = GroupSetting(template_id=PASSWORD_RULE_TEMPLATE,
                            values=[SettingValue(name=name, value=value) for name, value in values])
        self.session.run(self.client.group_settings.post(body))

    def _patch_password_rules(self, setting_id: str, values: list[tuple[str, Any]]) -> None:
        from msgraph.generated.models.group_setting import GroupSetting
        from msgraph.generated.models.setting_value import SettingValue

        body = GroupSetting(values=[SettingValue(name=name, value=value) for name, value in values])
        self.session.run(self.client.group_settings.by_group_setting_id(setting_id).patch(body))


_MAX_PAGES = 100


def _stored(setting: dict[str, Any] | None) -> dict[str, Any]:
    """A groupSetting's values by name (case-insensitive, as the reader reads them)."""
    values = setting.get("values") if setting is not None else None
    return {str(v.get("name") or "").lower(): v.get("value") for v in values or [] if isinstance(v, dict)}


def _values_with(values: object, replacements: dict[str, str]) -> list[tuple[str, Any]]:
    """The whole values array to send: every stored value in its order, exactly as stored unless `replacements`
    names it, then each template value the object lacks, `replacements`' or the template's default (Graph takes
    the entire collection, never a part; a write refuses an object that lacks one it does not set, a restore of
    such an object needs it)."""
    wanted = {name.lower(): value for name, value in replacements.items()}
    out: list[tuple[str, Any]] = []
    for item in values if isinstance(values, list) else []:
        if isinstance(item, dict):
            name = str(item.get("name") or "")
            out.append((name, wanted.pop(name.lower(), item.get("value"))))
    present = {name.lower() for name, _ in out}
    for name, default in PASSWORD_RULE_DEFAULTS:
        if name.lower() not in present:
            out.append((name, wanted.pop(name.lower(), default)))
    return out


def _password_rules_state(change: GraphPasswordRulesChange, data: dict[str, Any]) -> Observation:
    setting = data.get("json")
    if setting is not None and not isinstance(setting, dict):
        raise ValueError("not a groupSetting")
    if change.setting_id is not None:
        if setting is None:
            return Observation("other", f"the Password Rule Settings {change.setting_id} no longer exist", data)
        if str(setting.get("id")).lower() != change.setting_id.lower():
            return Observation("other", f"the Password Rule Settings are now {setting.get('id')}, the plan was made "
                                        f"for {change.setting_id}", data)
    stored = _stored(setting)
    pairs = [(s.name, password_rule_value(s.name, stored.get(PASSWORD_RULE_FIELDS[s.name].lower()))
              if setting is not None else None, s.old, s.new) for s in change.settings]
    state, detail = classify(pairs)
    if change.setting_id is None and setting is not None and state != "new":
        return Observation("other", f"Password Rule Settings {setting.get('id')} exist now: the plan was made to "
                                    "create them" + (f" ({detail})" if detail else ""), data)
    return Observation(state, detail, data)


def _ca_policy_state(change: GraphCaPolicyChange, data: dict[str, Any]) -> Observation:
    policy = data.get("json")
    if policy is not None and not isinstance(policy, dict):
        raise ValueError("not a conditionalAccessPolicy")
    if change.policy_id is None:
        if policy is None:
            return Observation("old", "", data)
        if policy.get("state") == change.setting.new:
            return Observation("new", "", data)
        return Observation("other", f"a policy named {change.display_name!r} exists ({policy.get('state')}): the "
                                    "plan was made to create it", data)
    if policy is None or str(policy.get("id")).lower() != change.policy_id.lower():
        return Observation("other", f"the policy {change.policy_id} is no longer named {change.display_name!r}", data)
    state, detail = classify([("state", policy.get("state"), change.setting.old, change.setting.new)])
    return Observation(state, detail, data)


def _same_rules(current: dict[str, Any] | None, old: dict[str, Any] | None) -> bool:
    """Does the tenant hold `old` (None: no object): every value it held, byte for byte?"""
    if old is None or current is None:
        return old is None and current is None
    now = _stored(current)
    return all(now.get(name, _ABSENT) == value for name, value in _stored(old).items())


_ABSENT = object()


@dataclass(frozen=True)
class _Patched:
    """A policy object written by a PATCH of the changed properties (`fields`: snapshot field → property)."""

    path_of: Callable[[Any], str]
    fields: dict[str, str]

    def identity(self, change: Any) -> dict[str, str]:
        return {"path": self.path_of(change), "kind": change.kind}

    def read(self, writer: GraphWriter, change: Any) -> dict[str, Any]:
        path = self.path_of(change)
        return {"path": path, "kind": change.kind, "json": writer.get(path)}

    def state_of(self, change: Any, data: dict[str, Any]) -> Observation:
        body = data["json"]
        state, detail = classify([(s.name, body.get(self.fields[s.name]), s.old, s.new)
                                  for s in change.settings_list()])
        return Observation(state, detail, data)

    def expected(self, change: Any, data: dict[str, Any]) -> dict[str, Any]:
        return {**data, "json": {**data["json"], **{self.fields[s.name]: s.new for s in change.settings_list()}}}

    def write(self, writer: GraphWriter, change: Any) -> None:
        writer._patch(change.kind, self.path_of(change), change.settings_list())


class _MethodsPolicy:
    """The authentication methods policy: `policyMigrationState` at its top, the registration campaign's `state`
    inside `registrationEnforcement` (`graph_fields.METHODS_SETTINGS` says where each setting sits)."""

    @staticmethod
    def identity(change: Any) -> dict[str, str]:
        return {"path": METHODS_PATH, "kind": change.kind}

    @staticmethod
    def read(writer: GraphWriter, change: Any) -> dict[str, Any]:
        return {"path": METHODS_PATH, "kind": change.kind, "json": writer.get(METHODS_PATH)}

    @staticmethod
    def write(writer: GraphWriter, change: Any) -> None:
        writer._patch(change.kind, METHODS_PATH, change.settings_list())

    @staticmethod
    def state_of(change: Any, data: dict[str, Any]) -> Observation:
        body = data["json"]
        state, detail = classify([(s.name, methods_value(body, s.name), s.old, s.new) for s in change.settings_list()])
        return Observation(state, detail, data)

    @staticmethod
    def expected(change: Any, data: dict[str, Any]) -> dict[str, Any] | None:
        body = copy.deepcopy(data["json"])
        for setting in change.settings_list():
            *parents, leaf = METHODS_SETTINGS[setting.name]
            node = body
            for key in parents:
                node = node.get(key) if isinstance(node, dict) else None
            if not isinstance(node, dict):
                return None  # write() refuses a policy without these objects, before any PATCH
            node[leaf] = setting.new
        return {**data, "json": body}


class _PasswordRules:
    """The tenant's Password Rule Settings: the whole values array PATCHed, or a new object POSTed."""

    @staticmethod
    def identity(change: GraphPasswordRulesChange) -> dict[str, str]:
        return {"path": GROUP_SETTINGS_PATH, "template_id": PASSWORD_RULE_TEMPLATE, "kind": change.kind}

    @classmethod
    def read(cls, writer: GraphWriter, change: GraphPasswordRulesChange) -> dict[str, Any]:
        return {**cls.identity(change), "json": writer._password_rules()}

    @staticmethod
    def state_of(change: GraphPasswordRulesChange, data: dict[str, Any]) -> Observation:
        return _password_rules_state(change, data)

    @staticmethod
    def expected(change: GraphPasswordRulesChange, data: dict[str, Any]) -> dict[str, Any]:
        if change.setting_id is None or data.get("json") is None:
            values = password_rule_values({s.name: s.new for s in change.settings})
            return {**data, "json": {"templateId": PASSWORD_RULE_TEMPLATE,
                                     "values": [{"name": name, "value": value} for name, value in values]}}
        new = {PASSWORD_RULE_FIELDS[s.name]: password_rule_wire(s.name, s.new) for s in change.settings}
        values = _values_with(data["json"].get("values"), new)
        return {**data, "json": {**data["json"], "values": [{"name": n, "value": v} for n, v in values]}}

    @staticmethod
    def write(writer: GraphWriter, change: GraphPasswordRulesChange) -> None:
        writer._write_password_rules(change)


class _CaPolicy:
    """The Conditional Access policy the plan owns, found by its display name: POSTed, or its state PATCHed."""

    @staticmethod
    def identity(change: GraphCaPolicyChange) -> dict[str, str]:
        return {"path": CA_POLICIES_PATH, "display_name": change.display_name, "kind": change.kind}

    @classmethod
    def read(cls, writer: GraphWriter, change: GraphCaPolicyChange) -> dict[str, Any]:
        return {**cls.identity(change), "json": writer._ca_policy(change.display_name)}

    @staticmethod
    def state_of(change: GraphCaPolicyChange, data: dict[str, Any]) -> Observation:
        return _ca_policy_state(change, data)

    @staticmethod
    def expected(change: GraphCaPolicyChange, data: dict[str, Any]) -> dict[str, Any] | None:
        if change.policy_id is None or data.get("json") is None:
            return None  # Graph assigns the new policy's id and times
        return {**data, "json": {**data["json"], "state": change.setting.new}}

    @staticmethod
    def write(writer: GraphWriter, change: GraphCaPolicyChange) -> None:
        writer._write_ca_policy(change)


# change kind → the Graph object it writes, and how
_OBJECTS: dict[str, _Patched | type[_MethodsPolicy] | type[_PasswordRules] | type[_CaPolicy]] = {
    "graph.authorization_policy": _Patched(lambda change: AUTHORIZATION_PATH, AUTHORIZATION_FIELDS),
    "graph.methods_policy": _MethodsPolicy,
    "graph.method_configuration": _Patched(lambda change: CONFIGURATION_PATH.format(id=change.configuration_id),
                                           CONFIGURATION_FIELDS),
    "graph.password_rules": _PasswordRules,
    "graph.ca_policy": _CaPolicy,
}
