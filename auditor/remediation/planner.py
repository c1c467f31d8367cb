"""Failing findings + policy + snapshot → a Plan of typed changes and manual steps. Pure: no I/O.

Only `fail` findings are planned (a waived one is an accepted exception, an unknown one had no
input to plan from). Each change carries the old value the snapshot showed, so `apply` can
refuse a stale plan. Everything the plan cannot change through a supported API (licences, a
user's own registration, passwords, which admins are synced, group membership, phone numbers)
becomes a manual step with the finding's fix text and the reason no writer does it.

Authentication methods follow the check's model (`auditor.checks.sspr.methods`): the target
migration state decides whether the legacy SSPR toggles, the methods policy, or both govern a
method, and the solver changes as little as makes every method offered exactly as asked.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from auditor import __version__
from auditor.ad.dn import dn_key
from auditor.ad.intervals import days_to_interval
from auditor.ad.rights import RIGHTS_BY_NAME, UNEXPIRE_PASSWORD, WRITEBACK_RIGHTS, Right
from auditor.ad.sd import canonical_ace, inherited_right
from auditor.ad.wellknown import DEFAULT_DOMAIN_POLICY_GUID
from auditor.checks.base import Finding, Status
from auditor.derive import gpo_precedence
from auditor.derive.sspr_methods import (
    AUTHENTICATOR,
    METHOD_CONFIGS,
    carrying_configurations,
    effective_state,
    offers,
    reaches_everyone,
)
from auditor.exit_codes import Exit
from auditor.graph_fields import (
    GROUP_SETTINGS_PATH,
    PASSWORD_RULE_DEFAULTS,
    PASSWORD_RULE_FIELDS,
    PASSWORD_RULE_TEMPLATE,
    password_rule_value,
)
from auditor.policy.models import GUID_PATTERN, Policy, Scope
from auditor.portal_fields import METHOD_ALLOWED, POLICY_KEYS
from auditor.remediation.changes import (
    FindingRef,
    GraphAuthorizationChange,
    GraphCaPolicyChange,
    GraphMethodConfigurationChange,
    GraphMethodsPolicyChange,
    GraphPasswordRulesChange,
    LdapDaclChange,
    LdapPasswordAgeChange,
    ManualStep,
    Plan,
    PlanSource,
    PortalOnPremChange,
    PortalSsprChange,
    SettingChange,
    SysvolPasswordAgeChange,
    Unplanned,
)
from auditor.snapshot.directory import DirectoryState, GpoTemplate, SecuredObject, SysvolState
from auditor.snapshot.models import MethodsPolicyState, Snapshot, SsprPolicyState
from auditor.snapshot.store import fingerprint
from auditor.text import same_name

# Writers run in this order: the cloud policy objects, then the methods policy's migration
# state (which switches the policy that governs methods, so it goes after the method fixes),
# the tenant's password rules (independent of the others), then the directory, then SYSVOL
# (which bumps the GPO version through LDAP too).
GUID = re.compile(GUID_PATTERN)
_ORDER = ("portal.sspr_policy", "portal.onprem_writeback", "graph.method_configuration",
          "graph.authorization_policy", "graph.methods_policy", "graph.password_rules", "graph.ca_policy", "ldap.dacl",
          "ldap.password_age", "sysvol.gpttmpl")

PRE, IN_PROGRESS, COMPLETE = "preMigration", "migrationInProgress", "migrationComplete"
QUESTIONS = "security_questions"
METHOD_CONFIGURATIONS_PATH = "/policies/authenticationMethodsPolicy/authenticationMethodConfigurations"

WHY_MANUAL: dict[str, str] = {
    "licensing": "assigning licences changes what the tenant pays for and who may use which service: "
                 "an admin decides it in the admin center or through group-based licensing",
    "registration": "only users can register their own verification methods; send them to "
                    "https://aka.ms/ssprsetup or keep registration at sign-in on",
    "scope": "who belongs in the SSPR group is an identity decision the plan cannot make",
    "ad.users.temporary_password": "the plan never sets passwords: the user (or an admin) must set a new one, "
                                   "which also clears 'must change password at next logon'",
    "ad.users.privileged": "whether an admin stays in the synced OUs or in an admin group is a decision about that "
                           "account; move it out of scope or waive the finding",
    "ad.users.contact": "phone numbers are personal data the plan cannot know; correct them at the source "
                        "(HR system or the user's AD object)",
    "ad.service_account": "the sync account belongs to Entra Connect: create or enable it with the Entra Connect "
                          "wizard, not by hand",
    "ad.acl.coverage": "fixing a user's own DACL (re-enabling inheritance, or granting on AdminSDHolder) brings back "
                       "or stamps permissions beyond writeback: decide per account",
}
DEFAULT_WHY = "the plan has no writer for this setting"


@dataclass
class _Draft:
    """A change being built: its model, fields and the findings it fixes (mutable until sealed)."""

    cls: type
    fields: dict[str, Any]
    fixes: list[FindingRef] = field(default_factory=list)


@dataclass
class MethodSolution:
    """Legacy toggles and method configurations to change so SSPR offers each method as asked."""

    legacy: dict[str, tuple[bool | None, bool]] = field(default_factory=dict)
    configs: dict[str, dict[str, tuple[Any, Any]]] = field(default_factory=dict)
    unresolved: dict[str, str] = field(default_factory=dict)


def make_plan(policy: Policy, snapshot: Snapshot, findings: Iterable[Finding],
              source: PlanSource | None = None) -> Plan:
    """The plan that fixes every failing finding it can, and lists the others as manual steps."""
    planner = _Planner(policy, snapshot, list(findings))
    planner.run()
    source = source or PlanSource(origin=snapshot.origin)
    if snapshot.tenant_id and not source.read_tenant_id:  # bound to the tenant Graph said it read
        source = source.model_copy(update={"read_tenant_id": snapshot.tenant_id})
    return planner.plan(source)


class _Planner:
    def __init__(self, policy: Policy, snapshot: Snapshot, findings: list[Finding]) -> None:
        self.policy, self.snapshot = policy, snapshot
        self.failing = [f for f in findings if f.status == Status.failed]
        self.unknown = [f for f in findings if f.status == Status.unknown]
        self.drafts: list[_Draft] = []
        self.manual: list[ManualStep] = []
        self.handled: set[FindingRef] = set()

    # -- helpers ---------------------------------------------------------------------------

    def failing_of(self, check: str, target: str | None = None) -> list[Finding]:
        return [f for f in self.failing if f.check == check and (target is None or f.target == target)]

    def failing_key(self, key: str) -> list[Finding]:
        """Failing findings about one policy key (`sspr.registration.reconfirm_days`): the join by key, never prose."""
        return [f for f in self.failing if f.policy_location is not None and f.policy_location.key == key]

    def value(self, name: str) -> Any:
        section = getattr(self.snapshot, name, None)
        return section.value if section is not None and section.readable else None

    def depends(self, *names: str) -> dict[str, str]:
        return {name: fingerprint(getattr(self.snapshot, name, None)) for name in names}

    def add(self, cls: type, fixes: Iterable[Finding], **fields: Any) -> _Draft:
        refs = [FindingRef.of(f) for f in fixes]
        draft = _Draft(cls, fields, refs)
        self.drafts.append(draft)
        self.handled.update(refs)
        return draft

    def attach(self, draft: _Draft, findings: Iterable[Finding]) -> None:
        for finding in findings:
            ref = FindingRef.of(finding)
            if ref not in draft.fixes:
                draft.fixes.append(ref)
            self.handled.add(ref)

    def manual_step(self, finding: Finding, why: str) -> None:
        ref = FindingRef.of(finding)
        if ref in self.handled:
            return
        self.handled.add(ref)
        self.manual.append(ManualStep(finding=ref, title=finding.title, severity=finding.severity.value,
                                      reason=finding.reason, why_manual=why, how=dict(finding.fix)))

    # -- the run ---------------------------------------------------------------------------

    def run(self) -> None:
        self.sspr_policy()
        migration = self.methods_migration()
        self.methods(migration)
        self.onprem()
        self.authorization()
        self.password_rules()
        self.registration_policy()
        self.directory_acls()
        self.password_age()
        for finding in self.failing:
            self.manual_step(finding, _why_manual(finding))

    def plan(self, source: PlanSource) -> Plan:
        ordered = sorted(self.drafts, key=lambda d: _ORDER.index(d.cls.model_fields["kind"].default))
        changes = [d.cls(id=str(i), fixes=d.fixes, **d.fields) for i, d in enumerate(ordered, start=1)]
        fingerprints = {name: fingerprint(section) for name, section in self.snapshot
                        if hasattr(section, "source")}
        unplanned = [Unplanned(finding=FindingRef.of(f), reason=f.reason or "its input could not be read")
                     for f in self.unknown]
        from pathlib import Path

        from auditor.remediation.impact import impacts_of

        file = self.policy.source_file
        return Plan(tool_version=__version__, policy_file=file or "(in memory)",
                    policy_path=str(Path(file).resolve()) if file else None, policy_sha256=self.policy.source_sha256,
                    snapshot_created_at=self.snapshot.created_at, source=source, fingerprints=fingerprints,
                    changes=changes, manual=self.manual, unplanned=unplanned,
                    impact=impacts_of(changes, self.policy, self.snapshot)).sealed()

    # -- the portal's SSPR policy ------------------------------------------------------------

    def sspr_policy(self) -> None:
        live: SsprPolicyState | None = self.value("sspr_policy")
        wanted = self.policy.sspr
        if live is None or wanted is None:
            return

        def setting_change(findings: list[Finding], summary: str, pairs: dict[str, Any]) -> None:
            settings = [SettingChange(name=k, old=getattr(live, k), new=v) for k, v in pairs.items()
                        if getattr(live, k) != v]
            if findings and settings:
                self.add(PortalSsprChange, findings, target="portal PasswordResetPolicies", summary=summary,
                         settings=settings, depends_on=self.depends("sspr_policy"))

        scope_findings = self.failing_of("sspr.scope")
        if scope_findings:
            pairs: dict[str, Any] = {"enablement": wanted.scope.value}
            if wanted.scope == Scope.selected and wanted.group is not None:
                group = wanted.group
                named_alike = same_name(live.group_name, group.name)
                if group.id:
                    pairs["group_ids"] = [group.id]
                    if group.name:
                        pairs["group_name"] = group.name
                elif not named_alike:
                    for finding in scope_findings:
                        self.manual_step(finding, "the policy names the SSPR group by name only: give its object id "
                                                  "as sspr.group.id so the plan can set it")
                    scope_findings = []
            setting_change(scope_findings, f"SSPR enabled for: {live.enablement} → {wanted.scope.value}", pairs)

        def wanted_at(*keys: str) -> dict[str, Any]:  # the pairs come from the one table the checks use too
            return {POLICY_KEYS[key]: self.policy.value_at(key) for key in keys}

        setting_change(self.failing_of("sspr.gates"),
                       f"methods required to reset: {live.methods_required} → {wanted.methods_required}",
                       wanted_at("sspr.methods_required"))
        if wanted.security_questions is not None:
            setting_change(self.failing_of("sspr.security_questions"), "security questions to register / to reset",
                           wanted_at("sspr.security_questions.number_to_register",
                                     "sspr.security_questions.number_to_reset"))
        registration = wanted.registration
        setting_change(self.failing_key("sspr.registration.require_on_sign_in"),
                       f"require registration at sign-in: {_on(live.registration_required_on_sign_in)} → "
                       f"{_on(registration.require_on_sign_in)}", wanted_at("sspr.registration.require_on_sign_in"))
        setting_change(self.failing_key("sspr.registration.reconfirm_days"),
                       f"days before users reconfirm their methods: {live.reconfirm_days} → "
                       f"{registration.reconfirm_days}", wanted_at("sspr.registration.reconfirm_days"))
        if registration.max_skip_days is not None:
            skip = ({"skip_registration_allowed": False} if registration.max_skip_days == 0 else
                    {"skip_registration_max_days": registration.max_skip_days})
            setting_change(self.failing_key("sspr.registration.max_skip_days"),
                           f"days users may skip registering: {live.skip_registration_max_days} → "
                           f"{registration.max_skip_days}", skip)
        notifications = wanted.notifications
        setting_change(self.failing_of("sspr.notify_users"),
                       f"notify users on password reset: {_on(live.notify_users)} → {_on(notifications.notify_users)}",
                       wanted_at("sspr.notifications.notify_users"))
        setting_change(self.failing_of("sspr.notify_admins"),
                       f"notify all admins when an admin resets: {_on(live.notify_admins)} → "
                       f"{_on(notifications.notify_admins)}", wanted_at("sspr.notifications.notify_admins"))
        helpdesk = wanted.helpdesk
        setting_change(self.failing_of("sspr.helpdesk"), "custom helpdesk link",
                       wanted_at("sspr.helpdesk.customize", "sspr.helpdesk.email_or_url") if helpdesk.customize
                       else wanted_at("sspr.helpdesk.customize"))

    # -- authentication methods ------------------------------------------------------------

    def methods_migration(self) -> _Draft | None:
        live: MethodsPolicyState | None = self.value("methods_policy")
        wanted = self.policy.methods_policy
        findings = self.failing_of("methods_policy.migration")
        if live is None or wanted is None or not findings:
            return None
        new = wanted.migration_state.value
        if live.migration_state is None:
            for finding in findings:
                self.manual_step(finding, "policyMigrationState is null: this tenant has no legacy method settings to "
                                          "migrate, and since 30 September 2025 methods cannot be managed in the "
                                          "legacy policies; declare migrationComplete in the policy instead")
            return None
        return self.add(GraphMethodsPolicyChange, findings, target="graph /policies/authenticationMethodsPolicy",
                        summary=f"methods policy migration state: {live.migration_state} → {new}",
                        setting=SettingChange(name="migration_state", old=live.migration_state, new=new),
                        depends_on=self.depends("methods_policy"),
                        note="after migrationComplete the legacy SSPR and MFA method lists are ignored: only the "
                             "authentication methods policy decides which methods users get")

    def methods(self, migration: _Draft | None) -> None:
        findings = self.failing_of("sspr.methods")
        sspr = self.policy.sspr
        methods_policy: MethodsPolicyState | None = self.value("methods_policy")
        if sspr is None or methods_policy is None or sspr.scope == Scope.none:
            return
        migrating = migration is not None and migration.fields["setting"].new != methods_policy.migration_state
        if not findings and not migrating:
            return
        legacy: SsprPolicyState | None = self.value("sspr_policy")
        wanted = sspr.methods.model_dump()
        by_method = {f.target: f for f in findings}
        for method, finding in list(by_method.items()):
            narrow = [c for c in carrying_configurations(method, methods_policy) if not reaches_everyone(c, method)]
            if wanted.get(method) and narrow:
                # widening a method's targets also widens it for MFA sign-in: never done without being asked
                del by_method[method]
                shown = "; ".join(f"{c.id} includes {', '.join(c.include_target_ids) or 'nobody'}"
                                  + (f", excludes {', '.join(c.exclude_target_ids)}" if c.exclude_target_ids else "")
                                  for c in narrow)
                self.manual_step(finding, f"{method} is enabled but targeted ({shown}): widen its targets to cover "
                                          "the SSPR scope (the targets also govern MFA sign-in, so the plan does "
                                          "not change them)")
        live_state = effective_state(methods_policy.migration_state)
        state = migration.fields["setting"].new if migration is not None and migrating else live_state
        solution = solve_methods(wanted, state, legacy, methods_policy)
        broken = [m for m in solution.unresolved if m not in by_method]
        if migration is not None and migrating and broken:
            # never plan a change that turns a passing method into a failing one: keep the state
            self.drafts.remove(migration)
            self.handled.difference_update(migration.fixes)
            for finding in self.failing_of("methods_policy.migration"):
                self.manual_step(finding, f"moving to {state} would leave {', '.join(broken)} offered differently "
                                          f"from the policy, and no method setting fixes that: "
                                          f"{solution.unresolved[broken[0]]}")
            migration, migrating, state = None, False, live_state
            solution = solve_methods(wanted, state, legacy, methods_policy)
        for method, reason in solution.unresolved.items():
            if method in by_method:
                self.manual_step(by_method[method], reason)
        fixable = {m: f for m, f in by_method.items() if m not in solution.unresolved}
        if migration is not None and migrating:
            self.attach(migration, [f for m, f in fixable.items() if m != QUESTIONS])
        # settings that keep passing methods right once the migration state changes serve that change
        migration_refs = list(migration.fixes) if migration is not None and migrating else []
        for method, (old, new) in solution.legacy.items():
            legacy_draft = self.add(PortalSsprChange, [f for m, f in fixable.items() if m == method],
                     target="portal PasswordResetPolicies",
                     summary=f"SSPR method {method.replace('_', ' ')} (legacy SSPR setting): {_on(old)} → {_on(new)}",
                     settings=[SettingChange(name=method, old=old, new=new)],
                     depends_on=self.depends("sspr_policy", "methods_policy"))
            legacy_draft.fixes += [r for r in migration_refs if r not in legacy_draft.fixes]
        for config_id, changed in solution.configs.items():
            touched = [f for m, f in fixable.items() if config_id in METHOD_CONFIGS[m]]
            shown = ", ".join(f"{name} {_on(old)} → {_on(new)}" for name, (old, new) in changed.items())
            config_draft = self.add(GraphMethodConfigurationChange, touched,
                     target=f"graph {METHOD_CONFIGURATIONS_PATH}/{config_id}",
                     summary=f"authentication method {config_id}: {shown}", configuration_id=config_id,
                     settings=[SettingChange(name=n, old=o, new=v) for n, (o, v) in changed.items()],
                     depends_on=self.depends("methods_policy"),
                     note="the authentication methods policy also governs MFA sign-in methods")
            config_draft.fixes += [r for r in migration_refs if r not in config_draft.fixes]
        for finding in fixable.values():
            if FindingRef.of(finding) not in self.handled:
                self.manual_step(finding, "no change to the method settings makes this method offered as asked")

    # -- on-premises integration and the authorization policy ------------------------------

    def onprem(self) -> None:
        from auditor.snapshot.models import OnPremisesWritebackState

        live: OnPremisesWritebackState | None = self.value("onprem_writeback")
        wanted = self.policy.writeback
        if live is None or wanted is None:
            return
        plans = [("writeback.enabled", "writeback_enabled", wanted.enabled, live.writeback_supported,
                  "password writeback"),
                 ("writeback.cloud_sync", "cloud_sync_writeback_enabled", wanted.cloud_sync, True,
                  "Cloud Sync password writeback"),
                 ("writeback.unlock", "unlock_enabled", wanted.unlock, live.unlock_supported, "unlock without reset")]
        for key, name, new, supported, label in plans:
            findings = self.failing_key(key)
            if not findings or new is None:
                continue
            if new and supported is False:
                for finding in findings:
                    self.manual_step(finding, f"the tenant reports {label} as not supported: turn on Password "
                                              "writeback in Entra Connect (Optional features) first, then plan again")
                continue
            old = getattr(live, name)
            self.add(PortalOnPremChange, findings, target="portal OnPremisesPasswordResetPolicies",
                     summary=f"{label}: {_on(old)} → {_on(new)}", setting=SettingChange(name=name, old=old, new=new),
                     depends_on=self.depends("onprem_writeback"))

    def authorization(self) -> None:
        from auditor.snapshot.models import AuthorizationPolicyState

        live: AuthorizationPolicyState | None = self.value("authorization_policy")
        findings = self.failing_of("admin_sspr")
        if live is None or self.policy.admin_sspr is None or not findings:
            return
        new = self.policy.admin_sspr.allowed
        self.add(GraphAuthorizationChange, findings, target="graph /policies/authorizationPolicy",
                 summary=f"administrators may use SSPR: {_on(live.allowed_to_use_sspr)} → {_on(new)}",
                 setting=SettingChange(name="allowed_to_use_sspr", old=live.allowed_to_use_sspr, new=new),
                 depends_on=self.depends("authorization_policy"))

    # -- password protection and smart lockout: the Password Rule Settings ------------------

    def password_rules(self) -> None:
        """The values the failing `password_protection` findings ask for (one finding per setting), and nothing else.

        An existing object gets only those values (rollback puts them back); a tenant with no object runs on
        defaults, so the plan creates one, with every value the checks read set to what they saw or what the
        failing findings ask for (rollback deletes it again).
        """
        from auditor.checks.password_protection import DEFAULT_DURATION_SECONDS, DEFAULT_THRESHOLD, TARGETS
        from auditor.snapshot.models import PasswordRulesState

        live: PasswordRulesState | None = self.value("password_rules")
        wanted = self.policy.password_protection
        findings = self.failing_of("password_protection")
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
                self.manual_step(finding, "the custom banned password list is empty: which words to ban (the "
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
        if not new:
            return
        if exists:
            settings = [SettingChange(name=name, old=getattr(live, name), new=value) for name, value in new.items()
                        if getattr(live, name) != value]
            if not settings:
                return
            self.add(GraphPasswordRulesChange, fixes, target=f"graph {GROUP_SETTINGS_PATH}/{live.setting_id}",
                     setting_id=live.setting_id, settings=settings, depends_on=self.depends("password_rules"),
                     summary="Password Rule Settings: " + ", ".join(
                         f"{_RULE_LABELS[s.name]} {_on(s.old)} → {_on(s.new)}" for s in settings),
                     note="Graph takes only the whole values array: every value not listed here (the banned "
                          "password list too) is sent back exactly as read just before the write")
            return
        # No object: creating one writes every value, so each value a check reads keeps what that check saw
        # (or gets what its failing finding asks for); an on-premises value the check could not judge
        # (`unknown`: Microsoft documents its default inconsistently) gets the policy's.
        on = wanted.on_premises != "off"
        values: dict[str, Any] = {
            "banned_on_premises_enabled": on,
            "banned_on_premises_mode": _MODES[wanted.on_premises] if on else _template_default(
                "banned_on_premises_mode"),
            "custom_list_enabled": False if wanted.custom_banned_list is not None else _template_default(
                "custom_list_enabled"),
            "lockout_threshold": DEFAULT_THRESHOLD,
            "lockout_duration_seconds": DEFAULT_DURATION_SECONDS,
        } | new
        settings = [SettingChange(name=name, old=None, new=values[name]) for name in PASSWORD_RULE_FIELDS]
        self.add(GraphPasswordRulesChange, fixes, target=f"graph {GROUP_SETTINGS_PATH} (new, from template "
                                                         f"{PASSWORD_RULE_TEMPLATE})",
                 setting_id=None, settings=settings, depends_on=self.depends("password_rules"),
                 summary="create the Password Rule Settings (none exists): " + ", ".join(
                     f"{_RULE_LABELS[s.name]} {_on(s.new)}" for s in settings),
                 note="no Password Rule Settings object exists, so the tenant runs on defaults: the plan creates "
                      "one with every value of the template (the ones above; the banned password list empty, the "
                      "template's default); rollback deletes it, which returns the tenant to its defaults")

    # -- Conditional Access on registering security info ---------------------------------------

    def registration_policy(self) -> None:
        """The failing registration.conditional_access findings: the policy the plan owns, created report-only
        (targeting the SSPR scope the policy file asks, excluding its break-glass accounts, granting its control);
        once it exists report-only, `enforce: true` turns it on, and without it the step stays manual."""
        from auditor.graph_fields import BUILT_IN_STRENGTHS, CA_POLICIES_PATH, REGISTRATION_POLICY_NAME, REPORT_ONLY
        from auditor.snapshot.conditional_access import ConditionalAccessState

        findings = self.failing_of("registration.conditional_access")
        state: ConditionalAccessState | None = self.value("conditional_access")
        wanted = self.policy.value_at("sspr.registration.conditional_access")
        if not findings or state is None or wanted is None or self.policy.sspr is None:
            return
        ours = [p for p in state.policies if same_name(p.display_name, REGISTRATION_POLICY_NAME)]
        depends = self.depends("conditional_access", "cloud_users", "scope_groups")
        if len(ours) > 1:
            for finding in findings:
                self.manual_step(finding, f"{len(ours)} policies are named {REGISTRATION_POLICY_NAME!r}: keep one")
            return
        if ours:
            policy = ours[0]
            if policy.state == "enabled":
                return  # it is on and still fails: what it misses is for the finding's reasons, by hand
            if not wanted.enforce:
                for finding in findings:
                    self.manual_step(finding, f"the policy {REGISTRATION_POLICY_NAME!r} runs {policy.state}: review "
                                              "its report-only results in the sign-in logs, then set "
                                              "sspr.registration.conditional_access.enforce: true and plan again")
                return
            self.add(GraphCaPolicyChange, findings, target=f"graph {CA_POLICIES_PATH}/{policy.id}",
                     display_name=policy.display_name, policy_id=policy.id,
                     setting=SettingChange(name="state", old=policy.state, new="enabled"), depends_on=depends,
                     summary=f"turn on the Conditional Access policy {policy.display_name!r} ({policy.state} → "
                             "enabled)",
                     note="users it covers must then meet its control to register security info: a mistake locks "
                          "them out of registration")
            return
        scope = self._registration_scope(findings)
        if scope is None:
            return
        users = self.value("cloud_users")
        by_upn = {u.upn.lower(): u.id for u in users.users} if users is not None else {}
        ids = {u.id.lower() for u in users.users} if users is not None else set()
        exclude, unknown = [], []
        for account in wanted.break_glass:
            found = account if account.lower() in ids else by_upn.get(account.lower())
            (exclude.append(found) if found else unknown.append(account))
        if unknown:
            for finding in findings:
                self.manual_step(finding, f"the break-glass account(s) {', '.join(unknown)} are not in the tenant's "
                                          "users: the plan creates no policy that could lock them out")
            return
        built_in: list[str] = {"mfa": ["mfa"], "compliant_or_joined_device": ["compliantDevice", "domainJoinedDevice"],
                               "block_untrusted_locations": ["block"], "authentication_strength": []}[wanted.require]
        strength = None
        if wanted.require == "authentication_strength":
            strength = wanted.authentication_strength if GUID.match(wanted.authentication_strength or "") else \
                BUILT_IN_STRENGTHS.get((wanted.authentication_strength or "").lower())
            if strength is None:
                for finding in findings:
                    self.manual_step(finding, f"the authentication strength {wanted.authentication_strength!r} is "
                                              "not a built-in one: name it by id in the policy file, or create the "
                                              "policy by hand")
                return
        locations = wanted.require == "block_untrusted_locations" or wanted.trusted_locations_exempt
        # report-only fixes nothing yet: the findings stay manual steps that say how the policy is turned on
        for finding in findings:
            self.manual_step(finding, f"the plan creates the policy {REGISTRATION_POLICY_NAME!r} report-only: review "
                                      "its report-only results in the sign-in logs, then set "
                                      "sspr.registration.conditional_access.enforce: true and plan again")
        self.add(GraphCaPolicyChange, [], target=f"graph {CA_POLICIES_PATH} (new)",
                 display_name=REGISTRATION_POLICY_NAME, policy_id=None,
                 setting=SettingChange(name="state", old=None, new=REPORT_ONLY), depends_on=depends,
                 include_users=scope[0], include_groups=scope[1], exclude_users=sorted(exclude), built_in=built_in,
                 strength_id=strength, exclude_trusted_locations=locations,
                 summary=f"create the Conditional Access policy {REGISTRATION_POLICY_NAME!r} on registering security "
                         f"info, report-only: {wanted.require.replace('_', ' ')} for "
                         f"{'all users' if scope[0] else 'the SSPR group'}"
                         + (f", excluding {len(exclude)} break-glass account(s)" if exclude else ""),
                 note="report-only enforces nothing: the findings stay failing until "
                      "sspr.registration.conditional_access.enforce is true and a later plan turns it on; rollback "
                      "deletes the policy")

    def _registration_scope(self, findings: list[Finding]) -> tuple[list[str], list[str]] | None:
        """(includeUsers, includeGroups) for the SSPR scope the policy file asks for; None (manual) otherwise."""
        sspr = self.policy.sspr
        assert sspr is not None
        if sspr.scope.value == "all":
            return ["All"], []
        group = sspr.group
        groups = self.value("scope_groups")
        found = groups.find(group.id, group.name) if groups is not None and group is not None else None
        group_id = (group.id if group is not None and group.id else None) or (found.id if found else None)
        if sspr.scope.value == "selected" and group_id:
            return [], [group_id]
        for finding in findings:
            self.manual_step(finding, "the SSPR scope the policy asks for has no group id the plan could target")
        return None

    # -- the directory: ACEs ---------------------------------------------------------------

    def directory_acls(self) -> None:
        state: DirectoryState | None = self.value("directory")
        directory = self.policy.directory
        if state is None or directory is None:
            return
        account = state.service_account
        wanted_rights = [r for r in WRITEBACK_RIGHTS if getattr(directory.rights, r.name)]
        per_object: dict[str, tuple[SecuredObject, list[tuple[Right, Finding]], bool]] = {}
        holder_key = dn_key(state.admin_sd_holder.dn)
        objects = {dn_key(o.dn): o for o in state.target_ous}
        for finding in self.failing_of("ad.acl.writeback_rights"):
            key = dn_key(finding.target)
            obj = state.admin_sd_holder if key == holder_key else objects.get(key)
            right = _right_of(finding, wanted_rights)
            if obj is None or not obj.exists or obj.dacl is None or right is None:
                continue  # a missing OU and the like stay manual
            if account is None:
                self.manual_step(finding, "the sync account does not exist (see ad.service_account): create it with "
                                          "Entra Connect first, then plan again")
                continue
            if key != holder_key and inherited_right(obj.dacl, account.token_sids, right).denied:
                self.manual_step(finding, "a deny ACE for the sync account comes first in this DACL: an allow ACE "
                                          "would not help; remove the deny by hand, then plan again")
                continue
            entry = per_object.setdefault(key, (obj, [], key == holder_key))
            entry[1].append((right, finding))
        unexpire = self.failing_of("ad.acl.unexpire_password")
        if unexpire and account is not None and state.domain.dacl is not None:
            entry = per_object.setdefault(dn_key(state.domain.dn), (state.domain, [], True))
            entry[1].extend((UNEXPIRE_PASSWORD, f) for f in unexpire)
        for obj, wanted_pairs, object_only in per_object.values():
            assert account is not None
            if obj.descriptor_b64 is None:
                for _, finding in wanted_pairs:
                    self.manual_step(finding, "the snapshot holds no descriptor bytes for this object: collect again")
                continue
            rights = list(dict.fromkeys(r for r, _ in wanted_pairs))
            aces = [canonical_ace(account.sid, r, inherit_to=None if object_only else _user_class()) for r in rights]
            raw = base64.b64decode(obj.descriptor_b64)
            where = "this object" if object_only else "descendant user objects"
            self.add(LdapDaclChange, [f for _, f in wanted_pairs], target=obj.dn, dn=obj.dn,
                     summary=f"grant {account.sam_account_name} {', '.join(r.label for r in rights)} on {obj.dn} "
                             f"(applies to {where})",
                     principal=account.sam_account_name, principal_sid=account.sid,
                     rights=[r.label for r in rights], add_aces=aces,
                     old_descriptor_sha256=hashlib.sha256(raw).hexdigest(), depends_on=self.depends("directory"),
                     note="AdminSDHolder's DACL is copied to every protected (adminCount=1) account within the hour"
                     if dn_key(obj.dn) == holder_key else None)

    # -- password age: domain, fine-grained policies, the GPO ------------------------------

    def password_age(self) -> None:
        directory = self.policy.directory
        state: DirectoryState | None = self.value("directory")
        if directory is None or state is None:
            return
        limit = directory.password_age.minimum_days
        new_interval = days_to_interval(limit)
        for finding in self.failing_of("ad.gpo.min_password_age", state.base_dn):
            self.add(LdapPasswordAgeChange, [finding], target=state.base_dn, dn=state.base_dn, scope="domain",
                     summary=f"domain minPwdAge: {state.min_pwd_age_days} → {limit} day(s)",
                     setting=SettingChange(name="min_pwd_age", old=state.min_pwd_age, new=new_interval),
                     old_days=state.min_pwd_age_days, new_days=limit, depends_on=self.depends("directory"),
                     note="on Windows DCs the Default Domain Policy rewrites this value: the GPO change matters most")
        by_dn = state.password_settings_by_dn()
        for finding in self.failing_of("ad.fgpp.min_password_age"):
            pso = by_dn.get(dn_key(finding.target))
            if pso is None:
                continue
            self.add(LdapPasswordAgeChange, [finding], target=pso.dn, dn=pso.dn, scope="fine_grained",
                     summary=f"fine-grained policy {pso.name}: minimum password age {pso.min_age_days} → {limit} "
                             "day(s)",
                     setting=SettingChange(name="min_pwd_age", old=pso.min_pwd_age, new=new_interval),
                     old_days=pso.min_age_days, new_days=limit, depends_on=self.depends("directory"))
        sysvol: SysvolState | None = self.value("sysvol")
        gpo_findings = [f for f in self.failing_of("ad.gpo.min_password_age") if f.target != state.base_dn]
        if sysvol is None or not gpo_findings:
            return
        # the GPO to rewrite is the one that wins for domain accounts (None: no GPO sets it, so the
        # Default Domain Policy gets the setting); a failing finding has no uncertain GPO above the winner
        outcome = gpo_precedence.domain_password_age(state, sysvol)
        template: GpoTemplate = sysvol
        if outcome.winner is not None:
            found = sysvol.all_templates().get(outcome.winner.applied.gpo.guid.upper())
            if found is None or found.error is not None:
                return
            template = found
        if template.present and template.content_b64 is None:
            return
        gpo = next((g for g in state.gpos if g.guid.upper() == template.gpo_guid.upper()), None)
        gpo_dn = gpo.dn if gpo is not None else f"CN={template.gpo_guid},CN=Policies,CN=System,{state.base_dn}"
        old_sha = (hashlib.sha256(base64.b64decode(template.content_b64)).hexdigest()
                   if template.content_b64 is not None else None)
        name = ("the Default Domain Policy" if template.gpo_guid.upper() == DEFAULT_DOMAIN_POLICY_GUID else
                f"{gpo.display_name if gpo is not None and gpo.display_name else 'GPO'} {template.gpo_guid}")
        self.add(SysvolPasswordAgeChange, gpo_findings, target=template.path, path=template.path,
                 gpo_guid=template.gpo_guid, gpo_dn=gpo_dn,
                 summary=f"{name}: [System Access] MinimumPasswordAge {template.minimum_password_age} → "
                         f"{limit} (GptTmpl.inf; GPO version bumped)",
                 setting=SettingChange(name="minimum_password_age", old=template.minimum_password_age, new=limit),
                 old_content_sha256=old_sha, encoding=template.encoding, newline=template.newline,
                 depends_on=self.depends("sysvol", "directory"),
                 note="rollback restores the file byte for byte but moves the GPO version forward again, so DCs "
                      "apply the restored setting" if template.present else
                 "the GPO has no GptTmpl.inf: the plan creates one (UTF-16LE, as Windows writes it)")


# -- the methods solver ----------------------------------------------------------------------

def offered(method: str, state: str, legacy: dict[str, bool | None], configs: dict[str, dict[str, Any]]) -> bool:
    """Whether SSPR offers `method` (the rule of `sspr.methods`), given legacy toggles and configurations."""
    uses_legacy = state != COMPLETE or method == QUESTIONS
    uses_policy = state != PRE and method != QUESTIONS
    on = False
    if uses_policy:
        for config_id in METHOD_CONFIGS[method]:
            config = configs.get(config_id)
            if config is not None and offers(method, config_id, config.get("state"),
                                             config.get("is_office_phone_allowed"),
                                             config.get("is_software_oath_enabled")):
                on = True
    if uses_legacy:
        on = on or bool(legacy.get(method))
    return on


def solve_methods(wanted: dict[str, bool], state: str, legacy: SsprPolicyState | None,
                  methods_policy: MethodsPolicyState) -> MethodSolution:
    """The fewest setting changes that make SSPR offer each method exactly as `wanted` in `state`."""
    solution = MethodSolution()
    if state not in (PRE, IN_PROGRESS, COMPLETE):
        solution.unresolved = {m: f"unrecognised migration state {state!r}" for m in wanted}
        return solution
    old_legacy = {m: (getattr(legacy, m) if legacy is not None else None) for m in wanted}
    new_legacy = dict(old_legacy)
    disallowed = set(legacy.not_allowed) if legacy is not None else set()

    def usable(toggles: dict[str, Any]) -> dict[str, Any]:
        """The toggles as SSPR sees them: a method the portal does not allow is off whatever its toggle."""
        return {m: (v and m not in disallowed) for m, v in toggles.items()}
    old_configs = {c.id: {"state": c.state, "is_office_phone_allowed": c.is_office_phone_allowed,
                          **({"is_software_oath_enabled": c.is_software_oath_enabled}
                             if c.id.lower() == AUTHENTICATOR else {})}
                   for c in methods_policy.configurations}
    configs = {k: dict(v) for k, v in old_configs.items()}
    uses_policy = state != PRE
    uses_legacy = state != COMPLETE

    def config_set(config_id: str, name: str, value: Any) -> None:
        if config_id in configs:
            configs[config_id][name] = value

    if uses_policy:
        if not wanted["mobile_app_notification"]:
            config_set("MicrosoftAuthenticator", "state", "disabled")
        if not wanted["mobile_app_code"]:
            # the app's code is its own switch (isSoftwareOathEnabled): notifications can stay
            if configs.get("MicrosoftAuthenticator", {}).get("state") == "enabled":
                config_set("MicrosoftAuthenticator", "is_software_oath_enabled", False)
            config_set("SoftwareOath", "state", "disabled")
        if not wanted["email"]:
            config_set("Email", "state", "disabled")
        if not wanted["mobile_phone"]:
            config_set("Sms", "state", "disabled")
            config_set("Voice", "state", "disabled")
        if not wanted["office_phone"] and configs.get("Voice", {}).get("state") == "enabled":
            config_set("Voice", "is_office_phone_allowed", False)
    for method, on in wanted.items():
        if not on and (uses_legacy or method == QUESTIONS) and new_legacy[method]:
            new_legacy[method] = False
    for method, on in wanted.items():
        if not on or offered(method, state, usable(new_legacy), configs):
            continue
        if (uses_legacy or method == QUESTIONS) and legacy is not None:
            new_legacy[method] = True
            continue
        if not uses_policy or method == QUESTIONS:
            continue
        for config_id in _ENABLE[method] if wanted["mobile_app_notification"] else _ENABLE_WITHOUT_APP[method]:
            config_set(config_id, "state", "enabled")
            if method == "office_phone":
                config_set(config_id, "is_office_phone_allowed", True)
            if method == "mobile_app_code" and config_id == "MicrosoftAuthenticator":
                config_set(config_id, "is_software_oath_enabled", True)
    for method, on in wanted.items():
        legacy_governs = uses_legacy or method == QUESTIONS
        policy_offers = offered(method, COMPLETE, {}, configs) if method != QUESTIONS else False
        if legacy is None and legacy_governs and not (on and policy_offers):
            solution.unresolved[method] = ("the legacy SSPR policy (portal API) was not read, so its method "
                                           "toggles cannot be planned: collect with --portal")
        elif offered(method, state, usable(new_legacy), configs) != on and method in disallowed and on:
            solution.unresolved[method] = (
                f"the portal reports {METHOD_ALLOWED[method]} = false: the tenant may not offer {method} through the "
                "legacy SSPR policy, and no writer changes what it allows")
        elif offered(method, state, usable(new_legacy), configs) != on:
            missing = [c for c in METHOD_CONFIGS[method] if c not in configs]
            solution.unresolved[method] = (
                f"no setting makes {method} {'offered' if on else 'not offered'} without breaking another method "
                f"the policy asks for (configurations involved: {', '.join(METHOD_CONFIGS[method]) or 'none'}"
                + (f"; missing: {', '.join(missing)}" if missing else "") + ")")
    solution.legacy = {m: (old_legacy[m], bool(new_legacy[m])) for m in wanted
                       if new_legacy[m] != old_legacy[m] and m not in solution.unresolved}
    for config_id, values in configs.items():
        changed = {name: (old_configs[config_id][name], value) for name, value in values.items()
                   if value != old_configs[config_id][name]}
        if changed:
            solution.configs[config_id] = changed
    return solution


# the configurations to enable so the methods policy offers a method (the app code comes from
# Microsoft Authenticator when app notifications are wanted too, else from a software OATH app)
_ENABLE: dict[str, tuple[str, ...]] = {
    "mobile_app_notification": ("MicrosoftAuthenticator",), "mobile_app_code": ("MicrosoftAuthenticator",),
    "email": ("Email",), "mobile_phone": ("Sms",), "office_phone": ("Voice",),
}
_ENABLE_WITHOUT_APP = {**_ENABLE, "mobile_app_code": ("SoftwareOath",)}


# -- small helpers ---------------------------------------------------------------------------

def _on(value: object) -> str:
    if value is None:
        return "unset"
    if isinstance(value, bool):
        return "on" if value else "off"
    return str(value)


_MODES = {"enforce": "Enforce", "audit": "Audit"}
_RULE_LABELS = {"banned_on_premises_enabled": "on-premises banned-password check",
                "banned_on_premises_mode": "on-premises mode", "custom_list_enabled": "custom banned list",
                "lockout_threshold": "smart lockout threshold",
                "lockout_duration_seconds": "smart lockout duration (s)"}


def _template_default(name: str) -> Any:
    """The Password Rule Settings template's default for a `PasswordRulesState` field, as that field holds it."""
    wire = dict(PASSWORD_RULE_DEFAULTS)[PASSWORD_RULE_FIELDS[name]]
    return password_rule_value(name, wire)


def _user_class() -> str:
    from auditor.ad.rights import USER_CLASS

    return USER_CLASS


def _right_of(finding: Finding, candidates: list[Right]) -> Right | None:
    """The right a writeback-rights finding is about: its typed subject, never its text."""
    name = finding.subject.right if finding.subject is not None else None
    right = RIGHTS_BY_NAME.get(name or "")
    return right if right in candidates else None


def _why_manual(finding: Finding) -> str:
    for prefix in (finding.check, finding.check.split(".", 1)[0]):
        if prefix in WHY_MANUAL:
            return WHY_MANUAL[prefix]
    key = finding.policy_location.key if finding.policy_location else None
    if finding.check == "ad.acl.writeback_rights" and key == "directory.target_ous":
        return "the target OU does not exist: create it or correct directory.target_ous"
    return DEFAULT_WHY


def plan_exit_code(plan: Plan) -> Exit:
    """4 changes planned (manual steps may be listed too); 5 only manual steps; 3 nothing planned but some inputs
    could not be read; 0 nothing to change (auditor/exit_codes.py)."""
    if plan.changes:
        return Exit.changes
    if plan.manual:
        return Exit.manual
    if plan.unplanned:
        return Exit.incomplete
    return Exit.ok


def with_fixability(findings: list[Finding], plan: Plan) -> list[Finding]:
    """The findings with `fixable` set on each failure: True when a change fixes it, False when manual."""
    return [f.model_copy(update={"fixable": plan.fixes(f)}) if f.status == Status.failed else f for f in findings]
