"""WebSub publishing: every feed whose bytes changed is pinged once.

Which feeds changed, and when the hub is told, is decided by
:mod:`feeds.publish.notify` and settled in the state database (:mod:`feeds.state.database`),
so that ``feeds build`` and every worker of the app agree: exactly one of them
owes each ping, in the transaction that records the new version. Pings are
sent apart from builds and requests, retried with backoff while the hub is
down, and logged.

A ping is a form ``hub.mode=publish`` naming the feed as both ``hub.url``
(WordPress, PubSubHubbub 0.3 hubs) and ``hub.topic`` (flask-websub, which
refuses ``hub.url``). Each form names one feed: hubs read the first topic of
a form and drop the rest (flask-websub does), so a form listing every
changed feed would tell subscribers of one.

``python -m feeds.publish.websub`` sends the pings still queued until none is left:
``feeds build`` starts it when a ping failed, so that the build need not wait.
"""

from __future__ import annotations

import fcntl
import logging
import os
import sys
import time
import urllib.parse
from collections.abc import Callable, Iterable, Mapping, MutableMapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from feeds import urls, version
from feeds.digest import digest
from feeds.outputs.plan import Access, Plan
from feeds.publish import exchange
from feeds.state.database import State
from feeds.state.notices import SENDER_LOCK
from feeds.state.rows import Ping, Topic
from feeds.state.store import StateError
from feeds.state.url import default_url, folder, sqlite_file

#: Seconds to wait for a hub's answer.
TIMEOUT = 10.0
#: Seconds a process holds a ping it is sending (longer than :data:`TIMEOUT`).
LEASE = 60.0
#: Seconds before the first retry; each further one waits twice as long...
BACKOFF = 10.0
#: ... but never more than this. A ping is never given up: it is owed, in the
#: state database, until the hub takes it (or a newer change replaces it).
MAX_WAIT = 3600.0

logger = logging.getLogger("feeds.websub")


@dataclass(frozen=True)
class Sent:
    """The outcome of one try."""

    hub: str
    topic: str
    #: Why the hub did not take it; None when it did.
    error: str | None = None
    #: When it is tried again, in seconds; None when it will not be.
    retry: float | None = None


def backoff(text: str | None) -> float:
    """``text`` seconds (``$FEEDS_PING_BACKOFF``, a test's short one), else
    :data:`BACKOFF`."""
    try:
        return float(text or BACKOFF)
    except ValueError:
        return BACKOFF


def feeds_of(plan: Plan) -> list[str]:
    """The public feed files of a plan that name the hub: what a hub is told
    of (never a sealed archive document, which has nothing to push)."""
    return [path for path in plan.paths(Access.PUBLIC) if plan.outputs[path].pushed]


def topic_url(plan: Plan, path: str) -> str:
    return urls.absolute(plan.content.site.base_url, urls.path_of(path))


def versions(
    plan: Plan,
    known: Mapping[str, Topic],
    as_of: float,
    body: Callable[[str], bytes] | None,
) -> dict[str, Topic]:
    """The feeds of ``plan`` whose inputs differ from what hubs were told of,
    by URL, each with the digest of its bytes (built by ``body``; "" without)."""
    found = {}
    for path in feeds_of(plan):
        url, key = topic_url(plan, path), plan.key(path)
        last = known.get(url)
        if last is None or last.key != key:
            found[url] = Topic(key, digest(body(path)) if body else "", as_of)
    return found


def announce(state: State, hub: str, found: Mapping[str, Topic], now: float) -> list[str]:
    """Queue a ping for each feed of ``found`` whose bytes are new to the
    state; the URLs this caller queued (none that another process did)."""
    return [url for url, topic in found.items() if state.claim(url, topic, hub, now)]


def ping(hub: str, topic: str, timeout: float = TIMEOUT) -> tuple[str | None, bool]:
    """Tell ``hub`` that ``topic`` changed, within ``timeout`` seconds in all
    (:mod:`feeds.publish.exchange`): (None, True) when it took it, else (why not,
    whether the hub answered at all)."""
    topic = urls.uri(topic)  # as the feed's Link header names it
    form = urllib.parse.urlencode(
        [("hub.mode", "publish"), ("hub.url", topic), ("hub.topic", topic)]
    ).encode()
    try:
        answer = exchange.request(
            "POST",
            urls.uri(hub),
            {
                "Content-Type": "application/x-www-form-urlencoded",
                "User-Agent": f"feeds/{version()} (WebSub publisher)",
            },
            form,
            timeout,
        )
    except exchange.ExchangeError as e:  # refused, reset, cut at the deadline, a bad URL
        return str(e), False
    if not 200 <= answer.status < 300:
        return f"HTTP {answer.status} {answer.reason}", True
    return None, True


def next_try(attempts: int, now: float, backoff: float, most: float = MAX_WAIT) -> float:
    """When a notice that has failed ``attempts`` times is tried again:
    ``backoff`` seconds after the first failure, twice as long after each
    further one, but never more than ``most``."""
    return now + min(backoff * 2.0 ** min(attempts - 1, 64), most)


#: How many pings are sent at once.
AT_ONCE = 8


def deliver(
    state: State,
    wall: Callable[[], float],
    backoff: float = BACKOFF,
    timeout: float = TIMEOUT,
    send: Callable[[str, str, float], tuple[str | None, bool]] = ping,
    holder: str | None = None,
    lease: float = LEASE,
    log: logging.Logger = logger,
    within: float | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> list[Sent]:
    """Send every ping whose time has come, :data:`AT_ONCE` at a time, record
    each outcome, and log it to ``log``. A hub that does not answer is not
    tried again in this call: its other pings wait for their retry, so that a
    hub that is down costs one ``timeout``, not one per feed. ``holder`` and
    ``lease``: an app worker's (:mod:`feeds.publish.notify`), else this process's for
    :data:`LEASE` seconds. ``within``: the seconds this call may take in all,
    by ``clock``; each ping gets what is left of them, and those it has no
    time left for stay owed, due at once (for the background sender)."""
    sent: list[Sent] = []
    down: dict[str, str] = {}
    end = None if within is None else clock() + within
    with ThreadPoolExecutor(max_workers=AT_ONCE) as pool:
        while taken := state.take(wall(), lease, holder=holder):
            for start in range(0, len(taken), AT_ONCE):
                batch = taken[start : start + AT_ONCE]
                trying = [one for one in batch if one.hub not in down]
                left = timeout if end is None else min(timeout, end - clock())
                if trying and left <= 0:
                    state.release(taken[start:], wall())
                    return sent
                try:
                    answers = dict(
                        zip(
                            [one.id for one in trying],
                            pool.map(lambda one, left=left: send(one.hub, one.topic, left), trying),
                            strict=True,
                        )
                    )
                except RuntimeError:  # the process is exiting: its executors take no more
                    state.release(taken[start:], wall())  # owed still, another's at once
                    return sent
                for one in batch:
                    error, answered = answers.get(one.id, (down.get(one.hub), False))
                    if error is not None and not answered:
                        down.setdefault(one.hub, error)
                    sent.append(_record(state, one, error, wall(), backoff, log))
    return sent


def _record(
    state: State, one: Ping, error: str | None, now: float, backoff: float, log: logging.Logger
) -> Sent:
    if error is None:
        state.delivered(one, now)
        log.info("pinged %s: %s changed", one.hub, one.topic)
        return Sent(one.hub, one.topic)
    retry = next_try(one.attempts + 1, now, backoff)
    state.failed(one, error, retry)
    log.warning(
        "could not ping %s for %s: %s; trying again in %.0f s",
        one.hub,
        one.topic,
        error,
        retry - now,
    )
    return Sent(one.hub, one.topic, error, retry)


def log_path(database: str, environ: Mapping[str, str]) -> Path:
    """Where the background sender started by ``feeds build`` logs: beside
    the SQLite file, or for PostgreSQL in the folder of ``$FEEDS_STATE`` (this
    machine's), else in ``state/`` beside the content (``environ``: the
    environment, as the edge read it)."""
    file = sqlite_file(database)
    if file is None and environ.get("FEEDS_STATE"):
        file = Path(environ["FEEDS_STATE"])  # this machine's own state folder
    return (file.parent if file is not None else folder(environ)) / "pings.log"


#: The variable that hands the background sender its lock, held already.
LOCK_FD = "FEEDS_SENDER_LOCK_FD"


def _file_lock(database: str, environ: Mapping[str, str]) -> int | None:
    """The background sender's lock beside the state database (``pings.lock``),
    taken without waiting: its descriptor, or None when a sender holds it."""
    path = log_path(database, environ).with_name("pings.lock")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    return fd


def _lock(state: State, environ: Mapping[str, str]) -> Callable[[], None] | None:
    """The background sender's lock for ``state``, taken without waiting: a
    function that lets go of it, or None when a sender holds it. On
    PostgreSQL, an advisory lock in the database (one sender per database,
    whichever machine runs it); on SQLite, ``pings.lock`` beside the file."""
    if state.shared:
        return state.hold(SENDER_LOCK)
    fd = _file_lock(state.url, environ)
    return None if fd is None else lambda: os.close(fd)


def send_in_background(state: State, environ: Mapping[str, str]) -> Path | None:
    """Start ``python -m feeds.publish.websub`` apart from this process (it outlives
    it), logging to :func:`log_path`, unless one runs already for this state
    database: it sends what is owed now too. Where it logs; None when the
    one at work may be another machine's (PostgreSQL), logging there.
    ``environ``: this process's environment, the sender's with the database
    named in it."""
    log = log_path(state.url, environ)
    log.parent.mkdir(parents=True, exist_ok=True)
    handed: tuple[int, ...] = ()
    if state.shared:
        # A session's lock cannot be handed over: the sender takes it itself
        # (of two builds that find it free at once, one sender keeps it and
        # the other ends at once).
        release = state.hold(SENDER_LOCK)
        if release is None:
            return None
        release()
    else:
        lock = _file_lock(state.url, environ)
        if lock is None:
            return log
        handed = (lock,)
    # Spawned, not a Popen: the sender outlives this process and is never
    # waited for, and a Popen dropped while its child runs warns
    # (ResourceWarning) in a process that goes on, as a test's does.
    devnull = os.open(os.devnull, os.O_RDONLY)
    try:
        for fd in handed:
            os.set_inheritable(fd, True)  # the lock file is the sender's from its start
        with log.open("ab") as out:
            pid = os.posix_spawn(
                sys.executable,
                [sys.executable, "-m", "feeds.publish.websub"],
                {**environ, **({LOCK_FD: str(handed[0])} if handed else {}), **_naming(state.url)},
                file_actions=[
                    (os.POSIX_SPAWN_DUP2, devnull, 0),
                    (os.POSIX_SPAWN_DUP2, out.fileno(), 1),
                    (os.POSIX_SPAWN_DUP2, out.fileno(), 2),
                ],
                setsid=True,
            )
            out.write(f"{time.strftime('%Y-%m-%d %H:%M:%S')} {pid} INFO started\n".encode())
    finally:
        os.close(devnull)
        for fd in handed:
            os.close(fd)
    return log


def _naming(database: str) -> dict[str, str]:
    """The environment that names ``database`` to the sender, wherever it runs."""
    file = sqlite_file(database)
    if file is None:
        return {"FEEDS_DATABASE_URL": database}
    return {"FEEDS_STATE": str(file), "FEEDS_DATABASE_URL": ""}


def run(
    state: State,
    wall: Callable[[], float],
    sleep: Callable[[float], object],
    backoff: float = BACKOFF,
) -> None:
    """Deliver the queued pings, waiting between tries, until none is left."""
    while (due := state.next_try()) is not None:
        sleep(min(max(due - wall(), 0.0), MAX_WAIT))
        deliver(state, wall, backoff)


def sender(
    state: State,
    wall: Callable[[], float],
    sleep: Callable[[float], object],
    environ: MutableMapping[str, str],
) -> None:
    """The background sender: one per state database, holding its lock while
    it sends. It lets go before its last look, so that a build that owed a
    ping after that look finds the lock free and starts another. ``environ``:
    its environment, from which it takes the lock it was handed."""
    handed = environ.pop(LOCK_FD, "")
    release = (lambda: os.close(int(handed))) if handed else _lock(state, environ)
    if release is not None:
        logger.info("the one sender for %s", state.where)
    while release is not None:
        try:
            run(state, wall, sleep, backoff(environ.get("FEEDS_PING_BACKOFF")))
        finally:
            release()
        if state.next_try() is None:
            return
        release = _lock(state, environ)
    logger.info("another sender is at work for %s", state.where)


def sent_lines(sent: Iterable[Sent], base_url: str) -> list[str]:
    """What ``feeds build`` prints of the pings it sent: one line a feed."""
    lines = []
    for one in sent:
        where = one.topic.removeprefix(base_url.rstrip("/")) or one.topic
        if one.error is None:
            lines.append(f"pinged {one.hub} for {where}")
        else:
            lines.append(f"could not ping {one.hub} for {where}: {one.error} (will retry)")
    return lines


def main() -> int:
    """The background sender's process (``python -m feeds.publish.websub``):
    like the command and the app, an edge, which reads its environment."""
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(process)d %(levelname)s %(message)s"
    )
    try:
        state = State(default_url(os.environ))
        logger.info("sending the pings queued in %s", state.where)
        try:
            sender(state, time.time, time.sleep, os.environ)
            logger.info("no ping is left to send")
        finally:
            state.close()
    except StateError as e:
        logger.error("%s", e)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
