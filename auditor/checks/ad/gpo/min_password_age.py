"""ad.gpo.min_password_age: the GPOs linked to the domain and the domain allow a reset at any time.

Two findings, side by side: the `MinimumPasswordAge` that wins among the GPOs linked to the domain
head (GptTmpl.inf on SYSVOL, the source of truth on Windows; precedence from `auditor.derive.gpo_precedence`:
enforced links first, then link order) and the domain head's effective `minPwdAge`. When they disagree
the reason says which one will win. GPOs linked only to OUs do not set domain accounts' policy and are
listed as such, never judged.
"""

from __future__ import annotations

import base64
import hashlib

from auditor.ad.intervals import days_to_interval
from auditor.ad.wellknown import DEFAULT_DOMAIN_POLICY_GUID
from auditor.checks.ad import wanted
from auditor.checks.base import (
    CheckSpec,
    Context,
    Evidence,
    Finding,
    Fix,
    OptionalSection,
    Severity,
    Status,
    Unreadable,
)
from auditor.derive import gpo_precedence
from auditor.fixes.changes import LdapPasswordAgeChange, SettingChange, SysvolPasswordAgeChange
from auditor.fixes.fixer import FixContext, Fixer
from auditor.snapshot.directory import DirectoryState, GpoTemplate, SysvolState

KEY = "directory.password_age.minimum_days"
GPO_TARGET = f"Default Domain Policy {DEFAULT_DOMAIN_POLICY_GUID}"

SPEC = CheckSpec(
    id="ad.gpo.min_password_age",
    title="The domain's minimum password age lets writeback reset a password at any time",
    severity=Severity.high,
    policy_key=KEY,
    sections=("directory", "sysvol"),
    changed_attributes=("minPwdAge", "versionNumber", "gPLink", "flags"),
    optional=(OptionalSection("sysvol", "the GPO finding is unknown with SYSVOL's reason; the domain's minPwdAge "
                              "finding stands on the directory and carries SYSVOL's evidence (whether a GPO will "
                              "overwrite the value is not known)"),),
    references=(
        "https://learn.microsoft.com/entra/identity/authentication/tutorial-enable-sspr-writeback",
        "https://learn.microsoft.com/windows/security/threat-protection/security-policy-settings/"
        "minimum-password-age",
    ),
    fix=Fix(
        portal="Group Policy Management > Default Domain Policy > Edit > Computer Configuration > Policies > "
               "Windows Settings > Security Settings > Account Policies > Password Policy > Minimum password "
               "age = 0 days",
        powershell="Set-ADDefaultDomainPasswordPolicy -Identity '<domain>' -MinPasswordAge 0.00:00:00",
        console="Group Policy Management Console",
        shell="PowerShell (ActiveDirectory module)",
        fills=(("<domain>", "domain"),),
    ),
    description="Reads MinimumPasswordAge from the GptTmpl.inf of every GPO linked to the domain head over SMB, "
                "takes the one that wins by Group Policy precedence (enforced links, then link order), and the "
                "domain head's minPwdAge over LDAP; both must be at most the policy's minimum_days.",
)


def evaluate(ctx: Context) -> list[Finding]:
    limit = wanted(ctx).password_age.minimum_days
    sysvol, sysvol_error = _read(ctx, "sysvol")
    domain, domain_error = _read(ctx, "directory")
    outcome = (gpo_precedence.domain_password_age(domain, sysvol)
               if isinstance(domain, DirectoryState) and isinstance(sysvol, SysvolState) else None)
    gpo_days = outcome.value if outcome is not None and not outcome.uncertain else None
    domain_days = domain.min_pwd_age_days if isinstance(domain, DirectoryState) else None
    return [_gpo_finding(ctx, limit, domain, sysvol, outcome, sysvol_error or domain_error, domain_days),
            _domain_finding(ctx, limit, domain, domain_error, gpo_days, outcome, sysvol_error)]


def _read(ctx: Context, name: str) -> tuple[object | None, Unreadable | None]:
    try:
        return ctx.section(name), None
    except Unreadable as exc:
        return None, exc


def _expected(limit: int) -> str:
    return f"≤ {limit} day(s)"


def target_of(outcome: gpo_precedence.Outcome | None) -> str:
    """The finding's target: the winning GPO (name and GUID), else the GPOs linked to the domain."""
    if outcome is None or outcome.winner is None:
        return GPO_TARGET if outcome is None or not outcome.uncertain else "GPOs linked to the domain head"
    gpo = outcome.winner.applied.gpo
    return f"{gpo.display_name or 'GPO'} {gpo.guid}"


def _gpo_finding(ctx: Context, limit: int, domain: object | None, sysvol: object | None,
                 outcome: gpo_precedence.Outcome | None, error: Unreadable | None, domain_days: int | None) -> Finding:
    if outcome is None:
        assert error is not None
        reason: str | None = error.reason
        if isinstance(sysvol, SysvolState):
            reason = ("which GPOs are linked to the domain, and in what order, comes from the directory, which could "
                      f"not be read: {reason}")
        return ctx.result(Status.unknown, target=GPO_TARGET, expected=_expected(limit), reason=reason,
                          evidence=error.evidence)
    assert isinstance(domain, DirectoryState) and isinstance(sysvol, SysvolState)
    target = target_of(outcome)
    evidence = _evidence(ctx, domain, sysvol, outcome, domain_days)
    possible = outcome.possible_values()
    doubts = gpo_precedence.describe_uncertain(outcome)
    if possible is None:
        return ctx.result(Status.unknown, target=target, expected=_expected(limit), evidence=evidence,
                          reason="a GPO that could set the domain's password policy was not read: " + "; ".join(doubts))
    verdicts = {days is not None and days <= limit for days in possible}
    if verdicts == {True, False}:
        return ctx.result(Status.unknown, target=target, expected=_expected(limit), actual=possible, evidence=evidence,
                          reason="which GPO wins depends on what is not evaluated: " + "; ".join(
                              doubts + gpo_precedence.describe_filtered(outcome)))
    if outcome.winner is None and not outcome.uncertain:
        templates = sysvol.all_templates()
        each = [f"{a.name} {_why_unset(templates.get(a.gpo.guid.upper()))}" for a in outcome.chain]
        where = ("no GPO is linked to the domain head" if not outcome.chain else
                 f"no GPO linked to the domain head sets MinimumPasswordAge ({', '.join(each)})")
        dropped_note = "".join(f"; {d}" for d in gpo_precedence.describe_filtered(outcome))
        return ctx.result(Status.failed, target=target, expected=_expected(limit), actual=None, evidence=evidence,
                          reason=f"{where}, so nothing keeps the domain's minimum age at {limit}; set it to {limit} in "
                                 "the Default Domain Policy" + _overridden(outcome) + dropped_note)
    days = outcome.value
    status = Status.passed if True in verdicts else Status.failed
    dropped = "; ".join(gpo_precedence.describe_filtered(outcome))
    reason = None
    if status == Status.failed:
        assert outcome.winner is not None
        reason = (f"{outcome.winner.applied.describe()} sets a minimum password age of {days} day(s) and wins for "
                  f"domain accounts: AD refuses a written-back reset or change within {days} day(s) of the last one"
                  + _overridden(outcome) + ("; " + "; ".join(doubts) if doubts else ""))
    if domain_days is not None and days is not None and domain_days != days:
        reason = ((reason + "; ") if reason else "") + (
            f"the domain's minPwdAge says {domain_days} day(s): Windows DCs rewrite it from the winning GPO at the "
            f"next policy refresh, so {days} day(s) is the value that lasts")
    if dropped:
        reason = ((reason + "; ") if reason else "") + dropped
    return ctx.result(status, target=target, expected=_expected(limit), actual=days, evidence=evidence, reason=reason)


def _why_unset(template: GpoTemplate | None) -> str:
    return "does not set MinimumPasswordAge" if template is not None and template.present else "has no GptTmpl.inf"


def _overridden(outcome: gpo_precedence.Outcome) -> str:
    if not outcome.overridden:
        return ""
    return "; overridden: " + ", ".join(f"{s.applied.describe()} says {s.value} day(s)" for s in outcome.overridden)


def _evidence(ctx: Context, domain: DirectoryState, sysvol: SysvolState, outcome: gpo_precedence.Outcome,
              domain_days: int | None) -> list[Evidence]:
    """Every GPO linked to the domain head in precedence order, side by side, then the OU-only ones."""
    templates = sysvol.all_templates()
    out = []
    for applied in outcome.chain:
        template = templates.get(applied.gpo.guid.upper())
        value: object = (template.error or template.minimum_password_age) if template is not None else "not read"
        if template is not None and not template.present and template.error is None:
            value = "no GptTmpl.inf"
        out.append(Evidence(source=template.path if template is not None else applied.gpo.dn,
                            field=f"MinimumPasswordAge, rank {applied.rank}: {applied.describe()}", value=value))
    shown = templates.get(outcome.winner.applied.gpo.guid.upper()) if outcome.winner else sysvol
    if shown is not None:
        out.append(Evidence(source=shown.path, field="encoding", value=f"{shown.encoding} {shown.newline}".strip()
                            if shown.present else "file absent"))
    for gpo, days in gpo_precedence.ou_only_password_ages(domain, sysvol):
        out.append(Evidence(source=templates[gpo.guid.upper()].path,
                            field=f"MinimumPasswordAge of {gpo.display_name or gpo.guid}, linked to OUs only "
                                  "(local accounts of their computers, not domain accounts)", value=days))
    out.append(Evidence(source=ctx.source("directory"), field="minPwdAge (days)", value=domain_days))
    for phrase in gpo_precedence.describe_filtered(outcome):
        out.append(Evidence(source=ctx.source("directory"), field="security filtering (nTSecurityDescriptor: "
                            "Apply Group Policy for the domain controllers)", value=phrase))
    filtered = gpo_precedence.if_filtered(outcome, " day(s)") if domain.dc_tokens is None else None
    out.append(Evidence(source="auditor.derive.gpo_precedence", field="not evaluated",
                        value=gpo_precedence.not_evaluated(domain) + (f"; {filtered}" if filtered else "")))
    return out


def _domain_finding(ctx: Context, limit: int, domain: object | None, error: Unreadable | None,
                    gpo_days: int | None, outcome: gpo_precedence.Outcome | None,
                    sysvol_error: Unreadable | None) -> Finding:
    if not isinstance(domain, DirectoryState):
        assert error is not None
        return ctx.result(Status.unknown, target="domain minPwdAge", expected=_expected(limit),
                          reason=error.reason, evidence=error.evidence)
    days = domain.min_pwd_age_days
    winner = target_of(outcome)
    evidence = [Evidence(source=domain.base_dn, field="minPwdAge", value=domain.min_pwd_age),
                Evidence(source=winner, field="MinimumPasswordAge", value=gpo_days)]
    if sysvol_error is not None:  # the GPOs could not be compared: say so, the verdict stands on the directory
        evidence += sysvol_error.evidence
    if days is None:
        return ctx.result(Status.unknown, target=domain.base_dn, expected=_expected(limit), evidence=evidence,
                          reason=domain.min_pwd_age_error or "the domain head returned no minPwdAge")
    status = Status.passed if days <= limit else Status.failed
    reason = None if status == Status.passed else (
        f"the domain's effective minimum password age is {days} day(s) (minPwdAge {domain.min_pwd_age}): "
        "users without a fine-grained policy cannot reset again within that time")
    if gpo_days is not None and gpo_days != days:
        reason = ((reason + "; ") if reason else "") + (
            f"the winning GPO, {winner}, says {gpo_days} day(s) and will overwrite this value on Windows DCs")
    if sysvol_error is not None:
        reason = ((reason + "; ") if reason else "") + (
            f"the GPOs were not read ({sysvol_error.reason}): whether one overwrites this value is not known")
    return ctx.result(status, target=domain.base_dn, expected=_expected(limit), actual=days, evidence=evidence,
                      reason=reason)


def fix(fx: FixContext, failing: list[Finding]) -> None:
    """The domain head's minPwdAge (its finding's target is the domain's DN) and the GptTmpl.inf of the GPO that
    wins for domain accounts (the other findings), both to the policy's minimum."""
    directory = fx.policy.directory
    state: DirectoryState | None = fx.value("directory")
    if directory is None or state is None:
        return
    limit = directory.password_age.minimum_days
    for finding in [f for f in failing if f.target == state.base_dn]:
        fx.add(LdapPasswordAgeChange, [finding], target=state.base_dn, dn=state.base_dn, scope="domain",
               summary=f"domain minPwdAge: {state.min_pwd_age_days} → {limit} day(s)",
               setting=SettingChange(name="min_pwd_age", old=state.min_pwd_age, new=days_to_interval(limit)),
               old_days=state.min_pwd_age_days, new_days=limit, depends_on=fx.depends("directory"),
               note="on Windows DCs the Default Domain Policy rewrites this value: the GPO change matters most")
    sysvol: SysvolState | None = fx.value("sysvol")
    gpo_findings = [f for f in failing if f.target != state.base_dn]
    if sysvol is None or not gpo_findings:
        return
    # the GPO to rewrite is the one that wins for domain accounts (None: no GPO sets it, so the
    # Default Domain Policy gets the setting); a failing finding has no uncertain GPO above the winner
    outcome = gpo_precedence.domain_password_age(state, sysvol)
    template: GpoTemplate = sysvol
    if outcome.winner is not None:
        found = sysvol.all_templates().get(outcome.winner.applied.gpo.guid.upper())
        if found is None or found.error is not None:
            return
        template = found
    if template.present and template.content_b64 is None:
        return
    gpo = next((g for g in state.gpos if g.guid.upper() == template.gpo_guid.upper()), None)
    gpo_dn = gpo.dn if gpo is not None else f"CN={template.gpo_guid},CN=Policies,CN=System,{state.base_dn}"
    old_sha = (hashlib.sha256(base64.b64decode(template.content_b64)).hexdigest()
               if template.content_b64 is not None else None)
    name = ("the Default Domain Policy" if template.gpo_guid.upper() == DEFAULT_DOMAIN_POLICY_GUID else
            f"{gpo.display_name if gpo is not None and gpo.display_name else 'GPO'} {template.gpo_guid}")
    fx.add(SysvolPasswordAgeChange, gpo_findings, target=template.path, path=template.path,
           gpo_guid=template.gpo_guid, gpo_dn=gpo_dn,
           summary=f"{name}: [System Access] MinimumPasswordAge {template.minimum_password_age} → "
                   f"{limit} (GptTmpl.inf; GPO version bumped)",
           setting=SettingChange(name="minimum_password_age", old=template.minimum_password_age, new=limit),
           old_content_sha256=old_sha, encoding=template.encoding, newline=template.newline,
           depends_on=fx.depends("sysvol", "directory"),
           note="rollback restores the file byte for byte but moves the GPO version forward again, so DCs "
                "apply the restored setting" if template.present else
           "the GPO has no GptTmpl.inf: the plan creates one (UTF-16LE, as Windows writes it)")


FIXER = Fixer(plan=fix)
