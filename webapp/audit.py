"""The audit of requests behind a token, written off the request path.

Each request adds its row here and returns; a thread of the worker writes
the rows once a second in one transaction (:mod:`webapp.batch`), and a
graceful stop writes what is left: a database that is slow or locked never
holds a request up, and no row is lost by a stop.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from feeds.state import AuditEntry, State
from webapp.batch import EXIT_DEADLINE, Batch


class Audit(Batch[list[AuditEntry]]):
    """Audit rows of this process, not yet written, oldest first."""

    what = "audit rows"

    def __init__(
        self, state: Callable[[], State], logger: logging.Logger, deadline: float = EXIT_DEADLINE
    ) -> None:
        super().__init__(logger, deadline)
        self.state = state
        self._rows: list[AuditEntry] = []

    def add(self, entry: AuditEntry) -> None:
        """Keep a row to write; returns at once."""
        with self._lock:
            if self._adding():
                self._rows.append(entry)
        self._started()

    def _take(self) -> list[AuditEntry] | None:
        rows, self._rows = self._rows, []
        return rows or None

    def _put_back(self, batch: list[AuditEntry]) -> None:
        self._rows[:0] = batch

    def _write(self, batch: list[AuditEntry]) -> None:
        self.state().record(batch)

    def _size(self, batch: list[AuditEntry]) -> int:
        return len(batch)

    def _count(self) -> int:
        return len(self._rows)
