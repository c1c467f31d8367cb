"""Shared pytest hooks: each test's call report is kept on its item, so a fixture can record the outcome; the
lab's state folder is a temporary one for the session unless SSPR_LAB_DIR names one (CI may keep a cache)."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from collections.abc import Iterator
from typing import Any

import pytest


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[Any]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    if report.when == "call":
        item.rep_call = report  # type: ignore[attr-defined]


def pytest_configure(config: pytest.Config) -> None:
    """Lab DCs started by `--lab` runs keep their templates in a session folder, never in the user's ~/.cache
    (the default, auditor/lab_domain/folders.py) nor in the current folder."""
    if os.environ.get("SSPR_LAB_DIR"):
        return
    folder = tempfile.mkdtemp(prefix="sspr-lab-")
    os.environ["SSPR_LAB_DIR"] = folder
    atexit.register(shutil.rmtree, folder, True)  # registered first, so it runs after the DCs' own stops


@pytest.hookimpl(optionalhook=True)  # a pytest-xdist hook: unknown (and never called) without xdist
def pytest_testnodedown(node: Any, error: object) -> None:
    """A pytest-xdist worker finished: the fault-matrix rows it recorded join the controller's table. The lab
    folder set above is in the environment the workers inherit, so they share its templates (made once, under
    a lock)."""
    from tests.helpers.fault_matrix import add_worker_rows

    add_worker_rows(node.config, getattr(node, "workeroutput", {}))
