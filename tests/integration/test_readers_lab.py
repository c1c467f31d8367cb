"""The real msgraph-sdk and portal readers against the lab emulator over HTTP, end to end to findings."""

from __future__ import annotations

from pathlib import Path

import pytest

from auditor.app.audit import ExitPolicy, audit, collect_lab
from auditor.checks.base import Status
from auditor.endpoints import LabSelection
from auditor.policy.loader import load_policy
from auditor.snapshot.store import load_snapshot, save_snapshot

ROOT = Path(__file__).resolve().parents[2]
BASELINE = ROOT / "policies" / "baseline.yaml"
CLOUD_CHECKS = {"sspr.scope", "sspr.gates", "sspr.methods", "sspr.security_questions", "sspr.registration",
                "sspr.notify_users", "sspr.notify_admins", "sspr.helpdesk", "writeback.enabled",
                "writeback.unlock", "admin_sspr", "methods_policy.migration"}
PORTAL_CHECKS = {"sspr.scope", "sspr.gates", "sspr.registration", "sspr.notify_users", "sspr.notify_admins",
                 "sspr.helpdesk", "writeback.enabled", "writeback.unlock"}


def statuses(findings: list) -> dict[tuple[str, str], Status]:
    return {(f.check, f.target): f.status for f in findings}


@pytest.fixture(scope="module")
def demo_snapshot():
    return collect_lab(LabSelection(scenario="demo"))


@pytest.fixture(scope="module")
def baseline_snapshot():
    return collect_lab(LabSelection(scenario="baseline"))


def test_every_section_is_read_from_the_lab(demo_snapshot) -> None:
    for name in ("authorization_policy", "methods_policy", "sync_features", "sspr_policy", "onprem_writeback"):
        section = getattr(demo_snapshot, name)
        assert section is not None and section.readable, (name, section)
    assert demo_snapshot.origin == "lab:demo"
    assert demo_snapshot.methods_policy.value.migration_state == "migrationInProgress"
    ids = {c.id for c in demo_snapshot.methods_policy.value.configurations}
    assert {"Email", "Sms", "Voice", "MicrosoftAuthenticator", "SoftwareOath"} <= ids


def test_demo_planted_drift_fails_on_the_right_checks(demo_snapshot) -> None:
    result = audit(load_policy(BASELINE), demo_snapshot, ExitPolicy())
    got = statuses(result.findings)
    failed = {check for (check, _), status in got.items() if status == Status.failed}
    assert failed >= {"sspr.scope", "sspr.gates", "sspr.methods", "sspr.registration", "sspr.notify_admins",
                      "writeback.unlock", "admin_sspr", "methods_policy.migration"}
    assert got[("sspr.methods", "security_questions")] == Status.failed
    assert got[("sspr.methods", "office_phone")] == Status.failed
    assert got[("sspr.methods", "email")] == Status.passed
    assert got[("sspr.notify_users", "tenant")] == Status.passed
    assert got[("writeback.enabled", "Entra Connect writeback")] == Status.passed
    assert result.report.summary.exit_code == 1
    gates = next(f for f in result.findings if f.check == "sspr.gates")
    assert (gates.expected, gates.actual) == (2, 1)
    assert gates.policy_location is not None and gates.policy_location.file.endswith("baseline.yaml")


def test_baseline_scenario_passes_every_cloud_check(baseline_snapshot) -> None:
    result = audit(load_policy(BASELINE), baseline_snapshot, ExitPolicy())
    cloud = [f for f in result.findings if f.check in CLOUD_CHECKS]
    assert {f.check for f in cloud} == CLOUD_CHECKS
    bad = [(f.check, f.target, f.status, f.reason) for f in cloud
           if f.status not in (Status.passed, Status.not_applicable)]
    assert not bad


def test_portal_403_makes_portal_checks_unknown_with_the_reason() -> None:
    snapshot = collect_lab(LabSelection(scenario="baseline", forbid=("portal",)))
    assert not snapshot.sspr_policy.readable and "403" in (snapshot.sspr_policy.error or "")
    result = audit(load_policy(BASELINE), snapshot, ExitPolicy())
    for finding in result.findings:
        if finding.check in PORTAL_CHECKS - {"sspr.scope"}:
            assert finding.status == Status.unknown, finding
            assert "403" in (finding.reason or "")
    # the scope alone has a documented inference: from isSsprEnabled, saying so and why
    (scope,) = [f for f in result.findings if f.check == "sspr.scope"]
    assert scope.status == Status.passed and scope.actual == "all"
    assert "inferred" in (scope.reason or "") and "403" in (scope.reason or "")
    assert any("inferred" in e.field for e in scope.evidence)
    graph_only = [f for f in result.findings if f.check in ("admin_sspr", "methods_policy.migration")]
    assert all(f.status == Status.passed for f in graph_only)


def test_graph_403_on_authorization_policy_is_unknown_not_pass() -> None:
    snapshot = collect_lab(LabSelection(scenario="baseline", forbid=("authorization_policy",)))
    assert "Authorization_RequestDenied" in (snapshot.authorization_policy.error or "")
    result = audit(load_policy(BASELINE), snapshot, ExitPolicy())
    (admin,) = [f for f in result.findings if f.check == "admin_sspr"]
    assert admin.status == Status.unknown and "403" in (admin.reason or "")


def test_snapshot_round_trips_and_audits_offline_identically(demo_snapshot, tmp_path: Path) -> None:
    path = save_snapshot(demo_snapshot, tmp_path / "snap.json")
    loaded = load_snapshot(path)
    assert loaded == demo_snapshot
    policy = load_policy(BASELINE)
    live = audit(policy, demo_snapshot, ExitPolicy()).findings
    offline = audit(policy, loaded, ExitPolicy()).findings
    assert live == offline
    assert "lab-token" not in path.read_text()
