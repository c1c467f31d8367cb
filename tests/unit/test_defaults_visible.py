"""Defaults are enforced visibly (issue 32): `validate --show` prints the policy as checked with every defaulted key
marked, and a finding that judges a key the policy does not write says so, names the key and points at it."""

from __future__ import annotations

from pathlib import Path

import pytest

from auditor.checks.base import Status
from auditor.checks.registry import check_by_id, run_check
from auditor.cli import main
from auditor.policy.loader import load_policy
from auditor.snapshot.models import Section, SsprPolicyState
from tests.unit.cases_cloud import compliant_snapshot, compliant_sspr

FIRST_POLICY = """\
sspr:
  scope: all
  methods_required: 2
  methods: {mobile_app_code: true, email: true, mobile_phone: true}
"""


def _policy(tmp_path: Path, text: str = FIRST_POLICY):  # type: ignore[no-untyped-def]
    path = tmp_path / "policy.yaml"
    path.write_text(text)
    return load_policy(path)


def test_validate_show_marks_every_defaulted_key(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text(FIRST_POLICY)
    assert main(["validate", "--show", str(path)]) == 0
    out = capsys.readouterr().out
    assert f"scope: all  # {path}:2" in out and f"methods_required: 2 # {path}:3" in out
    assert "reconfirm_days: 180 # default" in out and "notify_admins: true # default" in out
    assert "office_phone: false # default" in out and "max_skip_days: # default: unset" in out
    assert "directory" not in out and "coverage" not in out  # sections left out are not checked: not shown


def test_a_failing_finding_on_a_defaulted_key_names_it_and_points_at_it(tmp_path: Path) -> None:
    policy = _policy(tmp_path)
    live = compliant_sspr().model_copy(update={"reconfirm_days": 0})
    snapshot = compliant_snapshot(sspr_policy=Section[SsprPolicyState].ok("portal:GET x", live))
    findings = {f.target: f for f in run_check(check_by_id("sspr.registration"), policy, snapshot)}
    interval = findings["reconfirm interval"]
    assert interval.status == Status.failed
    where = interval.policy_location
    assert where is not None and where.defaulted and where.key == "sspr.registration.reconfirm_days"
    assert (where.line, where.column) == (1, 1)  # `sspr:`, the nearest key written above it
    assert "`sspr.registration.reconfirm_days` is not written in the policy: its default 180 applies" in interval.reason
    assert any(e.field == "sspr.registration.reconfirm_days" and e.value == 180 for e in interval.evidence)
    # a passing finding on a defaulted key says so in its evidence; a written key is not marked
    sign_in = findings["register at sign-in"]
    assert sign_in.status == Status.passed and sign_in.policy_location.defaulted
    assert any(e.field == "sspr.registration.require_on_sign_in" for e in sign_in.evidence)
    gates = run_check(check_by_id("sspr.gates"), policy, snapshot)[0]
    assert gates.policy_location.key == "sspr.methods_required" and not gates.policy_location.defaulted
    assert not any(e.source.startswith("policy default") for e in gates.evidence)


def test_a_written_key_and_an_absent_section_are_not_defaulted(tmp_path: Path) -> None:
    policy = _policy(tmp_path, FIRST_POLICY + "  registration:\n    reconfirm_days: 180\n")
    where = policy.location("sspr.registration.reconfirm_days")
    assert where is not None and not where.defaulted and where.line == 6
    assert policy.location("writeback.enabled").defaulted is False  # no section: not checked, not a default


def test_a_defaulted_keys_drift_is_planned_as_a_change(tmp_path: Path) -> None:
    """Joined by key, defaulted or not: the reconfirm interval left at its default is a portal change, as it is when
    written out (it was a false "manual: the plan has no writer" while the finding pointed at `sspr`)."""
    from auditor.checks.registry import run_checks
    from auditor.remediation.planner import make_plan

    live = compliant_sspr().model_copy(update={"reconfirm_days": 0})
    snapshot = compliant_snapshot(sspr_policy=Section[SsprPolicyState].ok("portal:GET x", live))
    for text in (FIRST_POLICY, FIRST_POLICY + "  registration:\n    reconfirm_days: 180\n"):
        policy = _policy(tmp_path, text)
        findings = run_checks(policy, snapshot)
        interval = next(f for f in findings if f.target == "reconfirm interval")
        plan = make_plan(policy, snapshot, findings)
        assert plan.fixes(interval) is True, plan.manual


def test_an_export_earlier_in_the_process_does_not_change_validate_show(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The export writes `null` for "explicitly none" with its own representer; ruamel's shared round-trip
    representer is left alone, so `validate --show` still marks an unset default `# default: unset`."""
    from ruamel.yaml.representer import RoundTripRepresenter

    from auditor.export import _dump

    before = dict(RoundTripRepresenter.yaml_representers)
    assert "max_skip_days: null" in _dump({"max_skip_days": None})
    assert RoundTripRepresenter.yaml_representers == before
    test_validate_show_marks_every_defaulted_key(tmp_path, capsys)
