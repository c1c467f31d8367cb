"""Remediation against a real Samba AD DC: ACEs, password ages and the GPO file, with rollback.

Each test gets its own clone of the seeded demo domain. Byte-level comparisons read the raw
descriptors (SD flags DACL) and the SYSVOL files directly, not through the code under test.
Where Samba cannot run the tests skip with the reason (SSPR_REQUIRE_SAMBA=1 makes that a failure).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from samba_fixtures import baseline_policy, collect_ad, fresh_dc, settings

from auditor.ad.wellknown import DEFAULT_DOMAIN_POLICY_GUID
from auditor.checks.base import Status
from auditor.checks.registry import run_checks
from auditor.lab_domain import samba
from auditor.lab_domain.domain_seed import admin_connection, read_descriptor
from auditor.lab_domain.samba import SambaDC
from auditor.policy.models import Policy
from auditor.remediation.apply import Targets, load_backup
from auditor.remediation.changes import FindingRef, Plan
from auditor.remediation.planner import make_plan
from auditor.remediation.powershell import render_powershell
from tests.helpers.remediation import apply, rollback

pytestmark = pytest.mark.samba

BASE = "DC=corp,DC=example,DC=test"
SALES, STAFF = f"OU=Sales,{BASE}", f"OU=Staff,{BASE}"
HOLDER = f"CN=AdminSDHolder,CN=System,{BASE}"
PSO_SALES = f"CN=PSO-Sales,CN=Password Settings Container,CN=System,{BASE}"
GPO_DN = f"CN={DEFAULT_DOMAIN_POLICY_GUID},CN=Policies,CN=System,{BASE}"


def running(readonly_sysvol: bool = False) -> Iterator[SambaDC]:
    dc = fresh_dc("demo")
    if readonly_sysvol:
        # SMB write denied: the sysvol share read-only, as a locked-down DC or a missing right would make it
        conf = dc.smb_conf.read_text()
        conf, count = re.subn(r"(\[sysvol\][^\[]*?)read only = No", r"\1read only = Yes", conf, flags=re.I)
        if not count:
            conf = re.sub(r"(\[sysvol\]\n)", r"\1\tread only = Yes\n", conf, flags=re.I)
        dc.smb_conf.write_text(conf)
    try:
        with dc:
            yield dc
    finally:
        samba.remove(dc)


@pytest.fixture(name="dc")
def dc_fixture() -> Iterator[SambaDC]:
    yield from running()


@pytest.fixture(name="readonly_dc")
def readonly_dc_fixture() -> Iterator[SambaDC]:
    yield from running(readonly_sysvol=True)


def sysvol_file(dc: SambaDC, name: str) -> bytes | None:
    import smbclient
    from smbprotocol.exceptions import SMBOSError

    folder = rf"\\{dc.address}\sysvol\{dc.dns_domain}\Policies\{DEFAULT_DOMAIN_POLICY_GUID}"
    path = folder + (r"\GPT.INI" if name == "GPT.INI" else r"\MACHINE\Microsoft\Windows NT\SecEdit\GptTmpl.inf")
    cache: dict[str, Any] = {}
    smbclient.register_session(dc.address, username=dc.admin_upn, password=dc.admin_password,
                               auth_protocol="ntlm", connection_cache=cache)
    try:
        with smbclient.open_file(path, mode="rb", connection_cache=cache) as handle:
            return bytes(handle.read())
    except SMBOSError:
        return None
    finally:
        smbclient.reset_connection_cache(connection_cache=cache)


def raw_state(dc: SambaDC) -> dict[str, Any]:
    """The raw bytes and values remediation may change, read independently of the writers."""
    from ldap3 import BASE as SCOPE_BASE

    conn = admin_connection(dc)
    try:
        out: dict[str, Any] = {dn: read_descriptor(conn, dn) for dn in (SALES, STAFF, BASE, HOLDER)}
        for dn, attribute in ((BASE, "minPwdAge"), (PSO_SALES, "msDS-MinimumPasswordAge"), (GPO_DN, "versionNumber")):
            conn.search(dn, "(objectClass=*)", SCOPE_BASE, attributes=[attribute])
            out[f"{dn}:{attribute}"] = bytes(conn.response[0]["raw_attributes"][attribute][0])
    finally:
        conn.unbind()
    out["GptTmpl.inf"] = sysvol_file(dc, "GptTmpl.inf")
    out["GPT.INI"] = sysvol_file(dc, "GPT.INI")
    return out


def plan_for(dc: SambaDC, policy: Policy | None = None) -> tuple[Policy, Plan]:
    policy = policy or baseline_policy()
    snapshot = collect_ad(dc, policy)
    findings = run_checks(policy, snapshot)
    return policy, make_plan(policy, snapshot, findings)


def failing(dc: SambaDC, policy: Policy) -> dict[FindingRef, Status]:
    return {FindingRef.of(f): f.status for f in run_checks(policy, collect_ad(dc, policy))}


@pytest.mark.roundtrip
def test_demo_plan_apply_check_then_rollback_byte_for_byte(dc: SambaDC, tmp_path: Path) -> None:
    policy, plan = plan_for(dc)
    assert [(c.kind, getattr(c, "dn", None)) for c in plan.changes[:2]] == [("ldap.dacl", SALES), ("ldap.dacl", BASE)]
    assert [c.kind for c in plan.changes[2:]] == ["ldap.password_age", "ldap.password_age", "sysvol.gpttmpl"]
    assert "(OA;CIIO;RPWP;bf967a0a-0de6-11d0-a285-00aa003049e2;bf967aba-0de6-11d0-a285-00aa003049e2;" in \
        plan.changes[0].add_aces[0].sddl()
    # demo: no Unexpire Password on the domain head (not even Authenticated Users' default): granted on the head only
    assert [a.sddl() for a in plan.changes[1].add_aces] == \
        [f"(OA;;CR;ccc2dc7d-a6ad-4a7a-8846-c04e3cc53501;;{plan.changes[1].principal_sid})"]
    manual = {(m.finding.check, m.finding.target) for m in plan.manual}
    assert ("ad.users.temporary_password", f"CN=Tess Temp,{STAFF}") in manual
    assert ("ad.acl.coverage", f"CN=Nora Quinn,{STAFF}") in manual
    before = raw_state(dc)
    result = apply(plan, Targets(ad=settings(dc)), policy=policy, yes=True, backup_path=tmp_path / "backup.json")
    assert result.outcome == "applied", result.message
    after = failing(dc, policy)
    fixed = {ref for change in plan.changes for ref in change.fixes}
    assert {ref: after.get(ref) for ref in fixed} == dict.fromkeys(fixed, Status.passed)
    assert all(after.get(m.finding) == Status.failed for m in plan.manual)  # listed, not attempted
    changed = raw_state(dc)
    gpt = changed["GptTmpl.inf"]
    assert gpt.startswith(b"\xff\xfe") and "MinimumPasswordAge = 0\r\n" in gpt.decode("utf-16")
    assert gpt.decode("utf-16").replace("MinimumPasswordAge = 0", "MinimumPasswordAge = 1") == \
        before["GptTmpl.inf"].decode("utf-16")  # every other byte kept
    assert int(changed[f"{GPO_DN}:versionNumber"]) == int(before[f"{GPO_DN}:versionNumber"]) + 1
    assert f"Version={int(before[f'{GPO_DN}:versionNumber']) + 1}".encode() in changed["GPT.INI"]
    assert changed[STAFF] == before[STAFF] and changed[SALES] != before[SALES] and changed[BASE] != before[BASE]

    restored = rollback(load_backup(tmp_path / "backup.json"), Targets(ad=settings(dc)), yes=True)
    assert restored.outcome == "restored", restored.message
    final = raw_state(dc)
    for key in (SALES, STAFF, BASE, HOLDER, f"{BASE}:minPwdAge", f"{PSO_SALES}:msDS-MinimumPasswordAge",
                "GptTmpl.inf"):
        assert final[key] == before[key], key
    # the GPO version only moves forward, so DCs apply the restored setting
    assert int(final[f"{GPO_DN}:versionNumber"]) == int(before[f"{GPO_DN}:versionNumber"]) + 2


def test_a_target_changed_by_hand_makes_apply_refuse_and_write_nothing(dc: SambaDC, tmp_path: Path) -> None:
    policy, plan = plan_for(dc)
    dc.samba_tool("domain", "passwordsettings", "pso", "set", "PSO-Sales", "--min-pwd-age=2")
    before = raw_state(dc)
    result = apply(plan, Targets(ad=settings(dc)), policy=policy, yes=True, backup_path=tmp_path / "backup.json")
    assert result.outcome == "refused" and "stale" in result.message and PSO_SALES in result.message
    assert raw_state(dc) == before and not (tmp_path / "backup.json").exists()


def test_smb_write_denied_stops_apply_and_rollback_restores(readonly_dc: SambaDC, tmp_path: Path) -> None:
    dc = readonly_dc
    policy, plan = plan_for(dc)
    before = raw_state(dc)
    result = apply(plan, Targets(ad=settings(dc)), policy=policy, yes=True, backup_path=tmp_path / "backup.json")
    assert result.outcome == "failed" and result.failed_change == "5", result.message
    assert "change 5 failed" in result.message and "GptTmpl.inf" in result.message
    assert [c.status for c in result.changes] == ["applied", "applied", "applied", "applied", "failed"]
    assert raw_state(dc)[SALES] != before[SALES]
    restored = rollback(load_backup(tmp_path / "backup.json"), Targets(ad=settings(dc)), yes=True)
    assert restored.outcome == "restored", restored.message
    final = raw_state(dc)
    for key in (SALES, BASE, f"{BASE}:minPwdAge", f"{PSO_SALES}:msDS-MinimumPasswordAge", "GptTmpl.inf",
                "GPT.INI", f"{GPO_DN}:versionNumber"):
        assert final[key] == before[key], key


def test_admin_sd_holder_gets_object_aces_and_a_second_apply_writes_nothing(dc: SambaDC, tmp_path: Path) -> None:
    policy = baseline_policy()
    assert policy.directory is not None
    # (the demo removed Authenticated Users' default Unexpire Password grant, so the domain head takes one too)
    rights = policy.directory.rights.model_copy(update={"admin_sd_holder": True, "unexpire_password": True})
    policy = baseline_policy(rights=rights)
    _, plan = plan_for(dc, policy)
    dacl = {c.dn: c for c in plan.changes if c.kind == "ldap.dacl"}
    assert set(dacl) == {SALES, BASE, HOLDER}
    assert len(dacl[HOLDER].add_aces) == 4
    assert all(ace.inherited_object_type is None and not ace.flags for ace in dacl[HOLDER].add_aces)
    assert "Set-Acl -Path 'AD:\\CN=AdminSDHolder" in render_powershell(plan)
    first = apply(plan, Targets(ad=settings(dc)), policy=policy, yes=True, backup_path=tmp_path / "1.json")
    assert first.outcome == "applied", first.message
    after = failing(dc, policy)
    assert {s for r, s in after.items() if r.check in ("ad.acl.writeback_rights", "ad.acl.unexpire_password")} \
        == {Status.passed}
    state = raw_state(dc)
    again = apply(plan, Targets(ad=settings(dc)), policy=policy, yes=True, backup_path=tmp_path / "2.json")
    assert again.outcome == "nothing_to_do" and raw_state(dc) == state


# -- attacked through the plan and the backup (issue 14) -----------------------------------------

def test_an_injected_ace_for_everyone_on_the_domain_head_is_refused(dc: SambaDC, tmp_path: Path) -> None:
    """A plan file given one more LDAP change, its digest recomputed: Reset Password for Everyone."""
    import base64
    import hashlib

    from auditor.ad.rights import USER_CLASS
    from auditor.ad.sd import AceFact
    from auditor.remediation.changes import LdapDaclChange

    policy, plan = plan_for(dc)
    ace = AceFact(allow=True, sid="S-1-1-0", mask=0x100, flags=0x02,
                  object_type="00299570-246d-11d0-a768-00aa006e0529", inherited_object_type=USER_CLASS)
    head = collect_ad(dc, policy).directory.value.domain.descriptor_b64  # what an attacker reads first
    injected = LdapDaclChange(id="9", target=BASE, summary="refresh the sync account's rights", dn=BASE,
                              principal="sync", principal_sid="S-1-1-0", rights=["Reset Password"], add_aces=[ace],
                              old_descriptor_sha256=hashlib.sha256(base64.b64decode(head)).hexdigest())
    tampered = plan.model_copy(update={"changes": [*plan.changes, injected]}).sealed()
    before = raw_state(dc)
    result = apply(tampered, Targets(ad=settings(dc)), policy=policy, yes=True, backup_path=tmp_path / "b.json")
    assert result.outcome == "refused", result.message
    assert "change 9" in result.message and "not what the policy asks for now" in result.message
    assert raw_state(dc) == before and not (tmp_path / "b.json").exists()


def test_the_scope_fence_refuses_the_domain_head_and_a_foreign_trustee(dc: SambaDC) -> None:
    from auditor.remediation.scope import outside_scope

    policy, plan = plan_for(dc)
    snapshot = collect_ad(dc, policy)
    honest = next(c for c in plan.changes if c.kind == "ldap.dacl" and c.dn == SALES)
    assert outside_scope(honest, policy, snapshot) is None
    assert "neither a target OU" in (outside_scope(honest.model_copy(update={"dn": STAFF + "x"}), policy, snapshot)
                                     or "")
    # the domain head takes Unexpire Password on the head itself, and only while the policy asks for it
    unexpire = next(c for c in plan.changes if c.kind == "ldap.dacl" and c.dn == BASE)
    assert outside_scope(unexpire, policy, snapshot) is None
    assert "only Unexpire Password" in (outside_scope(honest.model_copy(update={"dn": BASE}), policy, snapshot) or "")
    inherited = unexpire.model_copy(update={"add_aces": [a.model_copy(update={"flags": 0x02})
                                                         for a in unexpire.add_aces]})
    assert "only Unexpire Password" in (outside_scope(inherited, policy, snapshot) or "")
    assert policy.directory is not None
    rights = policy.directory.rights.model_copy(update={"unexpire_password": False})
    declined = policy.model_copy(update={"directory": policy.directory.model_copy(update={"rights": rights})})
    assert "does not ask for Unexpire Password" in (outside_scope(unexpire, declined, snapshot) or "")
    everyone = honest.model_copy(update={"principal_sid": "S-1-1-0"})
    assert "not to the sync account" in (outside_scope(everyone, policy, snapshot) or "")
    age = next(c for c in plan.changes if c.kind == "ldap.password_age" and c.scope == "fine_grained")
    assert "Password Settings Container" in (outside_scope(age.model_copy(update={"dn": SALES}), policy, snapshot)
                                             or "")


def test_a_backup_retargeted_or_given_another_old_value_is_refused(dc: SambaDC, tmp_path: Path) -> None:
    from auditor.remediation.apply import Backup, save_backup
    from auditor.remediation.changes import PlanError

    policy, plan = plan_for(dc)
    result = apply(plan, Targets(ad=settings(dc)), policy=policy, yes=True, backup_path=tmp_path / "b.json")
    assert result.outcome == "applied", result.message
    data = load_backup(tmp_path / "b.json").model_dump(mode="json")
    acl = next(o for o in data["objects"] if o["key"].endswith(":descriptor"))
    acl["data"]["dn"] = STAFF  # restore Sales' old descriptor onto another OU
    save_backup(Backup.model_validate(data), tmp_path / "moved.json")
    with pytest.raises(PlanError, match="names dn"):
        load_backup(tmp_path / "moved.json")
    data = load_backup(tmp_path / "b.json").model_dump(mode="json")
    age = next(o for o in data["objects"] if o["key"].endswith(":domain-min-age"))
    age["data"]["value"] = -998 * 864_000_000_000  # "restore" a minimum age of 998 days
    save_backup(Backup.model_validate(data), tmp_path / "998.json")
    with pytest.raises(PlanError, match="does not hold the old value"):
        load_backup(tmp_path / "998.json")
    state = raw_state(dc)
    restored = rollback(load_backup(tmp_path / "b.json"), Targets(ad=settings(dc)), yes=True)
    assert restored.outcome == "restored" and raw_state(dc) != state
