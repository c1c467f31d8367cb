"""apply and rollback over an in-memory writer: preflight, stale refusal, backup before the first
write, stop at the first failure, verify by read-back, idempotence, and exact restore."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, ClassVar

import pytest

from auditor.remediation import apply as apply_module
from auditor.remediation.apply import Targets, apply, load_backup, rollback
from auditor.remediation.changes import (
    GraphAuthorizationChange,
    Plan,
    PlanError,
    PlanSource,
    PortalOnPremChange,
    SettingChange,
)
from auditor.remediation.writers.base import Observation, Writer, classify

NOW = "2025-06-01T00:00:00Z"


class MemoryWriter(Writer):
    """Objects are dicts in `store`; `fail_on` names the change id whose write raises."""

    store: ClassVar[dict[str, dict[str, Any]]] = {}
    writes: ClassVar[list[str]] = []
    fail_on: ClassVar[str | None] = None

    def _object(self, change: Any) -> dict[str, Any]:
        return self.store[change.target]

    def observe(self, change: Any) -> Observation:
        obj = self._object(change)
        s = change.settings_list()[0]
        state, detail = classify([(s.name, obj.get(s.name), s.old, s.new)])
        return Observation(state, detail, {"target": change.target, "json": dict(obj)})

    def write(self, change: Any) -> None:
        if change.id == MemoryWriter.fail_on:
            raise RuntimeError("HTTP 500: generalException")
        MemoryWriter.writes.append(change.id)
        s = change.settings_list()[0]
        self._object(change)[s.name] = s.new

    def matches(self, obj: Any) -> bool:
        return self.store[obj.data["target"]] == obj.data["json"]

    def restore(self, obj: Any) -> None:
        self.store[obj.data["target"]] = dict(obj.data["json"])


@pytest.fixture(autouse=True)
def memory(monkeypatch: pytest.MonkeyPatch) -> None:
    MemoryWriter.store = {"A": {"allowed_to_use_sspr": True}, "B": {"unlock_enabled": False},
                          "C": {"writeback_enabled": False}}
    MemoryWriter.writes = []
    MemoryWriter.fail_on = None
    monkeypatch.setattr("auditor.remediation.writers.make_writer", lambda name, session: MemoryWriter(session))


def plan() -> Plan:
    changes = [
        GraphAuthorizationChange(id="1", target="A", summary="a", setting=SettingChange(
            name="allowed_to_use_sspr", old=True, new=False)),
        PortalOnPremChange(id="2", target="B", summary="b", setting=SettingChange(
            name="unlock_enabled", old=False, new=True)),
        PortalOnPremChange(id="3", target="C", summary="c", setting=SettingChange(
            name="writeback_enabled", old=False, new=True)),
    ]
    return Plan(tool_version="t", created_at=NOW, policy_file="p", snapshot_created_at=NOW,
                source=PlanSource(origin="test"), changes=changes).sealed()


def test_dry_run_writes_nothing_and_says_what_would_change(tmp_path: Path) -> None:
    result = apply(plan(), Targets(), backup_path=tmp_path / "b.json")
    assert result.outcome == "dry_run" and [c.status for c in result.changes] == ["pending"] * 3
    assert MemoryWriter.writes == [] and not (tmp_path / "b.json").exists()


def test_stale_plan_is_refused_before_any_write(tmp_path: Path) -> None:
    MemoryWriter.store["C"]["writeback_enabled"] = None  # changed by hand to something else
    result = apply(plan(), Targets(), yes=True, backup_path=tmp_path / "b.json")
    assert result.outcome == "refused" and "stale" in result.message and "change 3" in result.message
    assert MemoryWriter.writes == [] and not (tmp_path / "b.json").exists()


def test_backup_first_stop_at_failure_then_rollback_restores(tmp_path: Path) -> None:
    before = json.dumps(MemoryWriter.store, sort_keys=True)
    MemoryWriter.fail_on = "2"
    result = apply(plan(), Targets(), yes=True, backup_path=tmp_path / "b.json")
    assert result.outcome == "failed" and result.failed_change == "2"
    assert [c.status for c in result.changes] == ["applied", "failed", "not_attempted"]
    assert "HTTP 500" in result.message and "rollback" in result.message
    backup = load_backup(tmp_path / "b.json")
    # one old value per object, written before the first change; `written` marks what rollback restores
    assert [(o.key, o.written) for o in backup.objects] == [
        ("graph:authorizationPolicy", True), ("portal:OnPremisesPasswordResetPolicies", True)]
    restored = rollback(backup, Targets(), yes=True)
    assert restored.outcome == "restored"
    assert json.dumps(MemoryWriter.store, sort_keys=True) == before


def test_twice_changes_nothing_the_second_time(tmp_path: Path) -> None:
    assert apply(plan(), Targets(), yes=True, backup_path=tmp_path / "1.json").outcome == "applied"
    MemoryWriter.writes.clear()
    second = apply(plan(), Targets(), yes=True, backup_path=tmp_path / "2.json")
    assert second.outcome == "nothing_to_do" and MemoryWriter.writes == []
    assert not (tmp_path / "2.json").exists()


def test_an_existing_backup_is_never_overwritten(tmp_path: Path) -> None:
    (tmp_path / "b.json").write_text("keep")
    with pytest.raises(apply_module.ApplyError, match="already exists"):
        apply(plan(), Targets(), yes=True, backup_path=tmp_path / "b.json")
    assert (tmp_path / "b.json").read_text() == "keep" and MemoryWriter.writes == []


def test_a_tampered_plan_is_refused() -> None:
    tampered = plan().model_copy(update={"changes": plan().changes[:1]})
    with pytest.raises(PlanError, match="digest"):
        apply(tampered, Targets(), yes=True)
