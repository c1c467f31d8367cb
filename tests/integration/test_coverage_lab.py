"""The coverage readers with the real msgraph-sdk client against the lab emulator over HTTP, and the
report's counts against a generated tenant's ground truth.

No wall-clock assertions: history is served relative to "now" by the emulator, and the tests
compare counts, never times.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from auditor.app.audit import CoverageOptions, ExitPolicy, audit, collect_lab
from auditor.checks.base import Status
from auditor.endpoints import LabSelection
from auditor.lab.emulator import Faults, Paging
from auditor.lab.server import LabServer
from auditor.lab.tenant_generator import TenantMix, generate_tenant
from auditor.policy.loader import load_policy
from auditor.policy.models import Policy
from auditor.readers import graph_tenant
from auditor.readers.credentials import LabTokenCredential
from auditor.readers.graph import build_client
from auditor.render import write_reports
from auditor.snapshot.models import Section, Snapshot

ROOT = Path(__file__).resolve().parents[2]
BASELINE = ROOT / "policies" / "baseline.yaml"
COVERAGE_CHECKS = {"licensing.in_scope", "registration.coverage", "scope.group_members", "secure_score.sspr",
                   "password_protection", "client.sign_in_reset"}
NON_PREMIUM = "Authentication_RequestFromNonPremiumTenantOrB2CTenant"


def cloud_policy() -> Policy:
    """The baseline without its `directory` section: these tests read no domain controller."""
    data = load_policy(BASELINE).model_dump()
    data["directory"] = None
    return Policy.model_validate(data)


def read(lab: LabServer, reader: Callable[[Any], Awaitable[Section[Any]]]) -> Section[Any]:
    async def run() -> Section[Any]:
        client = build_client(lab.graph_url, LabTokenCredential())
        try:
            return await reader(client)
        finally:
            await client.request_adapter._http_client.aclose()

    return asyncio.run(run())


@pytest.fixture(scope="module")
def tenant(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """1,000 users scoped to a group, with unregistered and unlicensed users, and its ground truth."""
    mix = TenantMix(users=1000, seed=4, scope="group", group_share=0.6, unregistered=0.1, unlicensed=0.04)
    return generate_tenant(mix, tmp_path_factory.mktemp("tenant"), window_days=30)


@pytest.fixture(scope="module")
def paged_lab(tenant: Any) -> Iterator[LabServer]:
    """The generated tenant with every page capped at 150 items, so every reader has to follow nextLink."""
    with LabServer(str(tenant.scenario_path), paging=Paging(cap=150)) as server:
        yield server


# --- readers, paging through nextLink -----------------------------------------------------------------


def pages(lab: LabServer, endpoint: str) -> list[str]:
    return [r.query for r in lab.requests(endpoint) if r.status == 200]


def test_users_are_read_whole_through_next_links(paged_lab: LabServer, tenant: Any) -> None:
    paged_lab.state.clear_log()
    section = read(paged_lab, graph_tenant.read_cloud_users)
    assert section.readable, section.error
    users = section.value.users
    assert len(users) == tenant.truth["users_total"] == 1000
    assert len({u.id for u in users}) == 1000
    queries = pages(paged_lab, "users")
    assert len(queries) == 7 and all("skiptoken" in q for q in queries[1:])  # 6 pages of 150, then 100
    assert "%24select=" in queries[0] or "$select=" in queries[0]
    assert "assignedPlans" in queries[0] and "%24top=999" in queries[0].replace("$", "%24")
    licensed = sum(1 for u in users if u.plan_set >= 0)
    assert licensed == 1000 - tenant.truth["guests"] - round(1000 * 0.04)


def test_registration_details_and_group_members_page_too(paged_lab: LabServer, tenant: Any) -> None:
    paged_lab.state.clear_log()
    registration = read(paged_lab, graph_tenant.read_registration_details)
    assert registration.readable, registration.error
    assert len(registration.value.records) == len(paged_lab.scenario.user_registration_details)
    assert len(pages(paged_lab, "registration_details")) > 1

    async def groups(client: Any) -> Section[Any]:
        return await graph_tenant.read_scope_groups(client, _none(), graph_tenant.GroupHint(name="SSPR-Users"))

    section = read(paged_lab, groups)
    assert section.readable, section.error
    (group,) = section.value.groups
    assert group.found and group.display_name == "SSPR-Users" and group.why == ["policy"]
    members = paged_lab.scenario.group_members[group.id]
    assert sorted(group.user_ids) == sorted(members) and len(members) > 150
    member_pages = [r for r in paged_lab.requests("groups") if "transitiveMembers" in r.path]
    assert len(member_pages) == -(-len(members) // 150)


async def _none() -> None:
    return None


def test_a_group_named_with_surrounding_spaces_is_looked_up_trimmed(paged_lab: LabServer) -> None:
    """Issue #30 item 5: the policy's group name is sent trimmed in `displayName eq '...'` (as `text.same_name`
    compares it); untrimmed, Graph's whole-string `eq` found no group and the scope read as a deleted group."""
    paged_lab.state.clear_log()

    async def groups(client: Any) -> Section[Any]:
        return await graph_tenant.read_scope_groups(client, _none(), graph_tenant.GroupHint(name=" SSPR-Users\t "))

    section = read(paged_lab, groups)
    assert section.readable, section.error
    (group,) = section.value.groups
    assert group.found and group.display_name == "SSPR-Users", group
    lookups = [r.query for r in paged_lab.requests("groups") if "filter" in r.query]
    assert lookups and all("SSPR-Users%27" in q or "SSPR-Users'" in q for q in lookups), lookups


def test_audit_events_are_filtered_to_the_sspr_service_and_window(paged_lab: LabServer, tenant: Any) -> None:
    paged_lab.state.clear_log()
    section = read(paged_lab, lambda client: graph_tenant.read_sspr_activity(client, 30))
    assert section.readable, section.error
    activity = section.value
    truth = tenant.truth["activity"]
    assert activity.events == truth["events"]
    assert activity.total("resets") == truth["resets"] and activity.total("unlocks") == truth["unlocks"]
    assert [e.enabled for e in activity.writeback_events] == [False, True]
    queries = pages(paged_lab, "directory_audits")
    assert len(queries) == -(-truth["events"] // 150)
    assert all("Self-service%20Password%20Management" in q and "activityDateTime%20ge%20" in q for q in queries)


def test_a_shorter_window_counts_fewer_events(paged_lab: LabServer) -> None:
    week = read(paged_lab, lambda client: graph_tenant.read_sspr_activity(client, 7)).value
    month = read(paged_lab, lambda client: graph_tenant.read_sspr_activity(client, 30)).value
    assert 0 < week.events < month.events
    assert (week.window_end - week.window_start).days == 7


def test_secure_score_history_and_the_control_profile(paged_lab: LabServer, tenant: Any) -> None:
    section = read(paged_lab, lambda client: graph_tenant.read_secure_score(client, 30))
    assert section.readable, section.error
    score = section.value
    truth = tenant.truth["secure_score"]
    assert (score.score, score.count, score.total, score.percent) == (
        truth["score"], truth["count"], truth["total"], truth["percent"])
    assert score.max_score == 1.0 and score.title == "Enable self-service password reset"
    assert len(score.history) == 30 and score.history[-1].percent == truth["percent"]
    assert [p.day for p in score.history] == sorted(p.day for p in score.history)
    assert score.implementation_status.startswith(f"You have {truth['count']} of {truth['total']} users")


def test_password_rules_skus_and_intune(paged_lab: LabServer) -> None:
    rules = read(paged_lab, graph_tenant.read_password_rules).value
    assert (rules.banned_on_premises_mode, rules.lockout_threshold, rules.lockout_duration_seconds) == ("Enforce",
                                                                                                        10, 120)
    assert rules.custom_list_size == 2
    skus = read(paged_lab, graph_tenant.read_subscribed_skus).value
    (sku,) = skus.skus
    assert sku.part_number == "SPE_E3" and "41781fb2-bc02-4b7c-bd55-b576c07bb09d" in sku.plan_ids
    assert sku.consumed_units == 1000 - 20 - 40  # counted from the users' assigned licences
    intune = read(paged_lab, graph_tenant.read_intune_sign_in_reset).value
    assert [s.value for s in intune.settings] == ["1"]


def test_a_missing_group_is_found_false_not_an_error() -> None:
    async def groups(client: Any) -> Section[Any]:
        hint = graph_tenant.GroupHint(id="00000000-0000-4000-8000-000000000000")
        return await graph_tenant.read_scope_groups(client, _none(), hint)

    with LabServer("baseline") as lab:
        section = read(lab, groups)
    (group,) = section.value.groups
    assert not group.found and group.error is None


def test_forbidden_intune_is_a_failed_section_with_the_reason() -> None:
    with LabServer("baseline", faults=Faults(forbidden={"device_configurations"})) as lab:
        section = read(lab, graph_tenant.read_intune_sign_in_reset)
    assert not section.readable and "403" in (section.error or "") and "Authorization_RequestDenied" in section.error


# --- the report's counts against the generator's ground truth ------------------------------------------


@pytest.fixture(scope="module")
def tenant_reports(tenant: Any, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Snapshot]:
    policy = cloud_policy()
    options = CoverageOptions(scope_group_name="SSPR-Users", activity_days=30)
    snapshot = collect_lab(LabSelection(scenario=str(tenant.scenario_path)), options)
    result = audit(policy, snapshot, ExitPolicy())
    out = tmp_path_factory.mktemp("reports")
    html, data = sorted(write_reports(result.report, out, ["html", "json"]), key=lambda p: p.suffix)
    return html, data, snapshot


COUNTS = ("users_total", "enabled_members", "in_scope", "registered", "not_registered", "no_record", "licensed",
          "unlicensed")


def test_every_count_in_the_json_report_is_the_ground_truth(tenant: Any, tenant_reports: Any) -> None:
    truth = tenant.truth
    coverage = json.loads(tenant_reports[1].read_text())["coverage"]
    for key in (*COUNTS, "guests", "disabled", "registered_percent", "licensed_percent"):
        assert coverage[key] == truth[key], key
    assert coverage["scope"] == "selected" and coverage["scope_basis"] == "portal"
    assert sorted(u["upn"] for u in coverage["unregistered_users"]) == truth["unregistered_upns"]
    assert sorted(u["upn"] for u in coverage["unlicensed_users"]) == truth["unlicensed_upns"]
    activity = coverage["activity"]
    for key, value in truth["activity"].items():
        assert activity[key] == value, key
    score = coverage["secure_score"]
    assert (score["score"], score["count"], score["total"], score["percent"]) == (
        truth["secure_score"]["score"], truth["secure_score"]["count"], truth["secure_score"]["total"],
        truth["secure_score"]["percent"])


def html_counts(html: str) -> dict[str, str]:
    return dict(re.findall(r'data-count="([a-z_]+)">([^<]*)<', html))


def test_every_count_in_the_html_report_is_the_ground_truth(tenant: Any, tenant_reports: Any) -> None:
    truth = tenant.truth
    shown = html_counts(tenant_reports[0].read_text())
    for key in COUNTS:
        assert shown[key] == str(truth[key]), key
    for key in ("resets", "resets_failed", "unlocks", "blocked", "blocked_users", "registrations",
                "writeback_enabled", "writeback_disabled"):
        assert shown[key] == str(truth["activity"][key]), key
    assert shown["unregistered_listed"] == str(len(truth["unregistered_upns"]))
    assert shown["unlicensed_listed"] == str(len(truth["unlicensed_upns"]))


def test_the_coverage_checks_judge_the_generated_drift(tenant: Any, tenant_reports: Any) -> None:
    findings = json.loads(tenant_reports[1].read_text())["findings"]
    status = {(f["check"], f["target"]): f["status"] for f in findings}
    assert status[("registration.coverage", "in-scope users")] == "fail"  # 10% unregistered, below 90%
    assert status[("licensing.in_scope", "in-scope users")] == "fail"
    assert status[("sspr.scope", "tenant")] == "fail"  # selected, the baseline asks for all
    assert status[("secure_score.sspr", "SelfServicePasswordReset")] == "fail"
    assert status[("scope.group_members", "scope group")] == "not_applicable"  # the policy's scope is all
    licensing = next(f for f in findings if f["check"] == "licensing.in_scope")
    assert licensing["actual"]["unlicensed"] == tenant.truth["unlicensed"]


# --- unreadable inputs --------------------------------------------------------------------------------


def test_registration_details_403_without_premium_is_unknown_with_that_reason() -> None:
    snapshot = collect_lab(LabSelection(scenario="baseline", forbid=("registration_details",)))
    assert NON_PREMIUM in (snapshot.registration_details.error or "")
    result = audit(cloud_policy(), snapshot, ExitPolicy())
    (coverage,) = [f for f in result.findings if f.check == "registration.coverage"]
    assert coverage.status == Status.unknown
    assert "403" in coverage.reason and NON_PREMIUM in coverage.reason
    # the rest does not need registration details: licences are still judged, from the portal's scope
    (licensing,) = [f for f in result.findings if f.check == "licensing.in_scope"]
    assert licensing.status == Status.passed
    assert result.report.coverage.registered is None and "registration" in result.report.coverage.unavailable
    assert result.report.summary.exit_code == 3


def test_portal_and_registration_details_both_unreadable_leave_the_scope_unknown() -> None:
    snapshot = collect_lab(LabSelection(scenario="baseline", forbid=("portal", "registration_details")))
    result = audit(cloud_policy(), snapshot, ExitPolicy())
    for check in ("sspr.scope", "registration.coverage", "licensing.in_scope"):
        finding = next(f for f in result.findings if f.check == check)
        assert finding.status == Status.unknown, finding
        assert "403" in (finding.reason or "")
    # the scope the policy asks for (all) needs neither: its licences are still judged, from the users
    (asked,) = [f for f in result.findings if f.check == "licensing.in_scope" and f.target != "in-scope users"]
    assert asked.status == Status.passed and asked.target.startswith("users in the scope the policy asks for")


def test_portal_403_keeps_the_policy_scope_licence_fail() -> None:
    """Issue #30: in the demo lab the policy's scope (all) holds unlicensed and unregistered users outside the
    group in force; with the portal answering 403 those fails disappeared. They stay, with the same counts."""
    def asked(forbidden: tuple[str, ...]) -> dict[str, Any]:
        result = audit(cloud_policy(), collect_lab(LabSelection(scenario="demo", forbid=forbidden)), ExitPolicy())
        return {f.check: f for f in result.findings if f.check in ("licensing.in_scope", "registration.coverage")
                and f.target.startswith("users in the scope the policy asks for")}

    normal, forbidden = asked(()), asked(("portal",))
    assert normal["licensing.in_scope"].status == Status.failed
    assert set(forbidden) == set(normal) == {"licensing.in_scope", "registration.coverage"}
    for check, finding in normal.items():
        kept = forbidden[check]
        assert (kept.target, kept.status, kept.actual) == (finding.target, finding.status, finding.actual)
        assert any(e.source.startswith("portal:") and e.field == "(section)" for e in kept.evidence)


# --- the lab scenarios --------------------------------------------------------------------------------


def test_baseline_lab_passes_every_coverage_check() -> None:
    snapshot = collect_lab(LabSelection(scenario="baseline"))
    result = audit(cloud_policy(), snapshot, ExitPolicy())
    bad = [(f.check, f.target, f.status, f.reason) for f in result.findings
           if f.check in COVERAGE_CHECKS and f.status not in (Status.passed, Status.not_applicable)]
    assert not bad
    assert result.report.coverage.registered_percent == 100.0 and result.report.coverage.unlicensed == 0


def test_demo_lab_fails_the_planted_coverage_drift() -> None:
    options = CoverageOptions(activity_days=30)
    snapshot = collect_lab(LabSelection(scenario="demo"), options)
    result = audit(cloud_policy(), snapshot, ExitPolicy())
    status = {(f.check, f.target): f.status for f in result.findings}
    assert status[("registration.coverage", "in-scope users")] == Status.failed
    assert status[("licensing.in_scope", "in-scope users")] == Status.failed
    assert status[("password_protection", "password protection on-premises")] == Status.failed
    assert status[("password_protection", "smart lockout threshold")] == Status.failed
    assert status[("password_protection", "smart lockout duration (seconds)")] == Status.passed
    assert status[("secure_score.sspr", "SelfServicePasswordReset")] == Status.failed
    # Intune turns the link off, and a policy without `directory` reads no Registry.pol: unknown, never fail or pass
    assert status[("client.sign_in_reset", "sign-in screen")] == Status.unknown
    coverage = result.report.coverage
    assert coverage.activity.writeback_disabled == 1 and coverage.activity.writeback_enabled == 1
    unregistered = {u.upn for u in coverage.unregistered_users}
    assert {"dev.rossi@corp.example.test", "hana.park@corp.example.test", "ann.vance@corp.example.test"} <= unregistered
    unlicensed = {u.upn for u in coverage.unlicensed_users}
    assert {"gus.xu@corp.example.test", "tess.temp@corp.example.test"} <= unlicensed
