"""Golden cases for the delegation checks: the directory and SYSVOL sections read from the real lab Samba DC
(`tests/fixtures/ad/lab_delegation.json`, captured with the readers from the seeded `baseline` and `demo`
domains: see auditor/lab_domain/domain_seed.py for what each plants)."""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

from auditor.policy.loader import load_policy
from auditor.policy.models import Policy
from auditor.snapshot.directory import DirectoryState, SysvolState
from auditor.snapshot.models import Section, Snapshot

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = ROOT / "tests" / "fixtures" / "ad" / "lab_delegation.json"
Case = Callable[[], tuple[Policy, Snapshot]]


@cache
def _raw() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(FIXTURE.read_text())
    return data


def lab_state(scenario: str) -> DirectoryState:
    return DirectoryState.model_validate(_raw()[scenario]["directory"])


def lab_snapshot(scenario: str, directory: DirectoryState | None = None) -> Snapshot:
    raw = _raw()[scenario]
    return Snapshot(tool_version="test", origin=f"lab:samba:{scenario}",
                    directory=Section[DirectoryState].ok("ldaps://127.0.0.5:636", directory or lab_state(scenario)),
                    sysvol=Section[SysvolState].ok("smb:SYSVOL", SysvolState.model_validate(raw["sysvol"])))


def _case(scenario: str) -> Case:
    return lambda: (load_policy(ROOT / "policies" / "baseline.yaml"), lab_snapshot(scenario))


CASES: dict[str, dict[str, Case]] = {
    check: {"pass": _case("baseline"), "fail": _case("demo")}
    for check in ("ad.acl.delegates", "ad.acl.tier0_reach", "ad.service_account.control",
                  "ad.gpo.restrict_remote_sam")
}
