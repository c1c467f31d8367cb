"""ldap3 over TLS verifies the certificate by DNS name and by IP address on every CPython we support (issue 28).

ldap3 2.9.1's own name match ignores iPAddress SANs once `ssl.match_hostname` is gone (Python 3.12+); these
tests run the real ldap3 socket code against a TLS listener on loopback with certificates from the lab's
own CA, so they fail on 3.12/3.13 if the project's TLS set-up ever falls back to ldap3's match.
"""

from __future__ import annotations

import dataclasses
import socket
import ssl
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from auditor.endpoints import AdEndpoint
from auditor.lab_domain import samba
from auditor.readers.directory import AdSettings, DirectoryReadError, connect
from auditor.readers.ldap_tls import verified_tls

pytestmark = pytest.mark.roundtrip

HOST = "127.0.0.1"
NAME = "dc1.corp.example.test"


def _certificates(root: Path, *, name_address: bool) -> Path:
    samba._issue_lab_ca(root)
    samba._issue_server_certificate(root, address=HOST, dns_names=[NAME], name_address=name_address)
    return root / "private" / "tls"


class _TlsListener:
    """Accepts TLS handshakes on 127.0.0.1 until closed; what the client does after does not matter here."""

    def __init__(self, folder: Path) -> None:
        self.context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.context.load_cert_chain(folder / "cert.pem", folder / "key.pem")
        self.sock = socket.create_server((HOST, 0))
        self.sock.settimeout(0.05)  # so close() is noticed at once
        self.port = self.sock.getsockname()[1]
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.closed = threading.Event()
        self.thread.start()

    def _serve(self) -> None:
        while not self.closed.is_set():
            try:
                client, _ = self.sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            client.settimeout(5)
            try:
                with self.context.wrap_socket(client, server_side=True) as tls:
                    tls.settimeout(2)
                    tls.recv(1)  # until the client closes
            except OSError:
                pass  # a refused handshake is the client's verdict, not ours

    def close(self) -> None:
        self.closed.set()
        self.sock.close()
        self.thread.join(5)


@pytest.fixture(params=[True, False], ids=["names-ip", "names-dns-only"])
def listener(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[_TlsListener, Path, bool]]:
    folder = _certificates(tmp_path, name_address=request.param)
    server = _TlsListener(folder)
    try:
        yield server, folder / "ca.pem", request.param
    finally:
        server.close()


def _open(port: int, ca: Path, tls_name: str | None) -> None:
    from ldap3 import NONE, Connection, Server

    server = Server(HOST, port=port, use_ssl=True, get_info=NONE, connect_timeout=5,
                    tls=verified_tls(HOST, ca_file=str(ca), tls_name=tls_name))
    conn = Connection(server)
    try:
        conn.open()
    finally:
        conn.unbind()


def test_an_ip_san_is_accepted_and_a_missing_one_refused(listener: tuple[_TlsListener, Path, bool]) -> None:
    from ldap3.core.exceptions import LDAPSocketOpenError

    server, ca, names_ip = listener
    if names_ip:
        _open(server.port, ca, None)
    else:
        with pytest.raises(LDAPSocketOpenError, match="IP address mismatch"):
            _open(server.port, ca, None)


def test_the_expected_name_is_checked_instead_of_the_address(listener: tuple[_TlsListener, Path, bool]) -> None:
    from ldap3.core.exceptions import LDAPSocketOpenError

    server, ca, _ = listener
    _open(server.port, ca, NAME)  # both certificates name the host
    with pytest.raises(LDAPSocketOpenError, match="Hostname mismatch"):
        _open(server.port, ca, "other.corp.example.test")


def test_an_untrusted_chain_is_refused_whatever_the_name(listener: tuple[_TlsListener, Path, bool],
                                                         tmp_path: Path) -> None:
    from ldap3.core.exceptions import LDAPSocketOpenError

    server, _, _ = listener
    other = tmp_path / "other"
    samba._issue_lab_ca(other)
    with pytest.raises(LDAPSocketOpenError, match="certificate verify failed"):
        _open(server.port, other / "private" / "tls" / "ca.pem", NAME)


def test_the_reader_names_the_expected_name_when_it_is_missing(tmp_path: Path) -> None:
    folder = _certificates(tmp_path, name_address=False)
    server = _TlsListener(folder)
    try:
        endpoint = AdEndpoint(host=HOST, tls="ldaps", ca_file=str(folder / "ca.pem"), user="reader@corp.example.test")
        settings = AdSettings(endpoint, port=server.port, password="x", timeout=5)
        with pytest.raises(DirectoryReadError, match=r"does not name '127\.0\.0\.1'"):
            connect(settings)
        other_name = endpoint.model_copy(update={"tls_name": "other.corp.example.test"})
        wrong = dataclasses.replace(settings, endpoint=other_name)
        with pytest.raises(DirectoryReadError, match=r"does not name 'other\.corp\.example\.test'"):
            connect(wrong)
    finally:
        server.close()
