"""The Azure portal's own SSPR API (undocumented, unversioned; delegated token; opt-in).

No Graph endpoint exposes the user SSPR policy or the on-premises writeback toggles, so tools
that read them (AzRanger, Monkey365, O365Essentials) call the portal's API. We treat every
401/403/404, timeout and unexpected shape as a section error: never as a pass.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from auditor.portal_fields import (
    ENABLEMENT_BY_CODE,
    METHOD_ALLOWED,
    ONPREM_FIELDS,
    REGISTRATION_CA_POLICIES,
    SSPR_FIELDS,
)
from auditor.readers.credentials import PORTAL_SCOPE, tls_context
from auditor.snapshot.models import OnPremisesWritebackState, Section, SecurityQuestionItem, SsprPolicyState

log = logging.getLogger(__name__)

SSPR_PATH = "/PasswordReset/PasswordResetPolicies"
ONPREM_PATH = "/PasswordReset/OnPremisesPasswordResetPolicies"


class _Wire(BaseModel):
    # The portal adds fields over time; unknown ones are fine, missing or mistyped ones are not. Strict: a
    # "true" is not a boolean and "2" is not a number (a changed shape is unknown, never read as the old one).
    model_config = ConfigDict(extra="allow", strict=True)


class PasswordResetPoliciesWire(_Wire):
    objectId: str
    enablementType: int
    numberOfAuthenticationMethodsRequired: int
    passwordResetEnabledGroupIds: list[str] | None = None
    passwordResetEnabledGroupName: str | None = None
    mobileAppNotificationEnabled: bool
    mobileAppCodeEnabled: bool
    emailOptionEnabled: bool
    mobilePhoneOptionEnabled: bool
    officePhoneOptionEnabled: bool
    securityQuestionsOptionEnabled: bool
    numberOfQuestionsToRegister: int | None = None
    numberOfQuestionsToReset: int | None = None
    registrationRequiredOnSignIn: bool
    registrationReconfirmIntevalInDays: int  # sic: the portal's key is misspelt
    notifyUsersOnPasswordReset: bool
    notifyOnAdminPasswordReset: bool
    customizeHelpdeskLink: bool
    customHelpdeskEmailOrUrl: str | None = None
    # read when present (AzRanger types them; not every tenant or capture has them)
    mobileAppNotificationOptionAllowed: bool | None = None
    mobileAppCodeOptionAllowed: bool | None = None
    emailOptionAllowed: bool | None = None
    mobilePhoneOptionAllowed: bool | None = None
    officePhoneOptionAllowed: bool | None = None
    securityQuestionsOptionAllowed: bool | None = None
    skipRegistrationAllowed: bool | None = None
    skipRegistrationMaxAllowedDays: int | None = None
    registrationConditionalAccessPolicies: list[Any] | None = None
    securityQuestions: list[Any] | None = None


class SecurityQuestionWire(_Wire):
    # Item shape unverified against a live tenant (tools type the list as object[]); a different shape makes the
    # custom-question judgement unknown, never a pass.
    id: str | None = None
    question: str
    isCustom: bool


class OnPremisesPasswordResetPoliciesWire(_Wire):
    objectId: str | None = None  # AzRanger types it as a free object; tenants may send null
    enablementForTenant: bool
    accountUnlockEnabled: bool
    cloudProvisioningEnablementForTenant: bool | None = None
    passwordWritebackSupported: bool | None = None
    accountUnlockSupported: bool | None = None


class PortalClient:
    """A thin httpx client that adds the bearer token and the headers the portal expects."""

    def __init__(self, base_url: str, credential: Any, timeout_seconds: float = 30.0) -> None:
        import httpx

        self.base_url = base_url.rstrip("/")
        self._credential = credential
        self._http = httpx.AsyncClient(base_url=self.base_url, timeout=httpx.Timeout(timeout_seconds),
                                       verify=tls_context())

    def _headers(self) -> dict[str, str]:
        token = self._credential.get_token(PORTAL_SCOPE).token
        return {
            "Authorization": f"Bearer {token}",
            "X-Requested-With": "XMLHttpRequest",
            "x-ms-client-request-id": str(uuid.uuid4()),
            "Accept": "application/json",
        }

    async def get_json(self, path: str, params: dict[str, str] | None = None) -> Any:
        response = await self._http.get(path, params=params, headers=self._headers())
        _raise_for_status(response)
        from auditor import progress

        progress.advance("portal", path.rsplit("/", 1)[-1], 1, "objects")
        return response.json()

    async def put_json(self, path: str, body: dict[str, Any]) -> Any:
        response = await self._http.put(path, json=body, headers=self._headers())
        _raise_for_status(response)
        return response.json() if response.content else None

    async def aclose(self) -> None:
        await self._http.aclose()


class PortalError(Exception):
    pass


def _raise_for_status(response: Any) -> None:
    if response.status_code < 400:
        return
    detail = ""
    try:
        body = response.json()
        error = body.get("error", body) if isinstance(body, dict) else {}
        detail = ": ".join(str(x) for x in (error.get("code"), error.get("message")) if x)
    except ValueError:
        detail = response.text[:200]
    raise PortalError(f"HTTP {response.status_code}" + (f": {detail}" if detail else ""))


def _describe(exc: BaseException) -> str:
    import httpx

    if isinstance(exc, PortalError):
        return str(exc)
    if isinstance(exc, ValidationError):
        first = exc.errors(include_url=False)[0]
        field = ".".join(str(p) for p in first["loc"])
        return f"unexpected response shape ({exc.error_count()} problem(s)); first: `{field}` {first['msg']}"
    if isinstance(exc, httpx.TimeoutException):
        return f"timed out ({type(exc).__name__})"
    if isinstance(exc, httpx.HTTPError):
        return f"network error: {type(exc).__name__}: {exc}"
    if isinstance(exc, ValueError):
        return f"unexpected response: {exc}"
    return f"{type(exc).__name__}: {exc}"


async def read_sspr_policy(portal: PortalClient) -> Section[SsprPolicyState]:
    source = f"portal:GET {SSPR_PATH}"
    try:
        body = await portal.get_json(SSPR_PATH, params={"getPasswordResetEnabledGroup": "true"})
        wire = PasswordResetPoliciesWire.model_validate(body)
        value = sspr_state_from_wire(wire)
    except Exception as exc:
        reason = _describe(exc)
        log.info("read failed: %s: %s", source, reason)
        return Section[SsprPolicyState].failed(source, reason)
    return Section[SsprPolicyState].ok(source, value)


def sspr_state_from_wire(wire: PasswordResetPoliciesWire) -> SsprPolicyState:
    if wire.enablementType not in ENABLEMENT_BY_CODE:
        raise ValueError(f"enablementType {wire.enablementType} is not 0, 1 or 2")
    values: dict[str, Any] = {name: getattr(wire, field) for name, field in SSPR_FIELDS.items()}
    values["enablement"] = ENABLEMENT_BY_CODE[wire.enablementType]
    values["group_ids"] = list(wire.passwordResetEnabledGroupIds or [])
    values["not_allowed"] = [method for method, field in METHOD_ALLOWED.items() if getattr(wire, field) is False]
    policies = getattr(wire, REGISTRATION_CA_POLICIES)
    values["registration_ca_policies"] = None if policies is None else len(policies)
    values["chosen_questions"], values["chosen_questions_problem"] = _chosen_questions(wire.securityQuestions)
    return SsprPolicyState(**values)


def _chosen_questions(items: list[Any] | None) -> tuple[list[SecurityQuestionItem] | None, str | None]:
    """securityQuestions as typed items, or None and why not (absent, or an item of another shape)."""
    if items is None:
        return None, "securityQuestions was not in the response"
    chosen: list[SecurityQuestionItem] = []
    for index, item in enumerate(items):
        try:
            wire = SecurityQuestionWire.model_validate(item)
        except ValidationError as exc:
            return None, f"securityQuestions[{index}]: {_describe(exc)}"
        chosen.append(SecurityQuestionItem(id=wire.id, text=wire.question, custom=wire.isCustom))
    return chosen, None


async def read_onprem_writeback(portal: PortalClient) -> Section[OnPremisesWritebackState]:
    source = f"portal:GET {ONPREM_PATH}"
    try:
        wire = OnPremisesPasswordResetPoliciesWire.model_validate(await portal.get_json(ONPREM_PATH))
        value = OnPremisesWritebackState(**{name: getattr(wire, field) for name, field in ONPREM_FIELDS.items()})
    except Exception as exc:
        reason = _describe(exc)
        log.info("read failed: %s: %s", source, reason)
        return Section[OnPremisesWritebackState].failed(source, reason)
    return Section[OnPremisesWritebackState].ok(source, value)
