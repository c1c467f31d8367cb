"""password_protection: banned passwords on the domain controllers and smart lockout as the policy asks."""

from __future__ import annotations

from typing import Any

from auditor.checks.base import CheckSpec, Context, Evidence, Finding, Fix, Severity, Status
from auditor.fixes.changes import GraphPasswordRulesChange, SettingChange
from auditor.fixes.fixer import FixContext, Fixer, on
from auditor.graph_fields import (
    GROUP_SETTINGS_PATH,
    PASSWORD_RULE_DEFAULTS,
    PASSWORD_RULE_FIELDS,
    PASSWORD_RULE_TEMPLATE,
    password_rule_value,
)
from auditor.snapshot.tenant import PasswordRulesState

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
# One finding per setting, told apart by target (waivers name these, and the fixer below tells them apart by it: a
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
        findings.append(_custom_list(ctx, wanted.custom_banned_list, rules, source))
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


def _custom_list(ctx: Context, wanted: bool, rules: PasswordRulesState, source: str) -> Finding:
    """The custom banned password list: switched on as the policy says and, when asked for, holding words.

    Entra ID blocks a word of the custom list (and its variants) only while "Enforce custom list" is on, and an
    enabled list with no word adds nothing to the global list
    (https://learn.microsoft.com/entra/identity/authentication/concept-password-ban-bad#custom-banned-password-list).
    """
    evidence = [Evidence(source=source, field=FIELDS["custom"], value=rules.custom_list_enabled),
                Evidence(source=source, field="BannedPasswordList (words)", value=rules.custom_list_size)]
    key = "password_protection.custom_banned_list"
    target = TARGETS["custom_banned_list"]
    enabled = False if rules.setting_id is None else rules.custom_list_enabled
    if not wanted or enabled is not True:
        return ctx.compare(wanted, enabled, evidence, target=target, key=key, what="the custom banned list")
    expected = {"enabled": True, "words_at_least": 1}
    if rules.custom_list_size is None:
        return ctx.result(Status.unknown, target=target, expected=expected, evidence=evidence, key=key,
                          reason="the custom banned list is on, but its words (BannedPasswordList) were not read")
    actual = {"enabled": True, "words": rules.custom_list_size}
    if rules.custom_list_size < 1:
        return ctx.result(Status.failed, target=target, expected=expected, actual=actual, evidence=evidence,
                          key=key, reason="the custom banned list is switched on but holds no word: it bans "
                                          "nothing beyond Microsoft's global list")
    return ctx.result(Status.passed, target=target, expected=expected, actual=actual, evidence=evidence, key=key)


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


def fix(fx: FixContext, findings: list[Finding]) -> None:
    """The values the failing findings ask for (one finding per setting), and nothing else.

    An existing object gets only those values (rollback puts them back); a tenant with no object runs on
    defaults, so the plan creates one, with every value the checks read set to what they saw or what the
    failing findings ask for (rollback deletes it again).
    """
    live: PasswordRulesState | None = fx.value("password_rules")
    wanted = fx.policy.password_protection
    if live is None or wanted is None or not findings:
        return

    def failing(key: str) -> list[Finding]:
        # by the check's target for the setting: the policy key of a setting the file leaves to its default
        # is the section's (`password_protection`), shared by all four findings
        return [f for f in findings if f.target == TARGETS[key]]

    exists = live.setting_id is not None
    new: dict[str, Any] = {}
    fixes: list[Finding] = []
    on_premises = failing("on_premises")
    if on_premises:
        new["banned_on_premises_enabled"] = wanted.on_premises != "off"
        if wanted.on_premises != "off" and (live.banned_on_premises_mode or "Audit").lower() != wanted.on_premises:
            new["banned_on_premises_mode"] = _MODES[wanted.on_premises]
        fixes += on_premises
    custom = failing("custom_banned_list")
    if custom and wanted.custom_banned_list and not (exists and live.custom_list_size):
        for finding in custom:
            fx.manual_step(finding, "the custom banned password list is empty: which words to ban (the "
                                    "organisation's names, brands, products, places) is a decision the plan "
                                    "cannot make; add them in the Entra admin center (Password protection > "
                                    "Custom banned password list), then plan again")
    elif custom:
        new["custom_list_enabled"] = bool(wanted.custom_banned_list)
        fixes += custom
    threshold = failing("lockout_threshold_at_most")
    if threshold:
        new["lockout_threshold"] = wanted.lockout_threshold_at_most
        fixes += threshold
    duration = failing("lockout_duration_seconds_at_least")
    if duration:
        new["lockout_duration_seconds"] = wanted.lockout_duration_seconds_at_least
        fixes += duration
    propose_rules(fx, new, fixes)


def planned_rules(fx: FixContext) -> dict[str, Any]:
    """The Password Rule Settings values the plan so far sets (`PasswordRulesState` field → value)."""
    return {s.name: s.new for draft in fx.drafts_of(GraphPasswordRulesChange) for s in draft.fields["settings"]}


def propose_rules(fx: FixContext, asked: dict[str, Any], fixes: list[Finding], *, depends: tuple[str, ...] = (),
                  why: str = "") -> None:
    """The plan's one change of the Password Rule Settings: `asked` (`PasswordRulesState` field → value) over the
    values an earlier fixer's change of the same object sets, which it replaces, so the object is written once
    (this fixer's and hybrid.lockout's, which runs after it). Only values that differ from the live object are
    written to an existing one; a tenant with none gets one with every value. `depends` names the other snapshot
    sections `asked` was derived from, `why` says how (added to the change's note).
    """
    live: PasswordRulesState | None = fx.value("password_rules")
    wanted = fx.policy.password_protection
    if live is None or wanted is None:
        return
    new = planned_rules(fx)
    sections = fx.depends("password_rules", *depends)
    more = f"; {why}" if why else ""
    for draft in fx.drafts_of(GraphPasswordRulesChange):
        sections |= draft.fields["depends_on"]
        note = str(draft.fields["note"])
        more = next((note[len(base):] for base in (_PATCH_NOTE, _CREATE_NOTE) if note.startswith(base)), "") + more
        fixes = [*fx.withdraw(draft), *fixes]
    new |= asked
    exists = live.setting_id is not None
    if not new:
        return
    if exists:
        settings = [SettingChange(name=name, old=getattr(live, name), new=value) for name, value in new.items()
                    if getattr(live, name) != value]
        if not settings:
            return
        fx.add(GraphPasswordRulesChange, fixes, target=f"graph {GROUP_SETTINGS_PATH}/{live.setting_id}",
               setting_id=live.setting_id, settings=settings, depends_on=sections,
               summary="Password Rule Settings: " + ", ".join(
                   f"{_RULE_LABELS[s.name]} {on(s.old)} → {on(s.new)}" for s in settings),
               note=_PATCH_NOTE + more)
        return
    # No object: creating one writes every value, so each value a check reads keeps what that check saw
    # (or gets what its failing finding asks for); an on-premises value the check could not judge
    # (`unknown`: Microsoft documents its default inconsistently) gets the policy's.
    enabled = wanted.on_premises != "off"
    values: dict[str, Any] = {
        "banned_on_premises_enabled": enabled,
        "banned_on_premises_mode": _MODES[wanted.on_premises] if enabled else _template_default(
            "banned_on_premises_mode"),
        "custom_list_enabled": False if wanted.custom_banned_list is not None else _template_default(
            "custom_list_enabled"),
        "lockout_threshold": DEFAULT_THRESHOLD,
        "lockout_duration_seconds": DEFAULT_DURATION_SECONDS,
    } | new
    settings = [SettingChange(name=name, old=None, new=values[name]) for name in PASSWORD_RULE_FIELDS]
    fx.add(GraphPasswordRulesChange, fixes, target=f"graph {GROUP_SETTINGS_PATH} (new, from template "
                                                   f"{PASSWORD_RULE_TEMPLATE})",
           setting_id=None, settings=settings, depends_on=sections,
           summary="create the Password Rule Settings (none exists): " + ", ".join(
               f"{_RULE_LABELS[s.name]} {on(s.new)}" for s in settings),
           note=_CREATE_NOTE + more)


def _template_default(name: str) -> Any:
    """The Password Rule Settings template's default for a `PasswordRulesState` field, as that field holds it."""
    wire = dict(PASSWORD_RULE_DEFAULTS)[PASSWORD_RULE_FIELDS[name]]
    return password_rule_value(name, wire)


_PATCH_NOTE = ("Graph takes only the whole values array: every value not listed here (the banned password list "
               "too) is sent back exactly as read just before the write")
_CREATE_NOTE = ("no Password Rule Settings object exists, so the tenant runs on defaults: the plan creates one with "
                "every value of the template (the ones above; the banned password list empty, the template's "
                "default); rollback deletes it, which returns the tenant to its defaults")
_MODES = {"enforce": "Enforce", "audit": "Audit"}
_RULE_LABELS = {"banned_on_premises_enabled": "on-premises banned-password check",
                "banned_on_premises_mode": "on-premises mode", "custom_list_enabled": "custom banned list",
                "lockout_threshold": "smart lockout threshold",
                "lockout_duration_seconds": "smart lockout duration (s)"}


FIXER = Fixer(plan=fix)
