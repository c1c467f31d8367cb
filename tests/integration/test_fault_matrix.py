"""The fault matrix against the lab emulator: `sspr-audit check` (and `apply`/`rollback`) as a user runs
them, through the real msgraph-sdk client, its retry middleware and the portal reader, while the
emulator answers with 403s, 429 storms, 5xx, dropped connections, timeouts, broken JSON, broken
`@odata.nextLink`s and changed shapes.

Every scenario asserts: the exit code; no traceback in stdout, stderr or the auditor's own logs; the
sections that must be unreadable are, with the reason; the checks that need them are `unknown` with
that reason, or decide from another source that was read (an inference says so); every other check
is exactly as in a fault-free run. `apply` scenarios also assert that rollback leaves every object
as it was before the apply, the Password Rule Settings byte for byte (and absent again when the apply
created them). The table of all scenarios is printed when pytest ends
(tests/helpers/fault_matrix.py). The Samba rows are in test_fault_matrix_samba.py.

The policy is policies/baseline.yaml without its `directory` section, so a fault-free run of the
`baseline` lab exits 0 and any `unknown` shows as exit code 3.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from auditor.checks.registry import all_checks
from auditor.exit_codes import Exit
from auditor.lab.emulator import GRAPH_ENDPOINTS, Faults, Paging
from auditor.lab.server import LabServer
from tests.helpers.fault_matrix import Row, Run, assert_no_traceback, record, run_cli

ROOT = Path(__file__).resolve().parents[2]
BASELINE = ROOT / "policies" / "baseline.yaml"
ALWAYS_UNREAD = {"gpo_sign_in_reset", "directory", "sysvol"}  # no SYSVOL in a cloud-only run
CHECK_SECTIONS = {check.spec.id: set(check.spec.sections) for check in all_checks()}


def check_args(lab: LabServer, policy: Path, out: Path, timeout: float = 30.0) -> list[str]:
    return ["check", str(policy), "--graph-url", lab.graph_url, "--auth", "lab", "--portal", "--portal-url",
            lab.portal_url, "--portal-auth", "lab", "--out", str(out), "--format", "json", "--timeout", str(timeout)]


def run_check(lab: LabServer, policy: Path, out: Path, timeout: float = 30.0) -> Run:
    run = run_cli(*check_args(lab, policy, out, timeout))
    report = out / "sspr-audit.json"
    run.report = json.loads(report.read_text()) if report.exists() else None
    return run


def statuses_by_check(report: dict[str, Any]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for finding in report["findings"]:
        out.setdefault(finding["check"], []).append(finding["status"])
    return {check: sorted(found) for check, found in out.items()}


@pytest.fixture(scope="module")
def cloud_policy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """policies/baseline.yaml without `directory`: the cloud checks only, no domain controller needed."""
    yaml = YAML(typ="rt")
    document = yaml.load(BASELINE.read_text())
    del document["directory"]
    path = tmp_path_factory.mktemp("policy") / "baseline-cloud.yaml"
    with path.open("w") as handle:
        yaml.dump(document, handle)
    return path


@pytest.fixture(scope="module")
def control(cloud_policy: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, list[str]]]:
    """Statuses per check of a fault-free run of each lab scenario the matrix uses."""
    out: dict[str, dict[str, list[str]]] = {}
    for scenario, code in (("baseline", 0), ("demo", 1)):
        with LabServer(scenario) as lab:
            run = run_check(lab, cloud_policy, tmp_path_factory.mktemp(f"control-{scenario}"))
        assert run.code == code, run.stdout + run.stderr
        assert run.report is not None
        out[scenario] = statuses_by_check(run.report)
    assert set(out["baseline"]) == set(CHECK_SECTIONS)
    return out


# -- read scenarios ------------------------------------------------------------------------------

@dataclass(frozen=True)
class ReadFault:
    name: str
    fault: str
    faults: dict[str, Any]
    unreadable: dict[str, str]
    """section → a fragment its error must hold"""
    unknown: frozenset[str]
    """checks with at least one `unknown` finding whose reason names the failed section"""
    exit_code: int = 3
    scenario: str = "baseline"
    timeout: float = 30.0
    paging: Paging | None = None
    requests: dict[str, int] = field(default_factory=dict)
    """endpoint → exact number of requests it received (retries, or none)"""


# sspr.methods_available too: the number of methods a reset needs is only in the portal's policy (issue #30)
SSPR_POLICY_CHECKS = frozenset({"sspr.gates", "sspr.helpdesk", "sspr.methods", "sspr.methods_available",
                                "sspr.notify_admins", "sspr.notify_users", "sspr.registration",
                                "sspr.custom_security_questions"})
ONPREM_CHECKS = frozenset({"writeback.enabled", "writeback.unlock"})
METHODS_CHECKS = frozenset({"methods_policy.migration", "sspr.methods", "sspr.methods_available",
                            "registration.temporary_access_pass", "methods_policy.registration_campaign"})
# the registration checks judge per in-scope user too: without the users (or the scope group) they are unknown
COVERAGE_CHECKS = frozenset({"licensing.in_scope", "registration.coverage", "registration.conditional_access",
                             "registration.temporary_access_pass"})
# Which section each endpoint feeds, and which checks go unknown without it (baseline policy).
FORBIDDEN: dict[str, tuple[str, frozenset[str]]] = {
    "authorization_policy": ("authorization_policy", frozenset({"admin_sspr"})),
    "methods_policy": ("methods_policy", METHODS_CHECKS),
    "sync": ("sync_features", frozenset({"hybrid.authentication"})),  # password hash sync is judged there
    "users": ("cloud_users", COVERAGE_CHECKS),
    "registration_details": ("registration_details", frozenset({"registration.coverage"})),
    "subscribed_skus": ("subscribed_skus", frozenset()),  # the coverage report's licence counts only
    "secure_scores": ("secure_score", frozenset({"secure_score.sspr"})),
    "secure_score_profiles": ("secure_score", frozenset({"secure_score.sspr"})),
    "directory_audits": ("sspr_activity", frozenset({"writeback.health"})),  # failed writebacks in the window
    "group_settings": ("password_rules", frozenset({"password_protection"})),
    "device_configurations": ("intune_sign_in_reset", frozenset({"client.sign_in_reset"})),
    "portal_sspr": ("sspr_policy", SSPR_POLICY_CHECKS),
    "portal_onprem": ("onprem_writeback", ONPREM_CHECKS),
    "ca_policies": ("conditional_access", frozenset({"registration.conditional_access"})),
}
NO_CHECK_NEEDS = {"subscribed_skus"}  # sync: hybrid.authentication judges hash sync

READ_FAULTS: list[ReadFault] = [
    *[ReadFault(f"403 {endpoint}", f"403 on {endpoint}", {"forbidden": {endpoint}}, {section: "403"}, checks,
                exit_code=0 if endpoint in NO_CHECK_NEEDS else 3)
      for endpoint, (section, checks) in FORBIDDEN.items()],
    # the scope group is read only when SSPR is scoped to a group: the demo tenant is (and drifts: exit 1)
    ReadFault("403 groups", "403 on groups (demo: SSPR scoped to a group)", {"forbidden": {"groups"}},
              {"scope_groups": "403"}, COVERAGE_CHECKS, exit_code=1, scenario="demo"),
    ReadFault("429 storm", "429 on every Graph call, Retry-After 1 s", {"throttle": {"graph": 10_000}},
              dict.fromkeys(("authorization_policy", "methods_policy", "sync_features", "cloud_users",
                             "registration_details", "subscribed_skus", "secure_score", "sspr_activity",
                             "password_rules", "intune_sign_in_reset", "conditional_access", "domains"), "429"),
              frozenset({"admin_sspr", "registration.coverage", "licensing.in_scope", "secure_score.sspr",
                         "password_protection", "client.sign_in_reset", "hybrid.authentication",
                         "writeback.health"})
              | METHODS_CHECKS | COVERAGE_CHECKS,
              requests={"authorization_policy": 4, "methods_policy": 4}),
    ReadFault("429 burst, recovers", "2 × 429 per Graph call, then 200",
              {"throttle": dict.fromkeys(GRAPH_ENDPOINTS, 2)}, {}, frozenset(), exit_code=0,
              requests={"authorization_policy": 3, "methods_policy": 3}),
    ReadFault("429 Retry-After 180 s", "429 with Retry-After 180 s (msgraph gives up)",
              {"throttle": {"methods_policy": 10_000}, "retry_after": {"methods_policy": 180}},
              {"methods_policy": "429"}, METHODS_CHECKS, requests={"methods_policy": 1}),
    ReadFault("429 Retry-After 1 h", "429 with Retry-After 3600 s on the portal",
              {"throttle": {"portal_sspr": 10_000}, "retry_after": {"portal_sspr": 3600}},
              {"sspr_policy": "429"}, SSPR_POLICY_CHECKS, requests={"portal_sspr": 1}),
    ReadFault("500", "500 on authorizationPolicy", {"error_status": {"authorization_policy": 500}},
              {"authorization_policy": "HTTP 500"}, frozenset({"admin_sspr"})),
    ReadFault("503 storm", "503 on userRegistrationDetails, Retry-After 1 s",
              {"unavailable": {"registration_details": 10_000}},
              {"registration_details": "HTTP 503"}, frozenset({"registration.coverage"}),
              requests={"registration_details": 4}),
    ReadFault("504", "504 on secureScores", {"error_status": {"secure_scores": 504}},
              {"secure_score": "HTTP 504"}, frozenset({"secure_score.sspr"}), requests={"secure_scores": 4}),
    ReadFault("502 portal", "502 on the portal's SSPR policy", {"error_status": {"portal_sspr": 502}},
              {"sspr_policy": "HTTP 502"}, SSPR_POLICY_CHECKS),
    ReadFault("reset graph", "connection dropped mid-answer (methods policy)",
              {"reset_connection": {"methods_policy"}}, {"methods_policy": "RemoteProtocolError"}, METHODS_CHECKS),
    ReadFault("reset portal", "connection dropped mid-answer (portal on-prem)",
              {"reset_connection": {"portal_onprem"}}, {"onprem_writeback": "RemoteProtocolError"}, ONPREM_CHECKS),
    ReadFault("timeout graph", "users answers after 30 s, --timeout 3", {"slow_ms": {"users": 30_000}},
              {"cloud_users": "timed out"}, COVERAGE_CHECKS, timeout=3.0),
    ReadFault("timeout portal", "portal answers after 30 s, --timeout 3", {"slow_ms": {"portal_sspr": 30_000}},
              {"sspr_policy": "timed out"}, SSPR_POLICY_CHECKS, timeout=3.0),
    ReadFault("bad JSON graph", "authorizationPolicy body cut off", {"malformed_json": {"authorization_policy"}},
              {"authorization_policy": "JSON"}, frozenset({"admin_sspr"})),
    ReadFault("bad JSON page", "userRegistrationDetails body cut off", {"malformed_json": {"registration_details"}},
              {"registration_details": "JSON"}, frozenset({"registration.coverage"})),
    ReadFault("bad JSON portal", "portal SSPR policy body cut off", {"malformed_json": {"portal_sspr"}},
              {"sspr_policy": "unexpected response"}, SSPR_POLICY_CHECKS),
    ReadFault("nextLink bad token", "page 2 of /users: expired $skiptoken (400)",
              {"broken_next_link": {"users": "bad_token"}}, {"cloud_users": "page token"}, COVERAGE_CHECKS,
              paging=Paging(cap=7)),
    ReadFault("nextLink loop", "nextLink of registrationDetails points back at itself",
              {"broken_next_link": {"registration_details": "loop"}},
              {"registration_details": "paging would never end"}, frozenset({"registration.coverage"}),
              paging=Paging(cap=7)),
    ReadFault("no `value`", "/users answers without `value`", {"drop_fields": {"users": ["value"]}},
              {"cloud_users": "no `value`"}, COVERAGE_CHECKS),
    ReadFault("graph field missing", "authorizationPolicy without allowedToUseSSPR",
              {"drop_fields": {"authorization_policy": ["allowedToUseSSPR"]}},
              {"authorization_policy": "`allowedToUseSSPR` absent"}, frozenset({"admin_sspr"})),
    ReadFault("graph field renamed", "methods policy: authenticationMethodConfigurations renamed",
              {"rename_fields": {"methods_policy": {"authenticationMethodConfigurations": "configurationsV2"}}},
              {"methods_policy": "authenticationMethodConfigurations"}, METHODS_CHECKS),
    ReadFault("portal field missing", "portal SSPR policy without numberOfAuthenticationMethodsRequired",
              {"drop_fields": {"portal_sspr": ["numberOfAuthenticationMethodsRequired"]}},
              {"sspr_policy": "numberOfAuthenticationMethodsRequired"}, SSPR_POLICY_CHECKS),
    ReadFault("portal field renamed", "portal typo fixed: registrationReconfirmIntervalInDays",
              {"rename_fields": {"portal_sspr": {"registrationReconfirmIntevalInDays":
                                                 "registrationReconfirmIntervalInDays"}}},
              {"sspr_policy": "registrationReconfirmIntevalInDays"}, SSPR_POLICY_CHECKS),
    ReadFault("portal on-prem renamed", "enablementForTenant renamed",
              {"rename_fields": {"portal_onprem": {"enablementForTenant": "enablementForTenantV2"}}},
              {"onprem_writeback": "enablementForTenant"}, ONPREM_CHECKS),
]


def _unreadable(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {s["name"]: s for s in report["sections"] if not s["readable"] and s["name"] not in ALWAYS_UNREAD}


def assert_unknown_never_passes(report: dict[str, Any], failed: dict[str, dict[str, Any]]) -> None:
    """A check that needs an unreadable section is `unknown` with the reason, or decided from sources that
    were read; evidence from the unreadable section itself is only ever a named inference."""
    failed_sources = {section["source"] for section in failed.values()}
    for finding in report["findings"]:
        if not CHECK_SECTIONS[finding["check"]] & set(failed):
            continue
        reason = finding["reason"] or ""
        where = (finding["check"], finding["target"], finding["status"], reason)
        if finding["status"] == "unknown":
            assert any(s["error"] in reason or s["source"] in reason for s in failed.values()), where
        elif finding["status"] in ("pass", "fail", "waived"):
            # an evidence row that only says its source was not read (and why) is no evidence from it
            sources = {e["source"] for e in finding["evidence"]
                       if not (isinstance(e["value"], str) and e["value"].startswith("not read: "))}
            assert sources - failed_sources, ("decided without any readable evidence", where)
            if sources & failed_sources:
                assert "inferred" in reason, ("evidence from an unreadable section", where)


@pytest.fixture(scope="module")
def shared_labs() -> Iterator[Callable[..., LabServer]]:
    """One emulator per scenario family (scenario and paging), shared by the read faults: a fault is state
    the test sets (`lab.faults = Faults(...)`: its counters start fresh) and clears, and reads write nothing.
    A case whose client gives up on a slow answer gets its own emulator (`own`), so the answer it abandoned
    cannot land in the next case's request log."""
    with contextlib.ExitStack() as stack:
        servers: dict[tuple[str, str, str], LabServer] = {}

        def lab_for(scenario: str, paging: Any, own: str = "") -> LabServer:
            key = (scenario, repr(paging), own)
            if key not in servers:
                servers[key] = stack.enter_context(LabServer(scenario, paging=paging))
            return servers[key]

        yield lab_for


@pytest.mark.parametrize("case", READ_FAULTS, ids=[case.name for case in READ_FAULTS])
def test_read_fault(case: ReadFault, cloud_policy: Path, control: dict[str, dict[str, list[str]]],
                    tmp_path: Path, request: pytest.FixtureRequest,
                    shared_labs: Callable[..., LabServer]) -> None:
    observed: dict[str, Any] = {"unreadable": "?", "unknown": "?", "exit": "?"}
    lab = shared_labs(case.scenario, case.paging, case.name if case.timeout < 30.0 else "")
    try:
        lab.faults = Faults(**case.faults)
        lab.state.clear_log()
        try:
            run = run_check(lab, cloud_policy, tmp_path, case.timeout)
            requests = {endpoint: len(lab.requests(endpoint)) for endpoint in case.requests}
        finally:
            lab.faults = Faults()
        assert run.report is not None, run.stderr
        failed = _unreadable(run.report)
        by_check = statuses_by_check(run.report)
        unknown = sorted(check for check, found in by_check.items()
                         if found.count("unknown") > control[case.scenario][check].count("unknown"))
        observed = {"unreadable": ", ".join(sorted(failed)) or "-", "unknown": ", ".join(unknown) or "-",
                    "exit": str(run.code)}

        assert run.code == case.exit_code, run.stdout + run.stderr
        assert_no_traceback(run)
        assert set(failed) == set(case.unreadable), {n: s["error"] for n, s in failed.items()}
        for name, fragment in case.unreadable.items():
            assert fragment in (failed[name]["error"] or ""), failed[name]
        assert set(unknown) == set(case.unknown), by_check
        assert_unknown_never_passes(run.report, failed)
        for check, found in by_check.items():  # everything the fault does not touch is as without it
            if check not in case.unknown and not CHECK_SECTIONS[check] & set(failed):
                assert found == control[case.scenario][check], (check, found)
        assert requests == case.requests  # retried as often as msgraph's handler should, or not at all
        if run.code == 3:
            assert "exit code 3: incomplete" in run.stdout
        verdict = "ok"
    except BaseException:
        verdict = "FAILED"
        raise
    finally:
        record(request.config, Row("read", case.name, case.fault, observed["unreadable"], observed["unknown"],
                                   observed["exit"], verdict))


# -- apply scenarios: stop at the failure, leave nothing half-done once rolled back --------------------

@dataclass(frozen=True)
class ApplyFault:
    name: str
    fault: str
    faults: dict[str, Any]
    detail: str
    """a fragment of the failure apply reports"""
    writes_before_failure: int
    """successful writes the emulator sees before the failing one"""
    backup: bool = True
    """False when apply fails while re-reading its targets, before it writes a backup or anything else"""
    later_changes: bool = True
    """False when the failing write is the plan's last change (then no change is left NOT_ATTEMPTED)"""
    without_password_rules: bool = False
    """The demo tenant with its Password Rule Settings deleted first: the plan creates them (a POST), and rollback
    must delete them again"""


APPLY_FAULTS = [
    ApplyFault("apply 500", "500 on the 3rd write", {"fail_writes_after": 2}, "500", 2),
    ApplyFault("apply 403", "403 on Graph writes (read-only app)", {"fail_writes_after": 6,
                                                                    "fail_writes_with": "forbidden"}, "403", 6),
    ApplyFault("apply reset", "2nd write made, then connection dropped",
               {"fail_writes_after": 1, "fail_writes_with": "reset"}, "RemoteProtocolError", 2),
    ApplyFault("apply 429 180 s", "429 Retry-After 180 s on the 1st write",
               {"fail_writes_after": 0, "fail_writes_with": "throttle", "retry_after": {"portal": 180}}, "429", 0),
    ApplyFault("apply re-read 403", "403 on the portal while apply re-reads targets",
               {"forbidden": {"portal_onprem"}}, "403", 0, backup=False),
    # the Password Rule Settings are the demo plan's 11th change: a PATCH, or a POST when none exist (the 9th is
    # Authenticator's isSoftwareOathEnabled, which keeps the app's code once the migration leaves the legacy toggle
    # behind: issue 30; the 10th turns the registration campaign on); the 12th and last creates the Conditional
    # Access policy on registering security info
    ApplyFault("apply 500 groupSettings", "500 on the Password Rule Settings PATCH (11th write)",
               {"fail_writes_after": 10}, "500", 10),
    ApplyFault("apply reset groupSettings", "Password Rule Settings PATCH made, then connection dropped",
               {"fail_writes_after": 10, "fail_writes_with": "reset"}, "RemoteProtocolError", 11),
    ApplyFault("apply 403 groupSettings", "403 on the Password Rule Settings PATCH (11th write)",
               {"fail_writes_after": 10, "fail_writes_with": "forbidden"}, "403", 10),
    ApplyFault("apply 500 create", "none existed: 500 on the POST that creates them",
               {"fail_writes_after": 10}, "500", 10, without_password_rules=True),
    ApplyFault("apply reset create", "none existed: POST made, then connection dropped (rollback deletes)",
               {"fail_writes_after": 10, "fail_writes_with": "reset"}, "RemoteProtocolError", 11,
               without_password_rules=True),
    ApplyFault("apply 500 CA policy", "500 on the POST that creates the registration CA policy (12th write)",
               {"fail_writes_after": 11}, "500", 11, later_changes=False),
    ApplyFault("apply reset CA policy", "registration CA policy POST made, then connection dropped (rollback "
               "deletes it)", {"fail_writes_after": 11, "fail_writes_with": "reset"}, "RemoteProtocolError", 12,
               later_changes=False),
]


def tenant_state(lab: LabServer) -> dict[str, Any]:
    """Every object the demo plan writes, as stored. Graph stamps the methods policy's
    `lastModifiedDateTime` on every PATCH (no client can put it back), so it is left out."""
    tenant = lab.state.tenant
    methods = {k: v for k, v in tenant.authentication_methods_policy.items() if k != "lastModifiedDateTime"}
    return json.loads(json.dumps({
        "sspr": tenant.password_reset_policies, "onprem": tenant.on_premises_password_reset_policies,
        "authorization": tenant.authorization_policy, "methods": methods, "group_settings": tenant.group_settings,
        "conditional_access": tenant.conditional_access_policies}))


def writes(lab: LabServer) -> int:
    return sum(1 for r in lab.requests() if r.method in ("PUT", "PATCH", "POST", "DELETE") and r.status < 300)


@pytest.fixture(name="demo_lab")
def demo_lab_fixture() -> Iterator[LabServer]:
    with LabServer("demo") as server:
        yield server


@pytest.mark.parametrize("case", APPLY_FAULTS, ids=[case.name for case in APPLY_FAULTS])
def test_apply_fault_then_rollback(case: ApplyFault, demo_lab: LabServer, cloud_policy: Path, tmp_path: Path,
                                   request: pytest.FixtureRequest) -> None:
    observed = {"exit": "?", "unknown": "?"}
    try:
        if case.without_password_rules:  # as stored, not by a DELETE the write counter would count
            demo_lab.state.tenant.group_settings.clear()
        before = tenant_state(demo_lab)
        plan, backup = tmp_path / "plan.json", tmp_path / "plan.backup.json"
        planned = run_cli("plan", str(cloud_policy), "--graph-url", demo_lab.graph_url, "--auth", "lab", "--portal",
                          "--portal-url", demo_lab.portal_url, "--portal-auth", "lab", "--out", str(plan))
        assert planned.code == 4, planned.stdout + planned.stderr
        demo_lab.state.clear_log()
        demo_lab.faults = Faults(**case.faults)
        applied = run_cli("apply", str(plan), "--yes", "--backup", str(backup))
        observed = {"exit": str(applied.code), "unknown": "-"}
        assert applied.code == Exit.failed, applied.stdout + applied.stderr
        assert_no_traceback(applied)
        assert case.detail in applied.stderr
        assert ("Stopped" if case.backup else "nothing written") in applied.stderr
        assert "FAILED" in applied.stdout and ("NOT_ATTEMPTED" in applied.stdout) == case.later_changes
        assert writes(demo_lab) == case.writes_before_failure
        assert backup.exists() == case.backup
        if not case.backup:
            assert tenant_state(demo_lab) == before
            verdict = "ok"
            return
        assert f"sspr-audit rollback {backup}" in applied.stderr
        demo_lab.faults = Faults()  # the outage is over; the operator rolls back
        rolled = run_cli("rollback", str(backup), "--yes")
        observed["exit"] += f", rollback {rolled.code}"
        assert rolled.code == 0, rolled.stdout + rolled.stderr
        assert_no_traceback(rolled)
        assert tenant_state(demo_lab) == before  # no partial change left behind
        if case.without_password_rules:
            assert demo_lab.state.tenant.group_settings == []  # the one apply created is deleted again
        verdict = "ok"
    except BaseException:
        verdict = "FAILED"
        raise
    finally:
        record(request.config, Row("apply", case.name, case.fault, "-", observed["unknown"], observed["exit"],
                                   verdict))
