"""Write the directory over LDAP (ldap3): ACEs added to a DACL, and minimum password ages.

Descriptors are read and written with the SD flags control set to DACL only, so the owner,
group and SACL are never touched (and a delegated account without SeSecurityPrivilege can
write). New ACEs go in canonical order (`auditor.ad.sd.with_aces`). The connection is the
reader's (TLS verified, same error wording), opened for writing: this is the one place that may.
"""

from __future__ import annotations

import base64
import hashlib
from typing import TYPE_CHECKING, Any

from auditor.ad.sd import parse_dacl, with_aces
from auditor.remediation.changes import LdapDaclChange, LdapPasswordAgeChange
from auditor.remediation.session import ApplyError
from auditor.remediation.writers.base import Observation, Writer, classify

if TYPE_CHECKING:
    from auditor.remediation.session import BackupObject

SD_FLAGS_DACL = 0x04
# the scope of a password-age change → the attribute that holds it
AGE_ATTRIBUTES = {"domain": "minPwdAge", "fine_grained": "msDS-MinimumPasswordAge"}


class LdapWriter(Writer):
    @property
    def conn(self) -> Any:
        settings = self.session.targets.ad
        if settings is None:
            raise ApplyError("the plan changes Active Directory but no domain controller is configured "
                             "(--ad-host, --ad-user, SSPR_AD_PASSWORD)")

        def make() -> Any:
            from auditor.readers.directory import DirectoryReadError, connect

            try:
                conn = connect(settings)
            except DirectoryReadError as exc:
                raise ApplyError(str(exc)) from None
            conn.read_only = False  # the reader opens read-only connections; writers may write
            return conn

        return self.session.client("ldap", make, lambda conn: conn.unbind())

    # -- primitives --------------------------------------------------------------------------

    def read_attribute(self, dn: str, attribute: str, *, sd: bool = False) -> bytes | None:
        from ldap3 import BASE
        from ldap3.protocol.microsoft import security_descriptor_control

        controls = security_descriptor_control(sdflags=SD_FLAGS_DACL) if sd else None
        if not self.conn.search(dn, "(objectClass=*)", BASE, attributes=[attribute], controls=controls):
            raise ApplyError(f"cannot read {attribute} of {dn}: {_ldap_result(self.conn)}")
        entries = [e for e in self.conn.response if e.get("type") == "searchResEntry"]
        values = entries[0]["raw_attributes"].get(attribute) if entries else None
        return bytes(values[0]) if values else None

    def replace(self, dn: str, attribute: str, value: bytes | str, *, sd: bool = False) -> None:
        from ldap3 import MODIFY_REPLACE
        from ldap3.protocol.microsoft import security_descriptor_control

        controls = security_descriptor_control(sdflags=SD_FLAGS_DACL) if sd else None
        if not self.conn.modify(dn, {attribute: [(MODIFY_REPLACE, [value])]}, controls=controls):
            raise ApplyError(f"writing {attribute} of {dn} was refused: {_ldap_result(self.conn)}")

    def descriptor(self, dn: str) -> bytes:
        raw = self.read_attribute(dn, "nTSecurityDescriptor", sd=True)
        if raw is None:
            raise ApplyError(f"the DC returned no nTSecurityDescriptor for {dn} (no right to read it?)")
        return raw

    def integer(self, dn: str, attribute: str) -> int | None:
        raw = self.read_attribute(dn, attribute)
        return int(raw.decode()) if raw is not None else None

    # -- the writer --------------------------------------------------------------------------

    @staticmethod
    def identity(change: Any) -> dict[str, str]:
        return {"dn": change.dn, "attribute": _OBJECTS[change.kind].attribute(change)}

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

    def matches(self, obj: BackupObject) -> bool:
        data = obj.data
        if data["attribute"] == "nTSecurityDescriptor":
            return self.descriptor(data["dn"]) == base64.b64decode(data["descriptor_b64"])
        return bool(self.integer(data["dn"], data["attribute"]) == data["value"])  # backup data: JSON

    def restore(self, obj: BackupObject) -> None:
        data = obj.data
        if data["attribute"] == "nTSecurityDescriptor":
            self.replace(data["dn"], "nTSecurityDescriptor", base64.b64decode(data["descriptor_b64"]), sd=True)
        elif data["value"] is None:
            raise ApplyError(f"{data['attribute']} of {data['dn']} had no value before: restore it by hand")
        else:
            self.replace(data["dn"], data["attribute"], str(int(data["value"])))


def _ldap_result(conn: Any) -> str:
    result = conn.result or {}
    return f"{result.get('description')} {(result.get('message') or '').strip()}".strip()


class _Descriptor:
    """`ldap.dacl`: allow ACEs added to an object's DACL."""

    @staticmethod
    def attribute(change: LdapDaclChange) -> str:
        return "nTSecurityDescriptor"

    @staticmethod
    def read(writer: LdapWriter, change: LdapDaclChange) -> dict[str, Any]:
        raw = writer.descriptor(change.dn)
        return {"dn": change.dn, "attribute": "nTSecurityDescriptor", "descriptor_b64": base64.b64encode(raw).decode()}

    @staticmethod
    def state_of(change: LdapDaclChange, data: dict[str, Any]) -> Observation:
        raw = base64.b64decode(data["descriptor_b64"])
        present = set(parse_dacl(raw).aces)
        if all(ace in present for ace in change.add_aces):
            return Observation("new", "", data)
        if hashlib.sha256(raw).hexdigest() == change.old_descriptor_sha256:
            return Observation("old", "", data)
        return Observation("other", "the descriptor changed since the plan was made (its sha256 differs) and does "
                                    "not hold the planned ACEs", data)

    @staticmethod
    def expected(change: LdapDaclChange, data: dict[str, Any]) -> dict[str, Any] | None:
        return None  # the DC keeps the DACL in its own canonical form: read back, never predicted

    @staticmethod
    def write(writer: LdapWriter, change: LdapDaclChange) -> None:
        writer.replace(change.dn, "nTSecurityDescriptor", with_aces(writer.descriptor(change.dn), change.add_aces),
                       sd=True)


class _PasswordAge:
    """`ldap.password_age`: the domain head's minPwdAge or a fine-grained policy's msDS-MinimumPasswordAge."""

    @staticmethod
    def attribute(change: LdapPasswordAgeChange) -> str:
        return AGE_ATTRIBUTES[change.scope]

    @staticmethod
    def read(writer: LdapWriter, change: LdapPasswordAgeChange) -> dict[str, Any]:
        attribute = AGE_ATTRIBUTES[change.scope]
        return {"dn": change.dn, "attribute": attribute, "value": writer.integer(change.dn, attribute)}

    @staticmethod
    def state_of(change: LdapPasswordAgeChange, data: dict[str, Any]) -> Observation:
        state, detail = classify([(AGE_ATTRIBUTES[change.scope], data.get("value"), change.setting.old,
                                   change.setting.new)])
        return Observation(state, detail, data)

    @staticmethod
    def expected(change: LdapPasswordAgeChange, data: dict[str, Any]) -> dict[str, Any] | None:
        return {**data, "value": int(change.setting.new)}

    @staticmethod
    def write(writer: LdapWriter, change: LdapPasswordAgeChange) -> None:
        writer.replace(change.dn, AGE_ATTRIBUTES[change.scope], str(int(change.setting.new)))


# change kind → how this writer reads, judges and writes its object
_OBJECTS: dict[str, type[_Descriptor] | type[_PasswordAge]] = {"ldap.dacl": _Descriptor,
                                                              "ldap.password_age": _PasswordAge}
