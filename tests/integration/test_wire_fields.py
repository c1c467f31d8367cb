"""Generated from the wire models: every field a check reads, deleted and retyped in every row the lab serves.

For each wire model (readers/graph_wire.py, readers/portal.py) and each field it names, nested ones included,
the lab emulator serves the endpoint with that field deleted (and, separately, retyped: `FieldFault`) and the
full cloud audit runs through the real msgraph-sdk client and the portal reader, in-process, against one lab
server per scenario. Compared with a fault-free control run of the same server:

* no finding is new: each is `unknown`, or equal to a control finding (check, target, status, actual), so a
  missing field never makes a pass, a not_applicable or a fail that the data does not show;
* a field the model requires, once changed in at least one row, makes its section unreadable with the field
  named (or, for a group's members, that group's members unknown): the findings that need it are `unknown`.

The list of fields is derived from the models (`graph_wire.required_fields`, `select`, pydantic's
`model_fields`), never written here; only which endpoint and section serve each model is.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from auditor.lab.emulator import Faults, FieldFault
from auditor.lab.server import LabServer
from auditor.readers.conditional_access_wire import RegistrationPolicyWire
from auditor.readers.graph_wire import (
    AuthenticatorConfigurationWire,
    AuthorizationPolicyWire,
    DeviceConfigurationWire,
    DirectoryAuditWire,
    DomainWire,
    GroupSettingWire,
    MemberWire,
    MethodsPolicyWire,
    RegistrationWire,
    SecureScoreProfileWire,
    SecureScoreWire,
    SubscribedSkuWire,
    UserWire,
    VoiceConfigurationWire,
    required_fields,
    select,
)
from auditor.readers.portal import OnPremisesPasswordResetPoliciesWire, PasswordResetPoliciesWire
from tests.helpers.fault_matrix import assert_no_traceback, run_cli

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Wire:
    model: Any
    endpoint: str
    rows: str  # the path to one row in the JSON the endpoint serves: "value[*]" for a collection, "" for an object
    section: str
    scenario: str = "baseline"
    named_in: str = "reason"  # where a finding names the field: an unknown's reason, or "evidence" of a
    # section no verdict rests on (the seats are licensing's evidence), or "" when no check reads the section


WIRES = (
    Wire(UserWire, "users", "value[*]", "cloud_users"),
    Wire(RegistrationWire, "registration_details", "value[*]", "registration_details"),
    Wire(AuthorizationPolicyWire, "authorization_policy", "", "authorization_policy"),
    Wire(MethodsPolicyWire, "methods_policy", "", "methods_policy"),
    # the per-configuration models: a path into every configuration changes only those that carry the field
    Wire(AuthenticatorConfigurationWire, "methods_policy", "authenticationMethodConfigurations[*]", "methods_policy"),
    Wire(VoiceConfigurationWire, "methods_policy", "authenticationMethodConfigurations[*]", "methods_policy"),
    Wire(PasswordResetPoliciesWire, "portal_sspr", "", "sspr_policy"),
    Wire(OnPremisesPasswordResetPoliciesWire, "portal_onprem", "", "onprem_writeback"),
    Wire(MemberWire, "groups", "value[*]", "scope_groups", "demo"),  # the baseline scopes SSPR to all users
    Wire(SubscribedSkuWire, "subscribed_skus", "value[*]", "subscribed_skus", named_in="evidence"),
    Wire(SecureScoreWire, "secure_scores", "value[*]", "secure_score"),
    Wire(SecureScoreProfileWire, "secure_score_profiles", "value[*]", "secure_score"),
    Wire(DirectoryAuditWire, "directory_audits", "value[*]", "sspr_activity", named_in=""),  # the report's figures
    Wire(GroupSettingWire, "group_settings", "value[*]", "password_rules"),
    Wire(DeviceConfigurationWire, "device_configurations", "value[*]", "intune_sign_in_reset"),
    Wire(RegistrationPolicyWire, "ca_policies", "value[*]", "conditional_access"),
    Wire(DomainWire, "domains", "value[*]", "domains"),  # hybrid.authentication (issue #35)
)


@dataclass(frozen=True)
class Case:
    wire: Wire
    field: str  # as the model names it, nested with [*]: assignedPlans[*].servicePlanId
    required: bool
    action: str

    @property
    def path(self) -> str:
        steps = re.findall(r"\[\*\]|@[^\[]+|[^.\[]+", self.field)  # "@odata.type" is one name
        text = self.wire.rows
        for step in steps:
            if step == "[*]":
                text += "[*]"
            elif "@" in step or "." in step:
                text += f'["{step}"]'
            else:
                text += f".{step}" if text else step
        return text

    @property
    def id(self) -> str:
        return f"{self.wire.endpoint}:{self.path}:{self.action}"


def _fields(model: Any) -> list[tuple[str, bool]]:
    """Every field of a wire model: those it requires (nested ones included), then the optional ones."""
    required = required_fields(model)
    return [(name, True) for name in required] + [(name, False) for name in select(model) if name not in required]


def _cases() -> list[Case]:
    """One case per (endpoint, path, action): a field two models share (a configuration's `id`) is run once."""
    cases: dict[tuple[str, str, str], Case] = {}
    for wire in WIRES:
        for field, required in _fields(wire.model):
            for action in ("delete", "retype"):
                case = Case(wire, field, required, action)
                cases.setdefault((wire.endpoint, case.path, action), case)
    return list(cases.values())


CASES = _cases()
# issue #30: each of these gave a verdict the data did not show
PROBES = ("users:value[*].accountEnabled:delete", "users:value[*].assignedPlans:delete",
          "registration_details:value[*].isSsprRegistered:delete")


@pytest.fixture(scope="module")
def cloud_policy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """policies/baseline.yaml without `directory`: every cloud check, no domain controller."""
    yaml = YAML(typ="rt")
    document = yaml.load((ROOT / "policies" / "baseline.yaml").read_text())
    del document["directory"]
    path = tmp_path_factory.mktemp("policy") / "baseline-cloud.yaml"
    with path.open("w") as handle:
        yaml.dump(document, handle)
    return path


@dataclass
class Lab:
    server: LabServer
    control: dict[str, Any]


@pytest.fixture(scope="module")
def labs(cloud_policy: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[[str], Lab]]:
    """One lab server per scenario for the whole module (reads write nothing), with its fault-free report."""
    with contextlib.ExitStack() as stack:
        servers: dict[str, Lab] = {}

        def lab_for(scenario: str) -> Lab:
            if scenario not in servers:
                server = stack.enter_context(LabServer(scenario))
                report = _audit(server, cloud_policy, tmp_path_factory.mktemp(f"control-{scenario}"))
                assert not [s for s in report["sections"] if not s["readable"] and s["name"] in SECTIONS], report
                servers[scenario] = Lab(server, report)
            return servers[scenario]

        yield lab_for


SECTIONS = {wire.section for wire in WIRES}


def _audit(server: LabServer, policy: Path, out: Path) -> dict[str, Any]:
    run = run_cli("check", str(policy), "--graph-url", server.graph_url, "--auth", "lab", "--portal",
                  "--portal-url", server.portal_url, "--portal-auth", "lab", "--out", str(out), "--format", "json")
    assert_no_traceback(run)
    report = out / "sspr-audit.json"
    assert report.exists(), run.stdout + run.stderr
    return json.loads(report.read_text())  # type: ignore[no-any-return]


def _key(finding: dict[str, Any]) -> tuple[str, str, str, str]:
    actual = finding["actual"]
    if isinstance(actual, dict):  # the lab serves history shifted to the current second: its `as_of` moves
        actual = {key: value for key, value in actual.items() if key != "as_of"}
    return (finding["check"], finding["target"], finding["status"], json.dumps(actual, sort_keys=True))


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_field_absent_or_retyped_is_never_a_verdict(case: Case, labs: Callable[[str], Lab], cloud_policy: Path,
                                                    tmp_path: Path) -> None:
    lab = labs(case.wire.scenario)
    server = lab.server
    server.faults = Faults(field_faults={case.wire.endpoint: [FieldFault(path=case.path, action=case.action)]})
    server.state.clear_log()
    try:
        report = _audit(server, cloud_policy, tmp_path)
        hits = server.state.field_fault_hits.get(case.path, 0)
    finally:
        server.faults = Faults()

    control = {_key(f) for f in lab.control["findings"]}
    verdicts = {_key(f)[:3] for f in lab.control["findings"]}
    faulted = next(s["source"] for s in report["sections"] if s["name"] == case.wire.section)
    # a verdict unlike the control's is allowed only as the control's own status, reached by a named inference
    # from sources that were read (the fault matrix's rule): "scope inferred from userRegistrationDetails"
    new = [(f["check"], f["target"], f["status"], f["reason"]) for f in report["findings"]
           if f["status"] != "unknown" and _key(f) not in control
           and not (_key(f)[:3] in verdicts and "inferred" in (f["reason"] or "")
                    and {e["source"] for e in f["evidence"]} - {faulted})]
    assert not new, f"{case.path} {case.action}: verdicts the data does not show: {new}"

    if case.required:
        assert hits, f"the lab never served {case.path}: the case would prove nothing"
        section = next(s for s in report["sections"] if s["name"] == case.wire.section)
        name = case.field.rsplit(".", 1)[-1].removesuffix("[*]")
        if case.wire.section == "scope_groups":  # one group's members unknown, not every group's
            assert section["readable"], section
        else:
            assert not section["readable"], f"{case.path} {case.action}: {case.wire.section} still readable"
            assert name in section["error"], section["error"]
        if case.wire.named_in == "reason":
            named = [f for f in report["findings"] if f["status"] == "unknown" and name in (f["reason"] or "")]
            assert named, f"{case.path} {case.action}: no finding is unknown naming {name}"
        elif case.wire.named_in == "evidence":
            named = [f for f in report["findings"] if any(name in str(e["value"]) for e in f["evidence"])]
            assert named, f"{case.path} {case.action}: no finding's evidence names {name}"


@pytest.mark.parametrize("probe", PROBES)
def test_issue_probes_are_unknown(probe: str, labs: Callable[[str], Lab], cloud_policy: Path,
                                  tmp_path: Path) -> None:
    """The three deleted-field probes of issue #30: the findings that read the field are unknown, naming it."""
    case = next(c for c in CASES if c.id == probe)
    lab = labs("baseline")
    lab.server.faults = Faults(field_faults={case.wire.endpoint: [FieldFault(path=case.path)]})
    try:
        report = _audit(lab.server, cloud_policy, tmp_path)
    finally:
        lab.server.faults = Faults()
    checks = {"users": ("licensing.in_scope", "registration.coverage"),
              "registration_details": ("registration.coverage",)}[case.wire.endpoint]
    for check in checks:
        found = [f for f in report["findings"] if f["check"] == check]
        assert found and all(f["status"] == "unknown" and case.field in f["reason"] for f in found), found
