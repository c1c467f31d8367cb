"""Inputs main did not evaluate, read over HTTP by the real msgraph-sdk from the lab emulator (issue 30).

- `allowedToUseSSPR` absent from authorizationPolicy (recent tenants): `unknown`, with the reason (Microsoft documents
  admins as enabled by default, not what an absent property means: learn.microsoft.com/entra/identity/
  authentication/concept-sspr-policy), never skipped or failed.
- The methods policy's own `reconfirmationInDays` (Graph v1.0 schema, no documented meaning): read and reported
  beside the portal's interval, and a disagreement is said; it never decides the verdict.
"""

from __future__ import annotations

from pathlib import Path

from ruamel.yaml import YAML

from auditor.app.audit import ExitPolicy, audit
from auditor.checks.base import Status
from auditor.endpoints import Endpoints
from auditor.lab.emulator import Faults
from auditor.lab.scenario import load_scenario
from auditor.lab.server import LabServer
from auditor.policy.loader import load_policy
from auditor.readers.collect import CollectOptions, collect
from auditor.readers.credentials import LabTokenCredential
from auditor.readers.reach import Reached

ROOT = Path(__file__).resolve().parents[2]
BASELINE = ROOT / "policies" / "baseline.yaml"
SCENARIO = ROOT / "auditor" / "lab" / "scenarios" / "baseline.yaml"


def test_absent_admin_sspr_is_unknown_and_the_methods_policy_interval_is_reported(tmp_path: Path) -> None:
    data = YAML(typ="safe", pure=True).load(SCENARIO.read_text())
    data.pop("lab_domain_users", None)
    data["authentication_methods_policy"]["reconfirmationInDays"] = 90
    path = tmp_path / "inputs.yaml"
    YAML(typ="safe", pure=True).dump(data, path)
    # the property left out of the answer, as a recent tenant's authorizationPolicy does
    with LabServer(load_scenario(str(path)), faults=Faults(
            drop_fields={"authorization_policy": ["allowedToUseSSPR"]})) as lab:
        credential = LabTokenCredential()
        endpoints = Endpoints(graph_url=lab.graph_url, portal_url=lab.portal_url, portal=True)
        snapshot = collect(CollectOptions(Reached(endpoints, origin="lab:test", graph_credential=credential,
                                                  portal_credential=credential)))
    # absent is not false: the wire model (readers/graph_wire.py) makes the section unreadable, naming the field
    assert not snapshot.authorization_policy.readable
    assert "allowedToUseSSPR" in (snapshot.authorization_policy.error or "")
    assert snapshot.methods_policy.value.reconfirmation_in_days == 90
    got = {(f.check, f.target): f for f in audit(load_policy(BASELINE), snapshot, ExitPolicy()).findings}

    admin = [f for (check, _), f in got.items() if check == "admin_sspr"]
    assert admin and all(f.status == Status.unknown and "allowedToUseSSPR" in f.reason for f in admin), admin

    interval = got[("sspr.registration", "reconfirm interval")]
    shown = {e.field: e.value for e in interval.evidence}
    assert shown["reconfirmationInDays"] == 90
    portal = interval.actual
    assert portal != 90 and f"reconfirmationInDays is 90, the portal's interval {portal}" in interval.reason
