"""GPO security filtering and WMI filters on a real Samba DC (issue 30): a GPO whose Apply Group Policy right does
not reach the computers drops out of precedence, and a WMI filter the tool cannot run leaves the verdict unknown.

Each test seeds a fresh `baseline` domain (Default Domain Policy: 0 days; `SSPR sign-in screen` sets
AllowPasswordReset = 1 on OU=Workstations) with GPOs written as the GPMC writes them (`lab_domain.gpo_filters`).
Before this change the tool did not read a GPO's DACL: the security-filtered GPOs below won for the domain
controllers and for every workstation, and a WMI filter was named only by its gPCWQLFilter string.
"""

from __future__ import annotations

from typing import Any

import pytest
from samba_fixtures import baseline_policy, collect_ad, running

from auditor.ad import gpttmpl
from auditor.ad.sid import sid_from_bytes
from auditor.ad.wellknown import ENTERPRISE_DOMAIN_CONTROLLERS
from auditor.checks.base import Finding, Status
from auditor.checks.registry import all_checks, run_check
from auditor.lab_domain import domain_seed, gpo_filters
from auditor.lab_domain.samba import SambaDC
from auditor.snapshot.models import Section, Snapshot
from auditor.snapshot.tenant import IntuneSignInResetState

pytestmark = pytest.mark.samba

BASE = "DC=corp,DC=example,DC=test"
FILTERED = "Password age for Sales computers"
WMI_GPO = "Password age for servers"


def snapshot_of(dc: SambaDC) -> Snapshot:
    snapshot = collect_ad(dc, baseline_policy())
    no_intune = Section[IntuneSignInResetState].ok("graph:test", IntuneSignInResetState(configurations_read=0))
    return snapshot.model_copy(update={"intune_sign_in_reset": no_intune})


def finding(snapshot: Snapshot, check_id: str) -> Finding:
    check = next(c for c in all_checks() if c.spec.id == check_id)
    found = run_check(check, baseline_policy(), snapshot)
    return next(f for f in found if f.target != BASE)  # ad.gpo.min_password_age: the GPO finding


def sid_of(conn: Any, dn: str) -> str:
    from ldap3 import BASE as SCOPE

    conn.search(dn, "(objectClass=*)", SCOPE, attributes=["objectSid"])
    return sid_from_bytes(conn.response[0]["raw_attributes"]["objectSid"][0])


def test_a_security_filtered_domain_gpo_does_not_set_the_domain_password_age() -> None:
    for dc in running("baseline"):
        conn = domain_seed.admin_connection(dc)
        try:
            sales = sid_of(conn, f"CN=GG-Sales-Synced,OU=Groups,{BASE}")
            guid = domain_seed.add_gpo(dc, conn, FILTERED, None, link_to=[BASE],  # link order 1: above the DDP
                                       files={gpttmpl.GPO_FILE: gpttmpl.windows_template(2).to_bytes()})
            gpo_filters.security_filter(dc, conn, guid, [sales])
            snapshot = snapshot_of(dc)
            age = finding(snapshot, "ad.gpo.min_password_age")
            # before: a fail, 2 days from the filtered GPO at link order 1
            assert age.status == Status.passed and age.actual == 0, age.reason
            assert f"{FILTERED} (link order 1 on {BASE}) does not apply" in (age.reason or "")
            assert "Apply Group Policy does not reach the domain controllers" in (age.reason or "")
            state = snapshot.directory.value
            assert state.dc_tokens and all(ENTERPRISE_DOMAIN_CONTROLLERS in t.sids for t in state.dc_tokens)

            domain_controllers = f"{state.domain_sid}-516"  # the DCs' primary group
            gpo_filters.security_filter(dc, conn, guid, [sales, domain_controllers])
            granted = finding(snapshot_of(dc), "ad.gpo.min_password_age")
            assert granted.status == Status.failed and granted.actual == 2, granted.reason

            gpo_filters.deny_apply(dc, conn, guid, ENTERPRISE_DOMAIN_CONTROLLERS)  # a deny ACE wins over the grant
            denied = finding(snapshot_of(dc), "ad.gpo.min_password_age")
            assert denied.status == Status.passed, denied.reason
            assert "denied by (OD;;CR;edacfd8f-ffb3-11d1-b41d-00a0c968f939;;S-1-5-9)" in (denied.reason or "")
        finally:
            conn.unbind()


def test_a_wmi_filtered_domain_gpo_leaves_the_verdict_unknown_naming_the_filter() -> None:
    for dc in running("baseline"):
        conn = domain_seed.admin_connection(dc)
        try:
            guid = domain_seed.add_gpo(dc, conn, WMI_GPO, None, link_to=[BASE],
                                       files={gpttmpl.GPO_FILE: gpttmpl.windows_template(2).to_bytes()})
            ident = gpo_filters.add_wmi_filter(dc, conn, "Servers only", gpo_filters.SERVERS_ONLY)
            gpo_filters.bind_wmi_filter(dc, conn, guid, ident)
            snapshot = snapshot_of(dc)
            age = finding(snapshot, "ad.gpo.min_password_age")
            assert age.status == Status.unknown, age.reason  # never a pass: on servers the GPO's 2 days win
            reason = age.reason or ""
            # before: named only by its gPCWQLFilter string, [corp.example.test;{id};0]
            assert WMI_GPO in reason and "'Servers only'" in reason, reason
            assert gpo_filters.SERVERS_ONLY in reason and "cannot evaluate" in reason
            gpo = next(g for g in snapshot.directory.value.gpos if g.guid == guid)
            assert (gpo.wmi_filter_name, gpo.wmi_filter_error) == ("Servers only", None)
        finally:
            conn.unbind()


def test_a_security_filtered_sign_in_gpo_reaches_only_its_group_of_workstations() -> None:
    for dc in running("baseline"):
        conn = domain_seed.admin_connection(dc)
        try:
            before = snapshot_of(dc)
            assert finding(before, "client.sign_in_reset").status == Status.passed
            guid = next(g.guid for g in before.directory.value.gpos if g.display_name == domain_seed.SIGN_IN_GPO)
            pilot = f"CN=GG-SSPR-Pilot,OU=Groups,{BASE}"
            first = f"CN=WS-0001,OU=Workstations,{BASE}"
            assert conn.add(pilot, ["top", "group"], {"sAMAccountName": "GG-SSPR-Pilot", "member": [first],
                                                      "groupType": str(domain_seed.GLOBAL_SECURITY_GROUP)})
            gpo_filters.security_filter(dc, conn, guid, [sid_of(conn, pilot)])
            after = finding(snapshot_of(dc), "client.sign_in_reset")
            # before: a pass, "every member computer gets 1"
            assert after.status == Status.failed, after.reason
            assert after.actual["computers"] == {"on": 1, "off": domain_seed.WORKSTATIONS - 1, "unknown": 0}
            assert f"{domain_seed.SIGN_IN_GPO} (link order 1 on OU=Workstations" in (after.reason or "")
            assert "does not apply: Apply Group Policy does not reach" in (after.reason or "")
        finally:
            conn.unbind()
