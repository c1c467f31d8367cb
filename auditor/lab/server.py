"""Serve the lab emulator over HTTP on a loopback address.

``LabServer`` runs uvicorn in a background thread (tests, benchmarks, ``collect`` against
the lab); ``serve_forever`` runs it in the foreground (``sspr-audit lab serve``)::

    with LabServer("demo") as lab:
        lab.graph_url       # http://127.0.0.1:54321/v1.0
        lab.portal_url      # http://127.0.0.1:54321/api
        lab.faults = Faults(throttle={"users": 1})
        lab.requests()      # the request log
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
import time
from types import TracebackType

import httpx
import uvicorn
from starlette.applications import Starlette

from auditor.lab.emulator import EmulatorState, Faults, Paging, RequestRecord, create_app, lab_state
from auditor.lab.scenario import Scenario, load_scenario

__all__ = ["LabServer", "resolve_scenario", "serve_forever"]

log = logging.getLogger(__name__)

_LOOPBACK = frozenset({"127.0.0.1", "::1", "localhost"})


def resolve_scenario(scenario: str | Scenario) -> Scenario:
    """A scenario object, loading a built-in one by name."""
    return load_scenario(scenario) if isinstance(scenario, str) else scenario


def _uvicorn_config(app: Starlette, host: str, port: int) -> uvicorn.Config:
    return uvicorn.Config(app, host=host, port=port, log_config=None, log_level="warning",
                          access_log=False, lifespan="off", server_header=False)


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


class LabServer:
    """The emulator served by uvicorn in a background thread; a context manager."""

    def __init__(self, scenario: str | Scenario, host: str = "127.0.0.1", port: int = 0,
                 faults: Faults | None = None, *, paging: Paging | None = None,
                 allow_non_loopback: bool = False, startup_timeout: float = 15.0) -> None:
        if host not in _LOOPBACK and not allow_non_loopback:
            raise ValueError(f"the lab serves loopback addresses only, not {host!r}")
        self.scenario = resolve_scenario(scenario)
        self.app = create_app(self.scenario, faults, paging=paging)
        self.host = host
        self._requested_port = port
        self._startup_timeout = startup_timeout
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._socket: socket.socket | None = None
        self.port = 0

    # --- lifecycle ---

    def start(self) -> LabServer:
        if self._thread is not None:
            raise RuntimeError("the lab server is already running")
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self._requested_port))
        self._socket = sock
        self.port = sock.getsockname()[1]
        self._server = uvicorn.Server(_uvicorn_config(self.app, self.host, self.port))
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [sock]},
                                        name=f"lab-server-{self.port}", daemon=True)
        self._thread.start()
        try:
            self._wait_until_answering()
        except BaseException:
            self.stop()
            raise
        self.state.clear_log()  # forget the readiness probe
        log.info("lab emulator for %s at %s", self.scenario.name, self.base_url)
        return self

    def _wait_until_answering(self) -> None:
        deadline = time.monotonic() + self._startup_timeout
        while time.monotonic() < deadline:
            if self._thread is not None and not self._thread.is_alive():
                raise RuntimeError("the lab server stopped while starting")
            if self._server is not None and self._server.started:
                with contextlib.suppress(httpx.HTTPError):
                    httpx.get(f"{self.base_url}/v1.0/", timeout=1.0)
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

    def __enter__(self) -> LabServer:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    # --- addresses ---

    @property
    def base_url(self) -> str:
        if not self.port:
            raise RuntimeError("the lab server is not running")
        return f"http://{_url_host(self.host)}:{self.port}"

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


def serve_forever(scenario: str | Scenario, host: str = "127.0.0.1", port: int = 8765,
                  faults: Faults | None = None) -> None:
    """Serve the emulator in the foreground until interrupted (Ctrl+C)."""
    if host not in _LOOPBACK:
        raise ValueError(f"the lab serves loopback addresses only, not {host!r}")
    resolved = resolve_scenario(scenario)
    app = create_app(resolved, faults)
    base = f"http://{_url_host(host)}:{port}"
    log.info("lab emulator for scenario %s: Graph %s/v1.0, portal %s/api", resolved.name, base, base)
    uvicorn.Server(_uvicorn_config(app, host, port)).run()
