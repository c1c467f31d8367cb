"""dSHeuristics' dwAdminSDExMask ([MS-ADTS] 3.1.1.6.1.4,
learn.microsoft.com/openspecs/windows_protocols/ms-adts/50097362-ede5-40fa-973e-8d65e782e384): "the 16th character,
dwAdminSDExMask, can optionally be set to cause the protection operation to exclude one or more protected objects";
bits 0x1 Account, 0x2 Server, 0x4 Print, 0x8 Backup Operators. `ad.acl.tier0_reach` on the lab's demo domain, with
Olga (reached by hd.sales and the sync account) protected only through Backup Operators."""

from __future__ import annotations

import pytest

from auditor.ad.ds_heuristics import DsHeuristicsError, admin_sd_ex_mask, excluded_groups
from auditor.checks.registry import check_by_id, run_check
from auditor.findings import Status
from auditor.snapshot.directory import DsHeuristics
from tests.unit.cases_delegation import lab_snapshot, lab_state
from tests.unit.test_delegation_checks import _policy

DS = "CN=Directory Service,CN=Windows NT,CN=Services,CN=Configuration,DC=corp,DC=example,DC=test"
# a real dSHeuristics shape: the 10th character must be "1" once the string is 10 long ([MS-ADTS] 6.1.1.2.4.1.2)
BACKUP_EXCLUDED = "000000000100000" + "8"


def _tier0(heuristics: DsHeuristics | None, via: str = "Backup Operators") -> dict[str, object]:
    state = lab_state("demo")
    control = state.access_control
    assert control is not None
    accounts = [a.model_copy(update={"privileged_via": [via]}) if a.name == "olga.ops" else a
                for a in control.protected_accounts]
    control = control.model_copy(update={"protected_accounts": accounts, "ds_heuristics": heuristics})
    findings = run_check(check_by_id("ad.acl.tier0_reach"), _policy(),
                         lab_snapshot("demo", state.model_copy(update={"access_control": control})))
    return {f.target: f for f in findings}


def test_the_mask_excluding_backup_operators_takes_olga_out_of_tier_0() -> None:
    found = _tier0(DsHeuristics(dn=DS, value=BACKUP_EXCLUDED))
    assert {f.status for f in found.values()} == {Status.passed}  # type: ignore[attr-defined]
    (finding,) = found.values()
    text = " ".join(f"{e.field}={e.value}" for e in finding.evidence)  # type: ignore[attr-defined]
    assert "excludes Backup Operators" in text and "olga.ops" in text


def test_a_mask_excluding_other_groups_or_none_keeps_olga_protected() -> None:
    for value in (None, "0000000001", "000000000100000" + "7"):  # 7 = Account, Server, Print
        found = _tier0(DsHeuristics(dn=DS, value=value))
        assert found["hd.sales"].status == Status.failed, value  # type: ignore[attr-defined]
    # another protected group still protects her
    found = _tier0(DsHeuristics(dn=DS, value=BACKUP_EXCLUDED), via="Domain Admins")
    assert found["hd.sales"].status == Status.failed  # type: ignore[attr-defined]


def test_an_unread_or_undocumented_mask_is_unknown_for_operator_only_accounts() -> None:
    for heuristics in (None, DsHeuristics(dn=DS, error="the Directory Service object was not found"),
                       DsHeuristics(dn=DS, value="000000000100000" + "z")):
        found = _tier0(heuristics)
        unknown = found["1 account(s) protected only as operators"]
        assert unknown.status == Status.unknown and "olga.ops" in (unknown.reason or "")  # type: ignore[attr-defined]
        assert "hd.sales" not in found


def test_mask_digits() -> None:
    assert [admin_sd_ex_mask(v) for v in (None, "", "0000000001", "000000000100000f")] == [0, 0, 0, 15]
    assert excluded_groups(0x5) == ["Account Operators", "Print Operators"]
    with pytest.raises(DsHeuristicsError):
        admin_sd_ex_mask("000000000100000F")  # [MS-ADTS]: "0"–"9" and "a"–"f"
