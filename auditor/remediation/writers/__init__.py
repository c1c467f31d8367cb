"""Writers: the only code that changes the world. One per place a plan writes to."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from auditor.remediation.session import Session
    from auditor.remediation.writers.base import Writer


def writer_class(name: str) -> type[Writer]:
    """The writer class for `name` (a change's `writer` field)."""
    if name == "portal":
        from auditor.remediation.writers.portal import PortalWriter

        return PortalWriter
    if name == "graph":
        from auditor.remediation.writers.graph import GraphWriter

        return GraphWriter
    if name == "ldap":
        from auditor.remediation.writers.ldap import LdapWriter

        return LdapWriter
    if name == "sysvol":
        from auditor.remediation.writers.sysvol import SysvolWriter

        return SysvolWriter
    raise ValueError(f"no writer named {name!r}")


def make_writer(name: str, session: Session[Writer]) -> Writer:
    """The writer for `name`, bound to the session's clients."""
    return writer_class(name)(session)
