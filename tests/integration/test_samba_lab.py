"""The lab DC's lifecycle and the readers' behaviour at the edges: TLS, credentials, unreachable.

Uses the bare template (no seeding) for lifecycle tests and a seeded demo clone for readers.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest
from samba_fixtures import (  # noqa: F401  (fixtures)
    ad_outcomes,
    bare_dc_fixture,
    baseline_policy,
    collect_ad,
    demo_dc_fixture,
    fresh_dc,
    settings,
)

from auditor.checks.exit_codes import exit_code
from auditor.checks.registry import all_checks, run_check
from auditor.exit_codes import Exit
from auditor.lab_domain import samba
from auditor.lab_domain.samba import SambaDC
from auditor.readers.directory import read_directory
from auditor.readers.sysvol import read_sysvol
from auditor.snapshot.models import Snapshot
from auditor.snapshot.store import load_snapshot, save_snapshot

pytestmark = pytest.mark.samba

AD_CHECKS = {c.spec.id for c in all_checks() if c.spec.id.startswith("ad.")}


def _ad_findings(policy, snapshot: Snapshot) -> list:
    return [f for c in all_checks() if c.spec.id in AD_CHECKS for f in run_check(c, policy, snapshot)]


def test_dc_runs_in_its_own_mount_namespace_and_stops_by_pid(bare_dc: SambaDC) -> None:
    assert bare_dc.running and bare_dc.pid is not None
    assert os.readlink(f"/proc/{bare_dc.pid}/ns/mnt") != os.readlink("/proc/self/ns/mnt")
    assert Path(f"/proc/{bare_dc.pid}/root/run/samba/winbindd/pipe").is_socket()
    assert bare_dc.pid_file.read_text().strip() == str(bare_dc.pid)
    assert "interfaces = " + bare_dc.address + "/8" in bare_dc.smb_conf.read_text()


def test_two_dcs_side_by_side_then_stopped(bare_dc: SambaDC) -> None:
    second = fresh_dc(None)
    assert second.address != bare_dc.address and second.root != bare_dc.root
    try:
        with second:
            pid = second.pid
            assert pid is not None
            with socket.create_connection((second.address, 636), timeout=5):
                pass
        assert not second.running and not Path(f"/proc/{pid}").exists()
        assert not second.pid_file.exists()
        assert bare_dc.running
    finally:
        samba.remove(second)


def test_a_stale_dc_from_the_same_folder_is_stopped_before_start(bare_dc: SambaDC) -> None:
    second = fresh_dc(None)
    try:
        second.start()
        orphan = second.pid
        # a new process object for the same folder (as after a crash of the process that started it, whose
        # address lease the kernel dropped with it)
        assert second.lease is not None
        second.lease.release()
        again = samba.open_dc(second.root)
        again.start()
        assert orphan is not None and again.pid != orphan and not samba._alive(orphan)
        assert again.lease is not None and again.lease.held and again.lease.address == second.address
        again.stop()
    finally:
        samba.remove(second)


def test_ldaps_and_starttls_verify_the_lab_certificate_by_ip(demo_dc: SambaDC) -> None:
    policy = baseline_policy()
    assert read_directory(settings(demo_dc), policy.directory).readable
    assert read_directory(settings(demo_dc, tls="starttls"), policy.directory).readable


def test_untrusted_certificate_is_a_clear_error(demo_dc: SambaDC) -> None:
    section = read_directory(settings(demo_dc, ca_file=None), baseline_policy().directory)
    assert not section.readable
    assert "not trusted" in (section.error or "") and "--ad-ca-file" in (section.error or "")


def test_plain_ldap_needs_the_insecure_choice_and_the_dc_refuses_it(demo_dc: SambaDC) -> None:
    section = read_directory(settings(demo_dc, tls="none"), baseline_policy().directory)
    assert not section.readable
    assert "requires an encrypted connection" in (section.error or "")


def test_wrong_bind_password_is_a_clear_error(demo_dc: SambaDC) -> None:
    policy = baseline_policy()
    snapshot = collect_ad(demo_dc, policy, password="not-the-password")
    assert snapshot.directory is not None and snapshot.sysvol is not None
    assert "invalid credentials: wrong password" in (snapshot.directory.error or "")
    assert "SSPR_AD_PASSWORD" in (snapshot.directory.error or "")
    assert "SMB logon" in (snapshot.sysvol.error or "")
    assert "wrong user name or password" in (snapshot.sysvol.error or "")
    findings = _ad_findings(policy, snapshot)
    assert {f.status.value for f in findings} <= {"unknown", "not_applicable"}
    assert exit_code(findings) == Exit.incomplete


def test_ldap_unreachable_makes_every_ad_check_unknown_and_exit_3(demo_dc: SambaDC) -> None:
    policy = baseline_policy()
    snapshot = collect_ad(demo_dc, policy, host="127.0.0.254", timeout=3)
    assert "cannot reach ldaps://127.0.0.254:636" in (snapshot.directory.error or "")
    findings = _ad_findings(policy, snapshot)
    assert {f.check for f in findings} == AD_CHECKS
    # Unexpire Password too: whether passwords expire is not known without the directory (issue #35)
    assert {f.status.value for f in findings} == {"unknown"}
    assert all(f.reason for f in findings if f.status.value == "unknown")
    assert exit_code(findings) == Exit.incomplete


def test_missing_service_account_fails_without_crashing(demo_dc: SambaDC) -> None:
    policy = baseline_policy(service_account="MSOL_doesnotexist")
    outcomes = ad_outcomes(policy, collect_ad(demo_dc, policy))
    assert outcomes[("ad.service_account", "MSOL_doesnotexist", "directory.service_account")] == "fail"
    rights = {k: v for k, v in outcomes.items() if k[0] == "ad.acl.writeback_rights"}
    assert rights and set(rights.values()) == {"fail"}


def test_missing_target_ou_fails_on_that_ou(demo_dc: SambaDC) -> None:
    policy = baseline_policy(target_ous=["OU=Staff,DC=corp,DC=example,DC=test", "OU=Gone,DC=corp,DC=example,DC=test"])
    outcomes = ad_outcomes(policy, collect_ad(demo_dc, policy))
    assert outcomes[("ad.acl.writeback_rights", "OU=Gone,DC=corp,DC=example,DC=test", "directory.target_ous")] == "fail"


def test_snapshot_round_trips_and_audits_offline(demo_dc: SambaDC, tmp_path: Path) -> None:
    policy = baseline_policy()
    snapshot = collect_ad(demo_dc, policy)
    loaded = load_snapshot(save_snapshot(snapshot, tmp_path / "snap.json"))
    assert ad_outcomes(policy, loaded) == ad_outcomes(policy, snapshot)
    assert loaded.directory.value.target_ous[0].descriptor_b64  # kept for remediation


def test_fresh_domain_without_gpttmpl_and_ascii_template_from_samba_tool(bare_dc: SambaDC) -> None:
    s = settings(bare_dc)
    fresh = read_sysvol(s, bare_dc.dns_domain)
    assert fresh.readable and fresh.value.present is False and fresh.value.minimum_password_age is None
    bare_dc.samba_tool("gpo", "manage", "security", "set", "{31B2F340-016D-11D2-945F-00C04FB984F9}",
                       "MinimumPasswordAge", "0")
    ascii_file = read_sysvol(s, bare_dc.dns_domain)
    assert ascii_file.readable and ascii_file.value.present
    assert ascii_file.value.encoding == "ascii" and ascii_file.value.minimum_password_age == 0
