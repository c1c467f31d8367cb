"""Open an `Endpoints` (auditor/endpoints.py) into URLs, credentials and AD bind settings: the one place that does.

Every read (`check`, `collect`, `export`, `plan`, a fleet tenant) and every write (`apply`, `rollback`) reaches
the state through `open_endpoints`, so its rules are written once:
- the lab's fixed token only for loopback URLs (no --auth on loopback URLs means the lab's token);
- the reader's sealed login cache only for reading the portal, never for writing;
- plain LDAP (`tls: none`, a simple bind that sends the password in clear) refused unless it was accepted
  (--insecure-ldap, given to the run itself: a plan never carries that consent);
- the AD bind password read from the environment variable the endpoint names (SSPR_AD_PASSWORD by default),
  never from a file or an option.
The in-process lab (`--lab SCENARIO`) is started by the use cases (auditor/app/audit.py), not here.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from auditor.endpoints import GRAPH_AUTH, AuthKind, Endpoints, is_loopback
from auditor.readers.credentials import CredentialError, LabTokenCredential, ad_password, build_credential

if TYPE_CHECKING:
    from auditor.readers.directory import AdSettings

log = logging.getLogger(__name__)

Purpose = Literal["read", "write"]


class EndpointError(Exception):
    """Endpoints that cannot be opened as configured (a missing credential, an insecure or non-loopback choice)."""


@dataclass(frozen=True)
class Reached:
    """Endpoints opened: the URLs to send requests to (as `endpoints` names them) and the credentials to send.
    Never serialised, never logged."""

    endpoints: Endpoints = field(default_factory=Endpoints)
    graph_credential: Any = field(default=None, repr=False)
    portal_credential: Any = field(default=None, repr=False)
    ad: AdSettings | None = field(default=None, repr=False)
    origin: str = ""

    @property
    def graph_url(self) -> str | None:
        return self.endpoints.graph_url

    @property
    def portal_url(self) -> str | None:
        return self.endpoints.portal_url

    @property
    def timeout_seconds(self) -> float:
        return self.endpoints.timeout


def open_endpoints(endpoints: Endpoints, purpose: Purpose = "read", *, with_ad: bool = True) -> Reached:
    """`endpoints` opened for reading (the default URLs filled in) or writing (only the URLs recorded).

    `with_ad=False` leaves the domain controller closed (a read whose policy names no directory)."""
    if endpoints.lab is not None:
        raise EndpointError(f"the lab ({endpoints.lab.scenario}) runs in-process: it is opened by the run, not here")
    chosen = endpoints.resolved() if purpose == "read" else endpoints
    if purpose == "read" and chosen.auth is None:
        kinds = ", ".join(k.value for k in GRAPH_AUTH if k is not AuthKind.lab)
        raise EndpointError(f"choose a credential with --auth ({kinds}), or audit the lab with --lab demo")
    graph = _credential(chosen.auth, chosen.graph_url, chosen, purpose)
    portal = _credential(chosen.portal_auth, chosen.portal_url, chosen, purpose)
    origin = (f"graph:{chosen.graph_url}" if chosen.auth is AuthKind.lab
              else f"live:{chosen.tenant_id or 'tenant'}")
    return Reached(chosen, graph_credential=graph, portal_credential=portal,
                   ad=ad_settings(chosen, purpose) if with_ad else None, origin=origin)


def _credential(kind: AuthKind | None, url: str | None, endpoints: Endpoints, purpose: Purpose) -> Any:
    if url is None:
        return None
    if kind is AuthKind.login_cache:
        if purpose == "write":  # the reader's sealed login is for unattended reads, never for writes
            raise EndpointError("the plan read the portal with the reader's login cache, which is not for writing: "
                                "apply with --portal-auth azure-cli or device-code as an admin")
        return login_cache_credential(endpoints.login_cache, endpoints.timeout, endpoints.tenant_id)
    if kind is None or kind is AuthKind.lab:
        if not is_loopback(url):
            if kind is AuthKind.lab:
                raise EndpointError(f"--auth lab only talks to a lab emulator on a loopback address, not {url}")
            raise EndpointError(f"choose a credential with --auth / --portal-auth for {url}")
        return LabTokenCredential()
    try:
        return build_credential(kind, endpoints.tenant_id, endpoints.client_id)
    except (CredentialError, ValueError) as exc:
        raise EndpointError(str(exc)) from None


def login_cache_credential(path: str | None, timeout_seconds: float = 30.0, tenant_id: str | None = None) -> Any:
    """The portal credential from `sspr-audit login`'s sealed cache; a missing key, a bad file or a cache of
    another tenant than `tenant_id` is an EndpointError."""
    from pathlib import Path

    from auditor.readers.login_cache import LoginCacheCredential, LoginCacheError, default_cache_path

    try:
        return LoginCacheCredential(Path(path) if path else default_cache_path(), timeout_seconds, tenant_id)
    except LoginCacheError as exc:
        raise EndpointError(str(exc)) from None


def ad_settings(endpoints: Endpoints, purpose: Purpose = "read") -> AdSettings | None:
    """The DC's bind settings, its password from the environment; None when no DC is named."""
    ad = endpoints.ad
    if ad is None:
        return None
    if ad.tls == "none" and not ad.insecure_ldap:
        if purpose == "write":
            raise EndpointError("the plan binds to Active Directory without TLS (--ad-tls none), which sends the "
                                "password in clear: give --insecure-ldap to accept that (a lab only)")
        raise EndpointError("--ad-tls none would send the bind password in clear: use ldaps or starttls, or add "
                            "--insecure-ldap to accept that (a lab only)")
    password = ad_password(ad.password_variable)
    if not ad.user or not password:
        if purpose == "write":
            raise EndpointError(f"the plan changes Active Directory: give --ad-user and the password in "
                                f"{ad.password_variable}")
        raise EndpointError(f"--ad-host needs --ad-user and the bind password in the environment variable "
                            f"{ad.password_variable}")
    if ad.tls == "none":
        log.warning("--ad-tls none: the AD password crosses the network in clear")
    from auditor.readers.directory import AdSettings

    return AdSettings(ad, password=password, timeout=endpoints.timeout)
