"""One SMB session to a DC's SYSVOL (smbprotocol), and what its failures mean: shared by the SYSVOL readers
and the SYSVOL writer.

SMB 3 with signing and encryption, NTLM with the same account as the LDAP bind (a UPN or DOMAIN\\user).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from auditor.endpoints import AD_PASSWORD_VARIABLE

if TYPE_CHECKING:
    from auditor.readers.directory import AdSettings


class SmbFailure(Exception):
    """SYSVOL could not be reached or read at all; the message says why, for a failed section or a refused write."""


def host_of(settings: AdSettings) -> str:
    return settings.smb_host or settings.host


def open_session(settings: AdSettings) -> dict[str, Any]:
    """Register an encrypted session and return its connection cache (close it with `close_session`)."""
    import smbclient
    from smbprotocol.exceptions import SMBResponseException

    cache: dict[str, Any] = {}
    host = host_of(settings)
    try:
        smbclient.register_session(host, username=settings.user, password=settings.password, auth_protocol="ntlm",
                                   encrypt=True, connection_timeout=int(settings.timeout), connection_cache=cache)
    except SMBResponseException as exc:
        # Samba answers a UPN with a wrong password with STATUS_NOT_FOUND, not LOGON_FAILURE
        close_session(cache)
        raise SmbFailure(logon_failure(settings, exc)) from None
    except Exception as exc:
        close_session(cache)
        raise SmbFailure(describe(settings, exc)) from None
    return cache


def close_session(cache: dict[str, Any]) -> None:
    import smbclient

    smbclient.reset_connection_cache(connection_cache=cache)


@contextmanager
def session(settings: AdSettings) -> Iterator[dict[str, Any]]:
    """A session for one read; every SMB, network or logon failure inside it becomes SmbFailure."""
    cache = open_session(settings)
    try:
        yield cache
    except SmbFailure:
        raise
    except Exception as exc:
        if not _is_smb_error(exc):
            raise
        raise SmbFailure(describe(settings, exc)) from None
    finally:
        close_session(cache)


def _is_smb_error(exc: BaseException) -> bool:
    from smbprotocol.exceptions import SMBAuthenticationError, SMBException

    # smbprotocol raises ValueError (and OSError) when it cannot connect
    return isinstance(exc, (SMBAuthenticationError, SMBException, OSError, ValueError))


def logon_failure(settings: AdSettings, exc: Exception) -> str:
    return (f"SMB logon as {settings.user!r} to {host_of(settings)} refused: wrong user name or password "
            f"(check --ad-user and {AD_PASSWORD_VARIABLE}; {_status(exc)})")


def describe(settings: AdSettings, exc: BaseException) -> str:
    from smbprotocol.exceptions import AccessDenied, SMBAuthenticationError, SMBException
    from smbprotocol.header import NtStatus

    host = host_of(settings)
    if isinstance(exc, SMBAuthenticationError):
        return logon_failure(settings, exc)
    # smbclient's path functions raise SMBOSError carrying the status, not AccessDenied
    if isinstance(exc, AccessDenied) or getattr(exc, "ntstatus", None) == NtStatus.STATUS_ACCESS_DENIED:
        return f"SMB access denied to {settings.user!r} on {host}: the account cannot read SYSVOL"
    if isinstance(exc, SMBException):
        return f"SMB error on {host}: {exc}"
    return f"cannot reach SMB on {host}:445: {exc}"


def _status(exc: Exception) -> str:
    text = str(exc)
    return text.rsplit(") ", 1)[-1] if ") " in text else text
