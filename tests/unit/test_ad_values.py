"""AD value helpers: intervals and FILETIMEs, SIDs, DNs, authentication phone numbers."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from auditor.ad import dn, intervals, phone, sid


def test_intervals() -> None:
    assert intervals.interval_to_days(0) == 0
    assert intervals.interval_to_days(-864000000000) == 1
    assert intervals.interval_whole_days(-864000000000) == 1
    assert intervals.interval_whole_days(-1) == 1  # any positive age blocks a same-day reset
    assert intervals.interval_whole_days(-2 * 864000000000) == 2
    assert intervals.interval_to_days(intervals.NEVER) is None
    assert intervals.interval_whole_days(intervals.NEVER) is None
    assert intervals.days_to_interval(0) == 0 and intervals.days_to_interval(1) == -864000000000


def test_filetime() -> None:
    assert intervals.filetime_to_datetime(0) is None
    assert intervals.filetime_to_datetime(intervals.FILETIME_NEVER) is None
    assert intervals.filetime_to_datetime(116444736000000000) == datetime(1970, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize("text", ["S-1-1-0", "S-1-5-32-544", "S-1-5-21-918832266-2689243003-2407424961-1148"])
def test_sid_round_trip(text: str) -> None:
    assert sid.sid_from_bytes(sid.sid_to_bytes(text)) == text
    assert sid.is_sid(text)


def test_sid_known_bytes_and_errors() -> None:
    assert sid.sid_to_bytes("S-1-5-32-544") == bytes.fromhex("01020000000000052000000020020000")
    assert sid.rid("S-1-5-21-1-2-3-512") == 512
    for bad in (b"", b"\x02\x00\x00\x00\x00\x00\x00\x05", b"\x01\x02\x00\x00\x00\x00\x00\x05\x00"):
        with pytest.raises(ValueError):
            sid.sid_from_bytes(bad)
    with pytest.raises(ValueError):
        sid.sid_to_bytes("S-2-5")
    assert not sid.is_sid("CN=x")


def test_dn_helpers() -> None:
    user = r"CN=Lee\, Ann,OU=Staff,DC=corp,DC=example,DC=test"
    assert dn.split_rdns(user)[0] == r"CN=Lee\, Ann"
    assert dn.rdn_value(user) == "Lee, Ann"
    assert dn.parent(user) == "OU=Staff,DC=corp,DC=example,DC=test"
    assert dn.is_within(user, "ou=staff, dc=CORP,dc=example,dc=test")
    assert dn.is_within("OU=Staff,DC=corp,DC=example,DC=test", "OU=Staff,DC=corp,DC=example,DC=test")
    assert not dn.is_within("OU=Staffing,DC=corp,DC=example,DC=test", "OU=Staff,DC=corp,DC=example,DC=test")
    assert not dn.is_within("CN=x,OU=NotStaff,DC=corp,DC=example,DC=test", "OU=Staff,DC=corp,DC=example,DC=test")
    assert dn.same_dn("CN=A,DC=x", "cn=a, dc=X")
    assert dn.dns_domain("DC=corp,DC=example,DC=test") == "corp.example.test"
    assert dn.base_dn_of("CORP.EXAMPLE.TEST") == "DC=corp,DC=example,DC=test"


@pytest.mark.parametrize("value", ["Lee, Ann", " padded ", "#hash", 'a"b', "x=y+z;w<v>", "back\\slash"])
def test_dn_value_escaping_round_trips(value: str) -> None:
    escaped = dn.escape_value(value)
    assert dn.rdn_value(f"CN={escaped},DC=x") == value
    assert len(dn.split_rdns(f"CN={escaped},DC=x")) == 2
    assert dn.unescape_value(r"caf\c3\a9") == "café"  # hex pairs are bytes of the UTF-8 value (RFC 4514)
    assert dn.same_dn(r"CN=a\3Db\2C c,DC=x", r"cn=A\=B\, C,dc=x")  # one spelling per character


@pytest.mark.parametrize(("value", "problem"), [
    ("+1 4255550100", None),
    ("+44 7700900123", None),
    ("+358 401234567", None),
    (None, "missing"),
    ("   ", "missing"),
    ("(425) 555-0102", "no leading + and country code"),
    ("425.555.0131", "no leading + and country code"),
    ("+14255550107", "no space between the country code and the number"),
    ("+1 425-555-0100", "characters other than digits after the country code"),
    ("+1 425 555 0100", "characters other than digits after the country code"),
    ("+1 4255550100x12", "characters other than digits after the country code"),
])
def test_mobile_phone_form(value: str | None, problem: str | None) -> None:
    assert phone.phone_problem(value) == problem


def test_office_phone_may_have_an_extension() -> None:
    assert phone.phone_problem("+1 4255550100x12", allow_extension=True) is None
    assert phone.phone_problem("+1 4255550100 x12", allow_extension=True) is not None
