"""The Group Policy side of `client.sign_in_reset` without a DC: gPLink parsing, which links reach
computers, the SYSVOL reader's guards, and the check's verdicts on GPO values."""

from __future__ import annotations

from typing import Any

import pytest

from auditor.checks.base import Status
from auditor.checks.registry import all_checks, run_check
from auditor.endpoints import AdEndpoint
from auditor.readers import gpo_registry
from auditor.readers.directory import AdSettings, parse_gp_link
from auditor.snapshot.directory import DirectoryState, GpoLink, GroupPolicy
from auditor.snapshot.models import Section
from auditor.snapshot.tenant import GpoRegistryValue, GpoSignInResetState, IntuneSignInResetState
from tests.unit.cases_ad import BASE, compliant_directory
from tests.unit.cases_cloud import baseline_policy
from tests.unit.cases_coverage import coverage_snapshot

GUID = "{F99FD350-CB8B-54E4-A5CE-4AF8C2B2227E}"
OTHER = "{AF86E1B8-DBB6-5363-AA2A-43AF26120A98}"


def test_gp_link_entries_carry_their_options() -> None:
    gp_link = (f"[LDAP://cn={GUID},cn=policies,cn=system,{BASE};0]"
               f"[ldap://CN={OTHER},CN=Policies,CN=System,{BASE};1]"
               f"[LDAP://cn={{31B2F340-016D-11D2-945F-00C04FB984F9}},cn=policies,cn=system,{BASE};2]")
    parsed = parse_gp_link(gp_link)
    assert [options for _, options, _ in parsed] == [0, 1, 2]
    assert [order for _, _, order in parsed] == [3, 2, 1]  # the last entry is link order 1
    assert parsed[0][0] == f"cn={GUID.lower()},cn=policies,cn=system,{BASE.lower()}"
    assert parsed[1][0].startswith(f"cn={OTHER.lower()}")


@pytest.mark.parametrize("gp_link", ["", " ", "[]", "garbage", "[;0]", "[LDAP://;x]"])
def test_empty_or_odd_gp_links_name_nothing(gp_link: str) -> None:
    assert parse_gp_link(gp_link) == []


def test_a_gp_link_without_options_counts_as_enabled() -> None:
    assert parse_gp_link(f"[LDAP://cn={GUID},cn=policies,cn=system,{BASE}]") == [
        (f"cn={GUID.lower()},cn=policies,cn=system,{BASE.lower()}", 0, 1)]


def gpo(*links: GpoLink, flags: int | None = 0) -> GroupPolicy:
    return GroupPolicy(dn=f"CN={GUID},CN=Policies,CN=System,{BASE}", guid=GUID, flags=flags, links=list(links))


def test_only_enabled_links_where_computers_are_reach_them() -> None:
    to_computers = GpoLink(container=f"OU=Workstations,{BASE}", holds_computers=True)
    to_users = GpoLink(container=f"OU=Staff,{BASE}", holds_computers=False)
    disabled = GpoLink(container=f"OU=Laptops,{BASE}", enabled=False, holds_computers=True)
    unknown = GpoLink(container=BASE)  # not looked at: counted, never silently dropped
    assert gpo(to_computers, to_users, disabled, unknown).computer_links() == [to_computers, unknown]
    assert gpo(to_computers, flags=2).computer_links() == []  # "computer configuration settings disabled"
    assert gpo(to_computers, flags=1).computer_links() == [to_computers]  # only the user part is off
    assert gpo(to_computers, flags=None).computer_links() == [to_computers]


def test_a_folder_name_that_is_not_a_guid_is_never_looked_up() -> None:
    class NoSmb:
        def open_file(self, *args: Any, **kwargs: Any) -> None:
            raise AssertionError("no path may be built from a name that is not a GPO GUID")

    hostile = GroupPolicy(dn=f"CN=x,CN=Policies,CN=System,{BASE}", guid=r"..\..\NETLOGON",
                          links=[GpoLink(container=BASE, holds_computers=True)])
    value = gpo_registry._gpo_value(NoSmb(), r"\\dc\SYSVOL\corp.example.test\Policies", hostile, {})
    assert value.value is None and value.linked and "not a GPO GUID" in (value.error or "")


def test_the_reader_needs_the_directory_for_the_links() -> None:
    settings = AdSettings(AdEndpoint(host="127.0.0.253", user="u"), password="p", timeout=2)
    section = gpo_registry.read_gpo_sign_in_reset(settings, Section.failed("ldaps://127.0.0.253:636", "refused"))
    assert not section.readable and "directory, which could not be read: refused" in (section.error or "")


def test_unreachable_smb_fails_the_section() -> None:
    settings = AdSettings(AdEndpoint(host="127.0.0.253", user="u"), password="p", timeout=2)
    directory = Section.ok("ldaps://127.0.0.253:636", compliant_directory())
    section = gpo_registry.read_gpo_sign_in_reset(settings, directory)
    assert not section.readable and "cannot reach SMB on 127.0.0.253:445" in (section.error or "")
    assert "corp.example.test" in section.source


# --- the check --------------------------------------------------------------------------------------


def gpos(*values: GpoRegistryValue) -> Section[GpoSignInResetState]:
    return Section[GpoSignInResetState].ok("smb:test", GpoSignInResetState(gpos_read=len(values),
                                                                          values=list(values)))


NO_INTUNE = Section[IntuneSignInResetState].ok("graph:test", IntuneSignInResetState(configurations_read=0))
WORKSTATIONS, LAPTOPS, STAFF = f"OU=Workstations,{BASE}", f"OU=Laptops,OU=Workstations,{BASE}", f"OU=Staff,{BASE}"
COMPUTERS = {WORKSTATIONS: 3, LAPTOPS: 2}


def directory_for(values: tuple[GpoRegistryValue, ...], links: dict[str, list[GpoLink]] | None = None,
                  computers: dict[str, int] | None = None, blocks: list[str] | None = None) -> Any:
    """A directory whose GPOs are linked where each value says (order 1, enabled) unless `links` says more."""
    gpos = [GroupPolicy(dn=f"CN={v.gpo_guid},CN=Policies,CN=System,{BASE}", guid=v.gpo_guid,
                        display_name=v.display_name,
                        links=(links or {}).get(v.gpo_guid, [GpoLink(container=c) for c in v.linked_to]))
            for v in values]
    return compliant_directory(gpos=gpos, member_computers=COMPUTERS if computers is None else computers,
                               blocks_inheritance=blocks or [])


def verdict(*values: GpoRegistryValue, wanted: bool = True, links: dict[str, list[GpoLink]] | None = None,
            computers: dict[str, int] | None = None, blocks: list[str] | None = None) -> Any:
    policy = baseline_policy() if wanted else baseline_policy().model_copy(update={
        "client": baseline_policy().client.model_copy(update={"sign_in_reset": False})})
    check = next(c for c in all_checks() if c.spec.id == "client.sign_in_reset")
    directory = Section[DirectoryState].ok("ldaps://test", directory_for(values, links, computers, blocks))
    snapshot = coverage_snapshot(intune_sign_in_reset=NO_INTUNE, gpo_sign_in_reset=gpos(*values), directory=directory)
    [finding] = run_check(check, policy, snapshot)
    return finding


def test_a_gpo_linked_above_every_computer_turning_it_on_passes_and_evidence_names_where() -> None:
    finding = verdict(GpoRegistryValue(GUID, "SSPR", True, 1, (WORKSTATIONS,)),
                      GpoRegistryValue(OTHER, "Other", True, None, (BASE,)))
    assert finding.status == Status.passed and finding.actual["enabled_by"] == ["Group Policy"]
    assert finding.actual["computers"] == {"on": 5, "off": 0, "unknown": 0}
    linked = {e.source: e.value for e in finding.evidence if e.field == "linked to (computers below)"}
    assert linked == {GUID: [WORKSTATIONS], OTHER: [BASE]}
    assert any("security filtering" in str(e.value) for e in finding.evidence)


def test_computers_the_gpo_does_not_reach_fail_and_are_named() -> None:
    finding = verdict(GpoRegistryValue(GUID, "SSPR", True, 1, (LAPTOPS,)))
    assert finding.status == Status.failed and finding.actual["computers"] == {"on": 2, "off": 3, "unknown": 0}
    assert f"3 of 5 member computer(s) without it: {WORKSTATIONS} (3: no GPO sets it)" in (finding.reason or "")


def test_set_but_not_linked_fails_and_says_so() -> None:
    finding = verdict(GpoRegistryValue(GUID, "SSPR", False, 1))
    assert finding.status == Status.failed
    assert "SSPR sets AllowPasswordReset = 1 but is not linked" in (finding.reason or "")


def test_zero_in_a_linked_gpo_fails() -> None:
    assert verdict(GpoRegistryValue(GUID, "SSPR", True, 0, (BASE,))).status == Status.failed


def test_an_unreadable_gpo_above_the_winner_makes_it_unknown_and_one_below_does_not() -> None:
    broken = GpoRegistryValue(OTHER, "Broken", True, None, (BASE,), "not a readable Registry.pol: expected '['")
    finding = verdict(broken)
    assert finding.status == Status.unknown and "Broken (link order 1 on" in (finding.reason or "")
    assert "not a readable Registry.pol" in (finding.reason or "")
    # SSPR on the OUs ranks above a domain-linked GPO: the broken one cannot change what wins
    assert verdict(broken, GpoRegistryValue(GUID, "SSPR", True, 1, (WORKSTATIONS,))).status == Status.passed
    # enforced on the domain, the broken GPO ranks above SSPR: unknown again
    enforced = {OTHER: [GpoLink(container=BASE, enforced=True)]}
    assert verdict(broken, GpoRegistryValue(GUID, "SSPR", True, 1, (WORKSTATIONS,)),
                   links=enforced).status == Status.unknown
    # an unreadable GPO that is not linked does not matter
    unlinked = GpoRegistryValue(OTHER, "Broken", False, None, (), "access denied")
    assert verdict(unlinked).status == Status.failed


def test_an_enforced_domain_gpo_saying_0_beats_the_ou_gpo_saying_1() -> None:
    """Without precedence this was a pass: a GPO turning it on was linked where the computers are."""
    on = GpoRegistryValue(GUID, "SSPR", True, 1, (WORKSTATIONS,))
    off = GpoRegistryValue(OTHER, "Lockdown", True, 0, (BASE,))
    assert verdict(on, off).status == Status.passed  # not enforced: the OU link is closer and wins
    finding = verdict(on, off, links={OTHER: [GpoLink(container=BASE, enforced=True)]})
    assert finding.status == Status.failed and finding.actual["computers"]["off"] == 5
    assert "Lockdown (enforced, link order 1 on DC=corp" in (finding.reason or "")


def test_link_order_decides_within_one_ou() -> None:
    on = GpoRegistryValue(GUID, "SSPR", True, 1, (WORKSTATIONS,))
    off = GpoRegistryValue(OTHER, "Lockdown", True, 0, (WORKSTATIONS,))
    first_on = {GUID: [GpoLink(container=WORKSTATIONS, order=1)], OTHER: [GpoLink(container=WORKSTATIONS, order=2)]}
    first_off = {GUID: [GpoLink(container=WORKSTATIONS, order=2)], OTHER: [GpoLink(container=WORKSTATIONS, order=1)]}
    assert verdict(on, off, links=first_on).status == Status.passed
    assert verdict(on, off, links=first_off).status == Status.failed


def test_block_inheritance_stops_a_domain_gpo_but_not_an_enforced_one() -> None:
    on = GpoRegistryValue(GUID, "SSPR", True, 1, (BASE,))
    assert verdict(on).status == Status.passed
    blocked = verdict(on, blocks=[LAPTOPS])
    assert blocked.status == Status.failed and blocked.actual["computers"] == {"on": 3, "off": 2, "unknown": 0}
    enforced = verdict(on, blocks=[LAPTOPS], links={GUID: [GpoLink(container=BASE, enforced=True)]})
    assert enforced.status == Status.passed


def test_disabled_links_and_disabled_computer_settings_do_not_apply() -> None:
    on = GpoRegistryValue(GUID, "SSPR", True, 1, (BASE,))
    assert verdict(on, links={GUID: [GpoLink(container=BASE, enabled=False)]}).status == Status.failed
    policy_values = (on,)
    directory = directory_for(policy_values)
    off_gpo = directory.gpos[0].model_copy(update={"flags": 2})
    state = compliant_directory(gpos=[off_gpo], member_computers=COMPUTERS, blocks_inheritance=[])
    check = next(c for c in all_checks() if c.spec.id == "client.sign_in_reset")
    snapshot = coverage_snapshot(intune_sign_in_reset=NO_INTUNE, gpo_sign_in_reset=gpos(on),
                                 directory=Section[DirectoryState].ok("ldaps://test", state))
    [finding] = run_check(check, baseline_policy(), snapshot)
    assert finding.status == Status.failed


def test_a_wmi_filtered_winner_is_not_certain() -> None:
    on = GpoRegistryValue(GUID, "SSPR", True, 1, (WORKSTATIONS,))
    off = GpoRegistryValue(OTHER, "Lockdown", True, 0, (BASE,))
    values = (on, off)
    state = directory_for(values)
    filtered = [g.model_copy(update={"wmi_filter": "[corp.example.test;{AB12};0]"}) if g.guid == GUID else g
                for g in state.gpos]
    check = next(c for c in all_checks() if c.spec.id == "client.sign_in_reset")
    snapshot = coverage_snapshot(intune_sign_in_reset=NO_INTUNE, gpo_sign_in_reset=gpos(*values),
                                 directory=Section[DirectoryState].ok(
                                     "ldaps://test", state.model_copy(update={"gpos": filtered})))
    [finding] = run_check(check, baseline_policy(), snapshot)
    assert finding.status == Status.unknown and "WMI filter" in (finding.reason or "")


def test_a_snapshot_without_computer_locations_is_unknown() -> None:
    on = GpoRegistryValue(GUID, "SSPR", True, 1, (BASE,))
    state = directory_for((on,)).model_copy(update={"member_computers": None})
    check = next(c for c in all_checks() if c.spec.id == "client.sign_in_reset")
    snapshot = coverage_snapshot(intune_sign_in_reset=NO_INTUNE, gpo_sign_in_reset=gpos(on),
                                 directory=Section[DirectoryState].ok("ldaps://test", state))
    [finding] = run_check(check, baseline_policy(), snapshot)
    assert finding.status == Status.unknown and "collect it again" in (finding.reason or "")


def test_policy_wanting_the_link_off_fails_on_a_gpo_turning_it_on() -> None:
    assert verdict(GpoRegistryValue(GUID, "SSPR", True, 1, (BASE,)), wanted=False).status == Status.failed
    assert verdict(GpoRegistryValue(GUID, "SSPR", False, 1), wanted=False).status == Status.passed
