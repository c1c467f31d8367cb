"""ad.acl.unexpire_password: the sync account holds Unexpire Password on the domain head (when asked)."""

from __future__ import annotations

from auditor.ad.rights import DOMAIN_DNS_CLASS, UNEXPIRE_PASSWORD
from auditor.ad.sd import effective_right
from auditor.checks.ad import ace_evidence, describe, directory_state, needs_unexpire, wanted
from auditor.checks.ad.acl import grant
from auditor.checks.ad.acl.writeback_rights import NO_DESCRIPTOR
from auditor.checks.base import CheckSpec, Context, Evidence, Finding, Fix, Severity, Status, Subject
from auditor.fixes.fixer import FixContext, Fixer
from auditor.snapshot.directory import DirectoryState

KEY = "directory.rights.unexpire_password"
SUBJECT = Subject(right=UNEXPIRE_PASSWORD.name)

SPEC = CheckSpec(
    id="ad.acl.unexpire_password",
    title="The sync account holds Unexpire Password on the domain",
    severity=Severity.medium,
    policy_key=KEY,
    sections=("directory",),
    changed_attributes=("nTSecurityDescriptor",),
    references=(
        "https://learn.microsoft.com/entra/identity/authentication/tutorial-enable-sspr-writeback",
        "https://learn.microsoft.com/windows/win32/adschema/r-unexpire-password",
    ),
    fix=Fix(
        portal="Active Directory Users and Computers > the domain > Properties > Security > Advanced > Add the "
               "sync account, Applies to: This object only, tick Unexpire Password",
        powershell='dsacls "<domain DN>" /G "<DOMAIN>\\<sync account>:CA;Unexpire Password"',
        console="Active Directory Users and Computers",
        shell="Command prompt (dsacls)",
        fills=(("<domain DN>", "domain_dn"), ("<sync account>", "sync_account")),
    ),
    description="Only needed when on-premises passwords expire and users reset an expired password.",
)


def evaluate(ctx: Context) -> list[Finding]:
    directory = wanted(ctx)
    if not needs_unexpire(directory):
        return [ctx.result(Status.not_applicable, target="domain", key=KEY, subject=SUBJECT,
                           reason="the policy does not ask for Unexpire Password (nor sync_engine: cloud_sync)")]
    state = directory_state(ctx)
    domain, account = state.domain, state.service_account
    if domain.dacl is None:
        return [ctx.result(Status.unknown, target=domain.dn, key=KEY, subject=SUBJECT,
                           reason=domain.error or "the domain head's security descriptor was not read")]
    if account is None:
        return [ctx.result(Status.failed, target=domain.dn, key=KEY, subject=SUBJECT, expected="Unexpire Password",
                           actual="the sync account does not exist",
                           evidence=[Evidence(source=ctx.source("directory"), field="sAMAccountName",
                                              value=directory.service_account)],
                           reason=f"the sync account {directory.service_account!r} was not found")]
    decision = effective_right(domain.dacl, account.token_sids, UNEXPIRE_PASSWORD, DOMAIN_DNS_CLASS)
    status = Status.passed if decision.granted else Status.failed
    return [ctx.result(
        status, target=domain.dn, key=KEY, subject=SUBJECT,
        expected=f"Unexpire Password for {account.sam_account_name}",
        actual=describe(decision, account),
        evidence=[ace_evidence(domain.dn, "nTSecurityDescriptor (DACL)", decision.ace)],
        reason=None if decision.granted else
        "without it, writeback cannot reset a password that has expired on-premises"
        + ("; Cloud Sync's gMSA is granted it by default (gmsa-cloud-sync, Password Writeback)"
           if directory.sync_engine == "cloud_sync" else ""))]


def fix(fx: FixContext, failing: list[Finding]) -> None:
    """Unexpire Password on the domain head itself (it joins a change `ad.acl.writeback_rights` makes there)."""
    state: DirectoryState | None = fx.value("directory")
    if state is None or fx.policy.directory is None or not failing:
        return
    account, domain = state.service_account, state.domain
    if account is None or domain.dacl is None:
        return
    if domain.descriptor_b64 is None:
        for finding in failing:
            fx.manual_step(finding, NO_DESCRIPTOR)
        return
    grant(fx, account, domain, [(UNEXPIRE_PASSWORD, f) for f in failing], object_only=True)


FIXER = Fixer(plan=fix, after=("ad.acl.writeback_rights",))
