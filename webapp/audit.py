"""The audit of requests behind a token, written off the request path.

Each request adds its row here and returns; a thread of the worker writes
the rows once a second in one transaction (:mod:`webapp.batch`), and a
graceful stop writes what is left: a database that is slow or locked never
holds a request up, and no row is lost by a stop.

A granted request is a row of its own, kept ``audit_days`` (site.toml,
default 90): each write deletes the rows older than that. A refused one is only counted, per
hour, outcome and client (:class:`feeds.state.rows.RefusalKey`), with the first
one's path and user agent: whoever sends requests without a valid token,
however many, adds at most one row an hour per outcome, and at most
:data:`feeds.state.audit.REFUSED_CLIENTS` clients an hour are named.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from feeds.state.audit import AUDIT_DAYS, REFUSED_CLIENTS
from feeds.state.database import State
from feeds.state.rows import OTHER, AuditEntry, Refusal, RefusalKey
from webapp.batch import EXIT_DEADLINE, Batch

#: Seconds in an hour: what refusals are counted by.
HOUR = 3600


@dataclass
class Pending:
    """What a worker has not written yet."""

    rows: list[AuditEntry] = field(default_factory=list)
    refused: dict[RefusalKey, Refusal] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.rows) + len(self.refused)


def refusal(entry: AuditEntry) -> tuple[RefusalKey, Refusal]:
    """What a refused request counts as. Its partner and token only when
    the token was one of ours (an unknown token's id is the sender's to
    choose, and would make every request a key of its own)."""
    known = entry.partner is not None
    key = RefusalKey(
        float(int(entry.at // HOUR) * HOUR),
        entry.outcome,
        entry.client,
        entry.partner or "",
        (entry.token or "") if known else "",
    )
    return key, Refusal(1, entry.at, entry.at, entry.status, entry.bytes, entry.path, entry.agent)


class Audit(Batch[Pending]):
    """Audit rows and refusal counts of this process, not yet written."""

    what = "audit rows"

    def __init__(
        self,
        state: Callable[[], State],
        logger: logging.Logger,
        deadline: float = EXIT_DEADLINE,
        days: Callable[[], int] = lambda: AUDIT_DAYS,
    ) -> None:
        super().__init__(logger, deadline)
        self.state = state
        #: How many days of granted requests to keep (site.toml's ``audit_days``).
        self.days = days
        self._pending = Pending()
        #: The clients each hour's pending refusals name.
        self._clients: dict[float, set[str]] = {}

    def add(self, entry: AuditEntry) -> None:
        """Keep a row to write, or count a refusal; returns at once."""
        with self._lock:
            if entry.outcome == "ok":
                if self._adding():
                    self._pending.rows.append(entry)
            else:
                key, one = refusal(entry)
                named = self._clients.setdefault(key.hour, set())
                if key.client not in named and len(named) >= REFUSED_CLIENTS:
                    key = RefusalKey(key.hour, key.outcome, OTHER, key.partner, key.token)
                found = self._pending.refused.get(key)
                if found is not None:
                    self._pending.refused[key] = found.add(one)
                elif self._adding():
                    named.add(key.client)
                    self._pending.refused[key] = one
        self._started()

    def _take(self) -> Pending | None:
        pending, self._pending = self._pending, Pending()
        self._clients = {}
        return pending if len(pending) else None

    def _put_back(self, batch: Pending) -> None:
        self._pending.rows[:0] = batch.rows
        for key, found in batch.refused.items():
            mine = self._pending.refused.get(key)
            self._pending.refused[key] = found if mine is None else mine.add(found)
            self._clients.setdefault(key.hour, set()).add(key.client)

    def _write(self, batch: Pending) -> None:
        self.state().record(batch.rows, batch.refused, self.days())

    def _size(self, batch: Pending) -> int:
        return len(batch)

    def _count(self) -> int:
        return len(self._pending)
