"""Writers: the only code that changes the world. One per place a plan writes to."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from auditor.remediation.session import Session
    from auditor.remediation.writers.base import Writer


def make_writer(name: str, session: Session) -> Writer:
    """The writer for `name` (a change's `writer` field), bound to the session's clients."""
    if name == "portal":
        from auditor.remediation.writers.portal import PortalWriter

        return PortalWriter(session)
    if name == "graph":
        from auditor.remediation.writers.graph import GraphWriter

        return GraphWriter(session)
    if name == "ldap":
        from auditor.remediation.writers.ldap import LdapWriter

        return LdapWriter(session)
    if name == "sysvol":
        from auditor.remediation.writers.sysvol import SysvolWriter

        return SysvolWriter(session)
    raise ValueError(f"no writer named {name!r}")
