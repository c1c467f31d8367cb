"""The lab as the CLI uses it: serve the emulator, list and generate scenarios, stop what a run started."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from typing import Any

# The emulator's web server: the `lab` extra of pyproject.toml, which a live audit does not need.
LAB_SERVER_PACKAGES = ("starlette", "uvicorn")
LAB_EXTRA_INSTALL = "pip install 'sspr-auditor[lab]'"


def require_lab_server(what: str) -> None:
    """Raise SourceError (one line naming the extra) when the lab's web server packages are not installed."""
    from auditor.app.errors import SourceError

    missing = []
    for name in LAB_SERVER_PACKAGES:
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as exc:  # the package itself, or one it needs, is not installed
            missing.append(exc.name or name)
    if missing:
        raise SourceError(f"{what} needs the lab emulator's web server ({', '.join(missing)} not installed): "
                          f"{LAB_EXTRA_INSTALL}")


def serve_forever(scenario: str, host: str, port: int) -> None:
    require_lab_server("lab serve")
    from auditor.lab.server import serve_forever as serve

    serve(scenario, host, port)


def list_scenarios() -> list[str]:
    from auditor.lab.scenario import list_scenarios as names

    return names()


def generate_tenant(out: Path, window_days: int, **mix: Any) -> Any:
    """Write a generated tenant and its ground truth; a bad mix raises pydantic's ValidationError."""
    from auditor.lab.tenant_generator import TenantMix
    from auditor.lab.tenant_generator import generate_tenant as generate

    return generate(TenantMix(**mix), out, window_days=window_days)


def stop_lab_processes() -> None:
    """Stop every lab DC this process started (by the PIDs it holds), at once, not when a thread gets to it."""
    samba = sys.modules.get("auditor.lab_domain.samba")
    if samba is not None:
        samba.stop_all()
