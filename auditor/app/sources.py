"""Where the live state comes from, as one use case: the lab, a live tenant (and DC), or nothing asked.

`snapshot_for(request, policy)` starts the on-premises read in a thread (when the policy has a `directory`
section), reads the cloud (the lab emulator in-process, or Graph and the portal), and returns one complete
snapshot. A saved snapshot file is loaded by `snapshot.store` directly. Option combinations that cannot
work are a `SourceError` (exit 2), raised before anything is read.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import Future
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from auditor.app.audit import (
    LabOptions,
    LiveOptions,
    OnPremisesRequest,
    SourceError,
    collect_lab,
    collect_live,
    collect_on_premises,
    coverage_options,
    start_on_premises,
)

if TYPE_CHECKING:
    from auditor.policy.models import Directory, Policy
    from auditor.readers.onpremises import OnPremisesSections
    from auditor.snapshot.models import Snapshot

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SourceRequest:
    """What the command line asked for (never a secret: the AD password comes from the environment)."""

    lab: str | None = None
    lab_forbid: tuple[str, ...] = ()
    lab_latency_ms: int = 0
    tenant_id: str | None = None
    client_id: str | None = None
    auth: str | None = None
    portal: bool = False
    portal_auth: str = "azure-cli"
    login_cache: str | None = None
    graph_url: str | None = None
    portal_url: str | None = None
    timeout: float = 30.0
    ad_host: str | None = None
    ad_user: str | None = None
    ad_tls: str = "ldaps"
    insecure_ldap: bool = False
    ad_ca_file: str | None = None
    ad_tls_name: str | None = None
    ad_base_dn: str | None = None
    smb_host: str | None = None
    ad_password_variable: str | None = None  # default: SSPR_AD_PASSWORD (a fleet names one per DC)
    known_sspr_policy: object = None  # from --portal-snapshot: lets the scope group reader learn the live group


def snapshot_for(request: SourceRequest, policy: Policy | None) -> Snapshot:
    on_premises = _on_premises(request, policy)  # reads AD in the background while the cloud readers run
    if request.lab:
        snapshot = collect_lab(LabOptions(scenario=request.lab, forbidden=request.lab_forbid,
                                          latency_ms=request.lab_latency_ms, coverage=_coverage(request, policy)))
    else:
        if request.lab_forbid or request.lab_latency_ms:
            raise SourceError("--lab-forbid and --lab-latency-ms need --lab SCENARIO")
        snapshot = collect_live(LiveOptions(
            tenant_id=request.tenant_id, client_id=request.client_id, auth=request.auth, portal=request.portal,
            portal_auth=request.portal_auth, login_cache=request.login_cache, graph_url=request.graph_url,
            portal_url=request.portal_url, timeout_seconds=request.timeout, coverage=_coverage(request, policy),
        ))
    if on_premises is None:
        return snapshot
    return snapshot.model_copy(update=on_premises.result()._asdict())


def snapshot_with_portal_file(request: SourceRequest, policy: Policy | None, portal_snapshot: Path | None,
                              around_collect: Callable[[], AbstractContextManager[object]] | None = None) -> Snapshot:
    """The live (or lab) snapshot, its portal sections taken from a `collect --portal-only` file when one is given
    (read first: a bad file reads nothing), labelled with its age and checked against the policy's limit."""
    from dataclasses import replace

    from auditor.app.portal_snapshot import seal_problem, with_portal_snapshot
    from auditor.snapshot.store import load_snapshot

    portal = load_snapshot(portal_snapshot) if portal_snapshot is not None else None
    if portal is not None and seal_problem(portal) is None:  # a broken seal: not even a hint for the readers
        request = replace(request, known_sspr_policy=portal.sspr_policy)
    with (around_collect() if around_collect is not None else nullcontext()):
        snapshot = snapshot_for(request, policy)
    if policy is not None:  # a policy of another tenant than the one read: refused before any verdict
        from auditor.policy.tenant_binding import refuse_other_tenant

        refuse_other_tenant(policy, snapshot.tenant_id, "Graph reports")
    if portal is None or portal_snapshot is None:
        return snapshot
    limit = policy.sources.portal.max_age_days if policy is not None else 7
    return with_portal_snapshot(snapshot, portal, limit, name=f"portal snapshot {portal_snapshot.name}")


def _coverage(request: SourceRequest, policy: Policy | None) -> object:
    from dataclasses import replace

    return replace(coverage_options(policy), known_sspr_policy=request.known_sspr_policy)


def export_snapshot(request: SourceRequest) -> Snapshot:
    """For `export`, which has no policy to say which OUs and sync account to read: the cloud first, then (with
    --lab or --ad-host) the domain, its synced OUs found from the synced users' DNs that Graph returned."""
    snapshot = snapshot_for(request, None)
    if not (request.lab or request.ad_host):
        return snapshot
    users = snapshot.cloud_users.value if snapshot.cloud_users is not None else None
    containers = users.synced_containers if users is not None else {}
    sections = collect_on_premises(_on_premises_request(request, None, containers))  # after the cloud: no thread
    return snapshot.model_copy(update=sections._asdict())


def _on_premises(request: SourceRequest, policy: Policy | None) -> Future[OnPremisesSections] | None:
    """A future of the AD sections when the policy has a `directory` section, else None."""
    directory = policy.directory if policy is not None else None
    if directory is None:
        if request.ad_host:
            raise SourceError("--ad-host needs a policy with a `directory` section (which OUs, which sync account)")
        return None
    return start_on_premises(_on_premises_request(request, directory, {}))


def _on_premises_request(request: SourceRequest, directory: Directory | None,
                         synced_containers: dict[str, int]) -> OnPremisesRequest:
    """What to read on-premises: the lab domain, the DC of --ad-host, or nothing (saying why)."""
    from auditor.readers.directory import AdSettings

    if request.lab:
        return OnPremisesRequest(directory=directory, lab_scenario=request.lab, synced_containers=synced_containers)
    if not request.ad_host:
        return OnPremisesRequest(directory=directory, not_asked="on-premises AD was not read: give --ad-host and "
                                                                "--ad-user (password in SSPR_AD_PASSWORD)")
    if request.ad_tls == "none" and not request.insecure_ldap:
        raise SourceError("--ad-tls none would send the bind password in clear: use ldaps or starttls, or add "
                          "--insecure-ldap to accept that (a lab only)")
    from auditor.readers.credentials import AD_PASSWORD_VARIABLE, ad_password

    variable = request.ad_password_variable or AD_PASSWORD_VARIABLE
    password = ad_password(variable)
    if not request.ad_user or not password:
        raise SourceError("--ad-host needs --ad-user and the bind password in the environment variable "
                          f"{variable}")
    settings = AdSettings(host=request.ad_host, user=request.ad_user, password=password,
                          tls=request.ad_tls,  # type: ignore[arg-type]
                          ca_file=request.ad_ca_file, tls_name=request.ad_tls_name, base_dn=request.ad_base_dn,
                          smb_host=request.smb_host, timeout=request.timeout)
    if request.ad_tls == "none":
        log.warning("--ad-tls none: the AD password crosses the network in clear")
    return OnPremisesRequest(directory=directory, settings=settings, synced_containers=synced_containers)
