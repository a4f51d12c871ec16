"""The one process pool: work shared out to forked processes, and the garbage
collector switched off while large, cycle-free structures are built.

Forked workers inherit what the parent holds (the validated site, the plan)
without pickling it; only the items and the results cross between processes.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from multiprocessing import get_all_start_methods, get_context
from typing import Any, TypeVar

Shared = TypeVar("Shared")
Item = TypeVar("Item")
Result = TypeVar("Result")

#: Held while a pool runs with the module global its workers read.
_FORKING = threading.Lock()
_job: tuple[Callable[[Any, Any], Any], Any] | None = None


def fork_map(
    function: Callable[[Shared, Item], Result],
    shared: Shared,
    items: Sequence[Item],
    jobs: int,
    minimum: int = 200,
    chunksize: int = 1,
) -> Iterator[Result]:
    """``function(shared, item)`` for each item, in order.

    In ``jobs`` forked processes when there are at least ``minimum`` items
    (fewer are not worth starting processes for) and the system can fork;
    in this process otherwise. ``function`` and ``shared`` reach the workers
    by inheritance, so they need not be picklable; items and results must be.
    """
    global _job
    if jobs <= 1 or len(items) < minimum or "fork" not in get_all_start_methods():
        for item in items:
            yield function(shared, item)
        return
    with _FORKING:  # one pool at a time may use the global its workers inherit
        _job = (function, shared)
        try:
            with ProcessPoolExecutor(jobs, mp_context=get_context("fork")) as pool:
                yield from pool.map(_run, items, chunksize=chunksize)
        finally:
            _job = None  # what was shared is not kept alive after the work


def _run(item: Any) -> Any:
    """In a forked worker: the job the parent set before forking."""
    assert _job is not None
    function, shared = _job
    return function(shared, item)


@contextmanager
def no_gc() -> Iterator[None]:
    """Without the cycle collector: loading or building ten thousand articles
    triggers collections that walk them all and find nothing to free (the
    model has no reference cycles; reference counting frees it)."""
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            gc.enable()
