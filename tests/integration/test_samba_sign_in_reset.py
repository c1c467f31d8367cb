"""`client.sign_in_reset` from SYSVOL: every GPO's Machine\\Registry.pol read over SMB from a real
Samba DC, with where each GPO is linked (gPLink on the domain head and OUs).

`demo` links the GPO that sets AllowPasswordReset = 1 to OU=Staff, which holds users but no
computer, so the check fails and says why; `baseline` links it to OU=Workstations and passes. The
hand fixes an admin would make (`samba-tool gpo setlink`, a disabled link, the GPO's computer
settings turned off, the file rewritten or broken) each move the check as Windows would.
The Intune source is present and empty in every snapshot, so Group Policy alone decides.
"""

from __future__ import annotations

from typing import Any

import pytest
from samba_fixtures import baseline_dc_fixture, baseline_policy, collect_ad, demo_dc_fixture  # noqa: F401

from auditor.ad import registry_pol
from auditor.checks.base import Finding, Status
from auditor.checks.registry import all_checks, run_check
from auditor.lab_domain import domain_seed
from auditor.lab_domain.samba import SambaDC
from auditor.snapshot.models import Section, Snapshot
from auditor.snapshot.tenant import GpoRegistryValue, IntuneSignInResetState

pytestmark = pytest.mark.samba

BASE = "DC=corp,DC=example,DC=test"
STAFF, WORKSTATIONS = f"OU=Staff,{BASE}", f"OU=Workstations,{BASE}"


def snapshot_of(dc: SambaDC) -> Snapshot:
    snapshot = collect_ad(dc, baseline_policy())
    no_intune = Section[IntuneSignInResetState].ok("graph:test", IntuneSignInResetState(configurations_read=0))
    return snapshot.model_copy(update={"intune_sign_in_reset": no_intune})


def sign_in_reset(snapshot: Snapshot) -> Finding:
    check = next(c for c in all_checks() if c.spec.id == "client.sign_in_reset")
    [finding] = run_check(check, baseline_policy(), snapshot)
    return finding


def values(snapshot: Snapshot) -> dict[str, GpoRegistryValue]:
    section = snapshot.gpo_sign_in_reset
    assert section is not None and section.readable, section
    return {v.display_name or v.gpo_guid: v for v in section.value.values}


def guid_of(snapshot: Snapshot, name: str) -> str:
    return values(snapshot)[name].gpo_guid


def write_machine_policy(dc: SambaDC, guid: str, data: bytes) -> None:
    import smbclient

    cache: dict[str, Any] = {}
    smbclient.register_session(dc.address, username=dc.admin_upn, password=dc.admin_password,
                               auth_protocol="ntlm", connection_cache=cache)
    try:
        path = rf"\\{dc.address}\sysvol\{dc.dns_domain}\Policies\{guid}\{registry_pol.MACHINE_POLICY_FILE}"
        with smbclient.open_file(path, mode="wb", connection_cache=cache) as handle:
            handle.write(data)
    finally:
        smbclient.reset_connection_cache(connection_cache=cache)


def set_gpo_flags(dc: SambaDC, guid: str, flags: int) -> None:
    from ldap3 import MODIFY_REPLACE

    conn = domain_seed.admin_connection(dc)
    try:
        assert conn.modify(f"CN={guid},CN=Policies,CN=System,{BASE}", {"flags": [(MODIFY_REPLACE, [str(flags)])]})
    finally:
        conn.unbind()


def test_baseline_passes_from_the_gpo_linked_to_the_workstations(baseline_dc: SambaDC) -> None:
    snapshot = snapshot_of(baseline_dc)
    found = values(snapshot)
    assert snapshot.gpo_sign_in_reset.value.gpos_read == len(found)
    assert set(found) == {"Default Domain Policy", "Default Domain Controllers Policy", domain_seed.SIGN_IN_GPO,
                          domain_seed.WORKSTATION_GPO, domain_seed.REMOTE_SAM_GPO}  # every GPO the seed makes is read
    assert not found[domain_seed.REMOTE_SAM_GPO].linked  # on the Domain Controllers OU: no member computer
    sign_in = found[domain_seed.SIGN_IN_GPO]
    assert (sign_in.value, sign_in.linked, sign_in.linked_to, sign_in.error) == (1, True, (WORKSTATIONS,), None)
    assert found[domain_seed.WORKSTATION_GPO].value is None and found[domain_seed.WORKSTATION_GPO].linked
    assert found["Default Domain Policy"].linked_to == (BASE,)
    # linked only to the Domain Controllers OU, where no member computer is
    assert not found["Default Domain Controllers Policy"].linked
    finding = sign_in_reset(snapshot)
    assert finding.status == Status.passed, finding.reason
    assert finding.actual == {"enabled_by": ["Group Policy"], "not_read": [],
                              "computers": {"on": 6, "off": 0, "unknown": 0}}


def test_demo_fails_and_names_the_gpo_linked_where_no_computer_is(demo_dc: SambaDC) -> None:
    snapshot = snapshot_of(demo_dc)
    sign_in = values(snapshot)[domain_seed.SIGN_IN_GPO]
    assert (sign_in.value, sign_in.linked, sign_in.linked_to) == (1, False, ())
    state = snapshot.directory.value
    gpo = next(g for g in state.gpos if g.display_name == domain_seed.SIGN_IN_GPO)
    assert [(link.container, link.holds_computers) for link in gpo.links] == [(STAFF, False)]
    finding = sign_in_reset(snapshot)
    assert finding.status == Status.failed
    assert f"{domain_seed.SIGN_IN_GPO} sets AllowPasswordReset = 1 but is not linked" in (finding.reason or "")


def test_hand_fixes_move_the_check_as_windows_would(demo_dc: SambaDC) -> None:
    """One clone, changed step by step: link, disable the link, re-enable, turn the GPO's computer
    settings off and on, then break and rewrite the workstation GPO's file."""
    guid = guid_of(snapshot_of(demo_dc), domain_seed.SIGN_IN_GPO)

    demo_dc.samba_tool("gpo", "setlink", WORKSTATIONS, guid)
    after_link = snapshot_of(demo_dc)
    assert values(after_link)[domain_seed.SIGN_IN_GPO].linked_to == (WORKSTATIONS,)
    assert sign_in_reset(after_link).status == Status.passed

    demo_dc.samba_tool("gpo", "dellink", WORKSTATIONS, guid)  # setlink refuses a GPO linked already
    demo_dc.samba_tool("gpo", "setlink", WORKSTATIONS, guid, "--disable")
    disabled = snapshot_of(demo_dc)
    gpo = next(g for g in disabled.directory.value.gpos if g.guid == guid)
    assert sorted((link.container, link.enabled) for link in gpo.links) == [(STAFF, True), (WORKSTATIONS, False)]
    assert sign_in_reset(disabled).status == Status.failed
    demo_dc.samba_tool("gpo", "dellink", WORKSTATIONS, guid)
    demo_dc.samba_tool("gpo", "setlink", WORKSTATIONS, guid, "--enforce")
    enforced = snapshot_of(demo_dc)
    gpo = next(g for g in enforced.directory.value.gpos if g.guid == guid)
    assert {(link.container, link.enforced) for link in gpo.links} == {(STAFF, False), (WORKSTATIONS, True)}
    assert sign_in_reset(enforced).status == Status.passed
    assert sign_in_reset(snapshot_of(demo_dc)).status == Status.passed

    set_gpo_flags(demo_dc, guid, 2)  # "Computer Configuration settings disabled"
    assert sign_in_reset(snapshot_of(demo_dc)).status == Status.failed
    set_gpo_flags(demo_dc, guid, 0)

    # the value turned off in the GPO: a later entry wins
    off = registry_pol.write([registry_pol.dword(registry_pol.SIGN_IN_RESET_KEY, registry_pol.SIGN_IN_RESET_VALUE, 0)])
    write_machine_policy(demo_dc, guid, off)
    assert values(snapshot_of(demo_dc))[domain_seed.SIGN_IN_GPO].value == 0
    assert sign_in_reset(snapshot_of(demo_dc)).status == Status.failed

    # a linked GPO whose file is broken ranks below the enforced one that says 0: the verdict stands
    workstation = guid_of(snapshot_of(demo_dc), domain_seed.WORKSTATION_GPO)
    write_machine_policy(demo_dc, workstation, b"PReg\x01\x00\x00\x00[\x00oops")
    broken = snapshot_of(demo_dc)
    assert "not a readable Registry.pol" in (values(broken)[domain_seed.WORKSTATION_GPO].error or "")
    finding = sign_in_reset(broken)
    assert finding.status == Status.failed and "(enforced, link order" in (finding.reason or "")
    # without the enforced link the broken GPO is the top of the list: its value cannot be known, nor the check's
    demo_dc.samba_tool("gpo", "dellink", WORKSTATIONS, guid)
    finding = sign_in_reset(snapshot_of(demo_dc))
    assert finding.status == Status.unknown and domain_seed.WORKSTATION_GPO in (finding.reason or "")

    # the admin sets it in the workstation GPO instead: on again
    on = registry_pol.write([*domain_seed.WORKSTATION_SETTINGS,
                             registry_pol.dword(registry_pol.SIGN_IN_RESET_KEY, registry_pol.SIGN_IN_RESET_VALUE, 1)])
    write_machine_policy(demo_dc, workstation, on)
    assert sign_in_reset(snapshot_of(demo_dc)).status == Status.passed


def write_sysvol_file(dc: SambaDC, guid: str, relative: str, data: bytes) -> None:
    import smbclient

    cache: dict[str, Any] = {}
    smbclient.register_session(dc.address, username=dc.admin_upn, password=dc.admin_password,
                               auth_protocol="ntlm", connection_cache=cache)
    try:
        folder = rf"\\{dc.address}\sysvol\{dc.dns_domain}\Policies\{guid}"
        path = rf"{folder}\{relative}"
        smbclient.makedirs(path.rsplit("\\", 1)[0], exist_ok=True, connection_cache=cache)
        with smbclient.open_file(path, mode="wb", connection_cache=cache) as handle:
            handle.write(data)
    finally:
        smbclient.reset_connection_cache(connection_cache=cache)


GPP_ITEM = ('<?xml version="1.0" encoding="utf-8"?>\r\n'
            '<RegistrySettings clsid="{A3CCFC41-DFDB-43a5-8D26-0FE8B954DA51}">'
            '<Registry clsid="{9CD4B2F4-923D-47f5-A062-E897DD1DAD50}" name="AllowPasswordReset" '
            'status="AllowPasswordReset" image="12" changed="2026-11-30 09:00:00" '
            'uid="{5E1F8B4C-2D3A-4B6C-9E8F-0A1B2C3D4E5F}"{disabled}>'
            '<Properties action="U" displayDecimal="1" default="0" hive="HKEY_LOCAL_MACHINE" '
            'key="SOFTWARE\\Policies\\Microsoft\\AzureADAccount" name="AllowPasswordReset" type="REG_DWORD" '
            'value="00000001"/>{filters}</Registry></RegistrySettings>')


@pytest.fixture(name="own_demo_dc")
def own_demo_dc_fixture() -> Any:
    from samba_fixtures import running

    yield from running("demo")


def test_group_policy_preferences_and_semicolon_names_are_read(own_demo_dc: SambaDC) -> None:
    """Issue 13 (6): a linked GPO that sets the value through Preferences (Registry.xml) passes; a Registry.pol
    whose value names hold ';' (as real Chromium GPOs do) is read, not an unreadable GPO."""
    from pathlib import Path

    real = Path(__file__).resolve().parents[1] / "fixtures" / "real" / "gpo" / "sos-browsers-machine-registry.pol"
    workstation = guid_of(snapshot_of(own_demo_dc), domain_seed.WORKSTATION_GPO)
    assert sign_in_reset(snapshot_of(own_demo_dc)).status == Status.failed  # demo: only a GPO linked to Staff sets it

    write_machine_policy(own_demo_dc, workstation, real.read_bytes())
    found = values(snapshot_of(own_demo_dc))[domain_seed.WORKSTATION_GPO]
    assert (found.error, found.value) == (None, None), found  # read, and it does not set AllowPasswordReset

    xml = GPP_ITEM.replace("{disabled}", "").replace("{filters}", "")
    write_sysvol_file(own_demo_dc, workstation, r"Machine\Preferences\Registry\Registry.xml", xml.encode())
    found = values(snapshot_of(own_demo_dc))[domain_seed.WORKSTATION_GPO]
    assert (found.value, found.source) == (1, r"Machine\Preferences\Registry\Registry.xml"), found
    assert sign_in_reset(snapshot_of(own_demo_dc)).status == Status.passed

    disabled = GPP_ITEM.replace("{disabled}", ' disabled="1"').replace("{filters}", "")
    write_sysvol_file(own_demo_dc, workstation, r"Machine\Preferences\Registry\Registry.xml", disabled.encode())
    assert sign_in_reset(snapshot_of(own_demo_dc)).status == Status.failed

    targeted = GPP_ITEM.replace("{disabled}", "").replace(
        "{filters}",
        '<Filters><FilterGroup bool="AND" not="0" name="CORP\\Kiosks" sid="S-1-5-21-1-2-3-1105"/></Filters>')
    write_sysvol_file(own_demo_dc, workstation, r"Machine\Preferences\Registry\Registry.xml", targeted.encode())
    found = values(snapshot_of(own_demo_dc))[domain_seed.WORKSTATION_GPO]
    assert found.value is None and "item-level targeting" in (found.error or ""), found
    assert sign_in_reset(snapshot_of(own_demo_dc)).status != Status.passed
