"""Headless Chromium for the report tests, the benchmark and setup's proof: found and flagged in one place."""

from __future__ import annotations

import os
import shutil

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
CHROMIUM_PACKAGE = "chromium"  # Debian's package; /usr/bin/chromium
# Headless, as root, with a closed network: without the background-networking flags Chromium keeps
# opening connections this machine refuses (../shared/reference and the machine notes).
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--disable-dev-shm-usage",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
)


def find_chromium() -> str | None:
    """`$CHROMIUM` if set, else /usr/bin/chromium, else the first Chromium or Chrome on PATH."""
    candidates = [os.environ.get("CHROMIUM", ""), "/usr/bin/chromium"]
    candidates += [shutil.which(name) or "" for name in CHROMIUM_NAMES]
    return next((c for c in candidates if c and os.access(c, os.X_OK)), None)
