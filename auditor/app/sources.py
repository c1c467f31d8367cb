"""Where the live state comes from, as one use case: the lab, a live tenant (and DC), or nothing asked.

`snapshot_for(request, policy)` starts the on-premises read in a thread (when the policy has a `directory`
section), reads the cloud (the lab emulator in-process, or Graph and the portal), and returns one complete
snapshot. A saved snapshot file is loaded by `snapshot.store` directly. Option combinations that cannot
work are a `SourceError` (exit 2), raised before anything is read.
"""

from __future__ import annotations

import logging
from concurrent.futures import Future
from dataclasses import dataclass
from typing import TYPE_CHECKING

from auditor.app.audit import (
    LabOptions,
    LiveOptions,
    OnPremisesRequest,
    SourceError,
    collect_lab,
    collect_live,
    coverage_options,
    start_on_premises,
)

if TYPE_CHECKING:
    from auditor.policy.models import Policy
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


def _coverage(request: SourceRequest, policy: Policy | None) -> object:
    from dataclasses import replace

    return replace(coverage_options(policy), known_sspr_policy=request.known_sspr_policy)


def _on_premises(request: SourceRequest, policy: Policy | None) -> Future[OnPremisesSections] | None:
    """A future of the AD sections when the policy has a `directory` section, else None."""
    from auditor.readers.directory import AdSettings

    directory = policy.directory if policy is not None else None
    if directory is None:
        if request.ad_host:
            raise SourceError("--ad-host needs a policy with a `directory` section (which OUs, which sync account)")
        return None
    if request.lab:
        return start_on_premises(OnPremisesRequest(directory=directory, lab_scenario=request.lab))
    if not request.ad_host:
        return start_on_premises(OnPremisesRequest(
            directory=directory, not_asked="on-premises AD was not read: give --ad-host and --ad-user "
                                           "(password in SSPR_AD_PASSWORD)"))
    if request.ad_tls == "none" and not request.insecure_ldap:
        raise SourceError("--ad-tls none would send the bind password in clear: use ldaps or starttls, or add "
                          "--insecure-ldap to accept that (a lab only)")
    from auditor.readers.credentials import AD_PASSWORD_VARIABLE, ad_password

    password = ad_password()
    if not request.ad_user or not password:
        raise SourceError("--ad-host needs --ad-user and the bind password in the environment variable "
                          f"{AD_PASSWORD_VARIABLE}")
    settings = AdSettings(host=request.ad_host, user=request.ad_user, password=password,
                          tls=request.ad_tls,  # type: ignore[arg-type]
                          ca_file=request.ad_ca_file, tls_name=request.ad_tls_name, base_dn=request.ad_base_dn,
                          smb_host=request.smb_host, timeout=request.timeout)
    if request.ad_tls == "none":
        log.warning("--ad-tls none: the AD password crosses the network in clear")
    return start_on_premises(OnPremisesRequest(directory=directory, settings=settings))
