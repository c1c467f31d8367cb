"""Method targeting and the post-deadline methods policy, read over HTTP by the real msgraph-sdk from the
lab emulator (issue 13, wrong verdicts 1 and 2).

The tenant is the shipped `traps` scenario (the baseline tenant with the traps Microsoft's documented shapes allow
(learn.microsoft.com/graph/api/resources/authenticationmethodtarget; how-to-authentication-methods-manage):
`policyMigrationState: null` (a tenant created after 30 September 2025), Email enabled for a pilot group
only, Sms enabled with `includeTargets: []` (nobody) and Voice off, and Microsoft Authenticator for
`all_users` with an `excludeTargets` group that holds in-scope users). Each of these was a `pass` (or, for
the null state, an `unknown`) before targets were evaluated.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from auditor.app.audit import ExitPolicy, audit, collect_lab
from auditor.checks.base import Status
from auditor.endpoints import LabSelection
from auditor.lab.scenario import scenario_from_mapping
from auditor.policy.loader import load_policy
from auditor.remediation.planner import make_plan

ROOT = Path(__file__).resolve().parents[2]
BASELINE = ROOT / "policies" / "baseline.yaml"
SCENARIO = ROOT / "auditor" / "lab" / "scenarios" / "traps.yaml"
PILOT, CONTRACTORS = "5b0c7a8e-1f2d-4c3b-9a8e-0d1c2b3a4f50", "6c1d8b9f-2a3e-4d4c-8b9f-1e2d3c4b5a61"


def targeted_tenant(tmp_path: Path) -> tuple[Path, dict[str, list[str]]]:
    """The shipped `traps` tenant, cloud only (no Samba needed), and who is in its two groups."""
    data = YAML(typ="safe", pure=True).load(SCENARIO.read_text())
    data.pop("lab_domain_users", None)
    members = [u["id"] for u in scenario_from_mapping(copy.deepcopy(data)).users
               if u.get("accountEnabled") and u.get("userType") == "Member"]
    path = tmp_path / "targeted.yaml"
    YAML(typ="safe", pure=True).dump(data, path)
    groups = data["group_members"]
    return path, {"pilot": groups[PILOT], "contractors": groups[CONTRACTORS], "members": members}


@pytest.fixture(scope="module")
def targeted(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, dict[str, list[str]]]:
    path, who = targeted_tenant(tmp_path_factory.mktemp("targeted"))
    return collect_lab(LabSelection(scenario=str(path))), who


def findings_of(snapshot: Any) -> dict[tuple[str, str], Any]:
    result = audit(load_policy(BASELINE), snapshot, ExitPolicy())
    return {(f.check, f.target): f for f in result.findings}


def test_the_method_target_groups_are_read_with_their_members(targeted) -> None:
    snapshot, who = targeted
    assert snapshot.methods_policy.value.migration_state is None
    groups = {g.id: g for g in snapshot.scope_groups.value.groups}
    assert sorted(groups[PILOT].user_ids) == sorted(who["pilot"]) and "methods" in groups[PILOT].why
    assert sorted(groups[CONTRACTORS].user_ids) == sorted(who["contractors"])


def test_email_for_a_pilot_group_only_is_not_offered_to_everyone(targeted) -> None:
    snapshot, who = targeted
    email = findings_of(snapshot)[("sspr.methods", "email")]
    assert email.status == Status.failed, email
    in_scope = email.actual["in_scope"]
    assert email.actual["reached"] == len(who["pilot"]) and email.actual["not_reached"] == in_scope - 3
    assert "reaches only 3 of" in email.reason and PILOT in email.reason


def test_sms_with_an_empty_include_list_reaches_nobody(targeted) -> None:
    snapshot, _ = targeted
    phone = findings_of(snapshot)[("sspr.methods", "mobile_phone")]
    assert phone.status == Status.failed and phone.actual is False, phone
    assert "includeTargets is empty" in phone.reason


def test_an_excluded_group_of_in_scope_users_does_not_get_the_app(targeted) -> None:
    snapshot, who = targeted
    got = findings_of(snapshot)
    finding = got[("sspr.methods", "mobile_app_notification")]
    assert finding.status == Status.failed, finding
    assert finding.actual["not_reached"] == len(who["contractors"])
    # the tenant's Authenticator has isSoftwareOathEnabled false and SoftwareOath is disabled: the app's code is
    # offered to no one (how-to-authentication-methods-manage, "OATH tokens"; issue 30)
    code = got[("sspr.methods", "mobile_app_code")]
    assert code.status == Status.failed and code.actual is False, code


def test_users_who_cannot_reach_two_methods_are_a_finding(targeted) -> None:
    snapshot, who = targeted
    available = findings_of(snapshot)[("sspr.methods_available", "in-scope users")]
    assert available.status == Status.failed, available
    # the pilot (email + the app) reach two; everyone else has at most the app
    assert available.actual["short"] == available.actual["in_scope"] - len(who["pilot"])


def test_a_null_migration_state_is_governed_by_the_methods_policy(targeted) -> None:
    snapshot, _ = targeted
    got = findings_of(snapshot)
    migration = got[("methods_policy.migration", "tenant")]
    assert migration.status == Status.passed and "null" in migration.reason
    assert got[("sspr.methods", "office_phone")].status == Status.passed
    assert all(f.status != Status.unknown for (check, _), f in got.items() if check.startswith("sspr.methods"))


def test_the_plan_never_widens_targets_on_its_own(targeted) -> None:
    snapshot, _ = targeted
    policy = load_policy(BASELINE)
    result = audit(policy, snapshot, ExitPolicy())
    plan = make_plan(policy, snapshot, result.findings)
    manual = {(m.finding.check, m.finding.target): m.why_manual for m in plan.manual}
    assert "targeted" in manual[("sspr.methods", "email")]
    assert not [c for c in plan.changes if getattr(c, "configuration_id", None) == "Email"]


def test_targeting_is_judged_at_migration_complete_too(tmp_path: Path) -> None:
    # the same traps on a tenant that reports migrationComplete: each was a wrong `pass` before
    path, _ = targeted_tenant(tmp_path)
    data = YAML(typ="safe", pure=True).load(path.read_text())
    data["authentication_methods_policy"]["policyMigrationState"] = "migrationComplete"
    YAML(typ="safe", pure=True).dump(data, path)
    got = findings_of(collect_lab(LabSelection(scenario=str(path))))
    for method in ("email", "mobile_phone", "mobile_app_notification", "mobile_app_code"):
        assert got[("sspr.methods", method)].status == Status.failed, method
