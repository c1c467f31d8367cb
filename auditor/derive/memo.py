"""Answers computed once per run: the checks, the report and the plan ask the same questions of one snapshot.

The memo lives in a `contextvars.ContextVar` that a run sets (`run_memo()`), never in a module-level dict: two
runs (fleet threads, each with its own context) never see each other's answers, and the answers go when the run
ends. Outside a run nothing is kept, and each question is computed again (the same answer, more slowly).
Python documents that each thread has its own context, so a value set in one thread is not seen in another:
https://docs.python.org/3/library/contextvars.html
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, TypeVar

R = TypeVar("R")
_Store = dict[tuple[str, tuple[int, ...]], tuple[tuple[Any, ...], Any]]
_RUN: ContextVar[_Store | None] = ContextVar("derived_figures_memo", default=None)
MAX_ANSWERS = 64


@contextmanager
def run_memo() -> Iterator[None]:
    """Keep answers for the length of the `with` block (an enclosing run's memo is reused)."""
    if _RUN.get() is not None:
        yield
        return
    token = _RUN.set({})
    try:
        yield
    finally:
        _RUN.reset(token)


def memo(what: str, inputs: tuple[Any, ...], compute: Callable[[], R]) -> R:
    """`compute()` once per `inputs` (by identity) within the current run. The inputs are frozen models kept with
    the answer, so an id is never reused for another object meanwhile."""
    store = _RUN.get()
    if store is None:
        return compute()
    key = (what, tuple(map(id, inputs)))
    hit = store.get(key)
    if hit is not None and all(a is b for a, b in zip(hit[0], inputs, strict=True)):
        answer: R = hit[1]  # stored by this function for the same `what`
        return answer
    if len(store) >= MAX_ANSWERS:
        store.clear()
    value = compute()
    store[key] = (inputs, value)
    return value
