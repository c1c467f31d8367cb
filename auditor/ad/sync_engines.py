"""How the two writeback engines name their accounts in AD (pure knowledge, no I/O).

- Entra Connect's Express install creates the AD DS connector account `MSOL_nnnnnnnnnn`
  (https://learn.microsoft.com/entra/identity/hybrid/connect/reference-connect-accounts-permissions).
- Entra Cloud Sync's agent wizard creates the group managed service account `provAgentgMSA$` ("The account appears as
  domain\\provAgentgMSA$": https://learn.microsoft.com/entra/identity/hybrid/cloud-sync/gmsa-cloud-sync), by default in
  the "Managed Service Accounts" container, where New-ADServiceAccount puts a gMSA unless given -Path
  (https://learn.microsoft.com/powershell/module/activedirectory/new-adserviceaccount).
"""

from __future__ import annotations

CONNECT_PREFIX = "MSOL_"
CLOUD_SYNC_PREFIX = "provAgentgMSA"
GMSA_CLASS = "msds-groupmanagedserviceaccount"  # objectClass values compare without case


def named_for_cloud_sync(sam_account_name: str) -> bool:
    return sam_account_name.lower().startswith(CLOUD_SYNC_PREFIX.lower())


def named_for_connect(sam_account_name: str) -> bool:
    return sam_account_name.upper().startswith(CONNECT_PREFIX.upper())


def is_gmsa(object_classes: list[str]) -> bool:
    return GMSA_CLASS in {c.lower() for c in object_classes}
