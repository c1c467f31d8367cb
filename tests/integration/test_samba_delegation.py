"""The delegation checks against the DC's own access check.

For each principal of the demo domain, bind as it and try the operation a verdict is about: reset a password
(LDAP modify of unicodePwd with replace: admin-reset semantics, the Reset Password extended right), write
lockoutTime, rewrite the DACL (WRITE_DAC), reset the sync account's password. Whether the DC lets it through must
agree with what the checks derived from the snapshot. RestrictRemoteSAM is not covered here: Samba does not apply
that registry setting to its SAMR server, so the DC cannot be asked.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from samba_fixtures import (  # noqa: F401  (fixtures)
    ad_outcomes,
    baseline_policy,
    collect_ad,
    demo_dc_fixture,
)

from auditor.ad.rights import RESET_PASSWORD, WRITE_DACL, WRITE_LOCKOUT_TIME, Right
from auditor.checks.ad.acl.delegates import found
from auditor.derive.delegation import Index, containers_of, holders
from auditor.lab_domain import domain_seed
from auditor.lab_domain.samba import SambaDC
from auditor.snapshot.directory import DirectoryState

pytestmark = pytest.mark.samba

BASE = "DC=corp,DC=example,DC=test"
SALES_USER = f"CN=Fay Lee,OU=Sales,{BASE}"
STAFF_USER = f"CN=Ann Lee,OU=Staff,{BASE}"
OLGA = f"CN=Olga Ops,OU=Sales,{BASE}"
MSOL = f"CN={domain_seed.SERVICE_ACCOUNT},CN=Users,{BASE}"
PRINCIPALS = ("hd.sales", "hd.staff", "it.intern", "svc-backup", "svc-print")


@pytest.fixture(scope="module", name="state")
def state_fixture(demo_dc: SambaDC) -> DirectoryState:
    snapshot = collect_ad(demo_dc, baseline_policy())
    assert snapshot.directory.value is not None, snapshot.directory.error
    return snapshot.directory.value


def _bind(dc: SambaDC, sam: str) -> Any:
    from ldap3 import NONE, Connection, Server

    from auditor.readers.ldap_tls import verified_tls

    server = Server(dc.address, port=636, use_ssl=True, tls=verified_tls(dc.address, ca_file=str(dc.ca_file)),
                    get_info=NONE)
    conn = Connection(server, user=f"{sam}@{dc.dns_domain}", password=domain_seed.USER_PASSWORD)
    assert conn.bind(), conn.result
    return conn


def _try(conn: Any, target: str, power: Right) -> bool:
    """Does the DC let `conn` use `power` on `target`? (A password reset is tried with a fresh password.)"""
    from ldap3 import BASE as SCOPE_BASE
    from ldap3 import MODIFY_REPLACE
    from ldap3.protocol.microsoft import security_descriptor_control

    if power is RESET_PASSWORD:
        changes = {"unicodePwd": [(MODIFY_REPLACE, ['"Reset-Passw0rd!2026"'.encode("utf-16-le")])]}
        return bool(conn.modify(target, changes))
    if power is WRITE_LOCKOUT_TIME:
        return bool(conn.modify(target, {"lockoutTime": [(MODIFY_REPLACE, ["0"])]}))
    control = security_descriptor_control(sdflags=0x04)
    conn.search(target, "(objectClass=*)", SCOPE_BASE, attributes=["nTSecurityDescriptor"], controls=control)
    raw = bytes(conn.response[0]["raw_attributes"]["nTSecurityDescriptor"][0])
    return bool(conn.modify(target, {"nTSecurityDescriptor": [(MODIFY_REPLACE, [raw])]}, controls=control))


def _predicted(state: DirectoryState, sam: str, target: str, power: Right) -> bool:
    control = state.access_control
    assert control is not None
    if target == MSOL:
        dacl = control.service_account.dacl if control.service_account else None
    else:
        user = next(u for u in [*state.users] if u.dn.lower() == target.lower())
        dacl = state.dacl_of(user)
    assert dacl is not None
    return any(h.name == sam and h.power == power.name
               for h in holders(dacl, target, (power,), Index.of(control), containers_of(control)))


def _cases() -> Iterator[tuple[str, str, Right]]:
    for sam in PRINCIPALS:
        for target in (SALES_USER, STAFF_USER, OLGA):
            for power in (RESET_PASSWORD, WRITE_LOCKOUT_TIME, WRITE_DACL):
                yield sam, target, power
        yield sam, MSOL, RESET_PASSWORD


@pytest.mark.parametrize(("sam", "target", "power"), list(_cases()),
                         ids=[f"{s}-{t.split(',')[0][3:]}-{p.name}" for s, t, p in _cases()])
def test_verdict_agrees_with_the_dc(demo_dc: SambaDC, state: DirectoryState, sam: str, target: str,
                                    power: Right) -> None:
    predicted = _predicted(state, sam, target, power)
    conn = _bind(demo_dc, sam)
    try:
        allowed = _try(conn, target, power)
    finally:
        conn.unbind()
    assert allowed == predicted, f"{sam} {power.label} on {target}: DC says {allowed}, the audit says {predicted}"


def test_each_failing_principal_is_one_the_dc_lets_act(state: DirectoryState) -> None:
    """The findings name exactly the principals the parametrized cases prove can act (and not the declared one)."""
    outcomes = ad_outcomes(baseline_policy(), _snapshot_of(state))
    failing = {(check, target) for (check, target, _), status in outcomes.items() if status == "fail"}
    assert ("ad.acl.delegates", "hd.sales") in failing
    assert ("ad.acl.delegates", "it.intern") in failing
    assert ("ad.acl.delegates", "hd.staff") not in failing
    assert ("ad.acl.tier0_reach", "hd.sales") in failing
    assert ("ad.service_account.control", "svc-backup") in failing
    assert ("ad.service_account.control", "svc-print") not in failing
    control = state.access_control
    assert control is not None
    by_account, _, _ = found(state, control)
    names = {held[0].name for held in by_account.values()}
    assert {"hd.sales", "hd.staff", "it.intern"} <= names and "svc-print" not in names


def _snapshot_of(state: DirectoryState) -> Any:
    from auditor.snapshot.models import Section, Snapshot

    return Snapshot(tool_version="test", origin="lab", directory=Section[DirectoryState].ok("ldap", state))


def test_the_cases_hold_both_verdicts(state: DirectoryState) -> None:
    """The comparison above cannot pass by everything being denied: some cases are allowed, some not."""
    verdicts = [_predicted(state, sam, target, power) for sam, target, power in _cases()]
    assert any(verdicts) and not all(verdicts)
    assert _predicted(state, "hd.sales", OLGA, RESET_PASSWORD)  # the helpdesk reaches an admin
    assert _predicted(state, "it.intern", STAFF_USER, WRITE_DACL)
    assert _predicted(state, "svc-backup", MSOL, RESET_PASSWORD)
