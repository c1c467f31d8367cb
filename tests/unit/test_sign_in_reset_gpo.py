"""The Group Policy side of `client.sign_in_reset` without a DC: gPLink parsing, which links reach
computers, the SYSVOL reader's guards, and the check's verdicts on GPO values."""

from __future__ import annotations

from typing import Any

import pytest

from auditor.checks.base import Status
from auditor.checks.registry import all_checks, run_check
from auditor.readers import gpo_registry
from auditor.readers.directory import AdSettings, parse_gp_link
from auditor.snapshot.coverage import GpoRegistryValue, GpoSignInResetState, IntuneSignInResetState
from auditor.snapshot.directory import GpoLink, GroupPolicy
from auditor.snapshot.models import Section
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
    assert [options for _, options in parsed] == [0, 1, 2]
    assert parsed[0][0] == f"cn={GUID.lower()},cn=policies,cn=system,{BASE.lower()}"
    assert parsed[1][0].startswith(f"cn={OTHER.lower()}")


@pytest.mark.parametrize("gp_link", ["", " ", "[]", "garbage", "[;0]", "[LDAP://;x]"])
def test_empty_or_odd_gp_links_name_nothing(gp_link: str) -> None:
    assert parse_gp_link(gp_link) == []


def test_a_gp_link_without_options_counts_as_enabled() -> None:
    assert parse_gp_link(f"[LDAP://cn={GUID},cn=policies,cn=system,{BASE}]") == [
        (f"cn={GUID.lower()},cn=policies,cn=system,{BASE.lower()}", 0)]


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
    settings = AdSettings(host="127.0.0.253", user="u", password="p", timeout=2)
    section = gpo_registry.read_gpo_sign_in_reset(settings, Section.failed("ldaps://127.0.0.253:636", "refused"))
    assert not section.readable and "directory, which could not be read: refused" in (section.error or "")


def test_unreachable_smb_fails_the_section() -> None:
    settings = AdSettings(host="127.0.0.253", user="u", password="p", timeout=2)
    directory = Section.ok("ldaps://127.0.0.253:636", compliant_directory())
    section = gpo_registry.read_gpo_sign_in_reset(settings, directory)
    assert not section.readable and "cannot reach SMB on 127.0.0.253:445" in (section.error or "")
    assert "corp.example.test" in section.source


# --- the check --------------------------------------------------------------------------------------


def gpos(*values: GpoRegistryValue) -> Section[GpoSignInResetState]:
    return Section[GpoSignInResetState].ok("smb:test", GpoSignInResetState(gpos_read=len(values),
                                                                          values=list(values)))


NO_INTUNE = Section[IntuneSignInResetState].ok("graph:test", IntuneSignInResetState(configurations_read=0))


def verdict(*values: GpoRegistryValue, wanted: bool = True) -> Any:
    policy = baseline_policy() if wanted else baseline_policy().model_copy(update={
        "client": baseline_policy().client.model_copy(update={"sign_in_reset": False})})
    check = next(c for c in all_checks() if c.spec.id == "client.sign_in_reset")
    snapshot = coverage_snapshot(intune_sign_in_reset=NO_INTUNE, gpo_sign_in_reset=gpos(*values))
    [finding] = run_check(check, policy, snapshot)
    return finding


def test_a_linked_gpo_turning_it_on_passes_and_evidence_names_where() -> None:
    finding = verdict(GpoRegistryValue(GUID, "SSPR", True, 1, (f"OU=Workstations,{BASE}",)),
                      GpoRegistryValue(OTHER, "Other", True, None, (BASE,)))
    assert finding.status == Status.passed and finding.actual["enabled_by"] == ["Group Policy"]
    linked = {e.source: e.value for e in finding.evidence if e.field == "linked to (computers below)"}
    assert linked == {GUID: [f"OU=Workstations,{BASE}"], OTHER: [BASE]}


def test_set_but_not_linked_fails_and_says_so() -> None:
    finding = verdict(GpoRegistryValue(GUID, "SSPR", False, 1))
    assert finding.status == Status.failed
    assert "SSPR sets AllowPasswordReset = 1 but is not linked" in (finding.reason or "")


def test_zero_in_a_linked_gpo_fails() -> None:
    assert verdict(GpoRegistryValue(GUID, "SSPR", True, 0, (BASE,))).status == Status.failed


def test_an_unreadable_linked_gpo_makes_it_unknown_unless_another_turns_it_on() -> None:
    broken = GpoRegistryValue(OTHER, "Broken", True, None, (BASE,), "not a readable Registry.pol: expected '['")
    finding = verdict(broken)
    assert finding.status == Status.unknown and "Broken: not a readable Registry.pol" in (finding.reason or "")
    assert verdict(broken, GpoRegistryValue(GUID, "SSPR", True, 1, (BASE,))).status == Status.passed
    # an unreadable GPO that is not linked does not matter
    unlinked = GpoRegistryValue(OTHER, "Broken", False, None, (), "access denied")
    assert verdict(unlinked).status == Status.failed


def test_policy_wanting_the_link_off_fails_on_a_linked_gpo_turning_it_on() -> None:
    assert verdict(GpoRegistryValue(GUID, "SSPR", True, 1, (BASE,)), wanted=False).status == Status.failed
    assert verdict(GpoRegistryValue(GUID, "SSPR", False, 1), wanted=False).status == Status.passed
