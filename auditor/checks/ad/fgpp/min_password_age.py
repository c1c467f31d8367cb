"""ad.fgpp.min_password_age: no fine-grained password policy that wins for in-scope users sets a
minimum age above the policy's limit."""

from __future__ import annotations

from collections import defaultdict

from auditor.ad.dn import dn_key, rdn_value
from auditor.ad.intervals import days_to_interval
from auditor.checks.ad import directory_state, sample, wanted
from auditor.checks.base import CheckSpec, Context, Evidence, Finding, Fix, Severity, Status
from auditor.fixes.changes import LdapPasswordAgeChange, SettingChange
from auditor.fixes.fixer import FixContext, Fixer
from auditor.snapshot.directory import DirectoryState, DirectoryUser

KEY = "directory.password_age.include_fine_grained"

SPEC = CheckSpec(
    id="ad.fgpp.min_password_age",
    title="No fine-grained password policy applied to in-scope users sets a minimum password age",
    severity=Severity.high,
    policy_key=KEY,
    sections=("directory",),
    changed_attributes=("msDS-MinimumPasswordAge", "msDS-PasswordSettingsPrecedence", "msDS-PSOAppliesTo"),
    references=(
        "https://learn.microsoft.com/windows-server/identity/ad-ds/get-started/adac/"
        "introduction-to-active-directory-administrative-center-enhancements--level-100-#fine_grained_pswd_policy_mgmt",
        "https://learn.microsoft.com/entra/identity/authentication/tutorial-enable-sspr-writeback",
    ),
    fix=Fix(
        portal="Active Directory Administrative Center > System > Password Settings Container > the policy > "
               "Enforce minimum password age: 0",
        powershell="Set-ADFineGrainedPasswordPolicy -Identity '<policy DN>' -MinPasswordAge 0.00:00:00",
        console="Active Directory Administrative Center",
        shell="PowerShell (ActiveDirectory module)",
        fills=(("<policy DN>", "target"),),
    ),
    description="Uses each user's msDS-ResultantPSO (the policy that wins by precedence) and the policy's "
                "msDS-MinimumPasswordAge.",
)


def evaluate(ctx: Context) -> list[Finding]:
    directory = wanted(ctx)
    if not directory.password_age.include_fine_grained:
        return [ctx.result(Status.not_applicable, target="fine-grained password policies", key=KEY,
                           reason="the policy does not include fine-grained password policies")]
    state = directory_state(ctx)
    if not state.password_settings_readable:
        return [ctx.result(Status.unknown, target="CN=Password Settings Container,CN=System," + state.base_dn,
                           key=KEY, reason="the Password Settings Container is not visible to the bind account "
                                           "(reading fine-grained policies needs Domain Admins or a delegation)")]
    limit = directory.password_age.minimum_days
    winners: dict[str, list[DirectoryUser]] = defaultdict(list)
    for user in state.in_scope_users():
        if user.resultant_pso:
            winners[dn_key(user.resultant_pso)].append(user)
    by_dn = state.password_settings_by_dn()
    findings = []
    for key, users in sorted(winners.items()):
        pso = by_dn.get(key)
        names = [u.sam_account_name or rdn_value(u.dn) for u in users]
        if pso is None:
            findings.append(ctx.result(
                Status.unknown, target=users[0].resultant_pso or key, key="directory.password_age.minimum_days",
                reason=f"{len(users)} in-scope user(s) get this policy but it could not be read: {sample(names)}"))
            continue
        days = pso.min_age_days
        evidence = [Evidence(source=pso.dn, field="msDS-MinimumPasswordAge", value=pso.min_pwd_age),
                    Evidence(source=pso.dn, field="msDS-PasswordSettingsPrecedence", value=pso.precedence),
                    Evidence(source=pso.dn, field="msDS-PSOAppliesTo", value=pso.applies_to),
                    Evidence(source=ctx.source("directory"), field="msDS-ResultantPSO of in-scope users",
                             value=len(users))]
        ok = days is not None and days <= limit
        findings.append(ctx.result(
            Status.passed if ok else Status.failed, target=pso.dn, key="directory.password_age.minimum_days",
            expected=f"≤ {limit} day(s)", actual=days, evidence=evidence,
            reason=None if ok else
            f"{pso.name} (precedence {pso.precedence}) wins for {len(users)} in-scope user(s) and sets a minimum "
            f"password age of {days} day(s), so AD refuses their written-back resets within that time: "
            f"{sample(names)}"))
    if not findings:
        findings.append(ctx.result(
            Status.passed, target="fine-grained password policies", key=KEY, expected=f"≤ {limit} day(s)",
            actual="no fine-grained policy applies to in-scope users",
            evidence=[Evidence(source=ctx.source("directory"), field="msDS-PasswordSettings objects",
                               value=[p.name for p in state.password_settings])]))
    return findings


def fix(fx: FixContext, failing: list[Finding]) -> None:
    """Each failing fine-grained policy's msDS-MinimumPasswordAge (the finding's target is its DN) to the policy's
    minimum."""
    directory = fx.policy.directory
    state: DirectoryState | None = fx.value("directory")
    if directory is None or state is None:
        return
    limit = directory.password_age.minimum_days
    by_dn = state.password_settings_by_dn()
    for finding in failing:
        pso = by_dn.get(dn_key(finding.target))
        if pso is None:
            continue
        fx.add(LdapPasswordAgeChange, [finding], target=pso.dn, dn=pso.dn, scope="fine_grained",
               summary=f"fine-grained policy {pso.name}: minimum password age {pso.min_age_days} → {limit} day(s)",
               setting=SettingChange(name="min_pwd_age", old=pso.min_pwd_age, new=days_to_interval(limit)),
               old_days=pso.min_age_days, new_days=limit, depends_on=fx.depends("directory"))


FIXER = Fixer(plan=fix, after=("ad.gpo.min_password_age",))
