"""apply and rollback over an in-memory writer: preflight, stale refusal, backup before the first
write, stop at the first failure, verify by read-back, idempotence, exact restore; a change the
derivation does not hold is never written; rollback leaves what changed since apply; seals and MACs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, ClassVar

import pytest

from auditor.remediation import apply as apply_module
from auditor.remediation.apply import Targets, load_backup, rollback
from auditor.remediation.apply import apply as apply_derived
from auditor.remediation.changes import (
    GraphAuthorizationChange,
    GraphMethodsPolicyChange,
    Plan,
    PlanError,
    PlanSource,
    PortalOnPremChange,
    SettingChange,
)
from auditor.remediation.derivation import Derivation, change_identity
from auditor.remediation.writers.base import Observation, Writer, classify

NOW = "2025-06-01T00:00:00Z"


class MemoryWriter(Writer):
    """Objects are dicts in `store`; `fail_on` names the change id whose write raises."""

    store: ClassVar[dict[str, dict[str, Any]]] = {}
    writes: ClassVar[list[str]] = []
    fail_on: ClassVar[str | None] = None

    @staticmethod
    def identity(change: Any) -> dict[str, str]:
        return {"target": change.target}

    def _object(self, change: Any) -> dict[str, Any]:
        return self.store[change.target]

    def read(self, change: Any) -> dict[str, Any]:
        return {"target": change.target, "json": dict(self._object(change))}

    @staticmethod
    def state_of(change: Any, data: dict[str, Any]) -> Observation:
        s = change.settings_list()[0]
        state, detail = classify([(s.name, data["json"].get(s.name), s.old, s.new)])
        return Observation(state, detail, data)

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
    monkeypatch.setattr("auditor.remediation.writers.writer_class", lambda name: MemoryWriter)


def plan() -> Plan:
    changes = [
        GraphAuthorizationChange(id="1", target="A", summary="a", setting=SettingChange(
            name="allowed_to_use_sspr", old=True, new=False)),
        PortalOnPremChange(id="2", target="B", summary="b", setting=SettingChange(
            name="unlock_enabled", old=False, new=True)),
        GraphMethodsPolicyChange(id="3", target="C", summary="c", setting=SettingChange(
            name="writeback_enabled", old=False, new=True)),  # one object per change: the memory store is per target
    ]
    return Plan(tool_version="t", created_at=NOW, policy_file="p", snapshot_created_at=NOW,
                source=PlanSource(origin="test"), changes=changes).sealed()


def derivation(changes: list[Any]) -> Derivation:
    return Derivation(changes={change_identity(c): c for c in changes}, basis="test")


def apply(plan: Plan, targets: Targets, **kwargs: Any) -> Any:
    """apply with the plan's own changes as the derivation (what a re-derivation gives on an untouched plan)."""
    return apply_derived(plan, targets, derived=derivation(list(plan.changes)), **kwargs)


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
        ("graph:authorizationPolicy", True), ("portal:OnPremisesPasswordResetPolicies", True),
        ("graph:authenticationMethodsPolicy", False)]
    assert backup.objects[0].after == {"target": "A", "json": {"allowed_to_use_sspr": False}}
    assert backup.objects[1].after is None  # its write failed: no state after
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


def test_a_change_the_derivation_does_not_hold_is_refused_with_nothing_written(tmp_path: Path) -> None:
    honest = plan()
    edited = honest.changes[2].model_copy(update={"setting": SettingChange(name="writeback_enabled", old=False,
                                                                            new="evil")})
    tampered = honest.model_copy(update={"changes": [*honest.changes[:2], edited]}).sealed()  # digest recomputed
    result = apply_derived(tampered, Targets(), derived=derivation(list(honest.changes)), yes=True,
                           backup_path=tmp_path / "b.json")
    assert result.outcome == "refused" and "not what the policy asks for now" in result.message
    assert [c.status for c in result.changes] == ["pending", "pending", "not_derived"]
    assert MemoryWriter.writes == [] and not (tmp_path / "b.json").exists()


def test_a_changed_summary_is_not_the_derived_change() -> None:
    honest = plan()
    relabelled = honest.model_copy(update={"changes": [honest.changes[0].model_copy(update={"summary": "harmless"}),
                                                       *honest.changes[1:]]}).sealed()
    result = apply_derived(relabelled, Targets(), derived=derivation(list(honest.changes)), yes=True)
    assert result.outcome == "refused" and result.changes[0].status == "not_derived"


def test_what_is_written_is_the_derived_change_at_the_file_position(tmp_path: Path) -> None:
    honest = plan()
    result = apply_derived(honest.model_copy(update={"changes": honest.changes[1:]}).sealed(), Targets(),
                           derived=derivation(list(honest.changes)), yes=True, backup_path=tmp_path / "b.json")
    assert result.outcome == "applied" and MemoryWriter.writes == ["2", "3"]
    assert MemoryWriter.store["A"] == {"allowed_to_use_sspr": True}


def test_rollback_leaves_an_object_changed_since_apply_unless_forced(tmp_path: Path) -> None:
    assert apply(plan(), Targets(), yes=True, backup_path=tmp_path / "b.json").outcome == "applied"
    MemoryWriter.store["B"]["unlock_enabled"] = "someone else"  # a later change by another admin
    MemoryWriter.store["B"]["note"] = "theirs"
    result = rollback(load_backup(tmp_path / "b.json"), Targets(), yes=True)
    by_target = {r.target: r for r in result.objects}
    assert result.outcome == "partial" and by_target["B"].status == "changed"
    assert "json.note" in (by_target["B"].detail or "") and "--force" in (by_target["B"].detail or "")
    assert MemoryWriter.store["B"]["unlock_enabled"] == "someone else"
    assert by_target["A"].status == by_target["C"].status == "restored"
    forced = rollback(load_backup(tmp_path / "b.json"), Targets(), yes=True, force=True)
    assert forced.outcome == "restored" and MemoryWriter.store["B"] == {"unlock_enabled": False}


def test_an_edited_backup_is_refused(tmp_path: Path) -> None:
    apply(plan(), Targets(), yes=True, backup_path=tmp_path / "b.json")
    text = (tmp_path / "b.json").read_text()
    (tmp_path / "b.json").write_text(text.replace('"allowed_to_use_sspr": true', '"allowed_to_use_sspr": "x"', 1))
    with pytest.raises(PlanError, match="edited after it was written"):
        load_backup(tmp_path / "b.json")


def test_a_backup_object_moved_to_another_target_is_refused_even_with_its_digest_recomputed(tmp_path: Path) -> None:
    apply(plan(), Targets(), yes=True, backup_path=tmp_path / "b.json")
    backup = load_backup(tmp_path / "b.json")
    moved = backup.objects[0].model_copy(update={"data": {**backup.objects[0].data, "target": "Z"}})
    apply_module.save_backup(backup.model_copy(update={"objects": [moved, *backup.objects[1:]]}),
                             tmp_path / "moved.json")
    with pytest.raises(PlanError, match="names target 'Z'"):
        load_backup(tmp_path / "moved.json")


KEY = "apply-test-key-8f1c4e7a2d95b3060c7e1f4a"


def test_with_a_key_plans_and_backups_are_signed_and_an_unsigned_or_resigned_one_is_refused(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from auditor.remediation.changes import load_plan, save_plan

    unsigned = plan()
    save_plan(unsigned, tmp_path / "unsigned.json")
    monkeypatch.setenv("SSPR_PLAN_KEY", KEY)
    with pytest.raises(PlanError, match="not signed"):
        load_plan(tmp_path / "unsigned.json")
    signed = plan()
    assert signed.mac and signed.mac.startswith("hmac-sha256:")
    save_plan(signed, tmp_path / "signed.json")
    assert load_plan(tmp_path / "signed.json") == signed
    monkeypatch.setenv("SSPR_PLAN_KEY", "attacker-key-3b7e0a9d51c6f28e4a0b9d7c")  # an attacker re-signs
    with pytest.raises(PlanError, match="signature does not match"):
        load_plan(tmp_path / "signed.json")
    monkeypatch.delenv("SSPR_PLAN_KEY")
    with pytest.raises(PlanError, match="is signed: set SSPR_PLAN_KEY"):
        load_plan(tmp_path / "signed.json")
    monkeypatch.setenv("SSPR_PLAN_KEY", KEY)
    apply(signed, Targets(), yes=True, backup_path=tmp_path / "b.json")
    assert load_backup(tmp_path / "b.json").mac
    monkeypatch.setenv("SSPR_PLAN_KEY", "short")
    from auditor.remediation.seal import SealError

    with pytest.raises(SealError, match="at least 32"):
        plan()


def _resealed(path: Path, edit: Any) -> None:
    """Edit the backup as someone with write access would, then recompute its digest (anyone can)."""
    from auditor.remediation.seal import digest_of

    backup = apply_module.Backup.model_validate_json(path.read_text())
    edited = apply_module.Backup.model_validate(edit(backup.model_dump(mode="json")))
    path.write_text(edited.model_copy(update={"digest": digest_of(edited)}).model_dump_json())


def test_the_journal_records_intent_and_result_and_rollback_folds_it(tmp_path: Path) -> None:
    MemoryWriter.fail_on = "2"
    apply(plan(), Targets(), yes=True, backup_path=tmp_path / "b.json")
    raw = json.loads((tmp_path / "b.json").read_text())
    assert raw["format_version"] == 4 and not any(o["written"] for o in raw["objects"])
    assert [(e["event"], e["change"], e["ok"]) for e in raw["journal"]] == [
        ("intent", "1", None), ("result", "1", True), ("intent", "2", None), ("result", "2", False)]
    assert raw["journal"][0]["prior"] == {"target": "A", "json": {"allowed_to_use_sspr": True}}
    assert "HTTP 500" in raw["journal"][3]["detail"]
    objects = load_backup(tmp_path / "b.json").objects
    assert [(o.written, o.unfinished) for o in objects] == [(True, None), (True, "2"), (False, None)]


def test_a_journal_record_for_a_change_the_backup_does_not_hold_is_refused(tmp_path: Path) -> None:
    apply(plan(), Targets(), yes=True, backup_path=tmp_path / "b.json")

    def retarget(data: dict[str, Any]) -> dict[str, Any]:
        data["journal"][0]["change"] = "99"
        return data

    _resealed(tmp_path / "b.json", retarget)
    with pytest.raises(PlanError, match=r"journal record 1 .*no change of the apply has this id.*cannot be trusted"):
        load_backup(tmp_path / "b.json")


def test_a_result_without_its_intent_is_refused(tmp_path: Path) -> None:
    apply(plan(), Targets(), yes=True, backup_path=tmp_path / "b.json")

    def drop_intent(data: dict[str, Any]) -> dict[str, Any]:
        data["journal"] = data["journal"][1:]
        return data

    _resealed(tmp_path / "b.json", drop_intent)
    with pytest.raises(PlanError, match="no intent of this change precedes it"):
        load_backup(tmp_path / "b.json")


def test_a_version_3_backup_that_marks_objects_written_itself_is_refused(tmp_path: Path) -> None:
    apply(plan(), Targets(), yes=True, backup_path=tmp_path / "b.json")

    def mark(data: dict[str, Any]) -> dict[str, Any]:
        data["journal"] = []
        data["objects"][2]["written"] = True
        return data

    _resealed(tmp_path / "b.json", mark)
    with pytest.raises(PlanError, match="keeps what apply wrote in its journal"):
        load_backup(tmp_path / "b.json")


def test_before_writes_is_told_only_when_apply_will_write_and_before_its_backup(tmp_path: Path) -> None:
    """The kept lab's `WRITTEN` mark hangs on this (stop 39): a dry run, a stale plan, a change the derivation does
    not hold and nothing to do never call it; an apply that writes calls it once, before the backup exists."""
    calls: list[bool] = []
    backup = tmp_path / "b.json"

    def told() -> None:
        calls.append(backup.exists() or bool(MemoryWriter.writes))

    assert apply(plan(), Targets(), backup_path=backup, before_writes=told).outcome == "dry_run"
    unheld = apply_derived(plan(), Targets(), derived=derivation(list(plan().changes)[:2]), yes=True,
                           backup_path=backup, before_writes=told)
    assert unheld.outcome == "refused" and calls == []
    MemoryWriter.store["C"]["writeback_enabled"] = None
    assert apply(plan(), Targets(), yes=True, backup_path=backup, before_writes=told).outcome == "refused"
    MemoryWriter.store["C"]["writeback_enabled"] = False
    assert calls == [] and not backup.exists()
    assert apply(plan(), Targets(), yes=True, backup_path=backup, before_writes=told).outcome == "applied"
    assert calls == [False]  # once, with no backup and no write yet
    again = tmp_path / "again.json"
    assert apply(plan(), Targets(), yes=True, backup_path=again, before_writes=told).outcome == "nothing_to_do"
    assert calls == [False]
