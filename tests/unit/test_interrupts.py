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
