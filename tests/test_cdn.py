"""A real Varnish (Debian's, with the xkey module of varnish-modules) in front
of the app under gunicorn, configured by the repository's ``cdn/varnish.vcl``:
what a reader behind the CDN gets, as an edit is made, as someone else tries
to purge, and as the app goes down.

Varnish keeps what the app sends for a day (``Surrogate-Control``), so only
the app's purge can bring a correction to the edge within the seconds these
tests wait.
"""

from __future__ import annotations

import contextlib
import socket
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import feedparser
import pytest

from conftest import free_port, gunicorn, require, sample_copy, start_varnish
from feeds.outputs import headers

#: Varnish in front of gunicorn.
pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parent.parent
STORY = "articles/lima-reservoirs-dry-season.md"


@dataclass
class Edge:
    """Varnish on ``port`` before the app on ``app_port``."""

    port: int
    app_port: int
    root: Path
    folder: Path
    log: Path
    stack: ExitStack

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def get(
        self, path: str, headers: dict[str, str] | None = None
    ) -> tuple[int, dict[str, str], bytes]:
        request = urllib.request.Request(self.base + path, headers=headers or {})
        try:
            with urllib.request.urlopen(request, timeout=10) as answer:
                return answer.status, dict(answer.headers), answer.read()
        except urllib.error.HTTPError as e:
            return e.code, dict(e.headers), e.read()

    def direct(self, path: str) -> tuple[dict[str, str], bytes]:
        """What the app itself sends (not through Varnish)."""
        url = f"http://127.0.0.1:{self.app_port}/{path}"
        with urllib.request.urlopen(url, timeout=10) as answer:
            return dict(answer.headers), answer.read()

    def start_app(self, **env: str) -> None:
        """The app under gunicorn, purging this Varnish; its real clock, so
        that it reloads on an edit."""
        self.stack = ExitStack()
        self.stack.enter_context(
            gunicorn(
                self.root,
                self.app_port,
                self.folder / "cache.sqlite",
                stopped=False,
                env={
                    "FEEDS_STATE": str(self.folder / "state" / "feeds.db"),
                    "FEEDS_DATABASE_URL": "",
                    "FEEDS_PURGE_URL": self.base,
                    **env,
                },
                log=self.log,
            )
        )

    def purges(self) -> tuple[int, int]:
        """How many changes the app's workers have purged the CDN for, and
        for how many they have purged it again, once every worker served it."""
        log = self.log.read_text(encoding="utf-8")
        again = log.count("again, every worker serving the change")
        return log.count("CDN: purged") - again, again

    def settled(self, first: int = 1) -> None:
        """Wait for ``first`` purges, each sent twice (those close together
        are sent again together: hence the start's before any edit)."""
        deadline = time.monotonic() + 20
        while (found := self.purges())[0] < first or found[0] != found[1]:
            assert time.monotonic() < deadline, "a purge was never sent again"
            time.sleep(0.1)


@pytest.fixture(scope="module")
def edge(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Edge]:
    require("varnishd")
    folder = tmp_path_factory.mktemp("cdn")
    port, app_port = free_port(), free_port()
    root = sample_copy(folder, port)  # readers know the site by the CDN's address
    edge = Edge(port, app_port, root, folder, folder / "app.log", ExitStack())
    varnish = start_varnish(folder, port, app_port)
    try:
        edge.start_app()
        deadline = time.monotonic() + 30
        while True:  # until Varnish answers and finds the app healthy
            with contextlib.suppress(OSError):
                if edge.get("")[0] == 200:
                    break
            if time.monotonic() > deadline or varnish.poll() is not None:
                raise RuntimeError(f"varnish did not start; see {folder / 'varnish.log'}")
            time.sleep(0.2)
        edge.settled()  # the first start's purges of everything
        yield edge
    finally:
        edge.stack.close()
        varnish.terminate()
        varnish.wait(timeout=20)


def test_the_edge_keeps_what_the_app_sends_and_keeps_its_keys_to_itself(edge: Edge) -> None:
    first = edge.get("rss.xml")
    again = edge.get("rss.xml")
    assert first[0] == again[0] == 200
    assert (first[1]["X-Cache"], again[1]["X-Cache"]) == ("MISS", "HIT")
    sent, body = edge.direct("rss.xml")
    assert first[2] == again[2] == body
    assert sent["Surrogate-Key"] == "l-home site"
    story = edge.direct("articles/lima-reservoirs-dry-season/")[0]["Surrogate-Key"]
    entry = next(e for e in feedparser.parse(body).entries if "reservoirs" in e.link)
    assert story == f"{headers.article_key(entry.id)} site"
    assert sent["Surrogate-Control"].startswith("max-age=86400,")
    assert "stale-if-error=86400" in sent["Surrogate-Control"]
    for name in ("Surrogate-Key", "Surrogate-Control", "xkey"):
        assert name not in again[1]  # for the CDN, not for readers
    # Browsers keep it as long as the site says, not as long as the CDN does.
    assert again[1]["Cache-Control"] == sent["Cache-Control"]
    assert again[1]["Cache-Control"].startswith("public, max-age=300,")


def test_an_edit_reaches_the_edge_at_once_and_nothing_else_is_purged(edge: Edge) -> None:
    changed = [
        "rss.xml",
        "articles/lima-reservoirs-dry-season/",
        "tags/lima/atom.xml",
        "tags/peru/",
    ]
    untouched = "authors/tomas-ferreira/"  # no byline of the story
    for path in [*changed, untouched]:
        edge.get(path)
        assert edge.get(path)[1]["X-Cache"] == "HIT", path
    assert b"in twelve years" not in edge.get(changed[0])[2]
    purged = edge.purges()
    story = edge.root / STORY
    story.write_text(
        story.read_text(encoding="utf-8").replace("in a decade", "in twelve years", 1),
        encoding="utf-8",
    )
    edited = time.monotonic()
    seen: dict[str, float] = {}
    while len(seen) < len(changed) and time.monotonic() - edited < 15:
        for path in changed:
            if path not in seen and b"in twelve years" in edge.get(path)[2]:
                seen[path] = time.monotonic() - edited
        time.sleep(0.05)
    assert set(seen) == set(changed), "the correction did not reach the edge"
    print(f"edit at the edge after {max(seen.values()):.2f} s (app reload interval 1 s)")
    status, found, _ = edge.get(untouched)
    assert (status, found["X-Cache"]) == (200, "HIT")
    # One purge for the change, however many workers serve it, sent again
    # once every worker serves it; and only what the change touched.
    edge.settled(purged[0] + 1)
    status, found, _ = edge.get(untouched)
    assert (status, found["X-Cache"]) == (200, "HIT")
    # A later, unrelated change, purged in its turn: its purges arriving are
    # the mark that no worker had another purge of the first one to send.
    later = edge.root / "articles/opinion-bus-corridors.md"
    later.write_text(later.read_text(encoding="utf-8") + "\nA later line.\n", encoding="utf-8")
    edge.settled(purged[0] + 2)
    assert edge.purges() == (purged[0] + 2, purged[1] + 2)
    status, found, _ = edge.get(untouched)  # no byline of either story
    assert (status, found["X-Cache"]) == (200, "HIT")
    for path in changed:  # fetched anew once more after the second purge, then kept
        edge.get(path)
        status, found, body = edge.get(path)
        assert (status, found["X-Cache"]) == (200, "HIT")
        assert b"in twelve years" in body


def purge_from(address: str, port: int, keys: str | None) -> int:
    """Send PURGE to Varnish from a loopback address of our choosing."""
    with socket.create_connection(("127.0.0.1", port), timeout=5, source_address=(address, 0)) as s:
        head = "PURGE / HTTP/1.1\r\nHost: cdn\r\nConnection: close\r\n"
        if keys is not None:
            head += f"xkey: {keys}\r\n"
        s.sendall((head + "\r\n").encode())
        answer = b""
        while chunk := s.recv(65536):
            answer += chunk
    return int(answer.split()[1])


def wait_until(what: Callable[[], bool], message: str, seconds: float = 15) -> float:
    """Seconds until ``what`` holds (polled), or fail with ``message``."""
    started = time.monotonic()
    while not what():
        assert time.monotonic() - started < seconds, message
        time.sleep(0.05)
    return time.monotonic() - started


def test_a_page_asked_for_before_it_exists_is_not_kept_missing(edge: Edge) -> None:
    path = "articles/a-story-asked-for-early/"
    assert edge.get(path)[0] == 404
    status, found, _ = edge.get(path)
    assert (status, found["X-Cache"]) == (404, "HIT")  # kept, as any response
    (edge.root / "articles" / "early.md").write_text(
        '---\ntitle: "A story asked for early"\nslug: a-story-asked-for-early\n'
        f"date: {(datetime.now(UTC) - timedelta(hours=1)).isoformat()}\n"
        "authors: [ana-quispe]\ntags: [Water]\n---\nIt is here now.\n",
        encoding="utf-8",
    )
    took = wait_until(lambda: edge.get(path)[0] == 200, "the edge kept the 404")
    print(f"a new page replaced its cached 404 at the edge after {took:.2f} s")
    edge.settled(edge.purges()[0])


def test_an_image_replaced_under_its_name_is_fetched_anew(edge: Edge) -> None:
    path = "images/lima-reservoir.png"
    before = edge.get(path)[2]
    assert edge.get(path)[1]["X-Cache"] == "HIT"
    replacement = (edge.root / "images" / "sao-paulo-rain.png").read_bytes()
    assert replacement != before
    (edge.root / path).write_bytes(replacement)
    wait_until(lambda: edge.get(path)[2] == replacement, "the edge kept the old image")
    edge.settled(edge.purges()[0])


def test_a_month_of_hundreds_of_stories_passes_the_edge(edge: Edge) -> None:
    """A listing's key names the listing, not each story it shows: its sealed
    archive documents (feed_items stories each) would otherwise need a header
    Varnish refuses."""
    month = datetime(2026, 9, 1, 12, tzinfo=UTC)
    for n in range(300):
        date = (month + timedelta(hours=n)).isoformat()
        (edge.root / "articles" / f"busy-{n}.md").write_text(
            f'---\ntitle: "Busy month, story {n}"\ndate: {date}\n'
            "authors: [ana-quispe]\ntags: [Water]\n---\nOne of many.\n",
            encoding="utf-8",
        )
    # 300 stories in Water, of 50 a document: its 6th is sealed once all are served.
    # Through the edge (a worker that has not reloaded yet may answer first:
    # the second purge, once every worker serves the change, removes that).
    newest = "tags/water/archive/6/atom.xml"
    wait_until(
        lambda: edge.get(newest)[0] == 200 and edge.get(newest)[2].count(b"<entry>") == 50,
        "the edge never served the busy month's archive",
        seconds=60,
    )
    assert len(edge.direct(newest)[0]["Surrogate-Key"]) < 100
    assert len(edge.direct("tags/water/")[0]["Surrogate-Key"]) < 100
    edge.settled(edge.purges()[0])


def test_only_the_app_may_purge(edge: Edge) -> None:
    edge.get("feeds.opml")
    assert edge.get("feeds.opml")[1]["X-Cache"] == "HIT"
    assert purge_from("127.0.0.2", edge.port, "site") == 403  # another machine, as it were
    assert edge.get("feeds.opml")[1]["X-Cache"] == "HIT"
    assert purge_from("127.0.0.1", edge.port, None) == 400
    assert purge_from("127.0.0.1", edge.port, "f-feeds.opml") == 200
    assert edge.get("feeds.opml")[1]["X-Cache"] == "MISS"


def test_what_is_private_or_counted_is_never_kept(edge: Edge) -> None:
    token = {"Authorization": "Bearer fp_nobody.nothing"}
    for _ in range(2):
        status, found, _ = edge.get("partners/rss.xml", token)
        assert (status, found["X-Cache"]) == (401, "MISS")
        assert found["Cache-Control"] == "private, no-store"
    for _ in range(2):  # every hit of the pixel reaches the app, to be counted
        status, found, _ = edge.get("r/0123456789abcdef0123456789abcdef.gif")
        assert (status, found["X-Cache"]) == (200, "MISS")


def test_with_the_app_down_the_edge_serves_what_it_has(edge: Edge) -> None:
    # A short life at the edge, so that what it keeps is stale when the app goes.
    path = "authors/ana-quispe/feed.json"
    for _ in range(2):
        edge.stack.close()
        edge.start_app(FEEDS_CDN_MAX_AGE="1")
        deadline = time.monotonic() + 30
        # Until Varnish's probe sees the app again, it answers 503 itself.
        while (first := edge.get(path))[0] != 200:
            assert time.monotonic() < deadline, "Varnish never saw the app come back"
            time.sleep(0.3)
        assert first[1]["X-Cache"] == "MISS"
        status, found, kept = edge.get(path)
        assert (status, found["X-Cache"]) == (200, "HIT")
        purged = edge.purges()
        time.sleep(1.5)
        edge.stack.close()  # the app stops
        # The app purges every key once its workers serve its new headers; if
        # that came after the copy was cached, the edge has nothing to keep:
        # start again (the headers are the same then, and nothing is purged).
        if edge.purges() == purged:
            break
    deadline = time.monotonic() + 15
    while edge.get("never-cached-here/")[0] != 503:  # until Varnish sees it is down
        assert time.monotonic() < deadline, "Varnish never saw the app go"
        time.sleep(0.3)
    status, found, body = edge.get(path)
    assert (status, body) == (200, kept)
    assert int(found["Age"]) >= 1  # past its life at the edge: served stale
    with contextlib.suppress(Exception):
        edge.start_app()  # for whatever runs after


def test_the_keys_a_change_purges(tmp_path: Path) -> None:
    """Without a CDN: which keys each kind of change names."""
    from feeds.content.directory import load
    from feeds.outputs.plan import Plan
    from feeds.publish import cdn

    root = sample_copy(tmp_path, 8000)
    now = datetime.now(UTC)

    def plan() -> tuple[Plan, dict[str, cdn.Stamp]]:
        found = Plan(load(root), now)
        return found, cdn.image_stamps(root, found)

    def change() -> set[str]:
        nonlocal old
        new = plan()
        keys = set(cdn.changed_keys(old[0], new[0], old[1], new[1]))
        old = new
        return keys

    old = plan()
    assert change() == set()
    story = root / STORY
    story.write_text(story.read_text(encoding="utf-8").replace("in a decade", "of late", 1))
    edited = change()
    article = next(a for a in old[0].content.articles if a.path == STORY)
    assert headers.article_key(article.id) in edited
    assert {"l-home", "l-tags/lima/", "l-authors/ana-quispe/"} <= edited
    assert "l-authors/tomas-ferreira/" not in edited and headers.MISSING_KEY not in edited
    (root / "articles" / "new.md").write_text(
        f'---\ntitle: "New"\ndate: {(now - timedelta(hours=1)).isoformat()}\n'
        "authors: [tomas-ferreira]\ntags: [Brand new]\n---\nNew.\n",
        encoding="utf-8",
    )
    added = change()
    assert {"l-home", "l-tags/brand-new/", "l-authors/tomas-ferreira/", "missing"} <= added
    image = root / "images" / "lima-reservoir.png"
    image.write_bytes(image.read_bytes() + b"\0")
    assert "f-images/lima-reservoir.png" in change()
