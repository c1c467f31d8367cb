"""A lab Microsoft identity platform: the OAuth 2.0 endpoints `sspr-audit login` and its silent refresh use.

Served over TLS on loopback by :class:`auditor.lab.server.LabIdentityServer` (MSAL accepts only an https
authority). The shapes follow Microsoft Learn, "Microsoft identity platform and the OAuth 2.0 device
authorization grant flow" (MicrosoftDocs/entra-docs ``docs/identity-platform/v2-oauth2-device-code.md``):

* ``GET /{tenant}/v2.0/.well-known/openid-configuration``: the OIDC discovery document MSAL reads;
* ``POST /{tenant}/oauth2/v2.0/devicecode`` (``client_id``, ``scope``): ``device_code``, ``user_code``,
  ``verification_uri``, ``expires_in`` (900 s by default), ``interval`` and ``message``;
* ``POST /{tenant}/oauth2/v2.0/token`` with ``grant_type=urn:ietf:params:oauth:grant-type:device_code``:
  ``authorization_pending`` until the (lab) user approves, then ``authorization_declined`` or the tokens;
  ``expired_token`` once ``expires_in`` has passed; ``bad_verification_code`` for an unknown code;
* the same endpoint with ``grant_type=refresh_token``: new tokens and a new refresh token (the old one is
  not revoked: Microsoft Learn, "Refresh tokens in the Microsoft identity platform"), or
  ``invalid_grant`` with the AADSTS codes Entra sends: ``AADSTS700082`` (the refresh token expired after
  90 days of inactivity, the default lifetime in "Configurable token lifetimes") and ``AADSTS50173`` (the
  grant was revoked: the user's refresh tokens were invalidated, e.g. by revokeSignInSessions or a
  password reset). Codes as quoted in Microsoft's Q&A answers on these errors.

Access tokens are opaque here (Microsoft says clients must not read them); the portal emulator asks this
state whether a token it is shown was issued for the portal's resource to a user
(:meth:`IdentityState.portal_token_problem`), so an app-only token is refused there as the real portal does.
Nothing here is a real credential: every token is random and dies with the process.
"""

from __future__ import annotations

import base64
import json
import secrets
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import parse_qs

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

__all__ = ["IdentityState", "LabAccount", "create_identity_app"]

DEVICE_CODE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
PORTAL_RESOURCE = "74658136-14ec-4630-ad9b-26e160ff0fc6"
REFRESH_IDLE_SECONDS = 90 * 24 * 3600


@dataclass(frozen=True)
class LabAccount:
    """The dedicated reader account the lab signs in (a cloud-only user in the lab tenant)."""

    username: str = "sspr-reader@lab.example"
    object_id: str = "6b1c2f4e-9a7d-4e21-b3c8-0d5e6f7a8b9c"
    name: str = "SSPR reader (lab)"


@dataclass
class _DeviceGrant:
    client_id: str
    scope: str
    user_code: str
    expires_at: float
    polls: int = 0


@dataclass
class _RefreshGrant:
    client_id: str
    scope: str
    issued_at: float
    last_used: float


@dataclass
class _AccessGrant:
    client_id: str
    scope: str
    expires_at: float
    user: bool = True


@dataclass
class IdentityState:
    """The lab tenant's identity platform; tests steer the (lab) user and the clock through it."""

    tenant_id: str = "3f8e2b6a-1c4d-4e5f-8a9b-0c1d2e3f4a5b"
    account: LabAccount = field(default_factory=LabAccount)
    user_action: Literal["approve", "decline", "wait"] = "approve"
    """What the user at the verification page does: approve, decline, or never finish (the code expires)."""
    pending_polls: int = 1
    """Polls answered `authorization_pending` before the user's action takes effect."""
    device_code_seconds: int = 900
    access_token_seconds: int = 3600
    clock_offset: float = 0.0
    tokens_valid_from: float = 0.0
    """Refresh tokens issued before this (lab) time are revoked (Entra's refreshTokensValidFromDateTime)."""
    device_grants: dict[str, _DeviceGrant] = field(default_factory=dict)
    refresh_grants: dict[str, _RefreshGrant] = field(default_factory=dict)
    access_grants: dict[str, _AccessGrant] = field(default_factory=dict)
    issued: list[str] = field(default_factory=list)
    """Every token and code handed out, so a secret scan can look for each of them."""
    log: list[tuple[str, str]] = field(default_factory=list)
    """(grant type or endpoint, outcome) of every request."""
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    # --- what tests steer ---

    def now(self) -> float:
        return time.time() + self.clock_offset

    def advance(self, seconds: float) -> None:
        """Move the lab's clock (the client's clock stays real)."""
        self.clock_offset += seconds

    def revoke_sessions(self) -> None:
        """What `revokeSignInSessions` (or a password reset) does: every refresh token issued so far is void."""
        self.tokens_valid_from = self.now() + 1

    def outcomes(self, kind: str | None = None) -> list[str]:
        with self.lock:
            return [outcome for what, outcome in self.log if kind is None or what == kind]

    # --- what the portal emulator asks ---

    def portal_token_problem(self, token: str) -> str | None:
        """Why the portal would refuse this bearer token, or None if it is a live user token for the portal."""
        with self.lock:
            grant = self.access_grants.get(token)
        if grant is None:
            return "the token was not issued by the lab identity platform"
        if not grant.user:
            return "the portal accepts only a delegated user token"
        if PORTAL_RESOURCE not in grant.scope:
            return f"the token is for {grant.scope}, not the portal's resource {PORTAL_RESOURCE}"
        if grant.expires_at <= time.time():  # the resource checks with its own (real) clock
            return "the access token has expired"
        return None

    # --- issuing ---

    def _token(self, prefix: str) -> str:
        value = f"{prefix}.{secrets.token_urlsafe(32)}"
        self.issued.append(value)
        return value

    def _id_token(self, client_id: str, now: float) -> str:
        def part(data: dict[str, Any]) -> str:
            return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

        claims = {"aud": client_id, "iss": self.issuer, "iat": int(now), "nbf": int(now),
                  "exp": int(now) + 3600, "oid": self.account.object_id, "sub": self.account.object_id,
                  "tid": self.tenant_id, "preferred_username": self.account.username, "name": self.account.name,
                  "ver": "2.0"}
        return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(claims)}."  # unsigned: a lab never needs more

    def _client_info(self) -> str:
        data = json.dumps({"uid": self.account.object_id, "utid": self.tenant_id}).encode()
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    def tokens(self, client_id: str, scope: str) -> dict[str, Any]:
        now = self.now()
        access = self._token("lab-at")
        refresh = self._token("lab-rt")
        self.access_grants[access] = _AccessGrant(client_id, scope, time.time() + self.access_token_seconds)
        self.refresh_grants[refresh] = _RefreshGrant(client_id, scope, issued_at=now, last_used=now)
        return {"token_type": "Bearer", "scope": scope, "expires_in": self.access_token_seconds,
                "ext_expires_in": self.access_token_seconds, "access_token": access, "refresh_token": refresh,
                "id_token": self._id_token(client_id, now), "client_info": self._client_info()}

    @property
    def issuer(self) -> str:
        return f"https://login.lab.invalid/{self.tenant_id}/v2.0"


def _error(error: str, description: str, code: int | None = None, status: int = 400) -> JSONResponse:
    body: dict[str, Any] = {"error": error, "error_description": description,
                            "timestamp": time.strftime("%Y-%m-%d %H:%M:%SZ", time.gmtime()),
                            "trace_id": str(uuid.uuid4()), "correlation_id": str(uuid.uuid4())}
    if code is not None:
        body["error_codes"] = [code]
    return JSONResponse(body, status_code=status)


async def _form(request: Request) -> dict[str, str]:
    parsed = parse_qs((await request.body()).decode("utf-8", "replace"))
    return {key: values[0] for key, values in parsed.items()}


def _state(request: Request) -> IdentityState:
    state: IdentityState = request.app.state.identity
    return state


async def openid_configuration(request: Request) -> Response:
    state = _state(request)
    tenant = request.path_params["tenant"]
    base = f"{request.url.scheme}://{request.url.netloc}/{tenant}"
    return JSONResponse({
        "issuer": state.issuer, "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
        "token_endpoint": f"{base}/oauth2/v2.0/token",
        "device_authorization_endpoint": f"{base}/oauth2/v2.0/devicecode",
        "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
        "scopes_supported": ["openid", "profile", "email", "offline_access"],
        "tenant_region_scope": "EU",
    })


async def device_code(request: Request) -> Response:
    state = _state(request)
    form = await _form(request)
    if not form.get("client_id") or not form.get("scope"):
        return _error("invalid_request", "AADSTS900144: The request body must contain the following parameter: "
                                         "'client_id' and 'scope'.", 900144)
    code = secrets.token_urlsafe(48)
    user_code = "".join(secrets.choice("ABCDEFGHJKLMNPQRSTUVWXYZ23456789") for _ in range(9))
    with state.lock:
        state.issued.append(code)
        state.device_grants[code] = _DeviceGrant(form["client_id"], form["scope"], user_code,
                                                 state.now() + state.device_code_seconds)
        state.log.append(("devicecode", "issued"))
    verification = f"{request.url.scheme}://{request.url.netloc}/devicelogin"
    return JSONResponse({
        "device_code": code, "user_code": user_code, "verification_uri": verification,
        "expires_in": state.device_code_seconds, "interval": 1,
        "message": f"To sign in, use a web browser to open the page {verification} and enter the code "
                   f"{user_code} to authenticate. (sspr-auditor lab identity platform)",
    })


async def token(request: Request) -> Response:
    state = _state(request)
    form = await _form(request)
    grant_type = form.get("grant_type", "")
    with state.lock:
        if grant_type == DEVICE_CODE_GRANT:
            response, outcome = _device_code_grant(state, form)
        elif grant_type == "refresh_token":
            response, outcome = _refresh_grant(state, form)
        else:
            response, outcome = _error("unsupported_grant_type", f"AADSTS70003: grant type {grant_type!r} is not "
                                                                 "supported by the lab.", 70003), "unsupported"
        state.log.append((grant_type or "none", outcome))
    return response


def _device_code_grant(state: IdentityState, form: dict[str, str]) -> tuple[Response, str]:
    grant = state.device_grants.get(form.get("device_code", ""))
    if grant is None or grant.client_id != form.get("client_id"):
        return _error("bad_verification_code", "AADSTS70019: Verification code was not recognized.", 70019), \
            "bad_verification_code"
    if state.now() >= grant.expires_at:
        del state.device_grants[form["device_code"]]
        return _error("expired_token", "AADSTS70020: The provided value for the input parameter 'device_code' "
                                       "is not valid. This device code has expired.", 70020), "expired_token"
    grant.polls += 1
    if grant.polls <= state.pending_polls or state.user_action == "wait":
        return _error("authorization_pending", "AADSTS70016: OAuth 2.0 device flow error. Authorization is "
                                               "pending. Continue polling.", 70016), "authorization_pending"
    del state.device_grants[form["device_code"]]
    if state.user_action == "decline":
        return _error("authorization_declined", "AADSTS70000: The user declined the authorization request.",
                      70000), "authorization_declined"
    return JSONResponse(state.tokens(grant.client_id, grant.scope)), "tokens"


def _refresh_grant(state: IdentityState, form: dict[str, str]) -> tuple[Response, str]:
    presented = form.get("refresh_token", "")
    grant = state.refresh_grants.get(presented)
    now = state.now()
    if grant is None or grant.client_id != form.get("client_id"):
        return _error("invalid_grant", "AADSTS9002313: Invalid request. Request is malformed or invalid.",
                      9002313), "invalid_grant"
    if grant.issued_at < state.tokens_valid_from:
        del state.refresh_grants[presented]
        return _error("invalid_grant", "AADSTS50173: The provided grant has expired due to it being revoked, a fresh "
                                       "auth token is needed. The user might have changed or reset their password.",
                      50173), "revoked"
    if now - grant.last_used > REFRESH_IDLE_SECONDS:
        del state.refresh_grants[presented]
        return _error("invalid_grant", "AADSTS700082: The refresh token has expired due to inactivity. The token "
                                       "was inactive for 90.00:00:00.", 700082), "expired"
    # A new refresh token comes with every use; the old one stays valid until its own 90 days are up
    # ("The Microsoft identity platform doesn't revoke old refresh tokens when used to fetch new access
    # tokens", Microsoft Learn, "Refresh tokens in the Microsoft identity platform"). The lab does not let a use
    # extend the old token's own 90 days (the stricter reading): a cache that is never re-saved ages out.
    scope = form.get("scope") or grant.scope
    return JSONResponse(state.tokens(grant.client_id, scope)), "refreshed"


def issue_app_token(state: IdentityState, client_id: str = "app-only") -> str:
    """An access token as a client-credentials grant would issue it (no user): the portal refuses it."""
    with state.lock:
        value = state._token("lab-app")
        state.access_grants[value] = _AccessGrant(client_id, f"{PORTAL_RESOURCE}/.default",
                                                  time.time() + state.access_token_seconds, user=False)
    return value


def create_identity_app(state: IdentityState | None = None) -> Starlette:
    app = Starlette(routes=[
        Route("/{tenant}/v2.0/.well-known/openid-configuration", openid_configuration, methods=["GET"]),
        Route("/{tenant}/oauth2/v2.0/devicecode", device_code, methods=["POST"]),
        Route("/{tenant}/oauth2/v2.0/token", token, methods=["POST"]),
    ])
    app.state.identity = state or IdentityState()
    return app
