"""Choose the azure-identity credential a run uses. Secrets come from the environment only."""

from __future__ import annotations

import functools
import os
import time
from dataclasses import dataclass
from typing import Any

from auditor.endpoints import AD_PASSWORD_VARIABLE, AuthKind

GRAPH_SCOPE = "https://graph.microsoft.com/.default"
PORTAL_RESOURCE = "74658136-14ec-4630-ad9b-26e160ff0fc6"
PORTAL_SCOPE = f"{PORTAL_RESOURCE}/.default"


class CredentialError(Exception):
    """The chosen credential cannot be built (a missing variable, a missing id)."""


@dataclass(frozen=True)
class LabTokenCredential:
    """Hands out a fixed bearer token; only ever used against the lab emulator on loopback."""

    token: str = "lab-token"

    def get_token(self, *scopes: str, **kwargs: Any) -> Any:
        from azure.core.credentials import AccessToken

        return AccessToken(self.token, int(time.time()) + 3600)


def _env(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        raise CredentialError(f"environment variable {name} is not set")
    return value


def build_credential(kind: AuthKind, tenant_id: str | None, client_id: str | None) -> Any:
    """A synchronous azure-identity credential (the async path closed credentials in older kiota)."""
    import azure.identity as identity

    def need(value: str | None, what: str) -> str:
        if not value:
            raise CredentialError(f"--auth {kind.value} needs {what}")
        return value

    if kind == AuthKind.secret:
        return identity.ClientSecretCredential(
            need(tenant_id, "--tenant-id"), need(client_id, "--client-id"), _env("AZURE_CLIENT_SECRET")
        )
    if kind == AuthKind.certificate:
        # https://learn.microsoft.com/python/api/azure-identity/azure.identity.certificatecredential
        return identity.CertificateCredential(
            need(tenant_id, "--tenant-id"), need(client_id, "--client-id"),
            certificate_path=_env("AZURE_CLIENT_CERTIFICATE_PATH"),
            password=os.environ.get("AZURE_CLIENT_CERTIFICATE_PASSWORD") or None,
        )
    if kind == AuthKind.workload_identity:
        return identity.WorkloadIdentityCredential(
            tenant_id=need(tenant_id, "--tenant-id"), client_id=need(client_id, "--client-id"),
            token_file_path=_env("AZURE_FEDERATED_TOKEN_FILE"),
        )
    if kind == AuthKind.github_oidc:
        request_url = _env("ACTIONS_ID_TOKEN_REQUEST_URL")
        request_token = _env("ACTIONS_ID_TOKEN_REQUEST_TOKEN")
        return identity.ClientAssertionCredential(
            need(tenant_id, "--tenant-id"), need(client_id, "--client-id"),
            lambda: _github_assertion(request_url, request_token),
        )
    if kind == AuthKind.azure_cli:
        return identity.AzureCliCredential(tenant_id=tenant_id or "")  # "": the CLI's own tenant (its default)
    if kind == AuthKind.device_code:
        if client_id:
            return identity.DeviceCodeCredential(client_id, tenant_id=tenant_id)
        # without --client-id, azure-identity's default app: None would send no client id at all
        # (https://learn.microsoft.com/python/api/azure-identity/azure.identity.devicecodecredential)
        return identity.DeviceCodeCredential(tenant_id=tenant_id)
    raise CredentialError(f"unknown credential kind {kind}")


def _github_assertion(request_url: str, request_token: str) -> str:
    """GitHub Actions' OIDC token for Entra workload identity federation."""
    import httpx

    response = httpx.get(
        request_url, params={"audience": "api://AzureADTokenExchange"},
        headers={"Authorization": f"Bearer {request_token}"}, timeout=30,
    )
    response.raise_for_status()
    return str(response.json()["value"])


def tls_context() -> Any:
    """The TLS context every Graph and portal client shares: httpx's default (certifi, or SSL_CERT_FILE /
    SSL_CERT_DIR), built once per process. Loading the CA bundle costs about 30 ms of CPU a client, which a
    fleet run paid three times per tenant. An SSLContext may be shared by clients and threads."""
    return _tls_context()


@functools.cache
def _tls_context() -> Any:
    import httpx

    return httpx.create_ssl_context()


def ad_password(variable: str = AD_PASSWORD_VARIABLE) -> str | None:
    """The AD bind password from the environment (the one place it is looked up; a fleet names one per DC)."""
    import os

    return os.environ.get(variable) or None
