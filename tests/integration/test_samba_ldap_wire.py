"""LDAP wire models against a real Samba DC: an attribute a verdict needs, denied to the reading account, is named.

Active Directory (and Samba) leave an attribute the caller may not read out of a search result, as if it were not
set. Each test here denies one attribute with an explicit deny-read-property ACE for Everyone (S-1-1-0, so the
administrator the lab reads with is denied too: `samba-tool dsacl set`), checks the DC itself now returns the
attribute empty, and expects the finding that needs it to be `unknown` naming the attribute and the object's DN.
Before readers/ldap_wire.py each of these read a default: `flags` absent as "computer settings on" (a fail the
data does not show), `userAccountControl` absent as an enabled user, `minPwdAge` unnamed.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from samba_fixtures import baseline_policy, collect_ad, running

from auditor.checks.base import Finding, Status
from auditor.checks.registry import all_checks, run_check
from auditor.lab_domain import domain_seed
from auditor.lab_domain.samba import SambaDC
from auditor.snapshot.models import Section, Snapshot
from auditor.snapshot.tenant import IntuneSignInResetState

pytestmark = pytest.mark.samba

BASE = "DC=corp,DC=example,DC=test"


@pytest.fixture(scope="module", name="traps_dc")
def traps_dc_fixture() -> Iterator[SambaDC]:
    yield from running("traps")


def _attribute_guid(dc: SambaDC, name: str) -> str:
    """The attribute's schemaIDGUID as the DC's own schema holds it (not a GUID copied from elsewhere)."""
    from ldap3 import SUBTREE
    from ldap3.utils.conv import escape_filter_chars

    conn = domain_seed.admin_connection(dc)
    try:
        conn.search(f"CN=Schema,CN=Configuration,{dc.base_dn}", f"(lDAPDisplayName={escape_filter_chars(name)})",
                    SUBTREE, attributes=["schemaIDGUID"])
        return str(uuid.UUID(bytes_le=bytes(conn.response[0]["raw_attributes"]["schemaIDGUID"][0])))
    finally:
        conn.unbind()


def deny_read(dc: SambaDC, dn: str, attribute: str) -> None:
    dc.samba_tool("dsacl", "set", f"--objectdn={dn}", f"--sddl=(OD;;RP;{_attribute_guid(dc, attribute)};;S-1-1-0)")
    conn = domain_seed.admin_connection(dc)
    try:
        conn.search(dn, "(objectClass=*)", "BASE", attributes=[attribute])
        assert not conn.response[0]["raw_attributes"].get(attribute), f"the DC still returns {attribute} on {dn}"
    finally:
        conn.unbind()


def snapshot_of(dc: SambaDC) -> Snapshot:
    snapshot = collect_ad(dc, baseline_policy())
    no_intune = Section[IntuneSignInResetState].ok("graph:test", IntuneSignInResetState(configurations_read=0))
    return snapshot.model_copy(update={"intune_sign_in_reset": no_intune})


def run(snapshot: Snapshot, check_id: str) -> list[Finding]:
    check = next(c for c in all_checks() if c.spec.id == check_id)
    return run_check(check, baseline_policy(), snapshot)


def gpo_age(snapshot: Snapshot) -> Finding:
    return next(f for f in run(snapshot, "ad.gpo.min_password_age") if f.target != BASE)


def test_a_gpo_whose_flags_are_denied_is_unknown_not_enabled(traps_dc: SambaDC) -> None:
    from ldap3 import MODIFY_REPLACE

    snapshot = snapshot_of(traps_dc)
    strict = next(g for g in snapshot.directory.value.gpos if g.display_name == domain_seed.PASSWORD_GPO)
    conn = domain_seed.admin_connection(traps_dc)
    try:  # its computer settings off: it sets nothing, the Default Domain Policy's 0 days wins
        assert conn.modify(strict.dn, {"flags": [(MODIFY_REPLACE, ["2"])]})
    finally:
        conn.unbind()
    assert gpo_age(snapshot_of(traps_dc)).status == Status.passed
    deny_read(traps_dc, strict.dn, "flags")
    finding = gpo_age(snapshot_of(traps_dc))
    # read as 0 ("enabled") it was a fail: the hardening GPO's 1 day would win
    assert finding.status == Status.unknown, (finding.status, finding.reason)
    assert "`flags` absent" in (finding.reason or "") and strict.dn in (finding.reason or ""), finding.reason


def test_a_domain_head_whose_min_pwd_age_is_denied_names_it(traps_dc: SambaDC) -> None:
    deny_read(traps_dc, BASE, "minPwdAge")
    snapshot = snapshot_of(traps_dc)
    assert snapshot.directory.readable  # the other AD checks stand
    (domain,) = [f for f in run(snapshot, "ad.gpo.min_password_age") if f.target == BASE]
    assert domain.status == Status.unknown and "`minPwdAge` absent on " + BASE in (domain.reason or ""), domain.reason


def test_a_user_whose_account_control_is_denied_makes_the_directory_unreadable(traps_dc: SambaDC) -> None:
    snapshot = snapshot_of(traps_dc)
    user = next(u for u in snapshot.directory.value.users if u.target_ou.lower().startswith("ou=staff"))
    deny_read(traps_dc, user.dn, "userAccountControl")
    section = snapshot_of(traps_dc).directory
    assert not section.readable and "`userAccountControl` absent on " + user.dn in (section.error or ""), section
