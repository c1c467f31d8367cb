"""The password writeback checks, and the one way they are fixed: a field of the portal's
OnPremisesPasswordResetPolicies (`onprem_change`)."""

from __future__ import annotations

from collections.abc import Callable

from auditor.findings import Finding
from auditor.fixes.changes import PortalOnPremChange, SettingChange
from auditor.fixes.fixer import FixContext, on
from auditor.snapshot.models import OnPremisesWritebackState


def onprem_change(fx: FixContext, findings: list[Finding], name: str, new: bool | None, label: str,
                  supported: Callable[[OnPremisesWritebackState], bool | None]) -> None:
    """One field of the portal's OnPremisesPasswordResetPolicies (`name`, a snapshot field) set to `new`, fixing
    `findings`; manual when the tenant reports the feature as not supported."""
    live: OnPremisesWritebackState | None = fx.value("onprem_writeback")
    if live is None or fx.policy.writeback is None or not findings or new is None:
        return
    if new and supported(live) is False:
        for finding in findings:
            fx.manual_step(finding, f"the tenant reports {label} as not supported: turn on Password writeback in "
                                    "Entra Connect (Optional features) first, then plan again")
        return
    old = getattr(live, name)
    fx.add(PortalOnPremChange, findings, target="portal OnPremisesPasswordResetPolicies",
           summary=f"{label}: {on(old)} → {on(new)}", setting=SettingChange(name=name, old=old, new=new),
           depends_on=fx.depends("onprem_writeback"))
