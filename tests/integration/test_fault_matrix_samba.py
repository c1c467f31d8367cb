"""The fault matrix's on-premises rows, against a real Samba AD DC: `sspr-audit check --ad-host` while the
DC is stopped or hangs in the middle of a paged LDAP search, is down or hung before the run, refuses the
bind, or denies the SYSVOL share; and `apply` with the DC stopped between two LDAP writes, then rollback.

Each row asserts the exit code, no traceback, the sections that must be unreadable (with the reason),
that the AD checks needing them are `unknown` and never `pass`, and that every other check is as in a
fault-free run against the same domain. The cloud side is the lab emulator's `baseline` tenant. Rows
join the table printed when pytest ends (tests/helpers/fault_matrix.py).
"""

from __future__ import annotations

import json
import os
import re
import signal
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from samba_fixtures import fresh_dc, running

from auditor.checks.registry import all_checks
from auditor.exit_codes import Exit
from auditor.lab.server import LabServer
from auditor.lab_domain import domain_seed, samba
from auditor.lab_domain.samba import SambaDC
from tests.helpers.fault_matrix import Row, Run, assert_no_traceback, record, run_cli

pytestmark = pytest.mark.samba

ROOT = Path(__file__).resolve().parents[2]
BASELINE = ROOT / "policies" / "baseline.yaml"
CHECK_SECTIONS = {check.spec.id: set(check.spec.sections) for check in all_checks()}
PAGE = 1000  # the reader's LDAP page size: more users than this in one OU make its search span pages


@pytest.fixture(scope="module")
def emulator() -> Iterator[LabServer]:
    with LabServer("baseline") as server:
        yield server


def audit_with_dc(emulator: LabServer, dc: SambaDC, out: Path, *, password: str | None = None,
                  timeout: float = 30.0) -> Run:
    os.environ["SSPR_AD_PASSWORD"] = password or dc.admin_password
    try:
        run = run_cli("check", str(BASELINE), "--graph-url", emulator.graph_url, "--auth", "lab", "--portal",
                      "--portal-url", emulator.portal_url, "--portal-auth", "lab", "--out", str(out),
                      "--format", "json", "--timeout", str(timeout), "--ad-host", dc.address,
                      "--ad-user", dc.admin_upn, "--ad-ca-file", str(dc.ca_file))
    finally:
        del os.environ["SSPR_AD_PASSWORD"]
    report = out / "sspr-audit.json"
    run.report = json.loads(report.read_text()) if report.exists() else None
    return run


def statuses_by_check(report: dict[str, Any]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for finding in report["findings"]:
        out.setdefault(finding["check"], []).append(finding["status"])
    return {check: sorted(found) for check, found in out.items()}


@pytest.fixture(scope="module")
def control(emulator: LabServer, tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[str]]:
    for dc in running("baseline"):
        run = audit_with_dc(emulator, dc, tmp_path_factory.mktemp("control"))
    assert run.code == 0, run.stdout + run.stderr
    assert run.report is not None
    return statuses_by_check(run.report)


# -- faults ---------------------------------------------------------------------------------------

def deny_sysvol(dc: SambaDC) -> None:
    """The [sysvol] share refuses every user: tree connect answers STATUS_ACCESS_DENIED."""
    conf = dc.smb_conf.read_text()
    conf, count = re.subn(r"(\[sysvol\]\n)", r"\1\tvalid users = CORP\\nobody\n", conf, flags=re.IGNORECASE)
    assert count == 1
    dc.smb_conf.write_text(conf)


def many_users(dc: SambaDC) -> None:
    domain_seed.bulk_users(dc, PAGE + 100)  # OU=Staff now needs two pages


def hang(dc: SambaDC) -> None:
    """The DC stops answering but keeps its sockets open (SIGSTOP): connections wait, nothing is refused."""
    assert dc.pid is not None
    os.kill(dc.pid, signal.SIGSTOP)


def before_second_page(monkeypatch: pytest.MonkeyPatch, act: Callable[[], None]) -> None:
    """Run `act` just before the reader asks for the second page of a paged search."""
    import ldap3

    search = ldap3.Connection.search
    done: list[bool] = []

    def paged_search(self: Any, *args: Any, **kwargs: Any) -> Any:
        if kwargs.get("paged_cookie") and not done:
            done.append(True)
            act()
        return search(self, *args, **kwargs)

    monkeypatch.setattr(ldap3.Connection, "search", paged_search)


@dataclass(frozen=True)
class DcFault:
    name: str
    fault: str
    unreadable: dict[str, tuple[str, ...]]
    """section → fragments, one of which its error holds"""
    setup: Callable[[SambaDC], None] | None = None
    """on the stopped clone, before it starts"""
    before_run: Callable[[SambaDC], None] | None = None
    mid_search: Callable[[SambaDC], None] | None = None
    password: str | None = None
    timeout: float = 30.0


LDAP_LOST = ("LDAP error while reading", "connection to")
DC_FAULTS = [
    DcFault("LDAP stopped mid-search", "DC stopped before page 2 of the user search",
            {"directory": LDAP_LOST, "sysvol": ("cannot reach SMB",)}, setup=many_users, mid_search=samba.SambaDC.stop),
    DcFault("LDAP hangs mid-search", "DC hangs (SIGSTOP) before page 2, --timeout 3",
            {"directory": ("timed out",)}, setup=many_users, mid_search=hang, timeout=3.0),
    DcFault("DC hung", "DC hangs (SIGSTOP) before the run, --timeout 3",
            {"directory": ("did not answer within 3 s",)}, before_run=hang, timeout=3.0),
    DcFault("DC down", "DC stopped before the run", {"directory": ("cannot reach",), "sysvol": ("cannot reach SMB",)},
            before_run=samba.SambaDC.stop),
    DcFault("bind refused", "wrong bind password",
            {"directory": ("invalid credentials",), "sysvol": ("refused",)}, password="not-the-password"),
    DcFault("SYSVOL denied", "[sysvol] share denies every user", {"sysvol": ("access denied",)}, setup=deny_sysvol),
]


def affected(report: dict[str, Any], failed: set[str]) -> list[str]:
    return sorted({f["check"] for f in report["findings"] if CHECK_SECTIONS[f["check"]] & failed})


@pytest.mark.parametrize("case", DC_FAULTS, ids=[case.name for case in DC_FAULTS])
def test_domain_controller_fault(case: DcFault, emulator: LabServer, control: dict[str, list[str]], tmp_path: Path,
                                 monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest) -> None:
    observed = {"unreadable": "?", "unknown": "?", "exit": "?"}
    dc = fresh_dc("baseline")
    try:
        if case.setup:
            case.setup(dc)
        dc.start()
        if case.before_run:
            case.before_run(dc)
        if case.mid_search:
            before_second_page(monkeypatch, lambda: case.mid_search(dc))  # type: ignore[misc]
        run = audit_with_dc(emulator, dc, tmp_path, password=case.password, timeout=case.timeout)
        assert run.report is not None, run.stderr
        failed = {s["name"]: s["error"] or "" for s in run.report["sections"]
                  if not s["readable"] and s["name"] in ("directory", "sysvol")}
        by_check = statuses_by_check(run.report)
        unknown = sorted(c for c, found in by_check.items() if found.count("unknown") > control[c].count("unknown"))
        observed = {"unreadable": ", ".join(sorted(failed)) or "-",
                    "unknown": ", ".join(unknown) if len(unknown) < 3 else f"all {len(unknown)} ad.* checks",
                    "exit": str(run.code)}

        assert run.code == 3, run.stdout + run.stderr
        assert_no_traceback(run)
        assert set(failed) == set(case.unreadable), failed
        for name, fragments in case.unreadable.items():
            assert any(fragment in failed[name] for fragment in fragments), (name, failed[name])
        needing = affected(run.report, set(failed))
        could_judge = {c for c in needing if set(control[c]) != {"not_applicable"}}
        # every AD check needing the lost section is unknown; a check with another source (client.sign_in_reset,
        # which Intune can decide) may still decide from it, with evidence from that readable source (below)
        # ad.acl.unexpire_password reads SYSVOL only to learn whether passwords expire: a sync account that holds
        # the right passes either way, decided from the DACL read over LDAP (its evidence, checked below)
        must_be_unknown = {c for c in could_judge if c.startswith("ad.") and c != "ad.acl.unexpire_password"}
        assert needing and must_be_unknown <= set(unknown) <= could_judge, by_check
        failed_sources = {s["source"] for s in run.report["sections"] if s["name"] in failed}
        for finding in run.report["findings"]:
            if finding["check"] not in needing:
                assert by_check[finding["check"]] == control[finding["check"]], finding
            elif finding["status"] == "unknown":
                assert any(error in (finding["reason"] or "") for error in failed.values()), finding
            elif finding["status"] in ("pass", "fail"):
                # a check reading two sources (the GPO on SYSVOL, minPwdAge over LDAP) may decide one finding
                # from the source that was read: never without a value from a readable source
                assert any(e["value"] is not None and not any(e["source"] in bad for bad in failed_sources)
                           for e in finding["evidence"]), finding
        verdict = "ok"
    except BaseException:
        verdict = "FAILED"
        raise
    finally:
        monkeypatch.undo()
        if dc.pid is not None:
            os.kill(dc.pid, signal.SIGCONT)
        samba.remove(dc)
        record(request.config, Row("ad", case.name, case.fault, observed["unreadable"], observed["unknown"],
                                   observed["exit"], verdict))


# -- apply with the DC stopped between two writes ------------------------------------------------------

def raw_state(dc: SambaDC) -> dict[str, bytes]:
    """The descriptors and password ages the demo plan changes, read directly (not through the writers)."""
    from ldap3 import BASE

    conn = domain_seed.admin_connection(dc)
    base = dc.base_dn
    try:
        out = {dn: domain_seed.read_descriptor(conn, dn)
               for dn in (f"OU=Sales,{base}", f"OU=Staff,{base}", base, f"CN=AdminSDHolder,CN=System,{base}")}
        pso = f"CN=PSO-Sales,CN=Password Settings Container,CN=System,{base}"
        for dn, attribute in ((base, "minPwdAge"), (pso, "msDS-MinimumPasswordAge")):
            conn.search(dn, "(objectClass=*)", BASE, attributes=[attribute])
            out[f"{dn}:{attribute}"] = bytes(conn.response[0]["raw_attributes"][attribute][0])
    finally:
        conn.unbind()
    return out


def test_dc_stopped_between_two_ldap_writes_then_rollback(emulator: LabServer, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch,
                                                          request: pytest.FixtureRequest) -> None:
    import ldap3

    observed = "?"
    dc = fresh_dc("demo")
    plan, backup = tmp_path / "plan.json", tmp_path / "plan.backup.json"
    ad = ["--ad-host", dc.address, "--ad-user", dc.admin_upn, "--ad-ca-file", str(dc.ca_file)]
    monkeypatch.setenv("SSPR_AD_PASSWORD", dc.admin_password)
    try:
        dc.start()
        planned = run_cli("plan", str(BASELINE), "--graph-url", emulator.graph_url, "--auth", "lab", "--portal",
                          "--portal-url", emulator.portal_url, "--portal-auth", "lab", "--out", str(plan), *ad)
        assert planned.code == 4, planned.stdout + planned.stderr
        assert "[ldap]" in planned.stdout
        before = raw_state(dc)

        modify = ldap3.Connection.modify
        calls: list[int] = []

        def modify_then_stop(self: Any, *args: Any, **kwargs: Any) -> Any:
            calls.append(1)
            if len(calls) == 2:
                dc.stop()  # the DC goes away after the first write landed
            return modify(self, *args, **kwargs)

        monkeypatch.setattr(ldap3.Connection, "modify", modify_then_stop)
        applied = run_cli("apply", str(plan), "--yes", "--backup", str(backup))
        monkeypatch.setattr(ldap3.Connection, "modify", modify)
        observed = str(applied.code)
        assert applied.code == Exit.failed, applied.stdout + applied.stderr
        assert_no_traceback(applied)
        assert f"sspr-audit rollback {backup}" in applied.stderr
        assert "APPLIED" in applied.stdout and "FAILED" in applied.stdout

        dc.start()
        assert raw_state(dc) != before  # the first write is in place: a partial apply
        rolled = run_cli("rollback", str(backup), "--yes")
        observed += f", rollback {rolled.code}"
        assert rolled.code == 0, rolled.stdout + rolled.stderr
        assert_no_traceback(rolled)
        assert raw_state(dc) == before  # byte for byte: nothing of the partial apply is left
        verdict = "ok"
    except BaseException:
        verdict = "FAILED"
        raise
    finally:
        samba.remove(dc)
        record(request.config, Row("apply", "apply LDAP stopped", "DC stopped between two LDAP writes", "-", "-",
                                   observed, verdict))
