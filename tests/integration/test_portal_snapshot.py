"""Issue 15: an app-only pipeline takes the portal's SSPR settings from an admin's snapshot, never stale silently.

Against the lab emulator through the real clients: `collect --portal-only` (delegated, as an admin runs it)
then `check` without the portal (app-only) plus `--portal-snapshot` gives the delegated run's verdicts;
a snapshot older than `sources.portal.max_age_days`, or followed by an SSPR settings change in the directory
audit log, makes exactly the checks that read the portal sections `unknown`, with the reason.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from auditor.checks.registry import all_checks
from auditor.lab.server import LabServer
from tests.helpers.fault_matrix import run_cli

ROOT = Path(__file__).resolve().parents[2]
PORTAL = {"sspr_policy", "onprem_writeback"}


@pytest.fixture(name="lab")
def lab_fixture() -> Iterator[LabServer]:
    with LabServer("demo") as server:
        yield server


def policy_file(tmp_path: Path, max_age_days: int | None = None) -> Path:
    yaml = YAML(typ="rt")
    document = yaml.load((ROOT / "policies" / "baseline.yaml").read_text())
    del document["directory"]  # the cloud checks: no DC needed
    if max_age_days is not None:
        document["sources"] = {"portal": {"max_age_days": max_age_days}}
    path = tmp_path / f"policy-{max_age_days}.yaml"
    with path.open("w") as handle:
        yaml.dump(document, handle)
    return path


def graph(lab: LabServer) -> list[str]:
    return ["--graph-url", lab.graph_url, "--auth", "lab", "--progress", "never"]


def portal(lab: LabServer) -> list[str]:
    return ["--portal", "--portal-url", lab.portal_url, "--portal-auth", "lab"]


def verdicts(lab: LabServer, policy: Path, out: Path, *extra: str) -> dict[tuple[str, str], dict[str, Any]]:
    run = run_cli("check", str(policy), *graph(lab), *extra, "--out", str(out), "--format", "json")
    assert run.code in (1, 3), run.stdout + run.stderr
    report = json.loads((out / "sspr-audit.json").read_text())
    return {(f["check"], f["target"]): f for f in report["findings"]}


Run = dict[tuple[str, str], dict[str, Any]]


def moved(one: Run, other: Run) -> list[dict[str, Any]]:
    """The findings of `other` that `one` does not have with the same status."""
    return [f for key, f in other.items() if key not in one or one[key]["status"] != f["status"]]


def changed_checks(one: Run, other: Run) -> set[str]:
    """The checks whose findings (targets and statuses) differ between two runs."""
    def by_check(run: dict[tuple[str, str], dict[str, Any]]) -> dict[str, list[tuple[str, str]]]:
        out: dict[str, list[tuple[str, str]]] = {}
        for (check, target), finding in run.items():
            out.setdefault(check, []).append((target, finding["status"]))
        return {check: sorted(items) for check, items in out.items()}

    a, b = by_check(one), by_check(other)
    return {check for check in set(a) | set(b) if a.get(check) != b.get(check)}


def portal_checks() -> set[str]:
    return {c.spec.id for c in all_checks() if PORTAL & set(c.spec.sections)}


def take_snapshot(lab: LabServer, tmp_path: Path, taken: datetime | None = None) -> Path:
    path = tmp_path / "portal.json"
    run = run_cli("collect", *graph(lab), *portal(lab), "--portal-only", "--out", str(path))
    assert run.code == 0, run.stdout + run.stderr
    if taken is not None:  # an older snapshot, as a pipeline finds the artifact days later
        data = json.loads(path.read_text())
        data["created_at"] = taken.isoformat().replace("+00:00", "Z")
        path.write_text(resealed(data))
    return path


def resealed(data: dict[str, Any]) -> str:
    """`data` with its digest recomputed (and its MAC, when SSPR_PLAN_KEY is set), as a file written then."""
    from auditor.remediation.seal import seal
    from auditor.snapshot.models import Snapshot

    return seal(Snapshot.model_validate(data)).model_dump_json()


def test_portal_only_holds_the_portal_sections_and_who_read_them(lab: LabServer, tmp_path: Path) -> None:
    data = json.loads(take_snapshot(lab, tmp_path).read_text())
    present = {k for k, v in data.items() if isinstance(v, dict) and "source" in v}
    assert present == PORTAL and data["collected_by"] and "@" in data["collected_by"]
    assert all(data[name]["error"] is None for name in PORTAL)


def test_an_app_only_check_with_a_fresh_snapshot_gives_the_delegated_verdicts(lab: LabServer, tmp_path: Path) -> None:
    policy = policy_file(tmp_path)
    snapshot = take_snapshot(lab, tmp_path)
    delegated = verdicts(lab, policy, tmp_path / "delegated", *portal(lab))
    app_only = verdicts(lab, policy, tmp_path / "app", "--portal-snapshot", str(snapshot))
    without = verdicts(lab, policy, tmp_path / "without")  # the portal not read at all: what the issue found
    assert {k: f["status"] for k, f in app_only.items()} == {k: f["status"] for k, f in delegated.items()}
    assert any(f["status"] == "unknown" for k, f in without.items() if k[0] in portal_checks())
    gates = app_only[("sspr.gates", "tenant")]
    source = gates["evidence"][0]["source"]
    assert "portal snapshot portal.json of" in source and "old" in source, source


def test_a_snapshot_older_than_the_policy_allows_makes_exactly_the_portal_checks_unknown(
        lab: LabServer, tmp_path: Path) -> None:
    policy = policy_file(tmp_path, max_age_days=1)
    fresh = verdicts(lab, policy, tmp_path / "fresh", "--portal-snapshot", str(take_snapshot(lab, tmp_path)))
    old = take_snapshot(lab, tmp_path, datetime.now(UTC) - timedelta(days=3))
    stale = verdicts(lab, policy, tmp_path / "stale", "--portal-snapshot", str(old))
    changed = changed_checks(fresh, stale)
    assert changed and changed <= portal_checks()
    for finding in moved(fresh, stale):
        assert finding["status"] == "unknown", finding
        assert "day(s) old" in finding["reason"] and "older than the 1 day(s) the policy allows" in finding["reason"]
    untouched = {k for k in fresh if k[0] not in portal_checks()}
    assert {k: stale[k]["status"] for k in untouched} == {k: fresh[k]["status"] for k in untouched}


def test_a_settings_change_in_the_audit_log_after_the_snapshot_makes_the_portal_checks_unknown(
        lab: LabServer, tmp_path: Path) -> None:
    policy = policy_file(tmp_path)
    taken = datetime.now(UTC) - timedelta(hours=1)
    snapshot = take_snapshot(lab, tmp_path, taken)
    before = verdicts(lab, policy, tmp_path / "before", "--portal-snapshot", str(snapshot))
    # the emulator serves history as if the scenario's `as_of` were now: 30 minutes before it is 30 minutes ago
    at = (lab.state.tenant.as_of - timedelta(minutes=30)).strftime("%Y-%m-%dT%H:%M:%SZ")
    lab.state.tenant.directory_audits.append({
        "id": "SSPR_policy_change_1", "category": "Policy", "correlationId": "c0ffee", "result": "success",
        "resultReason": "", "activityDisplayName": "Update SSPR policy (lab event)", "activityDateTime": at,
        "loggedByService": "Self-service Password Management", "operationType": "Update",
        "initiatedBy": {"app": None, "user": {"userPrincipalName": "eve@contoso.example", "id": "e1"}},
        "targetResources": [], "additionalDetails": []})
    lab.state.encoded.clear()
    lab.state.kept.clear()
    after = verdicts(lab, policy, tmp_path / "after", "--portal-snapshot", str(snapshot))
    changed = changed_checks(before, after)
    assert changed and changed <= portal_checks()
    for finding in moved(before, after):
        reason = finding["reason"]
        assert finding["status"] == "unknown" and "changed by eve@contoso.example" in reason, reason
        assert "Update SSPR policy (lab event)" in reason and "after the portal snapshot" in reason
    untouched = {k for k in before if k[0] not in portal_checks()}
    assert {k: after[k]["status"] for k in untouched} == {k: before[k]["status"] for k in untouched}


def test_a_file_without_portal_sections_is_a_usage_error(lab: LabServer, tmp_path: Path) -> None:
    full = tmp_path / "full.json"
    assert run_cli("collect", *graph(lab), "--out", str(full)).code == 0
    data = json.loads(full.read_text())
    for name in PORTAL:
        data[name] = None
    full.write_text(json.dumps(data))
    run = run_cli("check", str(policy_file(tmp_path)), *graph(lab), "--portal-snapshot", str(full),
                  "--out", str(tmp_path / "r"))
    assert run.code == 2 and "holds no portal sections" in run.stderr


def test_the_portal_snapshot_is_an_input_no_report_may_overwrite(lab: LabServer, tmp_path: Path) -> None:
    snapshot = take_snapshot(lab, tmp_path)
    target = tmp_path / "sspr-audit.json"
    snapshot.rename(target)
    before = target.read_bytes()
    run = run_cli("check", str(policy_file(tmp_path)), *graph(lab), "--portal-snapshot", str(target),
                  "--out", str(tmp_path))
    assert run.code == 2 and "an input of this run" in run.stderr and target.read_bytes() == before
