"""The Password Rule Settings end to end against the lab emulator, through the real msgraph-sdk client.

First the emulator's groupSettings writes against Microsoft's documented shapes: POST from a template (201,
values it leaves out take the template's defaults, a second one from the same template is refused), PATCH of
the whole values collection (204; a partial one is refused), DELETE (204), and 400 on an unknown template,
value name or value. Then plan → apply → check passes → rollback restores exactly what was there, for a tenant
that has the object (a PATCH; the banned word list kept byte for byte) and for one that has none (a POST;
rollback deletes it, which is what returns the tenant to its defaults).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from auditor.app.audit import ExitPolicy, audit
from auditor.checks.base import Status
from auditor.endpoints import Endpoints
from auditor.lab.server import LabServer
from auditor.policy.loader import load_policy
from auditor.readers.collect import CollectOptions, collect
from auditor.readers.credentials import LabTokenCredential
from auditor.readers.reach import Reached
from auditor.remediation.apply import Targets, load_backup
from auditor.remediation.changes import GraphPasswordRulesChange, Plan, SettingChange
from auditor.remediation.planner import make_plan
from tests.helpers.remediation import apply, rollback

TEMPLATE = "5cf42378-d67d-4f36-ba46-e8b86229381d"
DEMO_SETTING = "8b16b029-bb31-48c8-b4df-5ee419596688"
AUTH = {"Authorization": "Bearer lab"}
POLICY = """\
password_protection:
  on_premises: enforce
  lockout_threshold_at_most: 10
  lockout_duration_seconds_at_least: 60
"""
FULL = [{"name": "BannedPasswordCheckOnPremisesMode", "value": "Enforce"},
        {"name": "EnableBannedPasswordCheckOnPremises", "value": "True"},
        {"name": "EnableBannedPasswordCheck", "value": "False"},
        {"name": "LockoutDurationInSeconds", "value": "90"},
        {"name": "LockoutThreshold", "value": "5"},
        {"name": "BannedPasswordList", "value": "contoso"}]


@pytest.fixture(name="lab")
def lab_fixture() -> Iterator[LabServer]:
    with LabServer("demo") as server:
        yield server


@pytest.fixture(name="policy_file")
def policy_file_fixture(tmp_path: Path) -> Path:
    path = tmp_path / "password-protection.yaml"
    path.write_text(POLICY)
    return path


def settings_url(lab: LabServer, setting_id: str | None = None) -> str:
    return f"{lab.graph_url}/groupSettings" + (f"/{setting_id}" if setting_id else "")


# -- the emulator: documented shapes and validation ------------------------------------------------

def test_post_creates_from_the_template_and_fills_the_values_left_out(lab: LabServer) -> None:
    lab.state.tenant.group_settings.clear()
    created = httpx.post(settings_url(lab), headers=AUTH, json={
        "templateId": TEMPLATE, "values": [{"name": "LockoutThreshold", "value": "5"}]})
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["@odata.context"].endswith("$metadata#groupSettings/$entity")
    assert body["displayName"] == "Password Rule Settings" and body["templateId"] == TEMPLATE and body["id"]
    assert {v["name"]: v["value"] for v in body["values"]} == {
        "LockoutThreshold": "5", "BannedPasswordCheckOnPremisesMode": "Audit",
        "EnableBannedPasswordCheckOnPremises": "true", "EnableBannedPasswordCheck": "true",
        "LockoutDurationInSeconds": "60", "BannedPasswordList": ""}
    listed = httpx.get(settings_url(lab), headers=AUTH).json()["value"]
    assert [s["id"] for s in listed] == [body["id"]]
    again = httpx.post(settings_url(lab), headers=AUTH, json={"templateId": TEMPLATE, "values": FULL})
    assert again.status_code == 400
    assert again.json()["error"] == {**again.json()["error"], "code": "Request_BadRequest",
                                     "message": "Another object with the same value for property templateId "
                                                "already exists."}


@pytest.mark.parametrize(("body", "fragment"), [
    ({"templateId": "00000000-0000-0000-0000-000000000000", "values": []}, "templateId"),
    ({"values": FULL}, "templateId"),
    ({"templateId": TEMPLATE, "values": [{"name": "LockoutThresholdX", "value": "5"}]}, "not defined in template"),
    ({"templateId": TEMPLATE, "values": [{"name": "LockoutThreshold", "value": 5}]}, "Edm.String"),
    ({"templateId": TEMPLATE, "values": [{"name": "LockoutThreshold", "value": "five"}]}, "System.Int32"),
    ({"templateId": TEMPLATE, "values": [{"name": "EnableBannedPasswordCheck", "value": "yes"}]}, "System.Boolean"),
    ({"templateId": TEMPLATE, "values": [{"name": "LockoutThreshold", "value": "5"},
                                         {"name": "lockoutthreshold", "value": "6"}]}, "more than once"),
    ({"templateId": TEMPLATE, "values": {"LockoutThreshold": "5"}}, "collection"),
    ({"templateId": TEMPLATE, "values": FULL, "description": "x"}, "read-only"),
])
def test_post_refuses_what_graph_refuses(lab: LabServer, body: dict[str, Any], fragment: str) -> None:
    lab.state.tenant.group_settings.clear()
    answer = httpx.post(settings_url(lab), headers=AUTH, json=body)
    assert answer.status_code == 400 and fragment in answer.json()["error"]["message"], answer.text
    assert lab.state.tenant.group_settings == []


def test_patch_takes_the_whole_collection_and_delete_removes(lab: LabServer) -> None:
    partial = httpx.patch(settings_url(lab, DEMO_SETTING), headers=AUTH,
                          json={"values": [{"name": "LockoutThreshold", "value": "5"}]})
    assert partial.status_code == 400
    assert "The expected property 'BannedPasswordCheckOnPremisesMode' defined in template" in partial.text
    read_only = httpx.patch(settings_url(lab, DEMO_SETTING), headers=AUTH, json={"templateId": TEMPLATE,
                                                                                  "values": FULL})
    assert read_only.status_code == 400 and "read-only" in read_only.text
    full = httpx.patch(settings_url(lab, DEMO_SETTING), headers=AUTH, json={"values": FULL})
    assert full.status_code == 204 and full.content == b""
    one = httpx.get(settings_url(lab, DEMO_SETTING), headers=AUTH).json()
    assert one["values"] == FULL and one["displayName"] == "Password Rule Settings"
    assert httpx.patch(settings_url(lab, "nope"), headers=AUTH, json={"values": FULL}).status_code == 404
    assert httpx.delete(settings_url(lab, DEMO_SETTING), headers=AUTH).status_code == 204
    assert httpx.get(settings_url(lab), headers=AUTH).json()["value"] == []
    assert httpx.delete(settings_url(lab, DEMO_SETTING), headers=AUTH).status_code == 404


# -- plan → apply → check → rollback -----------------------------------------------------------------

def credential() -> LabTokenCredential:
    return LabTokenCredential(token="lab-token")


def targets(lab: LabServer) -> Targets:
    return Targets(Endpoints(graph_url=lab.graph_url), graph_credential=credential())


def findings(lab: LabServer, policy_file: Path) -> tuple[Any, list[Any]]:
    policy = load_policy(policy_file)
    snapshot = collect(CollectOptions(Reached(Endpoints(graph_url=lab.graph_url), origin="lab:demo",
                                              graph_credential=credential())))
    return snapshot, audit(policy, snapshot, ExitPolicy()).findings


def make(lab: LabServer, policy_file: Path) -> Plan:
    snapshot, found = findings(lab, policy_file)
    return make_plan(load_policy(policy_file), snapshot, found)


def protection(lab: LabServer, policy_file: Path) -> dict[str, Status]:
    return {f.target: f.status for f in findings(lab, policy_file)[1] if f.check == "password_protection"}


def stored(lab: LabServer) -> str:
    return json.dumps(lab.state.tenant.group_settings, sort_keys=True)


def settle(lab: LabServer) -> None:
    """Wait until the request log stops growing: the emulator logs a request once its answer went out."""
    seen = -1
    for _ in range(200):
        if len(lab.requests()) == seen:
            return
        seen = len(lab.requests())
        time.sleep(0.02)


def clear_log(lab: LabServer) -> None:
    settle(lab)
    lab.state.clear_log()


def writes(lab: LabServer) -> list[tuple[str, str, int]]:
    settle(lab)
    return [(r.method, r.path, r.status) for r in lab.requests() if r.method in ("POST", "PATCH", "DELETE")]


def test_an_existing_setting_gets_only_the_failing_values_and_rollback_restores_it(lab: LabServer,
                                                                                  policy_file: Path,
                                                                                  tmp_path: Path) -> None:
    original = stored(lab)
    assert protection(lab, policy_file) == {"password protection on-premises": Status.failed,
                                            "smart lockout threshold": Status.failed,
                                            "smart lockout duration (seconds)": Status.passed}
    plan = make(lab, policy_file)
    [change] = plan.changes
    assert isinstance(change, GraphPasswordRulesChange) and change.setting_id == DEMO_SETTING
    assert [(s.name, s.old, s.new) for s in change.settings] == [
        ("banned_on_premises_mode", "Audit", "Enforce"), ("lockout_threshold", 20, 10)]
    clear_log(lab)
    result = apply(plan, targets(lab), yes=True, backup_path=tmp_path / "backup.json")
    assert result.outcome == "applied", result.message
    assert writes(lab) == [("PATCH", f"/v1.0/groupSettings/{DEMO_SETTING}", 204)]
    [setting] = lab.state.tenant.group_settings
    assert setting["values"] == [
        {"name": "BannedPasswordCheckOnPremisesMode", "value": "Enforce"},
        {"name": "EnableBannedPasswordCheckOnPremises", "value": "True"},
        {"name": "EnableBannedPasswordCheck", "value": "False"},  # kept as it was: this policy does not ask
        {"name": "LockoutDurationInSeconds", "value": "60"},
        {"name": "LockoutThreshold", "value": "10"},
        {"name": "BannedPasswordList", "value": "fabrikam\tspring2024\tsummer2024"}]  # kept as it was
    assert set(protection(lab, policy_file).values()) == {Status.passed}
    again = apply(plan, targets(lab), yes=True, backup_path=tmp_path / "again.json")
    assert again.outcome == "nothing_to_do"
    restored = rollback(load_backup(tmp_path / "backup.json"), targets(lab), yes=True)
    assert restored.outcome == "restored", restored.message
    assert stored(lab) == original


def test_no_setting_is_created_with_every_value_and_rollback_deletes_it(lab: LabServer, policy_file: Path,
                                                                       tmp_path: Path) -> None:
    lab.state.tenant.group_settings.clear()
    assert protection(lab, policy_file)["password protection on-premises"] == Status.failed  # default: Audit
    plan = make(lab, policy_file)
    [change] = plan.changes
    assert isinstance(change, GraphPasswordRulesChange) and change.setting_id is None
    clear_log(lab)
    result = apply(plan, targets(lab), yes=True, backup_path=tmp_path / "backup.json")
    assert result.outcome == "applied", result.message
    assert writes(lab) == [("POST", "/v1.0/groupSettings", 201)]
    [setting] = lab.state.tenant.group_settings
    assert setting["templateId"] == TEMPLATE and setting["values"] == [
        {"name": "BannedPasswordCheckOnPremisesMode", "value": "Enforce"},
        {"name": "EnableBannedPasswordCheckOnPremises", "value": "True"},
        {"name": "EnableBannedPasswordCheck", "value": "True"},
        {"name": "LockoutDurationInSeconds", "value": "60"},
        {"name": "LockoutThreshold", "value": "10"},
        {"name": "BannedPasswordList", "value": ""}]  # every value sent, none left to the service
    assert set(protection(lab, policy_file).values()) == {Status.passed}
    assert apply(plan, targets(lab), yes=True, backup_path=tmp_path / "again.json").outcome == "nothing_to_do"
    backup = load_backup(tmp_path / "backup.json")
    [obj] = backup.objects
    assert obj.data["json"] is None and obj.after is not None and obj.after["json"]["id"] == setting["id"]
    clear_log(lab)
    restored = rollback(backup, targets(lab), yes=True)
    assert restored.outcome == "restored", restored.message
    assert writes(lab) == [("DELETE", f"/v1.0/groupSettings/{setting['id']}", 204)]
    assert lab.state.tenant.group_settings == []


def test_a_value_changed_by_hand_after_apply_is_left_alone_by_rollback(lab: LabServer, policy_file: Path,
                                                                       tmp_path: Path) -> None:
    lab.state.tenant.group_settings.clear()
    plan = make(lab, policy_file)
    assert apply(plan, targets(lab), yes=True, backup_path=tmp_path / "backup.json").outcome == "applied"
    [setting] = lab.state.tenant.group_settings
    edited = [{**v, "value": "contoso"} if v["name"] == "BannedPasswordList" else v for v in setting["values"]]
    assert httpx.patch(settings_url(lab, setting["id"]), headers=AUTH, json={"values": edited}).status_code == 204
    kept = rollback(load_backup(tmp_path / "backup.json"), targets(lab), yes=True)
    assert kept.outcome == "partial" and kept.objects[0].status == "changed"
    assert "values" in (kept.objects[0].detail or "")
    assert lab.state.tenant.group_settings[0]["values"] == edited  # someone's words are not deleted


def test_a_stale_or_edited_plan_writes_nothing(lab: LabServer, policy_file: Path, tmp_path: Path) -> None:
    plan = make(lab, policy_file)
    [change] = plan.changes
    assert isinstance(change, GraphPasswordRulesChange)
    bigger = change.model_copy(update={"settings": [SettingChange(name="lockout_threshold", old=20, new=50)]})
    edited = plan.model_copy(update={"changes": [bigger]}).sealed()
    clear_log(lab)
    refused = apply(edited, targets(lab), yes=True, backup_path=tmp_path / "edited.json")
    assert refused.outcome == "refused" and "not what the policy asks for" in refused.message
    assert writes(lab) == []
    values = [{**v, "value": "15"} if v["name"] == "LockoutThreshold" else v
              for v in lab.state.tenant.group_settings[0]["values"]]
    assert httpx.patch(settings_url(lab, DEMO_SETTING), headers=AUTH, json={"values": values}).status_code == 204
    clear_log(lab)
    stale = apply(plan, targets(lab), yes=True, backup_path=tmp_path / "stale.json")
    assert stale.outcome == "refused" and "stale" in stale.message and "lockout_threshold is 15" in stale.message
    assert writes(lab) == [] and not (tmp_path / "stale.json").exists()


def test_an_object_lacking_a_value_the_plan_does_not_set_is_refused_not_filled_in(lab: LabServer,
                                                                                   policy_file: Path,
                                                                                   tmp_path: Path) -> None:
    [setting] = lab.state.tenant.group_settings
    setting["values"] = [v for v in setting["values"] if v["name"] != "EnableBannedPasswordCheck"]
    original = stored(lab)
    plan = make(lab, policy_file)
    clear_log(lab)
    result = apply(plan, targets(lab), yes=True, backup_path=tmp_path / "backup.json")
    assert result.outcome == "failed" and "hold no EnableBannedPasswordCheck" in result.message
    assert writes(lab) == [] and stored(lab) == original
    restored = rollback(load_backup(tmp_path / "backup.json"), targets(lab), yes=True)
    assert [o.status for o in restored.objects] == ["unchanged"] and stored(lab) == original
