"""The device reader with the real msgraph-sdk client against the lab emulator over HTTP (GET /devices with
registeredOwners expanded), Microsoft's own doc examples served as they were published, the collect path that
reads devices only when the policy asks for a device grant, the snapshot seal over the new section, and the
plan's impact preview counted from the demo tenant's devices."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from auditor.app.audit import ExitPolicy, audit, coverage_options
from auditor.app.snapshot_trust import load_trusted_snapshot, sealed_snapshot
from auditor.endpoints import Endpoints
from auditor.lab.emulator import Paging
from auditor.lab.scenario import load_scenario
from auditor.lab.server import LabServer
from auditor.policy.loader import load_policy
from auditor.readers.collect import CollectOptions, collect
from auditor.readers.devices import read_devices
from auditor.readers.reach import Reached
from auditor.remediation.changes import GraphCaPolicyChange
from auditor.remediation.planner import make_plan
from auditor.snapshot.models import Snapshot
from auditor.snapshot.store import SnapshotError, save_snapshot
from tests.integration.test_conditional_access_lab import read
from tests.integration.test_password_rules_lab import credential

ROOT = Path(__file__).resolve().parents[2]
REAL = ROOT / "tests" / "fixtures" / "real" / "graph"
DEVICE_POLICY = """\
sspr:
  scope: all
  methods_required: 1
  methods: {email: true}
  registration:
    conditional_access:
      require: compliant_or_joined_device
      break_glass: [breakglass01@fabrikam-lab.onmicrosoft.com]
"""


def served(devices: list[dict[str, object]]) -> LabServer:
    return LabServer(load_scenario("baseline").model_copy(update={"devices": devices}))


def test_the_demo_devices_are_read_with_their_owners_through_the_sdk() -> None:
    with LabServer("demo", paging=Paging(cap=2)) as lab:  # three pages
        section = read(lab, read_devices)
        upn = {u["id"]: u["userPrincipalName"] for u in lab.state.tenant.users}
        queries = [r.query for r in lab.requests() if r.path == "/v1.0/devices"]
    assert section.readable, section.error
    rows = {d.name: d for d in section.value.devices}
    assert len(rows) == 6 and len(queries) == 3
    assert "$expand=registeredOwners" in queries[0]
    assert [upn[o] for o in rows["FAB-LT-001"].owners] == ["ann.lee@corp.example.test"]
    assert rows["FAB-LT-001"].compliant is True and rows["FAB-LT-001"].missing == ()
    assert rows["FAB-PC-105"].owners == () and rows["FAB-PC-105"].hybrid_joined is True
    assert rows["FAB-PC-105"].compliant is None and rows["FAB-PC-105"].missing == ()  # null: not marked compliant
    assert rows["FAB-PH-006"].missing == ("isCompliant absent",)


def test_microsofts_list_example_has_no_id_and_fails_the_section_naming_it() -> None:
    body = json.loads((REAL / "device-list.json").read_text())
    with served(body["value"]) as lab:
        section = read(lab, read_devices)
    assert not section.readable and "`id` absent in 1 of 1 devices" in (section.error or "")


def test_microsofts_get_example_is_one_unknown_device_naming_what_it_lacks() -> None:
    body = json.loads((REAL / "device-get.json").read_text())
    with served([body]) as lab:
        section = read(lab, read_devices)
    [row] = section.value.devices
    assert row.id == "000005c3-b7a6-4c61-89fc-80bf5ccfc366" and row.enabled is False and row.owners == ()
    assert row.missing == ("isCompliant absent", "trustType absent")


def collected(lab: LabServer, policy_file: Path) -> Snapshot:
    options = coverage_options(load_policy(policy_file)).collect_options()
    return collect(CollectOptions(Reached(Endpoints(graph_url=lab.graph_url), origin="lab:demo",
                                          graph_credential=credential()), **options))


@pytest.fixture(name="device_policy")
def device_policy_fixture(tmp_path: Path) -> Path:
    path = tmp_path / "devices.yaml"
    path.write_text(DEVICE_POLICY)
    return path


def test_devices_are_read_only_when_the_policy_asks_for_a_device_grant(device_policy: Path) -> None:
    with LabServer("demo") as lab:
        assert collected(lab, ROOT / "policies" / "baseline.yaml").devices is None  # require: mfa
        assert not any(r.path == "/v1.0/devices" for r in lab.requests())
        snapshot = collected(lab, device_policy)
    assert snapshot.devices is not None and snapshot.devices.readable


def test_the_seal_covers_the_devices(device_policy: Path, tmp_path: Path) -> None:
    with LabServer("demo") as lab:
        snapshot = sealed_snapshot(collected(lab, device_policy))
    path = tmp_path / "snapshot.json"
    save_snapshot(snapshot, path)
    assert load_trusted_snapshot(path, None).devices == snapshot.devices
    data = json.loads(path.read_text())
    [row] = [d for d in data["devices"]["value"]["devices"] if d[1] == "FAB-LT-002"]
    row[3] = True  # ben.singh's laptop made compliant
    path.write_text(json.dumps(data))
    with pytest.raises(SnapshotError, match="refused"):
        load_trusted_snapshot(path, None)


def test_the_plan_preview_counts_who_owns_no_compliant_or_joined_device(device_policy: Path) -> None:
    with LabServer("demo") as lab:
        lab.state.tenant.conditional_access_policies.clear()  # nothing covers registration: the plan creates it
        snapshot = collected(lab, device_policy)
    policy = load_policy(device_policy)
    plan = make_plan(policy, snapshot, audit(policy, snapshot, ExitPolicy()).findings)
    [change] = [c for c in plan.changes if isinstance(c, GraphCaPolicyChange)]
    [impact] = [i for i in plan.impact if i.change_id == change.id]
    owners = {"ann.lee@corp.example.test", "dev.rossi@corp.example.test"}  # their compliant laptops
    assert not owners & set(impact.blocked)
    assert "ben.singh@corp.example.test" in impact.blocked  # a laptop that is not compliant
    assert "cara.zeller@corp.example.test" in impact.blocked  # a compliant phone, disabled
    assert impact.counts["unknown"] == 1  # eli.young: the phone's compliance was not sent
    covered = impact.in_scope_after
    assert impact.counts["blocked"] == covered - 3
    assert any("1 with no registered owner" in n for n in impact.not_judged)  # the hybrid-joined desktop
    assert any("1 with isCompliant absent" in n for n in impact.not_judged)
