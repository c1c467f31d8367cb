"""The plan's impact preview against the lab's ground truth: who a scope change brings in, and who among
them is unlicensed or unregistered, as the tenant generator made them (auditor/lab/tenant_generator.py)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from auditor.app.audit import collect_lab, coverage_options, findings_of
from auditor.endpoints import LabSelection
from auditor.lab.tenant_generator import TenantMix, generate_tenant
from auditor.policy.loader import load_policy
from auditor.policy.models import Policy
from auditor.remediation.impact import impact_lines
from auditor.remediation.planner import make_plan

ROOT = Path(__file__).resolve().parents[2]


def cloud_policy(**sspr_changes: Any) -> Policy:
    data = load_policy(ROOT / "policies" / "baseline.yaml").model_dump()
    data["directory"] = None
    data["sspr"].update(sspr_changes)
    return Policy.model_validate(data)


@pytest.fixture(scope="module")
def tenant(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """400 users, SSPR scoped to a group holding 40% of the members, some unregistered and unlicensed."""
    mix = TenantMix(users=400, seed=11, scope="group", group_share=0.4, unregistered=0.12, unlicensed=0.06)
    return generate_tenant(mix, tmp_path_factory.mktemp("impact"), window_days=30)


def test_widening_to_all_names_who_comes_in_and_who_cannot_reset(tenant: Any) -> None:
    from auditor.derive.impact import scope_impact

    policy = cloud_policy()  # scope: all
    snapshot = collect_lab(LabSelection(scenario=str(tenant.scenario_path)), coverage_options(policy))
    plan = make_plan(policy, snapshot, findings_of(policy, snapshot))
    (recorded, *_) = plan.impact
    change = next(c for c in plan.changes if c.id == recorded.change_id)
    updates = {s.name: s.new for s in change.settings_list()}
    assert updates["enablement"] == "all"
    impact = scope_impact(snapshot, updates, policy.coverage.license_service_plans)  # type: ignore[union-attr]

    truth = tenant.truth
    assert impact.before == truth["in_scope"] == recorded.in_scope_before
    assert impact.after == truth["enabled_members"] == recorded.in_scope_after
    assert len(impact.brought_in) == truth["outside_scope"]["members"] == recorded.brought_in > 0
    assert impact.left_out == () and recorded.left_out == 0
    assert sorted(u.upn for u in impact.unlicensed) == truth["outside_scope"]["unlicensed_upns"] != []
    assert recorded.counts["unlicensed"] == len(truth["outside_scope"]["unlicensed_upns"])
    # the generator registers every member outside the group (registration is not scoped): none here
    assert sorted(u.upn for u in impact.unregistered) == truth["outside_scope"]["unregistered_upns"]
    assert impact.unknown == () and recorded.not_judged == []

    lines = impact_lines(plan.impact)
    assert lines[0] == (f"  impact of change {change.id}: in scope {truth['in_scope']} → {truth['enabled_members']} "
                        f"users; brings in {truth['outside_scope']['members']}, leaves out 0")
    assert any(f"{len(impact.unlicensed)} brought in without a licence" in line for line in lines)


def test_narrowing_to_the_group_leaves_the_others_out(tenant: Any) -> None:
    policy = cloud_policy()
    snapshot = collect_lab(LabSelection(scenario=str(tenant.scenario_path)), coverage_options(policy))
    from auditor.derive.impact import scope_impact

    group = snapshot.sspr_policy.value.group_ids  # type: ignore[union-attr]
    widened = scope_impact(snapshot, {"enablement": "all", "group_ids": []}, ["41781fb2-bc02-4b7c-bd55-b576c07bb09d"])
    from auditor.derive.impact import after_change

    back = scope_impact(after_change(snapshot, {"enablement": "all", "group_ids": []}),
                        {"enablement": "selected", "group_ids": group}, ["41781fb2-bc02-4b7c-bd55-b576c07bb09d"])
    assert {u.id for u in back.left_out} == {u.id for u in widened.brought_in}
    assert back.brought_in == () and back.unlicensed == () and back.unregistered == ()


def test_plan_prints_the_impact_before_anything_is_applied(tmp_path: Path) -> None:
    result = subprocess.run([sys.executable, "-m", "auditor.cli", "plan", str(ROOT / "policies" / "baseline.yaml"),
                             "--lab", "demo", "--out", str(tmp_path / "plan.json")], cwd=ROOT, capture_output=True,
                            text=True, timeout=300, check=False)
    assert "impact of change 1: in scope 41 → 63 users; brings in 22, leaves out 0" in result.stdout, result.stdout
    # the demo scenario's break-glass admin and cloud sync account sit outside the pilot group, with no P1 and
    # no registration (auditor/lab/scenarios/demo.yaml)
    assert "2 brought in without a licence: breakglass01@fabrikam-lab.onmicrosoft.com, Sync_FABDC01_" in result.stdout
    assert "2 brought in unregistered: breakglass01@fabrikam-lab.onmicrosoft.com, Sync_FABDC01_" in result.stdout


def test_requiring_two_methods_names_who_is_then_offered_too_few(tmp_path: Path) -> None:
    """The `traps` tenant (see tests/integration/test_method_targeting_lab.py): Email for the pilot group only, Sms
    for nobody, Voice off, the Authenticator app for all users but the contractors group. With two methods
    required (from one), only pilot members outside the contractors group are offered two."""
    from auditor.derive.impact import after_change, scope_impact
    from tests.integration.test_method_targeting_lab import targeted_tenant

    path, who = targeted_tenant(tmp_path)
    snapshot = after_change(collect_lab(LabSelection(scenario=str(path))), {"methods_required": 1})
    members = {i.lower() for i in who["members"]}
    pilot, contractors = {i.lower() for i in who["pilot"]}, {i.lower() for i in who["contractors"]}
    impact = scope_impact(snapshot, {"methods_required": 2}, ["41781fb2-bc02-4b7c-bd55-b576c07bb09d"])
    assert impact.before == impact.after and impact.brought_in == impact.left_out == ()
    already_short = contractors - pilot  # no method reaches them even with one required
    expected = (members - (pilot - contractors)) - already_short
    assert {u.id for u in impact.cannot_reach} == expected != set()


def test_the_plan_file_records_the_impact_and_the_dry_run_judges_it_again(tmp_path: Path) -> None:
    import json

    from ruamel.yaml import YAML

    yaml = YAML(typ="safe", pure=True)
    data = yaml.load((ROOT / "policies" / "baseline.yaml").read_text(encoding="utf-8"))
    data.pop("directory")  # a cloud-only plan: the dry run needs no domain controller
    policy_file = tmp_path / "cloud.yaml"
    yaml.dump(data, policy_file)

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "auditor.cli", *args], cwd=ROOT, capture_output=True, text=True,
                              timeout=300, check=False)

    planned = cli("plan", str(policy_file), "--lab", "demo", "--out", str(tmp_path / "plan.json"))
    (first, *_) = json.loads((tmp_path / "plan.json").read_text(encoding="utf-8"))["impact"]
    assert (first["in_scope_before"], first["in_scope_after"], first["brought_in"]) == (41, 63, 22), planned.stdout
    assert first["counts"] == {"unlicensed": 2, "unregistered": 2, "cannot_reach": 0, "can_reach": 0,
                               "must_register": 0}
    dry = cli("apply", str(tmp_path / "plan.json"), "--lab", "demo")
    expected = "impact of change 1: in scope 41 → 63 users; brings in 22, leaves out 0"
    assert expected in dry.stdout, dry.stdout + dry.stderr


def test_a_method_configuration_change_names_who_loses_or_gains_enough_methods(tmp_path: Path) -> None:
    """The `traps` tenant needs two methods: only pilot members outside the contractors group reach two
    (the Authenticator app and Email). Turning the Authenticator off leaves them short; on again, they reach two."""
    from auditor.derive.impact import with_configuration
    from auditor.remediation.changes import GraphMethodConfigurationChange, SettingChange
    from auditor.remediation.impact import impacts_of
    from tests.integration.test_method_targeting_lab import targeted_tenant

    path, who = targeted_tenant(tmp_path)
    snapshot = collect_lab(LabSelection(scenario=str(path)))
    pilot, contractors = {i.lower() for i in who["pilot"]}, {i.lower() for i in who["contractors"]}

    def change(state: str) -> GraphMethodConfigurationChange:
        return GraphMethodConfigurationChange(
            id="1", target="graph /policies/authenticationMethodsPolicy/authenticationMethodConfigurations/"
            "MicrosoftAuthenticator", summary="test", configuration_id="MicrosoftAuthenticator",
            settings=[SettingChange(name="state", old=None, new=state)])

    people = {u.id.lower(): u.upn for u in snapshot.cloud_users.value.users}  # type: ignore[union-attr]
    two = sorted((people[i] for i in pilot - contractors), key=str.casefold)
    (off,) = impacts_of([change("disabled")], cloud_policy(), snapshot)
    assert off.brought_in == off.left_out == 0 and off.counts["cannot_reach"] == len(two) > 0
    assert off.cannot_reach == two[:10] + ([f"... and {len(two) - 10} more"] if len(two) > 10 else [])
    turned_off = with_configuration(snapshot, "MicrosoftAuthenticator", {"state": "disabled"})
    (on,) = impacts_of([change("enabled")], cloud_policy(), turned_off)
    assert on.counts["can_reach"] == len(two) and on.counts["cannot_reach"] == 0
    assert any("offered enough methods after it, not before" in line for line in impact_lines([on]))


def test_check_reports_the_coverage_of_the_scope_the_policy_asks_for_beside_the_live_one(tmp_path: Path) -> None:
    import json

    result = subprocess.run([sys.executable, "-m", "auditor.cli", "check", str(ROOT / "policies" / "baseline.yaml"),
                             "--lab", "demo", "--format", "json,html", "--out", str(tmp_path)], cwd=ROOT,
                            capture_output=True, text=True, timeout=300, check=False)
    coverage = json.loads((tmp_path / "sspr-audit.json").read_text(encoding="utf-8"))["coverage"]
    # the live pilot (41 users) and the policy's `all` (63): the 22 brought in add 2 unlicensed, 2 unregistered
    assert (coverage["in_scope"], coverage["registered"], coverage["unlicensed"]) == (41, 34, 3), result.stderr
    asked = coverage["policy_scope"]
    assert (asked["scope"], asked["in_scope"], asked["registered"], asked["unlicensed"]) == ("all", 63, 54, 5)
    html = (tmp_path / "sspr-audit.html").read_text(encoding="utf-8")
    assert 'id="coverage-policy-scope"' in html and '<span data-policy-count="in_scope">63</span>' in html
