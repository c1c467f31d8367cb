"""Issue 29, the input boundary outside the policy loader: plans, snapshots, JSON files and the few messages that
named the wrong thing. Each input is refused with one line naming the file (and its line where one applies)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from auditor.files import InputFileError, OutputPathError, check_output_folder, parse_json_bounded
from auditor.remediation.changes import Plan, PlanError, load_plan, save_plan
from auditor.snapshot.store import SnapshotError, load_snapshot, save_snapshot
from tests.unit.cases_cloud import compliant_snapshot

ROOT = Path(__file__).resolve().parents[2]
PLAN = json.loads((ROOT / "tests" / "fixtures" / "bad_policies" / "plan-edited-value.json").read_text())


def sealed_plan(tmp_path: Path, edit: Any = None) -> Path:
    """The corpus plan, edited as someone with write access would, then sealed again (anyone can: the digest)."""
    data = copy.deepcopy(PLAN)
    if edit is not None:
        edit(data)
    path = tmp_path / "plan.json"
    save_plan(Plan.model_validate(data).sealed(), path)
    return path


@pytest.fixture(autouse=True)
def no_plan_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SSPR_PLAN_KEY", raising=False)


def test_the_untouched_plan_loads(tmp_path: Path) -> None:
    assert [c.id for c in load_plan(sealed_plan(tmp_path)).changes] == ["1", "2"]


@pytest.mark.parametrize(("edit", "needle"), [
    (lambda d: d["changes"].append(copy.deepcopy(d["changes"][0])), "change 3 has id '1', not 3"),
    (lambda d: d["changes"].append({**copy.deepcopy(d["changes"][0]), "id": "3"}), "change 3 repeats change 1"),
    (lambda d: d["changes"].insert(1, {**copy.deepcopy(d["changes"][0]), "id": "2"}) or
        d["changes"][2].update(id="3"), "change 2 repeats change 1"),
    (lambda d: d["changes"].reverse(), "change 1 has id '2', not 1"),
])
def test_a_change_duplicated_or_renumbered_and_sealed_again_is_refused(tmp_path: Path, edit: Any,
                                                                       needle: str) -> None:
    path = sealed_plan(tmp_path, edit)
    with pytest.raises(PlanError) as caught:
        load_plan(path)
    message = str(caught.value)
    assert needle in message and message.startswith(f"{path}:") and "\n" not in message
    line = int(message.split(":")[1])
    assert path.read_text().splitlines()[line - 1].strip() == "{"  # the change itself, not 1:1


def test_a_naive_time_in_a_snapshot_is_refused_with_a_message(tmp_path: Path) -> None:
    path = save_snapshot(compliant_snapshot(), tmp_path / "s.json")
    data = json.loads(path.read_text())
    assert data["created_at"].endswith("Z")
    data["created_at"] = data["created_at"].removesuffix("Z")
    path.write_text(json.dumps(data))
    with pytest.raises(SnapshotError, match="created_at: Input should have timezone info"):
        load_snapshot(path)


def test_a_naive_time_in_a_plan_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "plan.json"  # refused while read, before any seal could be checked
    path.write_text(json.dumps({**PLAN, "snapshot_created_at": "2026-01-01T00:00:00"}, indent=2))
    with pytest.raises(PlanError, match=r"snapshot_created_at: Input should have timezone info"):
        load_plan(path)


@pytest.mark.parametrize(("text", "where", "needle"), [
    ('{\n  "format": "x",\n  "n": ' + "7" * 5000 + "\n}", "3:8", "an integer of 5000 digits"),
    ('{\n  "a": [1,\n   -' + "1" * 70 + "]}", "3:4", "an integer of 70 digits"),
    ('{"a":\n\n' + "[" * 300 + "]" * 300 + "}", "3:200", "nested 301 levels deep"),
])
def test_json_refusals_point_at_their_line(text: str, where: str, needle: str) -> None:
    with pytest.raises(InputFileError) as caught:
        parse_json_bounded(text, "f.json", "plan")
    assert str(caught.value).startswith(f"f.json:{where}: ") and needle in str(caught.value)


def test_long_numbers_that_are_text_or_floats_are_not_integers() -> None:
    text = '{"a": "' + "1" * 100 + '", "b": ' + "2" * 100 + ".5}"
    assert parse_json_bounded(text, "f.json", "plan") == {"a": "1" * 100, "b": float("2" * 100 + ".5")}


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be", "utf-32", "utf-32-le", "utf-32-be"])
def test_a_wide_json_file_is_named_for_its_encoding(encoding: str, tmp_path: Path) -> None:
    path = tmp_path / "plan.json"
    path.write_bytes(json.dumps(PLAN).encode(encoding))
    with pytest.raises(PlanError) as caught:
        load_plan(path)
    assert f"{path}:1:1: not UTF-8: the file is {encoding[:6].upper()} (" in str(caught.value)
    snapshot = tmp_path / "snapshot.json"
    snapshot.write_bytes(compliant_snapshot().model_dump_json().encode(encoding))
    with pytest.raises(SnapshotError, match=f"{snapshot}:1:1: not UTF-8: the file is {encoding[:6].upper()}"):
        load_snapshot(snapshot)


def test_a_regular_file_is_called_a_regular_file(tmp_path: Path) -> None:
    regular = tmp_path / "reports"
    regular.write_text("not a folder")
    with pytest.raises(OutputPathError) as caught:
        check_output_folder(regular, stem="sspr-audit")
    assert "a regular file, not a folder" in str(caught.value) and "special" not in str(caught.value)


def test_the_other_lab_refusal_reads_as_a_sentence() -> None:
    from auditor.app.remediate import other_target
    from auditor.endpoints import LabSelection

    plan = Plan.model_validate(PLAN)

    def lab(scenario: str) -> object:
        return plan.source.endpoints.model_copy(update={"lab": LabSelection(scenario=scenario)})

    elsewhere = other_target(plan, lab("baseline"))
    sentence = f"the plan would be written to {elsewhere}: give --other-target if that is meant"  # as cmd_apply says
    assert sentence.startswith("the plan would be written to lab:baseline (the plan was made from lab:demo)")
    assert other_target(plan, lab("demo")) is None


@pytest.mark.parametrize("separator", ["\n", "\r", "\r\n", "\x85", "\u2028", "\u2029", "\x0b", "\x0c"])
def test_a_line_separator_in_tenant_text_stays_inside_the_export_header(separator: str, tmp_path: Path) -> None:
    from auditor.export import export_policy
    from auditor.policy.loader import load_policy

    injected = f"lab:demo{separator}extends: /etc/passwd{separator}sspr: {{}}{separator}"
    result = export_policy(compliant_snapshot().model_copy(update={"origin": injected}), tmp_path / "p.yaml")
    header = result.text.splitlines()[0]
    assert header.startswith("# Exported by sspr-audit") and "extends: /etc/passwd" in header
    shown = f"[U+{ord(separator[-1]):04X}]"
    assert shown in header and separator not in header
    policy = load_policy(result.path)  # loads: no key was injected, the text is inert inside the comment
    assert policy.extends is None and policy.sspr is not None
    assert result.text.count("\nextends:") == 0 and result.issues == []
