"""A method target of `targetType: user`, read over HTTP by the real msgraph-sdk from the lab emulator (issue 30).

authenticationmethodtarget: "id: Object Id of a Microsoft Entra user or group ... targetType: The possible values
are: user, group" (learn.microsoft.com/graph/api/resources/authenticationmethodtarget; the ScubaGear test tenant
has one, tests/fixtures/real/SOURCES.md). main looked the user up as a group, got a 404, read it as a deleted group
that holds nobody: as an exclude that was a wrong pass. Here the `traps` tenant's Authenticator exclusion is one
in-scope user instead of the contractors group.
"""

from __future__ import annotations

import copy
from pathlib import Path

from ruamel.yaml import YAML

from auditor.app.audit import ExitPolicy, audit, collect_lab
from auditor.checks.base import Status
from auditor.endpoints import LabSelection
from auditor.lab.scenario import scenario_from_mapping
from auditor.policy.loader import load_policy

ROOT = Path(__file__).resolve().parents[2]
BASELINE = ROOT / "policies" / "baseline.yaml"
SCENARIO = ROOT / "auditor" / "lab" / "scenarios" / "traps.yaml"


def test_a_user_excluded_from_the_app_does_not_get_it(tmp_path: Path) -> None:
    data = YAML(typ="safe", pure=True).load(SCENARIO.read_text())
    data.pop("lab_domain_users", None)
    member = next(u["id"] for u in scenario_from_mapping(copy.deepcopy(data)).users
                  if u.get("accountEnabled") and u.get("userType") == "Member")
    app = next(c for c in data["authentication_methods_policy"]["authenticationMethodConfigurations"]
               if c["id"] == "MicrosoftAuthenticator")
    app["excludeTargets"] = [{"targetType": "user", "id": member}]
    app["isSoftwareOathEnabled"] = True
    path = tmp_path / "user-target.yaml"
    YAML(typ="safe", pure=True).dump(data, path)
    snapshot = collect_lab(LabSelection(scenario=str(path)))
    assert member.lower() not in {g.id.lower() for g in snapshot.scope_groups.value.groups if g.id}
    result = audit(load_policy(BASELINE), snapshot, ExitPolicy())
    got = {(f.check, f.target): f for f in result.findings}
    push = got[("sspr.methods", "mobile_app_notification")]
    assert push.status == Status.failed, push
    assert push.actual["not_reached"] == 1 and "(user)" in push.reason
