"""`sspr-audit` with on-premises AD, as a user runs it: the lab domain with --lab, a live DC with --ad-host."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from samba_fixtures import baseline_dc_fixture, require_samba, state_dir  # noqa: F401

from auditor.lab_domain.samba import SambaDC
from tests.helpers.terminal import under_a_terminal

pytestmark = [pytest.mark.samba, pytest.mark.roundtrip]

ROOT = Path(__file__).resolve().parents[2]
BASELINE = ROOT / "policies" / "baseline.yaml"
BASE = "DC=corp,DC=example,DC=test"


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    require_samba()
    environment = {**os.environ, "SSPR_LAB_DIR": str(state_dir()), **(env or {})}
    return subprocess.run([sys.executable, "-m", "auditor.cli", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=600, env=environment)


def ad_findings(out: Path) -> dict[tuple[str, str], str]:
    report = json.loads((out / "sspr-audit.json").read_text())
    return {(f["check"], f["target"]): f["status"] for f in report["findings"] if f["check"].startswith("ad.")}


def test_lab_demo_reports_the_domain_drift(tmp_path: Path) -> None:
    result = run("check", str(BASELINE), "--lab", "demo", "--out", str(tmp_path), "--format", "json,html")
    assert result.returncode == 1, result.stdout + result.stderr
    findings = ad_findings(tmp_path)
    assert findings[("ad.acl.writeback_rights", f"OU=Sales,{BASE}")] == "fail"
    assert findings[("ad.users.temporary_password", f"CN=Tess Temp,OU=Staff,{BASE}")] == "fail"
    assert "unknown" not in findings.values()
    assert "ad.gpo.min_password_age" in (tmp_path / "sspr-audit.html").read_text()


def test_lab_baseline_passes_with_the_domain(tmp_path: Path) -> None:
    result = run("check", str(BASELINE), "--lab", "baseline", "--out", str(tmp_path), "--format", "json")
    findings = ad_findings(tmp_path)
    assert findings and set(findings.values()) <= {"pass", "not_applicable"}, findings
    report = json.loads((tmp_path / "sspr-audit.json").read_text())
    if all(f["status"] in ("pass", "not_applicable") for f in report["findings"]):
        assert result.returncode == 0, result.stdout + result.stderr


def test_lab_traps_fails_exactly_on_the_traps(tmp_path: Path) -> None:
    """The shipped `traps` tenant and domain (issue 13): every planted trap is a fail, nothing else is."""
    result = run("check", str(BASELINE), "--lab", "traps", "--out", str(tmp_path), "--format", "json")
    assert result.returncode == 1, result.stdout + result.stderr
    report = json.loads((tmp_path / "sspr-audit.json").read_text())
    failing = sorted({f["check"] for f in report["findings"] if f["status"] == "fail"})
    assert failing == ["ad.gpo.min_password_age", "client.sign_in_reset", "sspr.methods", "sspr.methods_available"]
    assert not [f for f in report["findings"] if f["status"] == "unknown"]
    gpo = next(f for f in report["findings"] if f["check"] == "ad.gpo.min_password_age" and f["status"] == "fail")
    assert gpo["target"].startswith("Password hardening {")


def test_collect_with_the_policy_then_check_offline(tmp_path: Path) -> None:
    snap = tmp_path / "snap.json"
    collected = run("collect", "--lab", "demo", "--policy", str(BASELINE), "--out", str(snap))
    assert collected.returncode == 0, collected.stderr
    assert "directory" in collected.stdout and "sysvol" in collected.stdout
    offline = run("check", str(BASELINE), "--snapshot", str(snap), "--out", str(tmp_path), "--format", "json")
    assert offline.returncode == 1
    assert ad_findings(tmp_path)[("ad.users.privileged", f"CN=Adam Admin,OU=Staff,{BASE}")] == "fail"



def test_read_once_audit_offline_without_a_policy_gives_what_the_live_run_gives(tmp_path: Path) -> None:
    """`collect --lab demo` (no --policy) reads the lab's domain as `check --lab demo` does (issue 32: it skipped AD,
    so `check --snapshot` said 10 more `unknown` than the live run)."""
    snap = tmp_path / "snap.json"
    collected = run("collect", "--lab", "demo", "--out", str(snap))
    assert collected.returncode == 0, collected.stderr
    offline = run("check", str(BASELINE), "--snapshot", str(snap), "--out", str(tmp_path / "off"), "--format", "json")
    live_run = run("check", str(BASELINE), "--lab", "demo", "--out", str(tmp_path / "live"), "--format", "json")
    assert offline.returncode == live_run.returncode == 1, offline.stdout + live_run.stdout

    def statuses(folder: Path) -> dict[tuple[str, str], str]:
        report = json.loads((folder / "sspr-audit.json").read_text())
        return {(f["check"], f["target"]): f["status"] for f in report["findings"]}

    assert statuses(tmp_path / "off") == statuses(tmp_path / "live")
    assert "unknown" not in statuses(tmp_path / "off").values()

@pytest.fixture(scope="module")
def emulator() -> Iterator[str]:
    from auditor.lab.server import LabServer

    with LabServer("baseline") as server:
        yield server.graph_url


def live(dc: SambaDC, graph_url: str, out: Path, *extra: str, password: str | None = None,
         host: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {"SSPR_AD_PASSWORD": password if password is not None else dc.admin_password}
    return run("check", str(BASELINE), "--graph-url", graph_url, "--auth", "lab", "--out", str(out),
               "--format", "json", "--ad-host", host or dc.address, "--ad-user", dc.admin_upn,
               "--ad-ca-file", str(dc.ca_file), *extra, env=env)


def test_live_dc_over_ldaps_and_starttls(baseline_dc: SambaDC, emulator: str, tmp_path: Path) -> None:
    for tls in ("ldaps", "starttls"):
        result = live(baseline_dc, emulator, tmp_path / tls, "--ad-tls", tls)
        findings = ad_findings(tmp_path / tls)
        assert set(findings.values()) <= {"pass", "not_applicable"}, (tls, findings, result.stdout)


def test_wrong_bind_password_is_a_clear_error_and_exit_3(baseline_dc: SambaDC, emulator: str,
                                                         tmp_path: Path) -> None:
    result = live(baseline_dc, emulator, tmp_path, password="wrong-password")
    report = json.loads((tmp_path / "sspr-audit.json").read_text())
    sections = {s["name"]: s for s in report["sections"]}
    assert "invalid credentials: wrong password" in sections["directory"]["error"]
    assert set(ad_findings(tmp_path).values()) <= {"unknown", "not_applicable"}
    if report["summary"]["by_status"]["fail"] == 0:
        assert result.returncode == 3, result.stdout
    assert "Traceback" not in result.stderr


def test_unreachable_dc_makes_the_ad_checks_unknown(baseline_dc: SambaDC, emulator: str, tmp_path: Path) -> None:
    result = live(baseline_dc, emulator, tmp_path, "--timeout", "3", host="127.0.0.254")
    findings = ad_findings(tmp_path)
    assert findings and set(findings.values()) <= {"unknown", "not_applicable"}
    report = json.loads((tmp_path / "sspr-audit.json").read_text())
    if report["summary"]["by_status"]["fail"] == 0:
        assert result.returncode == 3


def test_missing_password_is_a_usage_error(baseline_dc: SambaDC, emulator: str, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "SSPR_AD_PASSWORD"}
    result = subprocess.run(
        [sys.executable, "-m", "auditor.cli", "check", str(BASELINE), "--graph-url", emulator, "--auth", "lab",
         "--out", str(tmp_path), "--ad-host", baseline_dc.address, "--ad-user", baseline_dc.admin_upn],
        cwd=ROOT, capture_output=True, text=True, timeout=120, env=env)
    assert result.returncode == 2 and "SSPR_AD_PASSWORD" in result.stderr
    assert not (tmp_path / "sspr-audit.json").exists()


@pytest.mark.parametrize(("name", "code"), [("SIGTERM", 143), ("SIGHUP", 129), ("SIGINT", 130)])
def test_a_signal_stops_the_lab_dc_the_run_started_and_exits_as_shells_expect(name: str, code: int,
                                                                              tmp_path: Path) -> None:
    """Issue 14: SIGTERM/SIGHUP used to leave the lab's Samba DC listening; SIGINT exited 2 (a usage error)."""
    import signal
    import time

    require_samba()
    environment = {**os.environ, "SSPR_LAB_DIR": str(state_dir())}
    process = subprocess.Popen([sys.executable, "-m", "auditor.cli", "check", str(BASELINE), "--lab", "demo",
                                "--out", str(tmp_path / "r")], cwd=ROOT, env=environment, text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    runs = state_dir() / "samba" / "runs"
    deadline, samba_pid = time.monotonic() + 240, None
    while time.monotonic() < deadline and samba_pid is None and process.poll() is None:
        for pid_file in runs.glob(f"demo-{process.pid}-*/samba.pid"):
            try:
                samba_pid = int(pid_file.read_text().strip())
            except (OSError, ValueError):
                continue
        time.sleep(0.05)
    assert samba_pid is not None, "the run never started its lab DC"
    process.send_signal(getattr(signal, name))
    out, err = process.communicate(timeout=120)
    assert process.returncode == code, out + err
    assert f"interrupted by {name}" in err and "Traceback" not in err
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and Path(f"/proc/{samba_pid}").exists():
        state = Path(f"/proc/{samba_pid}/stat").read_text().split()[2] if Path(f"/proc/{samba_pid}").exists() else ""
        if state == "Z":
            break
        time.sleep(0.1)
    alive = Path(f"/proc/{samba_pid}").exists() and Path(f"/proc/{samba_pid}/stat").read_text().split()[2] != "Z"
    assert not alive, f"samba pid {samba_pid} still runs after the CLI was stopped by {name}"
    assert not list(runs.glob(f"demo-{process.pid}-*")), "the run's DC folder was left behind"


def test_progress_under_a_terminal_counts_what_was_read_and_never_touches_stdout(tmp_path: Path) -> None:
    """Issue 18: the live display on a pseudo-terminal; its users and descriptors equal what the snapshot holds."""
    import re

    require_samba()
    env = {**os.environ, "SSPR_LAB_DIR": str(state_dir()), "COLUMNS": "100", "TERM": "xterm"}
    env.pop("NO_COLOR", None)
    snapshot = tmp_path / "s.json"
    code, out, screen = under_a_terminal(["collect", "--lab", "demo", "--policy", str(BASELINE), "--out",
                                           str(snapshot), "--progress", "always"], env)
    assert code == 0, out + screen
    plain = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", screen)
    directory = json.loads(snapshot.read_text())["directory"]["value"]
    users = [int(n.replace(",", "")) for n in re.findall(r"LDAP users\s+([\d,]+) users", plain)]
    descriptors = [int(n.replace(",", "")) for n in re.findall(r"LDAP descriptors\s+([\d,]+) descriptors", plain)]
    assert users and users[-1] == len(directory["users"]) > 0, plain[-2000:]
    # every user's DACL, each target OU's, the domain head's, AdminSDHolder's and every GPO's (security filtering)
    control = directory["access_control"]  # the delegation view: ancestors, protected accounts, the account, its groups
    extra = (len(control["containers"]) + len(control["protected_accounts"]) + 1
             + len(control["service_account_groups"]))
    reach = directory["reach_beyond"]  # the containers' DACLs (the domain head's counted above) and the users below
    extra += reach["containers_read"] - 1 + reach["users_read"]  # the sync account's grant points (issue #35)
    extra += len(directory["gpos"])
    assert descriptors and descriptors[-1] == len(directory["users"]) + len(directory["target_ous"]) + 2 + extra
    cloud = len(json.loads(snapshot.read_text())["cloud_users"]["value"]["users"])
    totals = re.findall(r"Graph users\s+[\d,]+ pages?, ([\d,]+) of ([\d,]+) rows", plain)
    assert totals and totals[-1] == (f"{cloud:,}", f"{cloud:,}"), plain[-2000:]  # Graph's $count, as read
    assert "read " not in out and "LDAP" not in out  # nothing of it on stdout

    reports = {}
    for mode in ("always", "never"):
        code, out, screen = under_a_terminal(["check", str(BASELINE), "--lab", "demo", "--out", str(tmp_path / "r"),
                                               "--format", "json", "--progress", mode], env)
        assert code == 1, out + screen
        report = json.loads((tmp_path / "r" / "sspr-audit.json").read_text())
        reports[mode] = (out, [(f["check"], f["target"], f["status"]) for f in report["findings"]])
        if mode == "never":
            assert "LDAP" not in screen and "Graph" not in screen
    assert reports["always"] == reports["never"]  # stdout and the verdicts, the same with or without it


def test_progress_in_a_log_is_one_line_per_source_and_none_with_never(tmp_path: Path) -> None:
    auto = run("check", str(BASELINE), "--lab", "demo", "--out", str(tmp_path / "a"), "--format", "json")
    lines = [line for line in auto.stderr.splitlines() if line.startswith("read ")]
    sources = [line.split(":")[0] for line in lines]
    assert sorted(sources) == ["read Graph", "read LDAP", "read SYSVOL", "read portal"]  # each once
    assert all(len(line) <= 160 for line in lines), lines
    never = run("check", str(BASELINE), "--lab", "demo", "--out", str(tmp_path / "n"), "--format", "json",
                "--progress", "never")
    assert "read " not in never.stderr and never.stdout.replace("/n/", "/a/") == auto.stdout
