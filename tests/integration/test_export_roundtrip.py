"""Export: the live state as a policy file that validates and that `check` passes against the same state.

The round trips run the CLI against the lab emulator (scenarios `demo` and `baseline`); the
rest exercise `auditor.export` on snapshots built in Python.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from auditor.export import export_policy, export_text
from auditor.policy.loader import load_policy
from auditor.snapshot.models import (
    AuthorizationPolicyState,
    MethodsPolicyState,
    OnPremisesWritebackState,
    Section,
    SsprPolicyState,
)
from tests.unit.cases_cloud import compliant_methods, compliant_snapshot, compliant_sspr

ROOT = Path(__file__).resolve().parents[2]
BASE = "DC=corp,DC=example,DC=test"


def cli(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "auditor.cli", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=300, check=False)


@pytest.mark.parametrize("scenario", ["demo", "baseline"])
def test_export_then_check_passes_against_the_same_lab(scenario: str, tmp_path: Path) -> None:
    exported = tmp_path / f"{scenario}.yaml"
    result = cli("export", "--lab", scenario, "--out", str(exported))
    assert result.returncode == 0, result.stdout + result.stderr
    assert cli("validate", str(exported)).returncode == 0

    checked = cli("check", str(exported), "--lab", scenario, "--out", str(tmp_path / "out"), "--format", "json")
    report = json.loads((tmp_path / "out" / "sspr-audit.json").read_text(encoding="utf-8"))
    statuses = {(f["check"], f["target"]): f["status"] for f in report["findings"]}
    # what no policy value can say is an expiring waiver, and only that: the lab's two users whose own DACL
    # keeps the OU's rights out (demo: Nora Quinn, inheritance off; Adam Admin, adminCount=1), and the delegation
    # drift no value accepts (DEMO_WAIVED)
    waived = {key for key, status in statuses.items() if status == "waived"}
    assert waived == (DEMO_WAIVED if scenario == "demo" else set()), waived
    assert all(status in ("pass", "not_applicable") for key, status in statuses.items() if key not in waived), statuses
    assert checked.returncode == 0, checked.stdout + checked.stderr
    # every check that had readable input was exercised, not merely switched off
    passed = {check for (check, _), status in statuses.items() if status == "pass"}
    assert {"sspr.scope", "sspr.gates", "sspr.methods", "sspr.registration", "sspr.notify_users",
            "sspr.notify_admins", "sspr.helpdesk", "admin_sspr", "methods_policy.migration",
            "writeback.enabled", "writeback.unlock", "writeback.health", "ad.service_account",
            "ad.acl.writeback_rights", "ad.gpo.min_password_age", "ad.fgpp.min_password_age",
            "password_protection", "client.sign_in_reset", "registration.conditional_access",
            "registration.temporary_access_pass"} <= passed
    # demo: no Unexpire Password anywhere on the domain head, so the export says false and the check stands aside
    unexpire = [(f["target"], f["status"]) for f in report["findings"] if f["check"] == "ad.acl.unexpire_password"]
    assert unexpire == ([("domain", "not_applicable")] if scenario == "demo" else [(BASE, "pass")]), unexpire
    if scenario == "baseline":  # the clean lab passes the per-user checks too, with nothing waived
        assert {"ad.acl.coverage", "ad.users.contact", "ad.users.temporary_password", "ad.users.privileged",
                "hybrid.lockout", "hybrid.dc_agents"} <= passed
    assert "ad.acl.reach_beyond" in passed


DEMO_WAIVED = {("ad.acl.coverage", "CN=Nora Quinn,OU=Staff,DC=corp,DC=example,DC=test"),
               ("ad.acl.coverage", "CN=Adam Admin,OU=Staff,DC=corp,DC=example,DC=test"),
               # no policy value accepts these: the helpdesk and the sync account reaching an admin (Olga Ops),
               # who can take over the sync account, and the RestrictRemoteSAM GPO shutting it out
               ("ad.acl.tier0_reach", "hd.sales"), ("ad.acl.tier0_reach", "MSOL_0a1b2c3d4e5f"),
               ("ad.service_account.control", "svc-backup"),
               ("ad.gpo.restrict_remote_sam", "Restrict remote SAM {B3E51ACE-3383-548A-B3BC-A6C5ACA3A467}")}


@pytest.mark.parametrize("scenario", ["demo", "baseline"])
def test_the_exported_directory_is_the_lab_domains_ground_truth(scenario: str, tmp_path: Path) -> None:
    """Each value against what auditor/lab_domain/domain_seed.py planted (its module docstring lists the drift)."""
    exported = tmp_path / f"{scenario}.yaml"
    assert cli("export", "--lab", scenario, "--out", str(exported)).returncode == 0
    policy, text = load_policy(exported), exported.read_text(encoding="utf-8")
    directory = policy.directory
    assert directory is not None
    assert directory.service_account == "MSOL_0a1b2c3d4e5f"
    assert sorted(directory.target_ous) == ["OU=Sales,DC=corp,DC=example,DC=test",
                                            "OU=Staff,DC=corp,DC=example,DC=test"]
    demo = scenario == "demo"
    rights = directory.rights
    assert (rights.reset_password, rights.change_password, rights.write_lockout_time) == (True, True, True)
    assert rights.write_pwd_last_set is not demo  # demo: OU=Sales lacks the write pwdLastSet ACE
    # baseline grants it to the account (and Samba's default domain DACL to Authenticated Users); demo removes both
    assert rights.unexpire_password is not demo and rights.admin_sd_holder is False
    assert rights.allow_beyond_target_ous is demo  # demo: Reset Password at the domain head (seams_seed)
    assert ("svc-sql" in text) is demo
    assert ("Unexpire Password no ACE grants it" in text) is demo
    assert directory.password_age.minimum_days == (1 if demo else 0)  # demo: DDP, minPwdAge and PSO-Sales say 1
    assert directory.contact_attributes == ([] if demo else ["mobile"])  # demo: malformed mobiles
    assert directory.users.allow_temporary_password is demo and directory.users.allow_privileged is demo
    assert ("tess.temp" in text) is demo and ("adam.admin" in text) is demo
    assert "# sync account: CN=MSOL_0a1b2c3d4e5f,CN=Users,DC=corp,DC=example,DC=test: Entra Connect" in text
    assert re.search(r"^\s+#\s+evidence: OU=Sales,.*\(through group CN=GG-Writeback-Delegation", text, re.MULTILINE)
    protection = policy.password_protection
    assert protection is not None and policy.client is not None
    assert protection.on_premises == ("audit" if demo else "enforce")
    assert protection.lockout_threshold_at_most == (20 if demo else 10)
    assert protection.agent_on_every_dc is not demo  # demo: the DC runs no Password Protection DC agent
    # demo: the domain locks out after 5 (Entra 20) and counts for 30 minutes (Entra 60 s); baseline 30 / 1 minute
    assert directory.lockout.compare_with_smart_lockout is not demo
    assert directory.lockout.threshold_multiple == (2 if demo else 3)
    assert policy.client.sign_in_reset is not demo  # demo: the sign-in GPO is linked to OU=Staff, no computers
    # in a stable order (by check, then target), whatever order the DC returns the users in
    assert [(w.check, w.target) for w in policy.waivers] == (
        sorted(DEMO_WAIVED, key=lambda w: (w[0], w[1].casefold())) if demo else [])
    # who else can reset in-scope users, each with where its power comes from
    assert directory.delegates.accepted == (["GG-Helpdesk-Sales", "GG-Helpdesk-Staff", "it.intern"] if demo
                                            else ["GG-Helpdesk-Staff"])
    assert re.search(r"^\s+# GG-Helpdesk-Staff ← hd.staff .*Reset Password to GG-Helpdesk-Staff by \(OA;CIID;CR;"
                     r"00299570-.* inherited from OU=Staff,DC=corp", text, re.MULTILINE)
    assert all(w.owner.startswith("unassigned") and (w.expires - date.today()).days == 30 for w in policy.waivers)
    assert_every_value_has_a_source(text)


def test_demo_export_carries_the_drift_and_names_every_source(tmp_path: Path) -> None:
    exported = tmp_path / "demo.yaml"
    assert cli("export", "--lab", "demo", "--out", str(exported)).returncode == 0
    text = exported.read_text(encoding="utf-8")
    policy = load_policy(exported)
    assert policy.sspr is not None and policy.sspr.methods_required == 1 and policy.sspr.scope.value == "selected"
    assert policy.admin_sspr is not None and policy.admin_sspr.allowed is True
    assert "allowed: true" in text and "# graph:GET /policies/authorizationPolicy allowedToUseSSPR" in text
    assert "# portal:GET /PasswordReset/PasswordResetPolicies numberOfAuthenticationMethodsRequired" in text
    # the demo's four failed writebacks: today's count is the threshold that passes, with the audit log as source
    assert policy.writeback is not None and policy.writeback.max_failed_writebacks == 4
    assert re.search(r"max_failed_writebacks: 4 +# graph:GET /auditLogs/directoryAudits", text), text
    assert_every_value_has_a_source(text)


def test_a_forbidden_portal_comments_its_sections_out_and_the_rest_still_round_trips(tmp_path: Path) -> None:
    exported = tmp_path / "partial.yaml"
    result = cli("export", "--lab", "demo", "--lab-forbid", "portal", "--out", str(exported))
    assert result.returncode == 0, result.stderr
    text = exported.read_text(encoding="utf-8")
    assert re.search(r"^# sspr:\s+\(not exported\) portal:GET .*403", text, re.MULTILINE), text
    assert re.search(r"^# writeback:\s+\(not exported\) portal:GET .*403", text, re.MULTILINE), text
    policy = load_policy(exported)
    assert policy.sspr is None and policy.writeback is None and policy.admin_sspr is not None
    checked = cli("check", str(exported), "--lab", "demo", "--lab-forbid", "portal", "--out", str(tmp_path / "o"),
                  "--format", "json")
    assert checked.returncode == 0, checked.stdout + checked.stderr


def assert_every_value_has_a_source(text: str) -> None:
    sourced_list = False  # inside a list whose key line carries the source (directory.delegates.accepted)
    for line in text.splitlines():
        stripped = line.strip()
        if sourced_list and stripped.startswith("- "):
            continue
        sourced_list = bool(re.match(r"^\s*(accepted|break_glass):\s+# ", line))
        if not stripped or stripped.startswith("#") or stripped.endswith(":") or stripped == "waivers: []":
            continue
        if re.match(r"^- (OU|CN|DC)=|^- (mobile|telephoneNumber)$", stripped):  # a list item: its key names the source
            continue
        if stripped.startswith(("- check:", "target:", "reason:", "owner:", "expires:")):  # a waiver: not state
            continue
        assert "  # " in line, f"no source comment: {line!r}"


def test_collect_discover_then_export_offline_gives_the_same_directory(tmp_path: Path) -> None:
    snapshot = tmp_path / "demo.json"
    assert cli("collect", "--lab", "demo", "--discover", "--out", str(snapshot)).returncode == 0
    offline, online = tmp_path / "offline.yaml", tmp_path / "online.yaml"
    assert cli("export", "--snapshot", str(snapshot), "--out", str(offline)).returncode == 0
    assert cli("export", "--lab", "demo", "--out", str(online)).returncode == 0
    assert load_policy(offline).directory == load_policy(online).directory
    assert "# sync account: CN=MSOL_0a1b2c3d4e5f" in offline.read_text(encoding="utf-8")
    checked = cli("check", str(offline), "--snapshot", str(snapshot), "--out", str(tmp_path / "o"))
    assert checked.returncode == 0, checked.stdout + checked.stderr


@pytest.mark.parametrize("args", [["--lab", "demo", "--policy", "policies/baseline.yaml"], [],
                                  ["--lab", "demo", "--portal-only"]])
def test_collect_discover_refuses_what_it_cannot_do(args: list[str], tmp_path: Path) -> None:
    result = cli("collect", "--discover", *args, "--out", str(tmp_path / "s.json"))
    assert result.returncode == 2 and "--discover" in result.stderr, result.stderr
    assert not (tmp_path / "s.json").exists()


# ---- auditor.export on snapshots built in Python -------------------------------------------------


def test_every_value_explicit_defaults_included(tmp_path: Path) -> None:
    text, commented_out = export_text(compliant_snapshot())
    for key in ("office_phone: false", "security_questions: false", "customize: false", "email_or_url: null",
                "require_on_sign_in: true", "reconfirm_days: 180", "notify_users: true", "cloud_sync: null",
                "tenant_id: null", "version: 1"):
        assert key in text, key
    assert_every_value_has_a_source(text)
    # sections this version cannot read back from the snapshot are comments, never defaults
    assert {"directory", "coverage"} <= {note.split(":")[0] for note in commented_out}
    assert not {"sspr", "admin_sspr", "methods_policy", "writeback"} & {n.split(":")[0] for n in commented_out}


def test_compliant_snapshot_exports_the_baseline_values(tmp_path: Path) -> None:
    result = export_policy(compliant_snapshot(), tmp_path / "p.yaml")
    assert result.issues == []
    exported, baseline = load_policy(result.path), load_policy(ROOT / "policies" / "baseline.yaml")
    # this snapshot holds no Conditional Access section: the registration policy is not exported (its own test below)
    assert exported.sspr is not None and exported.sspr.registration.conditional_access is None
    registration = baseline.sspr.registration.model_copy(update={"conditional_access": None})  # type: ignore[union-attr]
    assert exported.sspr == baseline.sspr.model_copy(  # type: ignore[union-attr]
        update={"security_questions": exported.sspr.security_questions, "registration": registration})
    assert exported.admin_sspr == baseline.admin_sspr
    assert exported.methods_policy == baseline.methods_policy
    assert exported.writeback is not None and exported.writeback.enabled and exported.writeback.unlock


def test_a_covering_registration_policy_exports_what_it_requires(tmp_path: Path) -> None:
    from tests.unit.cases_registration_ca import ca_policy, ca_snapshot

    result = export_policy(ca_snapshot(ca_policy()), tmp_path / "p.yaml")
    wanted = load_policy(result.path).sspr.registration.conditional_access  # type: ignore[union-attr]
    assert wanted is not None and wanted.require == "mfa" and wanted.break_glass == []
    assert not wanted.trusted_locations_exempt


def test_methods_follow_the_migration_state() -> None:
    # legacy toggles say office phone on; the methods policy says off
    sspr = compliant_sspr().model_copy(update={"office_phone": True})
    complete = compliant_snapshot(sspr_policy=Section[SsprPolicyState].ok("portal:test", sspr))
    assert re.search(r"office_phone: false\s+# graph:.*Voice\.state \(migrationComplete", export_text(complete)[0])
    before = compliant_snapshot(
        sspr_policy=Section[SsprPolicyState].ok("portal:test", sspr),
        methods_policy=Section[MethodsPolicyState].ok("graph:test", compliant_methods("preMigration")))
    assert re.search(r"office_phone: true\s+# portal:test officePhoneOptionEnabled \(preMigration",
                     export_text(before)[0])


def test_a_value_missing_from_a_readable_section_is_a_comment_not_a_default(tmp_path: Path) -> None:
    sspr = compliant_sspr().model_copy(update={"reconfirm_days": None})
    snapshot = compliant_snapshot(sspr_policy=Section[SsprPolicyState].ok("portal:test", sspr))
    result = export_policy(snapshot, tmp_path / "p.yaml")
    assert re.search(r"^\s+# reconfirm_days:\s+\(not exported\) portal:test registrationReconfirmIntevalInDays "
                     r"was not in the response", result.text, re.MULTILINE), result.text
    assert "reconfirm_days: 180" not in result.text and result.issues == []


def test_a_missing_required_value_comments_out_its_section(tmp_path: Path) -> None:
    snapshot = compliant_snapshot(authorization_policy=Section[AuthorizationPolicyState].ok(
        "graph:test", AuthorizationPolicyState(allowed_to_use_sspr=None)))
    result = export_policy(snapshot, tmp_path / "p.yaml")
    assert re.search(r"^# admin_sspr:\s+\(not exported\) `allowed` graph:test allowedToUseSSPR", result.text,
                     re.MULTILINE)
    assert result.issues == [] and load_policy(result.path).admin_sspr is None


def test_unreadable_methods_policy_comments_out_sspr_rather_than_guessing(tmp_path: Path) -> None:
    snapshot = compliant_snapshot(methods_policy=Section[MethodsPolicyState].failed("graph:test", "403 Forbidden"))
    result = export_policy(snapshot, tmp_path / "p.yaml")
    assert re.search(r"^# sspr:\s+\(not exported\) `methods`: which methods SSPR offers depends on the migration "
                     r"state: graph:test could not be read: 403 Forbidden", result.text, re.MULTILINE), result.text
    assert re.search(r"^# methods_policy:\s+\(not exported\)", result.text, re.MULTILINE)
    assert result.issues == []


def test_live_state_that_breaks_a_documented_rule_is_exported_exactly_and_reported(tmp_path: Path) -> None:
    # two methods required but only email offered (before migration the legacy toggles decide)
    sspr = compliant_sspr().model_copy(update={"mobile_app_notification": False, "mobile_app_code": False,
                                                "mobile_phone": False})
    snapshot = compliant_snapshot(
        sspr_policy=Section[SsprPolicyState].ok("portal:test", sspr),
        methods_policy=Section[MethodsPolicyState].ok("graph:test", compliant_methods("preMigration")))
    result = export_policy(snapshot, tmp_path / "p.yaml")
    assert "methods_required: 2" in result.text and "email: true" in result.text
    (issue,) = result.issues
    assert "methods_required is 2 but only 1 method(s) are enabled" in issue
    assert issue.startswith(f"{tmp_path / 'p.yaml'}:")


def test_export_command_exits_1_and_explains_when_the_state_breaks_a_rule(tmp_path: Path) -> None:
    from auditor.snapshot.store import save_snapshot

    sspr = compliant_sspr().model_copy(update={"enablement": "selected", "group_ids": [], "group_name": None})
    save_snapshot(compliant_snapshot(sspr_policy=Section[SsprPolicyState].ok("portal:test", sspr)),
                  tmp_path / "s.json")
    result = cli("export", "--snapshot", str(tmp_path / "s.json"), "--out", str(tmp_path / "p.yaml"))
    assert result.returncode == 1
    assert "will not validate" in result.stderr and "scope `selected` needs a `group`" in result.stderr
    assert "# group:  (not exported)" in (tmp_path / "p.yaml").read_text(encoding="utf-8")


def test_cloud_sync_and_strings_round_trip_through_yaml(tmp_path: Path) -> None:
    onprem = OnPremisesWritebackState(writeback_enabled=True, writeback_supported=True,
                                      cloud_sync_writeback_enabled=True, unlock_enabled=False)
    sspr = compliant_sspr().model_copy(update={
        "customize_helpdesk": True, "helpdesk_email_or_url": "https://help.example/#reset:now&x='y'",
        "enablement": "selected", "group_ids": [], "group_name": "Pilot: #1 'SSPR' - yes"})
    snapshot = compliant_snapshot(onprem_writeback=Section[OnPremisesWritebackState].ok("portal:test", onprem),
                                  sspr_policy=Section[SsprPolicyState].ok("portal:test", sspr))
    result = export_policy(snapshot, tmp_path / "p.yaml")
    policy = load_policy(result.path)
    assert policy.writeback is not None and policy.writeback.cloud_sync is True and policy.writeback.unlock is False
    assert policy.sspr is not None and policy.sspr.helpdesk.email_or_url == "https://help.example/#reset:now&x='y'"
    assert policy.sspr.group is not None and policy.sspr.group.name == "Pilot: #1 'SSPR' - yes"


# ---- the directory section from snapshots built in Python -----------------------------------------


def test_a_snapshot_collected_with_a_policy_exports_its_directory_and_passes_its_checks(tmp_path: Path) -> None:
    from auditor.checks.base import Status
    from auditor.checks.registry import run_checks
    from tests.unit import cases_ad

    snap = cases_ad.snapshot()
    result = export_policy(snap, tmp_path / "p.yaml")
    assert result.issues == []
    policy = load_policy(result.path)
    assert policy.directory is not None
    assert policy.directory.service_account == "MSOL_0a1b2c3d4e5f"
    assert policy.directory.target_ous == [cases_ad.STAFF, cases_ad.SALES]
    assert "(the account the snapshot was collected for)" in result.text
    # the cloud sections were not in this snapshot: only the AD checks have input, and none of them fails
    findings = [f for f in run_checks(policy, snap) if f.check.startswith("ad.")]
    # the synthetic snapshot holds only the sync account's ACEs (no delegation view): those checks are unknown
    viewless = {"ad.acl.delegates", "ad.acl.tier0_reach", "ad.service_account.control"}
    assert all(f.status == Status.unknown and "did not read who else" in (f.reason or "")
               for f in findings if f.check in viewless)
    findings = [f for f in findings if f.check not in viewless]
    assert findings and all(f.status in (Status.passed, Status.not_applicable) for f in findings), [
        (f.check, f.target, f.status, f.reason) for f in findings if f.status not in (Status.passed,
                                                                                       Status.not_applicable)]


def test_a_right_missing_on_one_ou_is_false_with_where_it_is_held(tmp_path: Path) -> None:
    from auditor.ad.rights import RESET_PASSWORD
    from auditor.snapshot.directory import SecuredObject
    from tests.unit import cases_ad

    partial = cases_ad.ou_dacl(cases_ad.GROUP_SID, rights=(RESET_PASSWORD,))
    state = cases_ad.compliant_directory(target_ous=[SecuredObject(dn=cases_ad.STAFF, dacl=cases_ad.ou_dacl()),
                                                     SecuredObject(dn=cases_ad.SALES, dacl=partial)])
    text, _ = export_text(cases_ad.snapshot(state))
    assert re.search(r"reset_password: true\s+#", text)
    assert re.search(rf"change_password: false\s+# .*not passed down by {re.escape(cases_ad.SALES)} \(held on "
                     rf"{re.escape(cases_ad.STAFF)}", text)


def test_hostile_directory_names_stay_inside_their_comments(tmp_path: Path) -> None:
    from tests.unit import cases_ad

    evil = "Evil\nwaivers: [{check: ad, reason: pwned, owner: x, expires: 2099-01-01}]\u202e"
    users = [cases_ad.user("Ann Lee", cases_ad.STAFF, sam_account_name=evil, pwd_last_set=0)]
    state = cases_ad.compliant_directory(users=users)
    result = export_policy(cases_ad.snapshot(state), tmp_path / "p.yaml")
    policy = load_policy(result.path)
    assert [w.reason for w in policy.waivers if "pwned" in w.reason] == []
    assert "[U+202E]" in result.text and "\u202e" not in result.text
    assert policy.directory is not None and policy.directory.users.allow_temporary_password is True


def test_a_custom_banned_list_on_but_empty_is_not_exported_as_true(tmp_path: Path) -> None:
    """`custom_banned_list: true` asks for words too (issue #35): an empty list that is on satisfies no value."""
    from auditor.snapshot.tenant import PasswordRulesState
    from tests.unit.cases_seams import rules

    empty = rules().model_copy(update={"custom_list_size": 0})
    snapshot = compliant_snapshot(password_rules=Section[PasswordRulesState].ok("graph:test", empty))
    result = export_policy(snapshot, tmp_path / "p.yaml")
    assert re.search(r"^\s+# custom_banned_list:\s+\(not exported\) graph:test EnableBannedPasswordCheck = true but "
                     r"BannedPasswordList holds no word", result.text, re.MULTILINE), result.text
    with_words = export_policy(compliant_snapshot(password_rules=Section[PasswordRulesState].ok(
        "graph:test", rules())), tmp_path / "q.yaml")
    assert re.search(r"^\s+custom_banned_list: true\s+# graph:test EnableBannedPasswordCheck \(3 custom words\)",
                     with_words.text, re.MULTILINE), with_words.text
