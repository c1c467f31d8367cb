"""plan → apply → rollback with `--lab`, for the lab tenant and the lab's Samba domain alike (issue 32, item 4).

Each command is its own process, as a user runs them: what apply writes must outlive it for rollback to restore
it, so apply and rollback work on the tenant and domain the plan read, kept in the lab folder
(auditor/app/lab_workspace.py). The domain is read back here over LDAP by the test itself, not only by apply.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from samba_fixtures import require_samba, state_dir

from auditor.app.lab_workspace import workspace_key
from auditor.lab_domain import domain_seed, kept
from auditor.remediation.changes import load_plan, object_key, save_plan

pytestmark = [pytest.mark.samba, pytest.mark.roundtrip]

ROOT = Path(__file__).resolve().parents[2]
BASELINE = ROOT / "policies" / "baseline.yaml"
BASE = "DC=corp,DC=example,DC=test"
GPO = "Default Domain Policy {31B2F340-016D-11D2-945F-00C04FB984F9}"
SEAMS = [("methods_policy.registration_campaign", "registration campaign"),
         ("hybrid.lockout", "AD lockout threshold against smart lockout"),
         ("hybrid.lockout", "AD lockout duration against smart lockout duration"),
         ("ad.acl.unexpire_password", BASE)]  # the grant on the domain head itself
ONE_DAY = -864_000_000_000  # one day as minPwdAge stores it: a negative count of 100 ns slices ([MS-ADA2] 2.49,
# https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-ada2/3f38dc5d-e597-444b-a379-2b407d37ff27)


def run(*args: str) -> subprocess.CompletedProcess[str]:
    require_samba()
    environment = {**os.environ, "SSPR_LAB_DIR": str(state_dir())}
    environment.pop("SSPR_PLAN_KEY", None)
    return subprocess.run([sys.executable, "-m", "auditor.cli", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=600, env=environment)


def min_pwd_age(plan: Path) -> int:
    """The kept lab domain's minPwdAge, read here over LDAPS (the CLI processes have ended)."""
    from ldap3 import BASE as SCOPE_BASE

    from auditor.readers.directory import connect

    source = load_plan(plan).source
    assert source.lab_domain is not None
    key = workspace_key(load_plan(plan).digest)
    with kept.kept_workspace(key, create=False, state_dir=state_dir()) as folder, \
            kept.kept_domain(folder, "demo", source.lab_domain.address, create=False, state_dir=state_dir()) as held:
        conn = connect(domain_seed.reader_settings(held.dc))
        try:
            conn.search(BASE, "(objectClass=*)", SCOPE_BASE, attributes=["minPwdAge"])
            return int(conn.entries[0].minPwdAge.raw_values[0])
        finally:
            conn.unbind()


def statuses(plan: Path, out: Path) -> dict[tuple[str, str], str]:
    """`check --lab demo --lab-after PLAN`: each finding's status on the lab kept for the plan."""
    checked = run("check", str(BASELINE), "--lab", "demo", "--lab-after", str(plan), "--out", str(out),
                  "--format", "json")
    assert checked.returncode in (0, 1), checked.stdout + checked.stderr
    report = json.loads((out / "sspr-audit.json").read_text())
    return {(f["check"], f["target"]): f["status"] for f in report["findings"]}


@pytest.fixture(scope="module", name="demo_plan")
def demo_plan_fixture(tmp_path_factory: pytest.TempPathFactory) -> Path:
    plan = tmp_path_factory.mktemp("loop") / "plan.json"
    made = run("plan", str(BASELINE), "--lab", "demo", "--out", str(plan))
    assert made.returncode == 4, made.stdout + made.stderr  # changes planned
    return plan


def test_a_lab_plan_records_the_domain_it_read(demo_plan: Path) -> None:
    source = load_plan(demo_plan).source
    assert source.lab_domain is not None and source.lab_domain.scenario == "demo"
    assert source.lab_domain.seed == domain_seed.SEED_VERSION
    sysvol = [c for c in load_plan(demo_plan).changes if c.writer == "sysvol"]
    assert sysvol and sysvol[0].target.startswith(f"\\\\{source.lab_domain.address}\\SYSVOL\\")


def test_plan_apply_rollback_round_trip_on_the_lab_tenant_and_domain(demo_plan: Path, tmp_path: Path) -> None:
    dry = run("apply", str(demo_plan), "--lab", "demo")
    assert dry.returncode == 0, dry.stdout + dry.stderr
    assert "no domain controller" not in dry.stderr
    planned = load_plan(demo_plan).changes
    count = len(planned)
    assert {c.writer for c in planned} >= {"ldap", "sysvol", "graph", "portal"}
    changes = [line.split() for line in dry.stdout.splitlines() if line.startswith("  WOULD APPLY ")]
    assert [words[2] for words in changes] == [f"{n}." for n in range(1, count + 1)], dry.stdout
    assert "PENDING" not in dry.stdout
    folder = kept.kept_folder(workspace_key(load_plan(demo_plan).digest), state_dir())
    assert f"kept for this plan in {folder}" in dry.stdout  # the user is told where the lab is kept
    assert not folder.exists()  # a dry run writes nothing and keeps nothing
    unapplied = run("check", str(BASELINE), "--lab", "demo", "--lab-after", str(demo_plan), "--out",
                    str(tmp_path / "unapplied"))
    assert unapplied.returncode == 2 and "never applied with --yes" in unapplied.stderr, unapplied.stderr

    backup = tmp_path / "backup.json"
    applied = run("apply", str(demo_plan), "--lab", "demo", "--yes", "--backup", str(backup))
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert f"applied {count} change(s)" in applied.stdout
    assert min_pwd_age(demo_plan) == 0  # the write outlived the apply: the domain is kept

    fixed = statuses(demo_plan, tmp_path / "after-apply")  # the checks see what apply wrote
    assert fixed["sspr.gates", "tenant"] == fixed["ad.gpo.min_password_age", GPO] == "pass"
    assert {fixed[seam] for seam in SEAMS} == {"pass"}  # issue 35's planned changes: campaign, smart lockout

    again = run("apply", str(demo_plan), "--lab", "demo")  # the tenant is kept too: everything is in place
    assert again.returncode == 0 and f"nothing to do: all {count} change(s) are already in place" in again.stdout

    dry_back = run("rollback", str(backup), "--lab", "demo")
    assert dry_back.returncode == 0, dry_back.stdout + dry_back.stderr
    assert "SKIPPED" not in dry_back.stdout
    restoring = [line for line in dry_back.stdout.splitlines() if line.startswith("  ")]
    objects = len({object_key(c) for c in planned})
    assert len(restoring) == objects and all(line.strip().startswith("WOULD RESTORE") for line in restoring)
    assert any(f"OU=Sales,{BASE}" in line for line in restoring)
    assert f"dry run: {objects} object(s) would be restored" in dry_back.stdout

    back = run("rollback", str(backup), "--lab", "demo", "--yes")
    assert back.returncode == 0, back.stdout + back.stderr
    assert f"restored {objects} object(s)" in back.stdout
    assert min_pwd_age(demo_plan) == ONE_DAY

    restored = statuses(demo_plan, tmp_path / "after-rollback")
    assert restored["sspr.gates", "tenant"] == restored["ad.gpo.min_password_age", GPO] == "fail"
    assert {restored[seam] for seam in SEAMS} == {"fail"}

    after = run("apply", str(demo_plan), "--lab", "demo")  # restored: the plan's changes are due again
    assert after.returncode == 0 and f"dry run: {count} change(s) would be applied" in after.stdout


def test_a_re_created_domain_is_proven_by_the_plans_fingerprints(demo_plan: Path, tmp_path: Path) -> None:
    plan = load_plan(demo_plan)
    folder = kept.kept_folder(workspace_key(plan.digest), state_dir())
    shutil.rmtree(folder, ignore_errors=True)  # the lab no longer keeps it (a cleared cache, another machine)
    recreated = run("apply", str(demo_plan), "--lab", "demo")
    assert recreated.returncode == 0, recreated.stdout + recreated.stderr
    assert f"dry run: {len(plan.changes)} change(s) would be applied" in recreated.stdout

    other = tmp_path / "other.json"  # a plan read from a domain the template no longer makes (resealed: digest only)
    edited = plan.model_copy(update={"fingerprints": {**plan.fingerprints, "directory": "sha256:" + "0" * 64}})
    save_plan(edited.sealed(), other)
    refused = run("apply", str(other), "--lab", "demo")
    assert refused.returncode == 6, refused.stdout + refused.stderr
    assert "re-created from the seeded template differs from it (directory fingerprint)" in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1
    assert not folder.exists()  # the dry run above kept nothing either

    # refused with --yes: nothing written, nothing kept, and --lab-after does not read a lab no apply wrote
    refused = run("apply", str(other), "--lab", "demo", "--yes", "--backup", str(tmp_path / "b.json"))
    assert refused.returncode == 6, refused.stdout + refused.stderr
    assert not kept.kept_folder(workspace_key(load_plan(other).digest), state_dir()).exists()
    after = run("check", str(BASELINE), "--lab", "demo", "--lab-after", str(other), "--out", str(tmp_path / "r"))
    assert after.returncode == 2 and "never applied with --yes" in after.stderr, after.stderr


def test_rollback_refuses_when_the_lab_no_longer_keeps_what_apply_wrote(demo_plan: Path, tmp_path: Path) -> None:
    backup = tmp_path / "backup.json"
    applied = run("apply", str(demo_plan), "--lab", "demo", "--yes", "--backup", str(backup))
    assert applied.returncode == 0, applied.stdout + applied.stderr
    shutil.rmtree(kept.kept_folder(workspace_key(load_plan(demo_plan).digest), state_dir()))
    refused = run("rollback", str(backup), "--lab", "demo", "--yes")
    assert refused.returncode == 6, refused.stdout + refused.stderr
    assert "the lab no longer keeps the tenant and domain this backup was written to" in refused.stderr
    assert json.loads(backup.read_text())["format_version"] == 4
    gone = run("check", str(BASELINE), "--lab", "demo", "--lab-after", str(demo_plan), "--out", str(tmp_path / "r"))
    assert gone.returncode == 2 and "the lab keeps no tenant or domain for this plan" in gone.stderr, gone.stderr
    assert not (tmp_path / "r").exists()  # refused before any report is written

