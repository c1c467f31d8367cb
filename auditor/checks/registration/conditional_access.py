"""registration.conditional_access: every in-scope user who registers security info meets the control the
policy asks for, through an enabled Conditional Access policy on the user action "Register security
information" (urn:user:registersecurityinfo); the users who can register without it are named, each with the
policy or exclusion responsible.

Why: whoever holds a user's password and can register methods can then reset the password and keep the account;
Microsoft recommends securing registration with Conditional Access (howto-registration-mfa-sspr-combined,
"Conditional Access policies for combined registration"; howto-conditional-access-policy-registration).
"""

from __future__ import annotations

import re

from auditor.checks.base import CheckSpec, Context, Evidence, Finding, Fix, OptionalSection, Severity, Status
from auditor.checks.scope_views import SCOPE_OPTIONAL, in_both_scopes
from auditor.derive.figures import ScopeResolution, folded
from auditor.derive.registration_ca import ENFORCED, Directory, Person, Requirement, Verdict, judge
from auditor.fixes.changes import GraphCaPolicyChange, SettingChange
from auditor.fixes.fixer import FixContext, Fixer
from auditor.graph_fields import BUILT_IN_STRENGTHS, CA_POLICIES_PATH, REGISTRATION_POLICY_NAME, REPORT_ONLY
from auditor.policy.models import GUID_PATTERN, RegistrationConditionalAccess
from auditor.snapshot.conditional_access import ConditionalAccessState
from auditor.text import same_name

KEY = "sspr.registration.conditional_access"

SPEC = CheckSpec(
    id="registration.conditional_access",
    title="Registering security info requires the control the policy asks for, for every in-scope user",
    severity=Severity.high,
    policy_key=KEY,
    sections=("conditional_access", "cloud_users", "sspr_policy", "registration_details", "scope_groups"),
    optional=(
        *SCOPE_OPTIONAL,
        OptionalSection("scope_groups", "read only when a scope is a selected group: that scope's finding is "
                        "unknown, naming the group it could not read"),
    ),
    references=(
        "https://learn.microsoft.com/entra/identity/conditional-access/policy-all-users-security-info-registration",
        "https://learn.microsoft.com/entra/identity/authentication/howto-registration-mfa-sspr-combined",
        "https://learn.microsoft.com/graph/api/resources/conditionalaccesspolicy",
        "https://learn.microsoft.com/entra/identity/conditional-access/concept-conditional-access-report-only",
        "https://maester.dev/docs/tests/MT.1011",
    ),
    fix=Fix(
        portal="Entra admin center > Protection > Conditional Access > Create new policy from templates > "
               "'Securing security info registration': include the SSPR users, exclude only the break-glass "
               "accounts, grant the control the policy asks for; run it report-only, then turn it on",
        graph="POST /identity/conditionalAccess/policies with conditions.applications.includeUserActions "
              "['urn:user:registersecurityinfo'] (Policy.ReadWrite.ConditionalAccess)",
    ),
    description="Anyone holding a password who can register methods without a second proof can then reset the "
                "password and keep the account.",
)


def requirement(wanted: RegistrationConditionalAccess) -> Requirement:
    return Requirement(wanted.require, wanted.authentication_strength, wanted.trusted_locations_exempt,
                       frozenset(x.lower() for x in wanted.break_glass))


def evaluate(ctx: Context) -> list[Finding]:
    wanted = ctx.policy.value_at(KEY)
    if wanted is None:
        return [ctx.result(Status.not_applicable, reason=f"the policy has no `{KEY}` (not audited)")]
    state: ConditionalAccessState = ctx.section("conditional_access")
    users = ctx.section("cloud_users").by_id()
    need = requirement(wanted)
    directory = Directory(state)
    return in_both_scopes(ctx, lambda scope, target, who, also: _judge(ctx, state, directory, users, need, wanted,
                                                                       scope, target, who, also))


def _judge(ctx: Context, state: ConditionalAccessState, directory: Directory, users: dict[str, object],
           need: Requirement, wanted: RegistrationConditionalAccess, scope: ScopeResolution, target: str, who: str,
           also: str) -> Finding:
    also = (f" (scope {scope.note})" if scope.basis == "inferred" else "") + also
    verdicts: dict[str, list[tuple[str, Verdict]]] = {"covered": [], "uncovered": [], "unknown": [], "exempt": []}
    directory.unread.clear()  # the groups and roles this scope's verdicts needed and could not read
    for uid in sorted(scope.ids):
        row = users.get(uid)
        person = Person(uid, getattr(row, "upn", "") or uid, bool(getattr(row, "guest", False)))
        verdict = judge(person, state, need, directory)
        verdicts[verdict.status].append((person.upn, verdict))
    registration = state.registration_policies()
    not_enforced = [f"'{p.display_name}' ({p.state})" for p in registration if p.state != ENFORCED]
    evidence = [*scope.evidence,
                Evidence(source=ctx.source("conditional_access"), field="policies on urn:user:registersecurityinfo",
                         value=[{"name": p.display_name, "id": p.id, "state": p.state} for p in registration])]
    expected = {"require": _describe(wanted), "break_glass": list(wanted.break_glass)}

    def listed(status: str) -> list[str]:
        return folded([f"{upn}: {v.why}" for upn, v in verdicts[status]])

    actual = {"in_scope": len(scope.ids), "covered": len(verdicts["covered"]),
              "uncovered": listed("uncovered"), "unknown": listed("unknown"), "exempt": listed("exempt"),
              "not_enforced": not_enforced, "scope": scope.basis}
    ignored = (f"; report-only and disabled policies do not count: {', '.join(not_enforced)}"
               if not_enforced else "")
    if not scope.ids:
        return ctx.result(Status.not_applicable, target=target, expected=expected, actual=actual, evidence=evidence,
                          reason=f"no user is in this scope{also}")
    if verdicts["unknown"] and directory.unread:
        # issue #30: members that could not be read make the figures unreadable: neither a pass nor a fail whose
        # counts the data does not show; the users already seen uncovered are named all the same
        first = verdicts["unknown"][0]
        unread = "; ".join(f"{label}: {why}" for label, why in sorted(directory.unread.items()))
        seen = (f"; at least {len(verdicts['uncovered'])} can register security info without {_describe(wanted)} "
                f"(e.g. {verdicts['uncovered'][0][0]}: {verdicts['uncovered'][0][1].why})"
                if verdicts["uncovered"] else "")
        return ctx.result(Status.unknown, target=target, expected=expected, actual=actual, evidence=evidence,
                          reason=f"for {len(verdicts['unknown'])} of {len(scope.ids)} {who} users it is unknown: the "
                                 f"members of {unread} (e.g. {first[0]}: {first[1].why}){seen}{ignored}{also}")
    if verdicts["uncovered"]:
        first = verdicts["uncovered"][0]
        return ctx.result(Status.failed, target=target, expected=expected, actual=actual, evidence=evidence,
                          reason=f"{len(verdicts['uncovered'])} of {len(scope.ids)} {who} users can register "
                                 f"security info without {_describe(wanted)} (e.g. {first[0]}: {first[1].why})"
                                 f"{ignored}{also}")
    if verdicts["unknown"]:
        first = verdicts["unknown"][0]
        return ctx.result(Status.unknown, target=target, expected=expected, actual=actual, evidence=evidence,
                          reason=f"for {len(verdicts['unknown'])} {who} users it cannot be told offline "
                                 f"(e.g. {first[0]}: {first[1].why}){ignored}{also}")
    exempt = f"; {len(verdicts['exempt'])} declared break-glass account(s) left out" if verdicts["exempt"] else ""
    return ctx.result(Status.passed, target=target, expected=expected, actual=actual, evidence=evidence,
                      reason=f"all {len(verdicts['covered'])} {who} users need {_describe(wanted)} to register "
                             f"security info{exempt}{ignored}{also}")


def _describe(wanted: RegistrationConditionalAccess) -> str:
    return {"mfa": "MFA", "authentication_strength": f"the authentication strength '{wanted.authentication_strength}'",
            "compliant_or_joined_device": "a compliant or hybrid-joined device",
            "block_untrusted_locations": "being at a trusted location"}[wanted.require]


# -- the fix: the Conditional Access policy the plan owns ---------------------------------------------------------

_GUID = re.compile(GUID_PATTERN)


def fix(fx: FixContext, findings: list[Finding]) -> None:
    """The failing registration.conditional_access findings: the policy the plan owns, created report-only
    (targeting the SSPR scope the policy file asks, excluding its break-glass accounts, granting its control);
    once it exists report-only, `enforce: true` turns it on, and without it the step stays manual."""
    state: ConditionalAccessState | None = fx.value("conditional_access")
    wanted = fx.policy.value_at(KEY)
    if not findings or state is None or wanted is None or fx.policy.sspr is None:
        return
    ours = [p for p in state.policies if same_name(p.display_name, REGISTRATION_POLICY_NAME)]
    depends = fx.depends("conditional_access", "cloud_users", "scope_groups")
    if len(ours) > 1:
        for finding in findings:
            fx.manual_step(finding, f"{len(ours)} policies are named {REGISTRATION_POLICY_NAME!r}: keep one")
        return
    if ours:
        policy = ours[0]
        if policy.state == "enabled":
            return  # it is on and still fails: what it misses is for the finding's reasons, by hand
        if not wanted.enforce:
            for finding in findings:
                fx.manual_step(finding, f"the policy {REGISTRATION_POLICY_NAME!r} runs {policy.state}: review "
                                          "its report-only results in the sign-in logs, then set "
                                          "sspr.registration.conditional_access.enforce: true and plan again")
            return
        fx.add(GraphCaPolicyChange, findings, target=f"graph {CA_POLICIES_PATH}/{policy.id}",
                 display_name=policy.display_name, policy_id=policy.id,
                 setting=SettingChange(name="state", old=policy.state, new="enabled"), depends_on=depends,
                 summary=f"turn on the Conditional Access policy {policy.display_name!r} ({policy.state} → "
                         "enabled)",
                 note="users it covers must then meet its control to register security info: a mistake locks "
                      "them out of registration")
        return
    scope = _registration_scope(fx, findings)
    if scope is None:
        return
    users = fx.value("cloud_users")
    by_upn = {u.upn.lower(): u.id for u in users.users} if users is not None else {}
    ids = {u.id.lower() for u in users.users} if users is not None else set()
    exclude, unknown = [], []
    for account in wanted.break_glass:
        found = account if account.lower() in ids else by_upn.get(account.lower())
        (exclude.append(found) if found else unknown.append(account))
    if unknown:
        for finding in findings:
            fx.manual_step(finding, f"the break-glass account(s) {', '.join(unknown)} are not in the tenant's "
                                      "users: the plan creates no policy that could lock them out")
        return
    built_in: list[str] = {"mfa": ["mfa"], "compliant_or_joined_device": ["compliantDevice", "domainJoinedDevice"],
                           "block_untrusted_locations": ["block"], "authentication_strength": []}[wanted.require]
    strength = None
    if wanted.require == "authentication_strength":
        strength = wanted.authentication_strength if _GUID.match(wanted.authentication_strength or "") else \
            BUILT_IN_STRENGTHS.get((wanted.authentication_strength or "").lower())
        if strength is None:
            for finding in findings:
                fx.manual_step(finding, f"the authentication strength {wanted.authentication_strength!r} is "
                                          "not a built-in one: name it by id in the policy file, or create the "
                                          "policy by hand")
            return
    locations = wanted.require == "block_untrusted_locations" or wanted.trusted_locations_exempt
    # report-only fixes nothing yet: the findings stay manual steps that say how the policy is turned on
    for finding in findings:
        fx.manual_step(finding, f"the plan creates the policy {REGISTRATION_POLICY_NAME!r} report-only: review "
                                  "its report-only results in the sign-in logs, then set "
                                  "sspr.registration.conditional_access.enforce: true and plan again")
    fx.add(GraphCaPolicyChange, [], target=f"graph {CA_POLICIES_PATH} (new)",
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

def _registration_scope(fx: FixContext, findings: list[Finding]) -> tuple[list[str], list[str]] | None:
    """(includeUsers, includeGroups) for the SSPR scope the policy file asks for; None (manual) otherwise."""
    sspr = fx.policy.sspr
    assert sspr is not None
    if sspr.scope.value == "all":
        return ["All"], []
    group = sspr.group
    groups = fx.value("scope_groups")
    found = groups.find(group.id, group.name) if groups is not None and group is not None else None
    group_id = (group.id if group is not None and group.id else None) or (found.id if found else None)
    if sspr.scope.value == "selected" and group_id:
        return [], [group_id]
    for finding in findings:
        fx.manual_step(finding, "the SSPR scope the policy asks for has no group id the plan could target")
    return None


FIXER = Fixer(plan=fix)
