"""The fault matrix's table under pytest-xdist: rows recorded in a worker reach the controller, which prints it."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import pluggy

from tests.helpers.fault_matrix import Row, add_worker_rows, record, rows


@dataclass
class Config:
    """What the fault matrix uses of pytest's config: its plugin manager (and a worker's `workeroutput`)."""

    pluginmanager: pluggy.PluginManager = field(default_factory=lambda: pluggy.PluginManager("pytest"))


@dataclass
class WorkerConfig(Config):
    workeroutput: dict[str, Any] = field(default_factory=dict)


def test_rows_a_worker_records_reach_the_controllers_table() -> None:
    worker, controller = WorkerConfig(), Config()
    recorded = [Row("read", "timeout graph", "users answers after 30 s", "cloud_users", "licensing.in_scope", "3",
                    "ok"),
                Row("apply", "apply 500 create", "500 on create", "-", "-", "3", "FAILED")]
    for row in recorded:
        record(worker, row)
    assert rows(worker) == recorded
    sent = json.loads(json.dumps(worker.workeroutput))  # plain lists and strings: what execnet carries
    add_worker_rows(controller, sent)
    assert rows(controller) == recorded


def test_a_run_without_workers_keeps_its_rows_to_itself() -> None:
    config = Config()
    row = Row("ad", "LDAP stopped", "DC stopped mid-search", "ad_users", "-", "3", "ok")
    record(config, row)
    add_worker_rows(config, {})  # a worker that recorded nothing adds nothing
    assert rows(config) == [row]
