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

import asyncio
import logging
import re
from collections.abc import AsyncIterator, Awaitable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from auditor import progress
from auditor.ad.dn import parent
from auditor.derive.sspr_methods import tap_group_ids, target_group_ids
from auditor.graph_fields import (
    BANNED_PASSWORD_LIST,
    PASSWORD_RULE_FIELDS,
    PASSWORD_RULE_TEMPLATE,
    SSPR_CONTROL,
    SSPR_SERVICE,
    WRITEBACK_OFF,
    WRITEBACK_ON,
    password_rule_value,
    writeback_failure,
)
from auditor.readers.graph import _read, describe_error, get_bytes, get_json
from auditor.readers.graph_wire import (
    DeviceConfigurationAssignmentWire,
    DeviceConfigurationWire,
    DirectoryAuditWire,
    GroupSettingWire,
    MemberWire,
    RegistrationWire,
    Rows,
    SecureScoreProfileWire,
    SecureScoreWire,
    SubscribedSkuWire,
    UserWire,
    WireError,
    device_configuration_problems,
    select,
)
from auditor.snapshot.models import MethodsPolicyState, Section, SsprPolicyState
from auditor.snapshot.tenant import (
    ActivityDay,
    CloudUsersState,
    IntuneAssignment,
    IntuneSetting,
    IntuneSignInResetState,
    PasswordRulesState,
    RegistrationRow,
    RegistrationState,
    ScopeGroup,
    ScopeGroupsState,
    ScorePoint,
    SecureScoreState,
    SettingsEvent,
    SkuRow,
    SsprActivityState,
    SubscribedSkusState,
    UserRow,
    WritebackEvent,
    WritebackFailure,
)

log = logging.getLogger(__name__)

USERS_PAGE = 999  # the most /users and group member lists return per page
AUDITS_PAGE = 999
SIGN_IN_RESET_OMA_URI = "./Vendor/MSFT/Policy/Config/Authentication/AllowAadPasswordReset"
ACTIVE_PLAN_STATES = frozenset({"enabled", "warning"})  # Warning: in the grace period, still works

# SSPR audit activities (howto-sspr-reporting). Unlisted ones count as "other".
RESET = "reset password (self-service)"
BLOCKED = "blocked from self-service password reset"


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


async def _raw_pages(builder: Any, **params: Any) -> AsyncIterator[list[dict[str, Any]]]:
    """Every page of a collection as JSON objects, through the SDK's adapter (auth, retry, OData errors).

    The next page is asked for as soon as this one has arrived: its `@odata.nextLink` is read from the bytes
    before they are parsed (and checked against the parsed page after), and the page is handed over in
    slices with the event loop run between them, so parsing and turning a page into rows overlap the round
    trip of the next. A collection of P pages costs about P round trips, not P round trips plus P times the
    work on a page.
    """
    import orjson

    seen: set[str] = set()
    pending: asyncio.Future[bytes | None] | None = asyncio.ensure_future(
        get_bytes(builder, _query(builder, **params) if params else None))
    try:
        while pending is not None:
            body = await pending
            pending = None
            early = _peek_next_link(body)
            if early:
                _check_next_link(early, seen)
                pending = asyncio.ensure_future(get_bytes(builder, url=early))
                await asyncio.sleep(0)  # let the request start before this page is worked on
            page = orjson.loads(body) if body else None
            del body
            if not isinstance(page, dict) or not isinstance(page.get("value"), list):
                raise ValueError("the response is not an OData collection (it has no `value` list)")
            link = page.get("@odata.nextLink")
            if link != early:  # the bytes said otherwise than the JSON (never seen): follow the JSON
                if pending is not None:
                    pending.cancel()
                    seen.discard(str(early))
                    pending = None
                if link:
                    _check_next_link(link, seen)
                    pending = asyncio.ensure_future(get_bytes(builder, url=link))
            items: list[dict[str, Any]] = page.pop("value")
            del page
            progress.advance("Graph", _collection(builder), 1, "pages")
            progress.advance("Graph", _collection(builder), len(items), "rows")
            for start in range(0, len(items), _SLICE):
                yield items[start:start + _SLICE]
                await asyncio.sleep(0)  # the next page's request moves on between slices
    finally:
        if pending is not None and not pending.done():
            pending.cancel()


_SLICE = 200


def _collection(builder: Any) -> str:
    """`users`, `reports/authenticationMethods/userRegistrationDetails`: the builder's path, for the display."""
    template = str(getattr(builder, "url_template", "") or "")
    path = template.removeprefix("{+baseurl}/").split("{", 1)[0].strip("/")
    return path.rsplit("/", 1)[-1] if path else type(builder).__name__.removesuffix("RequestBuilder")
_NEXT_LINK = re.compile(rb'"@odata\.nextLink"\s*:\s*("(?:[^"\\]|\\.)*")')


def _peek_next_link(body: bytes | None) -> str | None:
    """The `@odata.nextLink` of a page, read without parsing the page (Graph writes it before `value`)."""
    import orjson

    if not body:
        return None
    found = _NEXT_LINK.search(body, 0, 4096) or _NEXT_LINK.search(body)
    if found is None:
        return None
    try:
        link = orjson.loads(found.group(1))
    except orjson.JSONDecodeError:
        return None
    return link if isinstance(link, str) else None


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
        # every field of the row is validated (graph_wire.UserWire): one missing or mistyped makes the section
        # unreadable with the field named, never a default (issue #30: a missing accountEnabled read as false)
        plan_sets: dict[tuple[str, ...], int] = {}
        containers: dict[str, int] = {}
        seen: dict[tuple[Any, ...], int] = {}  # assignedPlans as sent -> its plan set: most users share a few
        rows: list[UserRow] = []
        wire = Rows(UserWire, "users")
        counting = asyncio.ensure_future(_count_users(client)) if progress.wants_totals() else None
        try:
            async for page in _raw_pages(client.users, select=select(UserWire), top=USERS_PAGE):
                users = wire.page(page)
                _user_rows(users, rows, plan_sets, seen)
                _count_containers(users, containers)
        finally:
            if counting is not None and not counting.done():
                counting.cancel()
        wire.check()
        # built from typed rows just made: validating them again would rebuild every row (0.3 s per 100,000)
        return CloudUsersState.model_construct(users=rows, plan_sets=[list(plans) for plans in plan_sets],
                                               synced_containers=containers)

    return await _read(source, fetch)


async def _count_users(client: Any) -> None:
    """The number of users, for the live display only (`GET /users/$count` with `ConsistencyLevel: eventual`,
    as Microsoft Learn's "List users" example "Get only a count of users" asks). The listing itself stays a
    plain, strongly consistent query: a count from the eventually consistent index never decides anything."""
    from kiota_abstractions.base_request_configuration import RequestConfiguration

    config: Any = RequestConfiguration()
    config.headers.add("ConsistencyLevel", "eventual")
    try:
        count = await client.users.count.get(request_configuration=config)
    except Exception as exc:  # a display nicety: any failure just leaves the total out
        log.debug("no user count for the display: %s", type(exc).__name__)
        return
    if isinstance(count, int) and count >= 0:
        progress.total("Graph", "users", count, "rows")


def _user_rows(page: list[UserWire], rows: list[UserRow], plan_sets: dict[tuple[str, ...], int],
               seen: dict[tuple[Any, ...], int]) -> None:
    for user in page:
        assigned = user["assignedPlans"]
        raw = tuple((p["servicePlanId"], p["capabilityStatus"]) for p in assigned)
        index = seen.get(raw)
        if index is None:
            plans = tuple(sorted({plan.lower() for plan, status in raw
                                  if plan and status.lower() in ACTIVE_PLAN_STATES}))
            index = plan_sets.setdefault(plans, len(plan_sets)) if plans else -1
            seen[raw] = index
        # every field typed here: the rows are not validated again (model_construct in read_cloud_users)
        rows.append(UserRow(user["id"], user.get("userPrincipalName") or "", user.get("displayName") or "",
                            user["accountEnabled"], user["userType"].lower() == "guest",
                            user["onPremisesSyncEnabled"] is True, index))


def _count_containers(page: list[UserWire], containers: dict[str, int]) -> None:
    """The parent container of each synced user's on-premises DN (as sent: DNs are compared later by key)."""
    for user in page:
        dn = user["onPremisesDistinguishedName"]
        if user["onPremisesSyncEnabled"] and isinstance(dn, str) and "," in dn:
            where = parent(dn)
            containers[where] = containers.get(where, 0) + 1


async def read_subscribed_skus(client: Any) -> Section[SubscribedSkusState]:
    source = "graph:GET /subscribedSkus"

    async def fetch() -> SubscribedSkusState:
        # every count validated (graph_wire.SubscribedSkuWire): a missing consumedUnits was read as 0 seats used
        rows = []
        wire = Rows(SubscribedSkuWire, "subscriptions")
        async for page in _raw_pages(client.subscribed_skus, select=select(SubscribedSkuWire)):
            for sku in wire.page(page):
                rows.append(SkuRow(sku["skuId"], sku.get("skuPartNumber") or "", sku["capabilityStatus"],
                                   sku["prepaidUnits"]["enabled"], sku["consumedUnits"],
                                   [p["servicePlanId"].lower() for p in sku["servicePlans"] if p["servicePlanId"]]))
        wire.check()
        return SubscribedSkusState(skus=rows)

    return await _read(source, fetch)


# --- registration ----------------------------------------------------------------------------


async def read_registration_details(client: Any) -> Section[RegistrationState]:
    source = "graph:GET /reports/authenticationMethods/userRegistrationDetails"

    async def fetch() -> RegistrationState:
        rows = []
        shared: dict[tuple[str, ...], tuple[str, ...]] = {}  # most users register the same few sets of methods
        wire = Rows(RegistrationWire, "registration rows")
        # the page size of this report is Graph's to choose (undocumented): follow nextLink
        builder = client.reports.authentication_methods.user_registration_details
        async for page in _raw_pages(builder, select=select(RegistrationWire)):
            for record in wire.page(page):
                methods = tuple(record["methodsRegistered"])
                rows.append(RegistrationRow(record["id"], record.get("userPrincipalName") or "",
                                            record["isSsprEnabled"], record["isSsprRegistered"],
                                            record["isSsprCapable"], record["isAdmin"],
                                            record["userType"].lower() == "guest",
                                            shared.setdefault(methods, methods), record.get("isMfaCapable")))
        wire.check()
        return RegistrationState.model_construct(records=rows)  # typed rows just made (as for the users)

    return await _read(source, fetch)


# --- the scope group -------------------------------------------------------------------------


async def read_scope_groups(client: Any, live_policy: Awaitable[Section[SsprPolicyState] | None],
                            hint: GroupHint | None,
                            methods_policy: Awaitable[Section[MethodsPolicyState] | None] | None = None,
                            ) -> Section[ScopeGroupsState]:
    """The live SSPR scope group (from the portal policy, once read), the policy's group, and the groups the
    enabled SSPR method configurations include or exclude, each with its transitive user members."""
    source = "graph:GET /groups/{id}/transitiveMembers"

    async def fetch() -> ScopeGroupsState:
        reads: dict[str, asyncio.Future[ScopeGroup]] = {}  # key -> the group's read, started once
        why: dict[str, set[str]] = {}

        def want(query: str, by_id: bool, reason: str) -> str:
            key = query.lower()
            if key not in reads:
                reads[key] = asyncio.ensure_future(_scope_group(client, query, [], by_id))
            why.setdefault(key, set()).add(reason)
            return key

        # The policy's group needs nothing from the portal: its pages start at once, and when it is also
        # the live group (the usual case) the portal's answer adds no round trip to the chain.
        policy_key = want(hint.id or hint.name or "", bool(hint.id), "policy") if hint and (hint.id or hint.name) \
            else None
        try:
            live = await live_policy
            order = []
            if live is not None and live.value is not None and live.value.enablement == "selected":
                order = [want(group_id, True, "live") for group_id in live.value.group_ids]
            if methods_policy is not None:
                methods = await methods_policy
                if methods is not None and methods.value is not None:
                    order += [want(group_id, True, "methods") for group_id in target_group_ids(methods.value)]
                    order += [want(group_id, True, "methods") for group_id in tap_group_ids(methods.value)]
            groups = []
            for key in dict.fromkeys([*order, *([policy_key] if policy_key else [])]):
                group = await reads[key]
                groups.append(group.model_copy(update={"why": sorted(why[key])}))
        finally:
            unfinished = [task for task in reads.values() if not task.done()]
            for task in unfinished:
                task.cancel()
            await asyncio.gather(*unfinished, return_exceptions=True)
        return ScopeGroupsState(groups=groups)

    return await _read(source, fetch)


async def _scope_group(client: Any, query: str, why: list[str], by_id: bool) -> ScopeGroup:
    from kiota_abstractions.api_error import APIError

    from auditor.readers.graph import describe_error

    # By id, the group's own GET and its member pages go out together: the chain is the member pages only.
    members = asyncio.ensure_future(_member_ids(client, query)) if by_id else None
    try:
        try:
            if by_id:
                builder = client.groups.by_group_id(query)
                group = _group_json(await get_json(builder, _query(builder, select=["id", "displayName"])))
            else:
                found = [g async for page in _raw_pages(client.groups, filter=display_name_filter(query),
                                                        select=["id", "displayName"]) for g in page]
                if len(found) > 1:
                    return ScopeGroup(query=query, why=why, found=False,
                                      error=f"{len(found)} groups are named {query!r}: name the group by id")
                group = _group_json(found[0]) if found else None
        except APIError as exc:
            if getattr(exc, "response_status_code", None) == 404:
                return ScopeGroup(query=query, why=why, found=False)
            raise
        if group is None:
            return ScopeGroup(query=query, why=why, found=False)
        group_id, name = group
        try:
            user_ids, others = await (members if members is not None else _member_ids(client, group_id))
            members = None
        except (APIError, WireError) as exc:  # this group's members are unknown, not the other groups'
            members = None
            return ScopeGroup(query=query, why=why, found=True, id=group_id, display_name=name,
                              error=describe_error(exc))
        return ScopeGroup(query=query, why=why, found=True, id=group_id, display_name=name,
                          user_ids=user_ids, other_members=others)
    finally:
        if members is not None:  # the group was not found, or its GET failed: its member pages are not wanted
            members.cancel()
            await asyncio.gather(members, return_exceptions=True)


def display_name_filter(name: str) -> str:
    """`displayName eq '<name>'` for a group named in a policy or the portal: the name trimmed as `text.name_key`
    trims it (Graph's `eq` compares the whole string, case-insensitively, so a trailing space would find nothing),
    and each single quote doubled, as OData's string literal requires ("single quotes within the string are
    represented as two consecutive single quotes", OData 4.01 URL Conventions 5.1.1.6.1,
    https://docs.oasis-open.org/odata/odata/v4.01/odata-v4.01-part2-url-conventions.html; Graph's own page,
    https://learn.microsoft.com/graph/query-parameters#escaping-single-quotes). Graph ignores the case of a
    displayName in `eq` (https://learn.microsoft.com/graph/filter-query-parameter)."""
    literal = name.strip().replace("'", "''")
    return f"displayName eq '{literal}'"


def _group_json(group: Any) -> tuple[str, str | None] | None:
    if not isinstance(group, dict) or not group.get("id"):
        raise ValueError("the group is not a JSON object with an id")
    name = group.get("displayName")
    return str(group["id"]), name if isinstance(name, str) else None


async def _member_ids(client: Any, group_id: str) -> tuple[list[str], int]:
    """Ids of the group's transitive members that are users, and how many others it holds."""
    user_ids: list[str] = []
    others = 0
    members = client.groups.by_group_id(group_id).transitive_members
    wire = Rows(MemberWire, f"members of group {group_id}")
    async for page in _raw_pages(members, select=select(MemberWire), top=USERS_PAGE):
        for member in wire.page(page):
            if member["@odata.type"].lower() == "#microsoft.graph.user":
                user_ids.append(member["id"])
            else:
                others += 1
    wire.check()  # a member without its type is not "not a user": the group's members are unknown
    return user_ids, others


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
        async def read_scores() -> list[SecureScoreWire]:
            wire = Rows(SecureScoreWire, "Secure Scores")
            rows = [s async for page in _raw_pages(client.security.secure_scores, top=days) for s in wire.page(page)]
            wire.check()
            return rows

        async def read_profiles() -> list[SecureScoreProfileWire]:
            wire = Rows(SecureScoreProfileWire, "Secure Score control profiles")
            rows = [p async for page in _raw_pages(client.security.secure_score_control_profiles,
                                                   filter=f"id eq '{SSPR_CONTROL}'") for p in wire.page(page)]
            wire.check()
            return rows

        scores, profiles = await asyncio.gather(read_scores(), read_profiles())
        dated = sorted(((_parse_time(s.get("createdDateTime")), s) for s in scores),
                       key=lambda pair: pair[0] or datetime.min.replace(tzinfo=UTC), reverse=True)
        profile: SecureScoreProfileWire | dict[str, Any] = next(
            (p for p in profiles if str(p.get("id") or "").lower() == SSPR_CONTROL.lower()), {})
        history = []
        for created, score in reversed(dated[:days]):
            control = _control(score)
            if control is not None and created is not None:
                history.append(ScorePoint(created.date(), _number(control.get("score")),
                                          _number(control.get("scoreInPercentage")), _integer(control.get("count")),
                                          _integer(control.get("total"))))
        latest_at, latest = dated[0] if dated else (None, None)
        control = (_control(latest) if latest is not None else None) or {}
        deprecated = profile.get("deprecated")
        return SecureScoreState(
            found=bool(control),
            as_of=latest_at,
            tenant_score=_number(latest.get("currentScore")) if latest is not None else None,
            tenant_max_score=_number(latest.get("maxScore")) if latest is not None else None,
            score=_number(control.get("score")),
            percent=_number(control.get("scoreInPercentage")),
            count=_integer(control.get("count")),
            total=_integer(control.get("total")),
            implementation_status=control.get("implementationStatus"),
            max_score=_number(profile.get("maxScore")),
            title=profile.get("title"),
            deprecated=deprecated if isinstance(deprecated, bool) else None,
            history=history,
        )

    return await _read(source, fetch)


def _control(score: dict[str, Any]) -> dict[str, Any] | None:
    return next((c for c in score.get("controlScores") or []
                 if isinstance(c, dict) and str(c.get("controlName") or "").lower() == SSPR_CONTROL.lower()), None)


# --- the SSPR audit log ------------------------------------------------------------------------


async def read_sspr_activity(client: Any, days: int, now: datetime | None = None) -> Section[SsprActivityState]:
    end = (now or datetime.now(UTC)).replace(microsecond=0)
    start = end - timedelta(days=days)
    since = start.strftime("%Y-%m-%dT%H:%M:%SZ")
    # the source names the window by its length (the moments are the state's window_start and window_end): a
    # finding on an unreadable log reads the same from one run to the next (fleet and `diff` compare reasons)
    source = (f"graph:GET /auditLogs/directoryAudits?$filter=loggedByService eq '{SSPR_SERVICE}' "
              f"and activityDateTime ge (now - {days} days)")

    async def fetch() -> SsprActivityState:
        fields = select(DirectoryAuditWire)
        query = f"loggedByService eq '{SSPR_SERVICE}' and activityDateTime ge {since}"
        counts: dict[date, list[int]] = {}
        writeback: list[WritebackEvent] = []
        settings: list[SettingsEvent] = []
        blocked_users: set[str] = set()
        failures: list[WritebackFailure] = []
        events = 0
        wire = Rows(DirectoryAuditWire, "audit events")
        async for page in _raw_pages(client.audit_logs.directory_audits, filter=query, select=fields,
                                     top=AUDITS_PAGE):
            for audit in wire.page(page):
                at = _parse_time(audit.get("activityDateTime"))
                if at is None or not start <= at <= end + timedelta(minutes=5):
                    continue  # outside the window asked for: a service that ignored the filter
                events += 1
                category = str(audit.get("category") or "")
                if category.lower() != "usermanagement":  # a settings change, not one user's reset or registration
                    settings.append(SettingsEvent(at, str(audit.get("activityDisplayName") or ""), category,
                                                  _initiator(audit)))
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
                reason = audit.get("resultReason")
                kind = writeback_failure(name, result, reason)
                if kind is not None:
                    failures.append(WritebackFailure(at, str(audit.get("activityDisplayName") or ""), kind,
                                                     _target_user(audit) or _initiator(audit)))
        wire.check()  # an event without its time, name, category or result is not "another event": unknown
        days_seen = [ActivityDay(day, *values) for day, values in sorted(counts.items())]
        writeback.sort(key=lambda e: e.at)
        settings.sort(key=lambda e: e.at)
        failures.sort(key=lambda e: e.at)
        return SsprActivityState(window_start=start, window_end=end, events=events, days=days_seen,
                                 writeback_events=writeback, settings_events=settings,
                                 blocked_users=len(blocked_users), writeback_failures=failures)

    return await _read(source, fetch)


def _initiator(audit: DirectoryAuditWire) -> str | None:
    initiated = audit.get("initiatedBy") or {}
    user, app = initiated.get("user") or {}, initiated.get("app") or {}
    return user.get("userPrincipalName") or app.get("displayName") or None


def _target_user(audit: DirectoryAuditWire) -> str | None:
    for target in audit.get("targetResources") or []:
        if str(target.get("type") or "").lower() == "user" and target.get("id"):
            return str(target["id"]).lower()
    return None


# --- password protection -----------------------------------------------------------------------


async def read_password_rules(client: Any) -> Section[PasswordRulesState]:
    source = "graph:GET /groupSettings"

    async def fetch() -> PasswordRulesState:
        wire = Rows(GroupSettingWire, "setting objects")
        settings: list[Any] = [s async for page in _raw_pages(client.group_settings) for s in wire.page(page)]
        wire.check()  # a row without templateId may be the Password Rule Settings: never "Microsoft's defaults"
        rules = next((s for s in settings if str(s.get("templateId") or "").lower() == PASSWORD_RULE_TEMPLATE), None)
        if rules is None:
            return PasswordRulesState()  # no object: the tenant runs on Microsoft's defaults
        values = {str(v.get("name") or "").lower(): v.get("value") for v in rules.get("values") or []
                  if isinstance(v, dict)}
        words = [w for w in str(values.get(BANNED_PASSWORD_LIST.lower()) or "").split("\t") if w.strip()]
        # each value as the writer stores it, read back the one way graph_fields defines
        read = {field: password_rule_value(field, values.get(name.lower()))
                for field, name in PASSWORD_RULE_FIELDS.items()}
        return PasswordRulesState.model_validate({"setting_id": str(rules.get("id")), "custom_list_size": len(words),
                                                  **read})

    return await _read(source, fetch)


# --- Intune: the reset link on the sign-in screen ---------------------------------------------


async def read_intune_sign_in_reset(client: Any) -> Section[IntuneSignInResetState]:
    source = "graph:GET /deviceManagement/deviceConfigurations"

    async def fetch() -> IntuneSignInResetState:
        read = 0
        found = []
        wire = Rows(DeviceConfigurationWire, "device configurations")
        async for page in _raw_pages(client.device_management.device_configurations):
            wire.problems.update(device_configuration_problems(page))
            for config in wire.page(page):
                read += 1
                for setting in config.get("omaSettings") or []:  # validated: each one an object
                    if str(setting.get("omaUri") or "").strip().lower() == SIGN_IN_RESET_OMA_URI.lower():
                        value = setting.get("value")
                        found.append(IntuneSetting(str(config.get("id")), config.get("displayName") or "",
                                                   None if value is None else str(value)))
        wire.check()
        # only the profiles that carry the setting: which devices each reaches (an unassigned one reaches none)
        found = [await _with_assignments(client, setting) for setting in found]
        return IntuneSignInResetState(configurations_read=read, settings=found)

    return await _read(source, fetch)


ASSIGNMENT_KINDS = {"#microsoft.graph.alldevicesassignmenttarget": "all_devices",
                    "#microsoft.graph.alllicensedusersassignmenttarget": "all_licensed_users",
                    "#microsoft.graph.groupassignmenttarget": "group",
                    "#microsoft.graph.exclusiongroupassignmenttarget": "exclusion_group"}


async def _with_assignments(client: Any, setting: IntuneSetting) -> IntuneSetting:
    """The profile's assignments (GET /deviceManagement/deviceConfigurations/{id}/assignments,
    https://learn.microsoft.com/graph/api/intune-deviceconfig-deviceconfigurationassignment-list, permission
    DeviceManagementConfiguration.Read.All); a failure is kept on the setting, never "assigned to all"."""
    builder = client.device_management.device_configurations.by_device_configuration_id(setting.id).assignments
    wire = Rows(DeviceConfigurationAssignmentWire, "assignments")
    try:
        rows = [row async for page in _raw_pages(builder) for row in wire.page(page)]
        wire.check()
    except Exception as exc:  # 403, 404, a wire problem: this profile's reach is unknown, the others stand
        return setting._replace(assignments_error=f"GET /deviceManagement/deviceConfigurations/{setting.id}/"
                                                  f"assignments: {describe_error(exc)}")
    targets = []
    for row in rows:
        target = row["target"]
        kind = str(target.get("@odata.type") or "")
        group = target.get("groupId")
        targets.append(IntuneAssignment(ASSIGNMENT_KINDS.get(kind.lower(), kind), group))
    return setting._replace(assignments=targets)

