"""Headless Chromium for browser tests: found once, run with a timeout, its processes cleaned up."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from auditor.app.browser import CHROMIUM_FLAGS, find_chromium

CHROMIUM_TIMEOUT_SECONDS = 120

Headless = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture(scope="session")
def chromium() -> str:
    binary = find_chromium()
    if binary is None:
        reason = "headless Chromium is not installed (apt-get install chromium, or set $CHROMIUM)"
        if os.environ.get("SSPR_REQUIRE_BROWSER") == "1":
            pytest.fail(f"SSPR_REQUIRE_BROWSER=1 but {reason}")
        pytest.skip(reason)
    return binary


@pytest.fixture
def headless(chromium: str, tmp_path: Path) -> Headless:
    """Run Chromium headless with a throwaway profile; fail the test on a timeout or an error exit."""
    profile = tmp_path / "chromium-profile"

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        command = [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args]
        # A session of its own, so the browser and only its children can be ended together.
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                   start_new_session=True)
        try:
            stdout, stderr = process.communicate(timeout=CHROMIUM_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            _end_process_group(process.pid)
            process.communicate()
            pytest.fail(f"Chromium did not finish within {CHROMIUM_TIMEOUT_SECONDS}s: {' '.join(args)}")
        finally:
            _end_process_group(process.pid)
        if process.returncode != 0:
            pytest.fail(f"Chromium exited {process.returncode}: {stderr[-2000:]}")
        return subprocess.CompletedProcess(command, process.returncode, stdout, stderr)

    return run


def _end_process_group(group_id: int) -> None:
    """End what is left of the process group this fixture started (helpers Chromium leaves behind)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):  # nothing is left of it
        os.killpg(group_id, signal.SIGKILL)
