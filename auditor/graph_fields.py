"""The Graph objects SSPR depends on, their paths and field names, written once: snapshot field ↔ Graph property.

Documented by Microsoft Graph v1.0: authorizationPolicy (`allowedToUseSSPR`,
https://learn.microsoft.com/graph/api/resources/authorizationpolicy), authenticationMethodsPolicy
(`policyMigrationState`, https://learn.microsoft.com/graph/api/resources/authenticationmethodspolicy) and its
authenticationMethodConfigurations (`state`, `includeTargets`, `excludeTargets`; the voice configuration's
`isOfficePhoneAllowed`, https://learn.microsoft.com/graph/api/resources/voiceauthenticationmethodconfiguration).
The reader (`auditor.readers.graph`), the writer (`auditor.remediation.writers.graph`), the checks' evidence and
the exporter take the names from here. The rows the readers validate (users, registration details, group
members, the authorization policy's fields read) are typed once, in `auditor.readers.graph_wire`: each
reader's `$select` is taken from its wire model, and tests/unit/test_graph_wire.py proves the names here are
fields of those models.
"""

from __future__ import annotations

AUTHORIZATION_PATH = "/policies/authorizationPolicy"
METHODS_PATH = "/policies/authenticationMethodsPolicy"
CONFIGURATION_PATH = METHODS_PATH + "/authenticationMethodConfigurations/{id}"

AUTHORIZATION_FIELDS = {"allowed_to_use_sspr": "allowedToUseSSPR"}
"""`AuthorizationPolicyState` field → authorizationPolicy property."""
METHODS_FIELDS = {"migration_state": "policyMigrationState"}
"""`MethodsPolicyState` field → authenticationMethodsPolicy property."""
CONFIGURATION_FIELDS = {"state": "state", "is_office_phone_allowed": "isOfficePhoneAllowed"}
"""`MethodConfiguration` field → authenticationMethodConfiguration property (the writable ones)."""
CONFIGURATIONS = "authenticationMethodConfigurations"
INCLUDE_TARGETS, EXCLUDE_TARGETS = "includeTargets", "excludeTargets"

# --- Password Rule Settings: password protection and smart lockout --------------------------------
# A tenant has at most one groupSetting per template (a second POST answers 400 "Another object with the same
# value for property templateId already exists", MicrosoftDocs/azure-docs#82180). No object means the tenant runs
# on the template's defaults. Create: `POST /groupSettings` {templateId, values} answers 201 with the object
# (https://learn.microsoft.com/graph/api/group-post-settings; older revisions of that page say the request "must
# provide settingValues for all the settings defined in the template", so the writer always sends every value).
# Update: `PATCH /groupSettings/{id}` {values} answers 204, and "you must include the entire collection set"
# (https://learn.microsoft.com/graph/api/groupsetting-update; a partial one answers 400 "The expected property ...
# defined in template ... was not provided", microsoftgraph/microsoft-graph-docs#1607). Delete:
# `DELETE /groupSettings/{id}` answers 204 (https://learn.microsoft.com/graph/api/groupsetting-delete).
GROUP_SETTINGS_PATH = "/groupSettings"
PASSWORD_RULE_TEMPLATE = "5cf42378-d67d-4f36-ba46-e8b86229381d"
PASSWORD_RULE_DISPLAY_NAME = "Password Rule Settings"
PASSWORD_RULE_FIELDS = {
    "banned_on_premises_enabled": "EnableBannedPasswordCheckOnPremises",
    "banned_on_premises_mode": "BannedPasswordCheckOnPremisesMode",
    "custom_list_enabled": "EnableBannedPasswordCheck",
    "lockout_threshold": "LockoutThreshold",
    "lockout_duration_seconds": "LockoutDurationInSeconds",
}
"""`PasswordRulesState` field → Password Rule Settings value name (the writable ones)."""
BANNED_PASSWORD_LIST = "BannedPasswordList"
"""The custom banned words, tab-separated: the policy never decides them, so no writer changes them."""
PASSWORD_RULE_DEFAULTS: tuple[tuple[str, str], ...] = (
    ("BannedPasswordCheckOnPremisesMode", "Audit"),
    ("EnableBannedPasswordCheckOnPremises", "true"),
    ("EnableBannedPasswordCheck", "true"),
    ("LockoutDurationInSeconds", "60"),
    ("LockoutThreshold", "10"),
    (BANNED_PASSWORD_LIST, ""),
)
"""Every value of the template, in its order, with its `defaultValue`, as `GET /groupSettingTemplates/{id}`
returns it (the settingTemplateValue resource, https://learn.microsoft.com/graph/api/resources/settingtemplatevalue;
the smart lockout defaults, 10 attempts and 60 seconds, are also in
https://learn.microsoft.com/entra/identity/authentication/howto-password-smart-lockout)."""
PASSWORD_RULE_BOOLEANS = frozenset({"banned_on_premises_enabled", "custom_list_enabled"})
PASSWORD_RULE_INTEGERS = frozenset({"lockout_threshold", "lockout_duration_seconds"})


def password_rule_wire(field: str, value: object) -> str:
    """A `PasswordRulesState` value as the string Graph stores: booleans "True"/"False", integers in decimal."""
    if field in PASSWORD_RULE_BOOLEANS:
        return "True" if value else "False"
    return str(value)


def password_rule_value(field: str, wire: object) -> object:
    """A stored string as `PasswordRulesState` holds it (read as `readers.graph_tenant.read_password_rules` reads
    it): booleans by "true" in any case, integers by their number, anything empty or unreadable as None."""
    if wire is None or wire == "":
        return None
    if field in PASSWORD_RULE_BOOLEANS:
        return str(wire).strip().lower() == "true"
    if field in PASSWORD_RULE_INTEGERS:
        try:
            return int(float(str(wire)))
        except (ValueError, OverflowError):
            return None
    return wire


def password_rule_values(settings: dict[str, object]) -> list[tuple[str, str]]:
    """Every template value of a new Password Rule Settings object, in the template's order: `settings`
    (`PasswordRulesState` field → value) as Graph stores them, the template's default for the others."""
    given = {PASSWORD_RULE_FIELDS[field]: password_rule_wire(field, value) for field, value in settings.items()}
    return [(name, given.get(name, default)) for name, default in PASSWORD_RULE_DEFAULTS]
