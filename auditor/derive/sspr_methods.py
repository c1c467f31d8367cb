"""Which policy decides the verification methods SSPR offers, per migration state, and whom each
method reaches (no I/O).

Microsoft (learn.microsoft.com/entra/identity/authentication/how-to-authentication-methods-manage):
since 30 September 2025 methods can no longer be managed in the legacy MFA and SSPR policies; the
authentication methods policy decides. Tenants that still report a pre-deadline state keep its
rule: before migration only the legacy SSPR settings decide which methods SSPR offers; while
migrating, a method is offered when the legacy SSPR settings *or* the methods policy enable it;
once migration is complete, only the methods policy decides. New tenants report
`policyMigrationState: null`: they have no legacy method settings, so the methods policy decides
(as at migrationComplete). Security questions live in the legacy (portal) policy in every state,
as do the number of methods required and the admin policy.

A method configuration reaches only its `includeTargets` (a group id, or `all_users`; an empty
list reaches nobody) minus its `excludeTargets` (learn.microsoft.com/graph/api/resources/
authenticationmethodtarget; exclusion wins). The check, the exporter and the planner all read
this one module.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from auditor.portal_fields import METHOD_ENABLED
from auditor.snapshot.models import MethodConfiguration, MethodsPolicyState, SsprPolicyState

# Which methods-policy configurations carry each SSPR method (reference/graph.md mapping).
METHOD_CONFIGS: dict[str, tuple[str, ...]] = {
    "mobile_app_notification": ("MicrosoftAuthenticator",),
    "mobile_app_code": ("MicrosoftAuthenticator", "SoftwareOath"),
    "email": ("Email",),
    "mobile_phone": ("Sms", "Voice"),
    "office_phone": ("Voice",),
    "security_questions": (),
}

# userRegistrationDetails.methodsRegistered value → the SSPR method (policy name) it lets a user reset with
# (https://learn.microsoft.com/graph/api/resources/userregistrationdetails lists the values; the methods SSPR
# takes are concept-sspr-howitworks's: app notification, app code, email, mobile phone, office phone, questions).
# An alternate mobile phone is a mobile phone for SSPR (phoneAuthenticationMethod: "the mobile phone is the default
# and the alternate mobile phone is the backup").
REGISTERED_METHOD: dict[str, str] = {
    "microsoftAuthenticatorPush": "mobile_app_notification",
    "softwareOneTimePasscode": "mobile_app_code",
    "email": "email",
    "mobilePhone": "mobile_phone",
    "alternateMobilePhone": "mobile_phone",
    "officePhone": "office_phone",
    "securityQuestion": "security_questions",
}

# The portal's PasswordResetPolicies toggle for each method, for evidence strings.
LEGACY_METHOD_FIELDS: dict[str, str] = METHOD_ENABLED
"""Method → the legacy (portal) policy's toggle for it (`auditor.portal_fields`)."""

MIGRATION_RULES: dict[str, str] = {
    "preMigration": "legacy SSPR settings only (a pre-deadline state this tenant still reports)",
    "migrationInProgress": "legacy SSPR settings or the methods policy (a pre-deadline state this tenant still "
                           "reports)",
    "migrationComplete": "methods policy only",
}
NULL_STATE_RULE = ("methods policy only (policyMigrationState is null: the tenant has no legacy method settings, "
                   "as for tenants created after the 30 September 2025 deadline)")
SECURITY_QUESTIONS_RULE = "legacy SSPR settings, in every migration state"
ALL_USERS = "all_users"


def legacy_offers(method: str, legacy: SsprPolicyState | None) -> bool:
    """Whether the legacy (portal) SSPR policy offers `method`: its toggle is on and the portal does not report
    the method as disallowed (`*OptionAllowed` false; see `auditor.portal_fields.METHOD_ALLOWED`)."""
    return legacy is not None and bool(getattr(legacy, method)) and method not in legacy.not_allowed


def legacy_disallowed(method: str, legacy: SsprPolicyState | None) -> bool:
    """The toggle is on but the portal reports the method as not allowed for this tenant."""
    return legacy is not None and bool(getattr(legacy, method)) and method in legacy.not_allowed


def known_state(state: str | None) -> bool:
    """A migration state this module has a rule for (null included)."""
    return state is None or state in MIGRATION_RULES


def effective_state(state: str | None) -> str:
    """The state whose rule applies: null behaves as migrationComplete."""
    return "migrationComplete" if state is None else state


def uses_legacy(method: str, state: str | None) -> bool:
    return effective_state(state) != "migrationComplete" or method == "security_questions"


def uses_methods_policy(method: str, state: str | None) -> bool:
    return effective_state(state) != "preMigration" and method != "security_questions"


def rule_for(method: str, state: str | None) -> str:
    if method == "security_questions":
        return SECURITY_QUESTIONS_RULE
    return NULL_STATE_RULE if state is None else MIGRATION_RULES[state]


def carries(method: str, config: MethodConfiguration | None) -> bool:
    """Whether `config` is enabled for `method` (office phone also needs Voice's isOfficePhoneAllowed)."""
    if config is None or config.state != "enabled":
        return False
    return not (method == "office_phone" and not config.is_office_phone_allowed)


def enabled_in_methods_policy(method: str, policy: MethodsPolicyState) -> bool:
    """Whether any configuration that carries `method` is enabled, whoever it targets."""
    return any(carries(method, policy.configuration(c)) for c in METHOD_CONFIGS[method])


def carrying_configurations(method: str, policy: MethodsPolicyState) -> list[MethodConfiguration]:
    return [c for c in (policy.configuration(i) for i in METHOD_CONFIGS[method]) if c is not None and
            carries(method, c)]


def reaches_everyone(config: MethodConfiguration, method: str | None = None) -> bool:
    """Targets all users and excludes no one (for `method`): no group needs resolving."""
    return ALL_USERS in _include_targets(config, method) and not config.exclude_target_ids


def _include_targets(config: MethodConfiguration, method: str | None) -> list[str]:
    """The include targets that carry `method`. A Microsoft Authenticator target whose authenticationMode is
    `deviceBasedPush` ("passwordless only"; the mode "Determines which types of notifications can be used for
    sign-in": learn.microsoft.com/graph/api/resources/microsoftauthenticatorauthenticationmethodtarget) is not
    counted for app notifications. That SSPR follows the mode is not stated by Microsoft: the reading that can only
    err towards a fail, never a wrong pass."""
    if method != "mobile_app_notification" or not config.passwordless_only_target_ids:
        return config.include_target_ids
    passwordless = {t.lower() for t in config.passwordless_only_target_ids}
    return [t for t in config.include_target_ids if t.lower() not in passwordless]


def target_group_ids(policy: MethodsPolicyState) -> list[str]:
    """The group ids the enabled SSPR method configurations include or exclude (to read their members)."""
    ids: dict[str, None] = {}
    for method in METHOD_CONFIGS:
        for config in carrying_configurations(method, policy):
            for target in (*config.include_target_ids, *config.exclude_target_ids):
                if target.lower() != ALL_USERS:
                    ids[target.lower()] = None
    return list(ids)


class TargetsUnread(Exception):
    """A target group's members are not known, so whom a configuration reaches cannot be told."""

    def __init__(self, group_id: str, why: str) -> None:
        super().__init__(f"the members of group {group_id} ({why})")
        self.group_id = group_id
        self.why = why


@dataclass(frozen=True)
class Reach:
    """Whom one SSPR method reaches among the in-scope users."""

    method: str
    users: frozenset[str]
    """Lower-case ids of the in-scope users the method reaches."""
    configurations: tuple[str, ...]
    """The enabled configurations that carry it (empty: none does)."""


def reach(method: str, policy: MethodsPolicyState, in_scope: frozenset[str],
          members: Mapping[str, frozenset[str] | str]) -> Reach:
    """The in-scope users `method` reaches through the methods policy.

    `members` maps a lower-case group id to its transitive user members, or to why they are unknown;
    a target missing from it raises TargetsUnread (never guessed).
    """
    reached: set[str] = set()
    configs = carrying_configurations(method, policy)
    for config in configs:
        reached |= _config_reach(config, in_scope, members, method)
    return Reach(method, frozenset(reached), tuple(c.id for c in configs))


def _config_reach(config: MethodConfiguration, in_scope: frozenset[str],
                  members: Mapping[str, frozenset[str] | str], method: str | None = None) -> frozenset[str]:
    def group(target: str) -> frozenset[str]:
        known = members.get(target.lower())
        if known is None:
            raise TargetsUnread(target, "not read in this snapshot")
        if isinstance(known, str):
            raise TargetsUnread(target, known)
        return known

    included: set[str] = set()
    for target in _include_targets(config, method):
        included |= in_scope if target.lower() == ALL_USERS else group(target) & in_scope
    for target in config.exclude_target_ids:
        if target.lower() == ALL_USERS:
            return frozenset()
        included -= group(target)
    return frozenset(included)


def group_members_map(groups: Iterable[object]) -> dict[str, frozenset[str] | str]:
    """{lower-case group id: user member ids, or why they are unknown} from ScopeGroup records."""
    out: dict[str, frozenset[str] | str] = {}
    for g in groups:
        gid = (getattr(g, "id", None) or getattr(g, "query", "")).lower()
        error = getattr(g, "error", None)
        if error is not None:
            out[gid] = f"could not be read: {error}"
        elif not getattr(g, "found", False):
            out[gid] = frozenset()  # a deleted target group reaches nobody
        else:
            out[gid] = frozenset(i.lower() for i in getattr(g, "user_ids", ()))
    return out
