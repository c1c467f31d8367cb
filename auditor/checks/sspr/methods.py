"""sspr.methods: SSPR offers exactly the methods the policy allows, as the migration state decides
(the rules are in `auditor.derive.sspr_methods`)."""

from __future__ import annotations

from auditor.checks.base import (
    CheckSpec,
    Context,
    Evidence,
    Finding,
    Fix,
    OptionalSection,
    Severity,
    Status,
    Unreadable,
)
from auditor.derive.figures import folded
from auditor.derive.method_reach import Audience, method_reach
from auditor.derive.sspr_methods import (
    APP_CODE,
    AUTHENTICATOR,
    LEGACY_METHOD_FIELDS,
    METHOD_CONFIGS,
    OATH_FLAG,
    carrying_configurations,
    effective_state,
    known_state,
    reaches_everyone,
    rule_for,
    uses_legacy,
    uses_methods_policy,
)
from auditor.fixes.changes import (
    FindingRef,
    GraphMethodConfigurationChange,
    GraphMethodsPolicyChange,
    PortalSsprChange,
    SettingChange,
)
from auditor.fixes.fixer import Draft, FixContext, Fixer, on
from auditor.fixes.methods import QUESTIONS, solve_methods
from auditor.graph_fields import CONFIGURATION_PATH
from auditor.policy.models import Scope
from auditor.portal_fields import METHOD_ALLOWED
from auditor.snapshot.models import MethodConfiguration, MethodsPolicyState, SsprPolicyState

SPEC = CheckSpec(
    id="sspr.methods",
    title="SSPR offers only the verification methods the policy allows",
    severity=Severity.medium,
    policy_key="sspr.methods",
    sections=("sspr_policy", "methods_policy", "scope_groups", "cloud_users", "registration_details"),
    audit_log="sspr_settings",
    optional=(
        OptionalSection("sspr_policy", "a method the legacy toggles could offer (security questions always, every "
                        "method before migration is complete) is unknown, with the portal's reason; a method the "
                        "methods policy alone decides stands"),
        OptionalSection("scope_groups", "read only when a method targets groups (or the SSPR scope is a selected "
                    "group): that method's reach is unknown, naming the section; a method every in-scope user "
                    "gets, or nobody gets, stands"),
        OptionalSection("cloud_users", "read only when a method targets groups, to know the in-scope users it reaches: "
                    "that method's reach is unknown; the UPNs shown fall back to object ids"),
        OptionalSection("registration_details", "read only to infer the in-scope users of a targeted method when the "
                        "portal's policy was not read; without both, that method is unknown"),
    ),
    references=(
        "https://learn.microsoft.com/entra/identity/authentication/concept-sspr-howitworks",
        "https://learn.microsoft.com/entra/identity/authentication/how-to-authentication-methods-manage",
    ),
    fix=Fix(
        portal="Before migration: Protection > Password reset > Authentication methods. After migration: "
               "Protection > Authentication methods > Policies (per method: Enable, target users)",
        graph="PATCH /policies/authenticationMethodsPolicy/authenticationMethodConfigurations/{id} "
              '{"@odata.type": "#microsoft.graph.<method>AuthenticationMethodConfiguration", "state": "enabled"}',
        powershell="Update-MgPolicyAuthenticationMethodPolicyAuthenticationMethodConfiguration "
                   "-AuthenticationMethodConfigurationId <id> -BodyParameter @{...; state = 'enabled'}",
        shell="PowerShell (Microsoft Graph module)",
    ),
)

def evaluate(ctx: Context) -> list[Finding]:
    sspr = ctx.policy.sspr
    assert sspr is not None
    if sspr.scope.value == "none":
        return [ctx.result(Status.not_applicable, reason="the policy turns SSPR off for users")]
    methods_policy: MethodsPolicyState = ctx.section("methods_policy")
    state = methods_policy.migration_state
    if not known_state(state):
        raise Unreadable(f"unrecognised policyMigrationState {state!r}; cannot tell which policy governs methods")
    legacy = _legacy_or_none(ctx)
    audience = Audience(ctx.snapshot)
    findings = []
    for method, wanted in sspr.methods.model_dump().items():
        try:
            findings.append(_method_finding(ctx, method, wanted, state, legacy, methods_policy, audience))
        except Unreadable as exc:
            findings.append(ctx.result(Status.unknown, target=method, expected=wanted, key=f"sspr.methods.{method}",
                                       evidence=exc.evidence, reason=exc.reason))
    return findings


def _legacy_or_none(ctx: Context) -> SsprPolicyState | Unreadable:
    try:
        state: SsprPolicyState = ctx.section("sspr_policy")
        return state
    except Unreadable as exc:
        return exc


def _method_finding(
    ctx: Context, method: str, wanted: bool, state: str | None,
    legacy: SsprPolicyState | Unreadable, methods_policy: MethodsPolicyState, audience: Audience,
) -> Finding:
    key = f"sspr.methods.{method}"
    evidence: list[Evidence] = []
    rule = rule_for(method, state)
    if uses_methods_policy(method, state):
        configs = [c for c in (methods_policy.configuration(i) for i in METHOD_CONFIGS[method]) if c is not None]
        evidence.append(Evidence(
            source=ctx.source("methods_policy"),
            field=f"{'/'.join(METHOD_CONFIGS[method])}.state, includeTargets, excludeTargets"
                  + (f", MicrosoftAuthenticator.{OATH_FLAG}" if method == APP_CODE else "")
                  + f" (migration: {state})",
            value={c.id: _configuration_evidence(method, c) for c in configs} or "not configured"))
    readable_legacy = None if isinstance(legacy, Unreadable) else legacy
    if uses_legacy(method, state) and readable_legacy is not None:
        evidence.append(Evidence(source=ctx.source("sspr_policy"), field=LEGACY_METHOD_FIELDS[method],
                                 value=bool(getattr(readable_legacy, method))))
        if method in readable_legacy.not_allowed:
            evidence.append(Evidence(source=ctx.source("sspr_policy"), field=METHOD_ALLOWED[method], value=False))
    found = method_reach(method, state, readable_legacy, methods_policy, audience)
    if isinstance(legacy, Unreadable) and uses_legacy(method, state) and not found.everyone:
        # only a legacy "on" could change the verdict, and we cannot see it
        return ctx.result(Status.unknown, target=method, expected=wanted, key=key,
                          evidence=evidence + legacy.evidence, reason=legacy.reason)
    if found.everyone or found.nobody:
        offered = found.everyone
        if offered == wanted:
            return ctx.result(Status.passed, target=method, expected=wanted, actual=offered, evidence=evidence,
                              key=key, reason=f"decided by: {rule}")
        verb = "offered to every in-scope user" if offered else "offered to no in-scope user"
        detail = f" ({'; '.join(found.targeted)})" if found.targeted and not offered else ""
        return ctx.result(Status.failed, target=method, expected=wanted, actual=offered, evidence=evidence, key=key,
                          reason=f"{method} is {verb} for SSPR{detail} (decided by: {rule})")
    # the methods policy targets groups: judge by the in-scope users it actually reaches
    in_scope = audience.in_scope()
    reached = found.users & in_scope
    missed = in_scope - reached
    evidence += list(audience.scope_evidence)
    actual = {"in_scope": len(in_scope), "reached": len(reached), "not_reached": len(missed),
              "reached_users" if not wanted else "not_reached_users":
                  folded(audience.upns(reached if not wanted else missed))}
    targets = "; ".join(found.targeted)
    if wanted and not missed:
        return ctx.result(Status.passed, target=method, expected=wanted, actual=actual, evidence=evidence, key=key,
                          reason=f"{method} reaches all {len(in_scope)} in-scope users ({targets})")
    if not wanted and not reached:
        return ctx.result(Status.passed, target=method, expected=wanted, actual=actual, evidence=evidence, key=key,
                          reason=f"{method} reaches none of the {len(in_scope)} in-scope users ({targets})")
    if wanted:
        return ctx.result(Status.failed, target=method, expected=wanted, actual=actual, evidence=evidence, key=key,
                          reason=f"{method} reaches only {len(reached)} of {len(in_scope)} in-scope users: "
                                 f"{len(missed)} do not get it ({targets}; decided by: {rule})")
    return ctx.result(Status.failed, target=method, expected=wanted, actual=actual, evidence=evidence, key=key,
                      reason=f"{method} is offered to {len(reached)} of {len(in_scope)} in-scope users although the "
                             f"policy does not allow it ({targets}; decided by: {rule})")


def _configuration_evidence(method: str, config: MethodConfiguration) -> dict[str, object]:
    shown: dict[str, object] = {"state": config.state, "include": config.include_target_ids,
                                "exclude": config.exclude_target_ids}
    users = sorted(t for t, kind in config.target_types.items() if kind == "user")
    if users:
        shown["user_targets"] = users  # targetType user: the user itself, not a group
    if method == APP_CODE and config.id.lower() == AUTHENTICATOR:
        shown[OATH_FLAG] = config.is_software_oath_enabled  # the app's code needs it true (how-to-...-manage)
    return shown


def fix(fx: FixContext, failing: list[Finding]) -> None:
    """The fewest method settings that make SSPR offer each method as asked (`auditor.fixes.methods`), in the
    migration state the plan moves to (the `methods_policy.migration` fixer's change, which runs first). A
    migration that would leave a passing method offered differently is taken back; a method whose targets are
    narrower than everyone stays manual (widening them widens MFA sign-in too)."""
    sspr = fx.policy.sspr
    methods_policy: MethodsPolicyState | None = fx.value("methods_policy")
    if sspr is None or methods_policy is None or sspr.scope == Scope.none:
        return
    migration: Draft | None = next((d for d in fx.drafts_of(GraphMethodsPolicyChange)
                                    if d.fields["setting"].name == "migration_state"), None)  # not the campaign's
    migrating = migration is not None and migration.fields["setting"].new != methods_policy.migration_state
    if not failing and not migrating:
        return
    legacy: SsprPolicyState | None = fx.value("sspr_policy")
    wanted = sspr.methods.model_dump()
    by_method = {f.target: f for f in failing}
    for method, finding in list(by_method.items()):
        narrow = [c for c in carrying_configurations(method, methods_policy) if not reaches_everyone(c, method)]
        if wanted.get(method) and narrow:
            del by_method[method]
            shown = "; ".join(f"{c.id} includes {', '.join(c.include_target_ids) or 'nobody'}"
                              + (f", excludes {', '.join(c.exclude_target_ids)}" if c.exclude_target_ids else "")
                              for c in narrow)
            fx.manual_step(finding, f"{method} is enabled but targeted ({shown}): widen its targets to cover the SSPR "
                                    "scope (the targets also govern MFA sign-in, so the plan does not change them)")
    live_state = effective_state(methods_policy.migration_state)
    state = migration.fields["setting"].new if migration is not None and migrating else live_state
    solution = solve_methods(wanted, state, legacy, methods_policy)
    broken = [m for m in solution.unresolved if m not in by_method]
    if migration is not None and migrating and broken:
        # never plan a change that turns a passing method into a failing one: keep the state
        for finding in fx.withdraw(migration):
            fx.manual_step(finding, f"moving to {state} would leave {', '.join(broken)} offered differently from "
                                    f"the policy, and no method setting fixes that: {solution.unresolved[broken[0]]}")
        migration, migrating, state = None, False, live_state
        solution = solve_methods(wanted, state, legacy, methods_policy)
    for method, reason in solution.unresolved.items():
        if method in by_method:
            fx.manual_step(by_method[method], reason)
    fixable = {m: f for m, f in by_method.items() if m not in solution.unresolved}
    if migration is not None and migrating:
        fx.attach(migration, [f for m, f in fixable.items() if m != QUESTIONS])
    # settings that keep passing methods right once the migration state changes serve that change
    migration_refs = list(migration.fixes) if migration is not None and migrating else []
    for method, (old, new) in solution.legacy.items():
        legacy_draft = fx.add(PortalSsprChange, [f for m, f in fixable.items() if m == method],
                              target="portal PasswordResetPolicies",
                              summary=f"SSPR method {method.replace('_', ' ')} (legacy SSPR setting): {on(old)} → "
                                      f"{on(new)}",
                              settings=[SettingChange(name=method, old=old, new=new)],
                              depends_on=fx.depends("sspr_policy", "methods_policy"))
        legacy_draft.fixes += [r for r in migration_refs if r not in legacy_draft.fixes]
    for config_id, changed in solution.configs.items():
        touched = [f for m, f in fixable.items() if config_id in METHOD_CONFIGS[m]]
        shown = ", ".join(f"{name} {on(old)} → {on(new)}" for name, (old, new) in changed.items())
        config_draft = fx.add(GraphMethodConfigurationChange, touched,
                              target=f"graph {CONFIGURATION_PATH.format(id=config_id)}",
                              summary=f"authentication method {config_id}: {shown}", configuration_id=config_id,
                              settings=[SettingChange(name=n, old=o, new=v) for n, (o, v) in changed.items()],
                              depends_on=fx.depends("methods_policy"),
                              note="the authentication methods policy also governs MFA sign-in methods")
        config_draft.fixes += [r for r in migration_refs if r not in config_draft.fixes]
    for finding in fixable.values():
        if FindingRef.of(finding) not in fx.handled:
            fx.manual_step(finding, "no change to the method settings makes this method offered as asked")


FIXER = Fixer(plan=fix, after=("methods_policy.migration", "sspr.helpdesk"))
