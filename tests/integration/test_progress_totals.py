"""Issue 18: the live display shows Graph's user total ("n of N rows"); no other display costs a request for it."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from auditor import progress
from auditor.lab.emulator import Paging
from auditor.lab.server import LabServer
from auditor.lab.tenant_generator import TenantMix, generate_tenant
from auditor.progress_display import LineDisplay, LiveDisplay
from auditor.readers import graph_tenant
from tests.integration.test_coverage_lab import read


@pytest.fixture(name="lab", scope="module")
def lab_fixture(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabServer]:
    from auditor.lab.scenario import load_scenario_file

    generated = generate_tenant(TenantMix(users=2500, seed=18), tmp_path_factory.mktemp("tenant"))
    with LabServer(load_scenario_file(generated.scenario_path), paging=Paging(cap=999)) as server:
        yield server


class Recorder:
    def __init__(self, wants_totals: bool) -> None:
        self.wants_totals = wants_totals
        self.totals: list[tuple[str, str, int, str]] = []
        self.rows = 0

    def advance(self, source: str, item: str, count: int, unit: str) -> None:
        if (item, unit) == ("users", "rows"):
            self.rows += count

    def total(self, source: str, item: str, count: int, unit: str) -> None:
        self.totals.append((source, item, count, unit))

    def source_done(self, source: str) -> None:
        pass


def test_a_display_that_shows_totals_gets_the_user_count_from_graph(lab: LabServer) -> None:
    lab.state.clear_log()
    recorder = Recorder(wants_totals=True)
    with progress.showing(recorder):
        section = read(lab, graph_tenant.read_cloud_users)
    assert section.readable and len(section.value.users) == 2500 == recorder.rows
    assert recorder.totals == [("Graph", "users", 2500, "rows")]
    counted = [r for r in lab.requests("users") if r.path.endswith("/$count")]
    assert len(counted) == 1 and counted[0].status == 200


@pytest.mark.parametrize("display", [None, "line"])
def test_no_count_request_without_a_live_display(lab: LabServer, display: str | None) -> None:
    lab.state.clear_log()
    shown: Any = LineDisplay(io.StringIO()) if display else None
    with progress.showing(shown):
        assert read(lab, graph_tenant.read_cloud_users).readable
    assert not [r for r in lab.requests() if r.path.endswith("/$count")]


def test_a_failed_count_leaves_only_the_total_out(lab: LabServer) -> None:
    recorder = Recorder(wants_totals=True)
    original = graph_tenant._count_users

    async def refused(client: Any) -> None:  # what a tenant that refuses advanced queries answers
        await original(_Unconsistent(client))

    graph_tenant._count_users = refused  # type: ignore[assignment]
    try:
        with progress.showing(recorder):
            section = read(lab, graph_tenant.read_cloud_users)
    finally:
        graph_tenant._count_users = original  # type: ignore[assignment]
    assert section.readable and len(section.value.users) == 2500 and recorder.totals == []


class _Unconsistent:
    """A client whose `users.count` request loses its ConsistencyLevel header: the lab answers 400."""

    def __init__(self, client: Any) -> None:
        self.users = _Users(client.users)


class _Users:
    def __init__(self, users: Any) -> None:
        self.count = _Count(users.count)


class _Count:
    def __init__(self, count: Any) -> None:
        self._count = count

    async def get(self, request_configuration: Any = None) -> Any:
        return await self._count.get()


def test_the_lab_answers_count_only_as_an_advanced_query(lab: LabServer) -> None:
    url = f"{lab.graph_url}/users/$count"
    plain = httpx.get(url, headers={"Authorization": "Bearer lab-token"})
    eventual = httpx.get(url, headers={"Authorization": "Bearer lab-token", "ConsistencyLevel": "eventual"})
    assert plain.status_code == 400 and "ConsistencyLevel" in plain.text
    assert eventual.status_code == 200 and eventual.text == "2500"


def test_the_live_display_shows_n_of_total(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    screen = io.StringIO()
    display = LiveDisplay(screen)
    display.console.width = 100
    display.advance("Graph", "users", 999, "rows")
    display.total("Graph", "users", 2500, "rows")
    display.advance("Graph", "users", 999, "rows")
    display.progress.refresh()
    display.console.print(display.progress)
    assert re.search(r"Graph users\s+1,998 of 2,500 rows", screen.getvalue()), screen.getvalue()
