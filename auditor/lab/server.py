"""Serve the lab emulator over HTTP, and the lab identity platform over TLS, on a loopback address.

``LabServer`` runs uvicorn in a background thread (tests, benchmarks, ``collect`` against
the lab); ``serve_forever`` runs it in the foreground (``sspr-audit lab serve``)::

    with LabServer("demo") as lab:
        lab.graph_url       # http://127.0.0.1:54321/v1.0
        lab.portal_url      # http://127.0.0.1:54321/api
        lab.faults = Faults(throttle={"users": 1})
        lab.requests()      # the request log

``LabIdentityServer`` serves :mod:`auditor.lab.identity` (device code, refresh) at an https authority
with a throwaway CA; ``identity.guard(lab)`` makes the lab portal accept only the user tokens it issued.
"""

from __future__ import annotations

import contextlib
import logging
import shutil
import socket
import tempfile
import threading
import time
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx
import uvicorn
from starlette.applications import Starlette

from auditor.lab import emulator_ca, emulator_devices
from auditor.lab.emulator import EmulatorState, Faults, Paging, RequestRecord, create_app, lab_state
from auditor.lab.identity import IdentityState, create_identity_app
from auditor.lab.scenario import Scenario, load_scenario

__all__ = ["LabIdentityServer", "LabServer", "resolve_scenario", "serve_forever"]

log = logging.getLogger(__name__)

_LOOPBACK = frozenset({"127.0.0.1", "::1", "localhost"})


def resolve_scenario(scenario: str | Scenario) -> Scenario:
    """A scenario object, loading a built-in one by name."""
    return load_scenario(scenario) if isinstance(scenario, str) else scenario


def _uvicorn_config(app: Starlette, host: str, port: int, *, certificate: Path | None = None,
                    key: Path | None = None) -> uvicorn.Config:
    return uvicorn.Config(app, host=host, port=port, log_config=None, log_level="warning",
                          access_log=False, lifespan="off", server_header=False,
                          # a client's idle keep-alive TLS connection held `stop` for its whole 10 s join
                          timeout_graceful_shutdown=1,
                          ssl_certfile=str(certificate) if certificate else None,
                          ssl_keyfile=str(key) if key else None)


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


class _BackgroundServer:
    """An ASGI app served by uvicorn in a background thread on a loopback address; a context manager."""

    scheme = "http"
    probe_path = "/"

    def __init__(self, app: Starlette, host: str, port: int, *, allow_non_loopback: bool = False,
                 startup_timeout: float = 15.0) -> None:
        if host not in _LOOPBACK and not allow_non_loopback:
            raise ValueError(f"the lab serves loopback addresses only, not {host!r}")
        self.app = app
        self.host = host
        self._requested_port = port
        self._startup_timeout = startup_timeout
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._socket: socket.socket | None = None
        self.port = 0

    # --- lifecycle ---

    def _config(self) -> uvicorn.Config:
        return _uvicorn_config(self.app, self.host, self.port)

    def _probe(self) -> None:
        from auditor.readers.credentials import tls_context

        httpx.get(f"{self.base_url}{self.probe_path}", timeout=1.0, verify=tls_context())  # one CA load per process

    def _started(self) -> None:
        """Called once the server answers."""

    def start(self) -> _BackgroundServer:
        if self._thread is not None:
            raise RuntimeError("the lab server is already running")
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self._requested_port))
        self._socket = sock
        self.port = sock.getsockname()[1]
        self._server = uvicorn.Server(self._config())
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [sock]},
                                        name=f"lab-server-{self.port}", daemon=True)
        self._thread.start()
        try:
            self._wait_until_answering()
        except BaseException:
            self.stop()
            raise
        self._started()
        return self

    def _wait_until_answering(self) -> None:
        deadline = time.monotonic() + self._startup_timeout
        while time.monotonic() < deadline:
            if self._thread is not None and not self._thread.is_alive():
                raise RuntimeError("the lab server stopped while starting")
            if self._server is not None and self._server.started:
                with contextlib.suppress(httpx.HTTPError):
                    self._probe()
                    return
            time.sleep(0.02)
        raise TimeoutError(f"the lab server did not answer within {self._startup_timeout} s")

    def stop(self, timeout: float = 10.0) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                log.warning("lab server thread did not stop within %s s", timeout)
        if self._socket is not None:
            self._socket.close()
        self._server = self._thread = self._socket = None

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        if not self.port:
            raise RuntimeError("the lab server is not running")
        return f"{self.scheme}://{_url_host(self.host)}:{self.port}"


def _extra_routes() -> list[tuple[str, str, str, Any]]:
    """The routes of the emulator's modules that build on lab/emulator.py: Conditional Access, devices."""
    return [*emulator_ca.routes("/v1.0"), *emulator_devices.routes("/v1.0")]


class LabServer(_BackgroundServer):
    """The emulator served by uvicorn in a background thread; a context manager."""

    probe_path = "/v1.0/"

    def __init__(self, scenario: str | Scenario, host: str = "127.0.0.1", port: int = 0,
                 faults: Faults | None = None, *, paging: Paging | None = None,
                 allow_non_loopback: bool = False, startup_timeout: float = 15.0) -> None:
        self.scenario = resolve_scenario(scenario)
        super().__init__(create_app(self.scenario, faults, paging=paging, extra_routes=_extra_routes()),
                         host, port,
                         allow_non_loopback=allow_non_loopback, startup_timeout=startup_timeout)

    def start(self) -> LabServer:
        super().start()
        return self

    def _started(self) -> None:
        self.state.clear_log()  # forget the readiness probe
        log.info("lab emulator for %s at %s", self.scenario.name, self.base_url)

    def __enter__(self) -> LabServer:
        self.start()
        return self

    # --- addresses ---

    @property
    def graph_url(self) -> str:
        return f"{self.base_url}/v1.0"

    @property
    def portal_url(self) -> str:
        return f"{self.base_url}/api"

    # --- state, faults, request log ---

    @property
    def state(self) -> EmulatorState:
        return lab_state(self.app)

    @property
    def faults(self) -> Faults:
        return self.state.faults

    @faults.setter
    def faults(self, value: Faults) -> None:
        self.state.faults = value

    def requests(self, endpoint: str | None = None) -> list[RequestRecord]:
        return self.state.requests(endpoint)


class LabIdentityServer(_BackgroundServer):
    """The lab identity platform at an https authority on loopback, with a throwaway CA (``ca_file``)::

        with LabServer("demo") as lab, LabIdentityServer() as identity:
            identity.guard(lab)          # the lab portal now takes only user tokens issued here
            identity.authority           # https://127.0.0.1:54322/<tenant id>
            identity.ca_file             # trust it: REQUESTS_CA_BUNDLE=<ca_file>
            identity.state.revoke_sessions()
    """

    scheme = "https"

    def __init__(self, state: IdentityState | None = None, host: str = "127.0.0.1", port: int = 0) -> None:
        self.state = state or IdentityState()
        super().__init__(create_identity_app(self.state), host, port)
        self._folder: Path | None = None
        self.ca_file = Path()
        self._certificate = self._key = Path()

    def _config(self) -> uvicorn.Config:
        return _uvicorn_config(self.app, self.host, self.port, certificate=self._certificate, key=self._key)

    def _probe(self) -> None:
        import ssl

        httpx.get(f"{self.authority}/v2.0/.well-known/openid-configuration", timeout=1.0,
                  verify=ssl.create_default_context(cafile=str(self.ca_file)))

    def start(self) -> LabIdentityServer:
        from auditor.lab.tls import make_certificates

        self._folder = Path(tempfile.mkdtemp(prefix="sspr-lab-identity-"))
        files = make_certificates(self._folder, self.host)
        self.ca_file, self._certificate, self._key = files.ca_file, files.cert_file, files.key_file
        try:
            super().start()
        except BaseException:
            self._remove_folder()
            raise
        log.info("lab identity platform at %s", self.authority)
        return self

    def stop(self, timeout: float = 10.0) -> None:
        super().stop(timeout)
        self._remove_folder()

    def _remove_folder(self) -> None:
        if self._folder is not None:
            shutil.rmtree(self._folder, ignore_errors=True)
            self._folder = None

    def __enter__(self) -> LabIdentityServer:
        return self.start()

    @property
    def authority(self) -> str:
        return f"{self.base_url}/{self.state.tenant_id}"

    def guard(self, lab: LabServer) -> None:
        """Make `lab`'s portal endpoints accept only live user tokens for the portal issued here, signed in to the
        lab's own tenant (the id its Graph reports), as a real tenant's sign-in is."""
        lab.state.portal_token_problem = self.state.portal_token_problem
        self.sign_in_to(lab)

    def sign_in_to(self, lab: LabServer) -> None:
        """Sign users in to `lab`'s tenant (the id its Graph reports for /directory/onPremisesSynchronization), so a
        login cache made here is of the tenant the lab's Graph reads."""
        sync = lab.state.tenant.on_premises_synchronization
        if sync and sync[0].get("id"):
            self.state.tenant_id = str(sync[0]["id"])


def serve_forever(scenario: str | Scenario, host: str = "127.0.0.1", port: int = 8765,
                  faults: Faults | None = None) -> None:
    """Serve the emulator in the foreground until interrupted (Ctrl+C)."""
    if host not in _LOOPBACK:
        raise ValueError(f"the lab serves loopback addresses only, not {host!r}")
    resolved = resolve_scenario(scenario)
    app = create_app(resolved, faults, extra_routes=_extra_routes())
    base = f"http://{_url_host(host)}:{port}"
    log.info("lab emulator for scenario %s: Graph %s/v1.0, portal %s/api", resolved.name, base, base)
    uvicorn.Server(_uvicorn_config(app, host, port)).run()
