"""ad.gpo.min_password_age: the Default Domain Policy and the domain allow a reset at any time.

Two findings, side by side: the GPO's `MinimumPasswordAge` (GptTmpl.inf on SYSVOL, the source
of truth on Windows) and the domain head's effective `minPwdAge`. When they disagree the
reason says which one will win.
"""

from __future__ import annotations

from auditor.ad.wellknown import DEFAULT_DOMAIN_POLICY_GUID
from auditor.checks.ad import wanted
from auditor.checks.base import CheckSpec, Context, Evidence, Finding, Fix, Severity, Status, Unreadable
from auditor.snapshot.directory import DirectoryState, SysvolState

KEY = "directory.password_age.minimum_days"
GPO_TARGET = f"Default Domain Policy {DEFAULT_DOMAIN_POLICY_GUID}"

SPEC = CheckSpec(
    id="ad.gpo.min_password_age",
    title="The domain's minimum password age lets writeback reset a password at any time",
    severity=Severity.high,
    policy_key=KEY,
    sections=("directory", "sysvol"),
    references=(
        "https://learn.microsoft.com/entra/identity/authentication/tutorial-enable-sspr-writeback",
        "https://learn.microsoft.com/windows/security/threat-protection/security-policy-settings/"
        "minimum-password-age",
    ),
    fix=Fix(
        portal="Group Policy Management > Default Domain Policy > Edit > Computer Configuration > Policies > "
               "Windows Settings > Security Settings > Account Policies > Password Policy > Minimum password "
               "age = 0 days",
        powershell="Set-ADDefaultDomainPasswordPolicy -Identity <domain> -MinPasswordAge 0.00:00:00",
    ),
    description="Reads MinimumPasswordAge from the Default Domain Policy's GptTmpl.inf over SMB and the domain "
                "head's minPwdAge over LDAP; both must be at most the policy's minimum_days.",
)


def evaluate(ctx: Context) -> list[Finding]:
    limit = wanted(ctx).password_age.minimum_days
    gpo, gpo_error = _read(ctx, "sysvol")
    domain, domain_error = _read(ctx, "directory")
    gpo_days = gpo.minimum_password_age if isinstance(gpo, SysvolState) else None
    domain_days = domain.min_pwd_age_days if isinstance(domain, DirectoryState) else None
    return [_gpo_finding(ctx, limit, gpo, gpo_error, domain_days),
            _domain_finding(ctx, limit, domain, domain_error, gpo_days)]


def _read(ctx: Context, name: str) -> tuple[object | None, Unreadable | None]:
    try:
        return ctx.section(name), None
    except Unreadable as exc:
        return None, exc


def _expected(limit: int) -> str:
    return f"≤ {limit} day(s)"


def _gpo_finding(ctx: Context, limit: int, gpo: object | None, error: Unreadable | None,
                 domain_days: int | None) -> Finding:
    if not isinstance(gpo, SysvolState):
        assert error is not None
        return ctx.result(Status.unknown, target=GPO_TARGET, expected=_expected(limit), reason=error.reason,
                          evidence=error.evidence)
    evidence = [Evidence(source=gpo.path, field="[System Access] MinimumPasswordAge", value=gpo.minimum_password_age),
                Evidence(source=gpo.path, field="encoding", value=f"{gpo.encoding} {gpo.newline}".strip()
                         if gpo.present else "file absent"),
                Evidence(source=ctx.source("directory"), field="minPwdAge (days)", value=domain_days)]
    if gpo.minimum_password_age is None:
        where = "has no GptTmpl.inf" if not gpo.present else "does not set MinimumPasswordAge"
        return ctx.result(Status.failed, target=GPO_TARGET, expected=_expected(limit), actual=None,
                          evidence=evidence,
                          reason=f"the Default Domain Policy {where}, so nothing keeps the domain's minimum "
                                 f"age at {limit}; set it to {limit} in the GPO")
    days = gpo.minimum_password_age
    status = Status.passed if days <= limit else Status.failed
    reason = None if status == Status.passed else (
        f"the GPO sets a minimum password age of {days} day(s): AD refuses a written-back reset or change "
        f"within {days} day(s) of the last one")
    if domain_days is not None and domain_days != days:
        reason = ((reason + "; ") if reason else "") + (
            f"the domain's minPwdAge says {domain_days} day(s): Windows DCs rewrite it from this GPO at the "
            f"next policy refresh, so {days} day(s) is the value that lasts")
    return ctx.result(status, target=GPO_TARGET, expected=_expected(limit), actual=days, evidence=evidence,
                      reason=reason)


def _domain_finding(ctx: Context, limit: int, domain: object | None, error: Unreadable | None,
                    gpo_days: int | None) -> Finding:
    if not isinstance(domain, DirectoryState):
        assert error is not None
        return ctx.result(Status.unknown, target="domain minPwdAge", expected=_expected(limit),
                          reason=error.reason, evidence=error.evidence)
    days = domain.min_pwd_age_days
    evidence = [Evidence(source=domain.base_dn, field="minPwdAge", value=domain.min_pwd_age),
                Evidence(source=GPO_TARGET, field="MinimumPasswordAge", value=gpo_days)]
    if days is None:
        return ctx.result(Status.unknown, target=domain.base_dn, expected=_expected(limit), evidence=evidence,
                          reason="the domain head returned no minPwdAge")
    status = Status.passed if days <= limit else Status.failed
    reason = None if status == Status.passed else (
        f"the domain's effective minimum password age is {days} day(s) (minPwdAge {domain.min_pwd_age}): "
        "users without a fine-grained policy cannot reset again within that time")
    if gpo_days is not None and gpo_days != days:
        reason = ((reason + "; ") if reason else "") + (
            f"the Default Domain Policy says {gpo_days} day(s) and will overwrite this value on Windows DCs")
    return ctx.result(status, target=domain.base_dn, expected=_expected(limit), actual=days, evidence=evidence,
                      reason=reason)
