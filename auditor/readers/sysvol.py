"""Read the GPOs' security templates (GptTmpl.inf) from SYSVOL over SMB (smbprotocol).

The Default Domain Policy's is the section's own value; every other linked GPO's is read too, because
any GPO linked to the domain head can set the domain's password policy (`auditor.derive.gpo_precedence`).

SMB 3 with signing and encryption, NTLM with the same account as the LDAP bind (a UPN or
DOMAIN\\user). The file may be UTF-16 (as Windows writes it) or ASCII (as samba-tool does);
its encoding is recorded so a later rewrite can keep it. Never raises for network or SMB
errors: they become a failed section with the reason.
"""

from __future__ import annotations

import base64
import errno
import logging
import re
from typing import TYPE_CHECKING, Any

from auditor import progress
from auditor.ad import gpttmpl
from auditor.ad.wellknown import DEFAULT_DOMAIN_POLICY_GUID, GPO_GUID_PATTERN
from auditor.readers import smb
from auditor.snapshot.directory import GpoTemplate, GroupPolicy, SysvolState
from auditor.snapshot.models import Section

if TYPE_CHECKING:
    from auditor.readers.directory import AdSettings

log = logging.getLogger(__name__)

SECEDIT = gpttmpl.GPO_FILE
MAX_TEMPLATE_BYTES = 4 * 1024 * 1024  # real security templates are kilobytes; refuse to buffer a runaway one
_GPO_GUID = re.compile(GPO_GUID_PATTERN)
_ENOENT = errno.ENOENT
# GpoTemplate field → [System Access] key (account lockout, auditor.ad.gpttmpl has the source)
LOCKOUT_KEYS = {"lockout_bad_count": gpttmpl.LOCKOUT_BAD_COUNT, "reset_lockout_count": gpttmpl.RESET_LOCKOUT_COUNT,
                "lockout_duration": gpttmpl.LOCKOUT_DURATION}


def gpo_folder(host: str, dns_domain: str, gpo_guid: str = DEFAULT_DOMAIN_POLICY_GUID) -> str:
    return rf"\\{host}\SYSVOL\{dns_domain}\Policies\{gpo_guid}"


def read_sysvol(settings: AdSettings, dns_domain: str | None,
                gpo_guid: str = DEFAULT_DOMAIN_POLICY_GUID,
                gpos: list[GroupPolicy] | None = None) -> Section[SysvolState]:
    """The GPO's security template (MinimumPasswordAge, encoding, bytes) and GPT.INI version, and the
    templates of every other GPO in `gpos` that is linked somewhere (each with its own error).

    With `dns_domain` None (LDAP could not tell it) the domain's folder is found on the share.
    """
    import smbclient

    host = smb.host_of(settings)
    folder = gpo_folder(host, dns_domain or "<domain>", gpo_guid)
    source = "smb:" + rf"{folder}\{SECEDIT}"
    try:
        with smb.session(settings) as cache:
            if dns_domain is None:
                domains = [d for d in smbclient.listdir(rf"\\{host}\SYSVOL", connection_cache=cache) if "." in d]
                if len(domains) != 1:
                    return Section[SysvolState].failed(
                        source, f"cannot tell the domain's SYSVOL folder from {domains}; give --ad-base-dn")
                dns_domain = domains[0]
                folder = gpo_folder(host, dns_domain, gpo_guid)
                source = "smb:" + rf"{folder}\{SECEDIT}"
            if not smbclient.path.isdir(folder, connection_cache=cache):
                return Section[SysvolState].failed(source, f"the GPO folder {folder} does not exist on SYSVOL")
            main = _template(smbclient, folder, gpo_guid, cache)
            if main.error is not None:
                return Section[SysvolState].failed(source, main.error)
            others = [_template(smbclient, gpo_folder(host, dns_domain, g.guid), g.guid, cache)
                      for g in gpos or [] if g.links and g.guid.upper() != gpo_guid.upper()]
    except smb.SmbFailure as exc:
        return Section[SysvolState].failed(source, str(exc))
    return Section[SysvolState].ok(source, SysvolState(**main.model_dump(), templates=others))


def _template(smbclient: Any, folder: str, gpo_guid: str, cache: dict[str, Any]) -> GpoTemplate:
    """One GPO's GptTmpl.inf; a missing file is `present=False`, anything unreadable is `error`."""
    from smbprotocol.exceptions import SMBOSError

    path = rf"{folder}\{SECEDIT}"
    if not _GPO_GUID.match(gpo_guid):  # the folder name comes from the directory: never a path of its own
        return GpoTemplate(path=path, gpo_guid=gpo_guid, present=False,
                           error=f"not a GPO GUID, so no SYSVOL folder is looked up for it: {gpo_guid!r}")
    try:
        version = _gpt_ini_version(smbclient, rf"{folder}\GPT.INI", cache)
        with smbclient.open_file(path, mode="rb", connection_cache=cache) as handle:
            data = handle.read(MAX_TEMPLATE_BYTES + 1)
        progress.advance("SYSVOL", "GPO files", 1, "files")
    except SMBOSError as exc:
        if exc.errno != _ENOENT:
            return GpoTemplate(path=path, gpo_guid=gpo_guid, present=False, error=f"{path}: {exc.strerror or exc}")
        return GpoTemplate(path=path, gpo_guid=gpo_guid, present=False,
                           gpt_ini_version=_gpt_ini_version_or_none(smbclient, folder, cache))
    except gpttmpl.GptTmplError as exc:
        return GpoTemplate(path=path, gpo_guid=gpo_guid, present=False, error=f"GPT.INI is not readable: {exc}")
    if len(data) > MAX_TEMPLATE_BYTES:
        return GpoTemplate(path=path, gpo_guid=gpo_guid, present=True,
                           error=f"{path} is larger than {MAX_TEMPLATE_BYTES} bytes; not read")
    try:
        template = gpttmpl.parse(data)
        age = gpttmpl.minimum_password_age(template)
        maximum = gpttmpl.system_access_int(template, gpttmpl.MAXIMUM_PASSWORD_AGE)
        bad_count, reset_count, duration = (gpttmpl.system_access_int(template, LOCKOUT_KEYS[field])
                                            for field in ("lockout_bad_count", "reset_lockout_count",
                                                          "lockout_duration"))
    except gpttmpl.GptTmplError as exc:
        return GpoTemplate(path=path, gpo_guid=gpo_guid, present=True, error=f"GptTmpl.inf is not readable: {exc}")
    return GpoTemplate(path=path, gpo_guid=gpo_guid, present=True, encoding=template.encoding,
                       newline="CRLF" if template.newline == "\r\n" else "LF", minimum_password_age=age,
                       maximum_password_age=maximum,
                       lockout_bad_count=bad_count, reset_lockout_count=reset_count, lockout_duration=duration,
                       content_b64=base64.b64encode(data).decode(), gpt_ini_version=version)


def _gpt_ini_version_or_none(smbclient: Any, folder: str, cache: dict[str, Any]) -> int | None:
    try:
        return _gpt_ini_version(smbclient, rf"{folder}\GPT.INI", cache)
    except Exception:  # the version only matters when the file exists and will be rewritten
        log.debug("GPT.INI not readable in %s", folder, exc_info=True)
        return None


def _gpt_ini_version(smbclient: Any, path: str, cache: dict[str, Any]) -> int | None:
    from smbprotocol.exceptions import SMBOSError

    try:
        with smbclient.open_file(path, mode="rb", connection_cache=cache) as handle:
            data = handle.read()
        progress.advance("SYSVOL", "GPO files", 1, "files")  # once the file is read, as for GptTmpl.inf
        return gpttmpl.gpt_ini_version(data)
    except SMBOSError as exc:
        if exc.errno == 2:
            return None
        raise
