"""The seeded lab domains against the real readers and the AD checks.

`demo`: every planted misconfiguration is a `fail` on the object it was planted on, and
nothing else fails. `baseline`: every AD check passes.
"""

from __future__ import annotations

import pytest
from samba_fixtures import (  # noqa: F401  (fixtures)
    ad_outcomes,
    baseline_dc_fixture,
    baseline_policy,
    collect_ad,
    demo_dc_fixture,
)

pytestmark = pytest.mark.samba

BASE = "DC=corp,DC=example,DC=test"
STAFF, SALES = f"OU=Staff,{BASE}", f"OU=Sales,{BASE}"
GPO = "Default Domain Policy {31B2F340-016D-11D2-945F-00C04FB984F9}"
PSO_SALES = f"CN=PSO-Sales,CN=Password Settings Container,CN=System,{BASE}"

# (check, target, policy key) of every planted misconfiguration in the demo domain
DEMO_FAILURES = {
    ("ad.acl.writeback_rights", SALES, "directory.rights.write_pwd_last_set"),
    ("ad.acl.coverage", f"CN=Nora Quinn,{STAFF}", "directory.rights"),
    ("ad.acl.coverage", f"CN=Adam Admin,{STAFF}", "directory.rights"),
    ("ad.users.privileged", f"CN=Adam Admin,{STAFF}", "directory.users.allow_privileged"),
    ("ad.users.temporary_password", f"CN=Tess Temp,{STAFF}", "directory.users.allow_temporary_password"),
    ("ad.fgpp.min_password_age", PSO_SALES, "directory.password_age.minimum_days"),
    ("ad.gpo.min_password_age", GPO, "directory.password_age.minimum_days"),
    ("ad.gpo.min_password_age", BASE, "directory.password_age.minimum_days"),
    ("ad.users.contact", f"CN=Cara Zeller,{STAFF}", "directory.contact_attributes"),
    ("ad.users.contact", f"CN=Hana Park,{STAFF}", "directory.contact_attributes"),
    ("ad.users.contact", f"CN=Gus Singh,{SALES}", "directory.contact_attributes"),
    ("ad.users.contact", f"CN=Ivo Rossi,{SALES}", "directory.contact_attributes"),
    # the Express-style Reset Password grant at the domain head (auditor/lab_domain/seams_seed.py)
    ("ad.acl.reach_beyond", BASE, "directory.rights.allow_beyond_target_ous"),
    ("ad.users.privileged", f"CN=Olga Ops,{SALES}", "directory.users.allow_privileged"),
    ("ad.acl.delegates", "hd.sales", "directory.delegates.accepted"),
    ("ad.acl.delegates", "it.intern", "directory.delegates.accepted"),
    ("ad.acl.tier0_reach", "hd.sales", "directory.delegates.tier0"),
    ("ad.acl.tier0_reach", "MSOL_0a1b2c3d4e5f", "directory.rights.admin_sd_holder"),
    ("ad.service_account.control", "svc-backup", "directory.service_account"),
    ("ad.gpo.restrict_remote_sam", "Restrict remote SAM {B3E51ACE-3383-548A-B3BC-A6C5ACA3A467}",
     "directory.service_account"),
    # passwords expire (maxPwdAge 42 days) and no ACE on the domain head grants Unexpire Password (issue #35)
    ("ad.acl.unexpire_password", BASE, "directory.rights.unexpire_password"),
}


def test_demo_reports_every_planted_misconfiguration_on_its_object(demo_dc) -> None:
    policy = baseline_policy()
    snapshot = collect_ad(demo_dc, policy)
    assert snapshot.directory is not None and snapshot.directory.readable, snapshot.directory
    assert snapshot.sysvol is not None and snapshot.sysvol.readable, snapshot.sysvol
    outcomes = ad_outcomes(policy, snapshot)
    failed = {key for key, status in outcomes.items() if status == "fail"}
    assert failed == DEMO_FAILURES
    assert "unknown" not in outcomes.values()
    # every other writeback right on both OUs passes, the sync account is fine
    passed = {key for key, status in outcomes.items() if status == "pass"}
    assert ("ad.acl.writeback_rights", SALES, "directory.rights.reset_password") in passed
    assert ("ad.acl.writeback_rights", STAFF, "directory.rights.write_pwd_last_set") in passed
    assert ("ad.service_account", f"CN=MSOL_0a1b2c3d4e5f,CN=Users,{BASE}", "directory.service_account") in passed


def test_demo_reasons_name_the_cause(demo_dc) -> None:
    from auditor.checks.registry import all_checks, run_check

    policy = baseline_policy()
    snapshot = collect_ad(demo_dc, policy)
    checks = {c.spec.id: c for c in all_checks()}
    coverage = {f.target: f for f in run_check(checks["ad.acl.coverage"], policy, snapshot)}
    assert "inheritance is disabled" in (coverage[f"CN=Nora Quinn,{STAFF}"].reason or "")
    assert "adminCount=1" in (coverage[f"CN=Adam Admin,{STAFF}"].reason or "")
    assert "AdminSDHolder" in (coverage[f"CN=Adam Admin,{STAFF}"].reason or "")
    gpo = {f.target: f for f in run_check(checks["ad.gpo.min_password_age"], policy, snapshot)}
    assert gpo[GPO].actual == 1 and gpo[BASE].actual == 1
    assert any(e.value == "utf-16-le-bom CRLF" for e in gpo[GPO].evidence)
    fgpp = next(f for f in run_check(checks["ad.fgpp.min_password_age"], policy, snapshot) if f.status == "fail")
    assert "PSO-Sales" in (fgpp.reason or "") and "14 in-scope user(s)" in (fgpp.reason or "")
    rights = [f for f in run_check(checks["ad.acl.writeback_rights"], policy, snapshot)
              if f.target == SALES and f.status == "pass"]
    # Sales gets its rights through nested groups: GG-Writeback-Delegation ∋ GG-Sync-Accounts ∋ MSOL_…
    assert all("group GG-Writeback-Delegation" in str(f.actual) for f in rights)


def test_demo_policy_asking_more(demo_dc) -> None:
    from auditor.checks.registry import all_checks, run_check

    policy = baseline_policy(rights=baseline_policy().directory.rights.model_copy(
        update={"unexpire_password": True, "admin_sd_holder": True}))
    snapshot = collect_ad(demo_dc, policy)
    outcomes = ad_outcomes(policy, snapshot)
    holder = f"CN=AdminSDHolder,CN=System,{BASE}"
    assert outcomes[("ad.acl.writeback_rights", holder, "directory.rights.admin_sd_holder")] == "fail"
    # the demo removed AD's default grant of Unexpire Password to Authenticated Users: asked for always, it fails
    unexpire = run_check(next(c for c in all_checks() if c.spec.id == "ad.acl.unexpire_password"), policy, snapshot)
    assert [f.status.value for f in unexpire] == ["fail"]
    assert unexpire[0].actual == "no ACE grants it" and "passwords expire" not in (unexpire[0].reason or "")


def test_baseline_domain_passes_every_ad_check(baseline_dc) -> None:
    policy = baseline_policy()
    outcomes = ad_outcomes(policy, collect_ad(baseline_dc, policy))
    # Unexpire Password applies since issue #35: the Samba domain's passwords expire (maxPwdAge, 42 days)
    assert set(outcomes.values()) == {"pass"}, {k: v for k, v in outcomes.items() if v != "pass"}
    checks = {k[0] for k in outcomes}
    assert checks == {"ad.acl.writeback_rights", "ad.acl.coverage", "ad.acl.unexpire_password",
                      "ad.gpo.min_password_age", "ad.fgpp.min_password_age", "ad.users.temporary_password",
                      "ad.users.privileged", "ad.users.contact", "ad.service_account",
                      "ad.acl.delegates", "ad.acl.tier0_reach", "ad.service_account.control",
                      "ad.gpo.restrict_remote_sam", "ad.acl.reach_beyond", "ad.sync_engine"}


def test_baseline_domain_grants_unexpire_password_when_asked(baseline_dc) -> None:
    from auditor.checks.registry import check_by_id, run_check

    policy = baseline_policy(rights=baseline_policy().directory.rights.model_copy(
        update={"unexpire_password": True}))
    snapshot = collect_ad(baseline_dc, policy)
    outcomes = ad_outcomes(policy, snapshot)
    assert outcomes[("ad.acl.unexpire_password", BASE, "directory.rights.unexpire_password")] == "pass"
    assert set(outcomes.values()) == {"pass"}
    # AD's default domain DACL grants it to Authenticated Users, which the account is; that grant counts
    (finding,) = run_check(check_by_id("ad.acl.unexpire_password"), policy, snapshot)
    assert "Authenticated Users" in str(finding.actual) and "(OA;;CR;ccc2dc7d" in str(finding.evidence)


def test_unexpire_applies_because_the_lab_domains_passwords_expire(demo_dc) -> None:
    """Issue #35: the default policy applies Unexpire Password when passwords expire, naming where expiry comes from
    (Samba provisions maxPwdAge at 42 days); the demo removed every grant of it, Authenticated Users' default too."""
    from auditor.checks.registry import check_by_id, run_check

    policy = baseline_policy()
    assert policy.directory is not None and policy.directory.rights.unexpire_password == "when_passwords_expire"
    snapshot = collect_ad(demo_dc, policy)
    assert snapshot.directory is not None and snapshot.directory.value is not None
    assert snapshot.directory.value.max_pwd_age is not None and snapshot.directory.value.max_pwd_age < 0
    (finding,) = run_check(check_by_id("ad.acl.unexpire_password"), policy, snapshot)
    assert finding.status.value == "fail" and finding.actual == "no ACE grants it"
    assert f"maxPwdAge of {BASE}: 42 day(s)" in (finding.reason or "")
    assert "writeback cannot reset a password that has expired on-premises" in (finding.reason or "")
