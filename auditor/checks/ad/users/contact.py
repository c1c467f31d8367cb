"""ad.users.contact: in-scope users have the policy's phone attributes, in `+CC NUMBER` form."""

from __future__ import annotations

from auditor.ad.phone import phone_problem
from auditor.checks.ad import directory_state, in_scope_label, wanted
from auditor.checks.base import CheckSpec, Context, Evidence, Finding, Fix, Severity, Status

KEY = "directory.contact_attributes"

SPEC = CheckSpec(
    id="ad.users.contact",
    title="In-scope users have authentication phone numbers in +CC NUMBER form",
    severity=Severity.medium,
    policy_key=KEY,
    sections=("directory",),
    changed_attributes=("mobile", "telephoneNumber"),
    references=(
        "https://learn.microsoft.com/entra/identity/authentication/howto-sspr-authenticationdata",
    ),
    fix=Fix(
        portal="Active Directory Users and Computers > the user > Telephones > Mobile (and Telephone number): the "
               "user's own number as +, the country code, a space, then the number in digits only",
        powershell="Set-ADUser -Identity '<user DN>' -MobilePhone '<+CC NUMBER>'",
        console="Active Directory Users and Computers",
        shell="PowerShell (ActiveDirectory module)",
        fills=(("<user DN>", "target"),),
    ),
    description="Entra Connect syncs mobile and telephoneNumber to the authentication phones only in the form "
                "+CountryCode Number; other forms leave users without a phone method for SSPR.",
    manual=("phone numbers are personal data the plan cannot know; correct them at the source (HR "
            "system or the user's AD object)"),
)


def evaluate(ctx: Context) -> list[Finding]:
    directory = wanted(ctx)
    attributes = directory.contact_attributes
    if not attributes:
        return [ctx.result(Status.not_applicable, target="in-scope users", key=KEY,
                           reason="the policy names no contact attributes")]
    state = directory_state(ctx)
    findings = []
    for user in state.in_scope_users():
        problems = {}
        for name in attributes:
            problem = phone_problem(user.attribute(name), allow_extension=name == "telephoneNumber")
            if problem:
                problems[name] = problem
        if not problems:
            continue
        findings.append(ctx.result(
            Status.failed, target=user.dn, expected={n: "+CC NUMBER" for n in attributes},
            actual={n: user.attribute(n) for n in attributes},
            evidence=[Evidence(source=user.dn, field=n, value=user.attribute(n)) for n in attributes],
            reason="; ".join(f"{name}: {problem}" for name, problem in problems.items())))
    if not findings:
        findings.append(ctx.result(
            Status.passed, target=in_scope_label(state, directory), expected={n: "+CC NUMBER" for n in attributes},
            actual="all present and well-formed",
            evidence=[Evidence(source=ctx.source("directory"), field=", ".join(attributes),
                               value=f"{len(state.in_scope_users())} users checked")]))
    return findings
