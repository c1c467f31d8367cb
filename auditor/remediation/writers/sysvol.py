"""Write a GPO's GptTmpl.inf over SMB (smbprotocol) and bump the GPO's version, as the GPO editor does.

The file keeps its encoding, its line ends and every other byte (`auditor.ad.gpttmpl`); only
the one key changes. The version goes up by one in the machine part (low 16 bits) of both the
GPO's LDAP object (`versionNumber`) and `GPT.INI`, so DCs apply the new setting. Restoring puts
the old file back byte for byte and bumps the version again: lowering a GPO version would make
DCs skip the restored setting.
"""

from __future__ import annotations

import base64
import hashlib
from typing import TYPE_CHECKING, Any

from auditor.ad import gpttmpl
from auditor.readers import smb
from auditor.remediation.crashpoints import boundary
from auditor.remediation.session import ApplyError
from auditor.remediation.writers.base import Observation, Writer

if TYPE_CHECKING:
    from auditor.remediation.session import BackupObject
    from auditor.remediation.writers.ldap import LdapWriter

_MACHINE = "\\MACHINE\\"


def bumped(version: int) -> int:
    """The GPO version with the machine part (low 16 bits) one higher, the user part kept."""
    return (version & ~0xFFFF) | (((version & 0xFFFF) + 1) & 0xFFFF)


def new_template(minimum_password_age: int) -> gpttmpl.GptTmpl:
    """A GptTmpl.inf holding only this setting, in the shape a Windows DC writes."""
    lines = ("[Unicode]", "Unicode=yes", "[System Access]", f"MinimumPasswordAge = {minimum_password_age}",
             "[Version]", 'signature="$CHICAGO$"', "Revision=1")
    return gpttmpl.GptTmpl(encoding="utf-16-le-bom", newline="\r\n", lines=lines)


class SysvolWriter(Writer):
    def _smb(self) -> dict[str, Any]:
        settings = self.session.targets.ad
        if settings is None:
            raise ApplyError("the plan changes SYSVOL but no domain controller is configured "
                             "(--ad-host, --ad-user, SSPR_AD_PASSWORD)")

        def make() -> dict[str, Any]:
            try:
                return smb.open_session(settings)
            except smb.SmbFailure as exc:
                raise ApplyError(str(exc)) from None

        cache: dict[str, Any] = self.session.client("smb", make, smb.close_session)
        return cache

    @property
    def host(self) -> str:
        settings = self.session.targets.ad
        assert settings is not None
        return smb.host_of(settings)

    @property
    def ldap(self) -> LdapWriter:
        from auditor.remediation.writers.ldap import LdapWriter

        writer = self.session.writer("ldap")
        if not isinstance(writer, LdapWriter):  # make_writer maps "ldap" to LdapWriter
            raise TypeError(f"the session's ldap writer is a {type(writer).__name__}")
        return writer

    def paths(self, unc: str) -> tuple[str, str]:
        """(GptTmpl.inf, GPT.INI) on this run's SMB host: SYSVOL's layout is the same on every DC."""
        rest = unc.lstrip("\\").split("\\", 1)[1]
        template = f"\\\\{self.host}\\{rest}"
        cut = template.upper().find(_MACHINE)
        if cut < 0:
            raise ApplyError(f"not a GPO file path: {unc}")
        return template, template[:cut] + "\\GPT.INI"

    def read_file(self, path: str) -> bytes | None:
        import smbclient
        from smbprotocol.exceptions import SMBOSError

        try:
            with smbclient.open_file(path, mode="rb", connection_cache=self._smb()) as handle:
                return bytes(handle.read())
        except SMBOSError as exc:
            if exc.errno == 2:
                return None
            raise

    def write_file(self, path: str, data: bytes) -> None:
        import smbclient

        cache = self._smb()
        folder = path.rsplit("\\", 1)[0]
        smbclient.makedirs(folder, exist_ok=True, connection_cache=cache)
        with smbclient.open_file(path, mode="wb", connection_cache=cache) as handle:
            handle.write(data)

    def remove_file(self, path: str) -> None:
        import smbclient

        smbclient.remove(path, connection_cache=self._smb())

    # -- the writer --------------------------------------------------------------------------

    @staticmethod
    def identity(change: Any) -> dict[str, str]:
        return {"gpo_dn": change.gpo_dn, "path": change.path}

    def read(self, change: Any) -> dict[str, Any]:
        template_path, ini_path = self.paths(change.path)
        data = self.read_file(template_path)
        ini = self.read_file(ini_path)
        version = self.ldap.integer(change.gpo_dn, "versionNumber")
        return {"path": template_path, "gpt_ini_path": ini_path, "gpo_dn": change.gpo_dn,
                "content_b64": base64.b64encode(data).decode() if data is not None else None,
                "gpt_ini_b64": base64.b64encode(ini).decode() if ini is not None else None,
                "version_number": version}

    @staticmethod
    def state_of(change: Any, backup: dict[str, Any]) -> Observation:
        data = base64.b64decode(backup["content_b64"]) if backup.get("content_b64") is not None else None
        value = gpttmpl.minimum_password_age(gpttmpl.parse(data)) if data is not None else None
        sha = hashlib.sha256(data).hexdigest() if data is not None else None
        if data is not None and value == change.setting.new:
            return Observation("new", "", backup)
        if sha == change.old_content_sha256:
            return Observation("old", "", backup)
        seen = "absent" if data is None else f"MinimumPasswordAge = {value}, sha256 {sha}"
        return Observation("other", f"GptTmpl.inf changed since the plan was made ({seen})", backup)

    @staticmethod
    def expected(change: Any, data: dict[str, Any]) -> dict[str, Any]:
        old = base64.b64decode(data["content_b64"]) if data.get("content_b64") is not None else None
        version = data.get("version_number")
        return {**data, "content_b64": base64.b64encode(_written(change, old)).decode(),
                "version_number": bumped(version or 0)}

    def write(self, change: Any) -> None:
        template_path, ini_path = self.paths(change.path)
        self.write_file(template_path, _written(change, self.read_file(template_path)))
        boundary(f"change {change.id}: inside the write, GptTmpl.inf written, the GPO version not yet bumped")
        self.bump_version(change.gpo_dn, ini_path)

    def bump_version(self, gpo_dn: str, ini_path: str) -> None:
        current = self.ldap.integer(gpo_dn, "versionNumber") or 0
        version = bumped(current)
        self.ldap.replace(gpo_dn, "versionNumber", str(version))
        boundary("inside the version bump, versionNumber written, GPT.INI not yet")
        ini = self.read_file(ini_path)
        if ini is None:
            self.write_file(ini_path, f"[General]\r\nVersion={version}\r\n".encode("ascii"))
            return
        self.write_file(ini_path, gpttmpl.parse(ini).with_value("General", "Version", str(version)).to_bytes())

    def matches(self, obj: BackupObject) -> bool:
        data = self.read_file(self.paths(obj.data["path"])[0])
        old = obj.data["content_b64"]
        return data == (base64.b64decode(old) if old is not None else None)

    def restore(self, obj: BackupObject) -> None:
        template_path, ini_path = self.paths(obj.data["path"])
        old = obj.data["content_b64"]
        if old is None:
            if self.read_file(template_path) is not None:
                self.remove_file(template_path)
        else:
            self.write_file(template_path, base64.b64decode(old))
        self.bump_version(obj.data["gpo_dn"], ini_path)


def _written(change: Any, data: bytes | None) -> bytes:
    """GptTmpl.inf's bytes with the change made: every other byte as it was (or a new file in a DC's shape)."""
    template = gpttmpl.parse(data) if data is not None else new_template(change.setting.new)
    return template.with_value(gpttmpl.SYSTEM_ACCESS, gpttmpl.MINIMUM_PASSWORD_AGE, str(change.setting.new)).to_bytes()
