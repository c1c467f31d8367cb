"""Run the CLI with stderr on a pseudo-terminal (stdout a pipe), for the live progress displays."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def under_a_terminal(args: list[str], env: dict[str, str]) -> tuple[int, str, str]:
    """(exit code, stdout, everything the terminal got)."""
    import pty
    import select

    primary, secondary = pty.openpty()
    process = subprocess.Popen([sys.executable, "-m", "auditor.cli", *args], cwd=ROOT, env=env,
                               stdout=subprocess.PIPE, stderr=secondary, stdin=subprocess.DEVNULL)
    os.close(secondary)
    screen = bytearray()
    while True:
        ready, _, _ = select.select([primary], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(primary, 65536)
            except OSError:  # the other end closed
                break
            if not chunk:
                break
            screen += chunk
        elif process.poll() is not None:
            break
    os.close(primary)
    assert process.stdout is not None
    out = process.stdout.read().decode()
    process.wait(timeout=60)
    return process.returncode, out, screen.decode(errors="replace")
