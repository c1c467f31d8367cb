"""Run every reader once, concurrently, and assemble one Snapshot."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from auditor import __version__, progress
from auditor.interrupts import run
from auditor.snapshot.models import OnPremisesWritebackState, Section, Snapshot, SsprPolicyState
from auditor.snapshot.tenant import GpoSignInResetState

if TYPE_CHECKING:
    from auditor.readers.reach import Reached

log = logging.getLogger(__name__)

PORTAL_OFF = "the portal reader is off (turn it on with --portal; it needs a delegated admin token)"
GPO_NOT_READ = ("on-premises AD was not read in this run (it needs a `directory` section in the policy), so the GPOs' "
                "Registry.pol in SYSVOL and their AllowPasswordReset setting could not be checked")


@dataclass(frozen=True)
class CollectOptions:
    reached: Reached
    """The tenant's endpoints, opened (auditor/readers/reach.py): Graph, the portal when read, the origin."""
    scope_group: Any = None
    """A `graph_tenant.GroupHint`: the policy's SSPR group, read as well as the live one."""
    activity_days: int = 30
    """Days of SSPR audit events (and of Secure Score history) to read."""
    known_sspr_policy: Any = None
    """The portal's SSPR policy section from a portal snapshot, when the portal is not read live: the scope
    group reader learns the live group from it."""
    read_devices: bool = False
    """Read the devices and their registered owners (`GET /devices`, Device.Read.All): only when the policy asks
    registration to require a compliant or hybrid-joined device (the plan's impact preview counts them)."""


def collect(options: CollectOptions) -> Snapshot:
    # The snapshot is handed out through a list, not as the main task's result: anyio writes `repr(task)` of
    # the current task into its cancel reasons, and the repr of a task that finished with a 100,000-user
    # snapshot takes half a second.
    out: list[Snapshot] = []

    async def main() -> None:
        out.append(await collect_async(options))

    run(main())  # a signal cancels the reads wherever they wait (auditor.interrupts)
    return out[0]


async def collect_async(options: CollectOptions) -> Snapshot:
    from auditor.readers import conditional_access, devices, graph, graph_domains, graph_tenant, portal

    # the opened endpoints name their Graph URL (Endpoints.resolved); graph() is that URL, typed as present
    client = graph.build_client(options.reached.endpoints.graph(), options.reached.graph_credential,
                                options.reached.timeout_seconds)
    portal_client = (
        portal.PortalClient(options.reached.portal_url, options.reached.portal_credential,
                            options.reached.timeout_seconds)
        if options.reached.portal_url
        else None
    )
    try:
        # the scope group reader waits for the portal's SSPR policy to learn the live group
        sspr_task: asyncio.Future[Section[SsprPolicyState]] | None = (
            asyncio.ensure_future(portal.read_sspr_policy(portal_client)) if portal_client else None)
        if sspr_task is None and options.known_sspr_policy is not None:
            sspr_task = asyncio.get_running_loop().create_future()
            sspr_task.set_result(options.known_sspr_policy)
        # ... and for the methods policy, to read the groups its method configurations target
        methods_task = asyncio.ensure_future(graph.read_methods_policy(client))
        cloud = {
            "authorization_policy": graph.read_authorization_policy(client),
            "methods_policy": _optional(methods_task),
            "sync_features": graph.read_sync_features(client),
            "cloud_users": graph_tenant.read_cloud_users(client),
            "registration_details": graph_tenant.read_registration_details(client),
            "scope_groups": graph_tenant.read_scope_groups(client, _optional(sspr_task), options.scope_group,
                                                             _optional(methods_task)),
            "subscribed_skus": graph_tenant.read_subscribed_skus(client),
            "secure_score": graph_tenant.read_secure_score(client, options.activity_days),
            "sspr_activity": graph_tenant.read_sspr_activity(client, options.activity_days),
            "password_rules": graph_tenant.read_password_rules(client),
            "intune_sign_in_reset": graph_tenant.read_intune_sign_in_reset(client),
            "domains": graph_domains.read_domains(client),
            "conditional_access": conditional_access.read_conditional_access(client),
        }
        if options.read_devices:
            cloud["devices"] = devices.read_devices(client)
        if portal_client is not None:
            cloud["onprem_writeback"] = portal.read_onprem_writeback(portal_client)
        results = await asyncio.gather(*cloud.values())
        sections: dict[str, Any] = dict(zip(cloud, results, strict=True))
        if portal_client is not None and sspr_task is not None:
            sections["sspr_policy"] = await sspr_task
    finally:
        progress.source_done("Graph")
        if portal_client is not None:
            progress.source_done("portal")
            await portal_client.aclose()
        await _close_graph(client)
    if portal_client is None:
        sections["sspr_policy"] = Section[SsprPolicyState].failed("portal", PORTAL_OFF)
        sections["onprem_writeback"] = Section[OnPremisesWritebackState].failed("portal", PORTAL_OFF)
    sections["gpo_sign_in_reset"] = Section[GpoSignInResetState].failed("smb:SYSVOL Registry.pol", GPO_NOT_READ)
    sync = sections["sync_features"]
    tenant_id = sync.value.tenant_id if sync.readable else None
    return Snapshot(tool_version=__version__, origin=options.reached.origin, tenant_id=tenant_id, **sections)


async def _optional(task: asyncio.Future[Any] | None) -> Any:
    return await asyncio.shield(task) if task is not None else None


async def _close_graph(client: Any) -> None:
    http = getattr(getattr(client, "request_adapter", None), "_http_client", None)
    if http is not None:
        await http.aclose()
