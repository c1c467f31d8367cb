"""ad.users.temporary_password: no in-scope user has a temporary password (pwdLastSet = 0)."""

from __future__ import annotations

from auditor.checks.ad import directory_state, in_scope_label, sample, wanted
from auditor.checks.base import CheckSpec, Context, Evidence, Finding, Fix, Severity, Status

KEY = "directory.users.allow_temporary_password"

SPEC = CheckSpec(
    id="ad.users.temporary_password",
    title="No in-scope user has a temporary password (must change at next logon)",
    severity=Severity.medium,
    policy_key=KEY,
    sections=("directory",),
    changed_attributes=("pwdLastSet",),
    references=(
        "https://learn.microsoft.com/entra/identity/hybrid/connect/how-to-connect-password-hash-synchronization"
        "#synchronizing-temporary-passwords-and-force-password-change-on-next-logon",
    ),
    fix=Fix(
        portal="Active Directory Users and Computers > the user > Account > clear 'User must change password at "
               "next logon' once the user has set a password",
        powershell="Set-ADUser -Identity '<user DN>' -ChangePasswordAtLogon $false",
        console="Active Directory Users and Computers",
        shell="PowerShell (ActiveDirectory module)",
        fills=(("<user DN>", "target"),),
    ),
    description="pwdLastSet = 0 marks a temporary password: it is not synced, and the user cannot sign in to "
                "the cloud to reset until they change it on-premises.",
    manual=("the plan never sets passwords: the user (or an admin) must set a new one, which also "
            "clears 'must change password at next logon'"),
)


def evaluate(ctx: Context) -> list[Finding]:
    directory = wanted(ctx)
    if directory.users.allow_temporary_password:
        return [ctx.result(Status.not_applicable, target="in-scope users", key=KEY,
                           reason="the policy allows temporary passwords")]
    state = directory_state(ctx)
    users = state.in_scope_users()
    findings = [
        ctx.result(Status.failed, target=u.dn, expected="pwdLastSet ≠ 0", actual=0,
                   evidence=[Evidence(source=u.dn, field="pwdLastSet", value=0)],
                   reason="the user must change the password at next logon; the temporary password is not synced, "
                          "so the user cannot use SSPR until it is changed on-premises")
        for u in users if u.pwd_last_set == 0
    ]
    unread = [u.sam_account_name or u.dn for u in users if u.pwd_last_set is None]
    if unread:
        findings.append(ctx.result(Status.unknown, target=f"{len(unread)} user(s) without pwdLastSet",
                                   reason=f"pwdLastSet was not returned for: {sample(unread)}"))
    if not findings:
        findings.append(ctx.result(Status.passed, target=in_scope_label(state, directory),
                                   expected="pwdLastSet ≠ 0", actual="no temporary passwords",
                                   evidence=[Evidence(source=ctx.source("directory"), field="pwdLastSet",
                                                      value=f"non-zero for {len(users)} users")]))
    return findings
