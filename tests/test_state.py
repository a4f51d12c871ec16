"""The state database, on SQLite and on PostgreSQL (a real server: .ci/run
starts one and gives its URL in ``$FEEDS_TEST_DATABASE_URL``).

What matters to users is asserted across processes, as gunicorn's workers
meet it: one ping per change, however many ask at once.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pytest

from conftest import state_database
from feeds.publish import websub
from feeds.state.database import State
from feeds.state.rows import Topic
from feeds.state.schema import MIGRATIONS, schema_version
from feeds.state.store import StateError

URL = "http://127.0.0.1:9/rss.xml"
HUB = "http://127.0.0.1:9/hub"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.slow)])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A new, empty state database of each kind."""
    with state_database(request.param, tmp_path) as found:
        yield found.replace("postgresql://", "postgresql+psycopg://", 1)


def claim_at(url: str, start: float, digest: str) -> bool:
    """In a process of its own: wait for the common moment, then claim."""
    state = State(url)
    try:
        time.sleep(max(0.0, start - time.time()))
        return state.claim(URL, Topic("key-" + digest, digest, 2.0), HUB, time.time())
    finally:
        state.close()


@pytest.mark.slow  # processes of their own
def test_one_of_many_processes_claims_a_change(url: str) -> None:
    State(url).close()  # the schema exists before the race (the race to make it is below)
    start = time.time() + 1.5
    with ProcessPoolExecutor(8) as pool:
        claims = list(pool.map(claim_at, [url] * 8, [start] * 8, ["b"] * 8))
    assert claims.count(True) == 1
    state = State(url)
    assert [p.topic for p in state.take(time.time(), 60)] == [URL]
    # The same version again, from a ninth: nothing.
    assert not state.claim(URL, Topic("key-b", "b", 3.0), HUB, time.time())
    state.close()


def purge_at(url: str, start: float, version: str) -> bool:
    state = State(url)
    try:
        time.sleep(max(0.0, start - time.time()))
        return state.claim_purge("http://127.0.0.1:9/", version, 2.0)
    finally:
        state.close()


@pytest.mark.slow  # processes of their own
def test_one_of_many_workers_purges_the_cdn_for_a_version(url: str) -> None:
    State(url).close()
    start = time.time() + 1.5
    with ProcessPoolExecutor(8) as pool:
        claims = list(pool.map(purge_at, [url] * 8, [start] * 8, ["v1"] * 8))
    assert claims.count(True) == 1
    state = State(url)
    site = "http://127.0.0.1:9/"
    assert not state.claim_purge(site, "v1", 3.0)  # known
    assert state.claim_purge(site, "v2", 3.0)  # a change
    assert not state.claim_purge(site, "v1", 2.5)  # a worker not reloaded yet
    assert state.claim_purge("http://127.0.0.1:9/other/", "v1", 1.0)  # another site
    state.close()


@pytest.mark.slow  # processes of their own
def test_processes_that_start_together_make_the_schema_once(url: str) -> None:
    with ProcessPoolExecutor(4) as pool:
        claims = list(pool.map(claim_at, [url] * 4, [0.0] * 4, ["a", "a", "a", "a"]))
    assert claims.count(True) == 1
    state = State(url)
    with state.begin() as connection:
        versions = connection.execute(schema_version.select()).all()
    assert versions == [(len(MIGRATIONS),)]
    state.close()


def test_an_older_version_never_takes_a_feed_back(url: str) -> None:
    state = State(url)
    assert state.claim(URL, Topic("k2", "new bytes", 20.0), HUB, 0.0)
    # A worker that has not reloaded yet still serves the old bytes.
    assert not state.claim(URL, Topic("k1", "old bytes", 10.0), HUB, 0.0)
    assert state.topics("http://127.0.0.1:9/")[URL] == Topic("k2", "new bytes", 20.0)
    # The same bytes built from other inputs: the key is kept, nobody is told.
    assert not state.claim(URL, Topic("k3", "new bytes", 30.0), HUB, 0.0)
    assert state.topics("http://127.0.0.1:9/")[URL].key == "k3"
    assert len(state.take(1.0, 60)) == 1
    state.close()


def test_a_first_start_remembers_without_pinging(url: str) -> None:
    state = State(url)
    state.remember({URL: Topic("k", "", 1.0)})
    state.remember({URL: Topic("k", "", 1.0)})  # a second worker, as it starts too
    assert state.take(100.0, 60) == []
    assert state.claim(URL, Topic("k2", "bytes", 2.0), HUB, 0.0)
    state.close()


def test_a_leased_ping_is_sent_by_one_process_until_its_lease_ends(url: str) -> None:
    first, second = State(url), State(url)
    assert first.claim(URL, Topic("k", "d", 1.0), HUB, 100.0)
    assert len(first.take(100.0, 60)) == 1
    assert second.take(100.0, 60) == []
    # The first died mid-send: once the lease is over, another sends it.
    assert [p.topic for p in second.take(161.0, 60)] == [URL]
    first.close()
    second.close()


def test_a_refused_ping_is_retried_with_capped_backoff_and_never_given_up(url: str) -> None:
    state = State(url)
    assert state.claim(URL, Topic("k", "d", 1.0), HUB, 0.0)
    clock = [0.0]
    tries: list[float] = []
    answer: list[str | None] = ["HTTP 503 Service Unavailable"]

    def hub(hub: str, topic: str, timeout: float) -> tuple[str | None, bool]:
        tries.append(clock[0])
        return answer[0], True

    while len(tries) < 20:  # more than the 12 tries after which it was given up
        due = state.next_try()
        assert due is not None  # still owed
        clock[0] = due
        sent = websub.deliver(state, lambda: clock[0], backoff=10.0, send=hub)
        assert [s.error for s in sent] == ["HTTP 503 Service Unavailable"]
    waits = [b - a for a, b in itertools.pairwise(tries)]
    assert waits[:4] == [10.0, 20.0, 40.0, 80.0] and max(waits) == websub.MAX_WAIT
    answer[0] = None  # the hub takes it at last
    clock[0] = state.next_try() or 0.0
    assert [s.error for s in websub.deliver(state, lambda: clock[0], send=hub)] == [None]
    assert state.next_try() is None
    state.close()


def test_a_broken_database_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "state").mkdir()
    (tmp_path / "state" / "feeds.db").write_bytes(b"not a database, as a disk may leave it" * 100)
    with pytest.raises(StateError, match=r"the state database /.*feeds\.db failed: "):
        State(f"sqlite:///{tmp_path / 'state' / 'feeds.db'}")


def test_refusals_are_counted_per_hour_with_a_cap_on_clients(url: str) -> None:
    """Issue 23: refused requests are counts, and an hour names at most
    REFUSED_CLIENTS clients, across writes (workers), on both databases."""
    from feeds.state.audit import REFUSED_CLIENTS
    from feeds.state.rows import OTHER, Refusal, RefusalKey

    state = State(url)
    hour = 1_800_000_000.0
    try:
        for batch in range(3):  # three workers' batches
            state.refuse(
                {
                    RefusalKey(hour, "no token", f"10.0.{batch}.{n}", "", ""): Refusal(
                        2, hour + n, hour + n + 1, 401, 700, "/partners/x", "agent"
                    )
                    for n in range(REFUSED_CLIENTS)
                }
            )
        found = state.refused()
        assert len(found) == REFUSED_CLIENTS + 1
        assert sum(r.counts.requests for r in found) == 3 * REFUSED_CLIENTS * 2
        other = next(r for r in found if r.key.client == OTHER)
        assert other.counts.requests == 2 * REFUSED_CLIENTS * 2
        assert other.counts.last == hour + REFUSED_CLIENTS
        assert state.counted() == (0, REFUSED_CLIENTS + 1)
    finally:
        state.close()


def test_pixel_origins_are_capped_per_article_and_day_across_writes(url: str) -> None:
    from feeds.state.pixels import ORIGINS_PER_DAY
    from feeds.state.rows import OTHER

    state = State(url)
    try:
        for batch in range(2):
            state.count_hits(
                {
                    ("p", f"https://{batch}-{n}.example", "2026-11-27"): (1, 1.0, 2.0)
                    for n in range(ORIGINS_PER_DAY)
                }
            )
        rows = state.hits()
        assert len(rows) == ORIGINS_PER_DAY + 1
        assert sum(row[3] for row in rows) == 2 * ORIGINS_PER_DAY
        assert next(row for row in rows if row[1] == OTHER)[3] == ORIGINS_PER_DAY
    finally:
        state.close()
