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

from auditor.graph_fields import (
    AUTHORIZATION_FIELDS,
    CONFIGURATION_FIELDS,
    CONFIGURATIONS,
    EXCLUDE_TARGETS,
    INCLUDE_TARGETS,
    METHODS_FIELDS,
    RECONFIRMATION_IN_DAYS,
)
from auditor.readers.credentials import GRAPH_SCOPE, tls_context
from auditor.readers.graph_wire import AuthorizationPolicyWire, methods_policy, one, select
from auditor.snapshot.models import (
    AuthorizationPolicyState,
    MethodConfiguration,
    MethodsPolicyState,
    Section,
    SyncFeaturesState,
    TapSettings,
)

log = logging.getLogger(__name__)

T = TypeVar("T", bound=BaseModel)


def build_client(graph_url: str, credential: Any, timeout_seconds: float = 30.0) -> Any:
    """A GraphServiceClient pointed at `graph_url`, keeping msgraph's default middleware (retry etc.)."""
    import httpx
    from kiota_authentication_azure.azure_identity_authentication_provider import (
        AzureIdentityAuthenticationProvider,
    )
    from msgraph.graph_request_adapter import GraphRequestAdapter
    from msgraph.graph_service_client import GraphServiceClient
    from msgraph_core import GraphClientFactory

    graph_url = graph_url.rstrip("/")
    host = urlparse(graph_url).hostname or ""
    scopes = [GRAPH_SCOPE]
    auth = AzureIdentityAuthenticationProvider(credential, scopes=scopes, allowed_hosts=[host])
    http_client = GraphClientFactory.create_with_default_middleware(
        client=httpx.AsyncClient(base_url=graph_url, timeout=httpx.Timeout(timeout_seconds), verify=tls_context())
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

    from auditor.readers.graph_wire import WireError

    if isinstance(exc, WireError):
        return f"unexpected response shape: {exc}"
    if isinstance(exc, httpx.TimeoutException):
        return f"timed out ({type(exc).__name__})"
    if isinstance(exc, httpx.HTTPError):
        return f"network error: {type(exc).__name__}: {exc}"
    return f"{type(exc).__name__}: {exc}"


async def get_json(builder: Any, config: Any = None, *, url: str | None = None) -> Any:
    """One GET through the SDK's adapter (auth, retry, OData errors), its body parsed as plain JSON.

    kiota models are never built: building the first one imports some 1,400 msgraph model modules
    (`Entity.get_field_deserializers`, about 2 s), and each later one costs milliseconds.
    """
    import orjson  # three times as fast as json on a 999-user page (the client's CPU is what a scan waits on)

    body = await get_bytes(builder, config, url=url)
    return orjson.loads(body) if body else None


async def get_bytes(builder: Any, config: Any = None, *, url: str | None = None) -> bytes | None:
    """One GET through the SDK's adapter, the body as sent."""
    from msgraph.generated.models.o_data_errors.o_data_error import ODataError

    info = (builder.with_url(url) if url else builder).to_get_request_information(config)
    body: bytes | None = await builder.request_adapter.send_primitive_async(info, "bytes", {"XXX": ODataError})
    return body


def query(builder: Any, **params: Any) -> Any:
    """A RequestConfiguration with the builder's own GET query-parameter class (so names map to `$select` etc.)."""
    from kiota_abstractions.base_request_configuration import RequestConfiguration

    cls = next(v for k, v in vars(type(builder)).items() if k.endswith("GetQueryParameters"))
    return RequestConfiguration(query_parameters=cls(**params))


def _object(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise ValueError("empty response" if body is None else "the response is not a JSON object")
    return body


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
        builder = client.policies.authorization_policy
        field = AUTHORIZATION_FIELDS["allowed_to_use_sspr"]
        policy = _object(await get_json(builder, query(builder, select=["id", *select(AuthorizationPolicyWire)])))
        # absent, null or not a boolean: the section is unreadable with the field named (graph_wire), not None
        wire = one(AuthorizationPolicyWire, policy, "authorization policies")
        return AuthorizationPolicyState(allowed_to_use_sspr=getattr(wire, field))

    return await _read(source, fetch)


async def read_methods_policy(client: Any) -> Section[MethodsPolicyState]:
    source = "graph:GET /policies/authenticationMethodsPolicy"

    async def fetch() -> MethodsPolicyState:
        policy = _object(await get_json(client.policies.authentication_methods_policy))
        methods_policy(policy)  # every field a verdict reads is there and typed (graph_wire), or the section fails
        configurations = policy.get(CONFIGURATIONS)
        if not isinstance(configurations, list):  # missing is a changed shape, not "no methods"
            raise ValueError(f"the response has no {CONFIGURATIONS}")
        field = METHODS_FIELDS["migration_state"]
        state = policy.get(field)
        if state is not None and not isinstance(state, str):
            raise ValueError(f"{field} is {type(state).__name__}, not a string or null")
        days = policy.get(RECONFIRMATION_IN_DAYS)
        return MethodsPolicyState(
            migration_state=state,
            configurations=[_method_configuration(c) for c in configurations if isinstance(c, dict)],
            reconfirmation_in_days=days if isinstance(days, int) and not isinstance(days, bool) else None,
            registration_campaign_state=_campaign_state(policy),
        )

    return await _read(source, fetch)


def _method_configuration(config: dict[str, Any]) -> MethodConfiguration:
    state = config.get(CONFIGURATION_FIELDS["state"])
    office = config.get(CONFIGURATION_FIELDS["is_office_phone_allowed"])
    oath = config.get(CONFIGURATION_FIELDS["is_software_oath_enabled"])
    return MethodConfiguration(
        id=str(config.get("id")),
        state=state if state in ("enabled", "disabled") else None,
        include_target_ids=_target_ids(config, INCLUDE_TARGETS),
        exclude_target_ids=_target_ids(config, EXCLUDE_TARGETS),
        is_office_phone_allowed=office if isinstance(office, bool) else None,
        is_software_oath_enabled=oath if isinstance(oath, bool) else None,
        target_types=_target_types(config),
        temporary_access_pass=_tap(config) if str(config.get("id")).lower() == "temporaryaccesspass" else None,
        passwordless_only_target_ids=[str(t["id"]) for t in config.get(INCLUDE_TARGETS) or []
                                      if isinstance(t, dict) and t.get("id")
                                      and t.get("authenticationMode") == "deviceBasedPush"],
    )


def _tap(config: dict[str, Any]) -> TapSettings:
    """The Temporary Access Pass settings as sent (validated by graph_wire); absent ones stay None."""

    def number(name: str) -> int | None:
        value = config.get(name)
        return value if isinstance(value, int) and not isinstance(value, bool) else None

    once = config.get("isUsableOnce")
    return TapSettings(is_usable_once=once if isinstance(once, bool) else None,
                       default_lifetime_minutes=number("defaultLifetimeInMinutes"),
                       minimum_lifetime_minutes=number("minimumLifetimeInMinutes"),
                       maximum_lifetime_minutes=number("maximumLifetimeInMinutes"),
                       default_length=number("defaultLength"))


def _target_types(config: dict[str, Any]) -> dict[str, str]:
    """Lower-case target id → targetType, for every include and exclude target (authenticationmethodtarget:
    "The possible values are: user, group"). A target without targetType is kept as "" (not guessed)."""
    types: dict[str, str] = {}
    for name in (INCLUDE_TARGETS, EXCLUDE_TARGETS):
        for target in config.get(name) or []:
            if isinstance(target, dict) and target.get("id"):
                kind = target.get("targetType")
                types[str(target["id"]).lower()] = kind if isinstance(kind, str) else ""
    return types


def _target_ids(config: dict[str, Any], name: str) -> list[str]:
    """The ids of a configuration's include or exclude targets (learn.microsoft.com/graph/api/resources/
    authenticationmethodtarget: `id` is a user's or group's object id, or `all_users`; `targetType` says which).
    A missing list is refused: read as empty it would silently mean "nobody" (include) or "no one excluded"."""
    targets = config.get(name)
    if targets is None and name == "excludeTargets":
        return []  # some configurations (e.g. Voice in older shapes) omit excludeTargets: no one is excluded
    if not isinstance(targets, list):
        raise ValueError(f"{config.get('id')}.{name} is not a list")
    return [str(t["id"]) for t in targets if isinstance(t, dict) and t.get("id")]


def _campaign_state(policy: dict[str, Any]) -> str | None:
    """registrationEnforcement.authenticationMethodsRegistrationCampaign.state (learn.microsoft.com/graph/api/
    resources/authenticationmethodsregistrationcampaign: default, enabled, disabled); None when absent or not text
    (the registration campaign check is then unknown)."""
    enforcement = policy.get("registrationEnforcement")
    campaign = enforcement.get("authenticationMethodsRegistrationCampaign") if isinstance(enforcement, dict) else None
    state = campaign.get("state") if isinstance(campaign, dict) else None
    return state if isinstance(state, str) and state.strip() else None


async def read_sync_features(client: Any) -> Section[SyncFeaturesState]:
    source = "graph:GET /directory/onPremisesSynchronization"

    async def fetch() -> SyncFeaturesState:
        response = _object(await get_json(client.directory.on_premises_synchronization))
        # Documented both ways (learn.microsoft.com/graph/api/onpremisesdirectorysynchronization-get: its example
        # answers with one `$entity`; the resource's list answers with a `value` collection): read both.
        items = response.get("value")
        if items is None and ("features" in response or "id" in response):
            items = [response]
        if not isinstance(items, list):
            raise ValueError("the response is neither an OData collection (`value`) nor one "
                             "onPremisesDirectorySynchronization entity")
        if not items or not isinstance(items[0], dict):
            return SyncFeaturesState()
        features = items[0].get("features") or {}
        writeback, sync = features.get("passwordWritebackEnabled"), features.get("passwordSyncEnabled")
        tenant = items[0].get("id")  # documented as the tenant id: what binds a portal snapshot to its tenant
        return SyncFeaturesState(
            password_writeback_enabled=writeback if isinstance(writeback, bool) else None,
            password_sync_enabled=sync if isinstance(sync, bool) else None,
            tenant_id=tenant.strip().lower() if isinstance(tenant, str) and tenant.strip() else None,
        )

    return await _read(source, fetch)
