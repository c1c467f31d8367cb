"""The portal's SSPR API field names, written once: snapshot field ↔ wire field.

The Azure portal's `PasswordResetPolicies` and `OnPremisesPasswordResetPolicies`
(main.iam.ad.ext.azure.com/api/PasswordReset/...) are undocumented; the names come from the tools that
read them (tests/fixtures/real/portal/FIELDS.md cites each: AzRanger's model, O365Essentials,
ALYADO-ADM-Public, monkey365, M365SAT). The reader (`auditor.readers.portal`), the writer
(`auditor.remediation.writers.portal`), the methods rule (`auditor.derive.sspr_methods`), the exporter and the
checks' evidence all take the names from here.
"""

from __future__ import annotations

ENABLEMENT_BY_CODE: dict[int, str] = {0: "none", 1: "selected", 2: "all"}
"""`enablementType`: 0 none, 1 a selected group, 2 all users (ALYADO-ADM-Public's PUT bodies, AzRanger)."""
ENABLEMENT_CODE: dict[str, int] = {name: code for code, name in ENABLEMENT_BY_CODE.items()}

METHOD_ENABLED: dict[str, str] = {
    "mobile_app_notification": "mobileAppNotificationEnabled",
    "mobile_app_code": "mobileAppCodeEnabled",
    "email": "emailOptionEnabled",
    "mobile_phone": "mobilePhoneOptionEnabled",
    "office_phone": "officePhoneOptionEnabled",
    "security_questions": "securityQuestionsOptionEnabled",
}
"""The admin's per-method toggles of the legacy SSPR policy."""

METHOD_ALLOWED: dict[str, str] = {
    "mobile_app_notification": "mobileAppNotificationOptionAllowed",
    "mobile_app_code": "mobileAppCodeOptionAllowed",
    "email": "emailOptionAllowed",
    "mobile_phone": "mobilePhoneOptionAllowed",
    "office_phone": "officePhoneOptionAllowed",
    "security_questions": "securityQuestionsOptionAllowed",
}
"""Whether the tenant may offer each method at all (AzRanger types them; O365Essentials' capture of a real
tenant shows every one true while the *Enabled toggles vary). A method counts as offered by the legacy
policy only when it is enabled and not disallowed."""

SSPR_FIELDS: dict[str, str] = {
    "enablement": "enablementType",
    "group_ids": "passwordResetEnabledGroupIds",
    "group_name": "passwordResetEnabledGroupName",
    "methods_required": "numberOfAuthenticationMethodsRequired",
    **METHOD_ENABLED,
    "questions_to_register": "numberOfQuestionsToRegister",
    "questions_to_reset": "numberOfQuestionsToReset",
    "registration_required_on_sign_in": "registrationRequiredOnSignIn",
    "reconfirm_days": "registrationReconfirmIntevalInDays",  # sic: the portal's key is misspelt
    "notify_users": "notifyUsersOnPasswordReset",
    "notify_admins": "notifyOnAdminPasswordReset",
    "customize_helpdesk": "customizeHelpdeskLink",
    "helpdesk_email_or_url": "customHelpdeskEmailOrUrl",
    "skip_registration_allowed": "skipRegistrationAllowed",
    "skip_registration_max_days": "skipRegistrationMaxAllowedDays",
}
"""Snapshot field of `SsprPolicyState` → `PasswordResetPolicies` field (read, and written back whole)."""

POLICY_KEYS: dict[str, str] = {
    "sspr.methods_required": "methods_required",
    "sspr.security_questions.number_to_register": "questions_to_register",
    "sspr.security_questions.number_to_reset": "questions_to_reset",
    "sspr.registration.require_on_sign_in": "registration_required_on_sign_in",
    "sspr.registration.reconfirm_days": "reconfirm_days",
    "sspr.notifications.notify_users": "notify_users",
    "sspr.notifications.notify_admins": "notify_admins",
    "sspr.helpdesk.customize": "customize_helpdesk",
    "sspr.helpdesk.email_or_url": "helpdesk_email_or_url",
}
"""Policy key → the `SsprPolicyState` field it is judged against and written to, for the settings that map one
to one (the scope, the methods and `max_skip_days` are derived, not copied). The checks, the planner and the
exporter take the pairs from here; with SSPR_FIELDS this is the whole path from a policy line to the wire."""

REGISTRATION_CA_POLICIES = "registrationConditionalAccessPolicies"
"""A list AzRanger types as `object[]`; no public source says what its items hold, so only its size is read."""

ONPREM_FIELDS: dict[str, str] = {
    "writeback_enabled": "enablementForTenant",
    "cloud_sync_writeback_enabled": "cloudProvisioningEnablementForTenant",
    "writeback_supported": "passwordWritebackSupported",
    "unlock_enabled": "accountUnlockEnabled",
    "unlock_supported": "accountUnlockSupported",
}
"""Snapshot field of `OnPremisesWritebackState` → `OnPremisesPasswordResetPolicies` field."""

ONPREM_WRITABLE: tuple[str, ...] = ("writeback_enabled", "cloud_sync_writeback_enabled", "unlock_enabled")
"""The on-premises fields the plan may write (one per PUT) and a rollback restores; the *Supported ones are
capabilities the portal reports, never written."""
