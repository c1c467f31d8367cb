"""The AD readers without a DC: unreachable hosts, error wording, filter escaping; the lab's guards."""

from __future__ import annotations

from typing import Any

import pytest

from auditor.endpoints import AdEndpoint
from auditor.lab_domain import samba
from auditor.readers import directory as reader
from auditor.readers.directory import AdSettings, read_directory
from auditor.readers.onpremises import read_on_premises
from auditor.readers.sysvol import read_sysvol
from tests.unit.cases_ad import baseline_policy

CLOSED = AdSettings(AdEndpoint(host="127.0.0.1", user="audit@CORP.EXAMPLE.TEST"), password="s3cret!", port=1,
                    timeout=2)


def test_password_never_shows_in_repr() -> None:
    assert "s3cret!" not in repr(CLOSED)
    assert CLOSED.url == "ldaps://127.0.0.1:1"
    settings = AdSettings(AdEndpoint(host="10.0.0.1", user="u", tls="starttls"), password="p")
    assert settings.url == "ldap://10.0.0.1:389"


def test_unreachable_ldap_is_a_failed_section_with_the_reason() -> None:
    section = read_directory(CLOSED, baseline_policy().directory)
    assert not section.readable and section.value is None
    assert section.error.startswith("cannot reach ldaps://127.0.0.1:1")
    assert "s3cret!" not in section.model_dump_json()


def test_unreachable_smb_and_unknown_domain() -> None:
    settings = AdSettings(AdEndpoint(host="127.0.0.253", user="u"), password="p", timeout=2)
    section = read_sysvol(settings, "corp.example.test")
    assert not section.readable and "cannot reach SMB on 127.0.0.253:445" in section.error
    directory, sysvol, gpo_sign_in_reset, _ = read_on_premises(
        AdSettings(AdEndpoint(host="127.0.0.253", user="u", base_dn="DC=corp,DC=example,DC=test"), password="p",
                   timeout=2),
        baseline_policy().directory)
    assert not directory.readable and not sysvol.readable
    assert "corp.example.test" in sysvol.source
    assert not gpo_sign_in_reset.readable and "directory, which could not be read" in gpo_sign_in_reset.error


@pytest.mark.parametrize(("result", "expected"), [
    ({"result": 49, "message": "80090308: LdapErr: DSID-0C0903A9, comment: AcceptSecurityContext error, data 52e"},
     "invalid credentials: wrong password (LDAP 49)"),
    ({"result": 49, "message": "data 533, v1db1"}, "account disabled"),
    ({"result": 8, "description": "strongerAuthRequired", "message": "BindSimple: Transport encryption required."},
     "requires an encrypted connection"),
])
def test_bind_failures_are_worded_for_people(result: dict[str, Any], expected: str) -> None:
    assert expected in reader._bind_failure(CLOSED, result)


class RecordingConnection:
    """Answers every search with nothing and remembers the filters it was given."""

    def __init__(self) -> None:
        self.filters: list[str] = []
        self.result: dict[str, Any] = {"result": 0}
        self.response: list[dict[str, Any]] = []

    def search(self, base: str, search_filter: str, *args: Any, **kwargs: Any) -> bool:
        self.filters.append(search_filter)
        self.response = []
        return True


def test_filter_values_are_escaped() -> None:
    conn = RecordingConnection()
    policy = baseline_policy(service_account="MSOL_*)(cn")
    settings = AdSettings(AdEndpoint(host="h", user="u"), password="p")
    found = reader._Reader(conn, settings, policy.directory).service_account("DC=x", "S-1-5-21-1-2-3")
    assert found is None
    assert conn.filters == [r"(&(objectClass=user)(sAMAccountName=MSOL_\2a\29\28cn))"]
    reader._Reader(conn, settings, policy.directory).resolve_groups("DC=x", ["S-1-5-21-1-2-3-513"])
    assert conn.filters[-1].startswith("(|(objectSid=S-1-5-21-1-2-3-513))")


def test_every_descriptor_search_sends_the_sd_flags_control() -> None:
    seen: list[Any] = []

    class Conn(RecordingConnection):
        def search(self, base: str, search_filter: str, *args: Any, **kwargs: Any) -> bool:
            seen.append((search_filter, kwargs.get("attributes"), kwargs.get("controls")))
            return super().search(base, search_filter)

    policy = baseline_policy()
    r = reader._Reader(Conn(), AdSettings(AdEndpoint(host="h", user="u"), password="p"), policy.directory)
    r.secured("OU=Staff,DC=x")
    list(r.paged("OU=Staff,DC=x", "(objectClass=user)", ["nTSecurityDescriptor"], sd=True))
    for _, attributes, controls in seen:
        assert "nTSecurityDescriptor" in attributes
        assert controls and str(controls[0]["controlType"]) == "1.2.840.113556.1.4.801"  # SD flags


def test_lab_explains_why_samba_cannot_run(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(samba.os, "geteuid", lambda: 1000)
    assert "needs root" in (samba.unavailable_reason() or "")
    monkeypatch.setattr(samba.os, "geteuid", lambda: 0)
    monkeypatch.setattr(samba, "_which", lambda tool: None if tool == "samba" else "/usr/bin/" + tool)
    reason = samba.unavailable_reason() or ""
    assert "missing samba" in reason and reason.endswith("apt-get install samba")


def test_lab_domain_that_cannot_run_makes_ad_unknown_never_pass(monkeypatch: pytest.MonkeyPatch) -> None:
    from auditor.app.audit import OnPremisesRequest, collect_on_premises
    from auditor.checks.registry import all_checks, run_check
    from auditor.snapshot.models import Snapshot

    monkeypatch.setattr(samba, "unavailable_reason", lambda: "the Samba lab DC needs root")
    policy = baseline_policy()
    sections = collect_on_premises(OnPremisesRequest(directory=policy.directory, lab_scenario="demo"))
    assert "cannot run on this machine: the Samba lab DC needs root" in (sections.directory.error or "")
    assert not sections.sysvol.readable
    assert "needs root" in (sections.gpo_sign_in_reset.error or "")
    snapshot = Snapshot(tool_version="t", origin="lab:demo", **sections._asdict())
    findings = [f for c in all_checks() if c.spec.id.startswith("ad.") for f in run_check(c, policy, snapshot)]
    # every ad.* check the baseline asks for is unknown (Unexpire Password too: whether passwords expire is unread)
    assert {f.status.value for f in findings} == {"unknown"}
    assert all("needs root" in (f.reason or "") for f in findings if f.status.value == "unknown")


def test_no_dc_and_unknown_lab_scenario_are_reasons_too() -> None:
    from auditor.app.audit import OnPremisesRequest, collect_on_premises

    directory = baseline_policy().directory
    not_asked, *_ = collect_on_premises(OnPremisesRequest(directory=directory, not_asked="give --ad-host"))
    assert not_asked.error == "give --ad-host"
    other, *_ = collect_on_premises(OnPremisesRequest(directory=directory, lab_scenario="coverage"))
    assert "no domain for scenario 'coverage'" in (other.error or "")


def test_run_folders_of_dead_processes_are_swept(tmp_path) -> None:
    import os

    from auditor.lab_domain.domain_seed import _sweep_runs

    dead, alive = tmp_path / "demo-999999999-1", tmp_path / f"demo-{os.getpid()}-2"
    dead.mkdir()
    alive.mkdir()
    _sweep_runs(tmp_path)
    assert not dead.exists() and alive.exists()
