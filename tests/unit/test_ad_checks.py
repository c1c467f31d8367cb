"""The AD checks over synthetic snapshots: each rule, each reason, each way to be `unknown`."""

from __future__ import annotations

from auditor.ad.intervals import days_to_interval
from auditor.ad.rights import RESET_PASSWORD, WRITEBACK_RIGHTS
from auditor.ad.sd import AceFact, DaclFacts, canonical_ace
from auditor.checks.base import Finding
from auditor.checks.registry import all_checks, run_check
from auditor.policy.models import Policy
from auditor.snapshot.directory import DirectoryState, PasswordSettings, SecuredObject, SysvolState
from auditor.snapshot.models import Section, Snapshot
from tests.unit.cases_ad import (
    ACCOUNT_SID,
    BASE,
    GROUP_SID,
    PSO_SALES,
    SALES,
    STAFF,
    account,
    baseline_policy,
    compliant_directory,
    ou_dacl,
    snapshot,
    sysvol,
    user,
    user_dacl,
    with_users,
)

CHECKS = {c.spec.id: c for c in all_checks()}


def run(check_id: str, snap: Snapshot, policy: Policy | None = None) -> list[Finding]:
    return run_check(CHECKS[check_id], policy or baseline_policy(), snap)


def by_target(findings: list[Finding]) -> dict[str, Finding]:
    return {f.target: f for f in findings}


def statuses(findings: list[Finding]) -> list[str]:
    return [f.status.value for f in findings]


# -- shared ------------------------------------------------------------------------------------

def test_snapshot_for_another_sync_account_is_unknown_not_pass() -> None:
    policy = baseline_policy(service_account="MSOL_other")
    for check_id in CHECKS:
        if check_id.startswith("ad.") and check_id != "ad.gpo.min_password_age":
            findings = run(check_id, snapshot(), policy)
            assert set(statuses(findings)) <= {"unknown", "not_applicable"}, check_id
            unknown = [f for f in findings if f.status == "unknown"]
            assert all("collect again" in (f.reason or "") for f in unknown), check_id


def test_no_directory_section_means_unknown() -> None:
    bare = Snapshot(tool_version="t", origin="t")
    for check_id in CHECKS:
        if check_id.startswith("ad."):
            findings = run(check_id, bare)
            assert set(statuses(findings)) <= {"unknown", "not_applicable"}, check_id


def test_findings_carry_the_policy_line() -> None:
    finding = run("ad.acl.writeback_rights", snapshot())[0]
    assert finding.policy_location is not None and finding.policy_location.file.endswith("baseline.yaml")
    assert finding.policy_location.key == "directory.rights.reset_password"


# -- ad.acl.writeback_rights -------------------------------------------------------------------

def test_writeback_rights_one_finding_per_ou_and_right() -> None:
    findings = run("ad.acl.writeback_rights", snapshot())
    assert len(findings) == 8 and set(statuses(findings)) == {"pass"}
    sales = [f for f in findings if f.target == SALES]
    assert all("group GG-Writeback-Delegation" in f.actual for f in sales)


def test_writeback_rights_deny_missing_ou_unreadable_ou_and_no_account() -> None:
    deny = AceFact(allow=False, sid=GROUP_SID, mask=0x100, flags=0x02, object_type=RESET_PASSWORD.guid)
    denied = DaclFacts(protected=False, aces=(deny, *ou_dacl(GROUP_SID).aces))
    state = compliant_directory(target_ous=[
        SecuredObject(dn=SALES, dacl=denied), SecuredObject(dn=f"OU=Gone,{BASE}", exists=False),
        SecuredObject(dn=STAFF, error="the DC returned no nTSecurityDescriptor (no right to read it)")])
    findings = run("ad.acl.writeback_rights", snapshot(state))
    reset = next(f for f in findings if f.target == SALES and f.policy_location.key.endswith("reset_password"))
    assert reset.status == "fail" and "denied" in reset.reason and reset.actual.startswith("denied to group")
    gone = by_target(findings)[f"OU=Gone,{BASE}"]
    assert gone.status == "fail" and gone.policy_location.key == "directory.target_ous"
    assert by_target(findings)[STAFF].status == "unknown"
    no_account = run("ad.acl.writeback_rights", snapshot(compliant_directory(service_account=None)))
    assert set(statuses(no_account)) == {"fail"} and "was not found" in no_account[0].reason


def test_writeback_rights_only_the_rights_the_policy_asks() -> None:
    policy = baseline_policy(rights={"change_password": False})
    state = compliant_directory(target_ous=[SecuredObject(dn=STAFF, dacl=ou_dacl(rights=(
        WRITEBACK_RIGHTS[0], *WRITEBACK_RIGHTS[2:])))])
    findings = run("ad.acl.writeback_rights", snapshot(state), policy)
    assert len(findings) == 3 and set(statuses(findings)) == {"pass"}


def test_admin_sd_holder_rights_when_asked() -> None:
    policy = baseline_policy(rights={"admin_sd_holder": True})
    holder = f"CN=AdminSDHolder,CN=System,{BASE}"
    lacking = [f for f in run("ad.acl.writeback_rights", snapshot(), policy) if f.target == holder]
    assert len(lacking) == 4 and set(statuses(lacking)) == {"fail"}
    # explicit (not inherit-only) ACEs: SDProp copies them onto protected users, where they apply
    granted = DaclFacts(protected=True, aces=tuple(canonical_ace(ACCOUNT_SID, r, inherit_to=None)
                                                   for r in WRITEBACK_RIGHTS))
    state = compliant_directory(admin_sd_holder=SecuredObject(dn=holder, dacl=granted))
    ok = [f for f in run("ad.acl.writeback_rights", snapshot(state), policy) if f.target == holder]
    assert set(statuses(ok)) == {"pass"}


# -- ad.acl.coverage ---------------------------------------------------------------------------

def test_coverage_reasons() -> None:
    staff = ou_dacl()
    deny = AceFact(allow=False, sid=ACCOUNT_SID, mask=0x100, object_type=RESET_PASSWORD.guid)
    state = with_users(
        user("Nora Quinn", STAFF, dacl_key="protected"),
        user("Adam Admin", STAFF, admin_count=1, dacl_key="protected"),
        user("Dee Nied", STAFF, dacl_key="denied"),
        user("Sub User", f"OU=Deep,{STAFF}", dacl_key="blocked", target_ou=STAFF),
        user("No Sd", STAFF, dacl_key=None),
        dacls={"protected": user_dacl(staff, protected=True), "denied": user_dacl(staff, extra=(deny,)),
               "blocked": DaclFacts(protected=False, aces=())},
    )
    findings = by_target(run("ad.acl.coverage", snapshot(state)))
    assert "inheritance is disabled" in findings[f"CN=Nora Quinn,{STAFF}"].reason
    adam = findings[f"CN=Adam Admin,{STAFF}"]
    assert adam.reason.startswith("adminCount=1") and "AdminSDHolder" in adam.reason
    dee = findings[f"CN=Dee Nied,{STAFF}"]
    assert "deny ACE" in dee.reason and dee.actual == ["Change Password", "Write lockoutTime", "Write pwdLastSet"]
    assert "in between blocks inheritance" in findings[f"CN=Sub User,OU=Deep,{STAFF}"].reason
    unknown = [f for f in findings.values() if f.status == "unknown"]
    assert len(unknown) == 1 and unknown[0].actual == [f"CN=No Sd,{STAFF}"]


def test_coverage_does_not_repeat_rights_the_ou_lacks() -> None:
    state = compliant_directory(target_ous=[SecuredObject(dn=STAFF, dacl=ou_dacl(rights=WRITEBACK_RIGHTS[:3])),
                                            SecuredObject(dn=SALES, dacl=ou_dacl(GROUP_SID))])
    assert statuses(run("ad.acl.coverage", snapshot(state))) == ["pass"]


def test_coverage_admin_count_user_before_sdprop_runs() -> None:
    holder = SecuredObject(dn=f"CN=AdminSDHolder,CN=System,{BASE}", dacl=DaclFacts(protected=True, aces=tuple(
        canonical_ace(ACCOUNT_SID, r, inherit_to=None) for r in WRITEBACK_RIGHTS)))
    state = with_users(user("Adam Admin", STAFF, admin_count=1, dacl_key="protected"),
                       dacls={"protected": user_dacl(ou_dacl(), protected=True)})
    state = state.model_copy(update={"admin_sd_holder": holder})
    adam = by_target(run("ad.acl.coverage", snapshot(state)))[f"CN=Adam Admin,{STAFF}"]
    assert "SDProp" in adam.reason


def test_coverage_without_the_account_is_unknown() -> None:
    assert statuses(run("ad.acl.coverage", snapshot(compliant_directory(service_account=None)))) == ["unknown"]


# -- ad.acl.unexpire_password ------------------------------------------------------------------

def test_unexpire_not_asked_is_not_applicable_and_unreadable_is_unknown() -> None:
    assert statuses(run("ad.acl.unexpire_password", snapshot(), baseline_policy(
        rights={"unexpire_password": False}))) == ["not_applicable"]
    policy = baseline_policy(rights={"unexpire_password": True})
    state = compliant_directory(domain=SecuredObject(dn=BASE, error="no right to read it"))
    assert statuses(run("ad.acl.unexpire_password", snapshot(state), policy)) == ["unknown"]


def test_cloud_sync_judges_its_gmsa_rule_set() -> None:
    """sync_engine: cloud_sync asks for the gMSA's documented writeback rights (gmsa-cloud-sync, "Password
    Writeback"): Reset Password, write lockoutTime and pwdLastSet on user objects, Unexpire Password on the
    domain head; not Change Password, which Cloud Sync does not grant."""
    without_change = tuple(r for r in WRITEBACK_RIGHTS if r.name != "change_password")
    state = compliant_directory(target_ous=[SecuredObject(dn=STAFF, dacl=ou_dacl(rights=without_change))],
                                dacls={"inherits": user_dacl(ou_dacl(rights=without_change))})
    asks = {"change_password": True, "unexpire_password": False}
    connect, cloud = baseline_policy(rights=asks), baseline_policy(rights=asks, sync_engine="cloud_sync")
    failed = [f.subject.right for f in run("ad.acl.writeback_rights", snapshot(state), connect)
              if f.status.value == "fail" and f.subject is not None]
    assert failed == ["change_password"]
    findings = run("ad.acl.writeback_rights", snapshot(state), cloud)
    assert {f.subject.right for f in findings if f.subject is not None} == {
        "reset_password", "write_lockout_time", "write_pwd_last_set"}
    assert set(statuses(findings)) == {"pass"}
    # Unexpire Password is part of Cloud Sync's rule set without `rights.unexpire_password`
    assert statuses(run("ad.acl.unexpire_password", snapshot(state), connect)) == ["not_applicable"]
    assert statuses(run("ad.acl.unexpire_password", snapshot(state), cloud)) == ["pass"]
    bare = compliant_directory(domain=SecuredObject(dn=BASE, dacl=DaclFacts(protected=False, aces=())))
    missing = run("ad.acl.unexpire_password", snapshot(bare), cloud)
    assert statuses(missing) == ["fail"] and "Cloud Sync" in (missing[0].reason or "")


# -- ad.gpo.min_password_age -------------------------------------------------------------------

def test_gpo_and_domain_side_by_side_with_the_disagreement_explained() -> None:
    state = compliant_directory(min_pwd_age=days_to_interval(2))
    findings = run("ad.gpo.min_password_age", snapshot(state, sysvol(0)))
    gpo, domain = findings
    assert gpo.status == "pass" and "2 day(s)" in gpo.reason and "value that lasts" in gpo.reason
    assert domain.status == "fail" and domain.target == BASE and domain.actual == 2
    assert "will overwrite" in domain.reason


def test_gpo_without_the_setting_fails_and_a_higher_limit_passes() -> None:
    absent = run("ad.gpo.min_password_age", snapshot(gpo=sysvol(present=False)))
    assert absent[0].status == "fail" and "has no GptTmpl.inf" in absent[0].reason
    unset = run("ad.gpo.min_password_age", snapshot(gpo=sysvol(None)))
    assert unset[0].status == "fail" and "does not set MinimumPasswordAge" in unset[0].reason
    policy = baseline_policy(password_age={"minimum_days": 1})
    state = compliant_directory(min_pwd_age=days_to_interval(1))
    assert statuses(run("ad.gpo.min_password_age", snapshot(state, sysvol(1)), policy)) == ["pass", "pass"]


def test_gpo_unreadable_sysvol_is_unknown_for_the_gpo_only() -> None:
    snap = snapshot().model_copy(update={"sysvol": Section[SysvolState].failed("smb:x", "SMB logon refused")})
    gpo, domain = run("ad.gpo.min_password_age", snap)
    assert gpo.status == "unknown" and "SMB logon refused" in gpo.reason
    assert domain.status == "pass"


# -- ad.fgpp.min_password_age ------------------------------------------------------------------

def test_fgpp_names_the_policy_and_its_users() -> None:
    state = compliant_directory(password_settings=[
        PasswordSettings(dn=PSO_SALES, name="PSO-Sales", precedence=10, min_pwd_age=days_to_interval(3))])
    finding = run("ad.fgpp.min_password_age", snapshot(state))[0]
    assert finding.status == "fail" and finding.target == PSO_SALES and finding.actual == 3
    assert "PSO-Sales (precedence 10) wins for 1 in-scope user(s)" in finding.reason and "jade.young" in finding.reason


def test_fgpp_applying_to_nobody_in_scope_passes_and_unreadable_is_unknown() -> None:
    state = with_users(user("Jade Young", SALES, resultant_pso=None, dacl_key="sales"))
    only = run("ad.fgpp.min_password_age", snapshot(state))
    assert statuses(only) == ["pass"] and "no fine-grained policy applies" in only[0].actual
    hidden = compliant_directory(password_settings=[], password_settings_readable=False)
    assert statuses(run("ad.fgpp.min_password_age", snapshot(hidden))) == ["unknown"]
    missing = compliant_directory(password_settings=[])
    assert statuses(run("ad.fgpp.min_password_age", snapshot(missing))) == ["unknown"]
    policy = baseline_policy(password_age={"include_fine_grained": False})
    assert statuses(run("ad.fgpp.min_password_age", snapshot(), policy)) == ["not_applicable"]


# -- users -------------------------------------------------------------------------------------

def test_disabled_and_critical_users_are_out_of_scope() -> None:
    state = with_users(user("Gone Away", STAFF, user_account_control=0x202, pwd_last_set=0, mobile="junk",
                            admin_count=1),
                       user("Krbtgt Like", STAFF, critical=True, pwd_last_set=0, mobile="junk"))
    for check_id in ("ad.users.temporary_password", "ad.users.contact", "ad.users.privileged"):
        assert statuses(run(check_id, snapshot(state))) == ["pass"], check_id


def test_temporary_password_allowed_or_unread() -> None:
    policy = baseline_policy(users={"allow_temporary_password": True})
    state = with_users(user("Tess Temp", STAFF, pwd_last_set=0))
    assert statuses(run("ad.users.temporary_password", snapshot(state), policy)) == ["not_applicable"]
    unread = with_users(user("Who Knows", STAFF, pwd_last_set=None))
    assert statuses(run("ad.users.temporary_password", snapshot(unread))) == ["unknown"]


def test_privileged_by_group_or_admin_count() -> None:
    state = with_users(user("Pat Primary", STAFF, privileged_via=["Domain Admins"]),
                       user("Old Admin", STAFF, admin_count=1))
    findings = by_target(run("ad.users.privileged", snapshot(state)))
    assert findings[f"CN=Pat Primary,{STAFF}"].actual == "Domain Admins"
    assert findings[f"CN=Old Admin,{STAFF}"].actual == "adminCount=1"
    policy = baseline_policy(users={"allow_privileged": True})
    assert statuses(run("ad.users.privileged", snapshot(state), policy)) == ["not_applicable"]


def test_contact_attributes_from_the_policy() -> None:
    policy = baseline_policy(contact_attributes=["mobile", "telephoneNumber"])
    state = with_users(user("Ann Lee", STAFF, telephone_number="+1 4255550100x12"),
                       user("Ben Singh", STAFF, telephone_number="555-0100"))
    findings = by_target(run("ad.users.contact", snapshot(state), policy))
    ben = findings[f"CN=Ben Singh,{STAFF}"]
    assert ben.status == "fail" and ben.reason == "telephoneNumber: no leading + and country code"
    assert f"CN=Ann Lee,{STAFF}" not in findings
    assert statuses(run("ad.users.contact", snapshot(), baseline_policy(contact_attributes=[]))) == ["not_applicable"]


def test_service_account_missing_or_disabled() -> None:
    missing = run("ad.service_account", snapshot(compliant_directory(service_account=None)))
    assert missing[0].status == "fail" and missing[0].target == "MSOL_0a1b2c3d4e5f"
    disabled = run("ad.service_account", snapshot(compliant_directory(
        service_account=account(user_account_control=0x202))))
    assert disabled[0].status == "fail" and disabled[0].actual == "disabled"


def test_directory_state_helpers() -> None:
    state: DirectoryState = compliant_directory()
    assert [u.sam_account_name for u in state.users_under(SALES)] == ["jade.young"]
    assert state.min_pwd_age_days == 0
    assert state.dacl_of(state.users[0]) is state.dacls["inherits"]
