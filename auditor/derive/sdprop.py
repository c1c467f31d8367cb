"""Which of the accounts read as protected SDProp really protects, given dSHeuristics' dwAdminSDExMask.

[MS-ADTS] 3.1.1.6.1.4 (learn.microsoft.com/openspecs/windows_protocols/ms-adts/50097362-ede5-40fa-973e-8d65e782e384)
and Appendix C (Protected accounts and groups): the mask excludes the members of Account, Server, Print and Backup
Operators from the protection operation. An account protected only through excluded groups is not protected;
membership in another protected group, the built-in Administrator, or adminCount=1 (kept, as elsewhere: SDProp
does not reset it) still count. Unread or undocumented, the mask leaves accounts protected only through those four
groups unknown.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from auditor.ad.ds_heuristics import EXCLUDABLE_NAMES
from auditor.snapshot.directory import AccessControl, ProtectedAccount


@dataclass(frozen=True)
class Protection:
    protected: list[ProtectedAccount] = field(default_factory=list)
    excluded: list[ProtectedAccount] = field(default_factory=list)  # left out by the mask
    unknown: list[ProtectedAccount] = field(default_factory=list)  # depend on a mask that was not read
    mask_groups: list[str] | None = None  # the groups the mask excludes; None when not known
    why_unknown: str | None = None
    source: str | None = None  # the Directory Service object's DN


def protection(control: AccessControl) -> Protection:
    heuristics = control.ds_heuristics
    groups = heuristics.excluded() if heuristics is not None else None
    why = (heuristics.why_unknown() if heuristics is not None
           else "this snapshot did not read dSHeuristics (dwAdminSDExMask): collect again")
    out = Protection(mask_groups=groups, why_unknown=None if groups is not None else why,
                     source=heuristics.dn if heuristics is not None else None)
    for account in control.protected_accounts:
        operators = [v for v in account.privileged_via if v in EXCLUDABLE_NAMES]
        if not operators or account.admin_count == 1:
            out.protected.append(account)
        elif groups is None:
            (out.unknown if len(operators) == len(account.privileged_via) else out.protected).append(account)
        elif [v for v in account.privileged_via if v not in groups]:
            out.protected.append(account)
        else:
            out.excluded.append(account)
    return out
