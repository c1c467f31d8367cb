"""scope.group_members: the SSPR scope group exists and holds the users the policy means."""

from __future__ import annotations

from auditor.checks.base import CheckSpec, Context, Evidence, Finding, Fix, Severity, Status, Unreadable
from auditor.derive.figures import UserRef, enabled_members, member_ids, shown, users_by_id
from auditor.policy.models import Scope

SPEC = CheckSpec(
    id="scope.group_members",
    title="The SSPR scope group exists and holds the intended users",
    severity=Severity.medium,
    policy_key="coverage.scope_group",
    sections=("scope_groups", "cloud_users"),
    also_reads=("sspr.group",),
    references=(
        "https://learn.microsoft.com/entra/identity/authentication/tutorial-enable-sspr",
        "https://learn.microsoft.com/graph/api/group-list-transitivemembers",
    ),
    fix=Fix(
        portal="Entra admin center > Groups > (the SSPR group) > Members: add the users listed (or make it a "
               "dynamic group, e.g. user.accountEnabled -eq true and user.userType -eq \"Member\"), and remove "
               "guests",
        graph="POST /groups/{id}/members/$ref {\"@odata.id\": \"https://graph.microsoft.com/v1.0/directoryObjects/"
              "{user id}\"}",
        powershell="New-MgGroupMember -GroupId <group id> -DirectoryObjectId <user id>",
        shell="PowerShell (Microsoft Graph module)",
    ),
    manual=("who belongs in the SSPR group is an identity decision the plan cannot make"),
)


def evaluate(ctx: Context) -> list[Finding]:
    coverage, sspr = ctx.policy.coverage, ctx.policy.sspr
    assert coverage is not None
    if sspr is None or sspr.scope != Scope.selected or sspr.group is None:
        scope = "no sspr section" if sspr is None else f"sspr.scope is {sspr.scope.value}"
        return [ctx.result(Status.not_applicable, target="scope group",
                           reason=f"{scope}: SSPR is not scoped to a group, so there is no group to check")]
    wanted = coverage.scope_group
    groups = ctx.section("scope_groups")
    users = ctx.section("cloud_users")
    label = sspr.group.name or sspr.group.id or "the scope group"
    group = groups.find(sspr.group.id, sspr.group.name)
    source = ctx.source("scope_groups")
    if group is None:
        raise Unreadable(f"the group the policy names ({label}) was not read in this snapshot (collect reads the "
                         "live scope group, and the policy's group when run by `check` with the policy)")
    if group.error is not None:
        raise Unreadable(f"the members of {label} could not be read: {group.error}",
                         [Evidence(source=source, field=f"{label} transitiveMembers")])
    if not group.found:
        return [ctx.result(Status.failed, target="scope group", key="sspr.group",
                           expected={"exists": True, "group": label}, actual={"exists": False},
                           evidence=[Evidence(source=source, field="groups", value=group.query)],
                           reason=f"the group {label} does not exist: SSPR scoped to it covers nobody")]
    people = users_by_id(users)
    in_group = member_ids(group)
    members = [people[i] for i in sorted(in_group) if i in people]
    enabled = [u for u in members if u.enabled and not u.guest]
    name = group.display_name or label
    evidence = [Evidence(source=source, field=f"{name} transitiveMembers",
                         value={"users": len(in_group), "enabled_members": len(enabled),
                                "other_objects": group.other_members})]
    findings = [_size(ctx, len(enabled), wanted.min_members, evidence, name)]
    if wanted.intended != "any":
        intended = enabled_members(users)
        if wanted.intended == "synced_members":
            intended = {k: u for k, u in intended.items() if u.synced}
        missing = sorted((UserRef(id=u.id, upn=u.upn, display_name=u.display_name, detail="not in the group")
                          for k, u in intended.items() if k not in in_group), key=lambda r: r.upn.casefold())
        findings.append(_intended(ctx, wanted.intended, len(intended), missing, evidence, name))
    if not wanted.allow_guests:
        guests = sorted((UserRef(id=u.id, upn=u.upn, display_name=u.display_name, detail="guest")
                         for u in members if u.guest), key=lambda r: r.upn.casefold())
        findings.append(_guests(ctx, guests, evidence, name))
    return findings


def _size(ctx: Context, count: int, minimum: int, evidence: list[Evidence], name: str) -> Finding:
    expected, actual = {"min_members": minimum}, {"enabled_members": count}
    if count >= minimum:
        return ctx.result(Status.passed, target="scope group", expected=expected, actual=actual, evidence=evidence,
                          key="coverage.scope_group.min_members")
    return ctx.result(Status.failed, target="scope group", expected=expected, actual=actual, evidence=evidence,
                      key="coverage.scope_group.min_members",
                      reason=f"{name} holds {count} enabled member account(s); the policy asks for at least {minimum}")


def _intended(ctx: Context, rule: str, intended: int, missing: list[UserRef], evidence: list[Evidence],
              name: str) -> Finding:
    expected = {"intended": rule, "missing": 0}
    actual = {"intended": intended, "missing": len(missing), "missing_users": shown(missing)}
    if not missing:
        return ctx.result(Status.passed, target="intended users", expected=expected, actual=actual,
                          evidence=evidence, key="coverage.scope_group.intended")
    who = "enabled member accounts" if rule == "all_members" else "enabled accounts synced from AD"
    return ctx.result(Status.failed, target="intended users", expected=expected, actual=actual, evidence=evidence,
                      key="coverage.scope_group.intended",
                      reason=f"{len(missing)} of the {intended} {who} are not in {name}, so they cannot reset")


def _guests(ctx: Context, guests: list[UserRef], evidence: list[Evidence], name: str) -> Finding:
    expected, actual = {"guests": 0}, {"guests": len(guests), "guest_users": shown(guests)}
    if not guests:
        return ctx.result(Status.passed, target="guests in scope group", expected=expected, actual=actual,
                          evidence=evidence, key="coverage.scope_group.allow_guests")
    return ctx.result(Status.failed, target="guests in scope group", expected=expected, actual=actual,
                      evidence=evidence, key="coverage.scope_group.allow_guests",
                      reason=f"{name} holds {len(guests)} guest(s); SSPR does not serve guests in this tenant")
