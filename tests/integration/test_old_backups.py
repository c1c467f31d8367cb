"""A backup written by the previous release (formats 2 and 3) still rolls back after upgrading (issue 31 follow-up).

The fixtures in tests/fixtures/old_backups were written by that release itself, not by hand:
`git worktree add /tmp/old db8ef01` (format 3) and `3e388f6^` (format 2), then in each, with this repository's
venv, `PYTHONPATH=/tmp/old python -m auditor.cli plan cloud.yaml --lab demo --out plan.json` and
`... apply plan.json --lab demo --yes --backup backup.json`, where cloud.yaml is policies/baseline.yaml without its
`directory` section (that release could not apply AD changes in the lab). The signed one was made with
SSPR_PLAN_KEY=SIGNING_KEY below.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from auditor.cli import main
from auditor.endpoints import AuthKind, Endpoints
from auditor.exit_codes import Exit
from auditor.lab.server import LabServer
from auditor.readers.credentials import LabTokenCredential
from auditor.readers.reach import Reached
from auditor.remediation.apply import _make_writer, load_backup
from auditor.remediation.changes import PlanError
from auditor.remediation.legacy_backup import converted
from auditor.remediation.session import Session

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "old_backups"
SIGNING_KEY = "GOBKfQ+krmaRFd3V0+g67ioDkHI8LuHIj6w0TiodKu4="  # a test key, written into no other file
OLD = {"format2": FIXTURES / "format2-lab-demo.json", "format3": FIXTURES / "format3-lab-demo.json"}


@pytest.fixture(autouse=True)
def unkeyed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SSPR_PLAN_KEY", raising=False)
    monkeypatch.setenv("SSPR_LOCK_DIR", str(tmp_path / "locks"))


@pytest.fixture(name="lab")
def lab_fixture() -> Iterator[LabServer]:
    with LabServer("demo") as server:
        as_the_old_release_seeded_it(server)
        yield server


def as_the_old_release_seeded_it(lab: LabServer) -> None:
    """The demo tenant as the release that wrote these backups seeded it: issue #35 seeded today's demo with a custom
    banned list that is not enforced and a custom security question, where that release's demo enforced the list and
    chose predefined questions only (its backups hold them as read then)."""
    sspr = lab.state.tenant.password_reset_policies
    sspr["securityQuestions"] = [q for q in sspr["securityQuestions"] if not q["isCustom"]]
    [setting] = lab.state.tenant.group_settings
    for value in setting["values"]:
        if value["name"] == "EnableBannedPasswordCheck":
            value["value"] = "True"


def reached(lab: LabServer) -> Reached:
    credential = LabTokenCredential()
    endpoints = Endpoints(graph_url=lab.graph_url, portal=True, portal_url=lab.portal_url, auth=AuthKind.lab,
                          portal_auth=AuthKind.lab)
    return Reached(endpoints, graph_credential=credential, portal_credential=credential, origin="graph:lab")


def tenant_state(lab: LabServer) -> str:
    """The objects the old apply wrote, as the emulator holds them (Graph's own stamps and ids left out: no
    client can put those back; tests/integration/test_apply_crash_points.py says why)."""
    tenant = lab.state.tenant
    methods = {k: v for k, v in tenant.authentication_methods_policy.items() if k != "lastModifiedDateTime"}
    return json.dumps({"sspr": tenant.password_reset_policies, "onprem": tenant.on_premises_password_reset_policies,
                       "authorization": tenant.authorization_policy, "methods": methods,
                       "group_settings": [{k: v for k, v in s.items() if k != "id"} for s in tenant.group_settings]},
                      sort_keys=True)


@pytest.mark.parametrize("name", sorted(OLD))
def test_an_old_backup_rolls_back_what_the_old_apply_wrote(name: str, lab: LabServer, tmp_path: Path) -> None:
    backup = load_backup(OLD[name])
    assert backup.source.origin == "lab:demo" and backup.source.endpoints.ad is None
    written = [obj for obj in backup.objects if obj.written]
    assert written and all(obj.after is not None for obj in written)
    original = tenant_state(lab)
    with Session(reached(lab), _make_writer) as session:  # the lab as the old apply left it
        for obj in written:
            session.writer(obj.writer).restore(obj.model_copy(update={"data": obj.after}))
    assert tenant_state(lab) != original

    urls = ["--graph-url", lab.graph_url, "--portal-url", lab.portal_url]
    assert main(["rollback", str(OLD[name]), *urls]) == Exit.ok  # the dry run
    assert tenant_state(lab) != original
    assert main(["rollback", str(OLD[name]), *urls, "--yes"]) == Exit.ok
    assert tenant_state(lab) == original


@pytest.mark.parametrize("name", sorted(OLD))
def test_an_edited_old_backup_is_refused_by_its_own_seal(name: str, tmp_path: Path) -> None:
    data = json.loads(OLD[name].read_text())
    data["objects"][0]["data"]["enablementType"] = 0  # what rollback would write back: edited
    edited = tmp_path / "edited.json"
    edited.write_text(json.dumps(data, indent=2))
    with pytest.raises(PlanError, match=r"edited\.json:\d+:\d+: the backup was edited after it was written"):
        load_backup(edited)
    data = json.loads(OLD[name].read_text())
    data["source"]["ad_host"] = "10.0.0.9"  # retargeted: the seal covers the source too
    edited.write_text(json.dumps(data, indent=2))
    with pytest.raises(PlanError, match="its digest does not match"):
        load_backup(edited)


def test_a_signed_old_backup_needs_its_key(monkeypatch: pytest.MonkeyPatch) -> None:
    signed = FIXTURES / "format3-lab-demo-signed.json"
    with pytest.raises(PlanError, match="the backup is signed: set SSPR_PLAN_KEY"):
        load_backup(signed)
    monkeypatch.setenv("SSPR_PLAN_KEY", "k7Vq2mXz9pR4tLw8Yc1Nf6Hd3Jb5Gs0Ae" + "Qx")
    with pytest.raises(PlanError, match="signature does not match"):
        load_backup(signed)
    monkeypatch.setenv("SSPR_PLAN_KEY", SIGNING_KEY)
    assert load_backup(signed).source.read_tenant_id == "9c1d7e4b-2a3f-4b5c-8d6e-7f8091a2b3c4"


def test_the_old_source_fields_become_todays_endpoints() -> None:
    document = json.loads(OLD["format3"].read_text())
    document["source"] |= {"graph_url": "https://graph.microsoft.com/v1.0", "auth": "azure-cli",
                           "portal_url": "https://main.iam.ad.ext.azure.com/api", "portal_auth": "device-code",
                           "tenant_id": "contoso.onmicrosoft.com", "ad_host": "dc1.corp.example", "ad_tls": "ldaps",
                           "ad_user": "svc@CORP", "ad_ca_file": "/etc/ca.pem", "smb_host": "fs1.corp.example"}
    source = converted(document)["source"]
    assert converted(json.loads(OLD["format3"].read_text()))["source"]["endpoints"] == {"portal_auth": "lab"}
    assert source["endpoints"] == {
        "graph_url": "https://graph.microsoft.com/v1.0", "auth": "azure-cli", "portal": True,
        "portal_url": "https://main.iam.ad.ext.azure.com/api", "portal_auth": "device-code",
        "tenant_id": "contoso.onmicrosoft.com",
        "ad": {"host": "dc1.corp.example", "user": "svc@CORP", "tls": "ldaps", "ca_file": "/etc/ca.pem",
               "smb_host": "fs1.corp.example"}}
    assert source["origin"] == "lab:demo" and source["read_tenant_id"] == document["source"]["read_tenant_id"]


def test_an_old_plan_is_still_refused_with_the_clear_message(tmp_path: Path) -> None:
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps({"format": "sspr-auditor-plan", "format_version": 2, "tool_version": "0.9"}))
    assert main(["apply", str(plan)]) == Exit.usage
