"""The whole distribution path at once: the app under gunicorn (two workers,
the real clock), Varnish with ``cdn/varnish.vcl`` in front of it, the real
WebSub hub and a subscriber. The site's ``base_url`` is Varnish's address, so
the hub fetches every feed it is pinged for THROUGH the CDN, which holds the
old bytes until the app purges them.

One of the two workers is slow on purpose: each load of the content takes it
3 s longer, so for 3 s after a change the edge may fetch the old bytes anew
from it after the first purge. What is asserted is what the subscriber
receives: for an edit, a scheduled story coming due and a withdrawal, the new
bytes, never the old.
"""

from __future__ import annotations

import contextlib
import re
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import feedparser
import pytest

from conftest import (
    Hub,
    Subscriber,
    append,
    free_port,
    gunicorn,
    require,
    sample_copy,
    start_varnish,
    wait_for,
    with_hub,
)
from feeds.state.database import State

#: Varnish, gunicorn, the hub and a subscriber on loopback.
pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parent.parent

#: A gunicorn configuration that makes every other worker load the content
#: 3 s late (the first worker forked has age 1).
SLOW_WORKER = """
def post_fork(server, worker):
    if worker.age % 2:
        import time
        from webapp import reload

        load = reload.LiveSite._load

        def slow(self):
            time.sleep(3)
            return load(self)

        reload.LiveSite._load = slow
"""


@dataclass(frozen=True)
class Chain:
    """The site behind Varnish, its hub and a subscriber."""

    #: Varnish's address: the site's base_url.
    base: str
    root: Path
    hub: Hub
    subscriber: Subscriber
    #: The state database's URL.
    state: str

    def edge(self, path: str) -> tuple[str, bytes]:
        """``X-Cache`` and the body of ``path`` through Varnish."""
        with urllib.request.urlopen(self.base + path, timeout=10) as answer:
            return answer.headers["X-Cache"], answer.read()

    def cached(self, *paths: str) -> None:
        """Make Varnish hold what each path is now: the old bytes a ping
        fetched too early would get."""
        for path in paths:
            self.edge(path)
            assert self.edge(path)[0] == "HIT", path

    def subscribe(self, *paths: str) -> int:
        """Subscribe to the feeds at ``paths`` once every ping and purge of
        earlier changes is sent (the hub delivers within the ping's request);
        how many deliveries came before."""
        opened = State(self.state)
        try:
            wait_for(lambda: not opened.owed(), message="earlier changes told")
        finally:
            opened.close()
        for path in paths:
            self.subscriber.subscribe(self.base + path, self.hub.url)
        return len(self.subscriber.received)

    def delivered(self, path: str, since: int) -> list[bytes]:
        return self.subscriber.bodies(self.base + path, since)


@contextlib.contextmanager
def varnish(folder: Path, port: int, app_port: int) -> Iterator[None]:
    """Varnish on ``port`` with the repository's VCL, its backend the app on
    ``app_port``; its real clock (it cannot start under libfaketime)."""
    require("varnishd")
    process = start_varnish(folder, port, app_port)
    try:
        deadline = time.monotonic() + 30
        while True:  # until Varnish answers and finds the app healthy
            with (
                contextlib.suppress(OSError, urllib.error.HTTPError),
                urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5),
            ):
                break
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError(f"varnish did not start; see {folder / 'varnish.log'}")
            time.sleep(0.2)
        yield
    finally:
        process.terminate()
        process.wait(timeout=20)


@pytest.fixture(scope="module")
def chain(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Chain]:
    folder = tmp_path_factory.mktemp("chain")
    port, app_port = free_port(), free_port()
    root = sample_copy(folder, port)  # the site is known by the CDN's address
    hub = Hub(folder)
    hub.start()
    with_hub(root, hub.url)
    subscriber = Subscriber(folder)
    subscriber.start()
    state = folder / "state" / "feeds.db"
    slow = folder / "slow.py"
    slow.write_text(SLOW_WORKER, encoding="utf-8")
    env = {
        "FEEDS_STATE": str(state),
        "FEEDS_DATABASE_URL": "",
        "FEEDS_PURGE_URL": f"http://127.0.0.1:{port}/",
        "FEEDS_PING_BACKOFF": "0.5",
    }
    try:
        with (
            gunicorn(
                root,
                app_port,
                folder / "cache.sqlite",
                ", 'RELOAD_INTERVAL': 0.2",
                stopped=False,
                env=env,
                log=folder / "app.log",
                options=["--config", str(slow)],
            ),
            varnish(folder, port, app_port),
        ):
            base = f"http://127.0.0.1:{port}/"
            for _ in range(4):  # both workers serve, and record what the hub knows
                urllib.request.urlopen(f"http://127.0.0.1:{app_port}/rss.xml").close()
            opened = State(f"sqlite:///{state}")
            wait_for(lambda: opened.topics(base), message="the first start's versions")
            opened.close()
            yield Chain(base, root, hub, subscriber, f"sqlite:///{state}")
    finally:
        subscriber.stop()
        hub.stop()


def test_an_edit_reaches_the_subscriber_through_the_cdn(chain: Chain) -> None:
    feeds = ("atom.xml", "tags/glaciers/rss.xml")
    since = chain.subscribe(*feeds)
    chain.cached(*feeds)
    marker = f"Edited at {uuid.uuid4().hex}."
    append(chain.root / "articles" / "glacier-retreat-cordillera-blanca.md", marker)
    for path in feeds:
        wait_for(
            lambda p=path: [b for b in chain.delivered(p, since) if marker.encode() in b],
            message=f"{path} delivered with the edit",
        )
        # Every delivery since the edit is the new bytes: the hub fetched
        # through the CDN after the purge, never the copy it held.
        assert all(marker.encode() in body for body in chain.delivered(path, since)), path
        assert marker.encode() in chain.edge(path)[1]


def test_a_story_coming_due_reaches_the_subscriber_through_the_cdn(chain: Chain) -> None:
    feeds = ("atom.xml", "tags/glaciers/atom.xml")
    since = chain.subscribe(*feeds)
    chain.cached(*feeds)
    due = (datetime.now(UTC) + timedelta(seconds=6)).replace(microsecond=0)
    title = f"Scheduled story {uuid.uuid4().hex[:8]}"
    (chain.root / "articles" / "due-story.md").write_text(
        f'---\ntitle: "{title}"\ndate: {due.isoformat()}\n'
        f'id: "tag:wire.example.org,2026:{uuid.uuid4().hex}"\n'
        "authors:\n  - grace-okafor\ntags:\n  - Glaciers\n---\nIt came out on time.\n",
        encoding="utf-8",
    )
    for path in feeds:
        body = wait_for(
            lambda p=path: [b for b in chain.delivered(p, since) if title.encode() in b],
            message=f"{path} delivered with the story",
        )[0]
        assert feedparser.parse(body).entries[0].title == title
        # Nothing was pushed before its time, and nothing pushed lacks it.
        assert all(title.encode() in b for b in chain.delivered(path, since)), path


def test_a_withdrawal_reaches_the_subscriber_through_the_cdn(chain: Chain) -> None:
    feeds = ("atom.xml", "withdrawals/atom.xml", "tags/mining/atom.xml")
    since = chain.subscribe(*feeds)
    chain.cached(*feeds, "articles/chile-mine-heat-rules/")
    article = chain.root / "articles" / "mine-workers-heat-rules.md"
    text = article.read_text(encoding="utf-8")
    assert "withdrawn:" not in text
    story = re.search(r'^id: "(.+)"$', text, re.M)
    assert story is not None
    reason = f"Withdrawn for a test {uuid.uuid4().hex[:8]}."

    def told(path: str, body: bytes) -> bool:
        """The withdrawals' feed says why; the others no longer carry the story."""
        if path.startswith("withdrawals/"):
            return reason.encode() in body
        return story[1].encode() not in body

    # Dated at the next whole second or later, after the story the test
    # before made due (an edit within that second is told apart too, since
    # it is dated by the second's end: tests/test_app.py).
    when = (datetime.now(UTC) + timedelta(seconds=1.5)).replace(microsecond=0).isoformat()
    article.write_text(
        text.replace("\n---\n", f'\nwithdrawn:\n  date: {when}\n  reason: "{reason}"\n---\n', 1),
        encoding="utf-8",
    )
    for path in feeds:
        wait_for(
            lambda p=path: [b for b in chain.delivered(p, since) if told(p, b)],
            message=f"{path} delivered with the withdrawal",
        )
        # Once the withdrawal is delivered, no old bytes come after it (a
        # delivery of the test before's change may still arrive first).
        delivered = chain.delivered(path, since)
        first = next(i for i, b in enumerate(delivered) if told(path, b))
        assert all(told(path, b) for b in delivered[first:]), path
    with pytest.raises(urllib.error.HTTPError) as gone:  # the edge lets the story go
        chain.edge("articles/chile-mine-heat-rules/")
    assert gone.value.code == 410
    gone.value.close()
