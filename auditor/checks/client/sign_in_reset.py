"""client.sign_in_reset: Windows shows "Reset password" on the sign-in screen (Group Policy or Intune).

Group Policy is judged per member computer: in each container holding computers, the GPO that wins by
precedence (enforced links, link order, block inheritance, disabled links and GPO status; see
`auditor.derive.gpo_precedence`) decides. Wanting it on passes when Intune turns it on or when every member
computer gets 1; a computer left without it is a failure, not a footnote.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from auditor.checks.base import CheckSpec, Context, Evidence, Finding, Fix, OptionalSection, Severity, Status
from auditor.derive import gpo_precedence, intune_reach
from auditor.snapshot.directory import DirectoryState, GroupPolicy
from auditor.snapshot.tenant import GpoRegistryValue, GpoSignInResetState, IntuneSetting

SPEC = CheckSpec(
    id="client.sign_in_reset",
    title="Windows devices offer password reset on the sign-in screen",
    severity=Severity.low,
    policy_key="client.sign_in_reset",
    sections=("intune_sign_in_reset", "gpo_sign_in_reset", "directory"),
    changed_attributes=("versionNumber", "gPLink"),
    # two sources, either of which can turn the link on: each is optional, and what one leaves open is unknown
    optional=(
        OptionalSection("intune_sign_in_reset", "Group Policy alone decides a pass (every member computer gets 1); "
                        "a fail or a pass for `off` needs Intune read, so the finding is unknown, naming it"),
        OptionalSection("gpo_sign_in_reset", "Intune alone decides a pass when it turns the link on, and the finding "
                        "names Group Policy as not read; anything else is unknown"),
        OptionalSection("directory", "where the member computers are comes from the directory: without it Group "
                        "Policy is not read, as without gpo_sign_in_reset"),
    ),
    references=(
        "https://learn.microsoft.com/entra/identity/authentication/howto-sspr-windows",
        "https://learn.microsoft.com/windows/client-management/mdm/policy-csp-authentication#allowaadpasswordreset",
    ),
    fix=Fix(
        portal="Intune admin center > Devices > Configuration > Create > Windows 10 and later > Templates > Custom: "
               "OMA-URI ./Vendor/MSFT/Policy/Config/Authentication/AllowAadPasswordReset, Integer, 1 (assign it to "
               "the devices); or a GPO linked to the computers that sets HKLM\\SOFTWARE\\Policies\\Microsoft\\"
               "AzureADAccount AllowPasswordReset (DWORD) = 1",
        console="Intune admin center (or Group Policy Management Console)",
    ),
)


def evaluate(ctx: Context) -> list[Finding]:
    client = ctx.policy.client
    assert client is not None
    wanted = client.sign_in_reset
    evidence: list[Evidence] = []
    reasons: list[str] = []
    intune_on: bool | None = None
    intune = ctx.section_or_none("intune_sign_in_reset", reasons, evidence)
    intune_notes: list[str] = []
    if intune is not None:
        evidence.append(Evidence(source=ctx.source("intune_sign_in_reset"), field="omaSettings[AllowAadPasswordReset]",
                                 value={s.display_name: s.value for s in intune.settings}))
        intune_on = _intune_on(ctx, intune.settings, reasons, evidence, intune_notes)
    gpo = ctx.section_or_none("gpo_sign_in_reset", reasons, evidence)
    directory = ctx.section_or_none("directory", reasons, evidence) if gpo is not None else None
    group = _group_policy(ctx, directory, gpo, reasons, evidence) if directory is not None else None
    enabled_by = (["Intune"] if intune_on else []) + (["Group Policy"] if group and group.all_on else [])
    unread = [name for name, read in (("Intune", intune_on is not None), ("Group Policy", group is not None))
              if not read]
    actual: Any = {"enabled_by": enabled_by, "not_read": unread}
    if group is not None:
        actual["computers"] = {"on": group.on, "off": group.off, "unknown": group.unknown}
    notes = intune_notes + (group.notes if group else [])
    if wanted:
        if enabled_by:
            partial = group is not None and not group.all_on and group.off
            reason = (f"Intune turns it on; Group Policy leaves {group.off} domain computer(s) without it, which the "
                      "Intune profile must reach" if partial and group else None)
            if unread:  # the pass stands on the source that turns it on; say which one was not read
                reason = ((reason + "; ") if reason else f"{' and '.join(enabled_by)} turn(s) it on; ") + (
                    f"{' and '.join(unread)} not read: " + "; ".join(reasons))
            return [ctx.result(Status.passed, target="sign-in screen", expected=True, actual=actual, evidence=evidence,
                               reason=reason)]
        if intune_on is False and group is not None and (group.off or not group.computers_seen):
            what = (f"Group Policy leaves {group.off} of {group.total} member computer(s) without it: "
                    + "; ".join(group.off_where) if group.off else "the domain has no member computer for a GPO "
                    "to reach")
            return [ctx.result(Status.failed, target="sign-in screen", expected=True, actual=actual, evidence=evidence,
                               reason="no Intune profile turns on the reset link on the Windows sign-in screen, and "
                                      + what + _also(notes))]
    else:
        if intune_on or (group is not None and group.on):
            by = (["Intune"] if intune_on else []) + ([f"Group Policy ({group.on} computer(s))"]
                                                       if group is not None and group.on else [])
            return [ctx.result(Status.failed, target="sign-in screen", expected=False, actual=actual,
                               evidence=evidence, reason=f"{' and '.join(by)} turn(s) the reset link on, "
                                                         "the policy wants it off")]
        if intune_on is False and group is not None and not group.unknown:
            return [ctx.result(Status.passed, target="sign-in screen", expected=False, actual=actual,
                               evidence=evidence)]
    if group is not None and group.unknown:
        reasons.append(f"for {group.unknown} member computer(s) the winning GPO is not certain: "
                       + "; ".join(group.unknown_where))
    return [ctx.result(Status.unknown, target="sign-in screen", expected=wanted, actual=actual, evidence=evidence,
                       reason="the setting could come from a source that could not be read: " + "; ".join(reasons)
                       + _also(notes))]


@dataclass
class _GroupPolicy:
    """Member computers by the AllowPasswordReset value that wins for them."""

    on: int = 0
    off: int = 0
    unknown: int = 0
    off_where: list[str] = field(default_factory=list)
    unknown_where: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    computers_seen: bool = False

    @property
    def total(self) -> int:
        return self.on + self.off + self.unknown

    @property
    def all_on(self) -> bool:
        return self.computers_seen and not self.off and not self.unknown


def _group_policy(ctx: Context, state: DirectoryState, gpo: GpoSignInResetState, reasons: list[str],
                  evidence: list[Evidence]) -> _GroupPolicy | None:
    """Per container of member computers, the AllowPasswordReset of the GPO that wins there by precedence
    (`auditor.derive.gpo_precedence`); None when the snapshot did not record where the computers are."""
    if state.member_computers is None:
        reasons.append("this snapshot did not record where the member computers are; collect it again")
        return None
    by_guid = {v.gpo_guid.upper(): v for v in gpo.values}

    def read(policy: GroupPolicy) -> tuple[Any, str | None]:
        value = by_guid.get(policy.guid.upper())
        if value is None:
            return None, "its Registry.pol was not read"
        return value.value, value.error

    out = _GroupPolicy(computers_seen=any(state.member_computers.values()))
    source = ctx.source("gpo_sign_in_reset")
    winners: dict[str, Any] = {}
    for place in gpo_precedence.computer_setting(state, read):
        possible = place.outcome.possible_values()
        winner = place.outcome.winner
        said = f"{winner.applied.describe()} sets {winner.value}" if winner else "no GPO sets it"
        dropped = gpo_precedence.describe_filtered(place.outcome)
        entry: dict[str, Any] = {"computers": place.computers, "winner": said,
                                 "not certain": gpo_precedence.describe_uncertain(place.outcome)}
        if dropped:
            entry["not applied (security filtering)"] = dropped
            out.notes += [d for d in dropped if d not in out.notes]
        if place.token is not None:
            entry["token SIDs"] = place.token.sids
        key = place.container if place.container not in winners else f"{place.container} ({len(winners)})"
        winners[key] = entry
        if possible is None or len({p == 1 for p in possible}) > 1:
            out.unknown += place.computers
            out.unknown_where.append(f"{place.container}: " + "; ".join(gpo_precedence.describe_uncertain(
                place.outcome)))
        elif possible[0] == 1:
            out.on += place.computers
        else:
            out.off += place.computers
            out.off_where.append(f"{place.container} ({place.computers}: {said}"
                                 + "".join(f"; {d}" for d in dropped) + ")")
    evidence.append(Evidence(source=source, field=r"AllowPasswordReset that wins per container of member computers "
                                                  r"(Machine\Registry.pol or Preferences\Registry\Registry.xml)",
                             value=winners))
    for v in gpo.values:
        if v.linked_to:
            evidence.append(Evidence(source=v.gpo_guid, field="linked to (computers below)", value=list(v.linked_to)))
        if v.error is not None and v.linked:
            evidence.append(Evidence(source=v.gpo_guid, field=r"Machine\Registry.pol", value=v.error))
    evidence.append(Evidence(source="auditor.derive.gpo_precedence", field="not evaluated",
                             value=gpo_precedence.not_evaluated(state)))
    out.notes += [f"{_name(v)} sets AllowPasswordReset = {v.value} but is not linked to the domain or to an OU "
                 "holding computers" for v in gpo.values if not v.linked and v.value is not None and v.error is None]
    return out


def _intune_on(ctx: Context, settings: list[IntuneSetting], reasons: list[str], evidence: list[Evidence],
               notes: list[str]) -> bool | None:
    """Does Intune turn the link on for every device? A profile counts only where it is assigned
    (`auditor.derive.intune_reach`): True when one assigned to all devices turns it on; None when the ones that turn
    it on reach devices the tool cannot tell (groups, users) or their assignments were not read; else False."""
    on = [s for s in settings if _on(s.value)]
    reaches = {s.id: intune_reach.reach(s) for s in settings}
    evidence += [Evidence(source=ctx.source("intune_sign_in_reset"), field=f"assignments of {s.display_name or s.id}",
                          value=reaches[s.id][1]) for s in settings]
    if any(reaches[s.id][0] == "all" for s in on):
        return True
    notes += [reaches[s.id][1] for s in on if reaches[s.id][0] == "none"]
    doubtful = [reaches[s.id][1] for s in on if reaches[s.id][0] in ("some", "unknown")]
    if doubtful:
        reasons.append("Intune: " + "; ".join(doubtful))
        return None
    return False


def _name(value: GpoRegistryValue) -> str:
    return value.display_name or value.gpo_guid


def _also(notes: list[str]) -> str:
    return f" ({'; '.join(notes)})" if notes else ""


def _on(value: str | None) -> bool:
    return value is not None and value.strip().lower() in ("1", "true")
