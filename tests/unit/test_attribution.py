"""Since when, from where: replication metadata parsed, and a failing finding's `last_change` evidence.

`samba-ou-replPropertyMetaData.bin` is the replPropertyMetaData of OU=Sales as Samba 4.17 (Debian) returned it over
LDAP in the demo lab domain; `27e815fd-…` is that DC's invocationId (its NTDS Settings object). The Windows value is
shaped as a Windows DC returns msDS-ReplAttributeMetaData (one DS_REPL_ATTR_META_DATA document per attribute,
NUL-terminated: https://learn.microsoft.com/windows/win32/adschema/a-msds-replattributemetadata).
"""

from __future__ import annotations

import struct
from datetime import UTC, datetime
from pathlib import Path

import pytest

from auditor.ad.replication_metadata import (
    MetadataError,
    attid_of,
    parse_repl_attribute_meta_data,
    parse_repl_property_meta_data,
)
from auditor.checks.registry import all_checks
from auditor.derive.attribution import attribute, last_changes
from auditor.findings import Evidence, Finding, Severity, Status
from auditor.readers.change_metadata import ATTRIBUTES
from auditor.snapshot.directory import (
    AttributeChange,
    ChangeMetadata,
    DirectoryState,
    GpoLink,
    GroupPolicy,
    ObjectChanges,
    SecuredObject,
)
from auditor.snapshot.models import Section, Snapshot
from auditor.snapshot.tenant import SettingsEvent, SsprActivityState, WritebackEvent

BLOB = (Path(__file__).parents[1] / "fixtures" / "ad" / "samba-ou-replPropertyMetaData.bin").read_bytes()
SAMBA_DC = "27e815fd-bcb6-4270-b40c-25a9dae9c9e6"
BASE = "DC=corp,DC=example,DC=test"
OU = f"OU=Sales,{BASE}"
GPO = f"CN={{B3E51ACE-3383-548A-B3BC-A6C5ACA3A467}},CN=Policies,CN=System,{BASE}"
DCS = f"OU=Domain Controllers,{BASE}"
WINDOWS = ("<DS_REPL_ATTR_META_DATA>\n\t<pszAttributeName>nTSecurityDescriptor</pszAttributeName>\n"
           "\t<dwVersion>7</dwVersion>\n\t<ftimeLastOriginatingChange>2026-03-02T10:11:12Z</ftimeLastOriginatingChange>\n"
           "\t<uuidLastOriginatingDsaInvocationID>8d2a1f5c-58d4-4efa-bcd2-f7d85ef53013</uuidLastOriginatingDsaInvocationID>\n"
           "\t<usnOriginatingChange>12776</usnOriginatingChange>\n\t<usnLocalChange>12776</usnLocalChange>\n"
           "\t<pszLastOriginatingDsaDN>CN=NTDS Settings,CN=DC02,CN=Servers,CN=Default-First-Site-Name,CN=Sites,"
           "CN=Configuration,DC=corp,DC=example,DC=test</pszLastOriginatingDsaDN>\n</DS_REPL_ATTR_META_DATA>\n\x00")


# -- the two forms -------------------------------------------------------------------------------

def test_samba_blob_parses_with_the_dacl_entry_from_the_dc_itself() -> None:
    entries = parse_repl_property_meta_data(BLOB)
    assert len(entries) == (len(BLOB) - 16) // 48
    dacl = next(e for e in entries if e.attid == 0x00020119)  # nTSecurityDescriptor
    assert dacl.invocation_id == SAMBA_DC
    assert dacl.version >= 2  # the demo seed wrote the OU's DACL after creating it
    assert dacl.changed_at.tzinfo is not None and dacl.changed_at.year >= 2026
    assert {e.invocation_id for e in entries} == {SAMBA_DC}


@pytest.mark.parametrize("oid, expected", [
    ("1.2.840.113556.1.2.281", 0x00020119),  # nTSecurityDescriptor
    ("1.2.840.113556.1.4.78", 0x0009004E),  # minPwdAge (as the Samba DC's schema names it)
    ("0.9.2342.19200300.100.1.41", 0x00150029),  # mobile
    ("2.5.4.20", 0x00000014),  # telephoneNumber
])
def test_an_oid_becomes_its_attid_through_the_initial_prefix_table(oid: str, expected: int) -> None:
    assert attid_of(oid) == expected


def test_msds_intid_wins_and_an_unknown_prefix_is_not_guessed() -> None:
    assert attid_of("1.2.840.113556.1.8000.2554.1", int_id=-1601234567) == (-1601234567) & 0xFFFFFFFF
    assert attid_of("1.2.840.113556.1.8000.2554.1") is None


@pytest.mark.parametrize("blob, words", [
    (BLOB[:10], "shorter than its header"),
    (struct.pack("<IIII", 2, 0, 0, 0), "version 2"),
    (BLOB[:-1], "entries in"),
    (struct.pack("<IIII", 1, 0, 10**6, 0), "entries in"),
])
def test_a_broken_blob_is_named_never_read_as_something(blob: bytes, words: str) -> None:
    with pytest.raises(MetadataError, match=words):
        parse_repl_property_meta_data(blob)


def test_windows_constructed_value_names_attribute_and_dc() -> None:
    entry = parse_repl_attribute_meta_data(WINDOWS)
    assert (entry.name, entry.version, entry.originating_usn) == ("nTSecurityDescriptor", 7, 12776)
    assert entry.changed_at == datetime(2026, 3, 2, 10, 11, 12, tzinfo=UTC)
    assert entry.originating_dsa is not None and entry.originating_dsa.startswith("CN=NTDS Settings,CN=DC02,")


@pytest.mark.parametrize("value, words", [
    ('<!DOCTYPE x [<!ENTITY a "b">]><DS_REPL_ATTR_META_DATA/>', "DTD"),
    ("<DS_REPL_ATTR_META_DATA><pszAttributeName>x</pszAttributeName></DS_REPL_ATTR_META_DATA>", "without dwVersion"),
    ("not xml", "not XML"),
])
def test_a_broken_constructed_value_is_named(value: str, words: str) -> None:
    with pytest.raises(MetadataError, match=words):
        parse_repl_attribute_meta_data(value)


# -- every on-premises check says which attributes explain its drift -----------------------------------

def test_every_check_that_reads_the_directory_or_sysvol_names_its_attributes_and_they_are_read() -> None:
    on_premises = [c.spec for c in all_checks() if {"directory", "sysvol"} & set(c.spec.sections)]
    assert on_premises
    assert [s.id for s in on_premises if not s.changed_attributes] == []
    assert {a for s in on_premises for a in s.changed_attributes} <= set(ATTRIBUTES)


# -- attribution --------------------------------------------------------------------------------

def _change(version: int, day: int, dc: str = "DC1") -> AttributeChange:
    return AttributeChange(changed_at=datetime(2026, 11, day, 9, 0, tzinfo=UTC), version=version, originating_dc=dc,
                           invocation_id=SAMBA_DC)


def _snapshot(metadata: ChangeMetadata | None, error: str | None = None, activity: SsprActivityState | None = None
              ) -> Snapshot:
    head = SecuredObject(dn=BASE)
    gpo = GroupPolicy(dn=GPO, guid="{B3E51ACE-3383-548A-B3BC-A6C5ACA3A467}", display_name="Restrict remote SAM",
                      links=[GpoLink(container=DCS)])
    state = DirectoryState(server="dc1", base_dn=BASE, dns_domain="corp.example.test", domain_sid="S-1-5-21-1-2-3",
                           domain=head, admin_sd_holder=SecuredObject(dn=f"CN=AdminSDHolder,CN=System,{BASE}"),
                           service_account_query="MSOL_1", gpos=[gpo], change_metadata=metadata,
                           change_metadata_error=error)
    return Snapshot(tool_version="test", origin="lab:test", directory=Section[DirectoryState].ok("ldap", state),
                    sspr_activity=Section[SsprActivityState].ok("graph:audit", activity) if activity else None)


def _finding(status: Status = Status.failed, target: str = "hd.sales", sources: tuple[str, ...] = (OU,)) -> Finding:
    return Finding(check="ad.acl.delegates", title="t", status=status, severity=Severity.high, target=target,
                   evidence=[Evidence(source=s, field="Reset Password") for s in sources])


METADATA = ChangeMetadata(source="replPropertyMetaData on dc1", objects={
    "ou=sales,dc=corp,dc=example,dc=test": ObjectChanges(dn=OU, attributes={"nTSecurityDescriptor": _change(3, 20)}),
    GPO.lower(): ObjectChanges(dn=GPO, attributes={"versionNumber": _change(4, 21), "flags": _change(1, 1)}),
    DCS.lower(): ObjectChanges(dn=DCS, attributes={"gPLink": _change(2, 22, "DC2")}),
})


def test_a_failing_finding_carries_the_last_change_of_the_dacl_where_its_ace_is_set() -> None:
    out = attribute(_finding(), ("nTSecurityDescriptor",), None, _snapshot(METADATA))
    added = [e for e in out.evidence if e.field == "last_change"]
    assert added == [Evidence(source=OU, field="last_change", value={
        "attribute": "nTSecurityDescriptor", "changed_at": "2026-11-20T09:00:00+00:00", "originating_dc": "DC1",
        "version": 3})]
    assert last_changes(out)[0].by == "on DC1"


def test_a_gpo_named_by_guid_carries_its_version_and_the_gplink_of_where_it_is_linked() -> None:
    finding = _finding(target="Restrict remote SAM {B3E51ACE-3383-548A-B3BC-A6C5ACA3A467}", sources=())
    out = attribute(finding, ("versionNumber", "gPLink", "flags"), None, _snapshot(METADATA))
    rows = [(e.source, e.value["attribute"]) for e in out.evidence if e.field == "last_change"]
    assert rows == [(DCS, "gPLink"), (GPO, "versionNumber"), (GPO, "flags")]  # newest first


def test_passing_and_unknown_findings_are_left_alone() -> None:
    for status in (Status.passed, Status.unknown, Status.waived):
        finding = _finding(status)
        assert attribute(finding, ("nTSecurityDescriptor",), None, _snapshot(METADATA)) is finding


def test_metadata_the_bind_account_may_not_read_says_so() -> None:
    denied = ChangeMetadata(source="replPropertyMetaData on dc1", objects={
        "ou=sales,dc=corp,dc=example,dc=test": ObjectChanges(dn=OU, error="the DC returned no replication metadata "
                                                                           "(no right to read it)")})
    out = attribute(_finding(), ("nTSecurityDescriptor",), None, _snapshot(denied))
    [item] = [e for e in out.evidence if e.field == "last_change"]
    assert item.source == OU and item.value["error"].startswith("could not be read: the DC returned no replication")
    failed = attribute(_finding(), ("nTSecurityDescriptor",), None, _snapshot(None, "replication metadata not "
                                                                                       "read: LDAP error"))
    assert [e.value for e in failed.evidence if e.field == "last_change"] == [
        {"error": "could not be read: replication metadata not read: LDAP error"}]


def test_a_cloud_settings_finding_carries_the_latest_settings_event_not_a_writeback_toggle() -> None:
    window = datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 12, 1, tzinfo=UTC)
    activity = SsprActivityState(
        window_start=window[0], window_end=window[1],
        writeback_events=[WritebackEvent(datetime(2026, 11, 25, tzinfo=UTC), False, "ops@contoso.example")],
        settings_events=[
            SettingsEvent(datetime(2026, 11, 10, tzinfo=UTC), "Update password reset policy", "Policy", "ann@x"),
            SettingsEvent(datetime(2026, 11, 12, tzinfo=UTC), "Update password reset policy", "Policy", "bo@x"),
            SettingsEvent(datetime(2026, 11, 25, tzinfo=UTC), "Disable password writeback for directory",
                          "DirectoryManagement", "ops@contoso.example")])
    finding = Finding(check="sspr.gates", title="t", status=Status.failed, severity=Severity.medium, target="tenant")
    settings = attribute(finding, (), "sspr_settings", _snapshot(None, activity=activity))
    assert [e.value for e in settings.evidence] == [
        {"changed_at": "2026-11-12T00:00:00+00:00", "by": "bo@x", "activity": "Update password reset policy"}]
    toggle = attribute(finding, (), "writeback", _snapshot(None, activity=activity))
    assert [e.value["by"] for e in toggle.evidence] == ["ops@contoso.example"]
    assert attribute(finding, (), "sspr_settings", _snapshot(None)) == finding  # no log read: nothing claimed
