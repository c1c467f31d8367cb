"""ad.acl.unexpire_password: the sync account holds Unexpire Password on the domain head when passwords expire.

`when_passwords_expire` (the default) applies the check when on-premises passwords expire: the domain head's maxPwdAge
(the domain's account policy, written from the GPO that wins at the domain head), the winning GPO's MaximumPasswordAge
(what the domain head takes at the next refresh) or the msDS-MaximumPasswordAge of a fine-grained policy that wins for
an in-scope user. 0 and the minimum interval mean never (a-maxpwdage; maximum-password-age). Microsoft's writeback
tutorial lists Unexpire Password for resetting an expired password; without it the reset of such a user fails.
"""

from __future__ import annotations

from dataclasses import dataclass

from auditor.ad.dn import dn_key
from auditor.ad.intervals import interval_whole_days, never_expires
from auditor.ad.rights import DOMAIN_DNS_CLASS, UNEXPIRE_PASSWORD
from auditor.ad.sd import effective_right
from auditor.checks.ad import ace_evidence, describe, directory_state, needs_unexpire, unexpire_always, wanted
from auditor.checks.ad.acl import grant
from auditor.checks.ad.acl.writeback_rights import NO_DESCRIPTOR
from auditor.checks.base import (
    CheckSpec,
    Context,
    Evidence,
    Finding,
    Fix,
    OptionalSection,
    Severity,
    Status,
    Subject,
    Unreadable,
)
from auditor.derive import gpo_precedence
from auditor.fixes.fixer import FixContext, Fixer
from auditor.snapshot.directory import DirectoryState, SysvolState

KEY = "directory.rights.unexpire_password"
SUBJECT = Subject(right=UNEXPIRE_PASSWORD.name)

SPEC = CheckSpec(
    id="ad.acl.unexpire_password",
    title="The sync account holds Unexpire Password on the domain",
    severity=Severity.medium,
    policy_key=KEY,
    sections=("directory", "sysvol"),
    changed_attributes=("nTSecurityDescriptor", "maxPwdAge", "msDS-MaximumPasswordAge"),
    optional=(OptionalSection("sysvol", "the winning GPO's MaximumPasswordAge is left out of whether passwords "
                              "expire; the domain head's maxPwdAge and the fine-grained policies still decide"),),
    references=(
        "https://learn.microsoft.com/entra/identity/authentication/tutorial-enable-sspr-writeback",
        "https://learn.microsoft.com/windows/win32/adschema/r-unexpire-password",
        "https://learn.microsoft.com/windows/win32/adschema/a-maxpwdage",
        "https://learn.microsoft.com/windows/security/threat-protection/security-policy-settings/"
        "maximum-password-age",
    ),
    fix=Fix(
        portal="Active Directory Users and Computers > the domain > Properties > Security > Advanced > Add the "
               "sync account, Applies to: This object only, tick Unexpire Password",
        powershell='dsacls "<domain DN>" /G "<DOMAIN>\\<sync account>:CA;Unexpire Password"',
        console="Active Directory Users and Computers",
        shell="Command prompt (dsacls)",
        fills=(("<domain DN>", "domain_dn"), ("<sync account>", "sync_account")),
    ),
    description="Applies when on-premises passwords expire (maxPwdAge of the domain head, the winning GPO's "
                "MaximumPasswordAge, msDS-MaximumPasswordAge of a fine-grained policy that wins for an in-scope "
                "user), or always when the policy says true.",
)


def evaluate(ctx: Context) -> list[Finding]:
    directory = wanted(ctx)
    if not needs_unexpire(directory):
        return [ctx.result(Status.not_applicable, target="domain", key=KEY, subject=SUBJECT,
                           reason="the policy does not ask for Unexpire Password (nor sync_engine: cloud_sync)")]
    state = directory_state(ctx)
    why = ""
    if not unexpire_always(directory):
        sysvol = _sysvol(ctx)
        sources, unread = expiry_sources(state, sysvol)
        evidence = [Evidence(source=s.source, field=s.field, value=s.shown) for s in sources + unread]
        expiring = [s for s in sources if s.expires]
        if not expiring and unread:
            return [ctx.result(Status.unknown, target=state.domain.dn, key=KEY, subject=SUBJECT, evidence=evidence,
                               reason="whether on-premises passwords expire is not known: "
                                      + "; ".join(f"{s.field} of {s.source}: {s.shown}" for s in unread))]
        if not expiring:
            return [ctx.result(Status.not_applicable, target=state.domain.dn, key=KEY, subject=SUBJECT,
                               evidence=evidence, reason="on-premises passwords never expire ("
                               + "; ".join(f"{s.field} of {s.source}: never" for s in sources)
                               + "): no reset ever meets an expired password")]
        why = "; passwords expire: " + "; ".join(f"{s.field} of {s.source}: {s.shown}" for s in expiring)
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
        reason=(f"held{why}" if why else None) if decision.granted else
        f"without it, writeback cannot reset a password that has expired on-premises{why}"
        + ("; Cloud Sync's gMSA is granted it by default (gmsa-cloud-sync, Password Writeback)"
           if directory.sync_engine == "cloud_sync" else ""))]


@dataclass(frozen=True)
class Expiry:
    """One place that sets how long on-premises passwords live."""

    source: str
    field: str
    shown: str
    expires: bool = False


def _sysvol(ctx: Context) -> SysvolState | None:
    try:
        value = ctx.section("sysvol")
    except Unreadable:
        return None
    return value if isinstance(value, SysvolState) else None


def _age(source: str, field: str, value: int | None, error: str | None) -> Expiry:
    if value is None:
        return Expiry(source, field, error or "not read (collect again)")
    if never_expires(value):
        return Expiry(source, field, "never")
    return Expiry(source, field, f"{interval_whole_days(value)} day(s)", expires=True)


def expiry_sources(state: DirectoryState, sysvol: SysvolState | None) -> tuple[list[Expiry], list[Expiry]]:
    """(read, unread): the domain head's maxPwdAge, the winning GPO's MaximumPasswordAge (when SYSVOL was read) and
    each fine-grained policy that wins for an in-scope user."""
    found = [_age(state.base_dn, "maxPwdAge", state.max_pwd_age, state.max_pwd_age_error)]
    if sysvol is not None:
        outcome = gpo_precedence.domain_account_setting(state, sysvol, "maximum_password_age")
        if outcome.winner is not None and outcome.value is not None:
            days = int(outcome.value)
            found.append(Expiry(outcome.winner.applied.describe(), "MaximumPasswordAge",
                                f"{days} day(s)" if days > 0 else "never", expires=days > 0))
    winning = {dn_key(u.resultant_pso) for u in state.in_scope_users() if u.resultant_pso}
    for pso in state.password_settings:
        if dn_key(pso.dn) in winning:
            found.append(_age(pso.dn, "msDS-MaximumPasswordAge", pso.max_pwd_age, pso.max_pwd_age_error))
    unread = [e for e in found if not e.expires and e.shown != "never"]
    return [e for e in found if e not in unread], unread


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
