"""Microsoft Graph reader (app-only) through the real msgraph-sdk client.

The only module that knows Graph's field names for these sections. Every failure (HTTP error,
OData error, timeout, unexpected payload) becomes a `Section.failed` with the reason: a check
that needs the section then reports `unknown`, never `pass`.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar
from urllib.parse import urlparse

from pydantic import BaseModel

from auditor.readers.credentials import GRAPH_SCOPE
from auditor.snapshot.models import (
    AuthorizationPolicyState,
    MethodConfiguration,
    MethodsPolicyState,
    Section,
    SyncFeaturesState,
)

log = logging.getLogger(__name__)

GRAPH_URL = "https://graph.microsoft.com/v1.0"
T = TypeVar("T", bound=BaseModel)


def build_client(graph_url: str, credential: Any, timeout_seconds: float = 30.0) -> Any:
    """A GraphServiceClient pointed at `graph_url`, keeping msgraph's default middleware (retry etc.)."""
    import httpx
    from kiota_authentication_azure.azure_identity_authentication_provider import (
        AzureIdentityAuthenticationProvider,
    )
    from msgraph import GraphRequestAdapter, GraphServiceClient
    from msgraph_core import GraphClientFactory

    graph_url = graph_url.rstrip("/")
    host = urlparse(graph_url).hostname or ""
    scopes = [GRAPH_SCOPE]
    auth = AzureIdentityAuthenticationProvider(credential, scopes=scopes, allowed_hosts=[host])
    http_client = GraphClientFactory.create_with_default_middleware(
        client=httpx.AsyncClient(base_url=graph_url, timeout=httpx.Timeout(timeout_seconds))
    )
    adapter = GraphRequestAdapter(auth, client=http_client)
    adapter.base_url = graph_url  # httpx adds a trailing slash otherwise, giving /v1.0//path
    return GraphServiceClient(request_adapter=adapter)


def describe_error(exc: BaseException) -> str:
    """A one-line reason for a failed read, with Graph's error code where there is one."""
    from kiota_abstractions.api_error import APIError

    if isinstance(exc, APIError):
        status = getattr(exc, "response_status_code", None)
        error = getattr(exc, "error", None)
        code = getattr(error, "code", None) if error is not None else None
        message = getattr(error, "message", None) if error is not None else None
        parts = [f"HTTP {status}" if status else "HTTP error", code, message or exc.message]
        return ": ".join(str(p) for p in parts if p)
    import httpx

    if isinstance(exc, httpx.TimeoutException):
        return f"timed out ({type(exc).__name__})"
    if isinstance(exc, httpx.HTTPError):
        return f"network error: {type(exc).__name__}: {exc}"
    return f"{type(exc).__name__}: {exc}"


async def _read(source: str, fetch: Callable[[], Awaitable[T]]) -> Section[T]:
    try:
        value = await fetch()
    except Exception as exc:  # every failure is data for the checks, never a crash or a pass
        reason = describe_error(exc)
        log.info("read failed: %s: %s", source, reason)
        return Section[Any].failed(source, reason)
    return Section[Any].ok(source, value)


async def read_authorization_policy(client: Any) -> Section[AuthorizationPolicyState]:
    source = "graph:GET /policies/authorizationPolicy"

    async def fetch() -> AuthorizationPolicyState:
        from kiota_abstractions.base_request_configuration import RequestConfiguration
        from msgraph.generated.policies.authorization_policy.authorization_policy_request_builder import (
            AuthorizationPolicyRequestBuilder,
        )

        query = AuthorizationPolicyRequestBuilder.AuthorizationPolicyRequestBuilderGetQueryParameters(
            select=["id", "allowedToUseSSPR"]
        )
        policy = await client.policies.authorization_policy.get(RequestConfiguration(query_parameters=query))
        if policy is None:
            raise ValueError("empty response")
        return AuthorizationPolicyState(allowed_to_use_sspr=policy.allowed_to_use_s_s_p_r)

    return await _read(source, fetch)


async def read_methods_policy(client: Any) -> Section[MethodsPolicyState]:
    source = "graph:GET /policies/authenticationMethodsPolicy"

    async def fetch() -> MethodsPolicyState:
        policy = await client.policies.authentication_methods_policy.get()
        if policy is None:
            raise ValueError("empty response")
        state = policy.policy_migration_state
        if policy.authentication_method_configurations is None:  # missing is a changed shape, not "no methods"
            raise ValueError("the response has no authenticationMethodConfigurations")
        return MethodsPolicyState(
            migration_state=state.value if state is not None else None,
            configurations=[_method_configuration(c) for c in policy.authentication_method_configurations or []],
        )

    return await _read(source, fetch)


def _method_configuration(config: Any) -> MethodConfiguration:
    state = getattr(config, "state", None)
    targets = getattr(config, "include_targets", None) or []
    return MethodConfiguration(
        id=str(config.id),
        state=state.value if state is not None else None,
        include_target_ids=[str(t.id) for t in targets if getattr(t, "id", None)],
        is_office_phone_allowed=getattr(config, "is_office_phone_allowed", None),
    )


async def read_sync_features(client: Any) -> Section[SyncFeaturesState]:
    source = "graph:GET /directory/onPremisesSynchronization"

    async def fetch() -> SyncFeaturesState:
        response = await client.directory.on_premises_synchronization.get()
        items = (response.value if response is not None else None) or []
        if not items:
            return SyncFeaturesState()
        features = items[0].features
        return SyncFeaturesState(
            password_writeback_enabled=getattr(features, "password_writeback_enabled", None),
            password_sync_enabled=getattr(features, "password_sync_enabled", None),
        )

    return await _read(source, fetch)
