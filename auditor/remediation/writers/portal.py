"""Write the portal's SSPR API: PasswordResetPolicies as a whole object, OnPremises one field per PUT.

PasswordResetPolicies is only accepted whole, so every change is GET, modify its fields, PUT
the full object back (other fields, including ones this tool does not know, go back as read).
OnPremisesPasswordResetPolicies gets one field per PUT: O365Essentials reports that the portal
ignores unlock when it comes with other fields.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from auditor.portal_fields import ENABLEMENT_CODE, ONPREM_FIELDS, ONPREM_WRITABLE, SSPR_FIELDS
from auditor.readers.portal import (
    ONPREM_PATH,
    SSPR_PATH,
    OnPremisesPasswordResetPoliciesWire,
    PasswordResetPoliciesWire,
    PortalClient,
    sspr_state_from_wire,
)
from auditor.remediation.changes import PortalOnPremChange, PortalSsprChange
from auditor.remediation.crashpoints import boundary
from auditor.remediation.session import ApplyError
from auditor.remediation.writers.base import Observation, Writer, classify

if TYPE_CHECKING:
    from auditor.remediation.session import BackupObject

_GROUP = {"getPasswordResetEnabledGroup": "true"}


def to_wire(name: str, value: Any) -> Any:
    return ENABLEMENT_CODE[value] if name == "enablement" else value


class PortalWriter(Writer):
    @property
    def portal(self) -> PortalClient:
        targets = self.session.targets
        if not targets.portal_url or targets.portal_credential is None:
            raise ApplyError("the plan changes the portal's SSPR policy but no portal API is configured "
                             "(--portal, --portal-url, --portal-auth)")
        url, credential = targets.portal_url, targets.portal_credential
        return self.session.client("portal", lambda: PortalClient(url, credential, targets.timeout_seconds),
                                   lambda client: self.session.run(client.aclose()))

    def _get(self, path: str) -> dict[str, Any]:
        body = self.session.run(self.portal.get_json(path, params=_GROUP if path == SSPR_PATH else None))
        if not isinstance(body, dict):
            raise ApplyError(f"portal GET {path} did not return an object")
        return body

    @staticmethod
    def identity(change: Any) -> dict[str, str]:
        return {"path": _OBJECTS[change.kind].path}

    def read(self, change: Any) -> dict[str, Any]:
        path = _OBJECTS[change.kind].path
        return {"path": path, "json": self._get(path)}

    @staticmethod
    def state_of(change: Any, data: dict[str, Any]) -> Observation:
        state_name, detail = classify(_OBJECTS[change.kind].pairs(change, data["json"]))
        return Observation(state_name, detail, data)

    @staticmethod
    def expected(change: Any, data: dict[str, Any]) -> dict[str, Any]:
        return {**data, "json": _OBJECTS[change.kind].written(change, dict(data["json"]))}

    def write(self, change: Any) -> None:
        _OBJECTS[change.kind].write(self, change)

    def matches(self, obj: BackupObject) -> bool:
        return bool(self._get(obj.data["path"]) == obj.data["json"])  # backup data: JSON

    def restore(self, obj: BackupObject) -> None:
        path, old = obj.data["path"], obj.data["json"]
        if path == SSPR_PATH:
            self.session.run(self.portal.put_json(SSPR_PATH, old))
            return
        current = self._get(ONPREM_PATH)
        for field in (ONPREM_FIELDS[name] for name in ONPREM_WRITABLE):
            if field in old and current.get(field) != old[field]:
                self.session.run(self.portal.put_json(ONPREM_PATH, {field: old[field]}))


class _PasswordResetPolicies:
    """`portal.sspr_policy`: the whole object, GET-modify-PUT (the portal takes it only whole)."""

    path = SSPR_PATH

    @staticmethod
    def pairs(change: PortalSsprChange, body: dict[str, Any]) -> list[tuple[str, Any, Any, Any]]:
        state = sspr_state_from_wire(PasswordResetPoliciesWire.model_validate(body))
        return [(s.name, getattr(state, s.name), s.old, s.new) for s in change.settings]

    @staticmethod
    def written(change: PortalSsprChange, body: dict[str, Any]) -> dict[str, Any]:
        body.update({SSPR_FIELDS[s.name]: to_wire(s.name, s.new) for s in change.settings})
        return body

    @staticmethod
    def write(writer: PortalWriter, change: PortalSsprChange) -> None:
        body = writer._get(SSPR_PATH)
        for setting in change.settings:
            body[SSPR_FIELDS[setting.name]] = to_wire(setting.name, setting.new)
        boundary(f"change {change.id}: inside the write, between GET and PUT")
        writer.session.run(writer.portal.put_json(SSPR_PATH, body))


class _OnPremisesPasswordResetPolicies:
    """`portal.onprem_writeback`: one field per PUT (the portal ignores unlock when it comes with others)."""

    path = ONPREM_PATH

    @staticmethod
    def pairs(change: PortalOnPremChange, body: dict[str, Any]) -> list[tuple[str, Any, Any, Any]]:
        wire = OnPremisesPasswordResetPoliciesWire.model_validate(body)
        field = ONPREM_FIELDS[change.setting.name]
        return [(change.setting.name, getattr(wire, field), change.setting.old, change.setting.new)]

    @staticmethod
    def written(change: PortalOnPremChange, body: dict[str, Any]) -> dict[str, Any]:
        body[ONPREM_FIELDS[change.setting.name]] = change.setting.new
        return body

    @staticmethod
    def write(writer: PortalWriter, change: PortalOnPremChange) -> None:
        field = ONPREM_FIELDS[change.setting.name]
        writer.session.run(writer.portal.put_json(ONPREM_PATH, {field: change.setting.new}))


# change kind → the portal object it writes, and how
_OBJECTS: dict[str, type[_PasswordResetPolicies] | type[_OnPremisesPasswordResetPolicies]] = {
    "portal.sspr_policy": _PasswordResetPolicies,
                            "portal.onprem_writeback": _OnPremisesPasswordResetPolicies}
