"""Issue 28: lab DCs started side by side never share an address, and one that cannot start says why in one
line, with its full log kept in a file.

Before the leases, `fleet check` over three lab tenants at concurrency 2 had two DCs bind the same 127.0.0.N in
every run (one tenant's AD unknown, its reason a 1,500-character Samba log).
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
from pathlib import Path

import pytest
from samba_fixtures import BASELINE_POLICY, fresh_dc, require_samba, state_dir

from auditor.lab_domain import domain_seed, samba
from tests.helpers.fault_matrix import assert_no_traceback, run_cli
from tests.helpers.fleet_lab import write_yaml

pytestmark = pytest.mark.samba


def test_three_lab_tenants_at_concurrency_two_each_get_their_own_dc(tmp_path: Path) -> None:
    require_samba()
    scenarios = ("demo", "baseline", "traps")
    shutil.copy(BASELINE_POLICY, tmp_path / "baseline.yaml")  # an inventory names policies inside its folder
    fleet = write_yaml(tmp_path / "fleet.yaml", {
        "version": 1, "fleet": {"concurrency": 2},
        "tenants": [{"name": name, "lab": {"scenario": name}, "policy": "baseline.yaml"} for name in scenarios],
    })
    run = run_cli("fleet", "check", str(fleet), "--out", str(tmp_path / "out"), "--progress", "never")
    assert_no_traceback(run)
    for name in scenarios:
        report = json.loads((tmp_path / "out" / name / "sspr-audit.json").read_text())
        ad = [f for f in report["findings"] if f["check"].startswith("ad.")]
        assert ad, name
        unknown = [(f["check"], f["reason"]) for f in ad if f["status"] == "unknown"]
        assert not unknown, (name, unknown)


def test_a_dc_whose_port_is_taken_fails_with_one_line_and_its_log_in_a_file() -> None:
    dc = fresh_dc(None)  # holds its address's lease; another program then takes one of the DC's ports
    try:
        with socket.socket() as squatter:
            squatter.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            squatter.bind((dc.address, 135))
            squatter.listen()
            with pytest.raises(samba.SambaError) as caught:
                dc.start(timeout=60)
        error = caught.value
        assert "\n" not in str(error) and len(error.reason) < 300
        assert error.reason.startswith(f"samba on {dc.address} exited with code ")
        assert f"Failed to listen on {dc.address}:135" in error.reason
        assert error.log_file is not None and error.log_file.is_file() and not error.log_file.is_relative_to(dc.root)
        kept = error.log_file.read_text()
        assert "samba version" in kept and "NT_STATUS_ADDRESS_ALREADY_ASSOCIATED" in kept
        assert kept.count("samba version") == 1  # this start's log only, not the template's earlier starts
        assert str(error) == f"{error.reason} (full log: {error.log_file})"
        assert dc.lease is not None and not dc.lease.held  # a DC that did not start gave its address back
    finally:
        samba.remove(dc)


def _break(conf: Path) -> None:
    conf.write_text(conf.read_text().replace("[global]", "[global]\n\tserver role = nonsense", 1))


def test_a_clone_with_a_broken_smb_conf_fails_with_what_testparm_says() -> None:
    dc = fresh_dc(None)
    try:
        _break(dc.smb_conf)
        with pytest.raises(samba.SambaError) as caught:
            dc.start(timeout=60)
        error = caught.value
        assert error.reason == (f"samba on {dc.address} exited with code 1: "
                                "WARNING: Ignoring invalid value 'nonsense' for parameter 'server role'")
        assert error.log_file is not None and "Error loading services" in error.log_file.read_text()
    finally:
        samba.remove(dc)


def test_the_report_gives_a_lab_dc_that_cannot_start_as_one_line(monkeypatch: pytest.MonkeyPatch,
                                                                  tmp_path: Path) -> None:
    """`check --lab demo` whose cached demo domain is broken: every AD check unknown, its reason one line."""
    require_samba()
    fresh_dc("demo")  # makes the session's templates; copied here, with the seeded one broken
    (tmp_path / "lab" / "samba").mkdir(parents=True)
    for name in ("template", "seeded-demo"):  # cp -a keeps the xattrs Samba's SYSVOL needs
        subprocess.run(["cp", "-a", str(state_dir() / "samba" / name), str(tmp_path / "lab" / "samba")], check=True)
    _break(tmp_path / "lab" / "samba" / "seeded-demo" / "etc" / "smb.conf")
    monkeypatch.setenv("SSPR_LAB_DIR", str(tmp_path / "lab"))
    run = run_cli("check", str(BASELINE_POLICY), "--lab", "demo", "--out", str(tmp_path / "out"),
                  "--format", "json", "--progress", "never")
    assert_no_traceback(run)
    report = json.loads((tmp_path / "out" / "sspr-audit.json").read_text())
    reasons = {f["reason"].split(": ", 1)[1] for f in report["findings"]  # after the source ("lab:samba: ", "smb: ")
               if f["check"].startswith("ad.") and f["status"] == "unknown"}
    assert len(reasons) == 1, reasons
    reason = reasons.pop()
    assert "\n" not in reason and "samba version" not in reason and len(reason) < 400, reason
    assert reason.startswith("the lab domain did not start: samba on 127.0.0.")
    assert "Ignoring invalid value 'nonsense' for parameter 'server role' (full log: " in reason
    log_file = Path(reason.rsplit("(full log: ", 1)[1].rstrip(")"))
    assert log_file.is_file() and log_file.is_relative_to(tmp_path / "lab")


def test_a_dc_in_a_deep_folder_starts_though_its_socket_paths_would_be_too_long() -> None:
    """Samba's unix sockets sit under its folder, and a socket path has at most 107 bytes (unix(7)): a lab folder
    under /home/firstname.lastname1/.cache reached that, and samba exited ("Failed to listen on …/run/ncalrpc/np/
    netlogon"). It now runs with its folder bind-mounted at a short path inside its namespace."""
    require_samba()
    template = domain_seed.base_template(state_dir() / "samba")
    deep = state_dir() / "deep" / ("d" * 60) / "runs" / "demo-15029-7f5cc303fdd0"
    assert len(str(deep / "run" / "ncalrpc" / "np" / "netlogon")) > 107
    dc = samba.clone(template, deep)
    try:
        with dc:
            assert dc.running
            found = subprocess.run(["ldbsearch", "-H", f"ldap://{dc.address}", "-U",
                                    f"Administrator%{dc.admin_password}", "-b", dc.base_dn, "-s", "base", "dn"],
                                   capture_output=True, text=True, timeout=60, check=False)
            assert found.returncode == 0 and f"dn: {dc.base_dn}" in found.stdout, found.stderr
    finally:
        dc.stop()
