"""Stopping on SIGTERM, SIGHUP and SIGINT, including while asyncio waits.

The CLI installs `on_signal`, which raises `Interrupted` where the main thread is. That is right
for plain code, but not inside an event loop: asyncio runs callbacks in `Handle._run`, which
passes any exception other than SystemExit and KeyboardInterrupt to the loop's exception handler
and carries on, so an `Interrupted` raised in a callback is logged and lost, and the run goes on
holding its locks. `run(awaitable)` is the one way this package runs a coroutine: for as long as
its loop runs, those signals have a handler that raises nothing. It notes the signal, cancels the
main task wherever it waits and wakes the loop, as `asyncio.Runner` does for SIGINT
(https://docs.python.org/3/library/asyncio-runner.html#handling-keyboard-interruption). When the
loop is back, `Interrupted` is raised in plain code, whatever the coroutine made of its
cancellation, and the CLI's handlers are back in place.

A Python-level handler, not `loop.add_signal_handler`: the loop learns of a signal from its
self-pipe, which it reads only on its next turn, so a signal in the coroutine's last step was
never read (the loop stopped first) and the run went on as if none had come. A Python-level handler
runs in the main thread at the next bytecode (https://docs.python.org/3/library/signal.html#execution-of-python-signal-handlers),
whatever the loop does next, and it stays installed until the loop has closed.
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


class _Stop:
    """What a signal does while the loop runs: note it, cancel the main task, wake the loop; never raise."""

    def __init__(self) -> None:
        self.received: list[int] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[Any] | None = None

    def attach(self, loop: asyncio.AbstractEventLoop, task: asyncio.Task[Any]) -> None:
        """The main task has started: a signal from now on cancels it (one before, at once)."""
        self._loop, self._task = loop, task
        if self.received:
            task.cancel()

    def __call__(self, signum: int, _frame: object) -> None:
        self.received.append(signum)
        task, loop = self._task, self._loop
        if task is None or loop is None or task.done():
            return  # before the task or after it: `run` raises Interrupted once the loop is back
        task.cancel()
        with contextlib.suppress(RuntimeError):  # a loop already closed needs no waking
            loop.call_soon_threadsafe(_nothing)  # select() may wait long: end that wait


def _nothing() -> None:
    return None


def run(work: Awaitable[T], runner: asyncio.Runner | None = None) -> T:
    """Run `work` to its end (in `runner`, or a new loop); a signal meanwhile cancels it and raises `Interrupted`."""
    stop = _Stop()

    async def main() -> T:
        task = asyncio.current_task()
        assert task is not None
        stop.attach(asyncio.get_running_loop(), task)
        return await work

    installed = _take_signals(stop)
    try:
        result = runner.run(main()) if runner is not None else asyncio.run(main())
    except BaseException:
        if stop.received:
            raise Interrupted(stop.received[0]) from None
        raise
    finally:
        _give_back(installed)
    if stop.received:  # the coroutine swallowed its cancellation, or the signal came in its last step
        raise Interrupted(stop.received[0])
    return result


def _take_signals(handler: Callable[[int, object], None]) -> dict[int, Any]:
    """Give the signals the CLI handles to `handler`; {signal: the handler it had}."""
    if threading.current_thread() is not threading.main_thread():
        return {}  # signals reach the main thread only; a loop elsewhere keeps the process's handlers
    installed: dict[int, Any] = {}
    for sig in SIGNALS:
        previous = signal.getsignal(sig)
        if previous in (signal.SIG_IGN, None):
            continue  # ignored on purpose (nohup), or set outside Python: leave it
        installed[int(sig)] = signal.signal(sig, handler)
    return installed


def _give_back(installed: dict[int, Any]) -> None:
    """Put back what was there. A signal noted meanwhile is in `received` already; one that arrives during the
    swap waits (blocked) for the handler put back."""
    if not installed:
        return
    blocked = signal.pthread_sigmask(signal.SIG_BLOCK, list(installed))
    try:
        for sig, previous in installed.items():
            signal.signal(sig, previous)
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, blocked)
