"""A lab fleet for the fleet tests: 20 tenants of different scenarios, policies and faults (issue 16)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

ROOT = Path(__file__).resolve().parents[2]
STORM = ["users", "groups", "registration_details", "authorization_policy", "methods_policy", "portal",
         "subscribed_skus", "secure_scores", "directory_audits", "group_settings"]


@dataclass(frozen=True)
class LabTenant:
    name: str
    scenario: str
    policy: str  # a file name in the fleet folder
    forbid: tuple[str, ...] = ()
    latency_ms: int = 0
    overlay: dict[str, Any] | None = None  # written inline in fleet.yaml (and as a file for the single run)
    portal_snapshot: str | None = None


def write_yaml(path: Path, data: Any) -> Path:
    yaml = YAML(typ="rt")
    with path.open("w") as handle:
        yaml.dump(data, handle)
    return path


def make_fleet(folder: Path, count: int = 20) -> tuple[Path, list[LabTenant]]:
    """fleet.yaml and its policies under `folder`; the tenants as the single runs must reproduce them."""
    from auditor.lab.tenant_generator import TenantMix, generate_tenant

    folder.mkdir(parents=True, exist_ok=True)
    yaml = YAML(typ="rt")
    base = yaml.load((ROOT / "policies" / "baseline.yaml").read_text())
    del base["directory"]  # cloud checks only: twenty Samba DCs are not what this test is about
    write_yaml(folder / "base.yaml", base)
    (folder / "lenient.yaml").write_text("extends: base.yaml\nsspr:\n  methods_required: 1\n"
                                         "coverage:\n  registration_min_percent: 50\n")
    small = generate_tenant(TenantMix(users=300, seed=7, scope="group", unregistered=0.2), folder / "gen-small")
    large = generate_tenant(TenantMix(users=1200, seed=8, unlicensed=0.1), folder / "gen-large")
    kinds = [
        LabTenant("demo", "demo", "base.yaml"),
        LabTenant("baseline", "baseline", "base.yaml"),
        LabTenant("hostile", "hostile", "base.yaml"),
        LabTenant("traps", "traps", "base.yaml"),
        LabTenant("gen-small", str(small.scenario_path.relative_to(folder)), "base.yaml"),
        LabTenant("gen-large", str(large.scenario_path.relative_to(folder)), "lenient.yaml"),
        LabTenant("storm", "demo", "base.yaml", forbid=tuple(STORM)),
        LabTenant("portal-denied", "baseline", "base.yaml", forbid=("portal",)),
        LabTenant("slow", "baseline", "base.yaml", latency_ms=25),
        LabTenant("overlay", "demo", "overlay", overlay={"extends": "base.yaml", "sspr": {"methods_required": 1},
                                                          "writeback": {"unlock": False}}),
        LabTenant("missing-snapshot", "demo", "base.yaml", portal_snapshot="no-such-portal.json"),
    ]
    tenants = []
    for index in range(count):
        kind = kinds[index % len(kinds)]
        name = kind.name if index < len(kinds) else f"{kind.name}-{index // len(kinds) + 1}"
        tenants.append(LabTenant(name, kind.scenario, kind.policy, kind.forbid, kind.latency_ms, kind.overlay,
                                 kind.portal_snapshot))
    entries = []
    for tenant in tenants:
        lab: dict[str, Any] = {"scenario": tenant.scenario}
        if tenant.forbid:
            lab["forbid"] = list(tenant.forbid)
        if tenant.latency_ms:
            lab["latency_ms"] = tenant.latency_ms
        entry: dict[str, Any] = {"name": tenant.name, "lab": lab,
                                 "policy": tenant.overlay if tenant.overlay is not None else tenant.policy}
        if tenant.portal_snapshot:
            entry["portal_snapshot"] = tenant.portal_snapshot
        entries.append(entry)
        if tenant.overlay is not None and not (folder / f"{tenant.name}.yaml").exists():
            write_yaml(folder / f"{tenant.name}.yaml", tenant.overlay)
    fleet = write_yaml(folder / "fleet.yaml", {"version": 1, "fleet": {"concurrency": 4}, "tenants": entries})
    return fleet, tenants


def single_run_args(folder: Path, tenant: LabTenant, out: Path) -> list[str]:
    """The `check` command line that audits `tenant` alone, as the fleet does."""
    policy = folder / (f"{tenant.name}.yaml" if tenant.overlay is not None else tenant.policy)
    scenario = str(folder / tenant.scenario) if tenant.scenario.endswith(".yaml") else tenant.scenario
    args = ["check", str(policy), "--lab", scenario, "--out", str(out), "--format", "json", "--progress", "never"]
    for endpoint in tenant.forbid:
        args += ["--lab-forbid", endpoint]
    if tenant.latency_ms:
        args += ["--lab-latency-ms", str(tenant.latency_ms)]
    return args


def _timeless(value: Any) -> Any:
    """`value` without the `as_of` moments the lab serves relative to the second it is asked."""
    if isinstance(value, dict):
        return {k: _timeless(v) for k, v in value.items() if k != "as_of"}
    if isinstance(value, list):
        return [_timeless(v) for v in value]
    return value


def verdicts(report: dict[str, Any]) -> list[tuple[Any, ...]]:
    import json

    return sorted((f["check"], f["target"], f["status"], json.dumps(_timeless(f.get("actual")), sort_keys=True),
                   json.dumps(f.get("expected"), sort_keys=True), f.get("reason")) for f in report["findings"])
