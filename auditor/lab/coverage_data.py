"""Lab data for "who is actually covered": users mirrored from the lab domain, SSPR history
(audit events and Secure Score), and the ground truth each generated user was made with.

Everything is deterministic: the same spec and seed give the same tenant. History is dated
relative to the scenario's ``as_of`` moment; the emulator serves it shifted so that ``as_of``
is "now" (see :mod:`auditor.lab.emulator`), so a window ending now always holds it.

Ground truth is recorded while generating (the generator's intent: who it put in scope, left
unregistered, left unlicensed), not recomputed from the wire data, so a test comparing the
auditor's counts with it checks the readers and the checks against an independent source.
Hand-written users in a scenario file have no generator intent; their truth is read from
their wire JSON (:func:`wire_truth`).
"""

from __future__ import annotations

import base64
import random
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal, NamedTuple

from pydantic import BaseModel, ConfigDict, Field

from auditor.graph_fields import AAD_PREMIUM_PLAN, PREMIUM_PLANS, SSPR_CONTROL, SSPR_SERVICE

JsonObject = dict[str, Any]

_ID_NAMESPACE = uuid.UUID("b3f1f0b4-5d0c-4c51-9a55-70c0a1f1e2d3")

# Audit activity names of the SSPR service (howto-sspr-reporting; graph.md).
ACTIVITY_NAMES: dict[str, str] = {
    "reset": "Reset password (self-service)",
    "unlock": "Unlock user account (self-service)",
    "blocked": "Blocked from self-service password reset",
    "registration": "User registered for self-service password reset",
    "progress": "Self-service password reset flow activity progress",
    "writeback_enabled": "Enable password writeback for directory",
    "writeback_disabled": "Disable password writeback for directory",
}


class TruthRow(NamedTuple):
    """What the generator meant one user to be."""

    id: str
    upn: str
    enabled: bool
    guest: bool
    in_scope: bool
    registered: bool | None
    """None when the user has no registration record."""
    licensed: bool


# --- users mirrored from the lab domain -------------------------------------------------------


class LabDomainUsers(BaseModel):
    """Cloud users synced from the lab Samba domain (:mod:`auditor.lab_domain.domain_seed`): the same
    names, sAMAccountNames, OUs and enabled state, as Entra Connect would sync them."""

    model_config = ConfigDict(extra="forbid")

    scenario: Literal["demo", "baseline"]
    """The lab domain scenario; `demo` adds the users it plants (Nora Quinn, Adam Admin, Tess Temp)."""
    domain: str = "corp.example.test"
    scope_group_ous: list[str] = Field(default_factory=lambda: ["OU=Staff", "OU=Sales"])
    """Users under these OUs (relative to the domain) join the SSPR scope group when the scope is a group."""
    unregistered: list[str] = Field(default_factory=list, description="sAMAccountNames with no SSPR methods")
    unlicensed: list[str] = Field(default_factory=list, description="sAMAccountNames without Entra ID P1")
    admins: list[str] = Field(default_factory=list, description="sAMAccountNames that hold an admin role")


# The users domain_seed plants in the demo domain on top of lab_users() (its _plant_user_drift).
_DEMO_DOMAIN_EXTRAS = (("Nora Quinn", "OU=Staff", "+1 4255550190"), ("Adam Admin", "OU=Staff", "+1 4255550191"),
                       ("Tess Temp", "OU=Staff", "+1 4255550192"))


@dataclass(frozen=True)
class _DomainUser:
    cn: str
    ou: str
    sam: str
    mobile: str | None
    enabled: bool


def _domain_users(scenario: str) -> list[_DomainUser]:
    from auditor.lab_domain.domain_seed import LabUser, lab_users

    users = list(lab_users())
    if scenario == "demo":
        users += [LabUser(cn, ou, mobile) for cn, ou, mobile in _DEMO_DOMAIN_EXTRAS]
    return [_DomainUser(u.cn, u.ou, u.sam, u.mobile if u.mobile and u.mobile.startswith("+") else None, u.enabled)
            for u in users]


@dataclass
class Population:
    users: list[JsonObject] = field(default_factory=list)
    registrations: list[JsonObject] = field(default_factory=list)
    group_members: dict[str, list[str]] = field(default_factory=dict)
    truth: list[TruthRow] = field(default_factory=list)


def mirror_population(spec: LabDomainUsers, tenant_id: str, sspr: JsonObject, epoch: datetime,
                      make_registration: Any) -> Population:
    """Cloud users for the lab domain's users, with licences, registration and scope group membership."""
    from auditor.lab.shapes import REGISTERED_PROFILES, iso

    scope = sspr.get("enablementType")
    group_ids = sspr.get("passwordResetEnabledGroupIds") or []
    group_id = str(group_ids[0]) if scope == 1 and group_ids else None
    gates = int(sspr.get("numberOfAuthenticationMethodsRequired", 1))
    dc = ",".join(f"DC={part}" for part in spec.domain.split("."))
    unregistered, unlicensed, admins = set(spec.unregistered), set(spec.unlicensed), set(spec.admins)
    population = Population()
    members: list[str] = []
    for index, account in enumerate(_domain_users(spec.scenario)):
        rng = random.Random(f"{tenant_id}/{account.sam}")
        user_id = str(uuid.uuid5(_ID_NAMESPACE, f"{tenant_id}/lab-domain/{account.sam}"))
        given, _, family = account.cn.partition(" ")
        upn = f"{account.sam}@{spec.domain}"
        created = epoch - timedelta(days=700 + index * 3, minutes=index)
        licensed = account.sam not in unlicensed
        user: JsonObject = {
            "id": user_id, "businessPhones": [], "displayName": account.cn, "givenName": given,
            "surname": family or None, "jobTitle": "Helpdesk Administrator" if account.sam in admins else None,
            "mail": upn, "mobilePhone": account.mobile, "officeLocation": None, "preferredLanguage": "en-US",
            "userPrincipalName": upn, "accountEnabled": account.enabled, "userType": "Member",
            "usageLocation": "US", "createdDateTime": iso(created),
            "assignedLicenses": [], "assignedPlans": [],
            "onPremisesSyncEnabled": True,
            "onPremisesDistinguishedName": f"CN={account.cn},{account.ou},{dc}",
            "onPremisesDomainName": spec.domain,
            "onPremisesSamAccountName": account.sam,
            "onPremisesUserPrincipalName": upn,
            "onPremisesImmutableId": base64.b64encode(uuid.UUID(user_id).bytes_le).decode("ascii"),
            "onPremisesSecurityIdentifier": f"S-1-5-21-3623811015-3361044348-30300820-{2100 + index}",
            "onPremisesLastSyncDateTime": iso(epoch - timedelta(minutes=11 + index % 20)),
        }
        if licensed:
            user.update(_licence(created))
        population.users.append(user)
        in_group = any(account.ou.lower().endswith(ou.lower()) for ou in spec.scope_group_ous)
        if group_id and in_group:
            members.append(user_id)
        in_scope = account.enabled and (scope == 2 or (group_id is not None and in_group))
        registered: bool | None = None
        if account.enabled:
            methods = [] if account.sam in unregistered else list(rng.choice(REGISTERED_PROFILES))
            record = make_registration(user, guest=False, admin=account.sam in admins,
                                       enabled=in_scope, methods=methods, gates=gates, hours=index % 72)
            population.registrations.append(record)
            registered = bool(record["isSsprRegistered"])
        population.truth.append(TruthRow(user_id, upn, account.enabled, False, in_scope, registered, licensed))
    if group_id:
        population.group_members[group_id] = members
    return population


def _licence(created: datetime) -> JsonObject:
    from auditor.lab.shapes import SPE_E3_SKU, iso

    return {
        "assignedLicenses": [{"disabledPlans": [], "skuId": SPE_E3_SKU}],
        "assignedPlans": [{"assignedDateTime": iso(created + timedelta(hours=1)), "capabilityStatus": "Enabled",
                           "service": "AADPremiumService", "servicePlanId": AAD_PREMIUM_PLAN}],
    }


def wire_truth(users: Iterable[JsonObject], registrations: Iterable[JsonObject], sspr: JsonObject,
               group_members: dict[str, list[str]]) -> list[TruthRow]:
    """Truth of hand-written users, read from their wire JSON (they have no generator intent)."""
    scope = sspr.get("enablementType")
    group_ids = [str(g).lower() for g in sspr.get("passwordResetEnabledGroupIds") or []] if scope == 1 else []
    members = {m.lower() for g, ids in group_members.items() if g.lower() in group_ids for m in ids}
    records = {str(r["id"]).lower(): r for r in registrations}
    out = []
    for user in users:
        uid = str(user["id"])
        enabled, guest = bool(user.get("accountEnabled", True)), user.get("userType") == "Guest"
        in_scope = enabled and not guest and (scope == 2 or uid.lower() in members)
        record = records.get(uid.lower())
        licensed = any(str(p.get("servicePlanId", "")).lower() in PREMIUM_PLANS
                       and p.get("capabilityStatus") in ("Enabled", "Warning") for p in user.get("assignedPlans") or [])
        out.append(TruthRow(uid, str(user["userPrincipalName"]), enabled, guest, in_scope,
                            None if record is None else bool(record.get("isSsprRegistered")), licensed))
    return out


# --- history: SSPR audit events and Secure Score --------------------------------------------------


class WritebackToggle(BaseModel):
    model_config = ConfigDict(extra="forbid")

    days_ago: float = Field(gt=0, le=90)
    enabled: bool


class FailedWriteback(BaseModel):
    """One self-service reset (or reset-flow step) that failed on the on-premises write, with a reason Microsoft
    documents for it (graph_fields.WRITEBACK_FAILURE_REASONS has the sources)."""

    model_config = ConfigDict(extra="forbid")

    days_ago: float = Field(gt=0, le=90)
    activity: Literal["reset", "progress"] = "reset"
    reason: str = Field(min_length=1)


class GenerateHistory(BaseModel):
    """Knobs for the deterministic SSPR history: audit events per day and Secure Score per day."""

    model_config = ConfigDict(extra="forbid")

    days: int = Field(30, ge=1, le=90)
    seed: int = 1
    resets_per_day: float = Field(3.0, ge=0)
    failed_reset_share: float = Field(0.1, ge=0, le=1)
    unlocks_per_day: float = Field(1.0, ge=0)
    blocked_per_day: float = Field(0.5, ge=0)
    registrations_per_day: float = Field(1.0, ge=0)
    progress_per_day: float = Field(2.0, ge=0)
    """'Flow activity progress' events: counted as other activity."""
    writeback_toggles: list[WritebackToggle] = Field(default_factory=list)
    failed_writebacks: list[FailedWriteback] = Field(default_factory=list)
    secure_score_start_percent: float | None = Field(None, ge=0, le=100)
    """The SSPR control's percent at the start of the history (default: the same as today)."""
    control_max_score: float = Field(1.0, gt=0)
    tenant_max_score: float = Field(250.0, gt=0)
    tenant_percent: float = Field(55.0, ge=0, le=100)
    admin_upn: str = "admin@contoso-lab.onmicrosoft.com"


class HistoryEvent(NamedTuple):
    kind: str
    seconds_ago: int
    reason: str | None = None
    """A failed writeback's resultReason (the event fails with it)."""


@dataclass
class History:
    audits: list[JsonObject] = field(default_factory=list)
    secure_scores: list[JsonObject] = field(default_factory=list)
    profiles: list[JsonObject] = field(default_factory=list)
    events: list[HistoryEvent] = field(default_factory=list)
    control: dict[str, float | int] = field(default_factory=dict)


def _poisson(rng: random.Random, mean: float) -> int:
    """A small Poisson draw (Knuth), deterministic for a seeded rng."""
    if mean <= 0:
        return 0
    if mean > 30:  # exp(-mean) underflows for large means: the normal approximation is close there
        return max(0, round(rng.gauss(mean, mean ** 0.5)))
    limit, count, product = pow(2.718281828459045, -mean), 0, rng.random()
    while product > limit:
        count += 1
        product *= rng.random()
    return count


def generate_history(spec: GenerateHistory, tenant_id: str, as_of: datetime, truth: list[TruthRow]) -> History:
    """Audit events of the SSPR service and Secure Score history, newest first, dated before `as_of`."""
    rng = random.Random(spec.seed)
    history = History()
    actors = [row for row in truth if row.in_scope] or [row for row in truth if row.enabled] or list(truth)
    per_day = (("reset", spec.resets_per_day), ("unlock", spec.unlocks_per_day), ("blocked", spec.blocked_per_day),
               ("registration", spec.registrations_per_day), ("progress", spec.progress_per_day))
    for day in range(spec.days):
        for kind, mean in per_day:
            for _ in range(_poisson(rng, mean)):
                # strictly inside the day: never on a whole-day boundary, so window edges are unambiguous
                seconds = day * 86_400 + rng.randint(120, 86_400 - 120)
                history.events.append(HistoryEvent(kind, seconds))
    for toggle in spec.writeback_toggles:
        seconds = int(toggle.days_ago * 86_400)
        if seconds % 86_400 < 120 or seconds % 86_400 > 86_400 - 120:
            seconds += 600  # keep it off a day boundary, like the rest
        history.events.append(HistoryEvent("writeback_enabled" if toggle.enabled else "writeback_disabled", seconds))
    for failure in spec.failed_writebacks:
        seconds = int(failure.days_ago * 86_400)
        if seconds % 86_400 < 120 or seconds % 86_400 > 86_400 - 120:
            seconds += 600
        history.events.append(HistoryEvent(failure.activity, seconds, failure.reason))
    history.events.sort(key=lambda e: e.seconds_ago)
    for number, event in enumerate(history.events):
        if event.reason is not None:  # no draw from rng: the rest of the history stays as it was without them
            actor = actors[number % len(actors)] if actors else None
            history.audits.append(_audit(event, number, tenant_id, as_of, actor, True, spec.admin_upn))
            continue
        actor = actors[rng.randrange(len(actors))] if actors else None
        failed = event.kind == "reset" and rng.random() < spec.failed_reset_share
        history.audits.append(_audit(event, number, tenant_id, as_of, actor, failed, spec.admin_upn))
    history.control = _control_today(truth, spec.control_max_score)
    history.secure_scores = _secure_scores(spec, tenant_id, as_of, history.control)
    history.profiles = [_control_profile(tenant_id, spec.control_max_score)]
    return history


def _audit(event: HistoryEvent, number: int, tenant_id: str, as_of: datetime, actor: TruthRow | None,
           failed: bool, admin_upn: str) -> JsonObject:
    from auditor.lab.shapes import iso

    at = as_of - timedelta(seconds=event.seconds_ago)
    correlation = str(uuid.uuid5(_ID_NAMESPACE, f"{tenant_id}/audit/{number}"))
    admin_event = event.kind.startswith("writeback")
    user = {"id": None if admin_event else (actor.id if actor else None),
            "displayName": None, "userPrincipalName": admin_upn if admin_event else (actor.upn if actor else None),
            "ipAddress": f"203.0.113.{number % 250 + 1}"}
    target: JsonObject = {"id": actor.id if actor and not admin_event else tenant_id, "displayName": None,
              "type": "Directory" if admin_event else "User",
              "userPrincipalName": None if admin_event or actor is None else actor.upn, "groupType": None,
              "modifiedProperties": []}
    reason = event.reason or {
        "blocked": "User exceeded the number of reset attempts allowed in the last 24 hours",
        "reset": "User failed verification" if failed else "Successfully completed reset."}.get(event.kind, "")
    return {
        "id": f"SSPR_{correlation}_{number}",
        "category": "UserManagement" if not admin_event else "DirectoryManagement",
        "correlationId": correlation,
        "result": "failure" if failed or event.kind == "blocked" else "success",
        "resultReason": reason,
        "activityDisplayName": ACTIVITY_NAMES[event.kind],
        "activityDateTime": iso(at),
        "loggedByService": SSPR_SERVICE,
        "operationType": "Update",
        "initiatedBy": {"app": None, "user": user},
        "targetResources": [target],
        "additionalDetails": [],
    }


def _control_today(truth: list[TruthRow], max_score: float) -> dict[str, float | int]:
    members = [row for row in truth if row.enabled and not row.guest]
    total = len(members)
    count = sum(1 for row in members if not row.in_scope)
    share = (total - count) / total if total else 1.0
    return {"count": count, "total": total, "score": round(max_score * share, 2), "percent": round(100 * share, 2)}


def _secure_scores(spec: GenerateHistory, tenant_id: str, as_of: datetime,
                   today: dict[str, float | int]) -> list[JsonObject]:
    from auditor.lab.shapes import iso

    start = today["percent"] if spec.secure_score_start_percent is None else spec.secure_score_start_percent
    total = int(today["total"])
    out = []
    for day in range(spec.days):  # newest first, as Graph lists them
        progress = 1.0 if spec.days == 1 else (spec.days - 1 - day) / (spec.days - 1)
        percent = round(float(start) + (float(today["percent"]) - float(start)) * progress, 2)
        if day == 0:
            count, score, percent = int(today["count"]), float(today["score"]), float(today["percent"])
        else:
            count = round(total * (100 - percent) / 100)
            score = round(spec.control_max_score * percent / 100, 2)
        created = (as_of - timedelta(days=day)).replace(hour=3, minute=17, second=0, microsecond=0)
        if created > as_of:
            created -= timedelta(days=1)
        tenant_score = round(spec.tenant_max_score * spec.tenant_percent / 100 - 0.2 * day, 2)
        out.append({
            "id": f"{tenant_id}_{created.date().isoformat()}",
            "azureTenantId": tenant_id,
            "activeUserCount": total,
            "createdDateTime": iso(created),
            "currentScore": tenant_score,
            "enabledServices": ["HasExchange", "HasSharePoint"],
            "licensedUserCount": total,
            "maxScore": spec.tenant_max_score,
            "averageComparativeScores": [{"basis": "AllTenants", "averageScore": 41.2},
                                         {"basis": "TotalSeats", "averageScore": 44.7}],
            "controlScores": [
                _control_score(SSPR_CONTROL, "Identity", "Self-service password reset lets users reset their "
                               "own passwords without contacting IT.", score, percent, count, total, created),
                _control_score("MFARegistrationV2", "Identity", "Require users to register for MFA.",
                               7.0, 77.78, 2, 9, created),
            ],
            "vendorInformation": {"provider": "SecureScore", "providerVersion": None, "subProvider": None,
                                  "vendor": "Microsoft"},
        })
    return out


def _control_score(name: str, category: str, description: str, score: float, percent: float, count: int,
                   total: int, synced: datetime) -> JsonObject:
    from auditor.lab.shapes import iso

    status = (f"You have {count} of {total} users who don't have self-service password reset enabled."
              if name == SSPR_CONTROL else f"You have {count} of {total} users who aren't registered for MFA.")
    # controlScore is an open type: these extra properties are what Secure Score returns today.
    return {"controlCategory": category, "controlName": name, "description": description, "score": score,
            "scoreInPercentage": percent, "on": None, "lastSynced": iso(synced),
            "implementationStatus": status, "count": str(count), "total": str(total)}


def _control_profile(tenant_id: str, max_score: float) -> JsonObject:
    return {
        "id": SSPR_CONTROL,
        "azureTenantId": tenant_id,
        "actionType": "Config",
        "actionUrl": "https://entra.microsoft.com/#view/Microsoft_AAD_IAM/PasswordResetMenuBlade/~/Properties",
        "controlCategory": "Identity",
        "title": "Enable self-service password reset",
        "deprecated": False,
        "implementationCost": "Low",
        "lastModifiedDateTime": None,
        "maxScore": max_score,
        "rank": 21,
        "remediation": "Turn on self-service password reset for all users in the Entra admin center.",
        "remediationImpact": "Users can reset their own password after registering methods.",
        "service": "AzureAD",
        "threats": ["Account Breach"],
        "tier": "Core",
        "userImpact": "Moderate",
        "complianceInformation": [],
        "controlStateUpdates": [{"assignedTo": None, "comment": None, "state": "Default", "updatedBy": None,
                                 "updatedDateTime": "2024-06-01T00:00:00Z"}],
        "vendorInformation": {"provider": "SecureScore", "providerVersion": None, "subProvider": None,
                              "vendor": "Microsoft"},
    }


def activity_truth(events: Iterable[HistoryEvent], audits: Iterable[JsonObject], window_days: int) -> dict[str, int]:
    """Counts of the generated events inside the last `window_days` days (the generator's own record)."""
    limit = window_days * 86_400
    counts = dict.fromkeys(("resets", "resets_failed", "unlocks", "blocked", "registrations", "other",
                            "writeback_enabled", "writeback_disabled", "writeback_failures", "events"), 0)
    names = {"reset": "resets", "unlock": "unlocks", "blocked": "blocked", "registration": "registrations",
             "progress": "other", "writeback_enabled": "writeback_enabled",
             "writeback_disabled": "writeback_disabled"}
    blocked: set[str] = set()
    for event, audit in zip(events, audits, strict=True):
        if event.seconds_ago >= limit:
            continue
        counts["events"] += 1
        counts[names[event.kind]] += 1
        if event.kind == "reset" and audit["result"] == "failure":
            counts["resets_failed"] += 1
        counts["writeback_failures"] += event.reason is not None
        if event.kind == "blocked":
            blocked.add(str(audit["targetResources"][0]["id"]).lower())
    counts["blocked_users"] = len(blocked)
    return counts
