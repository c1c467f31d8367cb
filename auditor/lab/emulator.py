"""An ASGI emulator of the Microsoft Graph v1.0 and Azure portal endpoints the auditor uses.

``create_app(scenario)`` serves a mutable copy of a :class:`~auditor.lab.scenario.Scenario`
so that the real msgraph-sdk client, with its paging and retry middleware, and the portal
reader can run against it over HTTP (see :mod:`auditor.lab.server`).

Behaviour that mirrors the real services:

* every request needs ``Authorization: Bearer <anything>``, else 401
  ``InvalidAuthenticationToken``; errors use Graph's OData error body, and every response
  carries ``request-id`` and ``client-request-id`` headers (the latter echoed from the
  request's ``client-request-id`` or ``x-ms-client-request-id`` when given);
* ``GET /v1.0/users`` returns Graph's default property set unless ``$select`` names others
  (``accountEnabled``, ``onPremisesSyncEnabled`` and ``userType`` need ``$select``), and
  cloud-only users have ``onPremisesSyncEnabled: null``, not false;
* collections page with an absolute ``@odata.nextLink`` (built from the request's own base
  URL) that carries the original query plus an opaque ``$skiptoken``; ``$top`` sets the page
  size (users and group members: default 100, 1 to 999; registration details: default 1000,
  1 to 1000; see :class:`Paging`);
* ``$filter`` supports ``property eq literal`` clauses joined by ``and`` on the properties
  Graph documents as filterable; other filters answer 400;
* the coverage surfaces: ``/subscribedSkus`` (a SKU whose ``consumedUnits`` the scenario leaves
  null counts its assigned users), ``/groups`` (``$filter`` on ``displayName``) and
  ``/groups/{id}/transitiveMembers`` (nested groups flattened), ``/security/secureScores``
  (newest first; ``$top=N`` gives the N latest days), ``/security/secureScoreControlProfiles``,
  ``/auditLogs/directoryAudits`` (``$filter`` with ``activityDateTime ge/le``), ``/groupSettings``
  and ``/deviceManagement/deviceConfigurations``; history (audit events, Secure Scores) is dated
  before the scenario's ``as_of`` and served shifted so that ``as_of`` is the current time;
* ``Paging.cap`` makes every page hold at most that many items whatever ``$top`` asks, as Graph
  may, so paging can be tested with readers that ask for the largest page;
* PATCH of an authentication method configuration needs ``@odata.type`` (400 otherwise) and
  answers 204, as does PATCH of the authorization policy; PATCH of the methods policy
  answers 200 with the policy;
* ``POST /groupSettings`` creates a setting from a known template (the Password Rule Settings; any
  other ``templateId`` answers 400), filling the values it leaves out with the template's defaults,
  and answers 201 with it; a second one from the same template answers 400; ``PATCH
  /groupSettings/{id}`` takes the whole ``values`` collection (a missing value answers 400) and
  answers 204; ``DELETE /groupSettings/{id}`` answers 204; an unknown value name, a value that is
  not a string of the template's type, or a name given twice answers 400.

Fault injection (:class:`Faults`) is read on every request from ``app.state.lab.faults``,
so tests can change it while a server runs: 403 per endpoint, 429 and 503 storms with
``Retry-After`` (per endpoint), any error status, a connection dropped mid-answer, a body that
is not JSON, a broken ``@odata.nextLink``, a slow endpoint, fields dropped or renamed (an API
whose shape changed), nested fields deleted, nulled or retyped in every row (``FieldFault``), and
writes that fail after N succeeded (or are made and then never answered,
``fail_writes_with="stall"``). ``app.state.lab`` is the
:class:`EmulatorState`: tenant state, faults and the request log.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import copy
import json
import logging
import re
import threading
import uuid
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Final, Literal
from urllib.parse import quote, urlencode

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator
from starlette.applications import Starlette
from starlette.datastructures import Headers, MutableHeaders
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from auditor.lab.scenario import MIGRATION_STATES, JsonObject, Scenario

__all__ = [
    "ALIASES",
    "ENDPOINT_NAMES",
    "SETTING_TEMPLATES",
    "EmulatorState",
    "Faults",
    "FieldFault",
    "Paging",
    "RequestRecord",
    "create_app",
    "lab_state",
]

log = logging.getLogger(__name__)

GRAPH_ENDPOINTS: Final = frozenset({
    "authorization_policy", "methods_policy", "method_configuration", "sync", "users",
    "registration_details", "groups", "subscribed_skus", "secure_scores", "secure_score_profiles",
    "directory_audits", "group_settings", "device_configurations", "device_configuration_assignments",
    "ca_policies", "named_locations", "directory_roles", "domains", "devices",
})
PORTAL_ENDPOINTS: Final = frozenset({"portal_sspr", "portal_onprem"})
ENDPOINT_NAMES: Final = GRAPH_ENDPOINTS | PORTAL_ENDPOINTS
ALIASES: Final[Mapping[str, frozenset[str]]] = {"portal": PORTAL_ENDPOINTS, "graph": GRAPH_ENDPOINTS}
WRITE_METHODS: Final = frozenset({"POST", "PUT", "PATCH", "DELETE"})
GRAPH_JSON: Final = (
    "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8"
)
PORTAL_JSON: Final = "application/json; charset=utf-8"


# --- configuration: faults and paging ------------------------------------------------------


def _check_names(names: Iterable[str]) -> None:
    unknown = sorted(set(names) - ENDPOINT_NAMES - set(ALIASES))
    if unknown:
        known = ", ".join(sorted(ENDPOINT_NAMES | set(ALIASES)))
        raise ValueError(f"unknown endpoint name(s) {', '.join(unknown)}; known: {known}")


PathStep = str | int | None
"""One step of a field path: a key, a list index, or None for every item of a list (``[*]``)."""
_STEP = re.compile(r"\.?([^.\[\]\"]+)|\[(\*|\d+)\]|\[\"([^\"]+)\"\]")


def parse_field_path(path: str) -> tuple[PathStep, ...]:
    """``value[*].assignedPlans[0].servicePlanId`` as its steps (a key with dots in brackets and quotes:
    ``value[*]["@odata.type"]``); a ValueError naming the path if it is not one."""
    steps: list[PathStep] = []
    at = 0
    while at < len(path):
        found = _STEP.match(path, at)
        if found is None or (at == 0 and path.startswith(".")):
            raise ValueError(f"field path {path!r}: unexpected {path[at:]!r} at character {at + 1}")
        key, index, quoted = found.groups()
        steps.append(key if key is not None else quoted if quoted is not None else None if index == "*"
                     else int(index))
        at = found.end()
    if not steps:
        raise ValueError("a field path must not be empty")
    return tuple(steps)


def retyped(value: Any) -> Any:
    """``value`` as another JSON type that a lax reader could mistake for it: a boolean or number as its text,
    a string inside a list, a list as an object keyed by position, an object inside a list, null as "null"."""
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return {str(i): item for i, item in enumerate(value)}
    return [value]


class FieldFault(BaseModel):
    """One nested field changed in an answer: ``delete`` (the key left out), ``null``, ``retype`` (another JSON
    type, see :func:`retyped`) or ``set`` (to ``value``). A path that matches nothing changes nothing."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    path: str
    action: Literal["delete", "null", "retype", "set"] = "delete"
    value: Any = None

    @field_validator("path")
    @classmethod
    def _parses(cls, value: str) -> str:
        parse_field_path(value)
        return value

    def apply(self, body: Any) -> int:
        """Change ``body`` in place; how many places changed."""
        return self._at(body, parse_field_path(self.path))

    def _at(self, node: Any, steps: tuple[PathStep, ...]) -> int:
        step, rest = steps[0], steps[1:]
        if isinstance(step, str):
            if not isinstance(node, dict) or step not in node:
                return 0
            if rest:
                return self._at(node[step], rest)
            if self.action == "delete":
                del node[step]
            else:
                node[step] = self._new(node[step])
            return 1
        if not isinstance(node, list):
            return 0
        indexes = range(len(node)) if step is None else [step] if step < len(node) else []
        if rest:
            return sum(self._at(node[i], rest) for i in indexes)
        if self.action == "delete":
            for i in sorted(indexes, reverse=True):
                del node[i]
        else:
            for i in indexes:
                node[i] = self._new(node[i])
        return len(indexes)

    def _new(self, old: Any) -> Any:
        return None if self.action == "null" else retyped(old) if self.action == "retype" else copy.deepcopy(self.value)


class Faults(BaseModel):
    """Faults to inject. Endpoint names are in ``ENDPOINT_NAMES``; ``portal`` means both
    portal routes and ``graph`` every Graph route."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    latency_ms: int = Field(0, ge=0)
    """Delay added to every request."""
    forbidden: set[str] = Field(default_factory=set)
    """Endpoints answered 403 (``Authorization_RequestDenied``; for registration details
    ``Authentication_RequestFromNonPremiumTenantOrB2CTenant``, as for a tenant without P1)."""
    throttle: dict[str, int] = Field(default_factory=dict)
    """Endpoint -> number of 429 answers (``Retry-After``) before it succeeds; counts down."""
    unavailable: dict[str, int] = Field(default_factory=dict)
    """Endpoint -> number of 503 answers (``Retry-After``) before it succeeds; counts down."""
    fail_writes_after: int | None = Field(None, ge=0)
    """Once this many writes have succeeded, writes fail as ``fail_writes_with`` says."""
    fail_writes_with: Literal["error", "forbidden", "reset", "throttle", "stall"] = "error"
    """How those writes fail: 500, 403 (read but no write permission), 429 with the endpoint's
    ``Retry-After`` (nothing written), ``reset`` (written, then the connection drops before the answer),
    or ``stall`` (written, then no answer until the client hangs up)."""
    retry_after_seconds: int = Field(1, ge=0)
    retry_after: dict[str, int] = Field(default_factory=dict)
    """Endpoint -> ``Retry-After`` seconds of its 429 and 5xx answers (default ``retry_after_seconds``)."""
    error_status: dict[str, int] = Field(default_factory=dict)
    """Endpoint -> an HTTP error status (400 to 599) answered every time, with Graph's error body;
    5xx answers carry ``Retry-After``."""
    reset_connection: set[str] = Field(default_factory=set)
    """Endpoints whose connection is dropped mid-answer (headers sent, body cut off)."""
    malformed_json: set[str] = Field(default_factory=set)
    """Endpoints answered 200 with a JSON body cut off mid-object."""
    broken_next_link: dict[str, Literal["bad_token", "loop"]] = Field(default_factory=dict)
    """Collection endpoint -> how its ``@odata.nextLink`` is broken: ``bad_token`` (the next page
    answers 400) or ``loop`` (the link points back at the page it is on, for ever)."""
    slow_ms: dict[str, int] = Field(default_factory=dict)
    """Endpoint -> delay before it answers (a timeout on one endpoint), on top of ``latency_ms``."""
    drop_fields: dict[str, list[str]] = Field(default_factory=dict)
    """Endpoint -> top-level fields left out of its JSON answers (an API whose shape changed)."""
    rename_fields: dict[str, dict[str, str]] = Field(default_factory=dict)
    """Endpoint -> {old: new} top-level fields renamed in its JSON answers."""
    field_faults: dict[str, list[FieldFault]] = Field(default_factory=dict)
    """Endpoint -> nested fields deleted, nulled or retyped in its JSON answers, by path into the JSON as
    served (``value[*].accountEnabled``, ``value[*].assignedPlans[*].servicePlanId``): a row Graph sends
    without a field, or with it of another type."""

    @field_validator("forbidden")
    @classmethod
    def _known_forbidden(cls, value: set[str]) -> set[str]:
        _check_names(value)
        return value

    @field_validator("throttle", "unavailable")
    @classmethod
    def _known_counts(cls, value: dict[str, int]) -> dict[str, int]:
        _check_names(value)
        if any(count < 0 for count in value.values()):
            raise ValueError("counts must not be negative")
        return value

    @field_validator("reset_connection", "malformed_json", "broken_next_link", "drop_fields", "rename_fields",
                     "field_faults")
    @classmethod
    def _known_endpoints(cls, value: Any) -> Any:
        _check_names(value)
        return value

    @field_validator("retry_after", "slow_ms", "error_status")
    @classmethod
    def _known_numbers(cls, value: dict[str, int], info: ValidationInfo) -> dict[str, int]:
        _check_names(value)
        low, high = (400, 599) if info.field_name == "error_status" else (0, 86_400_000)
        if any(not low <= number <= high for number in value.values()):
            raise ValueError(f"values must be {low} to {high}")
        return value

    def for_endpoint(self, table: Mapping[str, Any] | set[str], endpoint: str) -> Any:
        """The entry of ``table`` for ``endpoint`` or an alias covering it (the endpoint's own wins);
        for a set, True when it names either; None when neither is there."""
        for key in (endpoint, *[a for a, names in ALIASES.items() if endpoint in names]):
            if key in table:
                return table[key] if isinstance(table, Mapping) else True
        return None


class Paging(BaseModel):
    """Default page sizes (used when a request has no ``$top``)."""

    model_config = ConfigDict(extra="forbid")

    users: int = Field(100, ge=1, le=999)
    group_members: int = Field(100, ge=1, le=999)
    registration_details: int = Field(1000, ge=1, le=1000)
    groups: int = Field(100, ge=1, le=999)
    directory_audits: int = Field(100, ge=1, le=999)
    secure_score_profiles: int = Field(100, ge=1, le=999)
    device_configurations: int = Field(100, ge=1, le=999)
    cap: int | None = Field(None, ge=1)
    """Most items on any page, whatever `$top` asks (Graph may return fewer than `$top`): forces paging."""


_MAX_TOP: Final = {"users": 999, "group_members": 999, "registration_details": 1000, "groups": 999,
                   "directory_audits": 999, "secure_score_profiles": 999, "device_configurations": 999}


@dataclass(frozen=True)
class RequestRecord:
    """One request the emulator answered."""

    method: str
    path: str
    status: int
    endpoint: str | None = None
    query: str = ""


@dataclass
class EmulatorState:
    """Everything an app holds; reachable as ``app.state.lab``."""

    tenant: Scenario
    faults: Faults
    paging: Paging
    request_log: list[RequestRecord] = field(default_factory=list)
    writes_succeeded: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    transitive: dict[str, list[JsonObject]] = field(default_factory=dict, repr=False)
    """Flattened group memberships, computed once per group (memberships are not writable)."""
    encoded: dict[tuple[str, tuple[str, ...] | None], tuple[list[JsonObject], list[bytes | None]]] = field(
        default_factory=dict, repr=False)
    """(collection, selected fields) -> (the items, each item's JSON once encoded): users and registration
    details are not writable, so a 999-item page is a join of kept fragments, not 999 encodings."""
    kept: dict[tuple[Any, ...], tuple[Any, Any]] = field(default_factory=dict, repr=False)
    """Other answers worked out once and kept with what they were worked out from (history as served in
    this second, the items a `$filter` matched, the member types of a group)."""
    field_fault_hits: dict[str, int] = field(default_factory=dict)
    """Field fault path -> how many places in the answers served it changed (a test can tell a fault that
    matched nothing from one that was read and survived)."""
    portal_token_problem: Callable[[str], str | None] | None = field(default=None, repr=False)
    """When set (by the lab identity platform), why a portal request's bearer token is refused, or None:
    the real portal takes only a delegated user token for its own resource."""

    def record(self, entry: RequestRecord) -> None:
        with self.lock:
            self.request_log.append(entry)

    def requests(self, endpoint: str | None = None) -> list[RequestRecord]:
        """A snapshot of the log, optionally for one endpoint name."""
        with self.lock:
            return [r for r in self.request_log if endpoint is None or r.endpoint == endpoint]

    def clear_log(self) -> None:
        with self.lock:
            self.request_log.clear()
            self.field_fault_hits.clear()

    def take_fault_count(self, table: dict[str, int], endpoint: str) -> bool:
        """Consume one count for ``endpoint`` (or an alias covering it); True if consumed."""
        with self.lock:
            for key in (endpoint, *[a for a, names in ALIASES.items() if endpoint in names]):
                if table.get(key, 0) > 0:
                    table[key] -= 1
                    return True
        return False


def lab_state(app: Starlette) -> EmulatorState:
    """The :class:`EmulatorState` of an app made by :func:`create_app`."""
    state: EmulatorState = app.state.lab
    return state


# --- errors ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Ids:
    request_id: str
    client_request_id: str


class GraphError(Exception):
    """An error answered with Graph's OData error body."""

    def __init__(self, status: int, code: str, message: str, headers: Mapping[str, str] | None = None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = dict(headers or {})


def _ids(scope: Scope) -> _Ids:
    ids = scope.get("state", {}).get("lab_ids")
    return ids if isinstance(ids, _Ids) else _Ids(str(uuid.uuid4()), str(uuid.uuid4()))


def error_response(scope: Scope, error: GraphError) -> Response:
    ids = _ids(scope)
    body = {"error": {
        "code": error.code,
        "message": error.message,
        "innerError": {
            "date": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S"),
            "request-id": ids.request_id,
            "client-request-id": ids.client_request_id,
        },
    }}
    return JSONResponse(body, status_code=error.status, headers=error.headers, media_type=GRAPH_JSON)


def _bad_request(message: str, code: str = "BadRequest") -> GraphError:
    return GraphError(400, code, message)


# --- middleware: ids, latency, authentication, request log -----------------------------------


class _LabMiddleware:
    def __init__(self, app: ASGIApp, lab: EmulatorState) -> None:
        self.app = app
        self.lab = lab

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        client_id = headers.get("client-request-id") or headers.get("x-ms-client-request-id")
        ids = _Ids(str(uuid.uuid4()), client_id or str(uuid.uuid4()))
        state = scope.setdefault("state", {})
        state["lab_ids"] = ids
        status = 500

        async def send_with_ids(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                out = MutableHeaders(scope=message)
                out["request-id"] = ids.request_id
                out["client-request-id"] = ids.client_request_id
            await send(message)

        latency = self.lab.faults.latency_ms
        if latency:
            await asyncio.sleep(latency / 1000)
        refused = self._portal_refusal(scope["path"], headers)
        if refused is not None:
            await error_response(scope, GraphError(401, "InvalidAuthenticationToken", refused))(
                scope, receive, send_with_ids)
        elif _has_bearer(headers):
            await self.app(scope, receive, send_with_ids)
        else:
            denied = GraphError(401, "InvalidAuthenticationToken", "Access token is empty.")
            await error_response(scope, denied)(scope, receive, send_with_ids)
        self.lab.record(RequestRecord(
            method=scope["method"], path=scope["path"], status=status,
            endpoint=state.get("lab_endpoint"), query=scope.get("query_string", b"").decode("latin-1"),
        ))


    def _portal_refusal(self, path: str, headers: Headers) -> str | None:
        check = self.lab.portal_token_problem
        if check is None or not path.startswith("/api/"):
            return None
        scheme, _, token = headers.get("authorization", "").partition(" ")
        return check(token.strip()) if scheme.lower() == "bearer" else "Access token is empty."


def _has_bearer(headers: Headers) -> bool:
    scheme, _, token = headers.get("authorization", "").partition(" ")
    return scheme.lower() == "bearer" and bool(token.strip())


# --- the endpoint wrapper: faults, errors, write accounting ----------------------------------

Handler = Callable[[Request, EmulatorState], Awaitable[Response]]


def _fault(lab: EmulatorState, endpoint: str, method: str) -> GraphError | None:
    faults = lab.faults
    seconds = faults.for_endpoint(faults.retry_after, endpoint)
    retry = {"Retry-After": str(faults.retry_after_seconds if seconds is None else seconds)}
    names = {endpoint, *[alias for alias, members in ALIASES.items() if endpoint in members]}
    if names & faults.forbidden:
        if endpoint == "registration_details":
            return GraphError(403, "Authentication_RequestFromNonPremiumTenantOrB2CTenant",
                              "Tenant is not a B2C tenant and doesn't have premium license")
        return GraphError(403, "Authorization_RequestDenied",
                          "Insufficient privileges to complete the operation.")
    if lab.take_fault_count(faults.throttle, endpoint):
        return GraphError(429, "TooManyRequests", "Too many requests, please retry later.", retry)
    if lab.take_fault_count(faults.unavailable, endpoint):
        return GraphError(503, "serviceNotAvailable", "The service is temporarily unavailable.", retry)
    status = faults.for_endpoint(faults.error_status, endpoint)
    if status is not None:
        code, message = _ERROR_CODES.get(status, ("generalException", "General exception while processing."))
        return GraphError(status, code, message, retry if status >= 500 else None)
    if (method in WRITE_METHODS and faults.fail_writes_after is not None
            and lab.writes_succeeded >= faults.fail_writes_after and faults.fail_writes_with not in ("reset", "stall")):
        if faults.fail_writes_with == "throttle":
            return GraphError(429, "TooManyRequests", "Too many requests, please retry later.", retry)
        if faults.fail_writes_with == "forbidden":
            return GraphError(403, "Authorization_RequestDenied", "Insufficient privileges to complete the operation.")
        return GraphError(500, "generalException", "General exception while processing.")
    return None


_ERROR_CODES: Final = {
    400: ("BadRequest", "The request is invalid."),
    401: ("InvalidAuthenticationToken", "Access token has expired or is not yet valid."),
    403: ("Authorization_RequestDenied", "Insufficient privileges to complete the operation."),
    404: ("Request_ResourceNotFound", "Resource does not exist."),
    502: ("BadGateway", "The gateway received an invalid response."),
    503: ("serviceNotAvailable", "The service is temporarily unavailable."),
    504: ("GatewayTimeout", "The gateway did not receive a response in time."),
}


class _DroppedConnection(Response):
    """Headers that promise a body, part of it, then nothing: the server closes the connection."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", GRAPH_JSON.encode()), (b"content-length", b"4096")]})
        await send({"type": "http.response.body", "body": b'{"value": [', "more_body": True})


async def _client_left_during(request: Request, seconds: float) -> bool:
    """Wait `seconds`, or less if the client hangs up first (so a stopping server need not wait); True if it did."""
    await request.body()  # read (and keep) the body first: listening for a hang-up must not swallow it
    deadline = asyncio.get_running_loop().time() + seconds
    while asyncio.get_running_loop().time() < deadline:
        if await request.is_disconnected():
            return True
        await asyncio.sleep(min(0.05, max(0.0, deadline - asyncio.get_running_loop().time())))
    return False


def _write_lost(lab: EmulatorState, method: str) -> Literal["reset", "stall"] | None:
    """How the answer to this write is lost after it is made (``fail_writes_with`` reset or stall), or None."""
    faults = lab.faults
    if (method in WRITE_METHODS and faults.fail_writes_with in ("reset", "stall")
            and faults.fail_writes_after is not None and lab.writes_succeeded >= faults.fail_writes_after):
        return faults.fail_writes_with
    return None


def _reshaped(lab: EmulatorState, endpoint: str, response: Response) -> Response:
    """The answer with the changed-shape and malformed-body faults for ``endpoint`` applied."""
    faults = lab.faults
    if faults.for_endpoint(faults.malformed_json, endpoint) is not None:
        return Response(response.body[: max(1, len(response.body) // 2)] or b"{", status_code=response.status_code,
                        media_type=response.media_type)
    dropped = faults.for_endpoint(faults.drop_fields, endpoint) or []
    renamed = faults.for_endpoint(faults.rename_fields, endpoint) or {}
    nested: list[FieldFault] = faults.for_endpoint(faults.field_faults, endpoint) or []
    if not (dropped or renamed or nested) or not response.body:
        return response
    body = json.loads(bytes(response.body))  # starlette types a body as bytes or memoryview
    if isinstance(body, dict):
        body = {renamed.get(key, key): value for key, value in body.items() if key not in dropped}
    for fault in nested:
        changed = fault.apply(body)
        with lab.lock:
            lab.field_fault_hits[fault.path] = lab.field_fault_hits.get(fault.path, 0) + changed
    return JSONResponse(body, status_code=response.status_code, media_type=response.media_type)


_STALL_SECONDS = 3600.0


def _endpoint(name: str, handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    async def run(request: Request) -> Response:
        lab = lab_state(request.app)
        request.scope.setdefault("state", {})["lab_endpoint"] = name
        slow = lab.faults.for_endpoint(lab.faults.slow_ms, name)
        if slow and await _client_left_during(request, slow / 1000):
            return Response(status_code=499)  # nobody is listening any more
        problem = _fault(lab, name, request.method)
        if problem is not None:
            return error_response(request.scope, problem)
        if lab.faults.for_endpoint(lab.faults.reset_connection, name) is not None:
            return _DroppedConnection()
        answer_lost = _write_lost(lab, request.method)
        try:
            response = await handler(request, lab)
        except GraphError as exc:
            return error_response(request.scope, exc)
        except Exception:
            log.exception("lab emulator: %s %s failed", request.method, request.url.path)
            return error_response(request.scope, GraphError(500, "generalException",
                                                            "General exception while processing."))
        if request.method in WRITE_METHODS and response.status_code < 300:
            with lab.lock:
                lab.writes_succeeded += 1
        if answer_lost == "stall" and await _client_left_during(request, _STALL_SECONDS):
            return Response(status_code=499)  # nobody is listening any more
        if answer_lost:
            return _DroppedConnection()
        return _reshaped(lab, name, response)

    run.__name__ = f"{name}_{handler.__name__}"
    return run


# --- OData query options -----------------------------------------------------------------

_SUPPORTED_OPTIONS: Final = frozenset({"$select", "$top", "$filter", "$skiptoken"})


def _check_options(request: Request, allowed: frozenset[str]) -> None:
    for key in request.query_params:
        if key.startswith("$") and key.lower() not in allowed:
            raise _bad_request(f"Query option '{key}' is not supported by this lab endpoint.")


def _parse_select(request: Request, known: Iterable[str], type_name: str) -> list[str] | None:
    raw = request.query_params.get("$select")
    if raw is None:
        return None
    canonical = {name.lower(): name for name in known}
    selected: list[str] = []
    for part in (p.strip() for p in raw.split(",")):
        if not part:
            continue
        name = canonical.get(part.lower())
        if name is None:
            raise _bad_request(f"Could not find a property named '{part}' on type '{type_name}'.")
        if name not in selected:
            selected.append(name)
    return selected


def _project(obj: JsonObject, selected: list[str] | None, keep_type: bool = False) -> JsonObject:
    """The properties to send. Shallow: bodies are serialised at once, before any write."""
    if selected is None:
        return dict(obj)
    out: JsonObject = {}
    if keep_type and "@odata.type" in obj:
        out["@odata.type"] = obj["@odata.type"]
    out["id"] = obj.get("id")
    for name in selected:
        out[name] = obj.get(name)
    return out


_DATETIME_LITERAL: Final = r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:\d{2})"
_LITERAL: Final = rf"true|false|null|{_DATETIME_LITERAL}|-?\d+|'(?:[^']|'')*'"
_CLAUSE: Final = re.compile(rf"^\s*([A-Za-z][A-Za-z0-9]*)\s+(eq|ge|le|gt|lt)\s+({_LITERAL})\s*$",
                            re.IGNORECASE)
_ORDERING: Final = frozenset({"ge", "le", "gt", "lt"})
_AND_OUTSIDE_QUOTES: Final = re.compile(r"\s+and\s+(?=(?:[^']*'[^']*')*[^']*$)", re.IGNORECASE)


def _literal(text: str) -> object:
    lowered = text.lower()
    if re.fullmatch(_DATETIME_LITERAL, text):
        return _parse_datetime(text)
    if lowered in ("true", "false"):
        return lowered == "true"
    if lowered == "null":
        return None
    if text.startswith("'"):
        return text[1:-1].replace("''", "'")
    return int(text)


def _parse_datetime(text: str) -> datetime:
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


Clause = tuple[str, str, object]


def _parse_filter(request: Request, filterable: Mapping[str, type], code: str) -> list[Clause]:
    """`property op literal` clauses joined by `and`: `eq` on any filterable property, `ge`/`le`/`gt`/`lt`
    only on date-time properties (as Graph allows on e.g. directoryAudits' activityDateTime)."""
    raw = request.query_params.get("$filter")
    if raw is None:
        return []
    canonical = {name.lower(): name for name in filterable}
    clauses: list[Clause] = []
    for part in _AND_OUTSIDE_QUOTES.split(raw):
        match = _CLAUSE.match(part)
        name = canonical.get(match.group(1).lower()) if match else None
        if match is None or name is None:
            raise _bad_request(f"Unsupported or invalid filter clause: '{part.strip()}'.", code)
        value = _literal(match.group(3))
        operator = match.group(2).lower()
        if value is not None and not isinstance(value, filterable[name]):
            raise _bad_request(f"A binary operator with incompatible types was detected in '{part.strip()}'.",
                               code)
        if operator in _ORDERING and filterable[name] is not datetime:
            raise _bad_request(f"Operator '{operator}' is not supported on '{name}'.", code)
        clauses.append((name, operator, value))
    return clauses


def _matches(obj: JsonObject, clauses: list[Clause]) -> bool:
    return all(_compare(obj.get(name), operator, value) for name, operator, value in clauses)


def _compare(actual: object, operator: str, wanted: object) -> bool:
    if isinstance(wanted, datetime):
        if not isinstance(actual, str):
            return False
        moment = _parse_datetime(actual)
        return {"eq": moment == wanted, "ge": moment >= wanted, "le": moment <= wanted,
                "gt": moment > wanted, "lt": moment < wanted}[operator]
    return _equal(actual, wanted)


def _equal(actual: object, wanted: object) -> bool:
    if isinstance(actual, str) and isinstance(wanted, str):
        return actual.casefold() == wanted.casefold()
    return actual == wanted and type(actual) is type(wanted)


# --- paging ------------------------------------------------------------------------------


def _encode_skiptoken(collection: str, offset: int) -> str:
    raw = json.dumps({"c": collection, "o": offset}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def _decode_skiptoken(token: str | None, collection: str, code: str) -> int:
    if token is None:
        return 0
    try:
        data = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        offset = data["o"] if data.get("c") == collection else None
    except (ValueError, TypeError, KeyError, binascii.Error, AttributeError):
        offset = None
    if not isinstance(offset, int) or isinstance(offset, bool) or offset < 0:
        raise _bad_request("The specified page token value has expired or is invalid.", code)
    return offset


def _page_size(request: Request, lab: EmulatorState, collection: str) -> int:
    raw = request.query_params.get("$top")
    maximum = _MAX_TOP[collection]
    if raw is None:
        size = int(getattr(lab.paging, collection))
    elif not raw.isdigit() or not 1 <= int(raw) <= maximum:
        raise _bad_request(f"Invalid page size specified: '{raw}'. Must be between 1 and {maximum} inclusive.")
    else:
        size = int(raw)
    return min(size, lab.paging.cap) if lab.paging.cap else size


def _next_link(request: Request, collection: str, offset: int) -> str:
    params = [(k, v) for k, v in request.query_params.multi_items() if k.lower() != "$skiptoken"]
    params.append(("$skiptoken", _encode_skiptoken(collection, offset)))
    query = urlencode(params, quote_via=quote, safe="$,'()")
    return f"{str(request.base_url).rstrip('/')}{request.url.path}?{query}"


@dataclass(frozen=True)
class _Collection:
    name: str
    context: str
    type_name: str
    known: frozenset[str]
    filterable: Mapping[str, type]
    token_code: str = "BadRequest"
    filter_code: str = "Request_UnsupportedQuery"
    defaults: tuple[str, ...] | None = None


def _collection_body(request: Request, lab: EmulatorState, spec: _Collection,
                     items: list[JsonObject], encoded: bool = False, keep_matches: bool = False) -> JsonObject:
    """One page. `encoded`: the collection is read-only, so without `$filter` each item's JSON is encoded
    once and kept (`EmulatorState.encoded`): a 999-user page of the 100,000-user lab then takes about a
    millisecond instead of twenty, and a benchmark measures the client and its round trips, not the lab.
    `keep_matches`: `items` is not changed in place, so what a `$filter` matched is kept for its next page."""
    _check_options(request, _SUPPORTED_OPTIONS)
    selected = _parse_select(request, spec.known, spec.type_name)
    clauses = _parse_filter(request, spec.filterable, spec.filter_code)
    size = _page_size(request, lab, spec.name)
    offset = _decode_skiptoken(request.query_params.get("$skiptoken"), spec.name, spec.token_code)
    if clauses and keep_matches:
        matching = _kept(lab, ("matches", spec.name), items,
                         lambda: [item for item in items if _matches(item, clauses)],
                         version=request.query_params.get("$filter"))
    else:
        matching = [item for item in items if _matches(item, clauses)] if clauses else items
    window = matching[offset:offset + size]
    fields = selected if selected is not None else (list(spec.defaults) if spec.defaults else None)
    context = _context(request, spec.context, selected)
    body: JsonObject = {"@odata.context": context}
    if offset + size < len(matching):
        body["@odata.nextLink"] = _next_link(request, spec.name, offset + size)
        broken = lab.faults.for_endpoint(lab.faults.broken_next_link, request.scope["state"]["lab_endpoint"])
        if broken == "bad_token":
            body["@odata.nextLink"] = body["@odata.nextLink"].replace("$skiptoken=", "$skiptoken=x", 1)
        elif broken == "loop":
            body["@odata.nextLink"] = _next_link(request, spec.name, offset)
    if encoded and not clauses:
        body["value"] = _Encoded(_fragments(lab, spec.name, fields, items, offset, size))
    else:
        body["value"] = [_project(item, fields) for item in window]
    return body


class _Encoded(list[bytes]):
    """A page's items, each already JSON (`_json` writes them as they are)."""


def _fragments(lab: EmulatorState, name: str, fields: list[str] | None, items: list[JsonObject], offset: int,
               size: int) -> list[bytes]:
    key = (name, tuple(fields) if fields is not None else None)
    with lab.lock:
        cached = lab.encoded.get(key)
        if cached is None or cached[0] is not items or len(cached[1]) != len(items):
            cached = lab.encoded[key] = (items, [None] * len(items))
    kept = cached[1]
    for index in range(offset, min(offset + size, len(items))):
        if kept[index] is None:
            kept[index] = _dumps(_project(items[index], fields))
    return [fragment for fragment in kept[offset:offset + size] if fragment is not None]


def _dumps(body: object) -> bytes:
    """JSON exactly as Starlette's JSONResponse writes it."""
    return json.dumps(body, ensure_ascii=False, allow_nan=False, indent=None, separators=(",", ":")).encode("utf-8")


def _context(request: Request, fragment: str, selected: list[str] | None, entity: bool = False) -> str:
    base = str(request.base_url).rstrip("/")
    suffix = f"({','.join(selected)})" if selected else ""
    return f"{base}/v1.0/$metadata#{fragment}{suffix}{'/$entity' if entity else ''}"


def _json(body: object, status: int = 200) -> Response:
    if isinstance(body, dict) and isinstance(body.get("value"), _Encoded):
        head = _dumps({k: v for k, v in body.items() if k != "value"})  # "value" is the last key
        content = head[:-1] + (b"," if len(body) > 1 else b"") + b'"value":[' + b",".join(body["value"]) + b"]}"
        return Response(content, status_code=status, media_type=GRAPH_JSON)
    return JSONResponse(body, status_code=status, media_type=GRAPH_JSON)


async def _json_object(request: Request) -> JsonObject:
    raw = await request.body()
    try:
        body = json.loads(raw) if raw else None
    except ValueError as exc:
        raise _bad_request(f"Unable to read JSON request payload: {exc}") from exc
    if not isinstance(body, dict):
        raise _bad_request("The request body must be a JSON object.")
    return body


# --- Graph: single objects ---------------------------------------------------------------


def _single(request: Request, obj: JsonObject, fragment: str, type_name: str,
            known_extra: Iterable[str] = (), entity: bool = True) -> Response:
    _check_options(request, frozenset({"$select"}))
    selected = _parse_select(request, [*obj, *known_extra], type_name)
    body = {"@odata.context": _context(request, fragment, selected, entity=entity),
            **_project(obj, selected, keep_type=True)}
    return _json(body)


_JSON_TYPES: Final[Mapping[type, str]] = {bool: "Edm.Boolean", int: "Edm.Int32", float: "Edm.Double",
                                          str: "Edm.String", list: "Collection", dict: "ComplexType"}


def _same_json_type(old: object, new: object) -> bool:
    if old is None or new is None:
        return True
    if isinstance(old, bool) or isinstance(new, bool):
        return isinstance(old, bool) and isinstance(new, bool)
    if isinstance(old, int | float) and isinstance(new, int | float):
        return isinstance(new, int) or not isinstance(old, int)
    return type(old) is type(new)


def _merge(target: JsonObject, patch: JsonObject, type_name: str, writable: Iterable[str],
           ignored: Iterable[str] = ("id", "@odata.type", "@odata.context")) -> None:
    allowed, skip = set(writable), set(ignored)
    for key, value in patch.items():
        if key in skip:
            continue
        if key not in allowed:
            raise _bad_request(f"Property '{key}' does not exist or is read-only on type '{type_name}'.")
        if not _same_json_type(target.get(key), value):
            expected = _JSON_TYPES.get(type(target.get(key)), "another type")
            raise _bad_request(f"Cannot convert the literal '{value}' to the expected type '{expected}'.")
    for key, value in patch.items():
        if key not in skip:
            target[key] = copy.deepcopy(value)


async def get_authorization_policy(request: Request, lab: EmulatorState) -> Response:
    return _single(request, lab.tenant.authorization_policy, "policies/authorizationPolicy",
                   "microsoft.graph.authorizationPolicy")


async def patch_authorization_policy(request: Request, lab: EmulatorState) -> Response:
    body = await _json_object(request)
    policy = lab.tenant.authorization_policy
    writable = set(policy) - {"id"} | {"allowedToUseSSPR", "blockMsolPowerShell", "defaultUserRolePermissions"}
    _merge(policy, body, "microsoft.graph.authorizationPolicy", writable)
    return Response(status_code=204)


# advancedConfigState (learn.microsoft.com/graph/api/resources/authenticationmethodsregistrationcampaign)
_CAMPAIGN_STATES: Final = frozenset({"default", "enabled", "disabled", "unknownFutureValue"})
_METHODS_POLICY_WRITABLE: Final = frozenset({"registrationEnforcement", "policyMigrationState",
                                             "reconfirmationInDays"})


async def get_methods_policy(request: Request, lab: EmulatorState) -> Response:
    return _single(request, lab.tenant.authentication_methods_policy, "authenticationMethodsPolicy",
                   "microsoft.graph.authenticationMethodsPolicy", _METHODS_POLICY_WRITABLE, entity=False)


async def patch_methods_policy(request: Request, lab: EmulatorState) -> Response:
    body = await _json_object(request)
    state = body.get("policyMigrationState")
    if "policyMigrationState" in body and state not in MIGRATION_STATES:
        raise _bad_request(f"Invalid value '{state}' for policyMigrationState.")
    enforcement = body.get("registrationEnforcement")
    campaign = enforcement.get("authenticationMethodsRegistrationCampaign") if isinstance(enforcement, dict) else None
    if isinstance(campaign, dict) and "state" in campaign and campaign["state"] not in _CAMPAIGN_STATES:
        raise _bad_request(f"Invalid value '{campaign['state']}' for state.")
    policy = lab.tenant.authentication_methods_policy
    _merge(policy, body, "microsoft.graph.authenticationMethodsPolicy", _METHODS_POLICY_WRITABLE)
    policy["lastModifiedDateTime"] = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return _single(request, policy, "authenticationMethodsPolicy", "microsoft.graph.authenticationMethodsPolicy",
                   _METHODS_POLICY_WRITABLE, entity=False)


def _configuration(lab: EmulatorState, config_id: str) -> JsonObject:
    config = lab.tenant.method_configuration(config_id)
    if config is None:
        raise GraphError(404, "NotFound", f"Authentication method configuration '{config_id}' was not found.")
    return config


async def get_method_configuration(request: Request, lab: EmulatorState) -> Response:
    config = _configuration(lab, request.path_params["config_id"])
    return _single(request, config, "authenticationMethodConfigurations",
                   str(config["@odata.type"]).lstrip("#"))


async def patch_method_configuration(request: Request, lab: EmulatorState) -> Response:
    config = _configuration(lab, request.path_params["config_id"])
    body = await _json_object(request)
    odata_type = body.get("@odata.type")
    if odata_type is None:
        raise _bad_request("Invalid request: the '@odata.type' property is required in the request body "
                           f"(expected '{config['@odata.type']}').")
    if str(odata_type).lstrip("#").lower() != str(config["@odata.type"]).lstrip("#").lower():
        raise _bad_request(f"The @odata.type '{odata_type}' does not match the configuration "
                           f"'{config['id']}' ({config['@odata.type']}).")
    if "id" in body and str(body["id"]).casefold() != str(config["id"]).casefold():
        raise _bad_request("The id in the body does not match the id in the URL.")
    if "state" in body and body["state"] not in ("enabled", "disabled"):
        raise _bad_request(f"Invalid value '{body['state']}' for state.")
    writable = set(config) - {"id", "@odata.type"} | {"state", "includeTargets", "excludeTargets"}
    _merge(config, body, str(config["@odata.type"]).lstrip("#"), writable)
    return Response(status_code=204)


# --- Graph: directory synchronization ------------------------------------------------------

_SYNC_PROPERTIES: Final = ("configuration", "features")


async def list_sync(request: Request, lab: EmulatorState) -> Response:
    _check_options(request, frozenset({"$select"}))
    items = lab.tenant.on_premises_synchronization
    selected = _parse_select(request, [*_SYNC_PROPERTIES, *(k for item in items for k in item)],
                             "microsoft.graph.onPremisesDirectorySynchronization")
    body = {"@odata.context": _context(request, "directory/onPremisesSynchronization", selected),
            "value": [_project(item, selected) for item in items]}
    return _json(body)


async def get_sync(request: Request, lab: EmulatorState) -> Response:
    wanted = request.path_params["sync_id"].casefold()
    for item in lab.tenant.on_premises_synchronization:
        if str(item["id"]).casefold() == wanted:
            return _single(request, item, "directory/onPremisesSynchronization",
                           "microsoft.graph.onPremisesDirectorySynchronization", _SYNC_PROPERTIES)
    raise GraphError(404, "Request_ResourceNotFound", f"Resource '{request.path_params['sync_id']}' does not exist.")


# --- Graph: users, registration details, groups --------------------------------------------

USER_DEFAULT_PROPERTIES: Final = (
    "businessPhones", "displayName", "givenName", "jobTitle", "mail", "mobilePhone",
    "officeLocation", "preferredLanguage", "surname", "userPrincipalName", "id",
)
USER_PROPERTIES: Final = frozenset({
    *USER_DEFAULT_PROPERTIES, "accountEnabled", "userType", "usageLocation", "createdDateTime",
    "assignedLicenses", "assignedPlans", "onPremisesSyncEnabled", "onPremisesDistinguishedName",
    "onPremisesDomainName", "onPremisesSamAccountName", "onPremisesUserPrincipalName",
    "onPremisesImmutableId", "onPremisesSecurityIdentifier", "onPremisesLastSyncDateTime",
    "onPremisesExtensionAttributes", "otherMails", "proxyAddresses", "department", "companyName",
    "employeeId", "employeeType", "mailNickname", "lastPasswordChangeDateTime", "passwordPolicies",
    "creationType", "externalUserState", "identities", "city", "country", "state", "streetAddress",
    "postalCode", "faxNumber", "imAddresses", "ageGroup", "showInAddressList",
})
USERS: Final = _Collection(
    name="users", context="users", type_name="microsoft.graph.user", known=USER_PROPERTIES,
    filterable={"accountEnabled": bool, "userType": str, "onPremisesSyncEnabled": bool,
                "userPrincipalName": str, "displayName": str, "mail": str, "id": str},
    token_code="Directory_ExpiredPageToken", defaults=USER_DEFAULT_PROPERTIES,
)
REGISTRATION_PROPERTIES: Final = frozenset({
    "id", "userPrincipalName", "userDisplayName", "userType", "isAdmin", "isSsprRegistered",
    "isSsprEnabled", "isSsprCapable", "isMfaRegistered", "isMfaCapable", "isPasswordlessCapable",
    "methodsRegistered", "isSystemPreferredAuthenticationMethodEnabled",
    "systemPreferredAuthenticationMethods", "userPreferredMethodForSecondaryAuthentication",
    "lastUpdatedDateTime",
})
REGISTRATION_DETAILS: Final = _Collection(
    name="registration_details", context="reports/authenticationMethods/userRegistrationDetails",
    type_name="microsoft.graph.userRegistrationDetails", known=REGISTRATION_PROPERTIES,
    filterable={"isAdmin": bool, "isMfaCapable": bool, "isMfaRegistered": bool,
                "isPasswordlessCapable": bool, "isSsprCapable": bool, "isSsprEnabled": bool,
                "isSsprRegistered": bool, "isSystemPreferredAuthenticationMethodEnabled": bool,
                "userType": str, "userPreferredMethodForSecondaryAuthentication": str},
    filter_code="BadRequest",
)
GROUP_MEMBERS: Final = _Collection(
    name="group_members", context="directoryObjects", type_name="microsoft.graph.directoryObject",
    known=USER_PROPERTIES, filterable={}, token_code="Directory_ExpiredPageToken",
    defaults=USER_DEFAULT_PROPERTIES,
)


def _find(items: list[JsonObject], key: str, *fields: str) -> JsonObject | None:
    wanted = key.casefold()
    return next((item for item in items if any(str(item.get(f, "")).casefold() == wanted for f in fields)),
                None)


async def list_users(request: Request, lab: EmulatorState) -> Response:
    return _json(_collection_body(request, lab, USERS, lab.tenant.users, encoded=True))


async def count_users(request: Request, lab: EmulatorState) -> Response:
    """`GET /users/$count`: a plain-text number; Graph serves counts of directory objects only as an advanced
    query, with `ConsistencyLevel: eventual` (Microsoft Learn, "Advanced query capabilities on Microsoft Entra ID
    objects"; "List users", example "Get only a count of users")."""
    if request.headers.get("consistencylevel", "").lower() != "eventual":
        raise GraphError(400, "Request_BadRequest", "Count is only supported as an advanced query: send the "
                                                    "ConsistencyLevel: eventual header.")
    return Response(str(len(lab.tenant.users)), media_type="text/plain")


async def get_user(request: Request, lab: EmulatorState) -> Response:
    user = _find(lab.tenant.users, request.path_params["user_id"], "id", "userPrincipalName")
    if user is None:
        raise GraphError(404, "Request_ResourceNotFound",
                         f"Resource '{request.path_params['user_id']}' does not exist or one of its "
                         "queried reference-property objects are not present.")
    _check_options(request, frozenset({"$select"}))
    selected = _parse_select(request, USER_PROPERTIES, USERS.type_name)
    fields = selected if selected is not None else list(USER_DEFAULT_PROPERTIES)
    return _json({"@odata.context": _context(request, "users", selected, entity=True), **_project(user, fields)})


async def list_registration_details(request: Request, lab: EmulatorState) -> Response:
    return _json(_collection_body(request, lab, REGISTRATION_DETAILS, lab.tenant.user_registration_details,
                                  encoded=True))


async def get_registration_details(request: Request, lab: EmulatorState) -> Response:
    record = _find(lab.tenant.user_registration_details, request.path_params["user_id"], "id")
    if record is None:
        raise GraphError(404, "NotFound", f"No registration details for user '{request.path_params['user_id']}'.")
    _check_options(request, frozenset({"$select"}))
    selected = _parse_select(request, REGISTRATION_PROPERTIES, REGISTRATION_DETAILS.type_name)
    return _json({"@odata.context": _context(request, REGISTRATION_DETAILS.context, selected, entity=True),
                  **_project(record, selected)})


def _group(lab: EmulatorState, group_id: str) -> JsonObject:
    group = _find(lab.tenant.groups, group_id, "id")
    if group is None:
        raise GraphError(404, "Request_ResourceNotFound", f"Resource '{group_id}' does not exist or one of its "
                         "queried reference-property objects are not present.")
    return group


async def get_group(request: Request, lab: EmulatorState) -> Response:
    group = _group(lab, request.path_params["group_id"])
    _check_options(request, frozenset({"$select"}))
    selected = _parse_select(request, group, "microsoft.graph.group")
    return _json({"@odata.context": _context(request, "groups", selected, entity=True),
                  **_project(group, selected)})


async def list_group_members(request: Request, lab: EmulatorState) -> Response:
    group = _group(lab, request.path_params["group_id"])
    member_ids = {m.casefold() for m in lab.tenant.group_members.get(str(group["id"]), [])}
    members = [user for user in lab.tenant.users if str(user["id"]).casefold() in member_ids]
    body = _collection_body(request, lab, GROUP_MEMBERS, members)
    body["value"] = [{"@odata.type": "#microsoft.graph.user", **item} for item in body["value"]]
    return _json(body)


GROUPS: Final = _Collection(
    name="groups", context="groups", type_name="microsoft.graph.group",
    known=frozenset({"id", "displayName", "description", "mailEnabled", "mailNickname", "securityEnabled",
                     "groupTypes", "createdDateTime"}),
    filterable={"displayName": str, "id": str, "mailNickname": str, "securityEnabled": bool},
    token_code="Directory_ExpiredPageToken",
)
TRANSITIVE_MEMBERS: Final = _Collection(
    name="group_members", context="directoryObjects", type_name="microsoft.graph.directoryObject",
    known=USER_PROPERTIES | {"displayName"}, filterable={}, token_code="Directory_ExpiredPageToken",
    defaults=USER_DEFAULT_PROPERTIES,
)


async def list_groups(request: Request, lab: EmulatorState) -> Response:
    return _json(_collection_body(request, lab, GROUPS, lab.tenant.groups))


def _transitive_members(lab: EmulatorState, group_id: str) -> list[JsonObject]:
    """Users and nested groups under `group_id`, each once, users in membership order."""
    with lab.lock:
        cached = lab.transitive.get(group_id.casefold())
    if cached is not None:
        return cached
    users = {str(u["id"]).casefold(): u for u in lab.tenant.users}
    groups = {str(g["id"]).casefold(): g for g in lab.tenant.groups}
    memberships = {g.casefold(): ids for g, ids in lab.tenant.group_members.items()}
    seen: set[str] = {group_id.casefold()}
    out: list[JsonObject] = []
    pending = list(memberships.get(group_id.casefold(), []))
    while pending:
        member = pending.pop(0).casefold()
        if member in seen:
            continue
        seen.add(member)
        if member in users:
            out.append({"@odata.type": "#microsoft.graph.user", **users[member]})
        elif member in groups:
            out.append({"@odata.type": "#microsoft.graph.group", **groups[member]})
            pending.extend(memberships.get(member, []))
    with lab.lock:
        lab.transitive[group_id.casefold()] = out
    return out


async def list_transitive_members(request: Request, lab: EmulatorState) -> Response:
    group = _group(lab, request.path_params["group_id"])
    members = _transitive_members(lab, str(group["id"]))
    body = _collection_body(request, lab, TRANSITIVE_MEMBERS, members)
    by_id = _kept(lab, ("member types", str(group["id"]).casefold()), members,
                  lambda: {str(m["id"]).casefold(): m["@odata.type"] for m in members})
    body["value"] = [{"@odata.type": by_id[str(item["id"]).casefold()], **item} for item in body["value"]]
    return _json(body)


# --- Graph: licences, Secure Score, audit log, directory settings, Intune --------------------------


async def list_domains(request: Request, lab: EmulatorState) -> Response:
    """GET /domains (learn.microsoft.com/graph/api/domain-list). A scenario that lists none has its initial
    domain, as every tenant does: <tenant>.onmicrosoft.com, verified, managed."""
    _check_options(request, frozenset({"$select"}))
    domains = lab.tenant.domains or [{"id": lab.tenant.tenant_domain, "authenticationType": "Managed",
                                      "isVerified": True, "isDefault": True, "isInitial": True}]
    selected = _parse_select(request, [k for d in domains for k in d], "microsoft.graph.domain")
    return _json({"@odata.context": _context(request, "domains", selected),
                  "value": [_project(d, selected) for d in domains]})


async def list_subscribed_skus(request: Request, lab: EmulatorState) -> Response:
    _check_options(request, frozenset({"$select"}))
    skus = [_with_consumed_units(sku, lab) for sku in lab.tenant.subscribed_skus]
    selected = _parse_select(request, [k for sku in skus for k in sku] or ["id"], "microsoft.graph.subscribedSku")
    return _json({"@odata.context": _context(request, "subscribedSkus", selected),
                  "value": [_project(sku, selected) for sku in skus]})


def _with_consumed_units(sku: JsonObject, lab: EmulatorState) -> JsonObject:
    """A SKU whose consumedUnits the scenario left null counts the users assigned it, as the service does."""
    if sku.get("consumedUnits") is not None:
        return sku
    sku_id = str(sku.get("skuId", "")).casefold()
    used = sum(1 for user in lab.tenant.users
               if any(str(a.get("skuId", "")).casefold() == sku_id for a in user.get("assignedLicenses") or []))
    return {**sku, "consumedUnits": used}


def _history_shift(lab: EmulatorState) -> timedelta:
    """Scenario history is dated before `as_of`; it is served as if `as_of` were now."""
    return datetime.now(UTC) - lab.tenant.as_of


def _shifted(moment: object, shift: timedelta) -> object:
    if not isinstance(moment, str):
        return moment
    served = _parse_datetime(moment) + shift
    return served.strftime("%Y-%m-%dT%H:%M:%S") + "Z"


async def list_secure_scores(request: Request, lab: EmulatorState) -> Response:
    """Newest first; `$top=N` gives the N latest days (Secure Score keeps one per day), no paging."""
    _check_options(request, frozenset({"$top", "$select", "$skip"}))
    shift = _history_shift(lab)
    scores = []
    for score in lab.tenant.secure_scores:
        served = {**score, "createdDateTime": _shifted(score.get("createdDateTime"), shift),
                  "controlScores": [{**c, "lastSynced": _shifted(c.get("lastSynced"), shift)}
                                    for c in score.get("controlScores") or []]}
        if isinstance(served["createdDateTime"], str):
            served["id"] = f"{score.get('azureTenantId')}_{served['createdDateTime'][:10]}"
        scores.append(served)
    skip = _count_option(request, "$skip", 0, 10_000)
    top = _count_option(request, "$top", len(scores) or 1, 1000)
    selected = _parse_select(request, [k for s in scores for k in s] or ["id"], "microsoft.graph.secureScore")
    window = scores[skip:skip + top]
    return _json({"@odata.context": _context(request, "security/secureScores", selected),
                  "value": [_project(s, selected) for s in window]})


def _count_option(request: Request, name: str, default: int, maximum: int) -> int:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    if not raw.isdigit() or int(raw) > maximum or (name == "$top" and int(raw) < 1):
        raise _bad_request(f"Invalid value '{raw}' for query option '{name}'.")
    return int(raw)


CONTROL_PROFILES: Final = _Collection(
    name="secure_score_profiles", context="security/secureScoreControlProfiles",
    type_name="microsoft.graph.secureScoreControlProfile",
    known=frozenset({"id", "azureTenantId", "actionType", "actionUrl", "controlCategory", "title", "deprecated",
                     "implementationCost", "lastModifiedDateTime", "maxScore", "rank", "remediation",
                     "remediationImpact", "service", "threats", "tier", "userImpact", "complianceInformation",
                     "controlStateUpdates", "vendorInformation"}),
    filterable={"id": str, "controlCategory": str, "service": str},
)


async def list_control_profiles(request: Request, lab: EmulatorState) -> Response:
    return _json(_collection_body(request, lab, CONTROL_PROFILES, lab.tenant.secure_score_control_profiles))


DIRECTORY_AUDITS: Final = _Collection(
    name="directory_audits", context="auditLogs/directoryAudits", type_name="microsoft.graph.directoryAudit",
    known=frozenset({"id", "category", "correlationId", "result", "resultReason", "activityDisplayName",
                     "activityDateTime", "loggedByService", "operationType", "initiatedBy", "targetResources",
                     "additionalDetails"}),
    filterable={"activityDisplayName": str, "activityDateTime": datetime, "loggedByService": str,
                "category": str, "result": str, "correlationId": str, "id": str},
)


async def list_directory_audits(request: Request, lab: EmulatorState) -> Response:
    """Newest first, with `$filter` on the service, activity and `activityDateTime ge/le`."""
    shift = _history_shift(lab)
    shift -= timedelta(microseconds=shift.microseconds)  # served times have whole seconds: shift by whole seconds
    history = lab.tenant.directory_audits
    audits = _kept(lab, ("audits served",), history,
                   lambda: [{**a, "activityDateTime": _shifted(a.get("activityDateTime"), shift)} for a in history],
                   version=shift)
    return _json(_collection_body(request, lab, DIRECTORY_AUDITS, audits, keep_matches=True))


def _kept(lab: EmulatorState, key: tuple[Any, ...], source: list[Any], compute: Callable[[], Any],
          version: object = None) -> Any:
    """`compute()` once for `source` as it is now (the same list, as long) and `version`: kept in `lab.kept`
    under `key`, one answer per key (a new version replaces the old one, so memory stays flat)."""
    with lab.lock:
        kept = lab.kept.get(key)
    if kept is not None and kept[0][0] is source and kept[0][1] == len(source) and kept[0][2] == version:
        return kept[1]
    value = compute()
    with lab.lock:
        if len(lab.kept) > 64:
            lab.kept.clear()
        lab.kept[key] = ((source, len(source), version), value)
    return value


_GROUP_SETTING_PROPERTIES: Final = ("id", "displayName", "templateId", "values")
# The directory setting templates the lab knows, as `GET /groupSettingTemplates` lists them: id → display name
# and each settingTemplateValue (name, type, defaultValue) in the template's order
# (https://learn.microsoft.com/graph/api/resources/groupsettingtemplate, .../resources/settingtemplatevalue). Only
# the Password Rule Settings are emulated: a POST naming any other template answers 400, as an unknown one does.
SETTING_TEMPLATES: Final[Mapping[str, tuple[str, tuple[tuple[str, str, str], ...]]]] = {
    "5cf42378-d67d-4f36-ba46-e8b86229381d": ("Password Rule Settings", (
        ("BannedPasswordCheckOnPremisesMode", "System.String", "Audit"),
        ("EnableBannedPasswordCheckOnPremises", "System.Boolean", "true"),
        ("EnableBannedPasswordCheck", "System.Boolean", "true"),
        ("LockoutDurationInSeconds", "System.Int32", "60"),
        ("LockoutThreshold", "System.Int32", "10"),
        ("BannedPasswordList", "System.String", ""),
    )),
}


async def list_group_settings(request: Request, lab: EmulatorState) -> Response:
    _check_options(request, frozenset({"$select"}))
    items = lab.tenant.group_settings
    selected = _parse_select(request, list(_GROUP_SETTING_PROPERTIES), "microsoft.graph.groupSetting")
    return _json({"@odata.context": _context(request, "groupSettings", selected),
                  "value": [_project(item, selected) for item in items]})


def _group_setting(lab: EmulatorState, setting_id: str) -> JsonObject:
    for item in lab.tenant.group_settings:
        if str(item.get("id")).casefold() == setting_id.casefold():
            return item
    raise GraphError(404, "Request_ResourceNotFound",
                     f"Resource '{setting_id}' does not exist or one of its queried reference-property objects are "
                     "not present.")


def _setting_values(body: JsonObject, template_id: str) -> list[JsonObject]:
    """The body's `values`, checked against the template: known names (any case; stored as the template spells
    them), no name twice, every value a string of the template value's type."""
    values = body.get("values")
    if not isinstance(values, list) or not all(isinstance(v, dict) for v in values):
        raise _bad_request("Invalid request: 'values' must be a collection of settingValue objects.")
    definitions = {name.casefold(): (name, kind) for name, kind, _ in SETTING_TEMPLATES[template_id][1]}
    seen: dict[str, JsonObject] = {}
    for item in values:
        if set(item) - {"name", "value", "@odata.type"}:
            raise _bad_request(f"Invalid settingValue properties: {', '.join(sorted(set(item) - {'name', 'value'}))}.")
        name, value = item.get("name"), item.get("value")
        definition = definitions.get(str(name).casefold()) if isinstance(name, str) else None
        if definition is None:
            raise _bad_request(f"The setting '{name}' is not defined in template with SettingTemplateId "
                               f"'{template_id}'.")
        if definition[0].casefold() in seen:
            raise _bad_request(f"The setting '{definition[0]}' was provided more than once.")
        if not isinstance(value, str):
            raise _bad_request(f"Cannot convert the literal '{value}' to the expected type 'Edm.String'.")
        if definition[1] == "System.Boolean" and value.strip().casefold() not in ("true", "false"):
            raise _bad_request(f"The value '{value}' of setting '{definition[0]}' is not a valid System.Boolean.")
        if definition[1] == "System.Int32" and not re.fullmatch(r"\s*[+-]?\d{1,10}\s*", value):
            raise _bad_request(f"The value '{value}' of setting '{definition[0]}' is not a valid System.Int32.")
        seen[definition[0].casefold()] = {"name": definition[0], "value": value}
    return list(seen.values())


async def get_group_setting(request: Request, lab: EmulatorState) -> Response:
    item = _group_setting(lab, request.path_params["setting_id"])
    return _single(request, item, "groupSettings", "microsoft.graph.groupSetting", _GROUP_SETTING_PROPERTIES)


async def post_group_setting(request: Request, lab: EmulatorState) -> Response:
    """Create a tenant-wide setting from a template (group-post-settings): 201 with the object. Values the body
    leaves out take the template's defaults ("other name-value pairs will be populated with the default values");
    a second setting from the same template answers 400 (MicrosoftDocs/azure-docs#82180)."""
    body = await _json_object(request)
    unknown = sorted(set(body) - {"templateId", "values", "displayName", "@odata.type"})
    if unknown:
        raise _bad_request(f"Property '{unknown[0]}' does not exist or is read-only on type "
                           "'microsoft.graph.groupSetting'.")
    template_id = str(body.get("templateId") or "").casefold()
    if template_id not in SETTING_TEMPLATES:
        raise _bad_request(f"Invalid value specified for property 'templateId': '{body.get('templateId')}' is not a "
                           "known groupSettingTemplate.")
    if any(str(item.get("templateId") or "").casefold() == template_id for item in lab.tenant.group_settings):
        raise GraphError(400, "Request_BadRequest",
                         "Another object with the same value for property templateId already exists.")
    given = _setting_values(body, template_id) if "values" in body else []
    named = {v["name"] for v in given}
    display_name, definitions = SETTING_TEMPLATES[template_id]
    values = given + [{"name": name, "value": default} for name, _, default in definitions if name not in named]
    item: JsonObject = {"id": str(uuid.uuid4()), "displayName": display_name, "templateId": template_id,
                        "values": values}
    lab.tenant.group_settings.append(item)
    return _json({"@odata.context": _context(request, "groupSettings", None, entity=True), **copy.deepcopy(item)},
                 status=201)


async def patch_group_setting(request: Request, lab: EmulatorState) -> Response:
    """Update a setting's values (groupsetting-update): only `values`, and "you must include the entire collection
    set" (a partial one answers 400, microsoftgraph/microsoft-graph-docs#1607); 204."""
    item = _group_setting(lab, request.path_params["setting_id"])
    body = await _json_object(request)
    read_only = sorted(set(body) - {"values", "id", "@odata.type"})
    if read_only:
        raise _bad_request(f"Property '{read_only[0]}' does not exist or is read-only on type "
                           "'microsoft.graph.groupSetting'.")
    if "id" in body and str(body["id"]).casefold() != str(item["id"]).casefold():
        raise _bad_request("The id in the body does not match the id in the URL.")
    template_id = str(item.get("templateId") or "").casefold()
    if template_id not in SETTING_TEMPLATES:
        raise _bad_request(f"The lab does not emulate the template '{item.get('templateId')}' of this setting.")
    values = _setting_values(body, template_id)
    named = {v["name"] for v in values}
    for name, _, _ in SETTING_TEMPLATES[template_id][1]:
        if name not in named:
            raise _bad_request(f"The expected property '{name}' defined in template with SettingTemplateId "
                               f"'{template_id}' was not provided.")
    item["values"] = values
    return Response(status_code=204)


async def delete_group_setting(request: Request, lab: EmulatorState) -> Response:
    item = _group_setting(lab, request.path_params["setting_id"])
    lab.tenant.group_settings.remove(item)
    return Response(status_code=204)


DEVICE_CONFIGURATIONS: Final = _Collection(
    name="device_configurations", context="deviceManagement/deviceConfigurations",
    type_name="microsoft.graph.deviceConfiguration",
    known=frozenset({"id", "displayName", "description", "version", "createdDateTime", "lastModifiedDateTime",
                     "omaSettings"}),
    filterable={"id": str, "displayName": str},
)


async def list_device_configurations(request: Request, lab: EmulatorState) -> Response:
    body = _collection_body(request, lab, DEVICE_CONFIGURATIONS, lab.tenant.device_configurations)
    types = {str(c["id"]).casefold(): c.get("@odata.type") for c in lab.tenant.device_configurations}
    # `assignments` is a relationship: Graph sends it only on $expand, which the lab does not emulate
    body["value"] = [{"@odata.type": types.get(str(item.get("id")).casefold()),
                      **{k: v for k, v in item.items() if k != "assignments"}} for item in body["value"]]
    return _json(body)


async def list_device_configuration_assignments(request: Request, lab: EmulatorState) -> Response:
    """GET /deviceManagement/deviceConfigurations/{id}/assignments (https://learn.microsoft.com/graph/api/
    intune-deviceconfig-deviceconfigurationassignment-list): the scenario's `assignments` of the profile, one
    page; a profile without the key has none."""
    _check_options(request, _SUPPORTED_OPTIONS)
    config_id = request.path_params["config_id"]
    config = next((c for c in lab.tenant.device_configurations
                   if str(c.get("id")).casefold() == config_id.casefold()), None)
    if config is None:
        raise GraphError(404, "ResourceNotFound", f"deviceConfiguration '{config_id}' was not found.")
    context = _context(request, f"deviceManagement/deviceConfigurations('{config_id}')/assignments", None)
    value = [{"@odata.type": "#microsoft.graph.deviceConfigurationAssignment", **a}
             for a in config.get("assignments") or []]
    return _json({"@odata.context": context, "value": value})


# --- portal: the private PasswordReset API -----------------------------------------------

SSPR_REQUIRED_FIELDS: Final = (
    "objectId", "enablementType", "numberOfAuthenticationMethodsRequired", "emailOptionEnabled",
    "mobilePhoneOptionEnabled", "officePhoneOptionEnabled", "securityQuestionsOptionEnabled",
    "mobileAppNotificationEnabled", "mobileAppCodeEnabled", "numberOfQuestionsToRegister",
    "numberOfQuestionsToReset", "registrationRequiredOnSignIn", "registrationReconfirmIntevalInDays",
    "customizeHelpdeskLink", "notifyUsersOnPasswordReset", "notifyOnAdminPasswordReset",
    "passwordResetEnabledGroupIds",
)
ONPREM_WRITABLE: Final = frozenset({"enablementForTenant", "cloudProvisioningEnablementForTenant",
                                    "accountUnlockEnabled"})
ONPREM_SERVER_OWNED: Final = frozenset({"objectId", "passwordWritebackSupported", "accountUnlockSupported"})


def _portal_json(body: object) -> Response:
    return JSONResponse(body, media_type=PORTAL_JSON)


async def get_portal_sspr(request: Request, lab: EmulatorState) -> Response:
    return _portal_json(copy.deepcopy(lab.tenant.password_reset_policies))


def _validate_sspr(policy: JsonObject) -> None:
    missing = [name for name in SSPR_REQUIRED_FIELDS if name not in policy]
    if missing:
        raise _bad_request(f"PasswordResetPolicies must be sent whole; missing: {', '.join(missing)}.")
    if policy["objectId"] != "default":
        raise _bad_request("objectId must be 'default'.")
    checks = [
        (policy["enablementType"] in (0, 1, 2), "enablementType must be 0, 1 or 2"),
        (policy["numberOfAuthenticationMethodsRequired"] in (1, 2),
         "numberOfAuthenticationMethodsRequired must be 1 or 2"),
        (isinstance(policy["registrationReconfirmIntevalInDays"], int)
         and 0 <= policy["registrationReconfirmIntevalInDays"] <= 730,
         "registrationReconfirmIntevalInDays must be 0 to 730"),
        (policy["enablementType"] != 1 or bool(policy["passwordResetEnabledGroupIds"]),
         "a selected-group scope needs passwordResetEnabledGroupIds"),
    ]
    if policy["securityQuestionsOptionEnabled"]:
        register, reset = policy["numberOfQuestionsToRegister"], policy["numberOfQuestionsToReset"]
        checks.append((isinstance(register, int) and isinstance(reset, int) and 3 <= reset <= register <= 5,
                       "security questions need 3 <= numberOfQuestionsToReset <= numberOfQuestionsToRegister <= 5"))
    for ok, message in checks:
        if not ok:
            raise _bad_request(message, "InvalidPasswordResetPolicy")


async def put_portal_sspr(request: Request, lab: EmulatorState) -> Response:
    body = await _json_object(request)
    if "objectId" not in body:
        raise _bad_request("The PasswordResetPolicies object needs an objectId.")
    current = lab.tenant.password_reset_policies
    for key, value in body.items():
        if not _same_json_type(current.get(key), value):
            raise _bad_request(f"Invalid value for '{key}'.", "InvalidPasswordResetPolicy")
    _validate_sspr(body)
    # The *OptionAllowed flags reflect licensing: the service keeps its own values.
    allowed = {k: v for k, v in current.items() if k.endswith("OptionAllowed")}
    lab.tenant.password_reset_policies = {**copy.deepcopy(body), **allowed}
    return _portal_json(copy.deepcopy(lab.tenant.password_reset_policies))


async def get_portal_onprem(request: Request, lab: EmulatorState) -> Response:
    return _portal_json(copy.deepcopy(lab.tenant.on_premises_password_reset_policies))


async def put_portal_onprem(request: Request, lab: EmulatorState) -> Response:
    """Fields are merged one PUT at a time, as the tools that write this API rely on."""
    body = await _json_object(request)
    current = lab.tenant.on_premises_password_reset_policies
    server_owned = {name.lower() for name in ONPREM_SERVER_OWNED}
    updates = {k: v for k, v in body.items() if k.lower() not in server_owned}
    unknown = sorted(set(updates) - ONPREM_WRITABLE)
    if unknown:
        raise _bad_request(f"Unknown OnPremisesPasswordResetPolicies field(s): {', '.join(unknown)}.")
    if any(not isinstance(value, bool) for value in updates.values()):
        raise _bad_request("OnPremisesPasswordResetPolicies fields are booleans.")
    current.update(updates)
    return _portal_json(copy.deepcopy(current))


# --- the app -----------------------------------------------------------------------------


def _routes(extra: Iterable[tuple[str, str, str, Handler]] = ()) -> list[Route]:
    graph = "/v1.0"
    methods_policy = f"{graph}/policies/authenticationMethodsPolicy"
    portal = "/api/PasswordReset"
    table: list[tuple[str, str, str, Handler]] = [
        (f"{graph}/policies/authorizationPolicy", "GET", "authorization_policy", get_authorization_policy),
        (f"{graph}/policies/authorizationPolicy", "PATCH", "authorization_policy", patch_authorization_policy),
        (methods_policy, "GET", "methods_policy", get_methods_policy),
        (methods_policy, "PATCH", "methods_policy", patch_methods_policy),
        (f"{methods_policy}/authenticationMethodConfigurations/{{config_id}}", "GET",
         "method_configuration", get_method_configuration),
        (f"{methods_policy}/authenticationMethodConfigurations/{{config_id}}", "PATCH",
         "method_configuration", patch_method_configuration),
        (f"{graph}/directory/onPremisesSynchronization", "GET", "sync", list_sync),
        (f"{graph}/directory/onPremisesSynchronization/{{sync_id}}", "GET", "sync", get_sync),
        (f"{graph}/users", "GET", "users", list_users),
        (f"{graph}/users/$count", "GET", "users", count_users),  # before /users/{user_id}, which would match it
        (f"{graph}/users/{{user_id}}", "GET", "users", get_user),
        (f"{graph}/reports/authenticationMethods/userRegistrationDetails", "GET",
         "registration_details", list_registration_details),
        (f"{graph}/reports/authenticationMethods/userRegistrationDetails/{{user_id}}", "GET",
         "registration_details", get_registration_details),
        (f"{graph}/groups", "GET", "groups", list_groups),
        (f"{graph}/groups/{{group_id}}", "GET", "groups", get_group),
        (f"{graph}/groups/{{group_id}}/members", "GET", "groups", list_group_members),
        (f"{graph}/groups/{{group_id}}/transitiveMembers", "GET", "groups", list_transitive_members),
        (f"{graph}/subscribedSkus", "GET", "subscribed_skus", list_subscribed_skus),
        (f"{graph}/domains", "GET", "domains", list_domains),
        (f"{graph}/security/secureScores", "GET", "secure_scores", list_secure_scores),
        (f"{graph}/security/secureScoreControlProfiles", "GET", "secure_score_profiles", list_control_profiles),
        (f"{graph}/auditLogs/directoryAudits", "GET", "directory_audits", list_directory_audits),
        (f"{graph}/groupSettings", "GET", "group_settings", list_group_settings),
        (f"{graph}/groupSettings", "POST", "group_settings", post_group_setting),
        (f"{graph}/groupSettings/{{setting_id}}", "GET", "group_settings", get_group_setting),
        (f"{graph}/groupSettings/{{setting_id}}", "PATCH", "group_settings", patch_group_setting),
        (f"{graph}/groupSettings/{{setting_id}}", "DELETE", "group_settings", delete_group_setting),
        (f"{graph}/deviceManagement/deviceConfigurations", "GET", "device_configurations",
         list_device_configurations),
        (f"{graph}/deviceManagement/deviceConfigurations/{{config_id}}/assignments", "GET",
         "device_configuration_assignments", list_device_configuration_assignments),
        (f"{portal}/PasswordResetPolicies", "GET", "portal_sspr", get_portal_sspr),
        (f"{portal}/PasswordResetPolicies", "PUT", "portal_sspr", put_portal_sspr),
        (f"{portal}/OnPremisesPasswordResetPolicies", "GET", "portal_onprem", get_portal_onprem),
        (f"{portal}/OnPremisesPasswordResetPolicies", "PUT", "portal_onprem", put_portal_onprem),
    ]
    table += list(extra)  # routes of modules that build on this one's helpers (lab/emulator_ca.py, emulator_devices.py)
    by_path: dict[str, dict[str, tuple[str, Handler]]] = {}
    for path, method, name, handler in table:
        by_path.setdefault(path, {})[method] = (name, handler)
    return [Route(path, _dispatch(handlers), methods=list(handlers)) for path, handlers in by_path.items()]


def _dispatch(handlers: Mapping[str, tuple[str, Handler]]) -> Callable[[Request], Awaitable[Response]]:
    wrapped = {method: _endpoint(name, handler) for method, (name, handler) in handlers.items()}

    async def dispatch(request: Request) -> Response:
        handler = wrapped.get(request.method)
        if handler is None:  # HEAD, which Starlette adds to GET routes
            raise HTTPException(405)
        return await handler(request)

    return dispatch


async def _not_found(request: Request, exc: Exception) -> Response:
    if isinstance(exc, HTTPException) and exc.status_code == 405:
        return error_response(request.scope, GraphError(
            405, "Request_BadRequest", "Specified HTTP method is not allowed for the request uri."))
    return error_response(request.scope, GraphError(
        404, "NotFound", f"Resource not found for the segment '{request.url.path}' "
                         "(the sspr-auditor lab does not emulate this path)."))


def create_app(scenario: Scenario, faults: Faults | None = None, *, paging: Paging | None = None,
               extra_routes: Iterable[tuple[str, str, str, Handler]] = ()) -> Starlette:
    """An emulator app serving a private, mutable copy of ``scenario`` (and `extra_routes`: path, method,
    endpoint name, handler)."""
    lab = EmulatorState(tenant=scenario.materialized(), faults=faults or Faults(), paging=paging or Paging())
    app = Starlette(
        routes=_routes(extra_routes),
        middleware=[Middleware(_LabMiddleware, lab=lab)],
        exception_handlers={404: _not_found, 405: _not_found},
    )
    app.router.redirect_slashes = False
    app.state.lab = lab
    return app
