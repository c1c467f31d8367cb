"""The delegation checks on the directory read from the real lab DC: what each accepts, what makes them unknown,
and that decisions follow group nesting, deny ACEs and the policy's declarations."""

from __future__ import annotations

from typing import Any

from auditor.ad.rights import RESET_PASSWORD, WRITE_LOCKOUT_TIME
from auditor.ad.sd import AceFact
from auditor.checks.registry import check_by_id, run_check
from auditor.derive.delegation import Index
from auditor.findings import Severity, Status
from auditor.policy.loader import load_policy
from auditor.policy.models import Policy
from auditor.snapshot.directory import SysvolState
from auditor.snapshot.models import Section
from tests.unit.cases_delegation import ROOT, lab_snapshot, lab_state


def _policy(**delegates: Any) -> Policy:
    policy = load_policy(ROOT / "policies" / "baseline.yaml")
    assert policy.directory is not None
    directory = policy.directory.model_copy(update={"delegates": policy.directory.delegates.model_copy(
        update=delegates)})
    return policy.model_copy(update={"directory": directory})


def _run(check: str, policy: Policy, snapshot: Any) -> list[Any]:
    return run_check(check_by_id(check), policy, snapshot)


def _failing(findings: list[Any]) -> set[str]:
    return {f.target for f in findings if f.status == Status.failed}


def test_undeclared_delegates_fail_naming_the_ace_and_where_it_is_set() -> None:
    findings = _run("ad.acl.delegates", _policy(), lab_snapshot("demo"))
    assert _failing(findings) == {"hd.sales", "it.intern"}
    sales = next(f for f in findings if f.target == "hd.sales")
    text = " ".join(str(e.value) for e in sales.evidence)
    assert "GG-Helpdesk-Sales" in text and "inherited from OU=Sales,DC=corp" in text and "(OA;CIID;CR;00299570" in text


def test_declaring_a_group_accepts_its_members_and_a_user_by_name() -> None:
    findings = _run("ad.acl.delegates", _policy(accepted=["GG-Helpdesk-Staff", "gg-helpdesk-sales", "IT.INTERN"]),
                    lab_snapshot("demo"))
    assert {f.status for f in findings} == {Status.passed}


def test_an_older_snapshot_without_the_delegation_view_is_unknown() -> None:
    state = lab_state("demo").model_copy(update={"access_control": None})
    for check in ("ad.acl.delegates", "ad.acl.tier0_reach", "ad.service_account.control"):
        findings = _run(check, _policy(), lab_snapshot("demo", state))
        assert {f.status for f in findings} == {Status.unknown}, check


def test_a_deny_for_the_group_first_in_the_dacl_removes_the_power() -> None:
    state = lab_state("demo")
    control = state.access_control
    assert control is not None
    group = next(p for p in control.principals.values() if p.name == "GG-Helpdesk-Sales")
    denies = tuple(AceFact(allow=False, sid=group.sid, mask=r.ace_mask, object_type=r.guid)
                   for r in (RESET_PASSWORD, WRITE_LOCKOUT_TIME))
    dacls = {k: d.model_copy(update={"aces": (*denies, *d.aces)}) for k, d in state.dacls.items()}
    findings = _run("ad.acl.delegates", _policy(), lab_snapshot("demo", state.model_copy(update={"dacls": dacls})))
    assert _failing(findings) == {"it.intern"}


def test_nested_groups_are_followed_to_the_sync_account() -> None:
    control = lab_state("baseline").access_control
    assert control is not None
    index = Index.of(control)
    delegation = next(p for p in control.principals.values() if p.name == "GG-Writeback-Delegation")
    member = next(m for m in delegation.members or [] if m.name == "MSOL_0a1b2c3d4e5f")
    assert member.via == ["GG-Sync-Accounts"] and delegation.sid in index.token(member.sid)


def test_tier0_reach_is_accepted_only_by_the_policy() -> None:
    snapshot = lab_snapshot("demo")
    assert _failing(_run("ad.acl.tier0_reach", _policy(), snapshot)) == {"hd.sales", "MSOL_0a1b2c3d4e5f"}
    accepted = _policy(tier0=["GG-Helpdesk-Sales"])
    assert _failing(_run("ad.acl.tier0_reach", accepted, snapshot)) == {"MSOL_0a1b2c3d4e5f"}
    assert accepted.directory is not None
    rights = accepted.directory.rights.model_copy(update={"admin_sd_holder": True})
    both = accepted.model_copy(update={"directory": accepted.directory.model_copy(update={"rights": rights})})
    assert _failing(_run("ad.acl.tier0_reach", both, snapshot)) == set()
    finding = _run("ad.acl.tier0_reach", _policy(), snapshot)[0]
    assert "2.0.3.0" in (finding.reason or "")


def test_control_of_the_sync_account_is_critical_with_replication_rights() -> None:
    findings = _run("ad.service_account.control", _policy(), lab_snapshot("demo"))
    assert _failing(findings) == {"svc-backup"}
    assert findings[0].severity == Severity.critical
    state = lab_state("demo")
    domain = state.domain.model_copy(update={"dacl": state.domain.dacl.model_copy(update={"aces": tuple(
        a for a in state.domain.dacl.aces if a.object_type != "1131f6ad-9c07-11d1-f79f-00c04fc2dcd2")})})
    findings = _run("ad.service_account.control", _policy(), lab_snapshot("demo", state.model_copy(
        update={"domain": domain})))
    assert findings[0].status == Status.failed and findings[0].severity == Severity.high


def _with_remote_sam(scenario: str, sddl: str | None, audit_only: str | None = None) -> Any:
    import base64

    from auditor.ad import gpttmpl

    snapshot = lab_snapshot(scenario)
    sysvol = snapshot.sysvol.value
    assert isinstance(sysvol, SysvolState)
    templates = []
    for template in sysvol.templates:
        if template.content_b64 and gpttmpl.registry_value(gpttmpl.parse(base64.b64decode(template.content_b64)),
                                                           gpttmpl.RESTRICT_REMOTE_SAM):
            changed = gpttmpl.parse(base64.b64decode(template.content_b64))
            if sddl is not None:
                changed = changed.with_value(gpttmpl.REGISTRY_VALUES, gpttmpl.RESTRICT_REMOTE_SAM, f'1,"{sddl}"')
            if audit_only is not None:
                changed = changed.with_value(gpttmpl.REGISTRY_VALUES, gpttmpl.RESTRICT_REMOTE_SAM_AUDIT_ONLY,
                                             audit_only)
            template = template.model_copy(update={"content_b64": base64.b64encode(changed.to_bytes()).decode()})
        templates.append(template)
    changed_sysvol = sysvol.model_copy(update={"templates": templates})
    return snapshot.model_copy(update={"sysvol": Section[SysvolState].ok("smb:SYSVOL", changed_sysvol)})


def test_restrict_remote_sam_follows_the_accounts_groups_and_refuses_bad_sddl() -> None:
    assert _run("ad.gpo.restrict_remote_sam", _policy(), lab_snapshot("demo"))[0].status == Status.failed
    assert _run("ad.gpo.restrict_remote_sam", _policy(), lab_snapshot("baseline"))[0].status == Status.passed
    everyone = _with_remote_sam("demo", "O:BAG:BAD:(A;;RC;;;BA)(A;;RC;;;AU)")
    assert _run("ad.gpo.restrict_remote_sam", _policy(), everyone)[0].status == Status.passed
    denied = _with_remote_sam("baseline", "O:BAG:BAD:(D;;RC;;;AU)(A;;RC;;;WD)")
    finding = _run("ad.gpo.restrict_remote_sam", _policy(), denied)[0]
    assert finding.status == Status.failed and "denied" in (finding.reason or "")
    broken = _with_remote_sam("baseline", "O:BAG:BAD:(A;;RC;;;QQ)")
    assert _run("ad.gpo.restrict_remote_sam", _policy(), broken)[0].status == Status.unknown


# Microsoft, "Network access: Restrict clients allowed to make remote calls to SAM", Audit only mode: SAM does the
# access check "but will not fail the call if the access check fails. Instead, the call will be allowed"
# (HKLM\SYSTEM\CurrentControlSet\Control\Lsa\RestrictRemoteSamAuditOnlyMode, REG_DWORD 1).
def test_audit_only_mode_lets_the_denied_sync_account_through_with_a_note() -> None:
    finding = _run("ad.gpo.restrict_remote_sam", _policy(), _with_remote_sam("demo", None, "4,1"))[0]
    assert finding.status == Status.passed
    assert "RestrictRemoteSamAuditOnlyMode=1" in (finding.reason or "") and "before leaving audit mode" in (
        finding.reason or "")
    assert any(e.field.startswith("RestrictRemoteSamAuditOnlyMode") and e.value == 1 for e in finding.evidence)


def test_audit_only_mode_off_or_unreadable() -> None:
    off = _run("ad.gpo.restrict_remote_sam", _policy(), _with_remote_sam("demo", None, "4,0"))[0]
    assert off.status == Status.failed and "RestrictRemoteSamAuditOnlyMode) is 0" in (off.reason or "")
    plain = _run("ad.gpo.restrict_remote_sam", _policy(), lab_snapshot("demo"))[0]
    assert plain.status == Status.failed and "not set in these GPOs" in (plain.reason or "")
    odd = _run("ad.gpo.restrict_remote_sam", _policy(), _with_remote_sam("demo", None, '1,"yes"'))[0]
    assert odd.status == Status.unknown and "REG_DWORD" in (odd.reason or "")
