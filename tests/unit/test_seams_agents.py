"""hybrid.dc_agents (issue #35): the tenant or the policy turns banned passwords on for AD, so every DC must run
the DC agent."""

from __future__ import annotations

from auditor.checks.base import Status
from auditor.checks.hybrid.dc_agents import parse_heartbeat
from auditor.checks.registry import check_by_id, run_check
from auditor.readers.dc_agents import _settings

from .cases_ad import baseline_policy
from .cases_seams import AGENTS_AS_OF, CASES, DC1, DC2, agents, rules, seam_directory, seam_snapshot

CHECK = check_by_id("hybrid.dc_agents")


def statuses(policy, snap):  # type: ignore[no-untyped-def]
    return {f.target: f.status for f in run_check(CHECK, policy, snap)}


def protection(**changes: object):  # type: ignore[no-untyped-def]
    policy = baseline_policy()
    assert policy.password_protection is not None
    return policy.model_copy(update={"password_protection": policy.password_protection.model_copy(update=changes)})


def test_a_dc_without_the_agent_fails_naming_it_the_others_pass() -> None:
    policy, snap = CASES["hybrid.dc_agents"]["fail"]()
    found = {f.target: f for f in run_check(CHECK, policy, snap)}
    assert found[DC1].status == Status.passed and found[DC1].actual["version"] == "1.2.177.1"
    assert found[DC2].status == Status.failed
    assert "dc2.corp.example.test runs no Password Protection DC agent" in (found[DC2].reason or "")
    assert "the tenant's mode is Enforce" in (found[DC2].reason or "")


def test_tenant_audit_mode_still_needs_agents_when_the_policy_asks_and_off_off_is_not_applicable() -> None:
    audit = rules().model_copy(update={"banned_on_premises_mode": "Audit"})
    snap = seam_snapshot(seam_directory(password_protection_agents=agents(DC2)), password_rules=audit)
    assert statuses(baseline_policy(), snap)[DC2] == Status.failed  # the policy asks for enforce
    off = rules().model_copy(update={"banned_on_premises_enabled": False})
    snap = seam_snapshot(seam_directory(password_protection_agents=agents(DC2)), password_rules=off)
    assert set(statuses(protection(on_premises="off"), snap).values()) == {Status.not_applicable}
    # the tenant enforces although the policy says off: the agents still matter
    snap = seam_snapshot(seam_directory(password_protection_agents=agents(DC2)))
    assert statuses(protection(on_premises="off"), snap)[DC2] == Status.failed


def test_unread_agents_are_unknown() -> None:
    policy, snap = CASES["hybrid.dc_agents"]["unread"]()
    assert set(statuses(policy, snap).values()) == {Status.unknown}
    snap = seam_snapshot(seam_directory(password_protection_agents=None))
    assert set(statuses(policy, snap).values()) == {Status.unknown}


def test_agent_settings_json() -> None:
    assert _settings('{"SoftwareVersion":"1.2.177.1","HeartbeatUTC":"2022-04-10T20:11:14Z"}') == {
        "SoftwareVersion": "1.2.177.1", "HeartbeatUTC": "2022-04-10T20:11:14Z"}
    assert _settings("eyJhbGciOiJIUzI1NiJ9.e30.x") == {} and _settings(None) == {}


# Microsoft (howto-password-ban-bad-on-premises-monitor, "DC Agent discovery"): the SCP's properties are updated
# "on an approximate hourly basis"; "If the HeartbeatUTC value gets stale, this may be a symptom that the ... DC Agent
# on that domain controller is not running, or has been uninstalled". The SCP outlives an uninstall.
def test_an_agent_whose_heartbeat_is_stale_is_not_counted_as_running() -> None:
    stale = seam_snapshot(seam_directory(password_protection_agents=agents(heartbeat="2026-11-20T08:00:00.0Z")))
    found = {f.target: f for f in run_check(CHECK, baseline_policy(), stale)}
    assert found[DC1].status == found[DC2].status == Status.unknown
    reason = found[DC1].reason or ""
    assert "11 day(s) 1 hour(s) older than the snapshot" in reason and "not counted as running" in reason
    # the policy may allow older heartbeats
    assert set(statuses(protection(agent_heartbeat_max_hours=24 * 12), stale).values()) == {Status.passed}


def test_an_absent_or_unreadable_heartbeat_is_unknown_and_a_fresh_one_passes() -> None:
    for heartbeat in (None, "yesterday"):
        snap = seam_snapshot(seam_directory(password_protection_agents=agents(heartbeat=heartbeat)))
        assert set(statuses(baseline_policy(), snap).values()) == {Status.unknown}, heartbeat
    fresh = seam_snapshot(seam_directory(password_protection_agents=agents(heartbeat="12/1/2026 8:35:02 AM")))
    assert set(statuses(baseline_policy(), fresh).values()) == {Status.passed}
    assert parse_heartbeat("2018-02-16T08:35:02.1234567Z") == parse_heartbeat("2/16/2018 8:35:02 AM").replace(
        microsecond=123456)  # type: ignore[union-attr]
    assert AGENTS_AS_OF.tzinfo is not None
