"""Where the state lives and how to reach it: one model, declared here only.

`Endpoints` is what a run reads from and what `apply` writes to: the lab (a scenario and its faults) or a live
tenant (its ids, the Graph and portal URLs, the credential kind for each) and the on-premises domain controller
(`AdEndpoint`). The command line builds it with one argparse group (auditor/commands/endpoint_options.py), the
fleet inventory embeds it per tenant (auditor/policy/fleet.py), and a plan file and a backup record it
(`PlanSource`). It never holds a secret: passwords and client secrets are read from the environment when it is
opened (auditor/readers/reach.py, the one function that turns it into credentials and owns the rules).

Nothing here does I/O; the rules that are facts about the model alone (which auth a loopback lab implies) are
methods, so the opener, the plan and the messages agree.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlparse

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from auditor.endpoint_kinds import (
    AD_PASSWORD_VARIABLE,
    GRAPH_AUTH,
    PORTAL_AUTH,
    UNATTENDED_AUTH,
    WRITE_PORTAL_AUTH,
    AuthKind,
    TlsMode,
)

__all__ = ["AD_PASSWORD_VARIABLE", "GRAPH_AUTH", "GRAPH_URL", "PORTAL_AUTH", "PORTAL_URL", "UNATTENDED_AUTH",
           "WRITE_PORTAL_AUTH", "AdEndpoint", "AuthKind", "Endpoints", "LabSelection", "TlsMode", "is_loopback"]

GRAPH_URL = "https://graph.microsoft.com/v1.0"
# the Entra admin center's SSPR API (undocumented; docs/semantics.md); what the portal itself calls
PORTAL_URL = "https://main.iam.ad.ext.azure.com/api"


LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


def is_loopback(url: str) -> bool:
    """Whether `url` points at this machine (the lab's loopback addresses), where the lab token is accepted."""
    host = urlparse(url).hostname or ""
    return host in LOOPBACK_HOSTS or host.startswith("127.")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    @field_validator("*", mode="before")
    @classmethod
    def _numbers_are_not_booleans(cls, value: Any, info: ValidationInfo) -> Any:
        """A YAML `1` is not `true` (pydantic would take it as one): a flag is written as a boolean."""
        field = cls.model_fields.get(info.field_name or "")
        if field is not None and field.annotation in (bool, "bool") and not isinstance(value, bool):
            raise ValueError(f"{value!r} is not a boolean: write true or false")
        return value


class LabSelection(_Model):
    """The built-in lab tenant (a scenario name or a scenario file), with the lab's faults."""

    scenario: str = Field(description="A built-in scenario (demo, baseline, …) or a scenario YAML file")
    forbid: tuple[str, ...] = Field((), description="Endpoints answering 403 (a 403 storm: many)")
    latency_ms: int = Field(0, ge=0, le=10_000)


class AdEndpoint(_Model):
    """The on-premises domain controller (the bind password comes from the environment)."""

    host: str = Field(description="Domain controller IP or name (as on its TLS certificate)")
    user: str | None = Field(None, description="Bind account: user@REALM, DOMAIN\\user or a DN (also for SYSVOL)")
    tls: TlsMode = "ldaps"
    insecure_ldap: bool = Field(False, description="Accept tls: none, a bind that sends the password in clear")
    ca_file: str | None = Field(None, description="PEM file of the CA that signed the DC's certificate")
    tls_name: str | None = Field(None, description="The name the DC's TLS certificate must carry")
    base_dn: str | None = None
    smb_host: str | None = Field(None, description="Host serving SYSVOL (default: host)")
    password_variable: str = Field(AD_PASSWORD_VARIABLE, pattern=r"^[A-Z_][A-Z0-9_]{0,63}$",
                                   description="The environment variable that holds this DC's bind password")


class Endpoints(_Model):
    """Where the state lives and how to reach it. Never a secret."""

    lab: LabSelection | None = None
    tenant_id: str | None = None
    client_id: str | None = None
    auth: AuthKind | None = Field(None, description="Credential kind for Graph (none: lab on loopback URLs)")
    graph_url: str | None = None
    portal: bool = Field(False, description="Also read the portal's SSPR API")
    portal_url: str | None = None
    portal_auth: AuthKind = AuthKind.azure_cli
    login_cache: str | None = Field(None, description="The sealed `sspr-audit login` cache (portal_auth login-cache)")
    ad: AdEndpoint | None = None
    timeout: float = Field(30.0, gt=0, le=3600, description="Seconds per request")

    @property
    def live(self) -> bool:
        return self.lab is None

    def graph(self) -> str:
        return self.graph_url or GRAPH_URL

    def portal_api(self) -> str | None:
        return (self.portal_url or PORTAL_URL) if self.portal else None

    def lab_by_loopback(self) -> bool:
        """Whether every URL read is on this machine: then no --auth means the lab's token."""
        portal = self.portal_api()
        return is_loopback(self.graph()) and (portal is None or is_loopback(portal))

    def resolved(self) -> Endpoints:
        """As the run actually reaches them: the default URLs filled in, and the auth each URL is read with
        (no --auth on loopback URLs is the lab's token, for Graph and the portal alike). A plan records this."""
        if self.lab is not None:
            return self
        update: dict[str, object] = {"graph_url": self.graph(), "portal_url": self.portal_api()}
        if self.auth is AuthKind.lab or (self.auth is None and self.lab_by_loopback()):
            # the portal too is read with the lab's token, unless the reader's login cache was asked for
            keep = self.portal_auth is AuthKind.login_cache
            update |= {"auth": AuthKind.lab, "portal_auth": self.portal_auth if keep else AuthKind.lab}
        return self.model_copy(update=update)

    def with_overrides(self, **overrides: object) -> Endpoints:
        """These endpoints with every override that is not None (command-line options win over a plan's);
        `ad_*` names override the AD endpoint's fields."""
        given = {k: v for k, v in overrides.items() if v not in (None, "", False, ())}
        ad_given = {k.removeprefix("ad_"): given.pop(k)
                    for k in list(given) if k.startswith("ad_") or k == "smb_host"}
        ad = self.ad
        if ad_given and ad is not None:
            ad = ad.model_copy(update=ad_given)
        elif ad_given.get("host"):  # a DC the plan did not name
            ad = AdEndpoint.model_validate(ad_given)
        return self.model_copy(update={**given, "ad": ad})

    def describe(self) -> str:
        """One line naming every endpoint (the lab, Graph, the portal, the DC)."""
        if self.lab is not None:
            return f"the lab (scenario {self.lab.scenario})"
        parts = [f"Graph {self.graph_url}" if self.graph_url else None,
                 f"portal {self.portal_url}" if self.portal_url else None]
        if self.ad is not None:
            extra = [f"TLS name {self.ad.tls_name}" if self.ad.tls_name else None,
                     f"CA {self.ad.ca_file}" if self.ad.ca_file else None,
                     f"SYSVOL on {self.ad.smb_host}" if self.ad.smb_host else None]
            parts.append(f"AD {self.ad.host} ({', '.join([self.ad.tls, *(e for e in extra if e)])})")
        shown = [p for p in parts if p]
        return "; ".join(shown) if shown else "nothing recorded (no endpoint)"
