"""hybrid.lockout: AD account lockout stays behind Entra smart lockout.

Lockout status is not synced between AD and Entra ID. Microsoft's smart lockout guidance for hybrid
deployments (howto-password-smart-lockout, "When using pass-through authentication"): the Entra lockout
threshold must be less than the AD DS account lockout threshold ("at least two or three times greater"),
and "the Microsoft Entra lockout duration must be **longer** than the AD DS account lockout duration" (AD's
lockoutDuration / GPO LockoutDuration / msDS-LockoutDuration; "until an administrator unlocks" is longer than any).
Otherwise an attacker guessing against Entra locks the account on-premises first, and a written-back reset is
refused while it stays locked. The page states no rule for "Reset account lockout counter after" (its "Verify"
steps only ask to look at it): the observation window is shown as evidence and not judged.

AD's values come from three places, shown side by side: the domain head (lockoutThreshold,
lockOutObservationWindow, lockoutDuration over LDAP), the GPO that wins among those linked to the domain
head (GptTmpl.inf [System Access] LockoutBadCount, ResetLockoutCount, LockoutDuration; precedence from
`auditor.derive.gpo_precedence`, as for MinimumPasswordAge; Windows DCs rewrite the domain head from it), and
each fine-grained password policy that wins for in-scope users (msDS-LockoutThreshold, ...). Entra's come from
the Password Rule Settings (LockoutThreshold, LockoutDurationInSeconds; defaults 10 and 60 while unset).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass

from auditor.ad.dn import dn_key, rdn_value
from auditor.checks.ad import directory_state, sample, wanted
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
from auditor.checks.password_protection import (
    DEFAULT_DURATION_SECONDS,
    DEFAULT_THRESHOLD,
    FIELDS,
    planned_rules,
    propose_rules,
)
from auditor.derive import gpo_precedence
from auditor.fixes.fixer import FixContext, Fixer
from auditor.snapshot.directory import AccountLockout, DirectoryState, DirectoryUser, SysvolState
from auditor.snapshot.tenant import PasswordRulesState

KEY = "directory.lockout.compare_with_smart_lockout"
MULTIPLE_KEY = "directory.lockout.threshold_multiple"
THRESHOLD_TARGET = "AD lockout threshold against smart lockout"
DURATION_TARGET = "AD lockout duration against smart lockout duration"
# Microsoft's rule, quoted in findings (howto-password-smart-lockout, "When using pass-through authentication")
DURATION_RULE = "the Microsoft Entra lockout duration must be longer than the AD DS account lockout duration"
NEVER_LABEL = "never (locked until an administrator unlocks it)"

SPEC = CheckSpec(
    id="hybrid.lockout",
    title="AD account lockout stays behind Entra smart lockout",
    severity=Severity.medium,
    policy_key=KEY,
    also_reads=(MULTIPLE_KEY,),
    sections=("directory", "sysvol", "password_rules"),
    # the winning GPO's version and link (the domain head's lockout attributes are not in the change metadata read)
    changed_attributes=("versionNumber", "gPLink", "flags"),
    optional=(OptionalSection("sysvol", "the domain head's values are judged alone: a failing one still fails "
                              "(with SYSVOL's evidence); a passing one is unknown, because a GPO linked to the "
                              "domain may set another value that Windows DCs apply"),),
    references=(
        "https://learn.microsoft.com/entra/identity/authentication/howto-password-smart-lockout",
        "https://learn.microsoft.com/windows/security/threat-protection/security-policy-settings/"
        "account-lockout-threshold",
        "https://learn.microsoft.com/openspecs/windows_protocols/ms-gpsb/2cd39c97-97cd-4859-a7b4-1229dad5f53d",
    ),
    fix=Fix(
        portal="Group Policy Management > Default Domain Policy > Computer Configuration > Policies > Windows "
               "Settings > Security Settings > Account Policies > Account Lockout Policy: Account lockout "
               "threshold at least twice Entra's, Account lockout duration below Entra's lockout duration "
               "(or raise Entra's: Protection > Authentication methods > Password protection)",
        powershell="Set-ADDefaultDomainPasswordPolicy -Identity <domain> -LockoutThreshold <n> "
                   "-LockoutDuration 00:01:00 -LockoutObservationWindow 00:01:00",
        console="Group Policy Management Console",
        shell="PowerShell with the ActiveDirectory module",
    ),
    description="Reads lockoutThreshold and lockoutDuration of the domain head over LDAP, LockoutBadCount "
                "and LockoutDuration of the winning GPO over SMB, and msDS-Lockout* of the PSOs that win for "
                "in-scope users, against the tenant's smart lockout threshold and duration.",
)


@dataclass(frozen=True)
class Value:
    """One AD value and where it came from; `value` None with `error` when it could not be read."""

    source: str
    field: str
    value: int | None
    error: str | None = None
    named: str | None = None  # how a reason names it, when the field says where (a GPO) and the source is a path
    never: bool = False  # a duration of "never": locked until an administrator unlocks (value None, error None)

    @property
    def label(self) -> str:
        return self.named or f"{self.field} on {self.source}"


@dataclass(frozen=True)
class Lockouts:
    """One place's AD lockout values (the domain head with the GPOs that may win, or one PSO): thresholds and
    durations are judged; observation windows are evidence only."""

    thresholds: list[Value]
    durations: list[Value]
    windows: list[Value]

    def all(self) -> list[Value]:
        return [*self.thresholds, *self.durations, *self.windows]


@dataclass(frozen=True)
class Cloud:
    threshold: int
    duration: int
    defaulted: list[str]
    evidence: list[Evidence]


def evaluate(ctx: Context) -> list[Finding]:
    directory = wanted(ctx)
    if not directory.lockout.compare_with_smart_lockout:
        return [ctx.result(Status.not_applicable, target=THRESHOLD_TARGET, key=KEY,
                           reason="the policy does not compare AD lockout with smart lockout")]
    state = directory_state(ctx)
    cloud = _cloud(ctx)
    sysvol, sysvol_error = _read(ctx, "sysvol")
    multiple = directory.lockout.threshold_multiple
    values = domain_values(state, sysvol if isinstance(sysvol, SysvolState) else None, ctx.source("directory"))
    evidence = [*cloud.evidence, *_as_evidence(values.all())]
    if sysvol_error is not None:
        evidence += sysvol_error.evidence
    findings = [_judge_threshold(ctx, values.thresholds, cloud, multiple, evidence, sysvol_error),
                _judge_duration(ctx, values.durations, values.thresholds, cloud, evidence, sysvol_error)]
    findings += _pso_findings(ctx, state, cloud, multiple)
    return findings


def _read(ctx: Context, name: str) -> tuple[object | None, Unreadable | None]:
    try:
        return ctx.section(name), None
    except Unreadable as exc:
        return None, exc


def _cloud(ctx: Context) -> Cloud:
    return cloud_of(ctx.section("password_rules"), ctx.source("password_rules"))


def cloud_of(rules: PasswordRulesState, source: str) -> Cloud:
    """Entra's smart lockout threshold and duration, Microsoft's defaults where no setting says them."""
    unset = rules.setting_id is None
    threshold = rules.lockout_threshold if not unset and rules.lockout_threshold is not None else None
    duration = rules.lockout_duration_seconds if not unset and rules.lockout_duration_seconds is not None else None
    defaulted = [name for name, value in (("threshold", threshold), ("duration", duration)) if value is None]
    return Cloud(threshold=DEFAULT_THRESHOLD if threshold is None else threshold,
                 duration=DEFAULT_DURATION_SECONDS if duration is None else duration, defaulted=defaulted,
                 evidence=[Evidence(source=source, field=FIELDS["threshold"],
                                    value=threshold if threshold is not None else f"{DEFAULT_THRESHOLD} (default)"),
                           Evidence(source=source, field=FIELDS["duration"],
                                    value=duration if duration is not None
                                    else f"{DEFAULT_DURATION_SECONDS} (default)")])


def domain_values(state: DirectoryState, sysvol: SysvolState | None, head: str) -> Lockouts:
    """Thresholds, durations and reset windows (seconds): the domain head's, then what each GPO that may win says."""
    lockout = state.lockout
    if lockout is None:
        missing = "this snapshot did not read the domain's lockout attributes: collect again"
        out = Lockouts([Value(head, "lockoutThreshold", None, missing)],
                       [Value(head, "lockoutDuration (seconds)", None, missing)],
                       [Value(head, "lockOutObservationWindow (seconds)", None, missing)])
    else:
        out = Lockouts([Value(state.base_dn, "lockoutThreshold", lockout.threshold,
                              lockout.error if lockout.threshold is None else None)],
                       [duration_value(state.base_dn, "lockoutDuration (seconds)", lockout)],
                       [Value(state.base_dn, "lockOutObservationWindow (seconds)", lockout.window_seconds,
                              lockout.error if lockout.observation_window is None else None)])
    if sysvol is not None:
        out.thresholds.extend(_gpo_values(state, sysvol, "lockout_bad_count", "LockoutBadCount", 1))
        out.durations.extend(_gpo_values(state, sysvol, "lockout_duration", "LockoutDuration (seconds)", 60))
        out.windows.extend(_gpo_values(state, sysvol, "reset_lockout_count", "ResetLockoutCount (seconds)", 60))
    return out


def duration_value(source: str, field: str, lockout: AccountLockout) -> Value:
    """An LDAP lockoutDuration / msDS-LockoutDuration in seconds; the "never" interval locks until unlocked."""
    if lockout.duration is None:
        return Value(source, field, None, lockout.error or "not read")
    seconds = lockout.duration_seconds
    return Value(source, field, seconds, never=seconds is None)


def _gpo_values(state: DirectoryState, sysvol: SysvolState, field: str, label: str, scale: int) -> list[Value]:
    """The winning GPO's value and every uncertain one above it (the same precedence as MinimumPasswordAge)."""
    outcome = gpo_precedence.domain_account_setting(state, sysvol, field)
    templates = sysvol.all_templates()
    out = []
    for said in [*outcome.uncertain, *([outcome.winner] if outcome.winner else [])]:
        template = templates.get(said.applied.gpo.guid.upper())
        source = template.path if template is not None else said.applied.gpo.dn
        where = f"{label}, rank {said.applied.rank}: {said.applied.describe()}"
        if said.error is not None:
            out.append(Value(source, where, None, said.error, named=where))
        elif said.value is not None and said.value < 0 and field == "lockout_duration":
            # [MS-GPSB] 2.2.1.1.2: "If the account lockout duration value is set to negative 1, the account MUST be
            # locked out until an administrator explicitly unlocks it"
            out.append(Value(source, where, None, named=where, never=True))
        elif said.value is not None:
            out.append(Value(source, where, said.value * scale if said.value >= 0 else said.value, named=where))
    return out


def _as_evidence(values: list[Value]) -> list[Evidence]:
    return [Evidence(source=v.source, field=v.field,
                     value=v.error if v.error is not None else NEVER_LABEL if v.never else v.value) for v in values]


def duration_ok(value: Value, cloud: int) -> bool | None:
    """Microsoft's rule: Entra's duration longer than AD's. None when the value was not read."""
    if value.never:
        return False
    return None if value.value is None else value.value < cloud


def threshold_ok(threshold: int, cloud: int, multiple: int) -> bool:
    """0 never locks out; else above Entra's and at least `multiple` times it."""
    return threshold == 0 or (threshold > cloud and threshold >= multiple * cloud)


def _judge_threshold(ctx: Context, values: list[Value], cloud: Cloud, multiple: int, evidence: list[Evidence],
                     sysvol_error: Unreadable | None) -> Finding:
    expected = f"0 (never) or ≥ {multiple} × Entra's {cloud.threshold} and above it"
    bad = [v for v in values if v.value is not None and not threshold_ok(v.value, cloud.threshold, multiple)]
    actual = {v.field: v.value for v in values if v.value is not None}
    if bad:
        return ctx.result(Status.failed, target=THRESHOLD_TARGET, expected=expected, actual=actual, key=KEY,
                          evidence=evidence, reason="; ".join(
                              f"{v.label} is {v.value}: AD locks the account out after {v.value} "
                              f"failed sign-in(s), before or soon after smart lockout's {cloud.threshold}"
                              + _default_note(cloud, "threshold") for v in bad))
    return _unless_unread(ctx, THRESHOLD_TARGET, expected, actual, values, evidence, sysvol_error)


def _judge_duration(ctx: Context, values: list[Value], thresholds: list[Value], cloud: Cloud,
                    evidence: list[Evidence], sysvol_error: Unreadable | None) -> Finding:
    expected = f"< {cloud.duration} s (Entra's lockout duration must be longer)"
    actual: dict[str, int | str | None] = {v.field: NEVER_LABEL if v.never else v.value for v in values
                                           if v.value is not None or v.never}
    if thresholds and all(t.value == 0 for t in thresholds):
        return ctx.result(Status.passed, target=DURATION_TARGET, expected=expected, actual=actual, key=KEY,
                          evidence=evidence, reason=None) if sysvol_error is None else _unless_unread(
            ctx, DURATION_TARGET, expected, actual, values, evidence, sysvol_error)
    bad = [v for v in values if duration_ok(v, cloud.duration) is False]
    if bad:
        return ctx.result(Status.failed, target=DURATION_TARGET, expected=expected, actual=actual, key=KEY,
                          evidence=evidence, reason="; ".join(
                              f"{v.label} is {NEVER_LABEL if v.never else f'{v.value} s'}, not below smart "
                              f"lockout's {cloud.duration} s" + _default_note(cloud, "duration")
                              + f" (Microsoft: {DURATION_RULE}): an account AD locks stays locked on-premises "
                              "after Entra lets the sign-in through, and a written-back reset is refused"
                              for v in bad))
    return _unless_unread(ctx, DURATION_TARGET, expected, actual, values, evidence, sysvol_error)


def _unless_unread(ctx: Context, target: str, expected: str, actual: Mapping[str, int | str | None],
                   values: list[Value],
                   evidence: list[Evidence], sysvol_error: Unreadable | None) -> Finding:
    unread = [f"{v.label}: {v.error}" for v in values if v.error is not None]
    if sysvol_error is not None:
        unread.append(f"the GPOs were not read ({sysvol_error.reason}): a GPO linked to the domain may set "
                      "another value, which Windows DCs apply")
    if unread:
        return ctx.result(Status.unknown, target=target, expected=expected, actual=actual, key=KEY,
                          evidence=evidence, reason="; ".join(unread))
    return ctx.result(Status.passed, target=target, expected=expected, actual=actual, key=KEY, evidence=evidence)


def _default_note(cloud: Cloud, name: str) -> str:
    return " (Entra's default: no Password Rule Settings value)" if name in cloud.defaulted else ""


def _pso_findings(ctx: Context, state: DirectoryState, cloud: Cloud, multiple: int) -> list[Finding]:
    """One finding per fine-grained password policy that wins for in-scope users: its lockout replaces the
    domain's for them."""
    winners: dict[str, list[DirectoryUser]] = defaultdict(list)
    for user in state.in_scope_users():
        if user.resultant_pso:
            winners[dn_key(user.resultant_pso)].append(user)
    if not state.password_settings_readable and not winners:
        # no user shows a winning PSO, but the PSOs were not visible (ad.fgpp.min_password_age is unknown then too):
        # one may replace the domain's lockout values for in-scope users, so the domain's alone prove nothing
        return [ctx.result(Status.unknown, target="CN=Password Settings Container,CN=System," + state.base_dn,
                           key=KEY, evidence=[*cloud.evidence],
                           reason="the Password Settings Container is not visible to the bind account (reading "
                                  "fine-grained policies needs Domain Admins or a delegation): a PSO winning for "
                                  "in-scope users would replace the domain's lockout values for them")]
    by_dn = state.password_settings_by_dn()
    out = []
    for key, users in sorted(winners.items()):
        pso = by_dn.get(key)
        names = sample([u.sam_account_name or rdn_value(u.dn) for u in users])
        target = pso.dn if pso is not None else users[0].resultant_pso or key
        lockout: AccountLockout | None = pso.lockout if pso is not None else None
        evidence = [*cloud.evidence]
        if lockout is not None and pso is not None:
            evidence += [Evidence(source=pso.dn, field="msDS-LockoutThreshold", value=lockout.threshold),
                         Evidence(source=pso.dn, field="msDS-LockoutObservationWindow (seconds)",
                                  value=lockout.window_seconds),
                         Evidence(source=pso.dn, field="msDS-LockoutDuration (seconds)",
                                  value=NEVER_LABEL if lockout.duration is not None
                                  and lockout.duration_seconds is None else lockout.duration_seconds)]
        if lockout is None or lockout.threshold is None or lockout.duration is None:
            why = ("the policy could not be read" if pso is None else
                   lockout.error if lockout is not None and lockout.error else "its lockout attributes were not read")
            out.append(ctx.result(Status.unknown, target=target, key=KEY, evidence=evidence,
                                  reason=f"{len(users)} in-scope user(s) get this policy, but {why}: {names}"))
            continue
        problems = []
        if not threshold_ok(lockout.threshold, cloud.threshold, multiple):
            problems.append(f"its lockout threshold is {lockout.threshold}, not 0 and not ≥ {multiple} × Entra's "
                            f"{cloud.threshold}" + _default_note(cloud, "threshold"))
        duration = duration_value(target, "msDS-LockoutDuration (seconds)", lockout)
        if lockout.threshold != 0 and duration_ok(duration, cloud.duration) is False:
            problems.append(f"its lockout duration is {NEVER_LABEL if duration.never else f'{duration.value} s'}, "
                            f"not below Entra's lockout duration of {cloud.duration} s"
                            + _default_note(cloud, "duration") + f" (Microsoft: {DURATION_RULE})")
        out.append(ctx.result(
            Status.failed if problems else Status.passed, target=target, key=KEY, evidence=evidence,
            expected={"threshold": f"0 or ≥ {multiple} × {cloud.threshold}", "duration_seconds": f"< {cloud.duration}"},
            actual={"threshold": lockout.threshold,
                    "duration_seconds": NEVER_LABEL if duration.never else duration.value},
            reason=None if not problems else
            f"{pso.name if pso else target} wins for {len(users)} in-scope user(s) and " + "; ".join(problems)
            + f": {names}"))
    return out


# -- the cloud half of the fix ------------------------------------------------------------------------------------

def fix(fx: FixContext, failing: list[Finding]) -> None:
    """The cloud half: smart lockout's threshold and duration in the Password Rule Settings, moved only as far as
    every AD value read asks (Microsoft: Entra's threshold below AD's, AD's at least `threshold_multiple` times
    it; Entra's duration longer than AD's; howto-password-smart-lockout). The threshold becomes the highest value
    that stays within the policy's `lockout_threshold_at_most` and below every AD threshold that locks; the
    duration the shortest that is longer than every AD duration and at least the policy's
    `lockout_duration_seconds_at_least`. Both go into the plan's one change of that object (the
    password_protection fixer's, which runs first), never a second write.

    A finding the new values do not fix (an AD threshold too low for any smart lockout threshold, a duration of
    "until an administrator unlocks", a value not read) stays manual: the on-premises half, with the check's steps.
    """
    directory = fx.policy.directory
    state: DirectoryState | None = fx.value("directory")
    rules: PasswordRulesState | None = fx.value("password_rules")
    if not failing or directory is None or state is None or rules is None or fx.policy.password_protection is None:
        return
    sysvol = fx.value("sysvol")
    multiple = directory.lockout.threshold_multiple
    seen = _Seen.of(state, sysvol if isinstance(sysvol, SysvolState) else None)
    cloud = cloud_of(rules, "")
    planned = planned_rules(fx)
    now = (int(planned.get("lockout_threshold", cloud.threshold)),
           int(planned.get("lockout_duration_seconds", cloud.duration)))
    threshold = min([now[0], *(min(t // multiple, t - 1) for t in seen.locking_thresholds())])
    threshold = threshold if threshold >= 1 else now[0]  # no smart lockout threshold fits: left to AD
    duration = max([now[1], *(d + 1 for d in seen.locking_durations())])
    fixed: list[Finding] = []
    for finding in failing:
        why = seen.unfixed(finding.target, threshold, duration, multiple)
        if why is None:
            fixed.append(finding)
        else:
            fx.manual_step(finding, f"{why}: the on-premises half is done by hand (AD's lockout is not "
                                    "written by the plan)")
    if not fixed:
        return
    asked = {name: value for name, value, before in (("lockout_threshold", threshold, now[0]),
                                                      ("lockout_duration_seconds", duration, now[1]))
             if value != before}
    propose_rules(fx, asked, fixed, depends=("directory", "sysvol"),
                  why=f"smart lockout threshold {threshold} and duration {duration} s are derived from AD's lockout "
                      f"values (AD's threshold at least {multiple} × Entra's, AD's duration shorter than Entra's): "
                      "apply needs the directory and SYSVOL read to derive them again")


@dataclass(frozen=True)
class _Seen:
    """The AD lockout values the check judges: the domain head's with the GPOs that may win, and each PSO that wins
    for in-scope users (by DN key), with whether any of them was not read."""

    domain: Lockouts
    psos: dict[str, AccountLockout]
    sysvol_read: bool

    @classmethod
    def of(cls, state: DirectoryState, sysvol: SysvolState | None) -> _Seen:
        by_dn = state.password_settings_by_dn()
        psos = {}
        for user in state.in_scope_users():
            pso = by_dn.get(dn_key(user.resultant_pso)) if user.resultant_pso else None
            if pso is not None and pso.lockout is not None:
                psos[dn_key(pso.dn)] = pso.lockout
        return cls(domain_values(state, sysvol, state.base_dn), psos, sysvol is not None)

    def _domain_locks(self) -> bool:
        return not self.domain.thresholds or any(t.value != 0 for t in self.domain.thresholds)

    def locking_thresholds(self) -> list[int]:
        values = [v.value for v in self.domain.thresholds if v.value]
        return values + [p.threshold for p in self.psos.values() if p.threshold]

    def locking_durations(self) -> list[int]:
        values = [v.value for v in self.domain.durations if v.value is not None] if self._domain_locks() else []
        return values + [p.duration_seconds for p in self.psos.values()
                         if p.threshold and p.duration_seconds is not None]

    def unfixed(self, target: str, threshold: int, duration: int, multiple: int) -> str | None:
        """Why the finding about `target` still fails (or stays unread) with these cloud values; None if it passes."""
        if target in (THRESHOLD_TARGET, DURATION_TARGET):
            unread = [v.label for v in self.domain.all() if v.error is not None]
            if not self.sysvol_read or unread:
                return ("AD's values were not all read (" + (", ".join(unread) or "SYSVOL") + "): plan again "
                        "once they are")
            if target == THRESHOLD_TARGET:
                low = [v for v in self.domain.thresholds if v.value is not None
                       and not threshold_ok(v.value, threshold, multiple)]
                return None if not low else "; ".join(
                    f"{v.label} is {v.value}: no smart lockout threshold of 1 or more is below it and at most "
                    f"1/{multiple} of it" for v in low)
            if not self._domain_locks():
                return None
            long = [v for v in self.domain.durations if duration_ok(v, duration) is False]
            return None if not long else "; ".join(
                f"{v.label} is {NEVER_LABEL if v.never else f'{v.value} s'}: no smart lockout duration is longer"
                for v in long)
        lockout = self.psos.get(dn_key(target))
        if lockout is None or lockout.threshold is None or lockout.duration is None:
            return "this policy's lockout values were not read: plan again once they are"
        if not threshold_ok(lockout.threshold, threshold, multiple):
            return (f"its msDS-LockoutThreshold is {lockout.threshold}: no smart lockout threshold of 1 or more is "
                    f"below it and at most 1/{multiple} of it")
        ad_duration = duration_value(target, "msDS-LockoutDuration", lockout)
        if lockout.threshold and duration_ok(ad_duration, duration) is False:  # finite ones are below `duration`
            return "its msDS-LockoutDuration locks until an administrator unlocks: no smart lockout duration is longer"
        return None


FIXER = Fixer(plan=fix, after=("password_protection",))
