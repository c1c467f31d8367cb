"""AD time values: intervals (negative 100-ns ticks) and FILETIME timestamps.

`minPwdAge` and `msDS-MinimumPasswordAge` hold a *negative* count of 100-nanosecond ticks
(one day is -864000000000); `pwdLastSet` holds a FILETIME (ticks since 1601-01-01 UTC),
where 0 means "must change at next logon".
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

TICKS_PER_SECOND = 10_000_000
TICKS_PER_DAY = 86_400 * TICKS_PER_SECOND
NEVER = -0x8000_0000_0000_0000  # the "never" interval (e.g. maxPwdAge of a policy without expiry)
FILETIME_EPOCH = datetime(1601, 1, 1, tzinfo=UTC)
FILETIME_NEVER = 0x7FFF_FFFF_FFFF_FFFF


def interval_to_days(value: int) -> float | None:
    """Days in an AD interval; None for the "never" value."""
    if value == NEVER:
        return None
    return abs(value) / TICKS_PER_DAY


def interval_whole_days(value: int) -> int | None:
    """The interval in whole days as the GPO editor shows it (rounded up, so 1 tick is 1 day)."""
    days = interval_to_days(value)
    if days is None:
        return None
    whole = int(days)
    return whole + 1 if days > whole else whole


def interval_seconds(value: int) -> int | None:
    """Whole seconds in an AD interval (rounded up); None for the "never" value.

    `lockoutObservationWindow` and `lockoutDuration` (and their msDS- PSO forms) hold negative 100-ns ticks
    (learn.microsoft.com/windows/win32/adschema/a-lockoutduration); a `lockoutDuration` of "never" locks an
    account until an administrator unlocks it.
    """
    if value == NEVER:
        return None
    ticks = abs(value)
    return ticks // TICKS_PER_SECOND + (1 if ticks % TICKS_PER_SECOND else 0)


def minutes_to_interval(minutes: int) -> int:
    """The interval for a whole number of minutes (the GPO editor's unit for lockout windows)."""
    return -minutes * 60 * TICKS_PER_SECOND


def days_to_interval(days: int) -> int:
    """The interval `minPwdAge` holds for a whole number of days (0 stays 0)."""
    return -days * TICKS_PER_DAY


def filetime_to_datetime(value: int) -> datetime | None:
    """A FILETIME as an aware UTC datetime; None for 0 and for "never"."""
    if value <= 0 or value >= FILETIME_NEVER:
        return None
    return FILETIME_EPOCH + timedelta(microseconds=value // 10)


def never_expires(value: int) -> bool:
    """maxPwdAge / msDS-MaximumPasswordAge: 0 or the minimum interval means passwords never expire
    (learn.microsoft.com/windows/win32/adschema/a-maxpwdage; [MS-ADA2] maxPwdAge)."""
    return value == 0 or value == NEVER
