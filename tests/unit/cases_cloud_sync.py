"""Golden cases for ad.sync_engine, and builders of the Cloud Sync evidence (the tenant's flag, provAgentgMSA$)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from auditor.policy.models import Policy
from auditor.snapshot.directory import CloudSyncAccount, CloudSyncAccounts, DirectoryState
from auditor.snapshot.models import OnPremisesWritebackState, Section, Snapshot
from tests.unit.cases_ad import BASE, DOMAIN_SID, account, baseline_policy, compliant_directory, snapshot

GMSA_DN = f"CN=provAgentgMSA,CN=Managed Service Accounts,{BASE}"
GMSA_CLASSES = ["top", "person", "organizationalPerson", "user", "computer", "msDS-GroupManagedServiceAccount"]
Case = Callable[[], tuple[Policy, Snapshot]]


def gmsas(*names: str) -> CloudSyncAccounts:
    return CloudSyncAccounts(accounts=[CloudSyncAccount(dn=f"CN={n.rstrip('$')},CN=Managed Service Accounts,{BASE}",
                                                        sam_account_name=n, gmsa=True) for n in names])


def gmsa_account() -> Any:
    return account(dn=GMSA_DN, sam_account_name="provAgentgMSA$", sid=f"{DOMAIN_SID}-1148",
                   user_account_control=0x1000, object_classes=GMSA_CLASSES)


def directory(found: CloudSyncAccounts | None = None, **overrides: Any) -> DirectoryState:
    state = compliant_directory(**overrides)
    return state if found is None else state.model_copy(update={"cloud_sync_accounts": found})


def cloud_snapshot(state: DirectoryState, flag: bool | None = False, *, portal: bool = True) -> Snapshot:
    base = snapshot(state)
    if not portal:
        return base
    live = OnPremisesWritebackState(writeback_enabled=True, cloud_sync_writeback_enabled=flag,
                                    writeback_supported=True, unlock_enabled=True, unlock_supported=True)
    return base.model_copy(update={"onprem_writeback": Section[OnPremisesWritebackState].ok(
        "portal:GET /PasswordReset/OnPremisesPasswordResetPolicies", live)})


def cloud_sync_policy() -> Policy:
    return baseline_policy(service_account="provAgentgMSA$", sync_engine="cloud_sync")


def cloud_sync_directory(found: CloudSyncAccounts | None = None) -> DirectoryState:
    return directory(found if found is not None else gmsas("provAgentgMSA$"), service_account=gmsa_account(),
                     service_account_query="provAgentgMSA$")


CASES: dict[str, dict[str, Case]] = {
    "ad.sync_engine": {
        "pass": lambda: (baseline_policy(), cloud_snapshot(directory())),
        "fail": lambda: (baseline_policy(), cloud_snapshot(directory(gmsas("provAgentgMSA$")), True)),
    },
}
