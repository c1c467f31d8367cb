"""Stopping on SIGTERM, SIGHUP and SIGINT, including while asyncio waits.

The CLI installs `on_signal`, which raises `Interrupted` where the main thread is. That is right
for plain code, but not inside an event loop: asyncio runs callbacks in `Handle._run`, which
passes any exception other than SystemExit and KeyboardInterrupt to the loop's exception handler
and carries on, so an `Interrupted` raised in a callback is logged and lost, and the run goes on
holding its locks. `run(awaitable)` is the one way this package runs a coroutine: while it runs,
the loop owns those signals (`loop.add_signal_handler`, whose callback may touch the loop, see
https://docs.python.org/3/library/asyncio-eventloop.html#unix-signals), and a signal cancels the
main task wherever it waits, as `asyncio.Runner` does for SIGINT
(https://docs.python.org/3/library/asyncio-runner.html#handling-keyboard-interruption).
When the loop is back, `Interrupted` is raised in plain code, whatever the coroutine made of
its cancellation, and the CLI's handlers are back in place.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import threading
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

T = TypeVar("T")
SIGNALS = (signal.SIGTERM, signal.SIGHUP, signal.SIGINT)


class Interrupted(BaseException):
    """SIGTERM, SIGHUP or SIGINT arrived: unwind (so every context manager stops what it started), exit 128 + N."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def on_signal(signum: int, _frame: object) -> None:
    """The process-wide handler the CLI installs (outside an event loop)."""
    raise Interrupted(signum)


def run(work: Awaitable[T], runner: asyncio.Runner | None = None) -> T:
    """Run `work` to its end (in `runner`, or a new loop); a signal meanwhile cancels it and raises `Interrupted`."""
    received: list[int] = []

    async def main() -> T:
        loop = asyncio.get_running_loop()
        task = asyncio.current_task()
        assert task is not None
        installed = _take_signals(loop, lambda signum: _cancel(task, received, signum))
        try:
            return await work
        finally:
            _give_back(loop, installed)

    try:
        result = runner.run(main()) if runner is not None else asyncio.run(main())
    except BaseException:
        if received:
            raise Interrupted(received[0]) from None
        raise
    if received:  # the coroutine swallowed its cancellation: the signal still ends the run
        raise Interrupted(received[0])
    return result


def _cancel(task: asyncio.Task[Any], received: list[int], signum: int) -> None:
    received.append(signum)
    task.cancel()


def _take_signals(loop: asyncio.AbstractEventLoop, callback: Callable[[int], None]) -> dict[int, Any]:
    """Route the signals the CLI handles to `callback` on the loop; {signal: the handler it had}."""
    if threading.current_thread() is not threading.main_thread():
        return {}  # signals reach the main thread only; a loop elsewhere keeps the process's handlers
    installed: dict[int, Any] = {}
    for sig in SIGNALS:
        previous = signal.getsignal(sig)
        if previous in (signal.SIG_IGN, None):
            continue  # ignored on purpose (nohup): stay ignored
        try:
            loop.add_signal_handler(sig, callback, int(sig))
        except (NotImplementedError, RuntimeError, ValueError):  # a loop without signal support
            continue
        installed[int(sig)] = previous
    return installed


def _give_back(loop: asyncio.AbstractEventLoop, installed: dict[int, Any]) -> None:
    # remove_signal_handler resets the signal to SIG_DFL (SIGINT to default_int_handler): put back what was
    # there, with the signals blocked meanwhile, so one that arrives then waits for the restored handler
    if not installed:
        return
    blocked = signal.pthread_sigmask(signal.SIG_BLOCK, list(installed))
    try:
        for sig, previous in installed.items():
            with contextlib.suppress(Exception):
                loop.remove_signal_handler(sig)
            signal.signal(sig, previous)
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, blocked)
