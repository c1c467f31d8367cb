"""`export`'s discovery against a real Samba AD DC: the synced OUs and the sync account, found without a policy.

The lab domains hold the ground truth (auditor/lab_domain/domain_seed.py): the Entra Connect account
MSOL_0a1b2c3d4e5f holds the writeback rights on OU=Staff directly and on OU=Sales through two nested
groups; OU=Contractors lies below OU=Staff. This module's own clone is then changed: the account renamed
so no naming convention points at it, and a helpdesk group granted Reset Password on OU=Staff only.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from samba_fixtures import running, settings

from auditor.ad.dn import dn_key
from auditor.ad.rights import RESET_PASSWORD, WRITE_PWD_LAST_SET
from auditor.ad.sd import canonical_ace
from auditor.lab_domain import domain_seed
from auditor.lab_domain.samba import SambaDC
from auditor.readers.discovery import discover
from auditor.readers.onpremises import discover_then_read

BASE = "DC=corp,DC=example,DC=test"
STAFF, SALES, CONTRACTORS = f"OU=Staff,{BASE}", f"OU=Sales,{BASE}", f"OU=Contractors,OU=Staff,{BASE}"
GRAPH = {STAFF: 28, CONTRACTORS: 5, SALES: 15, "OU=Users,DC=other,DC=test": 3}


@pytest.fixture(scope="module", name="dc")
def dc_fixture() -> Iterator[SambaDC]:
    yield from running("baseline")


def keys(dns: list[str]) -> set[str]:
    return {dn_key(dn) for dn in dns}


def test_graph_dns_give_the_outermost_ous_and_the_msol_account_with_its_grants(dc: SambaDC) -> None:
    found = discover(settings(dc), GRAPH).value
    assert found is not None
    assert keys(found.target_ous) == keys([STAFF, SALES])  # Contractors lies below Staff
    assert found.synced_users[STAFF] == 33 and found.synced_users[SALES] == 15
    assert found.elsewhere == {"OU=Users,DC=other,DC=test": 3}
    # the baseline's declared helpdesk (GG-Helpdesk-Staff ∋ hd.staff) holds Reset Password on Staff: it ranks below
    account, *helpdesk = found.candidates
    assert [c.sam_account_name for c in helpdesk] == ["hd.staff"]
    assert account.sam_account_name == domain_seed.SERVICE_ACCOUNT and account.named_as is not None
    assert keys(account.reset_on) == keys([STAFF, SALES])
    # the grant on Sales is through a group: the evidence says which
    assert any("GG-Writeback-Delegation" in grant for grant in account.grants)


def test_without_dns_from_graph_the_ous_that_grant_reset_password_are_used(dc: SambaDC) -> None:
    found = discover(settings(dc), {}).value
    assert found is not None
    assert keys(found.target_ous) == keys([STAFF, SALES])
    assert "Graph named no" in found.target_ous_from


def test_an_unconventionally_named_account_is_found_from_the_dacls_and_a_helpdesk_group_ranks_below(
        dc: SambaDC) -> None:
    from ldap3 import MODIFY_REPLACE

    seeder = domain_seed.Seeder(dc, "baseline")
    msol = f"CN={domain_seed.SERVICE_ACCOUNT},CN=Users,{BASE}"
    seeder.modify(msol, {"sAMAccountName": [(MODIFY_REPLACE, ["svc-dirsync"])]})
    helper = seeder.add_user(domain_seed.LabUser("Hal Desk", "OU=Service Accounts", None))
    group = seeder.add_group("CN=GG-Helpdesk,OU=Groups", [helper], "Helpdesk: resets staff passwords")
    seeder.grant(STAFF, [canonical_ace(seeder.sid_of(group), r) for r in (RESET_PASSWORD, WRITE_PWD_LAST_SET)])
    seeder.conn.unbind()

    found = discover(settings(dc), GRAPH).value
    assert found is not None
    first, *rest = found.candidates
    second = next(c for c in rest if c.dn.startswith("CN=Hal Desk,"))
    assert {c.sam_account_name for c in rest} == {"Hal Desk".lower().replace(" ", "."), "hd.staff"}
    assert first.sam_account_name == "svc-dirsync" and first.named_as is None
    assert keys(first.reset_on) == keys([STAFF, SALES])
    assert second.dn.startswith("CN=Hal Desk,") and keys(second.reset_on) == keys([STAFF])
    assert any("GG-Helpdesk" in grant for grant in second.grants)

    # the read that follows uses the best candidate, and says what it found
    sections = discover_then_read(settings(dc), GRAPH)
    assert sections.directory.value is not None and sections.directory_discovery is not None
    assert sections.directory.value.service_account is not None
    assert sections.directory.value.service_account.sam_account_name == "svc-dirsync"
