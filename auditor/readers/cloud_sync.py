"""The Entra Cloud Sync agent's accounts in the domain: evidence of which engine writes passwords back.

The agent's wizard creates the gMSA `provAgentgMSA$` (entra-docs cloud-sync/how-to-install.md, "Create gMSA";
https://learn.microsoft.com/entra/identity/hybrid/cloud-sync/gmsa-cloud-sync), in the Managed Service Accounts
container by default (auditor/ad/sync_engines.py): the whole naming context is searched. A custom gMSA ("Use custom
gMSA") carries no telling name and is not found here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from auditor.ad.sync_engines import CLOUD_SYNC_PREFIX, is_gmsa
from auditor.readers.ldap_values import text
from auditor.snapshot.directory import CloudSyncAccount, CloudSyncAccounts

if TYPE_CHECKING:
    from auditor.readers.access_control import DirectoryReader

def read_cloud_sync_accounts(reader: DirectoryReader, base_dn: str) -> CloudSyncAccounts:
    """Every account whose sAMAccountName starts with provAgentgMSA, and whether it is a gMSA."""
    found = []
    for dn, raw in reader.paged(base_dn, f"(&(objectClass=user)(sAMAccountName={CLOUD_SYNC_PREFIX}*))",
                                ["sAMAccountName", "objectClass"]):
        classes = [bytes(v).decode(errors="replace") for v in raw.get("objectClass", [])]
        found.append(CloudSyncAccount(dn=dn, sam_account_name=text(raw, "sAMAccountName") or dn,
                                      gmsa=is_gmsa(classes)))
    return CloudSyncAccounts(accounts=sorted(found, key=lambda a: a.sam_account_name.lower()))
