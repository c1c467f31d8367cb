"""ad.acl.reach_beyond: the sync account's Reset Password does not reach users outside the target OUs.

`ad.acl.writeback_rights` counts a broader grant (the domain head's, as an Express install of Entra Connect sets
it) toward a pass on each target OU. This check looks the other way: which users outside the target OUs (not
synced by the policy's account: service accounts, admins, CN=Users) the same grant lets the sync account reset,
and which of them are protected (adminCount=1 or in a protected group). Whoever takes the Entra Connect server
holds the account's rights (Microsoft: treat the server as tier 0, "Entra Connect: Accounts and permissions").
"""

from __future__ import annotations

from auditor.ad.dn import dn_key, is_within, rdn_value
from auditor.checks.ad import directory_state, sample, wanted
from auditor.checks.base import CheckSpec, Context, Evidence, Finding, Fix, Severity, Status
from auditor.snapshot.directory import GrantPoint, ReachedUser

KEY = "directory.rights.allow_beyond_target_ous"
TARGET = "beyond the target OUs"

SPEC = CheckSpec(
    id="ad.acl.reach_beyond",
    title="The sync account cannot reset users outside the target OUs",
    severity=Severity.high,
    policy_key=KEY,
    sections=("directory",),
    changed_attributes=("nTSecurityDescriptor",),  # the DACL that holds the broad grant
    references=(
        "https://learn.microsoft.com/entra/identity/hybrid/connect/reference-connect-accounts-permissions",
        "https://learn.microsoft.com/entra/identity/hybrid/connect/how-to-connect-configure-ad-ds-connector-account",
    ),
    fix=Fix(
        portal="Active Directory Users and Computers > View > Advanced Features > the container named > Properties "
               "> Security > Advanced: remove the sync account's Reset Password ACE and grant it on the target OUs "
               "only (Applies to: Descendant User objects)",
        powershell="Import-Module ADSyncConfig; Set-ADSyncPasswordWritebackPermissions "
                   "-ADConnectorAccountDN '<account DN>' -ADObjectDN '<target OU DN>' (then remove the broad ACE "
                   "with dsacls '<container DN>' /R '<DOMAIN>\\<sync account>')",
        console="Active Directory Users and Computers",
        shell="PowerShell on the Entra Connect server (ADSyncConfig module)",
    ),
    description="Finds containers outside the target OUs (the domain head, OUs, the containers below the head) "
                "whose own ACE passes Reset Password down to user objects for the sync account or its groups, "
                "then the users below them, outside the target OUs, whose DACL grants it; names them, protected "
                "ones first.",
    manual=("removing the broad grant takes Reset Password away from the sync account wherever it reaches, and the "
            "plan's directory writer only adds ACEs: grant the rights on the target OUs first, then remove the broad "
            "ACE by hand"),
)


def evaluate(ctx: Context) -> list[Finding]:
    directory = wanted(ctx)
    state = directory_state(ctx)
    reach = state.reach_beyond
    source = ctx.source("directory")
    if reach is None:
        return [ctx.result(Status.unknown, target=TARGET, key=KEY,
                           reason="this snapshot did not read where the sync account's rights reach: collect again")]
    if reach.error is not None:
        return [ctx.result(Status.unknown, target=TARGET, key=KEY, reason=reach.error,
                           evidence=[Evidence(source=source, field="grant points", value=None)])]
    allowed = directory.rights.allow_beyond_target_ous
    expected = "Reset Password on the target OUs only" + (" (wider accepted)" if allowed else "")
    out = []
    if reach.unread_containers:  # a grant point may hide in a descriptor that was not read: never "no grant"
        out.append(ctx.result(
            Status.unknown, target=TARGET, key=KEY, expected=expected, actual=reach.unread_containers[:50],
            evidence=[Evidence(source=dn, field="nTSecurityDescriptor (DACL)", value=None)
                      for dn in reach.unread_containers[:20]],
            reason=f"{len(reach.unread_containers)} container(s) outside the target OUs were returned without "
                   f"their descriptor ({sample(reach.unread_containers)}): whether they pass Reset Password down "
                   "to their users is not known"))
    if not reach.grant_points:
        return out or [ctx.result(Status.passed, target=TARGET, key=KEY, expected=expected,
                                  actual="no container outside the target OUs grants it",
                                  evidence=[Evidence(source=source, field="containers whose DACL was read",
                                                     value=reach.containers_read)])]
    by_point = _by_nearest_point(reach.grant_points, reach.users)
    unread = _by_nearest_dn(reach.grant_points, reach.unread_users)
    for point in reach.grant_points:
        users = by_point.get(dn_key(point.dn), [])
        out.append(_finding(ctx, point, users, allowed, expected, source, unread.get(dn_key(point.dn), [])))
    return out


def _by_nearest_dn(points: list[GrantPoint], dns: list[str]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    deepest_first = sorted(points, key=lambda p: -len(p.dn))
    for dn in dns:
        point = next((p for p in deepest_first if is_within(dn, p.dn)), None)
        if point is not None:
            out.setdefault(dn_key(point.dn), []).append(dn)
    return out


def _by_nearest_point(points: list[GrantPoint], users: list[ReachedUser]) -> dict[str, list[ReachedUser]]:
    out: dict[str, list[ReachedUser]] = {}
    deepest_first = sorted(points, key=lambda p: -len(p.dn))
    for user in users:
        point = next((p for p in deepest_first if is_within(user.dn, p.dn)), None)
        if point is not None:
            out.setdefault(dn_key(point.dn), []).append(user)
    return out


def _name(user: ReachedUser) -> str:
    return user.sam_account_name or rdn_value(user.dn)


def _finding(ctx: Context, point: GrantPoint, users: list[ReachedUser], allowed: bool, expected: str,
             source: str, unread: list[str]) -> Finding:
    protected = [u for u in users if u.protected]
    names = [_name(u) for u in users]
    protected_names = [f"{_name(u)} ({', '.join(u.privileged_via) or 'adminCount=1'})" for u in protected]
    actual = {"users reached": len(users), "protected": protected_names, "users": names[:50]}
    evidence = [Evidence(source=point.dn, field="nTSecurityDescriptor (DACL): Reset Password to user objects",
                        value=point.ace),
                *(Evidence(source=u.dn, field="Reset Password on its DACL" + (" (protected)" if u.protected else ""),
                           value=u.ace) for u in users[:20])]
    if unread:
        actual["descriptor not read"] = unread[:50]
        evidence.append(Evidence(source=source, field="users below it whose descriptor was not read",
                                 value=len(unread)))
    if not users and unread and not allowed:
        return ctx.result(Status.unknown, target=point.dn, key=KEY, expected=expected, actual=actual,
                          evidence=evidence,
                          reason=f"{point.dn} passes Reset Password for the sync account down to user objects, and "
                                 f"{len(unread)} user(s) below it, outside the target OUs, were returned without "
                                 f"their descriptor ({sample([rdn_value(d) for d in unread])}): whether the grant "
                                 "reaches them is not known")
    if not users:
        return ctx.result(Status.passed, target=point.dn, key=KEY, expected=expected, actual=actual,
                          evidence=[*evidence, Evidence(source=source, field="users reached outside target OUs",
                                                        value=0)],
                          reason="the grant reaches no user outside the target OUs today, but any user created "
                                 "below this container will inherit it")
    summary = (f"{len(users)} user(s) outside the target OUs, not synced by this policy, inherit Reset Password "
               f"for the sync account from {point.dn}: {sample(names)}")
    if protected:
        summary += f"; {len(protected)} of them protected: {sample(protected_names)}"
    if allowed:
        return ctx.result(Status.passed, target=point.dn, key=KEY, expected=expected, actual=actual,
                          evidence=evidence, reason=f"accepted by {KEY}: {summary}")
    return ctx.result(Status.failed, target=point.dn, key=KEY, expected=expected, actual=actual, evidence=evidence,
                      reason=summary + ". Whoever takes the Entra Connect server can reset them; grant the rights on "
                                       "the target OUs only")
