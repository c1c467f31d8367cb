"""Where the live state comes from, as one use case: the lab, a live tenant (and DC), or nothing asked.

`snapshot_for(endpoints, policy)` starts the on-premises read in a thread (when the policy has a `directory`
section), reads the cloud (the lab emulator in-process, or Graph and the portal), and returns one complete
snapshot. A saved snapshot file is loaded by `snapshot.store` directly. Option combinations that cannot
work are a `SourceError` (exit 2), raised before anything is read.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import Future
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import TYPE_CHECKING

from auditor.app.audit import (
    CoverageOptions,
    OnPremisesRequest,
    collect_lab,
    collect_live,
    collect_on_premises,
    coverage_options,
    start_on_premises,
)
from auditor.app.errors import SourceError

if TYPE_CHECKING:
    from auditor.endpoints import Endpoints
    from auditor.policy.models import Directory, Policy
    from auditor.readers.onpremises import OnPremisesSections
    from auditor.snapshot.models import Snapshot

log = logging.getLogger(__name__)


def snapshot_for(endpoints: Endpoints, policy: Policy | None, known_sspr_policy: object = None) -> Snapshot:
    """The state `endpoints` hold, as `policy` asks for it. `known_sspr_policy`: a portal snapshot's SSPR policy
    section (from --portal-snapshot), which lets the scope group reader learn the live group."""
    on_premises = _on_premises(endpoints, policy)  # reads AD in the background while the cloud readers run
    coverage = _coverage(policy, known_sspr_policy)
    lab = endpoints.lab
    snapshot = collect_lab(lab, coverage) if lab is not None else collect_live(endpoints, coverage)
    if on_premises is None:
        return snapshot
    return snapshot.model_copy(update=on_premises.result()._asdict())


def snapshot_with_portal_file(endpoints: Endpoints, policy: Policy | None, portal_snapshot: Path | None,
                              around_collect: Callable[[], AbstractContextManager[object]] | None = None) -> Snapshot:
    """The live (or lab) snapshot, its portal sections taken from a `collect --portal-only` file when one is given
    (read first: a bad file reads nothing), labelled with its age and checked against the policy's limit."""
    from auditor.app.portal_snapshot import seal_problem, with_portal_snapshot
    from auditor.snapshot.store import load_snapshot

    portal = load_snapshot(portal_snapshot) if portal_snapshot is not None else None
    known = None
    if portal is not None and seal_problem(portal) is None:  # a broken seal: not even a hint for the readers
        known = portal.sspr_policy
    with (around_collect() if around_collect is not None else nullcontext()):
        snapshot = snapshot_for(endpoints, policy, known)
    if policy is not None:  # a policy of another tenant than the one read: refused before any verdict
        from auditor.policy.tenant_binding import refuse_other_tenant

        refuse_other_tenant(policy, snapshot.tenant_id, "Graph reports")
    if portal is None or portal_snapshot is None:
        return snapshot
    limit = policy.sources.portal.max_age_days if policy is not None else 7
    return with_portal_snapshot(snapshot, portal, limit, name=f"portal snapshot {portal_snapshot.name}")


def _coverage(policy: Policy | None, known_sspr_policy: object) -> CoverageOptions:
    from dataclasses import replace

    return replace(coverage_options(policy), known_sspr_policy=known_sspr_policy)


def export_snapshot(endpoints: Endpoints) -> Snapshot:
    """For `export`, which has no policy to say which OUs and sync account to read: the cloud first, then (with
    --lab or --ad-host) the domain, its synced OUs found from the synced users' DNs that Graph returned."""
    snapshot = snapshot_for(endpoints, None)
    if endpoints.lab is None and endpoints.ad is None:
        return snapshot
    users = snapshot.cloud_users.value if snapshot.cloud_users is not None else None
    containers = users.synced_containers if users is not None else {}
    sections = collect_on_premises(_on_premises_request(endpoints, None, containers))  # after the cloud: no thread
    return snapshot.model_copy(update=sections._asdict())


def _on_premises(endpoints: Endpoints, policy: Policy | None) -> Future[OnPremisesSections] | None:
    """A future of the AD sections when the policy has a `directory` section, else None."""
    directory = policy.directory if policy is not None else None
    if directory is None:
        if endpoints.ad is not None:
            raise SourceError("--ad-host needs a policy with a `directory` section (which OUs, which sync account)")
        return None
    return start_on_premises(_on_premises_request(endpoints, directory, {}))


def _on_premises_request(endpoints: Endpoints, directory: Directory | None,
                         synced_containers: dict[str, int]) -> OnPremisesRequest:
    """What to read on-premises: the lab domain, the DC of --ad-host, or nothing (saying why)."""
    from auditor.readers.reach import ad_settings

    if endpoints.lab is not None:
        return OnPremisesRequest(directory=directory, lab_scenario=endpoints.lab.scenario,
                                 synced_containers=synced_containers)
    if endpoints.ad is None:
        return OnPremisesRequest(directory=directory, not_asked="on-premises AD was not read: give --ad-host and "
                                                                "--ad-user (password in SSPR_AD_PASSWORD)")
    return OnPremisesRequest(directory=directory, settings=ad_settings(endpoints, "read"),
                             synced_containers=synced_containers)
