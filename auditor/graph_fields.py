"""The Graph objects SSPR depends on, their paths and field names, written once: snapshot field ↔ Graph property.

Documented by Microsoft Graph v1.0: authorizationPolicy (`allowedToUseSSPR`,
https://learn.microsoft.com/graph/api/resources/authorizationpolicy), authenticationMethodsPolicy
(`policyMigrationState`, https://learn.microsoft.com/graph/api/resources/authenticationmethodspolicy) and its
authenticationMethodConfigurations (`state`, `includeTargets`, `excludeTargets`; the voice configuration's
`isOfficePhoneAllowed`, https://learn.microsoft.com/graph/api/resources/voiceauthenticationmethodconfiguration).
The reader (`auditor.readers.graph`), the writer (`auditor.remediation.writers.graph`), the checks' evidence and
the exporter take the names from here.
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
