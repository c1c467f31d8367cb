"""TLS for ldap3 that verifies the DC's certificate the way Python's `ssl` does, on every CPython we support.

ldap3 2.9.1 (its last release, 2021) wraps the socket with `check_hostname = False` and then matches the
certificate itself (`ldap3/core/tls.py`, `check_hostname`) with `ssl.match_hostname`. Python 3.12 removed
that function (deprecated since 3.7; https://docs.python.org/3/whatsnew/3.12.html#ssl, gh-94199), so ldap3
falls back to its own copy (`ldap3/utils/tls_backport.py`), which looks only at DNS names: a certificate
that names the DC by its IP address (an `iPAddress` subjectAltName) is refused on 3.12 and 3.13 with
"doesn't match any name", while 3.11 accepts it.

Here the matching is OpenSSL's, as `ssl.SSLContext.check_hostname` does it since Python 3.7
(https://docs.python.org/3/library/ssl.html#ssl.SSLContext.check_hostname: "the hostname is matched by
OpenSSL", IP addresses against iPAddress SANs only, RFC 6125 wildcard rules), during the handshake:
`server_hostname` is the name the certificate must carry (`--ad-tls-name`, else the host we connect to),
and ldap3's own after-the-fact check is skipped because the handshake has already done it. The same
object serves LDAPS (ldap3 wraps the socket at open) and StartTLS (it wraps after the extended operation).
"""

from __future__ import annotations

import ssl
from typing import Any

from ldap3 import Tls


class VerifiedTls(Tls):
    """An ldap3 `Tls` that requires a trusted chain and a certificate naming `expected_name` (DNS or IP)."""

    def __init__(self, *, expected_name: str, ca_file: str | None) -> None:
        # validate=CERT_NONE stops ldap3's backport name match from running after the handshake; the
        # context below requires the certificate (CERT_REQUIRED) and the name itself.
        super().__init__(validate=ssl.CERT_NONE, ca_certs_file=ca_file, version=None)
        self.expected_name = expected_name

    def context(self) -> ssl.SSLContext:
        """The context every handshake uses: system or given CAs, TLS 1.2+, name checked by OpenSSL."""
        context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=self.ca_certs_file)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.check_hostname = True
        context.verify_mode = ssl.CERT_REQUIRED
        return context

    def wrap_socket(self, connection: Any, do_handshake: bool = False) -> None:
        # ssl sends no SNI for an IP address and matches it against the certificate's iPAddress names
        connection.socket = self.context().wrap_socket(
            connection.socket, server_side=False, do_handshake_on_connect=do_handshake,
            server_hostname=self.expected_name)


def verified_tls(host: str, *, ca_file: str | None, tls_name: str | None = None) -> VerifiedTls:
    """TLS settings for a connection to `host` whose certificate must name `tls_name` (default: `host`)."""
    return VerifiedTls(expected_name=tls_name or host, ca_file=ca_file)
