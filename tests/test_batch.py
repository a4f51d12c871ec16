"""Writes no request waits for (webapp/batch.py), in process with a state
database that refuses and then takes them: a batch that did not commit is
put back and written with what came since, in order and counted once; a
stop writes what is left until its deadline; a full batch drops and says so."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from feeds.state.database import State
from feeds.state.rows import AuditEntry
from feeds.state.store import StateError
from webapp import batch
from webapp.audit import Audit
from webapp.pixel import Pixels

START = datetime(2026, 11, 27, 12, tzinfo=UTC)


class Flaky:
    """Stands for the state database: refuses the first ``refusals`` writes."""

    def __init__(self, refusals: int) -> None:
        self.refusals = refusals
        self.tries = 0
        self.hits: list[dict[tuple[str, str, str], tuple[int, float, float]]] = []
        self.rows: list[AuditEntry] = []

    def _try(self) -> None:
        self.tries += 1
        if self.tries <= self.refusals:
            raise StateError("test.db", RuntimeError("database is locked"))

    def count_hits(
        self,
        counted: dict[tuple[str, str, str], tuple[int, float, float]],
        alerted: object = None,
    ) -> None:
        self._try()
        self.hits.append(dict(counted))

    def record(
        self, entries: list[AuditEntry], refused: dict[Any, Any] | None = None, days: int = 90
    ) -> None:
        self._try()
        self.rows.extend(entries)


def opener(flaky: Flaky) -> Callable[[], State]:
    found: Any = flaky
    return lambda: found


def row(path: str) -> AuditEntry:
    """A granted fetch: a row of its own (refusals are only counted)."""
    return AuditEntry(START.timestamp(), "La Prensa", "t1", path, 200, 10, "127.0.0.1", "", "ok")


LOG = logging.getLogger("test_batch")


@pytest.fixture(autouse=True)
def no_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    """The tests write, not a thread of their own: nothing races them."""
    monkeypatch.setattr(batch.Batch, "_started", lambda self: None)


def test_pixel_counts_that_did_not_commit_are_added_to_those_since() -> None:
    flaky = Flaky(refusals=1)
    pixels = Pixels(opener(flaky), LOG)
    for minute in range(3):
        pixels.hit("p", "https://a.example", START + timedelta(minutes=minute), "2026-11-27")
    assert pixels.flush() is False
    assert pixels.pending() == 1
    later = START + timedelta(minutes=10)
    pixels.hit("p", "https://a.example", later, "2026-11-27")
    pixels.hit("p", "https://b.example", later, "2026-11-27")
    assert pixels.flush() is True
    assert flaky.hits == [
        {
            ("p", "https://a.example", "2026-11-27"): (4, START.timestamp(), later.timestamp()),
            ("p", "https://b.example", "2026-11-27"): (1, later.timestamp(), later.timestamp()),
        }
    ]
    assert pixels.pending() == 0


def test_audit_rows_that_did_not_commit_come_first_once() -> None:
    flaky = Flaky(refusals=2)
    audit = Audit(opener(flaky), LOG)
    audit.add(row("/partners/a"))
    audit.add(row("/partners/b"))
    assert audit.flush() is False
    audit.add(row("/partners/c"))
    assert audit.flush() is False
    assert audit.flush() is True
    assert [r.path for r in flaky.rows] == ["/partners/a", "/partners/b", "/partners/c"]


def test_a_stop_writes_what_is_left_once_the_database_takes_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(batch, "FLUSH", 0.01)
    flaky = Flaky(refusals=3)
    audit = Audit(opener(flaky), LOG)
    pixels = Pixels(opener(flaky), LOG)
    for number in range(5):
        audit.add(row(f"/partners/{number}"))
        pixels.hit("p", "unknown", START, "2026-11-27")
    batch.drain(os.getpid(), [audit, pixels])
    assert len(flaky.rows) == 5
    assert [sum(n for n, _, _ in h.values()) for h in flaky.hits] == [5]


def test_a_stop_gives_up_after_its_deadline_and_says_how_much_it_lost(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(batch, "FLUSH", 0.01)
    flaky = Flaky(refusals=10**9)
    audit = Audit(opener(flaky), LOG, deadline=0.05)
    for number in range(3):
        audit.add(row(f"/partners/{number}"))
    batch.drain(os.getpid(), [audit])
    assert flaky.rows == []
    assert flaky.tries >= 1
    assert "stopping: 3 audit rows lost" in caplog.text


def test_a_full_batch_drops_new_entries_and_counts_them(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(batch, "LIMIT", 3)
    flaky = Flaky(refusals=0)
    audit = Audit(opener(flaky), LOG)
    for number in range(5):
        audit.add(row(f"/partners/{number}"))
    assert audit.pending() == 3
    assert audit.flush() is True
    assert [r.path for r in flaky.rows] == ["/partners/0", "/partners/1", "/partners/2"]
    assert "dropped 2 audit rows" in caplog.text
