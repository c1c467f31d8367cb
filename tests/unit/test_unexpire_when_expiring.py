"""ad.acl.unexpire_password applies by itself when on-premises passwords expire (issue #35).

Expiry comes from the domain head's maxPwdAge, the winning GPO's MaximumPasswordAge and each fine-grained policy
that wins for an in-scope user; 0 and the minimum interval mean never
(https://learn.microsoft.com/windows/win32/adschema/a-maxpwdage,
https://learn.microsoft.com/windows/security/threat-protection/security-policy-settings/maximum-password-age).
"""

from __future__ import annotations

from auditor.ad.intervals import NEVER, days_to_interval
from auditor.ad.sd import DaclFacts
from auditor.checks.base import Finding, Status
from auditor.checks.registry import check_by_id, run_check
from auditor.snapshot.directory import DirectoryState, SecuredObject, SysvolState

from .cases_ad import BASE, PSO_SALES, baseline_policy, compliant_directory, snapshot, sysvol

CHECK = check_by_id("ad.acl.unexpire_password")
NO_GRANT = SecuredObject(dn=BASE, dacl=DaclFacts(protected=False, aces=()))


def directory(domain_age: int | None = NEVER, pso_age: int | None = NEVER, granted: bool = True,
              error: str | None = None) -> DirectoryState:
    base = compliant_directory()
    psos = [p.model_copy(update={"max_pwd_age": pso_age if p.dn == PSO_SALES else NEVER})
            for p in base.password_settings]
    update = {"max_pwd_age": domain_age, "max_pwd_age_error": error, "password_settings": psos}
    return base.model_copy(update=update if granted else {**update, "domain": NO_GRANT})


def judged(state: DirectoryState, gpo: SysvolState | None = None) -> Finding:
    (finding,) = run_check(CHECK, baseline_policy(), snapshot(state, gpo or sysvol()))
    return finding


def test_the_baseline_applies_it_when_passwords_expire() -> None:
    assert baseline_policy().directory.rights.unexpire_password == "when_passwords_expire"  # type: ignore[union-attr]


def test_passwords_that_never_expire_make_it_not_applicable_saying_so() -> None:
    finding = judged(directory(granted=False))
    assert finding.status == Status.not_applicable
    assert "never expire" in (finding.reason or "") and "maxPwdAge of DC=corp" in (finding.reason or "")
    assert "msDS-MaximumPasswordAge of CN=PSO-Sales" in (finding.reason or "")


def test_domain_expiry_without_the_right_fails_naming_where_expiry_comes_from() -> None:
    finding = judged(directory(domain_age=days_to_interval(42), granted=False))
    assert finding.status == Status.failed
    assert "cannot reset a password that has expired" in (finding.reason or "")
    assert "maxPwdAge of DC=corp,DC=example,DC=test: 42 day(s)" in (finding.reason or "")


def test_a_winning_pso_that_expires_is_enough() -> None:
    finding = judged(directory(pso_age=days_to_interval(90), granted=False))
    assert finding.status == Status.failed and f"msDS-MaximumPasswordAge of {PSO_SALES}: 90 day(s)" in (
        finding.reason or "")
    held = judged(directory(pso_age=days_to_interval(90)))
    assert held.status == Status.passed and "passwords expire" in (held.reason or "")


def test_the_winning_gpo_that_sets_an_expiry_is_enough() -> None:
    gpo = sysvol().model_copy(update={"maximum_password_age": 60})
    finding = judged(directory(granted=False), gpo)
    assert finding.status == Status.failed and "MaximumPasswordAge of Default Domain Policy" in (finding.reason or "")
    never = sysvol().model_copy(update={"maximum_password_age": 0})
    assert judged(directory(granted=False), never).status == Status.not_applicable


def test_unread_expiry_is_unknown_never_not_applicable() -> None:
    finding = judged(directory(domain_age=None, error="`maxPwdAge` absent on DC=corp,DC=example,DC=test"))
    assert finding.status == Status.unknown and "`maxPwdAge` absent" in (finding.reason or "")
    # an expiry read elsewhere still applies the check
    assert judged(directory(domain_age=None, pso_age=days_to_interval(90), granted=False)).status == Status.failed


def test_true_always_applies_and_false_never_does() -> None:
    always = baseline_policy(rights={"unexpire_password": True})
    (finding,) = run_check(CHECK, always, snapshot(directory(granted=False), sysvol()))
    assert finding.status == Status.failed
    off = baseline_policy(rights={"unexpire_password": False})
    assert [f.status for f in run_check(CHECK, off, snapshot(directory(domain_age=days_to_interval(42))))] == [
        Status.not_applicable]
