"""password_protection: banned passwords on the domain controllers and smart lockout as the policy asks."""

from __future__ import annotations

from auditor.checks.base import CheckSpec, Context, Evidence, Finding, Fix, Severity, Status

SPEC = CheckSpec(
    id="password_protection",
    title="Password protection on-premises and smart lockout are set as the policy says",
    severity=Severity.medium,
    policy_key="password_protection",
    sections=("password_rules",),
    references=(
        "https://learn.microsoft.com/entra/identity/authentication/concept-password-ban-bad-on-premises",
        "https://learn.microsoft.com/entra/identity/authentication/howto-password-smart-lockout",
        "https://learn.microsoft.com/graph/api/resources/groupsetting",
    ),
    fix=Fix(
        portal="Entra admin center > Protection > Authentication methods > Password protection: Enable password "
               "protection on Windows Server Active Directory = Yes, Mode = Enforced; Lockout threshold and "
               "Lockout duration in seconds as the policy says (and install the DC agent and proxy on-premises)",
        graph="PATCH /groupSettings/{id} {\"values\": [{\"name\": \"BannedPasswordCheckOnPremisesMode\", "
              "\"value\": \"Enforce\"}, ...]} (POST /groupSettings from template "
              "5cf42378-d67d-4f36-ba46-e8b86229381d when none exists)",
    ),
)

# Smart lockout's documented defaults (howto-password-smart-lockout) apply while no setting object exists.
DEFAULT_THRESHOLD = 10
DEFAULT_DURATION_SECONDS = 60
# One finding per setting, told apart by target (waivers name these, and the planner dispatches on them: a
# finding's policy key falls back to `password_protection` when the policy file leaves the setting to its default).
TARGETS = {"on_premises": "password protection on-premises", "custom_banned_list": "custom banned password list",
           "lockout_threshold_at_most": "smart lockout threshold",
           "lockout_duration_seconds_at_least": "smart lockout duration (seconds)"}
FIELDS = {"threshold": "LockoutThreshold", "duration": "LockoutDurationInSeconds",
          "enabled": "EnableBannedPasswordCheckOnPremises", "mode": "BannedPasswordCheckOnPremisesMode",
          "custom": "EnableBannedPasswordCheck"}


def evaluate(ctx: Context) -> list[Finding]:
    wanted = ctx.policy.password_protection
    assert wanted is not None
    rules = ctx.section("password_rules")
    source = ctx.source("password_rules")
    unset = rules.setting_id is None
    findings = [_on_premises(ctx, wanted.on_premises, rules, source)]
    if wanted.custom_banned_list is not None:
        evidence = [Evidence(source=source, field=FIELDS["custom"], value=rules.custom_list_enabled),
                    Evidence(source=source, field="BannedPasswordList (words)", value=rules.custom_list_size)]
        findings.append(ctx.compare(wanted.custom_banned_list, False if unset else rules.custom_list_enabled,
                                    evidence, target=TARGETS["custom_banned_list"],
                                    key="password_protection.custom_banned_list", what="the custom banned list"))
    threshold_set = not unset and rules.lockout_threshold is not None
    findings.append(_bound(
        ctx, TARGETS["lockout_threshold_at_most"], rules.lockout_threshold if threshold_set else DEFAULT_THRESHOLD,
        wanted.lockout_threshold_at_most, at_most=True, defaulted=not threshold_set,
        evidence=[Evidence(source=source, field=FIELDS["threshold"], value=rules.lockout_threshold)],
        key="password_protection.lockout_threshold_at_most"))
    duration_set = not unset and rules.lockout_duration_seconds is not None
    findings.append(_bound(
        ctx, TARGETS["lockout_duration_seconds_at_least"],
        rules.lockout_duration_seconds if duration_set else DEFAULT_DURATION_SECONDS,
        wanted.lockout_duration_seconds_at_least, at_most=False, defaulted=not duration_set,
        evidence=[Evidence(source=source, field=FIELDS["duration"], value=rules.lockout_duration_seconds)],
        key="password_protection.lockout_duration_seconds_at_least"))
    return findings


def _on_premises(ctx: Context, wanted: str, rules: object, source: str) -> Finding:
    enabled = getattr(rules, "banned_on_premises_enabled", None)
    mode = getattr(rules, "banned_on_premises_mode", None)
    evidence = [Evidence(source=source, field=FIELDS["enabled"], value=enabled),
                Evidence(source=source, field=FIELDS["mode"], value=mode)]
    key = "password_protection.on_premises"
    target = TARGETS["on_premises"]
    if getattr(rules, "setting_id", None) is None or enabled is None:
        if wanted == "enforce":  # Microsoft's default mode is Audit, so an unset tenant does not enforce
            return ctx.result(Status.failed, target=target, expected=wanted, actual="not configured (defaults)",
                              evidence=evidence, key=key,
                              reason="no Password Rule Settings object sets it, and the default mode is Audit: "
                                     "banned passwords are not enforced on the domain controllers")
        return ctx.result(Status.unknown, target=target, expected=wanted, evidence=evidence, key=key,
                          reason="no Password Rule Settings object sets it, and Microsoft documents the default "
                                 "of EnableBannedPasswordCheckOnPremises inconsistently")
    actual = "off" if not enabled else str(mode or "Audit").lower()
    return ctx.compare(wanted, actual, evidence, target=target, key=key,
                       what="password protection on Windows Server AD")


def _bound(ctx: Context, what: str, actual: int, limit: int, *, at_most: bool, evidence: list[Evidence], key: str,
           defaulted: bool) -> Finding:
    expected = {"at_most" if at_most else "at_least": limit}
    shown = {"value": actual, "default": defaulted}
    ok = actual <= limit if at_most else actual >= limit
    if ok:
        return ctx.result(Status.passed, target=what, expected=expected, actual=shown, evidence=evidence, key=key)
    relation = "above the policy's maximum" if at_most else "below the policy's minimum"
    return ctx.result(Status.failed, target=what, expected=expected, actual=shown, evidence=evidence, key=key,
                      reason=f"the {what} is {actual}{' (default)' if defaulted else ''}, {relation} of {limit}")
