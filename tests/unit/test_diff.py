"""Trend between two runs: new failures, fixed, still failing, other status changes, changed values."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from auditor.checks.base import Severity, Status
from auditor.cli import main
from auditor.diff import TrendError, diff_files, diff_reports, diff_snapshots, load_previous_report, trend_lines
from auditor.render import get_renderer
from auditor.snapshot.models import Section, SsprPolicyState
from auditor.snapshot.store import save_snapshot
from tests.helpers.report_factory import build_report, finding
from tests.unit.cases_cloud import compliant_snapshot, with_sspr


def old_and_new():  # type: ignore[no-untyped-def]
    old = build_report([
        finding("sspr.gates", Status.passed, Severity.high, expected=2, actual=2),
        finding("sspr.scope", Status.failed, Severity.high, expected="all", actual="selected"),
        finding("sspr.notify_users", Status.failed, Severity.medium, expected=True, actual=False),
        finding("writeback.unlock", Status.failed, Severity.low, expected=True, actual=False),
        finding("admin_sspr", Status.passed, expected=False, actual=False),
        finding("sspr.helpdesk", Status.failed, Severity.low, target="gone"),
    ])
    new = build_report([
        finding("sspr.gates", Status.failed, Severity.high, expected=2, actual=1),
        finding("sspr.scope", Status.passed, Severity.high, expected="all", actual="all"),
        finding("sspr.notify_users", Status.failed, Severity.medium, expected=True, actual=False),
        finding("writeback.unlock", Status.waived, Severity.low, expected=True, actual=False),
        finding("admin_sspr", Status.unknown),
        finding("sspr.registration", Status.failed, Severity.medium, target="reconfirm interval", actual=0),
    ])
    return old, new


def keys(entries) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    return [(e.check, e.target) for e in entries]


def test_report_trend_buckets() -> None:
    old, new = old_and_new()
    trend = diff_reports(old, new, "old.json")
    assert keys(trend.new_failures) == [("sspr.gates", "tenant"), ("sspr.registration", "reconfirm interval")]
    assert keys(trend.fixed) == [("sspr.scope", "tenant")]
    assert keys(trend.still_failing) == [("sspr.notify_users", "tenant")]
    other = {(e.check, e.target): (e.status_before, e.status_after) for e in trend.other_changes}
    assert other == {("writeback.unlock", "tenant"): ("fail", "waived"), ("admin_sspr", "tenant"): ("pass", "unknown"),
                     ("sspr.helpdesk", "gone"): ("fail", None)}
    changed = {c.subject: (c.before, c.after) for c in trend.changed_values}
    assert changed["sspr.gates [tenant]"] == (2, 1)
    assert changed["sspr.scope [tenant]"] == ("selected", "all")
    assert "sspr.notify_users [tenant]" not in changed


def test_identical_reports_have_no_changes() -> None:
    old, _ = old_and_new()
    trend = diff_reports(old, old)
    assert trend.unchanged and keys(trend.still_failing)


def test_trend_survives_the_json_round_trip(tmp_path: Path) -> None:
    old, new = old_and_new()
    old_file, new_file = tmp_path / "old.json", tmp_path / "new.json"
    old_file.write_bytes(get_renderer("json").render(old))
    new_file.write_bytes(get_renderer("json").render(new))
    from_files = diff_files(old_file, new_file)
    in_memory = diff_reports(old, new, "old.json")
    assert from_files.model_dump() == in_memory.model_dump()


def test_snapshot_trend_lists_changed_values_and_readability() -> None:
    old = compliant_snapshot()
    new = with_sspr(methods_required=1, notify_admins=False)
    trend = diff_snapshots(old, new, "old.json")
    changed = {c.subject: (c.before, c.after) for c in trend.changed_values}
    assert changed == {"sspr_policy.methods_required": (2, 1), "sspr_policy.notify_admins": (True, False)}
    broken = compliant_snapshot(sspr_policy=Section[SsprPolicyState].failed("portal:test", "403 Forbidden"))
    changed = {c.subject: (c.before, c.after) for c in diff_snapshots(old, broken).changed_values}
    assert changed["sspr_policy.(read)"] == ("ok", "error: 403 Forbidden")
    assert changed["sspr_policy.enablement"] == ("all", None)


def test_snapshot_trend_keys_method_configurations_by_id() -> None:
    old = compliant_snapshot()
    policy = old.methods_policy.value  # type: ignore[union-attr]
    configs = [c.model_copy(update={"state": "disabled"}) if c.id == "Email" else c for c in policy.configurations]
    new = compliant_snapshot(methods_policy=Section.ok(old.methods_policy.source,  # type: ignore[union-attr]
                                                       policy.model_copy(update={"configurations": configs[::-1]})))
    changed = {c.subject: (c.before, c.after) for c in diff_snapshots(old, new).changed_values}
    assert changed == {"methods_policy.configurations[Email].state": ("enabled", "disabled")}


def test_mixed_kinds_and_bad_files_are_errors(tmp_path: Path) -> None:
    report_file, snapshot_file = tmp_path / "r.json", tmp_path / "s.json"
    report_file.write_bytes(get_renderer("json").render(old_and_new()[0]))
    save_snapshot(compliant_snapshot(), snapshot_file)
    with pytest.raises(TrendError, match="two JSON reports or two snapshots"):
        diff_files(report_file, snapshot_file)
    with pytest.raises(TrendError, match="--previous takes a JSON report"):
        load_previous_report(snapshot_file)
    (tmp_path / "x.json").write_text('{"format": "something-else"}')
    with pytest.raises(TrendError, match="not an sspr-audit JSON report or snapshot"):
        diff_files(tmp_path / "x.json", report_file)
    (tmp_path / "y.json").write_text("{not json")
    with pytest.raises(TrendError, match=r"y\.json:1:2: not valid JSON"):
        diff_files(tmp_path / "y.json", report_file)
    (tmp_path / "deep.json").write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(TrendError, match="nested 100000 levels deep"):
        diff_files(tmp_path / "deep.json", report_file)
    (tmp_path / "big.json").write_text('{"format": ' + "9" * 5000 + "}")
    with pytest.raises(TrendError, match="an integer of 5000 digits"):
        load_previous_report(tmp_path / "big.json")
    with pytest.raises(TrendError, match="cannot read"):
        diff_files(tmp_path / "missing.json", report_file)


def test_diff_command_prints_every_bucket_and_exits_0(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    old, new = old_and_new()
    (tmp_path / "old.json").write_bytes(get_renderer("json").render(old))
    (tmp_path / "new.json").write_bytes(get_renderer("json").render(new))
    assert main(["diff", str(tmp_path / "old.json"), str(tmp_path / "new.json")]) == 0
    out = capsys.readouterr().out
    for heading in ("new failures: 2", "fixed: 1", "still failing: 1", "other status changes: 3", "changed values:"):
        assert heading in out
    assert "sspr.gates [tenant] pass -> fail" in out and "sspr.gates [tenant]: 2 -> 1" in out


def test_diff_command_on_snapshots(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    save_snapshot(compliant_snapshot(), tmp_path / "a.json")
    save_snapshot(with_sspr(reconfirm_days=0), tmp_path / "b.json")
    assert main(["diff", str(tmp_path / "a.json"), str(tmp_path / "b.json")]) == 0
    assert "sspr_policy.reconfirm_days: 180 -> 0" in capsys.readouterr().out


def test_diff_command_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["diff", str(tmp_path / "nope.json"), str(tmp_path / "nope2.json")]) == 2
    assert "cannot read" in capsys.readouterr().err


def test_trend_lines_escape_control_characters() -> None:
    trend = diff_snapshots(compliant_snapshot(), with_sspr(group_name="evil\x1b[2J\u202e"))
    text = "\n".join(trend_lines(trend))
    assert "\x1b" not in text and "\u202e" not in text


def test_report_json_keeps_the_trend(tmp_path: Path) -> None:
    old, new = old_and_new()
    report = new.model_copy(update={"trend": diff_reports(old, new, "old.json")})
    data = json.loads(get_renderer("json").render(report))
    assert [e["check"] for e in data["trend"]["new_failures"]] == ["sspr.gates", "sspr.registration"]


def test_what_every_run_changes_is_no_change() -> None:
    """Issue 32: two runs of an unchanged tenant differ only in when they read (Secure Score's `as_of`)."""
    def run(as_of: str, generated: str):  # type: ignore[no-untyped-def]
        score = {"percent": 65.08, "max_score": 1.0, "as_of": as_of}
        return build_report([finding("secure_score.sspr", Status.failed, Severity.low, actual=score),
                             finding("sspr.gates", Status.failed, Severity.high, expected=2, actual=1)],
                            generated_at=generated)

    trend = diff_reports(run("2026-12-05T22:13:51+00:00", "2026-12-06T02:56:53+00:00"),
                         run("2026-12-05T22:14:02+00:00", "2026-12-06T02:57:10+00:00"), "old.json")
    assert trend.changed_values == [] and not trend.new_failures and not trend.fixed
    assert trend_lines(trend)[1] == "  no change: the same statuses and values"


def test_a_real_change_beside_a_run_fact_is_still_a_change() -> None:
    def run(percent: float, as_of: str):  # type: ignore[no-untyped-def]
        return build_report([finding("secure_score.sspr", Status.failed, actual={"percent": percent, "as_of": as_of})])

    trend = diff_reports(run(65.08, "2026-12-05T22:13:51+00:00"), run(70.0, "2026-12-05T22:14:02+00:00"))
    [change] = trend.changed_values
    assert (change.before["percent"], change.after["percent"]) == (65.08, 70.0)
    assert "no change" not in "\n".join(trend_lines(trend))


def test_snapshots_read_at_other_moments_are_no_change() -> None:
    old = compliant_snapshot()
    new = old.model_copy(update={"created_at": old.created_at.replace(year=old.created_at.year + 1)})
    trend = diff_snapshots(old, new)
    assert trend.changed_values == []
    assert trend_lines(trend)[1] == "  no change: the same values"
