"""Run every reader once, concurrently, and assemble one Snapshot."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

from auditor import __version__
from auditor.snapshot.models import OnPremisesWritebackState, Section, Snapshot, SsprPolicyState

log = logging.getLogger(__name__)

PORTAL_OFF = "the portal reader is off (turn it on with --portal; it needs a delegated admin token)"


@dataclass(frozen=True)
class CollectOptions:
    origin: str
    graph_url: str
    graph_credential: Any
    portal_url: str | None = None
    portal_credential: Any = None
    timeout_seconds: float = 30.0


def collect(options: CollectOptions) -> Snapshot:
    return asyncio.run(collect_async(options))


async def collect_async(options: CollectOptions) -> Snapshot:
    from auditor.readers import graph, portal

    client = graph.build_client(options.graph_url, options.graph_credential, options.timeout_seconds)
    portal_client = (
        portal.PortalClient(options.portal_url, options.portal_credential, options.timeout_seconds)
        if options.portal_url
        else None
    )
    try:
        cloud = [
            graph.read_authorization_policy(client),
            graph.read_methods_policy(client),
            graph.read_sync_features(client),
        ]
        if portal_client is not None:
            cloud += [portal.read_sspr_policy(portal_client), portal.read_onprem_writeback(portal_client)]
        results = await asyncio.gather(*cloud)
    finally:
        if portal_client is not None:
            await portal_client.aclose()
        await _close_graph(client)
    sections: dict[str, Any] = dict(
        zip(("authorization_policy", "methods_policy", "sync_features"), results[:3], strict=True)
    )
    if portal_client is not None:
        sections["sspr_policy"], sections["onprem_writeback"] = results[3:5]
    else:
        sections["sspr_policy"] = Section[SsprPolicyState].failed("portal", PORTAL_OFF)
        sections["onprem_writeback"] = Section[OnPremisesWritebackState].failed("portal", PORTAL_OFF)
    return Snapshot(tool_version=__version__, origin=options.origin, **sections)


async def _close_graph(client: Any) -> None:
    http = getattr(getattr(client, "request_adapter", None), "_http_client", None)
    if http is not None:
        await http.aclose()
