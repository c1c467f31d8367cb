"""The kinds an endpoint choice takes (the credential kinds, the LDAP TLS modes), apart from the model in
auditor/endpoints.py so that building the command line (`--help`) does not import pydantic. The `--auth`,
`--portal-auth` and `--ad-tls` choices, the fleet's and the plan's values all derive from these."""

from __future__ import annotations

from enum import StrEnum
from typing import Literal, get_args

AD_PASSWORD_VARIABLE = "SSPR_AD_PASSWORD"
"""The environment variable holding the AD bind password by default (never an option, never in a plan)."""


class AuthKind(StrEnum):
    """Every credential kind a run can use; the `--auth` / `--portal-auth` choices derive from it."""

    secret = "secret"
    certificate = "certificate"
    workload_identity = "workload-identity"
    github_oidc = "github-oidc"
    azure_cli = "azure-cli"
    device_code = "device-code"
    login_cache = "login-cache"  # the reader's sealed `sspr-audit login` cache: the portal, reads only
    lab = "lab"  # the lab emulator's fixed token: loopback only


GRAPH_AUTH = tuple(k for k in AuthKind if k is not AuthKind.login_cache)
"""For Graph (application or delegated)."""
PORTAL_AUTH = (AuthKind.azure_cli, AuthKind.device_code, AuthKind.login_cache, AuthKind.lab)
"""For the portal API, which takes a delegated admin token only."""
WRITE_PORTAL_AUTH = tuple(k for k in PORTAL_AUTH if k is not AuthKind.login_cache)
"""For writing to the portal (`apply`, `rollback`): the reader's login cache is for reading."""
UNATTENDED_AUTH = tuple(k for k in GRAPH_AUTH if k is not AuthKind.device_code)
"""For a fleet tenant, audited without anyone at a terminal."""

TlsMode = Literal["ldaps", "starttls", "none"]
TLS_MODES: tuple[str, ...] = get_args(TlsMode)
