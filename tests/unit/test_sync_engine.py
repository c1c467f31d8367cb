"""ad.sync_engine (issue #33, item 5): the policy's sync_engine against the tenant's Cloud Sync writeback flag, the
Cloud Sync gMSAs in the domain and the sync account's kind; and export's sync_engine from the same evidence."""

from __future__ import annotations

from auditor.checks.base import Finding
from auditor.checks.registry import check_by_id, run_check
from auditor.export.blocks import Block, Leaf
from auditor.export.onprem import directory_block
from auditor.policy.models import Policy
from auditor.snapshot.directory import CloudSyncAccounts
from auditor.snapshot.models import Snapshot
from tests.unit.cases_ad import baseline_policy
from tests.unit.cases_cloud_sync import (
    cloud_snapshot,
    cloud_sync_directory,
    cloud_sync_policy,
    directory,
    gmsa_account,
    gmsas,
)

CHECK = check_by_id("ad.sync_engine")


def judge(policy: Policy, snap: Snapshot) -> Finding:
    [finding] = run_check(CHECK, policy, snap)
    return finding


def test_connect_policy_fails_when_cloud_sync_writes_back_through_a_gmsa_of_this_domain() -> None:
    finding = judge(baseline_policy(), cloud_snapshot(directory(gmsas("provAgentgMSA$")), True))
    assert finding.status == "fail"
    assert "cloudProvisioningEnablementForTenant is true" in (finding.reason or "")
    assert "provAgentgMSA$" in (finding.reason or "")


def test_connect_policy_passes_when_cloud_sync_writes_back_only_elsewhere_or_not_at_all() -> None:
    elsewhere = judge(baseline_policy(), cloud_snapshot(directory(), True))  # side by side: other domains
    assert elsewhere.status == "pass" and "other domains" in (elsewhere.reason or "")
    agent_only = judge(baseline_policy(), cloud_snapshot(directory(gmsas("provAgentgMSA$")), False))
    assert agent_only.status == "pass" and "writeback is off" in (agent_only.reason or "")


def test_connect_policy_naming_cloud_syncs_gmsa_fails() -> None:
    policy = baseline_policy(service_account="provAgentgMSA$")
    finding = judge(policy, cloud_snapshot(cloud_sync_directory(), False))
    assert finding.status == "fail" and "named as Cloud Sync's agent" in (finding.reason or "")


def test_connect_policy_on_a_custom_gmsa_while_cloud_sync_writes_back_fails() -> None:
    custom = gmsa_account().model_copy(update={"sam_account_name": "svc-sync$"})
    state = directory(gmsas(), service_account=custom, service_account_query="svc-sync$")
    policy = baseline_policy(service_account="svc-sync$")
    finding = judge(policy, cloud_snapshot(state, True))
    assert finding.status == "fail" and "custom gMSA" in (finding.reason or "")
    assert judge(policy, cloud_snapshot(state, False)).status == "pass"


def test_cloud_sync_policy_passes_with_its_gmsa_and_the_flag_on() -> None:
    assert judge(cloud_sync_policy(), cloud_snapshot(cloud_sync_directory(), True)).status == "pass"


def test_cloud_sync_policy_on_connects_account_or_with_the_flag_off_fails() -> None:
    msol = directory(gmsas(), service_account_query="provAgentgMSA$")  # the MSOL_ account answered the query
    finding = judge(cloud_sync_policy(), cloud_snapshot(msol, False))
    assert finding.status == "fail"
    assert "named as Entra Connect" in (finding.reason or "") and "writeback is off" in (finding.reason or "")
    plain = cloud_sync_directory().model_copy(update={"service_account": gmsa_account().model_copy(
        update={"object_classes": ["top", "person", "organizationalPerson", "user"]})})
    assert "no group managed service account" in (judge(cloud_sync_policy(), cloud_snapshot(plain, True)).reason
                                                  or "")


def test_unread_tenant_flag_is_unknown_where_it_decides() -> None:
    unread = cloud_snapshot(cloud_sync_directory(), portal=False)
    assert judge(cloud_sync_policy(), unread).status == "unknown"
    with_gmsa = cloud_snapshot(directory(gmsas("provAgentgMSA$")), portal=False)
    assert judge(baseline_policy(), with_gmsa).status == "unknown"
    # no Cloud Sync account in the domain: the directory decides, and the finding names the unread flag
    plain = judge(baseline_policy(), cloud_snapshot(directory(), portal=False))
    assert plain.status == "pass"
    assert any(e.source == "(onprem_writeback)" for e in plain.evidence)
    # …but the account's own kind still fails a mismatch
    policy = baseline_policy(service_account="provAgentgMSA$")
    assert judge(policy, cloud_snapshot(cloud_sync_directory(), portal=False)).status == "fail"


def test_unread_cloud_sync_accounts_are_unknown_never_pass() -> None:
    old = directory().model_copy(update={"cloud_sync_accounts": None})
    assert judge(baseline_policy(), cloud_snapshot(old)).status == "unknown"
    failed = directory(CloudSyncAccounts(error="insufficient access"))
    finding = judge(baseline_policy(), cloud_snapshot(failed))
    assert finding.status == "unknown" and "insufficient access" in (finding.reason or "")


def _engine(snap: Snapshot) -> Leaf:
    block = directory_block(snap)
    leaf = next(c for c in block.children if isinstance(c, Leaf) and c.key == "sync_engine")
    assert not isinstance(leaf, Block)
    return leaf


def test_export_writes_the_engine_it_found_with_its_evidence() -> None:
    cloud = _engine(cloud_snapshot(cloud_sync_directory(), True))
    assert cloud.value == "cloud_sync"
    assert any("provAgentgMSA$" in line for line in cloud.before)
    assert any("cloudProvisioningEnablementForTenant = true" in line for line in cloud.before)
    connect = _engine(cloud_snapshot(directory(), False))
    assert connect.value == "connect" and any("no gMSA" in line for line in connect.before)
    # Connect's account while Cloud Sync writes back through a gMSA of this domain: said in the comment
    clash = _engine(cloud_snapshot(directory(gmsas("provAgentgMSA$")), True))
    assert clash.value == "connect" and any("ad.sync_engine fails" in line for line in clash.before)
