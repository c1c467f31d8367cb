"""Hostile inputs for the delegation checks (issue #33), on the directory read from the real lab Samba DC: a NULL
DACL, a trustee group read only in part, a carrying group whose descriptor was not read, DACL shapes the parser
must not misread (INHERIT_ONLY, deny first, inherited object types), and the network logon's token for
RestrictRemoteSAM. Each case names the verdict the tool must give; a wrong pass is the worst outcome."""

from __future__ import annotations

from typing import Any

from auditor.ad.rights import RESET_PASSWORD, USER_CLASS
from auditor.ad.sd import AceFact, AceFlag, DaclFacts, inherited_right
from auditor.checks.registry import check_by_id, run_check
from auditor.findings import Status
from auditor.snapshot.directory import DirectoryState, Member, Principal
from tests.unit.cases_delegation import lab_snapshot, lab_state
from tests.unit.test_delegation_checks import _policy, _with_remote_sam

ADMIN = "S-1-5-21-1230922345-116719348-2064865873-500"
BIG_GROUP = "S-1-5-21-1230922345-116719348-2064865873-7777"


def _run(check: str, state: DirectoryState) -> list[Any]:
    return run_check(check_by_id(check), _policy(), lab_snapshot("baseline", state))


def _statuses(findings: list[Any]) -> set[Status]:
    return {f.status for f in findings}


def _with_user_aces(state: DirectoryState, *aces: AceFact) -> DirectoryState:
    dacls = {k: d.model_copy(update={"aces": (*aces, *d.aces)}) for k, d in state.dacls.items()}
    return state.model_copy(update={"dacls": dacls})


def test_baseline_passes_the_three_checks() -> None:
    state = lab_state("baseline")
    for check in ("ad.acl.delegates", "ad.acl.tier0_reach", "ad.service_account.control"):
        assert _statuses(_run(check, state)) == {Status.passed}, check


def test_a_null_dacl_on_an_in_scope_user_lets_everyone_reset_it() -> None:
    # [MS-DTYP] 2.4.6: with no DACL (SE_DACL_PRESENT clear) the object grants full access to everyone
    state = lab_state("baseline")
    key = next(iter(state.dacls))
    dacls = {**state.dacls, key: DaclFacts(protected=False, null_dacl=True)}
    findings = _run("ad.acl.delegates", state.model_copy(update={"dacls": dacls}))
    failed = [f for f in findings if f.status == Status.failed]
    assert [f.target for f in failed] == ["Everyone"]
    assert "no DACL" in (failed[0].reason or "")


def test_a_null_dacl_on_the_sync_account_lets_everyone_take_it_over() -> None:
    state = lab_state("baseline")
    control = state.access_control
    assert control is not None and control.service_account is not None
    own = control.service_account.model_copy(update={"dacl": DaclFacts(protected=False, null_dacl=True)})
    state = state.model_copy(update={"access_control": control.model_copy(update={"service_account": own})})
    findings = _run("ad.service_account.control", state)
    assert {f.target for f in findings if f.status == Status.failed} == {"Everyone"}


def test_a_trustee_group_read_only_in_part_is_a_holder_itself() -> None:
    # the reader keeps 2,000 accounts per group (readers/access_control.MAX_MEMBERS): the members beyond are not
    # known, so listed members all being admins proves nothing about the group
    state = lab_state("baseline")
    control = state.access_control
    assert control is not None
    big = Principal(sid=BIG_GROUP, name="GG-Everyone-Helpdesk", dn="CN=GG-Everyone-Helpdesk,DC=corp", kind="group",
                    members=[Member(sid=ADMIN, name="Administrator", kind="user", via=[])], members_truncated=True)
    control = control.model_copy(update={"principals": {**control.principals, BIG_GROUP: big}})
    ace = AceFact(allow=True, sid=BIG_GROUP, mask=RESET_PASSWORD.ace_mask, object_type=RESET_PASSWORD.guid)
    state = _with_user_aces(state.model_copy(update={"access_control": control}), ace)
    findings = _run("ad.acl.delegates", state)
    assert {f.target for f in findings if f.status == Status.failed} == {"GG-Everyone-Helpdesk"}
    # declaring the group accepts it
    baseline = _policy().directory
    assert baseline is not None
    accepted = run_check(check_by_id("ad.acl.delegates"),
                         _policy(accepted=[*baseline.delegates.accepted, "GG-Everyone-Helpdesk"]),
                         lab_snapshot("baseline", state))
    assert _statuses(accepted) == {Status.passed}


def test_a_carrying_group_whose_descriptor_was_not_read_is_unknown() -> None:
    # a 403 on one object: who can write `member` of the group that carries the account's rights is not known
    state = lab_state("baseline")
    control = state.access_control
    assert control is not None
    groups = [g.model_copy(update={"dacl": None, "descriptor_b64": None, "error": "insufficientAccessRights"})
              if "GG-Writeback-Delegation" in g.dn else g for g in control.service_account_groups]
    state = state.model_copy(update={"access_control": control.model_copy(
        update={"service_account_groups": groups})})
    findings = _run("ad.service_account.control", state)
    assert Status.unknown in _statuses(findings) and Status.passed not in _statuses(findings)
    unknown = next(f for f in findings if f.status == Status.unknown)
    assert "GG-Writeback-Delegation" in (unknown.reason or "") and "insufficientAccessRights" in (unknown.reason or "")


def test_an_inherit_only_grant_on_the_user_itself_grants_nothing_there() -> None:
    # INHERIT_ONLY_ACE ([MS-DTYP] 2.4.4.1): "does not control access to the object to which it is attached"
    state = lab_state("baseline")
    ace = AceFact(allow=True, sid="S-1-1-0", mask=RESET_PASSWORD.ace_mask, object_type=RESET_PASSWORD.guid,
                  flags=AceFlag.CONTAINER_INHERIT | AceFlag.INHERIT_ONLY, inherited_object_type=USER_CLASS)
    assert _statuses(_run("ad.acl.delegates", _with_user_aces(state, ace))) == {Status.passed}
    effective = ace.model_copy(update={"flags": int(AceFlag.CONTAINER_INHERIT)})
    findings = _run("ad.acl.delegates", _with_user_aces(state, effective))
    assert "Everyone" in {f.target for f in findings if f.status == Status.failed}


def test_a_deny_for_everyone_first_removes_every_delegates_power_but_a_later_one_does_not() -> None:
    state = lab_state("demo")
    deny = AceFact(allow=False, sid="S-1-1-0", mask=0x000F01FF)
    later = {k: d.model_copy(update={"aces": (*d.aces, deny)}) for k, d in state.dacls.items()}
    findings = run_check(check_by_id("ad.acl.delegates"), _policy(), lab_snapshot(
        "demo", state.model_copy(update={"dacls": later})))
    assert {f.target for f in findings if f.status == Status.failed} == {"hd.sales", "it.intern"}
    first = {k: d.model_copy(update={"aces": (deny, *d.aces)}) for k, d in state.dacls.items()}
    findings = run_check(check_by_id("ad.acl.delegates"), _policy(), lab_snapshot(
        "demo", state.model_copy(update={"dacls": first})))
    assert not [f for f in findings if f.status == Status.failed and f.target not in ("owner",)
                and "owner" not in (f.reason or "")]


def test_an_inherited_object_type_for_another_class_does_not_reach_users() -> None:
    # an OU's ACE that flows only to inetOrgPerson or computer objects does not land on user objects
    computer = "bf967a86-0de6-11d0-a285-00aa003049e2"
    ace = AceFact(allow=True, sid="S-1-1-0", mask=RESET_PASSWORD.ace_mask, object_type=RESET_PASSWORD.guid,
                  flags=AceFlag.CONTAINER_INHERIT | AceFlag.INHERIT_ONLY, inherited_object_type=computer)
    ou = DaclFacts(protected=False, aces=(ace,))
    assert not inherited_right(ou, {"S-1-1-0"}, RESET_PASSWORD, USER_CLASS).granted
    assert inherited_right(ou, {"S-1-1-0"}, RESET_PASSWORD, computer).granted


def test_remote_sam_denied_to_network_logons_shuts_the_sync_account_out() -> None:
    # writeback calls SAM over the network: the caller's token holds NETWORK (S-1-5-2, "NU"), so a deny for NU
    # shuts it out whatever the later allows say
    denied = _with_remote_sam("baseline", "O:BAG:BAD:(D;;RC;;;NU)(A;;RC;;;WD)")
    finding = run_check(check_by_id("ad.gpo.restrict_remote_sam"), _policy(), denied)[0]
    assert finding.status == Status.failed and "denied" in (finding.reason or "")


def test_remote_sam_allowed_to_network_logons_lets_the_sync_account_in() -> None:
    allowed = _with_remote_sam("demo", "O:BAG:BAD:(A;;RC;;;BA)(A;;RC;;;NU)")
    assert run_check(check_by_id("ad.gpo.restrict_remote_sam"), _policy(), allowed)[0].status == Status.passed


def test_remote_sam_granted_to_an_unknown_sid_only_fails() -> None:
    # a SID of another domain, or a deleted group: nothing in the account's token
    other = _with_remote_sam("baseline", "O:BAG:BAD:(A;;RC;;;BA)(A;;RC;;;S-1-5-21-1-2-3-1105)")
    assert run_check(check_by_id("ad.gpo.restrict_remote_sam"), _policy(), other)[0].status == Status.failed


class _GmsaReader:
    """DirectoryReader.base for one gMSA: `found` False as for an object the bind account cannot see; `value` None as
    for an attribute it may not read (the DC leaves it out of the entry)."""

    conn: Any = None

    def __init__(self, found: bool, value: bytes | None) -> None:
        self.found, self.value = found, value

    def base(self, dn: str, attributes: list[str], *, sd: bool = False) -> dict[str, list[bytes]] | None:
        if not self.found:
            return None
        return {"msDS-GroupMSAMembership": [self.value]} if self.value is not None else {}


def test_a_gmsa_whose_password_readers_were_not_read_is_unknown() -> None:
    from auditor.readers.access_control import managed_password_readers

    dn = "CN=provAgentgMSA,CN=Managed Service Accounts,DC=corp"
    assert managed_password_readers(_GmsaReader(True, None), dn)[1] is not None  # type: ignore[arg-type]
    assert managed_password_readers(_GmsaReader(False, None), dn)[1] is not None  # type: ignore[arg-type]
    state = lab_state("baseline")
    control = state.access_control
    assert control is not None
    state = state.model_copy(update={"access_control": control.model_copy(update={
        "managed_password_readers": None,
        "managed_password_readers_error": managed_password_readers(_GmsaReader(True, None), dn)[1]})})
    findings = _run("ad.service_account.control", state)
    assert {f.status for f in findings} == {Status.unknown}
    assert "msDS-GroupMSAMembership" in (findings[0].reason or "")


def test_a_null_dacl_on_admin_sd_holder_reaches_every_protected_account() -> None:
    state = lab_state("baseline")
    holder = state.admin_sd_holder.model_copy(update={"dacl": DaclFacts(protected=True, null_dacl=True)})
    findings = _run("ad.acl.tier0_reach", state.model_copy(update={"admin_sd_holder": holder}))
    failed = [f for f in findings if f.status == Status.failed]
    assert [f.target for f in failed] == ["Everyone"] and "no DACL" in (failed[0].reason or "") + " ".join(
        str(e.value) for e in failed[0].evidence)
