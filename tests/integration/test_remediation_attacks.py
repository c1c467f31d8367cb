"""Remediation attacked through its files, against the lab emulator with the real clients (issue 14).

Each case edits a plan or backup as someone with write access to it would (recomputing the digest,
which anyone can), runs the CLI, and checks the exit code, the message and, from the emulators'
request logs and state, that nothing was written.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from auditor.app.remediate import target_lock
from auditor.cli import main
from auditor.exit_codes import Exit
from auditor.lab.server import LabServer
from auditor.remediation.apply import Backup, save_backup
from auditor.remediation.changes import Plan, save_plan
from auditor.remediation.seal import digest_of
from tests.helpers.fault_matrix import record_outcome

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def matrix_row(request: pytest.FixtureRequest) -> Iterator[None]:
    """Each case is a row of the fault matrix printed at the end of the run."""
    yield
    record_outcome(request, "attack")
KEY = "plan-test-key-5e2a9c71d4b08f36a1e7c2d9"
WRITES = {"PUT", "PATCH", "POST", "DELETE"}


@pytest.fixture(name="lab")
def lab_fixture() -> Iterator[LabServer]:
    with LabServer("demo") as server:
        yield server


@pytest.fixture(name="other")
def other_fixture() -> Iterator[LabServer]:
    with LabServer("demo") as server:
        yield server


@pytest.fixture(autouse=True)
def own_locks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SSPR_LOCK_DIR", str(tmp_path / "locks"))
    monkeypatch.delenv("SSPR_PLAN_KEY", raising=False)


def source(lab: LabServer) -> list[str]:
    return ["--graph-url", lab.graph_url, "--portal", "--portal-url", lab.portal_url, "--portal-auth", "lab"]


def writes(lab: LabServer) -> list[tuple[str, str]]:
    time.sleep(0.05)  # the emulator logs a request just after answering it
    return [(r.method, r.path) for r in lab.requests() if r.method in WRITES]


def make_plan(lab: LabServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    policy = tmp_path / "policy.yaml"
    shutil.copy(ROOT / "policies" / "baseline.yaml", policy)
    out = tmp_path / "plan.json"
    assert main(["plan", str(policy), *source(lab), "--out", str(out)]) == 4
    capsys.readouterr()
    lab.state.clear_log()
    return out


def edit_plan(path: Path, edit: Any) -> None:
    """Change the plan as an attacker would, then recompute its digest (and MAC, with the key in env)."""
    data = json.loads(path.read_text())
    edit(data)
    save_plan(Plan.model_validate(data).sealed(), path)


def test_a_new_value_edited_with_the_digest_recomputed_is_refused(lab: LabServer, tmp_path: Path,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    plan = make_plan(lab, tmp_path, capsys)

    def scope_none(data: dict[str, Any]) -> None:
        change = next(c for c in data["changes"] if c["kind"] == "portal.sspr_policy")
        change["settings"] = [{"name": "enablement", "old": change["settings"][0]["old"], "new": "none"}]

    edit_plan(plan, scope_none)
    assert main(["apply", str(plan), "--yes", "--backup", str(tmp_path / "b.json")]) == Exit.refused
    captured = capsys.readouterr()
    assert "NOT_DERIVED" in captured.out and "not what the policy asks for now" in captured.err
    assert writes(lab) == [] and not (tmp_path / "b.json").exists()


def test_a_harmless_summary_on_a_real_change_is_refused(lab: LabServer, tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    plan = make_plan(lab, tmp_path, capsys)

    def relabel(data: dict[str, Any]) -> None:
        data["changes"][0]["summary"] = "refresh a cache"

    edit_plan(plan, relabel)
    assert main(["apply", str(plan), "--yes", "--backup", str(tmp_path / "b.json")]) == Exit.refused
    assert writes(lab) == []


def test_endpoints_edited_to_another_tenant_are_refused(lab: LabServer, other: LabServer, tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    plan = make_plan(lab, tmp_path, capsys)

    def elsewhere(data: dict[str, Any]) -> None:
        data["source"]["endpoints"].update(graph_url=other.graph_url, portal_url=other.portal_url)

    edit_plan(plan, elsewhere)
    other.state.clear_log()
    assert main(["apply", str(plan), "--yes"]) == Exit.refused
    captured = capsys.readouterr()
    assert f"writing to: Graph {other.graph_url}" in captured.out  # shown, in the dry run as here
    assert "--other-target" in captured.err and lab.graph_url in captured.err
    assert writes(lab) == [] and writes(other) == []


def test_with_a_key_an_edit_of_origin_endpoints_or_policy_path_is_refused(
        lab: LabServer, other: LabServer, tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SSPR_PLAN_KEY", KEY)
    plan = make_plan(lab, tmp_path, capsys)
    signed = plan.read_text()
    monkeypatch.delenv("SSPR_PLAN_KEY")  # the attacker does not have the key: edits recompute the digest only

    def everything_elsewhere(data: dict[str, Any]) -> None:
        data["source"].update(origin=f"graph:{other.graph_url}")
        data["source"]["endpoints"].update(graph_url=other.graph_url, portal_url=other.portal_url)
        data["mac"] = None

    edit_plan(plan, everything_elsewhere)
    monkeypatch.setenv("SSPR_PLAN_KEY", KEY)
    other.state.clear_log()
    assert main(["apply", str(plan), "--yes"]) == 2
    assert "not signed" in capsys.readouterr().err
    data = json.loads(signed)
    data["source"].update(origin=f"graph:{other.graph_url}")
    data["source"]["endpoints"].update(graph_url=other.graph_url)
    data["digest"] = digest_of(Plan.model_validate(data))
    plan.write_text(json.dumps(data))  # the digest recomputed, the signature kept
    assert main(["apply", str(plan), "--yes"]) == 2
    assert "signature does not match" in capsys.readouterr().err
    assert writes(lab) == [] and writes(other) == []
    data = json.loads(signed)
    data["mac"] = "hmac-sha256:é" + data["mac"][13:]  # not ASCII: compare_digest on two str raises TypeError
    plan.write_text(json.dumps(data))
    assert main(["apply", str(plan), "--yes"]) == 2
    assert "signature does not match" in capsys.readouterr().err
    plan.write_text(signed)
    assert main(["apply", str(plan), "--yes", "--backup", str(tmp_path / "b.json")]) == 0
    out = capsys.readouterr().out
    assert "signed and verified with SSPR_PLAN_KEY" in out and "applied" in out
    assert Backup.model_validate_json((tmp_path / "b.json").read_text()).mac


def test_a_policy_changed_since_the_plan_is_refused(lab: LabServer, tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    plan = make_plan(lab, tmp_path, capsys)
    policy = tmp_path / "policy.yaml"
    policy.write_text(policy.read_text().replace("methods_required: 2", "methods_required: 1"))
    assert main(["apply", str(plan), "--yes"]) == Exit.refused
    assert "is not the policy the plan was made from" in capsys.readouterr().err
    assert writes(lab) == []
    moved = tmp_path / "moved.yaml"
    shutil.copy(ROOT / "policies" / "baseline.yaml", moved)
    assert main(["apply", str(plan), "--policy", str(moved)]) == 0  # the same bytes elsewhere: accepted
    assert "dry run" in capsys.readouterr().out


def test_rollback_leaves_a_later_change_and_says_so(lab: LabServer, tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    plan = make_plan(lab, tmp_path, capsys)
    backup = tmp_path / "b.json"
    assert main(["apply", str(plan), "--yes", "--backup", str(backup)]) == 0
    capsys.readouterr()
    url = f"{lab.portal_url}/PasswordReset/PasswordResetPolicies"
    body = httpx.get(url, headers={"Authorization": "Bearer x"}).json()
    body["customizeHelpdeskLink"] = not body.get("customizeHelpdeskLink")  # another admin, after the apply
    assert httpx.put(url, json=body, headers={"Authorization": "Bearer x"}).status_code == 200
    assert main(["rollback", str(backup), "--yes"]) == Exit.partial
    captured = capsys.readouterr()
    assert "CHANGED" in captured.out and "json.customizeHelpdeskLink" in captured.out
    assert "left as they are" in captured.err
    later = httpx.get(url, headers={"Authorization": "Bearer x"}).json()
    assert later["customizeHelpdeskLink"] == body["customizeHelpdeskLink"]  # kept
    assert main(["rollback", str(backup), "--yes", "--force"]) == 0
    restored = httpx.get(url, headers={"Authorization": "Bearer x"}).json()
    assert restored["customizeHelpdeskLink"] != body["customizeHelpdeskLink"]


def test_an_edited_backup_is_refused_and_nothing_is_restored(lab: LabServer, tmp_path: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    plan = make_plan(lab, tmp_path, capsys)
    backup = tmp_path / "b.json"
    assert main(["apply", str(plan), "--yes", "--backup", str(backup)]) == 0
    lab.state.clear_log()
    data = json.loads(backup.read_text())
    sspr = next(o for o in data["objects"] if o["key"] == "portal:PasswordResetPolicies")
    sspr["data"]["json"]["enablementType"] = 0  # "restore" SSPR to off for everyone
    save_backup(Backup.model_validate(data), tmp_path / "edited.json")  # digest recomputed
    assert main(["rollback", str(tmp_path / "edited.json"), "--yes"]) == 2
    assert "does not hold the old value" in capsys.readouterr().err
    assert writes(lab) == []


def test_two_applies_at_once_the_second_is_refused(lab: LabServer, tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    plan = make_plan(lab, tmp_path, capsys)
    with target_lock([f"graph {lab.graph_url}"]):  # a first apply holding the tenant
        assert main(["apply", str(plan), "--yes", "--backup", str(tmp_path / "b.json")]) == Exit.refused
    assert "another apply or rollback is writing to graph" in capsys.readouterr().err
    assert writes(lab) == [] and not (tmp_path / "b.json").exists()
    assert main(["apply", str(plan), "--yes", "--backup", str(tmp_path / "b.json")]) == 0  # released


def test_out_may_not_be_an_input_or_a_device(lab: LabServer, tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    policy = tmp_path / "policy.yaml"
    shutil.copy(ROOT / "policies" / "baseline.yaml", policy)
    before = policy.read_bytes()
    assert main(["plan", str(policy), *source(lab), "--out", str(tmp_path / "p.json"),
                 "--powershell", str(policy)]) == 2
    assert "an input of this run" in capsys.readouterr().err and policy.read_bytes() == before
    assert main(["plan", str(policy), *source(lab), "--out", str(tmp_path / "x"),
                 "--powershell", str(tmp_path / "x")]) == 2
    assert not (tmp_path / "x").exists()
    for command in (["plan", str(policy), *source(lab)], ["export", *source(lab)], ["collect", *source(lab)]):
        assert main([*command, "--out", "/dev/null"]) == 2, command
        assert "a character device, not a file" in capsys.readouterr().err
    assert main(["collect", *source(lab), "--out", str(tmp_path)]) == 2
    assert "a directory" in capsys.readouterr().err
    assert main(["check", str(policy), *source(lab), "--out", str(policy)]) == 2
    assert "not a folder" in capsys.readouterr().err and policy.read_bytes() == before
