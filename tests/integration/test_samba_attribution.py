"""Attribution against a real Samba DC: every failing on-premises finding of the demo domain says since when, on which
DC and at which version the attribute behind it last changed, read from the DC's replication metadata; a change
made now shows up as the next version; metadata the bind account may not read is said to be unreadable.

Samba returns replPropertyMetaData only (no msDS-ReplAttributeMetaData): the attids are named through the DC's own
schema and the originating invocation id through its NTDS Settings object.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from samba_fixtures import baseline_policy, collect_ad, running
from test_samba_ldap_wire import deny_read

from auditor.checks.base import Finding, Status
from auditor.checks.registry import all_checks, run_check
from auditor.derive.attribution import last_changes
from auditor.lab_domain import domain_seed
from auditor.lab_domain.samba import SambaDC
from auditor.snapshot.models import Snapshot

pytestmark = pytest.mark.samba

BASE = "DC=corp,DC=example,DC=test"
SALES = f"OU=Sales,{BASE}"


@pytest.fixture(scope="module", name="dc")
def dc_fixture() -> Iterator[SambaDC]:
    yield from running("demo")


def _dc_name(dc: SambaDC) -> str:
    """The DC's name as its own rootDSE names its NTDS Settings object (CN=NTDS Settings,CN=<name>,…)."""
    conn = domain_seed.admin_connection(dc)
    try:
        conn.search("", "(objectClass=*)", "BASE", attributes=["dsServiceName"])
        service = bytes(conn.response[0]["raw_attributes"]["dsServiceName"][0]).decode()
    finally:
        conn.unbind()
    return service.split(",")[1].partition("=")[2]


def _failing(snapshot: Snapshot) -> list[Finding]:
    policy = baseline_policy()
    return [f for check in all_checks() if {"directory", "sysvol"} & set(check.spec.sections)
            and check.spec.id.startswith("ad.")
            for f in run_check(check, policy, snapshot) if f.status == Status.failed]


def _dacl_version(finding: Finding, dn: str) -> int:
    return next(e.value["version"] for e in finding.evidence
                if e.field == "last_change" and e.source == dn and e.value.get("attribute") == "nTSecurityDescriptor")


def _delegates(snapshot: Snapshot) -> Finding:
    return next(f for f in _failing(snapshot) if f.check == "ad.acl.delegates" and f.target == "hd.sales")


def test_every_failing_on_premises_finding_says_since_when_and_on_which_dc(dc: SambaDC) -> None:
    snapshot = collect_ad(dc, baseline_policy())
    directory = snapshot.directory.value
    assert directory.change_metadata is not None, directory.change_metadata_error
    assert directory.change_metadata.source.startswith("replPropertyMetaData")  # Samba gives the binary form
    failing = _failing(snapshot)
    # the demo's drift, on-premises: delegation, tier 0, the sync account, RestrictRemoteSAM, GPO and PSO ages
    assert {"ad.acl.delegates", "ad.acl.tier0_reach", "ad.service_account.control", "ad.gpo.restrict_remote_sam",
            "ad.gpo.min_password_age", "ad.fgpp.min_password_age", "ad.acl.writeback_rights"} <= {
        f.check for f in failing}
    name = _dc_name(dc)
    undated = []
    for finding in failing:
        changes = last_changes(finding)
        assert changes, f"{finding.check} {finding.target} carries no last_change"
        dated = [c for c in changes if c.when is not None]
        if not dated:
            undated.append((finding.check, changes[0].error))
            continue
        assert all(c.by == f"on {name}" for c in dated), (finding.check, changes)
    # a protected-group member whose adminCount the DC never stamped (Samba runs no SDProp): the change is in the
    # group's member list, which replPropertyMetaData does not date per value; said, not invented
    assert all(check == "ad.users.privileged" and error.startswith("not recorded") for check, error in undated)


def test_a_change_made_now_is_the_next_version_of_the_dacl(dc: SambaDC) -> None:
    before = _dacl_version(_delegates(collect_ad(dc, baseline_policy())), SALES)
    dc.samba_tool("dsacl", "set", f"--objectdn={SALES}", "--sddl=(A;;RP;;;S-1-5-32-544)")
    after = _dacl_version(_delegates(collect_ad(dc, baseline_policy())), SALES)
    assert after == before + 1


def test_metadata_the_reader_may_not_read_is_said_to_be_unreadable(dc: SambaDC) -> None:
    deny_read(dc, SALES, "replPropertyMetaData")
    finding = _delegates(collect_ad(dc, baseline_policy()))
    [sales] = [c for c in last_changes(finding) if c.source == SALES]
    assert sales.when is None
    assert sales.error == "could not be read: the DC returned no replication metadata (no right to read it)"
