"""Who is told of a change, and when: :mod:`feeds.publish.notify`'s policy, on a real
state database (SQLite, and PostgreSQL when ``$FEEDS_TEST_DATABASE_URL`` names
a server) with an injected clock, and workers played by the test: each beat,
each record and each send is a call the test makes at a moment it chooses.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import pytest

from conftest import NOW
from feeds.content.directory import load
from feeds.outputs.plan import Plan
from feeds.publish import cdn, notify
from feeds.state.database import State

HUB = "http://127.0.0.1:9/hub"
PURGE = "http://127.0.0.1:9/"
SITE = "https://wire.example.org/"


class World:
    """The content, its versions as the test makes them, a clock the test
    moves, and what the hub and the CDN were sent."""

    def __init__(self, root: Path, state: State) -> None:
        self.root, self.state = root, state
        self.now = 1000.0
        self.pinged: list[str] = []
        self.purged: list[tuple[str, ...]] = []
        self.edits = 0
        #: Whether the CDN refuses purges (a relay answering 503).
        self.cdn_down = False

    def version(self) -> notify.Version:
        plan = Plan(load(self.root), NOW)
        return notify.Version(plan, cdn.image_stamps(self.root, plan), 100.0 + self.edits)

    def edit(self) -> notify.Version:
        """An editor's change to the one article: a new version."""
        self.edits += 1
        article = self.root / "articles" / "good.md"
        article.write_text(
            article.read_text(encoding="utf-8") + f"\nEdit {self.edits}.\n", encoding="utf-8"
        )
        return self.version()

    def serve(self, worker: str, old: notify.Version | None, new: notify.Version) -> bool:
        """``worker`` starts serving ``new``: it beats, then records the
        change; whether it was the one to record it."""
        notify.beat(self.state, worker, new, self.now)

        def body(path: str) -> bytes:  # each version's bytes differ from the last
            return f"{path} {new.plan.key(path)}".encode()

        done = notify.record(self.state, old, new, HUB, PURGE, body, self.now)
        return bool(done.pinged or done.purged)

    def send(self, worker: str, kinds: Sequence[str] = ("purge", "ping")) -> int:
        """``worker`` sends what it finds owed; how many it sent."""
        before = len(self.pinged) + len(self.purged)
        for kind in kinds:
            if kind == "purge":
                notify.send_purges(
                    self.state, worker, lambda: self.now, purge=self._purge, log=notify.logger
                )
            else:
                notify.send_pings(self.state, worker, lambda: self.now, send=self._ping)
        return len(self.pinged) + len(self.purged) - before

    def _purge(self, url: str, keys: Sequence[str]) -> int:
        assert url == PURGE
        if self.cdn_down:
            raise cdn.PurgeError(f"{url} refused the purge: 503 Service Unavailable")
        self.purged.append(tuple(keys))
        return 1

    def _ping(self, hub: str, topic: str, timeout: float) -> tuple[str | None, bool]:
        assert hub == HUB
        self.pinged.append(topic)
        return None, True

    def tick(self, seconds: float, *beating: tuple[str, notify.Version]) -> None:
        """Let ``seconds`` pass, second by second, ``beating`` workers beating."""
        end = self.now + seconds
        while self.now < end:
            self.now = min(self.now + notify.HEARTBEAT, end)
            for worker, version in beating:
                notify.beat(self.state, worker, version, self.now)


@pytest.fixture
def world(content: Path, state: State) -> World:
    """Two workers, "a" and "b", serving the first version, told of it."""
    found = World(content, state)
    first = found.version()
    assert found.serve("a", None, first)  # a first start: the whole site purged
    assert not found.serve("b", None, first)
    assert found.send("a") == 2 and found.purged == [("site",), ("site",)]
    assert found.pinged == []  # nobody was told of an older version: none to tell of
    found.purged.clear()
    return found


def test_nothing_is_sent_before_every_live_worker_serves_the_change(world: World) -> None:
    first = world.version()
    second = world.edit()
    assert world.serve("a", first, second)
    # The purge goes out at once (the edge drops the old bytes)...
    assert world.send("a") == 1 and world.send("b") == 0
    keys = world.purged[0]
    assert "l-home" in keys and "site" not in keys
    # ... but nothing more while "b" serves the first version.
    world.tick(3.0, ("a", second), ("b", first))
    assert world.send("a") == 0 and world.send("b") == 0
    assert world.pinged == []

    # "b" serves it too: its own send finds every worker serving it. The
    # pings wait until the purge that follows it was tried.
    assert not world.serve("b", first, second)  # recorded by "a" already
    assert world.send("b", ["ping"]) == 0
    assert world.send("b", ["purge"]) == 1 and world.purged == [keys, keys]
    sent = world.send("b", ["ping"])
    assert sent > 0 and len(set(world.pinged)) == sent  # each feed once
    assert {f"{SITE}rss.xml", f"{SITE}tags/peru/rss.xml"} <= set(world.pinged)
    # Once: nobody sends them again.
    world.tick(10.0, ("a", second), ("b", second))
    assert world.send("a") == 0 and world.send("b") == 0


def test_a_worker_that_dates_the_same_bytes_earlier_serves_them(world: World) -> None:
    """A worker started after a public file was deleted dates the same
    public outputs by the files that remain, earlier than the workers that
    saw the deletion (``webapp.reload.public_change``): the same version all
    the same, so it holds nothing up."""
    first = world.version()
    second = world.edit()
    assert world.serve("a", first, second)
    assert world.send("a", ["purge"]) == 1
    world.tick(3.0, ("a", second), ("b", first))
    restarted = replace(second, as_of=second.as_of - 0.5)  # "b" restarted after the change
    assert not world.serve("b", None, restarted)
    assert world.send("b", ["purge"]) == 1  # the purge once every worker serves it
    assert world.send("b", ["ping"]) > 0
    assert f"{SITE}rss.xml" in world.pinged


def test_a_newer_version_counts_and_replaces_the_pings_still_waiting(world: World) -> None:
    first = world.version()
    second = world.edit()
    assert world.serve("a", first, second)
    assert world.send("a") == 1
    third = world.edit()  # "b" skips the second and loads the third
    assert world.serve("b", first, third)
    # Every worker serves the second or newer: its purge goes again, and
    # the third's at once. The second's pings were replaced by the third's,
    # which wait for "a".
    assert world.send("b") == 2 and world.pinged == []
    assert world.send("a") == 0
    assert not world.serve("a", second, third)
    sent = world.send("a")
    assert sent > 1 and len(world.purged) == 4 and len(set(world.pinged)) == sent - 1


def test_a_worker_that_stops_beating_is_not_waited_for(world: World) -> None:
    first = world.version()
    second = world.edit()
    assert world.serve("a", first, second)
    assert world.send("a") == 1
    # "b" died serving the first version: its heartbeat stops.
    world.tick(notify.DEAD_AFTER - 1, ("a", second))
    assert world.send("a") == 0
    world.tick(2.0, ("a", second))
    assert world.send("a") > 0 and world.pinged


def test_a_graceful_stop_is_not_waited_for(world: World) -> None:
    first = world.version()
    second = world.edit()
    assert world.serve("a", first, second)
    assert world.send("a") == 1
    world.state.gone("b", world.now)
    assert world.send("a") > 0 and world.pinged


def test_pings_a_dead_sender_claimed_are_sent_by_another_after_its_lease(
    world: World,
) -> None:
    first = world.version()
    second = world.edit()
    assert world.serve("a", first, second)
    assert not world.serve("b", first, second)
    assert world.send("a", ["purge"]) == 2  # at once, and again: both serve it
    # "a" takes the pings, and dies before it sends them.
    taken = world.state.take(world.now, notify.LEASE, kind="ping", holder="a")
    assert taken
    assert world.send("b") == 0  # "a" holds them
    world.tick(notify.LEASE - 1, ("b", second))
    assert world.send("b") == 0
    world.tick(2.0, ("b", second))
    assert world.send("b") == len(taken)
    assert sorted(world.pinged) == sorted(one.topic for one in taken)
    world.tick(notify.LEASE * 2, ("b", second))
    assert world.send("b") == 0


def test_purges_a_dead_sender_claimed_are_sent_by_another_after_its_lease(
    world: World,
) -> None:
    first = world.version()
    second = world.edit()
    assert world.serve("a", first, second)
    assert not world.serve("b", first, second)
    # "a" takes both purges (both serve the change), and dies.
    assert len(world.state.take(world.now, notify.LEASE, kind="purge", holder="a")) == 2
    assert world.send("b") == 0  # the purges held, and the pings behind them
    world.tick(notify.LEASE + 1, ("b", second))
    sent = world.send("b")
    assert len(world.purged) == 2 and world.purged[0] == world.purged[1]
    assert sent == 2 + len(world.pinged) and world.pinged


def test_a_live_sender_keeps_its_claim_while_it_beats(world: World) -> None:
    first = world.version()
    second = world.edit()
    assert world.serve("a", first, second)
    assert not world.serve("b", first, second)
    assert world.send("a", ["purge"]) == 2
    assert world.state.take(world.now, notify.LEASE, kind="ping", holder="a")
    # A slow hub: "a" is still sending, and beating, long after its lease began.
    world.tick(notify.LEASE * 3, ("a", second), ("b", second))
    assert world.send("b") == 0


def refused_until_due(world: World, tries: int, *serving: tuple[str, notify.Version]) -> None:
    """The CDN refuses ``tries`` times, the workers trying each time it is due."""
    for _ in range(tries):
        due = world.state.next_try("purge", SITE)
        assert due is not None  # still owed
        world.now = max(world.now, due)
        for worker, version in serving:
            notify.beat(world.state, worker, version, world.now)
        assert world.send(serving[0][0], ["purge"]) == 0


def test_a_purge_the_cdn_refuses_stays_owed_and_every_key_goes_out_when_it_answers(
    world: World,
) -> None:
    first = world.version()
    world.cdn_down = True
    second = world.edit()
    assert world.serve("a", first, second) and not world.serve("b", first, second)
    refused_until_due(world, 5, ("a", second), ("b", second))
    third = world.edit()  # another change while the CDN is down
    assert world.serve("a", second, third) and not world.serve("b", second, third)
    refused_until_due(world, 25, ("a", third), ("b", third))  # far past the 12 tries
    assert world.purged == []

    world.cdn_down = False
    due = world.state.next_try("purge", SITE)
    assert due is not None and due - world.now <= notify.PURGE_MAX_WAIT  # capped
    world.now = due
    for worker in ("a", "b"):
        notify.beat(world.state, worker, third, world.now)
    # The first purge it takes brings every other one owed to it forward:
    # both changes' keys, each twice (at once, and once every worker served it).
    assert world.send("a", ["purge"]) == 4
    assert world.state.next_try("purge", SITE) is None
    assert "l-home" in {key for keys in world.purged for key in keys}
    # ... and the pings that waited for them go out.
    assert world.send("a", ["ping"]) > 0


def test_a_restart_sends_the_purges_still_owed(world: World) -> None:
    first = world.version()
    world.cdn_down = True
    second = world.edit()  # a withdrawal, say: the edge must drop it
    assert world.serve("a", first, second) and not world.serve("b", first, second)
    refused_until_due(world, 15, ("a", second), ("b", second))
    # Every worker stops; the app starts again, on the same database.
    world.state.gone("a", world.now)
    world.state.gone("b", world.now)
    url = world.state.url
    world.state.close()
    world.state = State(url)
    world.cdn_down = False
    due = world.state.next_try("purge", SITE)
    assert due is not None and due - world.now <= notify.PURGE_MAX_WAIT
    world.now = due
    assert not world.serve("c", None, second)  # nothing new to record
    assert world.send("c", ["purge"]) == 2
    assert "l-home" in world.purged[0] and world.purged[0] == world.purged[1]
    world.state.close()


def test_a_newer_change_replaces_a_ping_held_by_a_sender_that_then_fails(state: State) -> None:
    url = f"{SITE}rss.xml"
    assert notify.record_build(state, HUB, [(url, "k1", "d1")], 1.0, 10.0)
    taken = state.take(10.0, 60, holder="sender")  # a background sender tries it...
    assert notify.record_build(state, HUB, [(url, "k2", "d2")], 2.0, 11.0)  # a build meanwhile
    state.failed(taken[0], "connection refused", 20.0)  # ... and the hub refused it
    assert [(kind, subject) for kind, _, subject, _ in state.owed()] == [("ping", url)]


def test_a_build_is_owed_at_once_and_told_of_new_bytes_only(state: State) -> None:
    feeds = [(f"{SITE}rss.xml", "k1", "d1"), (f"{SITE}atom.xml", "k1", "d2")]
    assert notify.record_build(state, HUB, feeds, 1.0, 10.0) == [u for u, _, _ in feeds]
    assert [p.topic for p in state.take(10.0, 60)] == [u for u, _, _ in feeds]
    changed = [(f"{SITE}rss.xml", "k2", "d3"), (f"{SITE}atom.xml", "k2", "d2")]
    assert notify.record_build(state, HUB, changed, 2.0, 11.0) == [f"{SITE}rss.xml"]
    # A deploy tells of every feed it put in the bucket.
    assert len(notify.record_build(state, HUB, changed, 3.0, 12.0, deployed=True)) == 2


def test_a_newer_change_replaces_a_ping_still_waiting(state: State) -> None:
    url = f"{SITE}rss.xml"
    assert notify.record_build(state, HUB, [(url, "k1", "d1")], 1.0, 10.0)
    assert notify.record_build(state, HUB, [(url, "k2", "d2")], 2.0, 11.0)
    assert [p.topic for p in state.take(12.0, 60)] == [url]


def test_reads_never_wait_for_a_writer(tmp_path: Path) -> None:
    """Another process holds SQLite's write lock: a look at the workers and
    at what is owed still answers (each would otherwise wait for the lock)."""
    path = tmp_path / "state.db"
    state = State(f"sqlite:///{path}")
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        assert state.workers(SITE, 1.0) == []
        assert state.take(1.0, 5.0) == []
        assert state.next_try() is None
        assert state.topics(SITE) == {}
    finally:
        holder.execute("ROLLBACK")
        holder.close()
        state.close()
