"""Golden cases for the checks across the Entra/AD seam (issue #35), on top of cases_ad's compliant directory.

The compliant seam: Entra smart lockout 10 attempts / 120 s; AD (domain head, Default Domain Policy and
PSO-Sales) 30 attempts, counter reset after 1 minute. Each failing case changes one thing.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from auditor.ad.intervals import minutes_to_interval
from auditor.snapshot.directory import (
    AccountLockout,
    DcAgent,
    DirectoryState,
    DomainController,
    GrantPoint,
    PasswordProtectionAgents,
    ReachBeyond,
    ReachedUser,
    SysvolState,
)
from auditor.snapshot.models import (
    MethodsPolicyState,
    Section,
    SecurityQuestionItem,
    Snapshot,
    SsprPolicyState,
    SyncFeaturesState,
)
from auditor.snapshot.tenant import (
    DomainsState,
    PasswordRulesState,
    SsprActivityState,
    TenantDomain,
    WritebackFailure,
)

from .cases_ad import BASE, PSO_SALES, Case, baseline_policy, compliant_directory, snapshot, sysvol

SETTING_ID = "8b16b029-bb31-48c8-b4df-5ee419596688"
# when the agents' snapshots were collected: an hour after the heartbeat `agents` writes (hybrid.dc_agents judges
# the heartbeat's age against the snapshot, never the clock)
AGENTS_AS_OF = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def ad_lockout(threshold: int = 30, window_minutes: int = 1, duration_minutes: int = 1) -> AccountLockout:
    return AccountLockout(threshold=threshold, observation_window=minutes_to_interval(window_minutes),
                          duration=minutes_to_interval(duration_minutes))


def seam_directory(pso: AccountLockout | None = None, **overrides: Any) -> DirectoryState:
    base = compliant_directory()
    psos = [p.model_copy(update={"lockout": pso or ad_lockout()}) if p.dn == PSO_SALES else p
            for p in base.password_settings]
    return base.model_copy(update={"lockout": ad_lockout(), "password_settings": psos, **overrides})


def seam_sysvol(bad_count: int = 30, reset_minutes: int = 1, duration_minutes: int = 1) -> SysvolState:
    return sysvol().model_copy(update={"lockout_bad_count": bad_count, "reset_lockout_count": reset_minutes,
                                       "lockout_duration": duration_minutes})


def rules(threshold: int = 10, duration: int = 120) -> PasswordRulesState:
    return PasswordRulesState(setting_id=SETTING_ID, banned_on_premises_enabled=True,
                              banned_on_premises_mode="Enforce", custom_list_enabled=True, custom_list_size=3,
                              lockout_threshold=threshold, lockout_duration_seconds=duration)


def seam_snapshot(directory: DirectoryState | None = None, gpo: SysvolState | None = None,
                  password_rules: PasswordRulesState | None = None, as_of: datetime | None = AGENTS_AS_OF) -> Snapshot:
    snap = snapshot(directory or seam_directory(), gpo or seam_sysvol())
    update: dict[str, Any] = {"password_rules": Section[PasswordRulesState].ok("graph:/groupSettings",
                                                                              password_rules or rules())}
    if as_of is not None and snap.directory is not None:
        update["directory"] = snap.directory.model_copy(update={"collected_at": as_of})
    return snap.model_copy(update=update)


ROOT_ACE = "(OA;CIIO;CR;00299570-246d-11d0-a768-00aa006e0529;bf967aba-0de6-11d0-a285-00aa003049e2;S-1-5-21-1-1148)"
INHERITED = ROOT_ACE.replace("CIIO", "CIID")


def reached(cn: str, where: str = "OU=Service Accounts", **fields: Any) -> ReachedUser:
    return ReachedUser(dn=f"CN={cn},{where},{BASE}", sam_account_name=cn.lower(), ace=INHERITED, **fields)


def express_reach(*users: ReachedUser) -> ReachBeyond:
    """An Express install: the sync account's Reset Password at the domain head reaches the service accounts."""
    return ReachBeyond(grant_points=[GrantPoint(dn=BASE, ace=ROOT_ACE)], containers_read=9, users=list(users) or [
        reached("svc-sql", admin_count=1, privileged_via=["Backup Operators"]), reached("svc-backup"),
        reached("Guest Kiosk", "CN=Users")])


DC1 = f"CN=DC1,OU=Domain Controllers,{BASE}"
DC2 = f"CN=DC2,OU=Domain Controllers,{BASE}"


def agents(*without: str, heartbeat: str | None = "2026-12-01T08:00:00Z") -> PasswordProtectionAgents:
    """DC1 and DC2, each with its DC agent SCP unless named in `without`."""
    dcs = [DomainController(dn=dc, dns_host_name=f"{rdn}.corp.example.test", agent=None if dc in without else DcAgent(
        dn=f"CN=AzureADPasswordProtectionDCAgent,{dc}", software_version="1.2.177.1",
        heartbeat_utc=heartbeat)) for dc, rdn in ((DC1, "dc1"), (DC2, "dc2"))]
    return PasswordProtectionAgents(domain_controllers=dcs, proxies=[f"CN=AzureADPasswordProtectionProxy,{DC1}"])


def domains_snapshot(federated: bool = False, hash_sync: bool | None = True) -> Snapshot:
    domains = [TenantDomain(id="contoso-lab.onmicrosoft.com", authentication_type="Managed", is_verified=True),
               TenantDomain(id="corp.example.test", authentication_type="Federated" if federated else "Managed",
                            is_verified=True, is_default=True),
               TenantDomain(id="unverified.example", authentication_type="Federated", is_verified=False)]
    return Snapshot(tool_version="test", origin="test",
                    domains=Section[DomainsState].ok("graph:GET /domains", DomainsState(domains=domains)),
                    sync_features=Section[SyncFeaturesState].ok(
                        "graph:GET /directory/onPremisesSynchronization",
                        SyncFeaturesState(password_sync_enabled=hash_sync)))


def campaign_snapshot(state: str | None) -> Snapshot:
    return Snapshot(tool_version="test", origin="test", methods_policy=Section[MethodsPolicyState].ok(
        "graph:GET /policies/authenticationMethodsPolicy",
        MethodsPolicyState(migration_state="migrationComplete", registration_campaign_state=state)))


def questions_snapshot(*questions: SecurityQuestionItem | None) -> Snapshot:
    """The portal's SSPR policy with these chosen questions (a None among them: the list was not readable)."""
    chosen = None if None in questions else [q for q in questions if q is not None]
    sspr = SsprPolicyState(enablement="all", security_questions=False, chosen_questions=chosen,
                           chosen_questions_problem=None if chosen is not None else "securityQuestions[0]: odd")
    return Snapshot(tool_version="test", origin="test", sspr_policy=Section[SsprPolicyState].ok(
        "portal:GET /PasswordReset/PasswordResetPolicies", sspr))


PREDEFINED = SecurityQuestionItem(id="SSPR_KBA_Q_FirstPetName", text="What was the name of your first pet?",
                                  custom=False)
CUSTOM = SecurityQuestionItem(id="Custom_1", text="What is your employee number?", custom=True)


AUDIT_END = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
UNREACHABLE = "on-premises service unreachable"


def failed_writeback(day: int, kind: str = UNREACHABLE, user: str | None = "u1") -> WritebackFailure:
    return WritebackFailure(datetime(2026, 11, day, 10, 0, tzinfo=UTC), "Reset password (self-service)", kind, user)


def activity_snapshot(*failures: WritebackFailure, events: int = 40) -> Snapshot:
    """The SSPR audit log of a 30-day window ending AUDIT_END: `events` events, `failures` among them."""
    from datetime import timedelta

    state = SsprActivityState(window_start=AUDIT_END - timedelta(days=30), window_end=AUDIT_END, events=events,
                              writeback_failures=list(failures))
    return Snapshot(tool_version="test", origin="test", sspr_activity=Section[SsprActivityState].ok(
        "graph:GET /auditLogs/directoryAudits", state))


def _case(policy: Any, snap: Snapshot) -> Case:
    return lambda: (policy, snap)


def _cases() -> dict[str, dict[str, Case]]:
    policy = baseline_policy()
    return {
        "hybrid.lockout": {
            "pass": _case(policy, seam_snapshot()),
            "fail": _case(policy, seam_snapshot(gpo=seam_sysvol(bad_count=5, reset_minutes=30, duration_minutes=30))),
            "fail_pso": _case(policy, seam_snapshot(seam_directory(pso=ad_lockout(threshold=3)))),
            "fail_domain": _case(policy, seam_snapshot(seam_directory(lockout=ad_lockout(duration_minutes=30)))),
            "fail_cloud_default": _case(policy, seam_snapshot(password_rules=PasswordRulesState())),
            "unread_domain": _case(policy, seam_snapshot(seam_directory(lockout=AccountLockout(
                error="`lockoutThreshold` absent on DC=corp,DC=example,DC=test")))),
        },
        "hybrid.dc_agents": {
            "pass": _case(policy, seam_snapshot(seam_directory(password_protection_agents=agents()))),
            "fail": _case(policy, seam_snapshot(seam_directory(password_protection_agents=agents(DC2)))),
            "unread": _case(policy, seam_snapshot(seam_directory(password_protection_agents=PasswordProtectionAgents(
                error="search of DC=corp,DC=example,DC=test failed: insufficientAccessRights")))),
        },
        "hybrid.authentication": {
            "pass": _case(policy, domains_snapshot()),
            "fail": _case(policy, domains_snapshot(federated=True)),
            "fail_hash_sync": _case(policy, domains_snapshot(hash_sync=False)),
        },
        "methods_policy.registration_campaign": {
            "pass": _case(policy, campaign_snapshot("enabled")),
            "fail": _case(policy, campaign_snapshot("default")),
            "absent": _case(policy, campaign_snapshot(None)),
        },
        "sspr.custom_security_questions": {
            "pass": _case(policy, questions_snapshot(PREDEFINED)),
            "fail": _case(policy, questions_snapshot(PREDEFINED, CUSTOM)),
            "unread": _case(policy, questions_snapshot(None)),
        },
        "writeback.health": {
            "pass": _case(policy, activity_snapshot()),
            "fail": _case(policy, activity_snapshot(failed_writeback(3), failed_writeback(9, user="u2"))),
            "empty_window": _case(policy, activity_snapshot(events=0)),
        },
        "ad.acl.reach_beyond": {
            "pass": _case(policy, seam_snapshot(seam_directory(reach_beyond=ReachBeyond(containers_read=9)))),
            "fail": _case(policy, seam_snapshot(seam_directory(reach_beyond=express_reach()))),
            "unread": _case(policy, seam_snapshot(seam_directory(reach_beyond=ReachBeyond(
                error="search of OU=Service Accounts failed: insufficientAccessRights")))),
        },
    }


CASES = _cases()
