"""ad.users.privileged: no on-premises admin is in the synced, resettable scope."""

from __future__ import annotations

from auditor.checks.ad import directory_state, in_scope_label, wanted
from auditor.checks.base import CheckSpec, Context, Evidence, Finding, Fix, Severity, Status

KEY = "directory.users.allow_privileged"

SPEC = CheckSpec(
    id="ad.users.privileged",
    title="No on-premises administrator is in the synced OUs",
    severity=Severity.high,
    policy_key=KEY,
    sections=("directory",),
    changed_attributes=("adminCount",),
    references=(
        "https://learn.microsoft.com/entra/architecture/protect-m365-from-on-premises-attacks",
        "https://learn.microsoft.com/windows-server/identity/ad-ds/plan/security-best-practices/"
        "appendix-c--protected-accounts-and-groups-in-active-directory",
    ),
    fix=Fix(
        portal="Move the admin account to an OU that is not synced (or out of the sync scope filter) and use a "
               "separate cloud-only admin account",
        powershell="Move-ADObject -Identity '<user DN>' -TargetPath '<non-synced OU DN>'",
        console="Active Directory Users and Computers",
        shell="PowerShell (ActiveDirectory module)",
        fills=(("<user DN>", "target"),),
    ),
    description="A user counts as privileged with adminCount=1 or membership (direct, nested or primary group) "
                "of a group AdminSDHolder protects (Domain Admins, Administrators, Account Operators, …).",
    manual=("whether an admin stays in the synced OUs or in an admin group is a decision about that "
            "account; move it out of scope or waive the finding"),
)


def evaluate(ctx: Context) -> list[Finding]:
    directory = wanted(ctx)
    if directory.users.allow_privileged:
        return [ctx.result(Status.not_applicable, target="in-scope users", key=KEY,
                           reason="the policy allows privileged users in the synced OUs")]
    state = directory_state(ctx)
    findings = []
    for user in state.in_scope_users():
        why = list(user.privileged_via)
        if user.admin_count == 1:
            why.append("adminCount=1")
        if not why:
            continue
        findings.append(ctx.result(
            Status.failed, target=user.dn, expected="not privileged", actual=", ".join(why),
            evidence=[Evidence(source=user.dn, field="adminCount", value=user.admin_count),
                      Evidence(source=user.dn, field="memberOf (protected groups)", value=user.privileged_via)],
            reason="an on-premises admin in the synced OUs: a cloud password reset written back would take over "
                   "a privileged on-premises account, and AdminSDHolder keeps writeback from working for it"))
    if not findings:
        findings.append(ctx.result(
            Status.passed, target=in_scope_label(state, directory), expected="not privileged",
            actual="no privileged users",
            evidence=[Evidence(source=ctx.source("directory"), field="adminCount, protected group membership",
                               value="none in scope")]))
    return findings
