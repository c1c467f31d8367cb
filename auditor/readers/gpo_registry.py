"""Read `AllowPasswordReset` from every GPO's `Machine\\Registry.pol` on SYSVOL (smbprotocol).

The reset link on the Windows sign-in screen is the machine policy value
`HKLM\\Software\\Policies\\Microsoft\\AzureADAccount\\AllowPasswordReset`, which a GPO carries in
its `Machine\\Registry.pol` (the PReg format, parsed by `auditor.ad.registry_pol`). The directory
section names the GPOs and where each is linked (gPLink on the domain head and OUs); this reader
reads each GPO's file and records the value with whether the GPO reaches member computers.

One GPO whose file cannot be read or parsed is recorded with its error (the check then cannot
count it either way); only a failure to reach SYSVOL at all fails the section. Never raises for
network or SMB errors.
"""

from __future__ import annotations

import errno
import logging
import re
from typing import TYPE_CHECKING, Any, Protocol

from auditor import progress
from auditor.ad import gpp_registry, registry_pol
from auditor.ad.wellknown import GPO_GUID_PATTERN
from auditor.readers import smb
from auditor.snapshot.directory import DirectoryState, GroupPolicy
from auditor.snapshot.models import Section
from auditor.snapshot.tenant import GpoRegistryValue, GpoSignInResetState

if TYPE_CHECKING:
    from auditor.readers.directory import AdSettings

log = logging.getLogger(__name__)

MAX_FILE_BYTES = 16 * 1024 * 1024  # real Registry.pol files are kilobytes; refuse to buffer a runaway one
_GPO_GUID = re.compile(GPO_GUID_PATTERN)
_ENOENT = errno.ENOENT


def policies_folder(host: str, dns_domain: str) -> str:
    return rf"\\{host}\SYSVOL\{dns_domain}\Policies"


def read_gpo_sign_in_reset(settings: AdSettings, directory: Section[DirectoryState]) -> Section[GpoSignInResetState]:
    """`AllowPasswordReset` in each GPO's machine Registry.pol, with whether the GPO reaches computers."""
    import smbclient

    host = smb.host_of(settings)
    state = directory.value
    if state is None or not directory.readable:
        source = "smb:" + rf"{policies_folder(host, '<domain>')}\*\{registry_pol.MACHINE_POLICY_FILE}"
        return Section[GpoSignInResetState].failed(
            source, "the GPOs and their links are read from the directory, which could not be read: "
                    f"{directory.error or 'no value'}")
    root = policies_folder(host, state.dns_domain)
    source = "smb:" + rf"{root}\*\{registry_pol.MACHINE_POLICY_FILE}"
    try:
        with smb.session(settings) as cache:
            values = [_gpo_value(smbclient, root, gpo, cache) for gpo in state.gpos]
    except smb.SmbFailure as exc:
        return Section[GpoSignInResetState].failed(source, str(exc))
    read = sum(1 for v in values if v.error is None)
    return Section[GpoSignInResetState].ok(source, GpoSignInResetState(gpos_read=read, values=values))


def _gpo_value(smbclient: Any, root: str, gpo: GroupPolicy, cache: dict[str, Any]) -> GpoRegistryValue:
    from smbprotocol.exceptions import SMBOSError

    links = gpo.computer_links()
    linked_to = tuple(link.container for link in links)

    def result(value: int | None, error: str | None = None, source: str | None = None) -> GpoRegistryValue:
        return GpoRegistryValue(gpo.guid, gpo.display_name, bool(links), value, linked_to, error, source)

    if not _GPO_GUID.match(gpo.guid):  # the folder name comes from the directory: never a path of its own
        return result(None, f"not a GPO GUID, so no SYSVOL folder is looked up for it: {gpo.guid!r}")
    folder = rf"{root}\{gpo.guid}"
    path = rf"{folder}\{registry_pol.MACHINE_POLICY_FILE}"
    try:
        with smbclient.open_file(path, mode="rb", connection_cache=cache) as handle:
            data = handle.read(MAX_FILE_BYTES + 1)
        progress.advance("SYSVOL", "GPO files", 1, "files")
    except SMBOSError as exc:
        if exc.errno != _ENOENT:
            return result(None, f"{path}: {exc.strerror or exc}")
        try:
            missing = not smbclient.path.isdir(folder, connection_cache=cache)
        except SMBOSError as folder_exc:
            return result(None, f"{folder}: {folder_exc.strerror or folder_exc}")
        if missing:
            return result(None, f"the GPO's folder {folder} is missing from SYSVOL")
        return result(None)  # no machine registry settings at all
    if len(data) > MAX_FILE_BYTES:
        return result(None, f"{path} is larger than {MAX_FILE_BYTES} bytes; not read")
    try:
        value = registry_pol.allow_password_reset(data)
    except registry_pol.RegistryPolError as exc:
        return result(None, f"{path} is not a readable Registry.pol: {exc}")
    return _with_preferences(smbclient, folder, cache, value, result)


class _Result(Protocol):
    """What `_gpo_value` answers for its GPO: the value, why it is unknown, the file that set it."""

    def __call__(self, value: int | None, error: str | None = None, source: str | None = None) -> GpoRegistryValue:
        ...


def _with_preferences(smbclient: Any, folder: str, cache: dict[str, Any], policy_value: int | None,
                      result: _Result) -> GpoRegistryValue:
    """The Preferences Registry.xml of the same GPO: where it sets AllowPasswordReset, its value stays.

    The Group Policy Preferences registry extension runs after the Administrative Templates (Registry.pol)
    one (client-side extensions run in the order of their GUIDs: {35378EAC-...} before {B087BE9D-...};
    an ordering we could not confirm in Microsoft's documentation, so a disagreement is reported).
    """
    from smbprotocol.exceptions import SMBOSError

    path = rf"{folder}\{gpp_registry.MACHINE_PREFERENCES_FILE}"
    pol_source = registry_pol.MACHINE_POLICY_FILE if policy_value is not None else None
    try:
        with smbclient.open_file(path, mode="rb", connection_cache=cache) as handle:
            data = handle.read(gpp_registry.MAX_BYTES + 1)
        progress.advance("SYSVOL", "GPO files", 1, "files")
    except SMBOSError as exc:
        if exc.errno == _ENOENT:
            return result(policy_value, None, pol_source)
        return result(None, f"{path}: {exc.strerror or exc}")
    except OSError as exc:  # a missing Preferences folder surfaces as another OSError on some servers
        if getattr(exc, "errno", None) == _ENOENT:
            return result(policy_value, None, pol_source)
        raise
    try:
        value, why = gpp_registry.machine_value(gpp_registry.parse(data), registry_pol.SIGN_IN_RESET_KEY,
                                                registry_pol.SIGN_IN_RESET_VALUE)
    except gpp_registry.GppError as exc:
        return result(None, f"{path} is not a readable Registry.xml: {exc}")
    if why is not None:
        return result(None, f"{path}: {why}")
    if value is None:
        return result(policy_value, None, pol_source)
    if policy_value is not None and policy_value != value:
        return result(None, f"Registry.pol sets AllowPasswordReset to {policy_value} and the Preferences "
                            f"Registry.xml to {value}: which one a computer keeps was not confirmed")
    return result(value, None, gpp_registry.MACHINE_PREFERENCES_FILE)
