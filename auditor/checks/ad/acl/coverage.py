"""ad.acl.coverage: every in-scope user actually receives the writeback rights its OU grants.

A right granted on the OU can still miss a user: inheritance disabled on the user (protected
DACL), AdminSDHolder rewriting an `adminCount=1` user's DACL, a deny ACE, or an OU in between
that blocks inheritance. Rights the OU itself lacks are `ad.acl.writeback_rights` findings,
not repeated here per user.
"""

from __future__ import annotations

from auditor.ad.dn import dn_key, parent, same_dn
from auditor.ad.rights import USER_CLASS, Right
from auditor.ad.sd import DaclFacts, Decision, effective_right, inherited_right
from auditor.checks.ad import describe, directory_state, in_scope_label, required_rights, wanted
from auditor.checks.base import CheckSpec, Context, Evidence, Finding, Fix, Severity, Status
from auditor.snapshot.directory import DirectoryState, DirectoryUser, ServiceAccount

SPEC = CheckSpec(
    id="ad.acl.coverage",
    title="Every in-scope user actually receives the writeback rights",
    severity=Severity.high,
    policy_key="directory.rights",
    sections=("directory",),
    changed_attributes=("nTSecurityDescriptor", "adminCount"),
    references=(
        "https://learn.microsoft.com/entra/identity/authentication/troubleshoot-sspr-writeback",
        "https://learn.microsoft.com/windows-server/identity/ad-ds/plan/security-best-practices/"
        "appendix-c--protected-accounts-and-groups-in-active-directory",
    ),
    fix=Fix(
        portal="Active Directory Users and Computers > the user > Properties > Security > Advanced > Enable "
               "inheritance; for adminCount=1 users either move them out of the synced OUs or grant the rights "
               "on CN=AdminSDHolder,CN=System",
        powershell='dsacls "<user DN>" /P:N',
        console="Active Directory Users and Computers",
        shell="Command prompt (dsacls)",
        fills=(("<user DN>", "target"),),
    ),
    description="Evaluates each in-scope user's own DACL (as the DC computed it) for the sync account's SIDs.",
    manual=("fixing a user's own DACL (re-enabling inheritance, or granting on AdminSDHolder) brings "
            "back or stamps permissions beyond writeback: decide per account"),
)


def evaluate(ctx: Context) -> list[Finding]:
    directory = wanted(ctx)
    state = directory_state(ctx)
    account = state.service_account
    users = state.in_scope_users()
    if account is None:
        return [ctx.result(Status.unknown, target=in_scope_label(state, directory),
                           reason=f"the sync account {directory.service_account!r} does not exist "
                                  "(see ad.service_account), so no user can receive its rights")]
    ou_grants = _granted_by_ou(state, account, required_rights(directory))
    findings: list[Finding] = []
    unread = []
    # users share DACLs (kept once per key): decide once per (DACL, target OU)
    missing_for: dict[tuple[str, str], bool] = {}
    for user in users:
        dacl = state.dacl_of(user)
        if dacl is None or user.dacl_key is None:
            unread.append(user.dn)
            continue
        memo = (user.dacl_key, user.target_ou)
        expected = ou_grants.get(user.target_ou, [])
        if memo not in missing_for:
            missing_for[memo] = any(not effective_right(dacl, account.token_sids, r, USER_CLASS).granted
                                    for r in expected)
        if missing_for[memo]:
            findings.append(_user_finding(ctx, state, account, user, dacl, expected))
    if unread:
        findings.append(ctx.result(
            Status.unknown, target=f"{len(unread)} user(s) whose descriptor was not read",
            actual=unread[:50], reason="the DC returned no nTSecurityDescriptor for these users"))
    if not findings:
        findings.append(ctx.result(
            Status.passed, target=in_scope_label(state, directory),
            expected="every right the OU grants reaches every in-scope user", actual="all receive them",
            evidence=[Evidence(source=ctx.source("directory"), field="in-scope users", value=len(users))]))
    return findings


def _granted_by_ou(state: DirectoryState, account: ServiceAccount, rights: list[Right]) -> dict[str, list[Right]]:
    """Target OU (as the users name it) → the rights it passes down to user objects."""
    granted: dict[str, list[Right]] = {}
    for ou in state.target_ous:
        if ou.dacl is not None:
            granted[dn_key(ou.dn)] = [r for r in rights if inherited_right(ou.dacl, account.token_sids, r).granted]
    names = {u.target_ou for u in state.users}
    return {name: granted.get(dn_key(name), []) for name in names}


def _user_finding(ctx: Context, state: DirectoryState, account: ServiceAccount, user: DirectoryUser,
                  dacl: DaclFacts, expected: list[Right]) -> Finding:
    decisions = {r.name: effective_right(dacl, account.token_sids, r, USER_CLASS) for r in expected}
    missing = [r for r in expected if not decisions[r.name].granted]
    why = _why(state, account, user, dacl, missing, decisions)
    return ctx.result(
        Status.failed, target=user.dn,
        expected=[r.label for r in expected], actual=[r.label for r in expected if r not in missing],
        evidence=[
            Evidence(source=user.dn, field="nTSecurityDescriptor control", value="protected" if dacl.protected
                     else "inherits"),
            Evidence(source=user.dn, field="adminCount", value=user.admin_count),
            *[Evidence(source=user.dn, field=r.label, value=describe(decisions[r.name], account)) for r in missing],
        ],
        reason=why,
    )


def _why(state: DirectoryState, account: ServiceAccount, user: DirectoryUser, dacl: DaclFacts,
         missing: list[Right], decisions: dict[str, Decision]) -> str:
    labels = ", ".join(r.label for r in missing)
    if user.admin_count == 1:
        holder = state.admin_sd_holder.dacl
        held = [r for r in missing if holder is not None and effective_right(holder, account.token_sids, r).granted]
        if len(held) == len(missing):
            return (f"adminCount=1: AdminSDHolder grants {labels} but this user's DACL does not have them yet "
                    "(SDProp copies them within the hour)")
        return (f"adminCount=1: AdminSDHolder replaces this user's DACL every hour and does not grant {labels}; "
                f"writeback to this protected account fails")
    if dacl.protected:
        return f"inheritance is disabled on this user (protected DACL), so the OU's ACEs for {labels} do not reach it"
    denied = [r for r in missing if decisions[r.name].denied]
    if denied:
        return f"a deny ACE comes first: {labels} {describe(decisions[denied[0].name], account)}"
    below = "" if same_dn(user.target_ou, parent(user.dn)) else " (an OU in between blocks inheritance)"
    return f"{labels} granted on {user.target_ou} do not reach this user{below}"
