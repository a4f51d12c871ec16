"""WebSub with a real hub: flask-websub's hub and subscriber on loopback
(Celery running their tasks in process), the app under gunicorn with two
workers, and ``feeds build`` exporting to a static server.

What a subscriber sees is what is asserted: the bodies the hub delivered,
their ``X-Hub-Signature``, and how many pings of each feed the hub received.
"""

from __future__ import annotations

import contextlib
import http.server
import itertools
import os
import re
import signal
import socket
import subprocess
import threading
import time
import urllib.parse
import urllib.request
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import feedparser
import pytest
from sqlalchemy import select

from conftest import (
    FEEDS_COMMAND,
    Hub,
    Subscriber,
    append,
    free_port,
    gunicorn,
    sample_copy,
    signed,
    state_database,
    state_env,
    wait_for,
    with_hub,
)
from feeds.state.database import State
from feeds.state.schema import workers

#: A hub, a subscriber and a static host on loopback, gunicorn, `feeds build` in a child process.
pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parent.parent
FEEDS = ("rss.xml", "atom.xml", "feed.json")


def later_change(root: Path, hub: Hub, base: str) -> set[str]:
    """A later, unrelated change, made and waited for: an edit of the story
    tagged Transport, until its tag's feed is pinged. Each worker tells of
    the changes it serves in order, so the pings it owed for an earlier
    change are in by then: a positive mark, where a sleep would pass wrongly
    on a slow machine. The topics this change may ping."""
    since = len(hub.published)
    append(root / "articles" / "opinion-bus-corridors.md", f"A later line {uuid.uuid4().hex}.")
    wait_for(
        lambda: hub.pings(since)[f"{base}tags/transport/rss.xml"],
        message="the later change pinged",
    )
    listings = ["", "tags/cities/", "tags/transport/", "tags/climate-change/", "archive/2026/11/"]
    return {f"{base}{listing}{name}" for listing in listings for name in FEEDS}


# -- the app ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory, hub: Hub) -> Iterator[tuple[str, Path, Path]]:
    """The sample site under gunicorn (two workers, the real clock), with
    the hub in site.toml. Yields (base URL, content, state database)."""
    port = free_port()
    root = sample_copy(tmp_path_factory.mktemp("app"), port)
    with_hub(root, hub.url)
    state = tmp_path_factory.mktemp("app-state") / "feeds.db"
    env = {"FEEDS_STATE": str(state), "FEEDS_PING_BACKOFF": "0.5"}
    cache = tmp_path_factory.mktemp("app-cache") / "cache.sqlite"
    with gunicorn(root, port, cache, ", 'RELOAD_INTERVAL': 0.2", stopped=False, env=env) as base:
        # Both workers have looked at the feeds once: the versions to compare with.
        for _ in range(4):
            urllib.request.urlopen(base + "rss.xml").close()
        opened = State(f"sqlite:///{state}")
        wait_for(lambda: opened.topics(base), message="the first start's versions")
        opened.close()
        yield base, root, state


def tag_feeds(base: str, tag: str) -> list[str]:
    slug = re.sub(r"[^a-z0-9]+", "-", tag.lower()).strip("-")
    return [f"{base}tags/{slug}/{name}" for name in FEEDS]


def test_every_feed_names_its_hub_and_itself_in_headers_and_body(
    app: tuple[str, Path, Path], hub: Hub
) -> None:
    base, _, _ = app
    for path in (
        "rss.xml",
        "atom.xml",
        "feed.json",
        "tags/science/atom.xml",
        "authors/ana-quispe/rss.xml",
    ):
        url = base + path
        for method in ("GET", "HEAD"):
            with urllib.request.urlopen(urllib.request.Request(url, method=method)) as response:
                assert response.headers["Link"] == f'<{hub.url}>; rel="hub", <{url}>; rel="self"'
                body = response.read()
        body = urllib.request.urlopen(url).read()
        if path.endswith(".json"):
            assert f'"hubs": [{{"type": "WebSub", "url": "{hub.url}"}}]'.replace(" ", "") in (
                body.decode().replace(" ", "").replace("\n", "")
            )
            assert f'"feed_url":"{url}"' in body.decode().replace(" ", "")
        else:
            parsed = feedparser.parse(body)
            links = {(link.rel, link.href) for link in parsed.feed.links}
            assert ("hub", hub.url) in links and ("self", url) in links
    # A page is no topic: it names no hub.
    with urllib.request.urlopen(base) as response:
        assert "Link" not in response.headers or 'rel="hub"' not in response.headers["Link"]


def test_an_edit_reaches_the_subscribers_once_signed_and_nothing_else_is_pinged(
    app: tuple[str, Path, Path], hub: Hub, subscriber: Subscriber
) -> None:
    base, root, _ = app
    article = root / "articles" / "glacier-retreat-cordillera-blanca.md"
    text = article.read_text(encoding="utf-8")
    assert "  - Glaciers\n" in text and "  - Brazil\n" not in text
    home, tag, untouched = (
        base + "rss.xml",
        tag_feeds(base, "Glaciers")[0],
        tag_feeds(base, "Brazil"),
    )
    for topic in (home, tag, untouched[0]):
        subscriber.subscribe(topic, hub.url)
    since, heard = len(hub.published), len(subscriber.received)
    marker = f"Edited at {uuid.uuid4().hex}."
    append(article, marker)

    for topic in (home, tag):
        body = wait_for(
            lambda t=topic: [b for b in subscriber.bodies(t, heard) if marker.encode() in b],
            message=f"{topic} delivered with the edit",
        )[0]
        header = next(s for t, b, s in subscriber.received[heard:] if t == topic and b == body)
        assert header.startswith("sha512=") and signed(body, header)
    assert hub.pings(since)[home] == 1
    touched = later_change(root, hub, base)  # the other worker, had it pinged too, has by now
    every = hub.pings(since)
    pings = Counter({t: n for t, n in every.items() if t not in touched})
    assert pings[tag] == 1 and every[home] <= 2, every
    assert set(pings.values()) == {1}, pings  # two workers, one ping per feed
    assert not set(untouched) & set(every)
    # Sealed archive documents name no hub: the hub is never told of them
    # (tests/test_archives.py shows they name none).
    assert not {topic for topic in pings if "/archive/" in topic}
    assert not subscriber.bodies(untouched[0], heard)


def test_a_scheduled_article_is_pushed_when_its_time_comes(
    app: tuple[str, Path, Path], hub: Hub, subscriber: Subscriber
) -> None:
    base, root, _ = app
    home = base + "atom.xml"
    subscriber.subscribe(home, hub.url)
    due = (datetime.now(UTC) + timedelta(seconds=6)).replace(microsecond=0)
    title = f"Scheduled story {uuid.uuid4().hex[:8]}"
    since, heard = len(hub.published), len(subscriber.received)
    (root / "articles" / "scheduled-story.md").write_text(
        f'---\ntitle: "{title}"\ndate: {due.isoformat()}\n'
        f'id: "tag:wire.example.org,2026:{uuid.uuid4().hex}"\n'
        "authors:\n  - grace-okafor\ntags:\n  - Glaciers\n---\nIt came out on time.\n",
        encoding="utf-8",
    )
    body = wait_for(
        lambda: [b for b in subscriber.bodies(home, heard) if title.encode() in b],
        message="the scheduled article delivered",
    )[0]
    assert feedparser.parse(body).entries[0].title == title
    # No feed changed before its time: every ping since it was written came after.
    assert hub.times[since:] and min(hub.times[since:]) >= due.timestamp()
    glaciers = tag_feeds(base, "Glaciers")[1]  # atom.xml, as home
    touched = later_change(root, hub, base)
    assert glaciers not in touched and hub.pings(since)[glaciers] == 1
    assert hub.pings(since)[home] <= 2  # once for it, once for the later change


def test_a_withdrawal_is_pushed_to_every_feed_that_carried_the_story(
    app: tuple[str, Path, Path], hub: Hub, subscriber: Subscriber
) -> None:
    base, root, _ = app
    home, notices = base + "atom.xml", base + "withdrawals/atom.xml"
    for topic in (home, notices):
        subscriber.subscribe(topic, hub.url)
    article = root / "articles" / "mine-workers-heat-rules.md"
    text = article.read_text(encoding="utf-8")
    found = re.search(r'^id: "(.+)"$', text, re.M)
    assert found is not None and "withdrawn:" not in text and "  - Mining\n" in text
    since, heard = len(hub.published), len(subscriber.received)
    when = datetime.now(UTC).replace(microsecond=0).isoformat()
    reason = f"Withdrawn for a test {uuid.uuid4().hex[:8]}."
    article.write_text(
        text.replace("\n---\n", f'\nwithdrawn:\n  date: {when}\n  reason: "{reason}"\n---\n', 1),
        encoding="utf-8",
    )
    body = wait_for(
        lambda: [b for b in subscriber.bodies(home, heard) if found[1].encode() not in b],
        message="the feed without the story delivered",
    )[0]
    assert found[1] not in [entry.id for entry in feedparser.parse(body).entries]
    notice = wait_for(lambda: subscriber.bodies(notices, heard), message="the notice")[0]
    assert feedparser.parse(notice).entries[0].id == found[1] + "#withdrawn"  # newest first
    touched = later_change(root, hub, base)
    pings = hub.pings(since)
    assert set(Counter({t: n for t, n in pings.items() if t not in touched}).values()) == {1}
    assert {home, notices, *tag_feeds(base, "Mining")} <= set(pings)


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_the_hub_is_pinged_once_every_server_serves_the_change(
    tmp_path_factory: pytest.TempPathFactory, hub: Hub, subscriber: Subscriber, database: str
) -> None:
    """Two app servers share the content and the state database, as machines
    behind one address would: a quick one (two workers looking for changes
    every 0.2 s) and a slow one (two workers looking every 6 s, so that each
    change reaches it seconds after the quick one served it). The site's
    address, where the hub fetches each feed it is pinged for, is the slow
    one's: every delivery carries the new bytes, because the ping waits for
    the slow server's workers to serve them, however long they take. Each
    worker's heartbeat is gone once the servers stop."""
    folder = tmp_path_factory.mktemp("two-servers")
    slow_port = free_port()
    root = sample_copy(folder, slow_port)
    with_hub(root, hub.url)
    home = f"http://127.0.0.1:{slow_port}/rss.xml"
    article = root / "articles" / "glacier-retreat-cordillera-blanca.md"
    with (
        state_database(database, folder) as url,
        contextlib.closing(
            State(url.replace("postgresql://", "postgresql+psycopg://", 1))
        ) as opened,
    ):
        _two_servers(folder, root, state_env(url), opened, hub, subscriber, home, article)
        with opened.read() as connection:
            assert connection.execute(select(workers)).all() == []


def _two_servers(
    folder: Path,
    root: Path,
    env: dict[str, str],
    opened: State,
    hub: Hub,
    subscriber: Subscriber,
    home: str,
    article: Path,
) -> None:
    slow_port, quick_port = int(home.split(":")[2].split("/")[0]), free_port()
    with (
        gunicorn(
            root, quick_port, folder / "quick.sqlite", ", 'RELOAD_INTERVAL': 0.2", False, env
        ) as quick,
        gunicorn(root, slow_port, folder / "slow.sqlite", ", 'RELOAD_INTERVAL': 6.0", False, env),
    ):
        for _ in range(4):  # each worker of each server serves a request or two
            for base in (quick, f"http://127.0.0.1:{slow_port}/"):
                urllib.request.urlopen(base + "rss.xml").close()
        wait_for(lambda: opened.topics(home), message="the first start's versions")
        # Workers that served a request beat (a worker counts from its first).
        wait_for(lambda: len(opened.workers(home.removesuffix("rss.xml"), time.time())) >= 2)
        subscriber.subscribe(home, hub.url)
        waits, starts = [], []
        for round in range(6):
            since, heard = len(hub.published), len(subscriber.received)
            starts.append(since)
            marker = f"Round {round}: {uuid.uuid4().hex}."
            append(article, marker)
            written = time.time()
            wait_for(lambda s=since: hub.pings(s)[home], message="the ping")
            waits.append(hub.times[hub.published.index(home, since)] - written)
            # What the hub fetched when it was pinged, it delivers.
            body = wait_for(
                lambda h=heard: subscriber.bodies(home, h),
                message="the delivery",
            )[0]
            assert marker.encode() in body, f"round {round}: the hub fetched the old bytes"
            assert marker.encode() in urllib.request.urlopen(quick + "rss.xml").read()
        # One ping a change, however many servers and workers serve it.
        for start, end in itertools.pairwise(starts):
            assert hub.published[start:end].count(home) == 1
    waits.sort()
    print(f"written until pinged: median {waits[len(waits) // 2]:.2f} s, max {waits[-1]:.2f} s")


# -- feeds build and a static host --------------------------------------------------


class StaticHost(http.server.ThreadingHTTPServer):
    """Serves an export as files; with ``honour_headers``, with the headers
    its ``_headers`` file gives each path (as Netlify and Cloudflare Pages do)."""

    def __init__(self, out: Path) -> None:
        self.out = out
        self.honour_headers = False
        host = self

        class Handler(http.server.SimpleHTTPRequestHandler):
            def __init__(self, *args: Any, **kwargs: Any) -> None:
                super().__init__(*args, directory=str(host.out), **kwargs)

            def end_headers(self) -> None:
                if host.honour_headers:
                    for name, value in rules(host.out).get(self.path.split("?")[0], []):
                        if name == "Link":
                            self.send_header(name, value)
                super().end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        super().__init__(("127.0.0.1", free_port()), Handler)
        threading.Thread(target=self.serve_forever, daemon=True).start()


def rules(out: Path) -> dict[str, list[tuple[str, str]]]:
    found: dict[str, list[tuple[str, str]]] = {}
    path = ""
    for line in (out / "_headers").read_text(encoding="utf-8").splitlines():
        if line and not line[0].isspace():
            path = line.strip()
        elif line.strip():
            name, _, value = line.strip().partition(": ")
            found.setdefault(path, []).append((name, value))
    return found


@pytest.fixture(scope="module")
def static(
    tmp_path_factory: pytest.TempPathFactory, hub: Hub
) -> Iterator[tuple[StaticHost, Path, dict[str, str]]]:
    folder = tmp_path_factory.mktemp("static")
    out = folder / "out"
    host = StaticHost(out)
    root = sample_copy(folder, host.server_address[1])
    with_hub(root, hub.url)
    env = {
        **os.environ,
        "FEEDS_STATE": str(folder / "state" / "feeds.db"),
        "FEEDS_CACHE": str(folder / "cache.sqlite"),
        "FEEDS_PING_BACKOFF": "0.3",
        "FEEDS_CONTENT": str(root),
    }
    yield host, root, env
    host.shutdown()
    host.server_close()
    # The background senders ``feeds build`` started end once their pings
    # are given up: hours, for a hub that is gone for good. End them now.
    for log in folder.rglob("pings.log"):
        for pid in set(re.findall(r"^\S+ \S+ (\d+) ", log.read_text(encoding="utf-8"), re.M)):
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(pid), signal.SIGTERM)


def senders(log: Path) -> set[int]:
    """The background senders named in ``log`` that are still running."""
    found = set()
    for pid in set(re.findall(r"^\S+ \S+ (\d+) ", log.read_text(encoding="utf-8"), re.M)):
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (FileNotFoundError, IndexError):
            continue
        if state != "Z":  # a zombie has ended; its parent has not reaped it yet
            found.add(int(pid))
    return found


def built(env: dict[str, str], out: Path) -> subprocess.CompletedProcess[str]:
    """`feeds build` in a child process; it must succeed without a traceback."""
    done = subprocess.run(
        [FEEDS_COMMAND, "build", "--out", str(out)],
        env=env,
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    return done


def build(env: dict[str, str], out: Path) -> str:
    """What `feeds build` printed."""
    return built(env, out).stdout


def test_the_first_build_announces_every_feed_and_a_rebuild_none(
    static: tuple[StaticHost, Path, dict[str, str]], hub: Hub
) -> None:
    host, _, env = static
    since = len(hub.published)
    printed = build(env, host.out)
    base = f"http://127.0.0.1:{host.server_address[1]}/"
    feeds = [
        line
        for line in rules(host.out)
        if line.endswith((".xml", ".json")) and "Link" in dict(rules(host.out)[line])
    ]
    # Pings the build's deadline cut short (a slow machine) are sent by the
    # background sender it started: every feed is told, once.
    pings = wait_for(lambda: p if len(p := hub.pings(since)) >= len(feeds) else None, "pings")
    assert pings[base + "rss.xml"] == 1 and set(pings.values()) == {1}
    assert len(pings) == len(feeds)
    assert f"pinged {hub.url} for /rss.xml" in printed.splitlines()
    since = len(hub.published)
    again = build(env, host.out)
    assert "up to date" in again and "pinged" not in again
    assert hub.pings(since) == Counter()


def test_without_link_headers_the_hub_delivers_nothing(
    static: tuple[StaticHost, Path, dict[str, str]], hub: Hub, subscriber: Subscriber
) -> None:
    host, root, env = static
    base = f"http://127.0.0.1:{host.server_address[1]}/"
    if not (host.out / "rss.xml").exists():
        build(env, host.out)
    topic = base + "rss.xml"
    subscriber.subscribe(topic, hub.url)
    article = root / "articles" / "coral-nursery-cartagena.md"

    host.honour_headers = False
    since, heard = len(hub.published), len(subscriber.received)
    marker = f"Plain host {uuid.uuid4().hex}."
    append(article, marker)
    assert f"pinged {hub.url} for /rss.xml" in build(env, host.out)
    assert hub.pings(since)[topic] == 1  # the hub took the ping (202)...

    host.honour_headers = True  # the same export, served with its _headers file
    since = len(hub.published)
    later = f"Host with headers {uuid.uuid4().hex}."
    append(article, later)
    assert f"pinged {hub.url} for /rss.xml" in build(env, host.out)
    # The later change arriving is the mark that the hub is done with the first:
    # it delivered nothing of it, then this one alone.
    body = wait_for(lambda: subscriber.bodies(topic, heard), message="delivered")[0]
    assert marker.encode() in body and later.encode() in body
    assert subscriber.bodies(topic, heard) == [body]  # ... and told nobody of the first
    header = next(s for t, b, s in subscriber.received[heard:] if t == topic)
    assert signed(body, header)


def test_a_hub_that_is_down_fails_nothing_and_gets_the_pings_later(
    static: tuple[StaticHost, Path, dict[str, str]], hub: Hub
) -> None:
    host, root, env = static
    base = f"http://127.0.0.1:{host.server_address[1]}/"
    if not (host.out / "rss.xml").exists():
        build(env, host.out)
    article = root / "articles" / "lima-reservoirs-dry-season.md"
    hub.stop()
    try:
        since = len(hub.published)
        append(article, f"While the hub was down {uuid.uuid4().hex}.")
        printed = build(env, host.out)
        assert f"could not ping {hub.url} for /rss.xml: " in printed
        assert "(will retry)" in printed and "retried in the background" in printed
    finally:
        hub.start()
    # The background sender tries again, with backoff, until the hub takes them.
    wait_for(lambda: hub.pings(since)[base + "rss.xml"], message="the ping retried")
    log = Path(env["FEEDS_STATE"]).parent / "pings.log"
    # The background senders ending: none has a ping left to send.
    wait_for(lambda: not senders(log), message="the background senders ended")
    assert set(hub.pings(since).values()) == {1}
    text = log.read_text(encoding="utf-8")
    assert "could not ping" in text or "pinged" in text


def test_a_hub_that_never_answers_does_not_hold_the_build(
    static: tuple[StaticHost, Path, dict[str, str]],
) -> None:
    host, root, env = static
    if not (host.out / "rss.xml").exists():
        build(env, host.out)
    with socket.socket() as silent:  # takes connections, never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(64)
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/hub"
        site = root / "site.toml"
        before = site.read_text(encoding="utf-8")
        site.write_text(re.sub(r'hub = ".*"', f'hub = "{url}"', before), encoding="utf-8")
        try:
            printed = build(
                {**env, "FEEDS_STATE": str(Path(env["FEEDS_STATE"]).parent / "silent.db")}, host.out
            )
        finally:
            site.write_text(before, encoding="utf-8")
    assert f"could not ping {url} for /rss.xml: timed out (will retry)" in printed, printed


class TricklingHub:
    """A hub on loopback that takes each ping and sends its ``202`` one byte
    every two seconds: each read of its client gets a byte well within any
    socket timeout, so only a deadline over the whole exchange ends it."""

    ANSWER = b"HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"

    def __init__(self) -> None:
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(64)
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}/hub"
        self.lock = threading.Lock()
        #: Connections holding a ping now, still trickling its answer.
        self.holding = 0
        #: For each ping let go, the bytes of its answer sent before the client hung up.
        self.sent: list[int] = []
        self.stopped = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                connection, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(connection,), daemon=True).start()

    def _serve(self, connection: socket.socket) -> None:
        with connection:
            data = b""
            try:
                connection.settimeout(10)
                while b"\r\n\r\n" not in data:
                    chunk = connection.recv(65536)
                    if not chunk:
                        return
                    data += chunk
            except OSError:
                return
            with self.lock:
                self.holding += 1
            sent = 0
            try:
                for byte in self.ANSWER:
                    if self._hung_up(connection):
                        break
                    connection.sendall(bytes([byte]))
                    sent += 1
                    if self.stopped.wait(2.0):
                        break
            except OSError:
                pass
            finally:
                with self.lock:
                    self.holding -= 1
                    self.sent.append(sent)

    @staticmethod
    def _hung_up(connection: socket.socket) -> bool:
        try:
            return connection.recv(1, socket.MSG_DONTWAIT | socket.MSG_PEEK) == b""
        except BlockingIOError:
            return False
        except OSError:
            return True

    def close(self) -> None:
        self.stopped.set()
        self.listener.close()


def end_senders(folder: Path) -> None:
    """End the background senders ``feeds build`` started under ``folder``."""
    for log in folder.rglob("pings.log"):
        for pid in senders(log):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)


def build_site(tmp_path: Path, hub: str) -> tuple[Path, Path, dict[str, str]]:
    """A copy of the sample site pinging ``hub``: its content, export folder and env."""
    root = sample_copy(tmp_path, free_port())
    with_hub(root, hub)
    env = {
        **os.environ,
        "FEEDS_STATE": str(tmp_path / "state" / "feeds.db"),
        "FEEDS_CACHE": str(tmp_path / "cache.sqlite"),
        "FEEDS_PING_BACKOFF": "600",  # the background sender tries, then sleeps
        "FEEDS_CONTENT": str(root),
    }
    return root, tmp_path / "out", env


def test_a_trickling_hub_holds_the_build_no_longer_than_its_deadline(tmp_path: Path) -> None:
    from feeds.cli import PING_TIMEOUT

    hub = TricklingHub()
    _, out, env = build_site(tmp_path, hub.url)
    try:
        printed = build(env, out)
        assert f"could not ping {hub.url} for /rss.xml: timed out (will retry)" in printed, printed
        # Every ping the build sent was cut at its deadline: the hub had sent
        # one byte every 2 s, far from its whole answer, when the build let go.
        # (One write after the cut may still succeed: TCP takes it until the
        # build's close reaches the hub, so a byte more is counted.)
        wait_for(lambda: hub.sent, message="the build let go of the hub")
        assert max(hub.sent) <= PING_TIMEOUT // 2 + 2 < len(hub.ANSWER), hub.sent
    finally:
        end_senders(tmp_path)
        hub.close()


def test_three_failing_builds_leave_one_sender_and_one_ping_per_feed(tmp_path: Path) -> None:
    hub = f"http://127.0.0.1:{free_port()}/hub"  # nothing listens: refused
    root, out, env = build_site(tmp_path, hub)
    article = root / "articles" / "lima-reservoirs-dry-season.md"
    log = tmp_path / "state" / "pings.log"
    try:
        for build_number in range(3):
            append(article, f"Build {build_number} {uuid.uuid4().hex}.")
            done = built(env, out)
            failed = done.stdout.count(f"could not ping {hub} for /rss.xml: ")
            assert failed == 1, done.stdout  # each failure said once...
            assert "could not ping" not in done.stderr  # ... not again in a log line
        assert len(senders(log)) == 1
        state = State(f"sqlite:///{tmp_path / 'state' / 'feeds.db'}")
        try:

            def one_each() -> bool:
                owed = Counter(subject for kind, _, subject, _ in state.owed() if kind == "ping")
                return bool(owed) and set(owed.values()) == {1}

            wait_for(one_each, message="one pending ping per feed")
        finally:
            state.close()
    finally:
        end_senders(tmp_path)


def test_two_machines_sharing_a_postgresql_database_run_one_sender(tmp_path: Path) -> None:
    """Two machines (each its own state folder, so its own ``pings.lock``
    and ``pings.log``) build the same site into one PostgreSQL database
    while the hub is down: one background sender runs for the database,
    not one per machine."""
    hub = f"http://127.0.0.1:{free_port()}/hub"  # nothing listens: refused
    root, _, env = build_site(tmp_path, hub)
    article = root / "articles" / "lima-reservoirs-dry-season.md"
    logs = [tmp_path / machine / "state" / "pings.log" for machine in ("a", "b")]
    with state_database("postgresql", tmp_path) as url:
        try:
            for number, log in enumerate(logs):
                append(article, f"Build {number} {uuid.uuid4().hex}.")
                machine = {
                    **env,
                    **state_env(url),
                    "FEEDS_STATE": str(log.with_name("feeds.db")),
                    "FEEDS_CACHE": str(log.parent.parent / "cache.sqlite"),
                }
                printed = build(machine, log.parent.parent / "out")
                assert f"could not ping {hub} for /rss.xml: " in printed
                assert "retried in the background" in printed
                if number == 0:  # its sender at work, holding the lock
                    wait_for(
                        lambda log=log: "INFO the one sender for " in log.read_text(),
                        message="the first machine's sender at work",
                    )
            # The second machine's build found the first's sender at work
            # for the database, and started none.
            assert len(senders(logs[0])) == 1
            assert not logs[1].exists() or not senders(logs[1])
        finally:
            end_senders(tmp_path)


class PurgeRecorder(http.server.ThreadingHTTPServer):
    """A CDN's purge address on loopback: takes every ``PURGE``, noting its
    keys and how many pings ``hub`` held when it came."""

    def __init__(self, hub: TricklingHub) -> None:
        self.purges: list[tuple[str, int]] = []
        recorder = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_PURGE(self) -> None:
                with hub.lock:
                    recorder.purges.append((self.headers.get("xkey", ""), hub.holding))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        super().__init__(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server_address[1]}/"
        threading.Thread(target=self.serve_forever, daemon=True).start()


def test_in_the_app_a_purge_goes_out_while_the_hub_holds_its_ping(tmp_path: Path) -> None:
    hub = TricklingHub()
    cdn = PurgeRecorder(hub)
    port = free_port()
    root = sample_copy(tmp_path, port)
    with_hub(root, hub.url)
    env = {
        "FEEDS_STATE": str(tmp_path / "state" / "feeds.db"),
        "FEEDS_DATABASE_URL": "",
        "FEEDS_PURGE_URL": cdn.url,
        "FEEDS_PING_BACKOFF": "600",
    }
    try:
        with gunicorn(root, port, tmp_path / "cache.sqlite", stopped=False, env=env):
            wait_for(lambda: len(cdn.purges) >= 2, message="the first start's purges")
            append(root / "articles" / "lima-reservoirs-dry-season.md", "A first edit.")
            # Its pings go out once both workers serve it: the hub holds them.
            wait_for(lambda: hub.holding > 0, message="the hub holding a ping")
            before = len(cdn.purges)
            append(root / "articles" / "opinion-bus-corridors.md", "A second edit.")
            wait_for(lambda: len(cdn.purges) > before, message="the second edit's purge")
            keys, holding = cdn.purges[before]
            assert keys and "site" not in keys.split()
            assert holding > 0  # sent while the hub still held the first edit's ping
    finally:
        cdn.shutdown()
        cdn.server_close()
        hub.close()
