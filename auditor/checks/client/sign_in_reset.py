"""client.sign_in_reset: Windows shows "Reset password" on the sign-in screen (Group Policy or Intune)."""

from __future__ import annotations

from typing import Any

from auditor.checks.base import CheckSpec, Context, Evidence, Finding, Fix, Severity, Status
from auditor.snapshot.coverage import GpoRegistryValue, GpoSignInResetState

SPEC = CheckSpec(
    id="client.sign_in_reset",
    title="Windows devices offer password reset on the sign-in screen",
    severity=Severity.low,
    policy_key="client.sign_in_reset",
    sections=("intune_sign_in_reset", "gpo_sign_in_reset"),
    references=(
        "https://learn.microsoft.com/entra/identity/authentication/howto-sspr-windows",
        "https://learn.microsoft.com/windows/client-management/mdm/policy-csp-authentication#allowaadpasswordreset",
    ),
    fix=Fix(
        portal="Intune admin center > Devices > Configuration > Create > Windows 10 and later > Templates > Custom: "
               "OMA-URI ./Vendor/MSFT/Policy/Config/Authentication/AllowAadPasswordReset, Integer, 1 (assign it to "
               "the devices); or a GPO linked to the computers that sets HKLM\\SOFTWARE\\Policies\\Microsoft\\"
               "AzureADAccount AllowPasswordReset (DWORD) = 1",
    ),
)


def evaluate(ctx: Context) -> list[Finding]:
    client = ctx.policy.client
    assert client is not None
    wanted = client.sign_in_reset
    sources: dict[str, bool | None] = {}  # source → True (on), False (read, not on), None (unreadable)
    evidence: list[Evidence] = []
    reasons: list[str] = []
    intune = _readable(ctx, "intune_sign_in_reset", reasons, evidence)
    if intune is not None:
        values = [s.value for s in intune.settings]
        evidence.append(Evidence(source=ctx.source("intune_sign_in_reset"), field="omaSettings[AllowAadPasswordReset]",
                                 value={s.display_name: s.value for s in intune.settings}))
        sources["Intune"] = any(_on(v) for v in values)
    gpo = _readable(ctx, "gpo_sign_in_reset", reasons, evidence)
    notes: list[str] = []
    if gpo is not None:
        sources["Group Policy"], notes = _group_policy(ctx, gpo, reasons, evidence)
    enabled_by = [name for name, on in sources.items() if on]
    unread = [name for name in ("Intune", "Group Policy") if sources.get(name) is None]
    actual: Any = {"enabled_by": enabled_by, "not_read": unread}
    if wanted:
        if enabled_by:
            return [ctx.result(Status.passed, target="sign-in screen", expected=True, actual=actual,
                               evidence=evidence)]
        if not unread:
            return [ctx.result(Status.failed, target="sign-in screen", expected=True, actual=actual,
                               evidence=evidence, reason="neither an Intune profile nor a linked GPO turns on the "
                                                         "reset link on the Windows sign-in screen" + _also(notes))]
    else:
        if enabled_by:
            return [ctx.result(Status.failed, target="sign-in screen", expected=False, actual=actual,
                               evidence=evidence, reason=f"{' and '.join(enabled_by)} turn(s) the reset link on, "
                                                         "the policy wants it off")]
        if not unread:
            return [ctx.result(Status.passed, target="sign-in screen", expected=False, actual=actual,
                               evidence=evidence)]
    return [ctx.result(Status.unknown, target="sign-in screen", expected=wanted, actual=actual, evidence=evidence,
                       reason="the setting could come from a source that could not be read: " + "; ".join(reasons)
                       + _also(notes))]


def _group_policy(ctx: Context, gpo: GpoSignInResetState, reasons: list[str],
                  evidence: list[Evidence]) -> tuple[bool | None, list[str]]:
    """True when a GPO linked to computers sets AllowPasswordReset = 1; None when a linked GPO's file
    could not be read and none turns it on (then the GPOs cannot be counted as off either)."""
    source = ctx.source("gpo_sign_in_reset")
    linked = [v for v in gpo.values if v.linked]
    evidence.append(Evidence(source=source, field=r"Machine\Registry.pol or Preferences\Registry\Registry.xml: "
                                   r"AzureADAccount\AllowPasswordReset",
                             value={_name(v): v.value for v in linked if v.error is None}))
    for v in gpo.values:
        if v.linked_to:
            evidence.append(Evidence(source=v.gpo_guid, field="linked to (computers below)", value=list(v.linked_to)))
    unreadable = [v for v in linked if v.error is not None]
    for v in unreadable:
        evidence.append(Evidence(source=v.gpo_guid, field=r"Machine\Registry.pol", value=v.error))
    notes = [f"{_name(v)} sets AllowPasswordReset = {v.value} but is not linked to the domain or to an OU holding "
             "computers" for v in gpo.values if not v.linked and v.value is not None and v.error is None]
    if any(v.value == 1 for v in linked if v.error is None):
        return True, notes
    if unreadable:
        reasons.append("the Registry.pol of linked GPO(s) could not be read: "
                       + "; ".join(f"{_name(v)}: {v.error}" for v in unreadable))
        return None, notes
    return False, notes


def _name(value: GpoRegistryValue) -> str:
    return value.display_name or value.gpo_guid


def _also(notes: list[str]) -> str:
    return f" ({'; '.join(notes)})" if notes else ""


def _readable(ctx: Context, name: str, reasons: list[str], evidence: list[Evidence]) -> Any:
    section = getattr(ctx.snapshot, name, None)
    if section is None:
        reasons.append(f"`{name}` was not collected in this snapshot")
        return None
    if not section.readable:
        reasons.append(f"{section.source}: {section.error or 'no value'}")
        evidence.append(Evidence(source=section.source, field="(section)"))
        return None
    return section.value


def _on(value: str | None) -> bool:
    return value is not None and value.strip().lower() in ("1", "true")
