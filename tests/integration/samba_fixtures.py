"""Fixtures for tests against a real Samba AD DC (imported by tests/integration/test_samba_*.py).

One provisioned template and one seeded copy per scenario are made per test session in a
temporary folder (shared by the session's pytest-xdist workers; domain_seed makes each template once, under a
lock); each test module gets its own clone (about a second), started and stopped by PID, so modules that change
the domain never see each other's changes.

Where Samba cannot run (not root, packages missing) the tests skip with the reason; with
SSPR_REQUIRE_SAMBA=1 (set it in CI) they fail instead, so CI can never skip them silently.
"""

from __future__ import annotations

import atexit
import itertools
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from auditor.lab_domain import domain_seed, samba
from auditor.lab_domain.samba import SambaDC
from auditor.policy.loader import load_policy
from auditor.policy.models import Policy
from auditor.readers.directory import AdSettings
from auditor.readers.onpremises import read_on_premises
from auditor.snapshot.models import Snapshot

ROOT = Path(__file__).resolve().parents[2]
BASELINE_POLICY = ROOT / "policies" / "baseline.yaml"
_session: dict[str, Path] = {}
_clones = itertools.count()


def require_samba() -> None:
    reason = samba.unavailable_reason()
    if reason is None:
        return
    if os.environ.get("SSPR_REQUIRE_SAMBA") == "1":
        pytest.fail(f"SSPR_REQUIRE_SAMBA=1 but {reason}")
    pytest.skip(reason)


def state_dir() -> Path:
    """This session's lab folder (templates and clones): SSPR_LAB_DIR, which tests/conftest.py points at a
    temporary folder unless the caller named one, so `--lab` runs and these fixtures share the templates."""
    if "dir" not in _session:
        configured = os.environ.get("SSPR_LAB_DIR")
        path = Path(configured) if configured else Path(tempfile.mkdtemp(prefix="sspr-samba-"))
        if not configured:
            atexit.register(shutil.rmtree, path, True)
        _session["dir"] = path
    return _session["dir"]


def fresh_dc(scenario: str | None) -> SambaDC:
    """A stopped clone of the seeded `scenario` (or of the bare template when None)."""
    require_samba()
    base = state_dir() / "samba"
    template = (domain_seed.scenario_template(scenario, base) if scenario
                else domain_seed.base_template(base))
    # the process id in the name: pytest-xdist's workers share the session's lab folder (and so its templates)
    return samba.clone(template, state_dir() / "clones" / f"{scenario or 'bare'}-{os.getpid()}-{next(_clones)}")


def running(scenario: str | None) -> Iterator[SambaDC]:
    dc = fresh_dc(scenario)
    try:
        with dc:
            yield dc
    finally:
        samba.remove(dc)


@pytest.fixture(scope="module", name="demo_dc")
def demo_dc_fixture() -> Iterator[SambaDC]:
    yield from running("demo")


@pytest.fixture(scope="module", name="baseline_dc")
def baseline_dc_fixture() -> Iterator[SambaDC]:
    yield from running("baseline")


@pytest.fixture(scope="module", name="bare_dc")
def bare_dc_fixture() -> Iterator[SambaDC]:
    yield from running(None)


def baseline_policy(**directory_changes: object) -> Policy:
    policy = load_policy(BASELINE_POLICY)
    if not directory_changes:
        return policy
    assert policy.directory is not None
    directory = policy.directory.model_copy(update=directory_changes)
    return policy.model_copy(update={"directory": directory})


def settings(dc: SambaDC, **changes: object) -> AdSettings:
    from dataclasses import replace

    from auditor.endpoints import AdEndpoint

    base = domain_seed.reader_settings(dc)
    endpoint = base.endpoint.model_copy(update={k: v for k, v in changes.items() if k in AdEndpoint.model_fields})
    rest = {k: v for k, v in changes.items() if k not in AdEndpoint.model_fields}
    return replace(base, endpoint=endpoint, **rest)  # type: ignore[arg-type]


def collect_ad(dc: SambaDC, policy: Policy, **setting_changes: object) -> Snapshot:
    assert policy.directory is not None
    sections = read_on_premises(settings(dc, **setting_changes), policy.directory)
    return Snapshot(tool_version="test", origin=f"lab:samba:{dc.address}", **sections._asdict())


def ad_outcomes(policy: Policy, snapshot: Snapshot) -> dict[tuple[str, str, str], str]:
    """(check, target, policy key) → status of every AD finding."""
    from auditor.checks.registry import all_checks, run_check

    out: dict[tuple[str, str, str], str] = {}
    for check in all_checks():
        if not check.spec.id.startswith("ad."):
            continue
        for finding in run_check(check, policy, snapshot):
            key = finding.policy_location.key if finding.policy_location else ""
            out[(finding.check, finding.target, key)] = finding.status.value
    return out
