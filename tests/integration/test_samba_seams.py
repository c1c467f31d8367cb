"""The checks across the Entra/AD seam (issue #35) on the real lab: the emulator's tenant and the Samba domain,
read by the real readers. `demo` fails each of them, `baseline` passes each of them."""

from __future__ import annotations

import pytest
from samba_fixtures import (  # noqa: F401  (fixtures)
    baseline_dc_fixture,
    baseline_policy,
    demo_dc_fixture,
    settings,
)

from auditor.app.audit import collect_lab, coverage_options
from auditor.checks.registry import check_by_id, run_check
from auditor.endpoints import LabSelection
from auditor.lab_domain.samba import SambaDC
from auditor.readers.onpremises import read_on_premises
from auditor.snapshot.models import Snapshot

pytestmark = pytest.mark.samba

BASE = "DC=corp,DC=example,DC=test"
THRESHOLD = "AD lockout threshold against smart lockout"
DURATION = "AD lockout duration against smart lockout duration"


def lab_snapshot(scenario: str, dc: SambaDC) -> Snapshot:
    policy = baseline_policy()
    assert policy.directory is not None
    cloud = collect_lab(LabSelection(scenario=scenario), coverage_options(policy))
    return cloud.model_copy(update=read_on_premises(settings(dc), policy.directory)._asdict())


def statuses(check_id: str, snapshot: Snapshot) -> dict[str, str]:
    return {f.target: f.status.value for f in run_check(check_by_id(check_id), baseline_policy(), snapshot)}


def test_lockout_demo_fails_with_each_source_and_baseline_passes(demo_dc: SambaDC, baseline_dc: SambaDC) -> None:
    demo = lab_snapshot("demo", demo_dc)
    assert demo.directory is not None and demo.directory.value is not None
    lockout = demo.directory.value.lockout
    assert lockout is not None and (lockout.threshold, lockout.duration_seconds, lockout.error) == (5, 1800, None)
    assert demo.sysvol is not None and demo.sysvol.value is not None
    assert (demo.sysvol.value.lockout_bad_count, demo.sysvol.value.lockout_duration) == (5, 30)
    found = {f.target: f for f in run_check(check_by_id("hybrid.lockout"), baseline_policy(), demo)}
    assert found[THRESHOLD].status.value == found[DURATION].status.value == "fail"
    # Microsoft's rule is on the AD DS account lockout duration (howto-password-smart-lockout)
    assert f"lockoutDuration (seconds) on {BASE} is 1800 s" in (found[DURATION].reason or "")
    sources = {e.source for e in found[THRESHOLD].evidence}
    assert BASE in sources and any(s.endswith("GptTmpl.inf") for s in sources)
    assert any(s.startswith("graph") or "groupSettings" in s for s in sources), sources
    baseline = statuses("hybrid.lockout", lab_snapshot("baseline", baseline_dc))
    assert set(baseline.values()) == {"pass"}, baseline
    assert {THRESHOLD, DURATION} <= set(baseline)


def test_reach_beyond_demo_names_the_unsynced_and_protected_users_baseline_passes(
        demo_dc: SambaDC, baseline_dc: SambaDC) -> None:
    policy = baseline_policy()
    assert policy.directory is not None
    demo = read_on_premises(settings(demo_dc), policy.directory).directory.value
    assert demo is not None and demo.reach_beyond is not None and demo.reach_beyond.error is None
    assert [p.dn for p in demo.reach_beyond.grant_points] == [BASE]
    reached = {u.sam_account_name: u for u in demo.reach_beyond.users}
    assert {"svc-sql", "svc-backup", "svc-print"} <= set(reached)
    assert reached["svc-sql"].protected and "Backup Operators" in reached["svc-sql"].privileged_via
    assert not any(u.dn.endswith(f"OU=Staff,{BASE}") or u.dn.endswith(f"OU=Sales,{BASE}") for u in reached.values())
    # Samba runs no SDProp, so even the built-in Administrator still inherits from the domain head: named, protected
    assert reached["Administrator"].protected
    assert [u.protected for u in demo.reach_beyond.users] == sorted((u.protected for u in reached.values()),
                                                                    reverse=True)  # protected first
    snapshot = Snapshot(tool_version="test", origin="lab", directory=read_on_premises(
        settings(demo_dc), policy.directory).directory)
    (finding,) = run_check(check_by_id("ad.acl.reach_beyond"), policy, snapshot)
    assert finding.status.value == "fail" and finding.target == BASE
    assert "svc-sql (Backup Operators)" in (finding.reason or "") and "of them protected" in (finding.reason or "")
    baseline = Snapshot(tool_version="test", origin="lab", directory=read_on_premises(
        settings(baseline_dc), policy.directory).directory)
    assert [f.status.value for f in run_check(check_by_id("ad.acl.reach_beyond"), policy, baseline)] == ["pass"]


def test_dc_agents_demo_fails_the_dc_without_one_baseline_passes(demo_dc: SambaDC, baseline_dc: SambaDC) -> None:
    demo = lab_snapshot("demo", demo_dc)
    found = run_check(check_by_id("hybrid.dc_agents"), baseline_policy(), demo)
    assert [f.status.value for f in found] == ["fail"]
    assert found[0].target.startswith("CN=DC1,OU=Domain Controllers,") and "runs no" in (found[0].reason or "")
    baseline = lab_snapshot("baseline", baseline_dc)
    assert baseline.directory is not None and baseline.directory.value is not None
    agents = baseline.directory.value.password_protection_agents
    assert agents is not None and agents.error is None and len(agents.proxies) == 1
    (dc,) = agents.domain_controllers
    assert dc.agent is not None and dc.agent.software_version == "1.2.177.1"
    assert [f.status.value for f in run_check(check_by_id("hybrid.dc_agents"), baseline_policy(), baseline)] == [
        "pass"]


def test_ds_heuristics_is_read_from_the_configuration_nc(baseline_dc: SambaDC) -> None:
    """dwAdminSDExMask's object ([MS-ADTS] 3.1.1.6.1.4) as Samba provisions it: found, the mask excludes nothing."""
    policy = baseline_policy()
    assert policy.directory is not None
    state = read_on_premises(settings(baseline_dc), policy.directory).directory.value
    assert state is not None and state.access_control is not None
    heuristics = state.access_control.ds_heuristics
    assert heuristics is not None and heuristics.error is None, heuristics
    assert heuristics.dn.startswith("CN=Directory Service,CN=Windows NT,CN=Services,CN=Configuration,")
    assert heuristics.excluded() == []
