"""Writes that no request waits for: kept in memory, written by a thread.

A request adds to a batch under a lock and returns at once. A thread of the
worker writes the batch once a second, in one transaction; a batch that did
not commit is put back, whole, and tried again with what came since. At a
graceful stop (the worker's exit: gunicorn's SIGTERM, the interpreter's end)
the thread is joined and what is left is tried again until it is written or
:data:`EXIT_DEADLINE` has passed: a stop while the database is busy loses
nothing unless it stays busy that long (what is lost then is logged, with
its count). A batch never holds more than :data:`LIMIT` entries: beyond
that, new ones are dropped and counted in the log, so a database down for
hours cannot exhaust a worker's memory.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import time
import weakref
from collections.abc import Sequence
from typing import Any, Generic, TypeVar

from feeds.state.engine import TIMEOUT
from feeds.state.store import StateError

#: Seconds between writes.
FLUSH = 1.0
#: Seconds a stopping worker keeps trying to write what is left. With the
#: last try of each batch (at most :data:`feeds.state.engine.TIMEOUT` each), well
#: under gunicorn's ``graceful_timeout`` (30 s), after which it SIGKILLs a worker.
EXIT_DEADLINE = 15.0
#: Most entries one batch holds.
LIMIT = 100_000

B = TypeVar("B")


class Batch(Generic[B]):
    """What a worker has to write, not yet written. Subclasses say what a
    batch is: :meth:`_take` (empty it), :meth:`_put_back`, :meth:`_write`,
    :meth:`_size`."""

    #: What the entries are, for the log.
    what = "entries"

    def __init__(self, logger: logging.Logger, deadline: float = EXIT_DEADLINE) -> None:
        self.logger = logger
        #: Seconds a stop keeps trying to write what is left.
        self.deadline = deadline
        self._lock = threading.Lock()
        self._pid = os.getpid()  # the process whose entries these are
        self._running = 0  # the process whose thread runs
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        #: Entries dropped since the last log line (the batch was full).
        self._dropped = 0

    # -- what a subclass defines -----------------------------------------------------

    def _take(self) -> B | None:
        """The batch, leaving it empty; None when it is empty. Under the lock."""
        raise NotImplementedError

    def _put_back(self, batch: B) -> None:
        """Add a batch that did not commit back to what came since. Under the lock."""
        raise NotImplementedError

    def _write(self, batch: B) -> None:
        """Write a batch in one transaction; a :class:`StateError` when it did not commit."""
        raise NotImplementedError

    def _size(self, batch: B) -> int:
        raise NotImplementedError

    def _count(self) -> int:
        """How many entries wait now. Under the lock."""
        raise NotImplementedError

    # -- for subclasses' ``add`` methods ------------------------------------------------

    def _adding(self) -> bool:
        """Under the lock, before an entry is added: False when it must be
        dropped (the batch is full)."""
        if self._pid != os.getpid():  # forked: what the parent had is its own
            self._take()
            self._pid, self._dropped = os.getpid(), 0
        if self._count() >= LIMIT:
            self._dropped += 1
            return False
        return True

    def _started(self) -> None:
        """Start this process's thread, once; call after adding."""
        if self._running == os.getpid():
            return
        with self._lock:
            if self._running == os.getpid():
                return
            self._running = os.getpid()
            self._stop = threading.Event()
            self._thread = threading.Thread(
                target=_run,
                args=(weakref.ref(self), self._stop),
                daemon=True,
                name=f"feeds-{self.what.replace(' ', '-')}",
            )
        self._thread.start()
        _register(self)

    # -- writing ---------------------------------------------------------------------

    def pending(self) -> int:
        """How many entries wait to be written."""
        with self._lock:
            return self._count()

    def flush(self) -> bool:
        """Write what is pending; False when it did not commit (it is kept,
        to be tried again)."""
        with self._lock:
            batch = self._take()
            dropped, self._dropped = self._dropped, 0
        if dropped:
            self.logger.error(
                "dropped %d %s: %d already waited for the state database",
                dropped,
                self.what,
                LIMIT,
            )
        if batch is None:
            return True
        try:
            self._write(batch)
        except StateError as e:
            with self._lock:
                self._put_back(batch)
            self.logger.error(
                "could not write %d %s: %s; trying again", self._size(batch), self.what, e
            )
            return False
        return True

    def stop(self) -> None:
        """Stop the thread, once its write in progress (if any) has ended."""
        self._stop.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(TIMEOUT + FLUSH + 1)


def _run(batch: weakref.ref[Batch[Any]], stop: threading.Event) -> None:
    while not stop.wait(FLUSH):
        found = batch()
        if found is None:
            return
        found.flush()
        del found


#: Every batch of this process, written at its exit.
_batches: weakref.WeakSet[Batch[Any]] = weakref.WeakSet()
_registered = [0]  # the process whose exit handler is registered


def _register(batch: Batch[Any]) -> None:
    _batches.add(batch)
    if _registered[0] != os.getpid():
        _registered[0] = os.getpid()
        atexit.register(drain, os.getpid())


def drain(pid: int, only: Sequence[Batch[Any]] | None = None) -> None:
    """At a stop: join every batch's thread (or ``only`` those's), then
    write what is left, trying again until it is written or the batches'
    deadline has passed."""
    if pid != os.getpid():
        return  # a forked child's exit: the batches are its parent's
    batches = list(_batches) if only is None else list(only)
    deadline = max((b.deadline for b in batches), default=0.0)
    ends = time.monotonic() + deadline
    for batch in batches:
        batch.stop()
    left = [b for b in batches if b.pending()]
    for batch in left:
        batch.logger.warning(
            "stopping: writing %d %s, for up to %.0f s",
            batch.pending(),
            batch.what,
            max(ends - time.monotonic(), 0),
        )
    while left:
        left = [b for b in left if not b.flush()]
        if left and time.monotonic() + FLUSH >= ends:
            break
        if left:
            time.sleep(FLUSH)
    for batch in left:
        batch.logger.error(
            "stopping: %d %s lost, the state database did not take them in %.0f s",
            batch.pending(),
            batch.what,
            deadline,
        )
