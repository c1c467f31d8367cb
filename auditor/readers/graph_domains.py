"""GET /domains: each domain's authentication type (Managed or Federated), for the seam checks and the report.

Permission Domain.Read.All (or Directory.Read.All): learn.microsoft.com/graph/api/domain-list. Every row is
validated against `graph_wire.DomainWire`; a row without `authenticationType` or `isVerified` makes the section
unreadable, naming the field.
"""

from __future__ import annotations

from typing import Any

from auditor.readers.graph import _read
from auditor.readers.graph_tenant import _raw_pages
from auditor.readers.graph_wire import DomainWire, Rows, select
from auditor.snapshot.models import Section
from auditor.snapshot.tenant import DomainsState, TenantDomain

SOURCE = "graph:GET /domains"


async def read_domains(client: Any) -> Section[DomainsState]:
    async def fetch() -> DomainsState:
        wire = Rows(DomainWire, "domains")
        domains = []
        async for page in _raw_pages(client.domains, select=select(DomainWire)):
            for row in wire.page(page):
                domains.append(TenantDomain(id=row["id"], authentication_type=row["authenticationType"],
                                            is_verified=row["isVerified"], is_default=row.get("isDefault")))
        wire.check()
        return DomainsState(domains=domains)

    return await _read(SOURCE, fetch)
