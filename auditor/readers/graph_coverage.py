"""Graph readers for "who is actually covered": users and their service plans, SSPR registration,
the scope group's transitive members, subscribed SKUs, Secure Score, the SSPR audit log, the
Password Rule Settings, and Intune's sign-in screen setting.

Every collection is read whole: each reader follows `@odata.nextLink` (`.with_url(link)`) to the
last page, asks for the largest page Graph accepts and `$select`s only the fields it keeps, and
turns each page into compact rows before fetching the next. A failure on any page makes the
whole section `failed` with the reason (`graph._read`): a partial list is never passed off as whole.

The per-user collections (users, registration details, group members, audit events) go through
the same msgraph-sdk client, middleware and error mapping, but their pages are read as JSON
(`send_primitive_async(..., "bytes")`) instead of as kiota models: building each entity model
re-runs some 2,500 imports in `Entity.get_field_deserializers` (about 6 ms per object in
msgraph-sdk 1.65), which would take ten minutes for 100,000 users.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Awaitable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from auditor.readers.graph import _read
from auditor.snapshot.coverage import (
    ActivityDay,
    CloudUsersState,
    IntuneSetting,
    IntuneSignInResetState,
    PasswordRulesState,
    RegistrationRow,
    RegistrationState,
    ScopeGroup,
    ScopeGroupsState,
    ScorePoint,
    SecureScoreState,
    SkuRow,
    SsprActivityState,
    SubscribedSkusState,
    UserRow,
    WritebackEvent,
)
from auditor.snapshot.models import Section, SsprPolicyState

log = logging.getLogger(__name__)

USERS_PAGE = 999  # the most /users and group member lists return per page
AUDITS_PAGE = 999
SSPR_SERVICE = "Self-service Password Management"
SSPR_CONTROL = "SelfServicePasswordReset"
PASSWORD_RULE_TEMPLATE = "5cf42378-d67d-4f36-ba46-e8b86229381d"
SIGN_IN_RESET_OMA_URI = "./Vendor/MSFT/Policy/Config/Authentication/AllowAadPasswordReset"
ACTIVE_PLAN_STATES = frozenset({"enabled", "warning"})  # Warning: in the grace period, still works

# SSPR audit activities (howto-sspr-reporting). Unlisted ones count as "other".
RESET = "reset password (self-service)"
BLOCKED = "blocked from self-service password reset"
WRITEBACK_ON = "enable password writeback for directory"
WRITEBACK_OFF = "disable password writeback for directory"


@dataclass(frozen=True)
class GroupHint:
    """The group the policy names (id and/or display name), read as well as the live scope group."""

    id: str | None = None
    name: str | None = None


def _query(builder: Any, **params: Any) -> Any:
    """A RequestConfiguration with the builder's own GET query-parameter class (so names map to `$select` etc.)."""
    from kiota_abstractions.base_request_configuration import RequestConfiguration

    cls = next(v for k, v in vars(type(builder)).items() if k.endswith("GetQueryParameters"))
    return RequestConfiguration(query_parameters=cls(**params))


async def _pages(builder: Any, **params: Any) -> AsyncIterator[list[Any]]:
    """Every page of a collection, following @odata.nextLink to the end."""
    page = await builder.get(_query(builder, **params) if params else None)
    seen: set[str] = set()
    while page is not None:
        if page.value is None:  # no `value` at all is a changed shape, never an empty collection
            raise ValueError("the response is not an OData collection (it has no `value`)")
        yield list(page.value)
        link = getattr(page, "odata_next_link", None)
        if not link:
            return
        _check_next_link(link, seen)
        page = await builder.with_url(link).get()


async def _raw_pages(builder: Any, **params: Any) -> AsyncIterator[list[dict[str, Any]]]:
    """Every page of a collection as JSON objects, through the SDK's adapter (auth, retry, OData errors)."""
    from msgraph.generated.models.o_data_errors.o_data_error import ODataError

    errors = {"XXX": ODataError}
    info = builder.to_get_request_information(_query(builder, **params) if params else None)
    seen: set[str] = set()
    while True:
        body = await builder.request_adapter.send_primitive_async(info, "bytes", errors)
        page = json.loads(body) if body else {}
        if not isinstance(page, dict) or not isinstance(page.get("value"), list):
            raise ValueError("the response is not an OData collection (it has no `value` list)")
        yield page["value"]
        link = page.get("@odata.nextLink")
        if not link:
            return
        _check_next_link(link, seen)
        info = builder.with_url(link).to_get_request_information()


def _check_next_link(link: Any, seen: set[str]) -> None:
    """A next link that is not a string or names a page already read would page for ever: fail the section."""
    if not isinstance(link, str):
        raise ValueError(f"@odata.nextLink is not a URL: {str(link)[:200]!r}")
    if link in seen:
        raise ValueError(f"@odata.nextLink points at a page already read ({link[:200]}): paging would never end")
    seen.add(link)


def _parse_time(text: Any) -> datetime | None:
    if not isinstance(text, str) or not text:
        return None
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


# --- users and licences ----------------------------------------------------------------------


async def read_cloud_users(client: Any) -> Section[CloudUsersState]:
    source = "graph:GET /users"

    async def fetch() -> CloudUsersState:
        select = ["id", "userPrincipalName", "displayName", "accountEnabled", "userType", "onPremisesSyncEnabled",
                  "assignedPlans"]
        plan_sets: dict[tuple[str, ...], int] = {}
        rows: list[UserRow] = []
        async for page in _raw_pages(client.users, select=select, top=USERS_PAGE):
            for user in page:
                plans = tuple(sorted({str(p["servicePlanId"]).lower() for p in user.get("assignedPlans") or []
                                      if p.get("servicePlanId")
                                      and str(p.get("capabilityStatus") or "").lower() in ACTIVE_PLAN_STATES}))
                index = plan_sets.setdefault(plans, len(plan_sets)) if plans else -1
                rows.append(UserRow(str(user["id"]), user.get("userPrincipalName") or "",
                                    user.get("displayName") or "", bool(user.get("accountEnabled")),
                                    str(user.get("userType") or "").lower() == "guest",
                                    bool(user.get("onPremisesSyncEnabled")), index))
        return CloudUsersState(users=rows, plan_sets=[list(plans) for plans in plan_sets])

    return await _read(source, fetch)


async def read_subscribed_skus(client: Any) -> Section[SubscribedSkusState]:
    source = "graph:GET /subscribedSkus"

    async def fetch() -> SubscribedSkusState:
        select = ["skuId", "skuPartNumber", "capabilityStatus", "prepaidUnits", "consumedUnits", "servicePlans"]
        rows = []
        async for page in _pages(client.subscribed_skus, select=select):
            for sku in page:
                units = sku.prepaid_units
                rows.append(SkuRow(str(sku.sku_id or ""), sku.sku_part_number or "", sku.capability_status or "",
                                   int(getattr(units, "enabled", 0) or 0), int(sku.consumed_units or 0),
                                   [str(p.service_plan_id).lower() for p in sku.service_plans or []
                                    if p.service_plan_id]))
        return SubscribedSkusState(skus=rows)

    return await _read(source, fetch)


# --- registration ----------------------------------------------------------------------------


async def read_registration_details(client: Any) -> Section[RegistrationState]:
    source = "graph:GET /reports/authenticationMethods/userRegistrationDetails"

    async def fetch() -> RegistrationState:
        select = ["id", "userPrincipalName", "isSsprEnabled", "isSsprRegistered", "isSsprCapable", "isAdmin",
                  "userType"]
        rows = []
        # the page size of this report is Graph's to choose (undocumented): follow nextLink
        builder = client.reports.authentication_methods.user_registration_details
        async for page in _raw_pages(builder, select=select):
            for record in page:
                rows.append(RegistrationRow(str(record["id"]), record.get("userPrincipalName") or "",
                                            record.get("isSsprEnabled") is True,
                                            record.get("isSsprRegistered") is True,
                                            record.get("isSsprCapable") is True, record.get("isAdmin") is True,
                                            str(record.get("userType") or "").lower() == "guest"))
        return RegistrationState(records=rows)

    return await _read(source, fetch)


# --- the scope group -------------------------------------------------------------------------


async def read_scope_groups(client: Any, live_policy: Awaitable[Section[SsprPolicyState] | None],
                            hint: GroupHint | None) -> Section[ScopeGroupsState]:
    """The live SSPR scope group (from the portal policy, once read) and the policy's group, with members."""
    source = "graph:GET /groups/{id}/transitiveMembers"

    async def fetch() -> ScopeGroupsState:
        wanted: dict[str, tuple[str, set[str], bool]] = {}  # key -> (query, why, by id)
        live = await live_policy
        if live is not None and live.value is not None and live.value.enablement == "selected":
            for group_id in live.value.group_ids:
                wanted.setdefault(group_id.lower(), (group_id, set(), True))[1].add("live")
        if hint is not None and (hint.id or hint.name):
            query = hint.id or hint.name or ""
            wanted.setdefault(query.lower(), (query, set(), bool(hint.id)))[1].add("policy")
        groups = [await _scope_group(client, query, sorted(why), by_id) for query, why, by_id in wanted.values()]
        return ScopeGroupsState(groups=groups)

    return await _read(source, fetch)


async def _scope_group(client: Any, query: str, why: list[str], by_id: bool) -> ScopeGroup:
    from kiota_abstractions.api_error import APIError

    from auditor.readers.graph import describe_error

    try:
        if by_id:
            builder = client.groups.by_group_id(query)
            group = await builder.get(_query(builder, select=["id", "displayName"]))
        else:
            escaped = query.replace("'", "''")
            found = [g async for page in _pages(client.groups, filter=f"displayName eq '{escaped}'",
                                                select=["id", "displayName"]) for g in page]
            if len(found) > 1:
                return ScopeGroup(query=query, why=why, found=False,
                                  error=f"{len(found)} groups are named {query!r}: name the group by id")
            group = found[0] if found else None
    except APIError as exc:
        if getattr(exc, "response_status_code", None) == 404:
            return ScopeGroup(query=query, why=why, found=False)
        raise
    if group is None:
        return ScopeGroup(query=query, why=why, found=False)
    user_ids: list[str] = []
    others = 0
    try:
        members = client.groups.by_group_id(str(group.id)).transitive_members
        async for page in _raw_pages(members, select=["id"], top=USERS_PAGE):
            for member in page:
                if str(member.get("@odata.type") or "").lower() == "#microsoft.graph.user":
                    user_ids.append(str(member["id"]))
                else:
                    others += 1
    except APIError as exc:
        return ScopeGroup(query=query, why=why, found=True, id=str(group.id), display_name=group.display_name,
                          error=describe_error(exc))
    return ScopeGroup(query=query, why=why, found=True, id=str(group.id), display_name=group.display_name,
                      user_ids=user_ids, other_members=others)


# --- Secure Score ----------------------------------------------------------------------------


def _number(value: Any) -> float | None:
    try:
        return float(value) if value is not None and value != "" else None
    except (TypeError, ValueError):
        return None


def _integer(value: Any) -> int | None:
    number = _number(value)
    return int(number) if number is not None else None


async def read_secure_score(client: Any, days: int) -> Section[SecureScoreState]:
    source = "graph:GET /security/secureScores, /security/secureScoreControlProfiles"

    async def fetch() -> SecureScoreState:
        scores = [s async for page in _pages(client.security.secure_scores, top=days) for s in page]
        scores.sort(key=lambda s: s.created_date_time or datetime.min.replace(tzinfo=UTC), reverse=True)
        profiles = [p async for page in _pages(client.security.secure_score_control_profiles,
                                               filter=f"id eq '{SSPR_CONTROL}'") for p in page]
        profile = next((p for p in profiles if (p.id or "").lower() == SSPR_CONTROL.lower()), None)
        history = []
        for score in reversed(scores[:days]):
            control = _control(score)
            if control is not None and score.created_date_time is not None:
                extra = control.additional_data or {}
                history.append(ScorePoint(score.created_date_time.date(), control.score,
                                          _number(extra.get("scoreInPercentage")), _integer(extra.get("count")),
                                          _integer(extra.get("total"))))
        latest = scores[0] if scores else None
        control = _control(latest) if latest is not None else None
        extra = (control.additional_data or {}) if control is not None else {}
        return SecureScoreState(
            found=control is not None,
            as_of=latest.created_date_time if latest is not None else None,
            tenant_score=latest.current_score if latest is not None else None,
            tenant_max_score=latest.max_score if latest is not None else None,
            score=control.score if control is not None else None,
            percent=_number(extra.get("scoreInPercentage")),
            count=_integer(extra.get("count")),
            total=_integer(extra.get("total")),
            implementation_status=extra.get("implementationStatus"),
            max_score=profile.max_score if profile is not None else None,
            title=profile.title if profile is not None else None,
            deprecated=profile.deprecated if profile is not None else None,
            history=history,
        )

    return await _read(source, fetch)


def _control(score: Any) -> Any:
    return next((c for c in score.control_scores or [] if (c.control_name or "").lower() == SSPR_CONTROL.lower()),
                None)


# --- the SSPR audit log ------------------------------------------------------------------------


async def read_sspr_activity(client: Any, days: int, now: datetime | None = None) -> Section[SsprActivityState]:
    end = (now or datetime.now(UTC)).replace(microsecond=0)
    start = end - timedelta(days=days)
    since = start.strftime("%Y-%m-%dT%H:%M:%SZ")
    source = (f"graph:GET /auditLogs/directoryAudits?$filter=loggedByService eq '{SSPR_SERVICE}' "
              f"and activityDateTime ge {since}")

    async def fetch() -> SsprActivityState:
        select = ["id", "activityDateTime", "activityDisplayName", "result", "initiatedBy", "targetResources"]
        query = f"loggedByService eq '{SSPR_SERVICE}' and activityDateTime ge {since}"
        counts: dict[date, list[int]] = {}
        writeback: list[WritebackEvent] = []
        blocked_users: set[str] = set()
        events = 0
        async for page in _raw_pages(client.audit_logs.directory_audits, filter=query, select=select,
                                     top=AUDITS_PAGE):
            for audit in page:
                at = _parse_time(audit.get("activityDateTime"))
                if at is None or not start <= at <= end + timedelta(minutes=5):
                    continue  # outside the window asked for: a service that ignored the filter
                events += 1
                name = str(audit.get("activityDisplayName") or "").strip().lower()
                day = counts.setdefault(at.date(), [0, 0, 0, 0, 0, 0])
                result = str(audit.get("result") or "").lower()
                if name == RESET:
                    day[0] += 1
                    day[1] += result == "failure"
                elif name.startswith("unlock") and "self-service" in name:
                    day[2] += 1
                elif name == BLOCKED:
                    day[3] += 1
                    blocked_users.add(_target_user(audit) or f"event:{audit.get('id')}")
                elif name.startswith("user registered") and "self-service password reset" in name:
                    day[4] += 1
                elif name in (WRITEBACK_ON, WRITEBACK_OFF):
                    writeback.append(WritebackEvent(at, name == WRITEBACK_ON, _initiator(audit)))
                else:
                    day[5] += 1
        days_seen = [ActivityDay(day, *values) for day, values in sorted(counts.items())]
        writeback.sort(key=lambda e: e.at)
        return SsprActivityState(window_start=start, window_end=end, events=events, days=days_seen,
                                 writeback_events=writeback, blocked_users=len(blocked_users))

    return await _read(source, fetch)


def _initiator(audit: dict[str, Any]) -> str | None:
    initiated = audit.get("initiatedBy") or {}
    user, app = initiated.get("user") or {}, initiated.get("app") or {}
    return user.get("userPrincipalName") or app.get("displayName") or None


def _target_user(audit: dict[str, Any]) -> str | None:
    for target in audit.get("targetResources") or []:
        if str(target.get("type") or "").lower() == "user" and target.get("id"):
            return str(target["id"]).lower()
    return None


# --- password protection -----------------------------------------------------------------------


async def read_password_rules(client: Any) -> Section[PasswordRulesState]:
    source = "graph:GET /groupSettings"

    async def fetch() -> PasswordRulesState:
        settings = [s async for page in _pages(client.group_settings) for s in page]
        rules = next((s for s in settings if (s.template_id or "").lower() == PASSWORD_RULE_TEMPLATE), None)
        if rules is None:
            return PasswordRulesState()  # no object: the tenant runs on Microsoft's defaults
        values = {(v.name or "").lower(): v.value for v in rules.values or []}
        words = [w for w in (values.get("bannedpasswordlist") or "").split("\t") if w.strip()]
        return PasswordRulesState(
            setting_id=str(rules.id),
            banned_on_premises_enabled=_boolean(values.get("enablebannedpasswordcheckonpremises")),
            banned_on_premises_mode=values.get("bannedpasswordcheckonpremisesmode") or None,
            custom_list_enabled=_boolean(values.get("enablebannedpasswordcheck")),
            custom_list_size=len(words),
            lockout_threshold=_integer(values.get("lockoutthreshold")),
            lockout_duration_seconds=_integer(values.get("lockoutdurationinseconds")),
        )

    return await _read(source, fetch)


def _boolean(value: str | None) -> bool | None:
    if value is None or value == "":
        return None
    return value.strip().lower() == "true"


# --- Intune: the reset link on the sign-in screen ---------------------------------------------


async def read_intune_sign_in_reset(client: Any) -> Section[IntuneSignInResetState]:
    source = "graph:GET /deviceManagement/deviceConfigurations"

    async def fetch() -> IntuneSignInResetState:
        read = 0
        found = []
        async for page in _pages(client.device_management.device_configurations):
            for config in page:
                read += 1
                for setting in getattr(config, "oma_settings", None) or []:
                    if (setting.oma_uri or "").strip().lower() == SIGN_IN_RESET_OMA_URI.lower():
                        value = getattr(setting, "value", None)
                        found.append(IntuneSetting(str(config.id), config.display_name or "",
                                                   None if value is None else str(value)))
        return IntuneSignInResetState(configurations_read=read, settings=found)

    return await _read(source, fetch)

