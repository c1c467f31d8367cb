"""auditor.ad.sd over descriptors read from a Samba DC (tests/fixtures/ad/samba_descriptors.json)
and over hand-made DACLs for the rules the fixtures do not show."""

from __future__ import annotations

import base64
import json
from functools import cache
from pathlib import Path

import pytest

from auditor.ad.rights import (
    CHANGE_PASSWORD,
    DOMAIN_DNS_CLASS,
    RESET_PASSWORD,
    UNEXPIRE_PASSWORD,
    USER_CLASS,
    WRITE_LOCKOUT_TIME,
    WRITE_PWD_LAST_SET,
    WRITEBACK_RIGHTS,
)
from auditor.ad.sd import (
    AceFact,
    AceFlag,
    DaclFacts,
    canonical_ace,
    covers,
    effective_right,
    inherited_right,
    parse_dacl,
    with_aces,
)

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "ad" / "samba_descriptors.json"
SID = "S-1-5-21-1-2-3-1148"
OTHER = "S-1-5-21-1-2-3-1200"
CI_IO = AceFlag.CONTAINER_INHERIT | AceFlag.INHERIT_ONLY


@cache
def fixture() -> dict:
    return json.loads(FIXTURE.read_text())


def raw(name: str) -> bytes:
    return base64.b64decode(fixture()["objects"][name]["sd"])


def facts(name: str) -> DaclFacts:
    return parse_dacl(raw(name))


def token() -> list[str]:
    return fixture()["token_sids"]


# -- real descriptors --------------------------------------------------------------------------

def test_ou_with_the_four_aces_passes_every_right_to_users() -> None:
    for right in WRITEBACK_RIGHTS:
        decision = inherited_right(facts("ou_staff"), token(), right)
        assert decision.granted and decision.ace is not None
        assert decision.ace.sid == fixture()["account_sid"]
        assert decision.ace.inherited_object_type == USER_CLASS and decision.ace.inherit_only


def test_rights_through_a_nested_group_count_and_a_missing_one_does_not() -> None:
    sales = facts("ou_sales_missing_pwdlastset")
    group = fixture()["groups"]["GG-Writeback-Delegation"]
    for right in (RESET_PASSWORD, CHANGE_PASSWORD, WRITE_LOCKOUT_TIME):
        decision = inherited_right(sales, token(), right)
        assert decision.granted and decision.ace.sid == group
    missing = inherited_right(sales, token(), WRITE_PWD_LAST_SET)
    assert not missing.granted and missing.ace is None
    # the group alone, without the account's own SID, still decides the same
    assert inherited_right(sales, [group], RESET_PASSWORD).granted
    assert not inherited_right(sales, [OTHER], RESET_PASSWORD).granted


def test_inherited_aces_on_users_are_effective() -> None:
    for name in ("user_inheriting", "user_in_sub_ou"):
        dacl = facts(name)
        assert not dacl.protected
        assert all(effective_right(dacl, token(), r).granted for r in WRITEBACK_RIGHTS)
        assert any(a.inherited and a.sid == fixture()["account_sid"] for a in dacl.aces)


def test_protected_user_and_admin_count_user_lose_the_inherited_rights() -> None:
    for name in ("user_protected", "user_admin_count"):
        dacl = facts(name)
        assert dacl.protected
        assert not any(a.inherited for a in dacl.aces)
        for right in (RESET_PASSWORD, WRITE_LOCKOUT_TIME, WRITE_PWD_LAST_SET):
            assert not effective_right(dacl, token(), right).granted
    # the user keeps Everyone's Change Password from the user class's default descriptor; the copy of
    # Samba's AdminSDHolder has none (Windows' AdminSDHolder grants it to Everyone)
    assert effective_right(facts("user_protected"), token(), CHANGE_PASSWORD).ace.sid == "S-1-1-0"
    assert not effective_right(facts("user_admin_count"), token(), CHANGE_PASSWORD).granted


def test_a_deny_before_the_inherited_allow_wins() -> None:
    dacl = facts("user_denied_reset")
    decision = effective_right(dacl, token(), RESET_PASSWORD)
    assert decision.denied and not decision.granted
    assert decision.ace.sddl().startswith("(OD;;CR;00299570-246d-11d0-a768-00aa006e0529;;")
    allow_index = next(i for i, a in enumerate(dacl.aces) if a.allow and a.object_type == RESET_PASSWORD.guid
                       and a.sid == fixture()["account_sid"])
    assert dacl.aces.index(decision.ace) < allow_index
    assert effective_right(dacl, token(), WRITE_PWD_LAST_SET).granted


def test_full_control_and_property_set_grants_count() -> None:
    broad = facts("ou_full_control")
    assert all(inherited_right(broad, token(), r).granted for r in WRITEBACK_RIGHTS)
    # Samba stores GA as written; Windows maps it to 0x000F01FF: both count
    assert inherited_right(broad, token(), RESET_PASSWORD).ace.mask in (0x10000000, 0x000F01FF)
    prop = facts("ou_property_set")
    assert inherited_right(prop, token(), WRITE_PWD_LAST_SET).granted
    assert not inherited_right(prop, token(), WRITE_LOCKOUT_TIME).granted  # lockoutTime is in no property set


def test_domain_head_grants_unexpire_password_to_authenticated_users_by_default() -> None:
    decision = effective_right(facts("domain"), token(), UNEXPIRE_PASSWORD, DOMAIN_DNS_CLASS)
    assert decision.granted and decision.ace.sid == "S-1-5-11"
    assert not effective_right(facts("admin_sd_holder"), token(), RESET_PASSWORD).granted


@pytest.mark.parametrize("name", sorted(json.loads(FIXTURE.read_text())["objects"]))
def test_with_aces_keeps_the_descriptor_and_inserts_canonically(name: str) -> None:
    from winacl.dtyp.security_descriptor import SECURITY_DESCRIPTOR

    original = raw(name)
    assert SECURITY_DESCRIPTOR.from_bytes(original).to_bytes() == original
    new = [canonical_ace(OTHER, r) for r in WRITEBACK_RIGHTS]
    changed = with_aces(original, new)
    assert with_aces(changed, new) == changed
    after = parse_dacl(changed)
    before = parse_dacl(original)
    assert [a for a in after.aces if a.sid != OTHER] == list(before.aces)
    added = [i for i, a in enumerate(after.aces) if a.sid == OTHER]
    assert [after.aces[i] for i in added] == new
    inherited_flags = [a.inherited for a in after.aces]
    first_inherited = inherited_flags.index(True) if True in inherited_flags else len(after.aces)
    assert added[-1] < first_inherited  # explicit before inherited
    assert all(after.aces[i].allow for i in added)
    assert after.protected == before.protected


# -- rules on hand-made DACLs ------------------------------------------------------------------

def ace(mask: int, *, allow: bool = True, flags: int = 0, object_type: str | None = None,
        inherited_object_type: str | None = None, sid: str = SID) -> AceFact:
    return AceFact(allow=allow, sid=sid, mask=mask, flags=flags, object_type=object_type,
                   inherited_object_type=inherited_object_type)


def test_inherit_only_aces_do_not_apply_to_the_object_itself() -> None:
    dacl = DaclFacts(protected=False, aces=(canonical_ace(SID, RESET_PASSWORD),))
    assert not effective_right(dacl, [SID], RESET_PASSWORD).granted
    assert inherited_right(dacl, [SID], RESET_PASSWORD).granted


def test_inherited_object_type_limits_which_children_receive_it() -> None:
    computer_class = "bf967a86-0de6-11d0-a285-00aa003049e2"
    dacl = DaclFacts(protected=False, aces=(canonical_ace(SID, RESET_PASSWORD, inherit_to=computer_class),))
    assert not inherited_right(dacl, [SID], RESET_PASSWORD).granted
    assert inherited_right(dacl, [SID], RESET_PASSWORD, computer_class).granted
    any_child = DaclFacts(protected=False, aces=(ace(0x100, flags=CI_IO, object_type=RESET_PASSWORD.guid),))
    assert inherited_right(any_child, [SID], RESET_PASSWORD).granted


def test_aces_without_container_inherit_do_not_flow_down() -> None:
    dacl = DaclFacts(protected=False, aces=(ace(0x100, object_type=RESET_PASSWORD.guid),))
    assert effective_right(dacl, [SID], RESET_PASSWORD).granted
    assert not inherited_right(dacl, [SID], RESET_PASSWORD).granted


@pytest.mark.parametrize(("mask", "object_type", "right", "granted"), [
    (0x100, None, RESET_PASSWORD, True),                      # all extended rights
    (0x100, CHANGE_PASSWORD.guid, RESET_PASSWORD, False),     # another extended right
    (0x20, None, WRITE_LOCKOUT_TIME, True),                   # write all properties
    (0x20, WRITE_PWD_LAST_SET.guid, WRITE_LOCKOUT_TIME, False),
    (0x10, WRITE_LOCKOUT_TIME.guid, WRITE_LOCKOUT_TIME, False),  # read is not write
    (0x10000000, None, RESET_PASSWORD, True),                 # GenericAll
    (0x40000000, None, WRITE_PWD_LAST_SET, True),             # GenericWrite
    (0x40000000, None, RESET_PASSWORD, False),                # GenericWrite is no extended right
    (0x100, USER_CLASS, RESET_PASSWORD, True),                # the object's class: the whole tree
])
def test_broader_grants(mask: int, object_type: str | None, right, granted: bool) -> None:
    assert covers(ace(mask, object_type=object_type), right) is granted


def test_order_decides_between_deny_and_allow() -> None:
    allow = ace(0x100, object_type=RESET_PASSWORD.guid)
    deny = ace(0x100, allow=False, object_type=RESET_PASSWORD.guid)
    assert not effective_right(DaclFacts(protected=False, aces=(deny, allow)), [SID], RESET_PASSWORD).granted
    assert effective_right(DaclFacts(protected=False, aces=(allow, deny)), [SID], RESET_PASSWORD).granted
    other_deny = ace(0x100, allow=False, object_type=RESET_PASSWORD.guid, sid=OTHER)
    assert effective_right(DaclFacts(protected=False, aces=(other_deny, allow)), [SID], RESET_PASSWORD).granted


def test_no_propagate_is_noted_and_null_dacl_grants_everything() -> None:
    dacl = DaclFacts(protected=False, aces=(ace(0x100, flags=AceFlag.CONTAINER_INHERIT | AceFlag.NO_PROPAGATE_INHERIT,
                                                object_type=RESET_PASSWORD.guid),))
    decision = inherited_right(dacl, [SID], RESET_PASSWORD)
    assert decision.granted and "direct children" in (decision.note or "")
    assert effective_right(DaclFacts(protected=False, null_dacl=True), [], RESET_PASSWORD).granted


def test_only_for_keeps_order_and_marks_incomplete() -> None:
    dacl = facts("ou_staff")
    mine = dacl.only_for([fixture()["account_sid"]])
    assert not mine.complete and len(mine.aces) == 4
    assert mine.key() == dacl.only_for([fixture()["account_sid"]]).key()
    assert mine.key() != dacl.key()


def test_sddl_of_a_canonical_ace() -> None:
    assert canonical_ace(SID, WRITE_PWD_LAST_SET).sddl() == (
        f"(OA;CIIO;RPWP;bf967a0a-0de6-11d0-a285-00aa003049e2;bf967aba-0de6-11d0-a285-00aa003049e2;{SID})")
    assert canonical_ace(SID, UNEXPIRE_PASSWORD, inherit_to=None).sddl() == (
        f"(OA;;CR;ccc2dc7d-a6ad-4a7a-8846-c04e3cc53501;;{SID})")
