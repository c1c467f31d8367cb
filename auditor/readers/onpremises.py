"""Everything on-premises for one run: the directory over LDAP, then SYSVOL over SMB (two sessions side by side).

The directory says which GPOs exist and where they are linked; the SYSVOL readers read their files.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import NamedTuple

from auditor import progress
from auditor.ad.dn import dns_domain
from auditor.policy.models import Directory
from auditor.readers.directory import AdSettings, read_directory
from auditor.readers.gpo_registry import read_gpo_sign_in_reset
from auditor.readers.sysvol import read_sysvol
from auditor.snapshot.directory import DirectoryDiscovery, DirectoryState, SysvolState
from auditor.snapshot.models import Section
from auditor.snapshot.tenant import GpoSignInResetState


class OnPremisesSections(NamedTuple):
    """The snapshot sections read on-premises (their names are the Snapshot's field names)."""

    directory: Section[DirectoryState]
    sysvol: Section[SysvolState]
    gpo_sign_in_reset: Section[GpoSignInResetState]
    directory_discovery: Section[DirectoryDiscovery] | None = None  # only when no policy said what to read

    @classmethod
    def failed(cls, reason: str, where: str = "ldap",
               discovery: Section[DirectoryDiscovery] | None = None) -> OnPremisesSections:
        return cls(Section[DirectoryState].failed(where, reason), Section[SysvolState].failed("smb", reason),
                   Section[GpoSignInResetState].failed("smb:SYSVOL Registry.pol", reason), discovery)


def discover_then_read(settings: AdSettings, synced_containers: dict[str, int]) -> OnPremisesSections:
    """With no policy (`export`): find the synced OUs and the sync account, then read them as a policy naming
    them would; the discovery section says what was found and why."""
    from auditor.readers.discovery import discover

    found = discover(settings, synced_containers)
    if found.value is None:
        return OnPremisesSections.failed(found.error or "the DC could not be read", found.source, found)
    if not found.value.candidates:
        return OnPremisesSections.failed("no sync account found: no MSOL_ or provAgentgMSA account, and no "
                                         "account that a target OU passes Reset Password down to", found.source, found)
    if not found.value.target_ous:
        return OnPremisesSections.failed("no target OU found: Graph named no synced user's on-premises DN in "
                                         f"{found.value.base_dn} and no OU grants the sync account Reset Password",
                                         found.source, found)
    directory = Directory(service_account=found.value.candidates[0].sam_account_name,
                          target_ous=found.value.target_ous)
    return read_on_premises(settings, directory)._replace(directory_discovery=found)


def read_on_premises(settings: AdSettings, policy: Directory) -> OnPremisesSections:
    """The directory, then SYSVOL (in the domain folder the directory names, else the one on the share):
    every linked GPO's GptTmpl.inf (the Default Domain Policy's always) and every GPO's machine Registry.pol."""
    directory = read_directory(settings, policy)
    progress.source_done("LDAP")
    gpos = directory.value.gpos if directory.value is not None else None
    if directory.value is not None:
        domain: str | None = directory.value.dns_domain
    else:
        domain = dns_domain(settings.base_dn) if settings.base_dn else None
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="sysvol") as pool:  # two SMB sessions side by side
        sysvol = pool.submit(read_sysvol, settings, domain, gpos=gpos)
        sign_in_reset = read_gpo_sign_in_reset(settings, directory)
        sections = OnPremisesSections(directory, sysvol.result(), sign_in_reset)
    progress.source_done("SYSVOL")
    return sections
