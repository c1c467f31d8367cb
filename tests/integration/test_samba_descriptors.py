"""Security descriptors as the DC stores them: parsing, deciding, and writing ACEs back.

Also the source of tests/fixtures/ad/samba_descriptors.json, the real descriptors the unit
tests of auditor.ad.sd use. Regenerate it with:

    SSPR_CAPTURE_FIXTURES=1 .venv/bin/python -m pytest tests/integration/test_samba_descriptors.py
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
from pathlib import Path

import pytest
from samba_fixtures import baseline_policy, collect_ad, demo_dc_fixture  # noqa: F401

from auditor.ad.rights import RESET_PASSWORD, USER_CLASS, WRITE_PWD_LAST_SET, WRITEBACK_RIGHTS
from auditor.ad.sd import canonical_ace, effective_right, inherited_right, parse_dacl, with_aces
from auditor.lab_domain.domain_seed import admin_connection, read_descriptor
from auditor.lab_domain.samba import SambaDC

pytestmark = pytest.mark.samba

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "ad" / "samba_descriptors.json"
BASE = "DC=corp,DC=example,DC=test"
STAFF, SALES = f"OU=Staff,{BASE}", f"OU=Sales,{BASE}"
OBJECTS = {
    "ou_staff": STAFF,
    "ou_sales_missing_pwdlastset": SALES,
    "user_inheriting": f"CN=Ann Lee,{STAFF}",
    "user_in_sub_ou": f"CN=Ann Vance,OU=Contractors,{STAFF}",
    "user_protected": f"CN=Nora Quinn,{STAFF}",
    "user_admin_count": f"CN=Adam Admin,{STAFF}",
    "user_denied_reset": f"CN=Ben Singh,{STAFF}",
    "admin_sd_holder": f"CN=AdminSDHolder,CN=System,{BASE}",
    "domain": BASE,
    "ou_full_control": f"OU=Broad,{BASE}",
    "ou_property_set": f"OU=PropertySet,{BASE}",
}


@pytest.fixture(scope="module")
def prepared(demo_dc: SambaDC) -> dict[str, object]:
    """The demo domain plus a deny ACE, a full-control OU and a property-set OU, as admins make them."""
    account = collect_ad(demo_dc, baseline_policy()).directory.value.service_account
    sid = account.sid
    conn = admin_connection(demo_dc)
    for ou in ("OU=Broad", "OU=PropertySet"):
        assert conn.add(f"{ou},{BASE}", ["top", "organizationalUnit"]), conn.result
    conn.unbind()
    demo_dc.samba_tool("dsacl", "set", f"--objectdn={OBJECTS['user_denied_reset']}",
                       f"--sddl=(OD;;CR;{RESET_PASSWORD.guid};;{sid})")
    demo_dc.samba_tool("dsacl", "set", f"--objectdn={OBJECTS['ou_full_control']}", f"--sddl=(A;CI;GA;;;{sid})")
    demo_dc.samba_tool("dsacl", "set", f"--objectdn={OBJECTS['ou_property_set']}",
                       f"--sddl=(OA;CIIO;WP;{WRITE_PWD_LAST_SET.property_set};{USER_CLASS};{sid})")
    conn = admin_connection(demo_dc)
    descriptors = {name: read_descriptor(conn, dn) for name, dn in OBJECTS.items()}
    conn.unbind()
    return {"account": account, "descriptors": descriptors}


def test_winacl_round_trips_every_descriptor_byte_for_byte(prepared) -> None:
    from winacl.dtyp.security_descriptor import SECURITY_DESCRIPTOR

    for raw in prepared["descriptors"].values():
        assert SECURITY_DESCRIPTOR.from_bytes(raw).to_bytes() == raw


def test_decisions_on_descriptors_from_the_dc(prepared) -> None:
    account, d = prepared["account"], prepared["descriptors"]
    token = account.token_sids
    facts = {name: parse_dacl(raw) for name, raw in d.items()}
    assert all(inherited_right(facts["ou_staff"], token, r).granted for r in WRITEBACK_RIGHTS)
    assert not inherited_right(facts["ou_sales_missing_pwdlastset"], token, WRITE_PWD_LAST_SET).granted
    assert all(effective_right(facts["user_in_sub_ou"], token, r).granted for r in WRITEBACK_RIGHTS)
    assert facts["user_protected"].protected and facts["user_admin_count"].protected
    assert not effective_right(facts["user_protected"], token, RESET_PASSWORD).granted
    denied = effective_right(facts["user_denied_reset"], token, RESET_PASSWORD)
    assert denied.denied and not denied.granted
    assert all(inherited_right(facts["ou_full_control"], token, r).granted for r in WRITEBACK_RIGHTS)
    assert inherited_right(facts["ou_property_set"], token, WRITE_PWD_LAST_SET).granted
    # demo seeds (seams_seed.seed_reach) the sync account's Express-style Reset Password at the domain head, so
    # every OU inherits it; the property-set ACE written on the OU itself must still not grant it
    property_set = facts["ou_property_set"]
    from_head = inherited_right(property_set, token, RESET_PASSWORD)
    assert from_head.granted and from_head.ace is not None and from_head.ace.inherited
    assert from_head.ace.sid == account.sid
    explicit_only = property_set.model_copy(update={"aces": tuple(a for a in property_set.aces if not a.inherited)})
    assert not inherited_right(explicit_only, token, RESET_PASSWORD).granted


def test_canonical_aces_written_back_reach_the_users(demo_dc: SambaDC, prepared) -> None:
    from ldap3 import MODIFY_REPLACE
    from ldap3.protocol.microsoft import security_descriptor_control

    account = prepared["account"]
    conn = admin_connection(demo_dc)
    raw = read_descriptor(conn, SALES)
    new = with_aces(raw, [canonical_ace(account.sid, r) for r in WRITEBACK_RIGHTS])
    assert with_aces(new, [canonical_ace(account.sid, r) for r in WRITEBACK_RIGHTS]) == new  # idempotent
    assert conn.modify(SALES, {"nTSecurityDescriptor": [(MODIFY_REPLACE, [new])]},
                       controls=security_descriptor_control(sdflags=0x04)), conn.result
    stored = parse_dacl(read_descriptor(conn, SALES))
    user = parse_dacl(read_descriptor(conn, f"CN=Jade Young,{SALES}"))
    conn.unbind()
    # the explicit ACEs written back; the sync account's inherited Reset Password from the domain head
    # (seams_seed.seed_reach, demo) follows them
    mine = [a for a in stored.aces if a.sid == account.sid and not a.inherited]
    assert [a.sddl() for a in mine] == [canonical_ace(account.sid, r).sddl() for r in WRITEBACK_RIGHTS]
    explicit = [a.inherited for a in stored.aces]
    assert explicit == sorted(explicit), "explicit ACEs must come before inherited ones"
    assert all(effective_right(user, [account.sid], r).granted for r in WRITEBACK_RIGHTS)


@pytest.mark.skipif(os.environ.get("SSPR_CAPTURE_FIXTURES") != "1", reason="set SSPR_CAPTURE_FIXTURES=1 to rewrite")
def test_capture_unit_fixtures(prepared) -> None:
    account = prepared["account"]
    version = subprocess.run(["samba", "--version"], capture_output=True, text=True, check=False).stdout.strip()
    data = {
        "about": "Real nTSecurityDescriptor values (SD flags DACL) read from the seeded demo lab domain by "
                 "tests/integration/test_samba_descriptors.py; see that file to regenerate.",
        "samba": version,
        "account_sid": account.sid,
        "token_sids": account.token_sids,
        "groups": {g.name: g.sid for g in account.groups},
        "objects": {name: {"dn": OBJECTS[name], "sd": base64.b64encode(raw).decode()}
                    for name, raw in prepared["descriptors"].items()},
    }
    FIXTURE.parent.mkdir(parents=True, exist_ok=True)
    FIXTURE.write_text(json.dumps(data, indent=1) + "\n")
