"""Which policy decides the verification methods SSPR offers, per migration state (no I/O).

Microsoft (how-to-authentication-methods-manage): before migration only the legacy SSPR
settings decide which methods SSPR offers; while migrating, a method is offered when the legacy
SSPR settings *or* the authentication methods policy enable it; once migration is complete,
only the authentication methods policy decides. Security questions live in the legacy policy
in every state. The check, the exporter and the planner all read this one table.
"""

from __future__ import annotations

from auditor.snapshot.models import MethodsPolicyState

# Which methods-policy configurations carry each SSPR method (reference/graph.md mapping).
METHOD_CONFIGS: dict[str, tuple[str, ...]] = {
    "mobile_app_notification": ("MicrosoftAuthenticator",),
    "mobile_app_code": ("MicrosoftAuthenticator", "SoftwareOath"),
    "email": ("Email",),
    "mobile_phone": ("Sms", "Voice"),
    "office_phone": ("Voice",),
    "security_questions": (),
}

# The portal's PasswordResetPolicies toggle for each method, for evidence strings.
LEGACY_METHOD_FIELDS: dict[str, str] = {
    "mobile_app_notification": "mobileAppNotificationEnabled",
    "mobile_app_code": "mobileAppCodeEnabled",
    "email": "emailOptionEnabled",
    "mobile_phone": "mobilePhoneOptionEnabled",
    "office_phone": "officePhoneOptionEnabled",
    "security_questions": "securityQuestionsOptionEnabled",
}

MIGRATION_RULES: dict[str, str] = {
    "preMigration": "legacy SSPR settings only",
    "migrationInProgress": "legacy SSPR settings or the methods policy",
    "migrationComplete": "methods policy only",
}
SECURITY_QUESTIONS_RULE = "legacy SSPR settings, in every migration state"


def uses_legacy(method: str, state: str) -> bool:
    return state != "migrationComplete" or method == "security_questions"


def uses_methods_policy(method: str, state: str) -> bool:
    return state != "preMigration" and method != "security_questions"


def rule_for(method: str, state: str) -> str:
    return SECURITY_QUESTIONS_RULE if method == "security_questions" else MIGRATION_RULES[state]


def enabled_in_methods_policy(method: str, policy: MethodsPolicyState) -> bool:
    """Whether any configuration that carries `method` is enabled (office phone also needs Voice's flag)."""
    for config_id in METHOD_CONFIGS[method]:
        config = policy.configuration(config_id)
        if config is None or config.state != "enabled":
            continue
        if method == "office_phone" and not config.is_office_phone_allowed:
            continue
        return True
    return False
