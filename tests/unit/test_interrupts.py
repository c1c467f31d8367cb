"""A signal while asyncio runs a callback is not lost (issue 29): it cancels the work and raises Interrupted.

The CLI's handler raises Interrupted where the main thread is; inside an asyncio callback, asyncio's
Handle._run hands that to the loop's exception handler and the run carries on. `interrupts.run`
gives the signal to the loop instead, which cancels the main task wherever it waits.
"""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Iterator

import pytest

from auditor import interrupts
from auditor.interrupts import Interrupted


@pytest.fixture(autouse=True)
def cli_handlers() -> Iterator[None]:
    """The handlers `sspr-audit` installs for the whole run, put back afterwards."""
    previous = {sig: signal.signal(sig, interrupts.on_signal) for sig in interrupts.SIGNALS}
    yield
    for sig, handler in previous.items():
        signal.signal(sig, handler)


async def wait_after_a_signal_in_a_callback(signum: int) -> str:
    """Send `signum` from inside a loop callback, then wait (bounded) as a stalled HTTP request would."""
    loop = asyncio.get_running_loop()
    loop.call_soon(os.kill, os.getpid(), signum)
    try:
        await asyncio.sleep(2)
    except asyncio.CancelledError:
        return "swallowed its cancellation"  # as a reader that turns it into a failed read does
    return "ran on"


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP, signal.SIGINT])
def test_a_signal_inside_a_callback_cancels_the_run_and_raises_interrupted(signum: int) -> None:
    with pytest.raises(Interrupted) as raised:
        interrupts.run(wait_after_a_signal_in_a_callback(signum))
    assert raised.value.signum == signum
    # the CLI's handler is back once the loop is done
    assert signal.getsignal(signum) is interrupts.on_signal


def test_the_same_in_a_runner_the_apply_session_keeps() -> None:
    with asyncio.Runner() as runner, pytest.raises(Interrupted):
        interrupts.run(wait_after_a_signal_in_a_callback(signal.SIGTERM), runner)
    assert signal.getsignal(signal.SIGTERM) is interrupts.on_signal


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP, signal.SIGINT])
def test_a_signal_in_the_works_last_step_is_not_lost(signum: int) -> None:
    """CI, stop 38: the run's lab DC had just started when SIGTERM came, and the check ran to its end and exited 1.
    With `loop.add_signal_handler` the signal only wrote to the loop's self-pipe; the work returned in the same
    step, the loop stopped without reading the pipe, and nothing raised."""
    async def last_step() -> str:
        await asyncio.sleep(0)
        os.kill(os.getpid(), signum)
        return "finished"

    with pytest.raises(Interrupted) as raised:
        interrupts.run(last_step())
    assert raised.value.signum == signum
    assert signal.getsignal(signum) is interrupts.on_signal


def test_a_signal_before_the_work_starts_cancels_it_before_its_first_step() -> None:
    steps: list[str] = []

    async def work() -> None:
        steps.append("started")
        await asyncio.sleep(2)
        steps.append("ran on")

    with asyncio.Runner() as runner:
        stop_early = interrupts._Stop()
        stop_early(int(signal.SIGTERM), None)  # noted before the task exists
        task = runner.get_loop().create_task(work())
        stop_early.attach(runner.get_loop(), task)
        with pytest.raises(asyncio.CancelledError):
            runner.get_loop().run_until_complete(task)
    assert steps == []


def test_the_handler_is_held_until_the_loop_has_closed() -> None:
    """Not only while the work runs: a signal while asyncio.run closes the loop (its async generators, its
    default executor) is noted too, where the CLI's raising handler would be swallowed by a callback."""
    seen: list[object] = []

    async def work() -> None:
        loop = asyncio.get_running_loop()
        loop.call_soon(lambda: seen.append(signal.getsignal(signal.SIGTERM)))

    interrupts.run(work())
    assert seen and isinstance(seen[0], interrupts._Stop)
    assert signal.getsignal(signal.SIGTERM) is interrupts.on_signal


def test_without_a_signal_the_result_comes_back() -> None:
    async def work() -> int:
        await asyncio.sleep(0)
        return 7

    assert interrupts.run(work()) == 7


def test_plain_asyncio_loses_it(caplog: pytest.LogCaptureFixture) -> None:
    """Why interrupts.run exists: under asyncio.run the handler's raise goes to the exception handler."""
    assert asyncio.run(wait_after_a_signal_in_a_callback(signal.SIGTERM)) == "ran on"
    assert "Interrupted" in caplog.text


def test_the_apply_session_stops_on_a_signal_inside_a_callback() -> None:
    """What apply and rollback run their HTTP calls through (auditor.remediation.session.Session.run)."""
    from auditor.remediation.session import Session, Targets

    with Session(Targets(), lambda name, session: None) as session, pytest.raises(Interrupted):  # type: ignore[arg-type,return-value]
        session.run(wait_after_a_signal_in_a_callback(signal.SIGTERM))
