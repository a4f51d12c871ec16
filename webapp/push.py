"""Telling others of each change a worker serves: the WebSub hub of each
feed that changed, and the CDN in front of the app of what to purge.

Every worker hears of each snapshot it starts serving (new content, an edit,
a scheduled article whose time came). A thread of its own, never a request,
then works out what changed and claims it in the state database: however
many workers serve the same change, one queues each ping (:mod:`feeds.websub`)
and one purges the CDN (:mod:`feeds.cdn`). The same thread sends the pings
and retries those a hub refused.

A purge is sent twice: at once, so that a correction reaches the edge within
a second, and again once every worker must be serving the change, since the
CDN may have fetched a file anew from a worker that had not reloaded yet.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import weakref
from collections.abc import Callable

from feeds import cdn, headers, websub
from feeds.plan import Plan
from feeds.state import State, StateError
from webapp.reload import Snapshot

#: Seconds between looks for pings to retry (other workers' too).
POLL = 30.0
#: Tries of a purge the CDN did not take, a settling time apart.
PURGE_TRIES = 5
#: Seconds between the second purge of a change and its pings: a hub fetches
#: the feed through the CDN, which must not hold a stale copy by then.
PING_AFTER_PURGE = 0.5


class Pusher:
    def __init__(
        self,
        state: Callable[[], State],
        wall: Callable[[], float],
        logger: logging.Logger,
        backoff: float = websub.BACKOFF,
        settle: Callable[[], float] = lambda: 0.0,
        purge_url: str | None = None,
    ) -> None:
        #: The state database, opened on first use: only a site with a hub needs it.
        self.state = state
        self.wall = wall
        self.logger = logger
        self.backoff = backoff
        #: Seconds to wait before a ping: the hub fetches the feed at once,
        #: perhaps from another worker, which must be serving the change too.
        self.settle = settle
        #: The CDN to purge on every change (``cdn/varnish.vcl``), if any.
        self.purge_url = purge_url
        #: What this worker served last, with its images' stamps.
        self._served: tuple[Plan, dict[str, cdn.Stamp]] | None = None
        #: Keys to purge again: when, which, and how many tries are left.
        self._again: tuple[float, tuple[str, ...], int] | None = None
        self._pending: Snapshot | None = None
        self._wake = threading.Event()
        self._starting = threading.Lock()
        self._running = 0  # the process whose thread runs

    def published(self, snapshot: Snapshot) -> None:
        """Hear of a snapshot now served; returns at once."""
        served = snapshot.served
        if served is None or not (served.plan.content.site.hub or self.purge_url):
            return
        self._pending = snapshot
        self._start()
        self._wake.set()

    def _start(self) -> None:
        if self._running == os.getpid():
            return
        with self._starting:
            if self._running != os.getpid():
                self._running = os.getpid()
                thread = threading.Thread(
                    target=_run, args=(weakref.ref(self),), daemon=True, name="feeds-websub"
                )
                thread.start()

    def work(self) -> float:
        """Announce the newest snapshot, if any, and send what is due; the
        seconds until there may be more to do."""
        snapshot, self._pending = self._pending, None
        try:
            state = self.state()
            if snapshot is not None and snapshot.served is not None:
                if snapshot.served.plan.content.site.hub:
                    self._announce(state, snapshot)
                if self.purge_url:
                    self._claim_purge(state, snapshot)
            self._purge_due()
            websub.deliver(state, self.wall, self.backoff)
            due = state.next_try()
        except StateError as e:
            self.logger.error("WebSub and CDN: %s; trying again in %.0f s", e, POLL)
            if snapshot is not None and self._pending is None:
                self._pending = snapshot  # not lost: announced on the next try
            return POLL
        wait = POLL if due is None else min(max(due - self.wall(), 0.1), POLL)
        if self._again is not None:
            wait = min(wait, max(self._again[0] - self.wall(), 0.05))
        return wait

    def _purge_due(self) -> None:
        """Send the purge waiting for its time, if it has come."""
        if self._again is not None and self._again[0] <= self.wall():
            _, keys, tries = self._again
            self._again = None
            self._purge(keys, tries)

    def _claim_purge(self, state: State, snapshot: Snapshot) -> None:
        """Purge the CDN of what changed since this worker's last version,
        if no other worker has for this version; a first start (nothing to
        compare with) purges the whole site."""
        served = snapshot.served
        assert served is not None
        plan, images = served.plan, cdn.image_stamps(served.root, served.plan)
        version = cdn.fingerprint(plan, images)
        claimed = state.claim_purge(  # may raise: then tried again, with the same old
            plan.content.site.base_url, version, snapshot.last_modified.timestamp()
        )
        old, self._served = self._served, (plan, images)
        if not claimed:
            return
        if old is None:
            keys: tuple[str, ...] = (headers.SITE_KEY,)
        else:
            keys = cdn.changed_keys(old[0], plan, old[1], images)
        if keys:
            self._purge(keys, PURGE_TRIES)

    def _purge(self, keys: tuple[str, ...], tries: int) -> None:
        """Purge ``keys`` now, and again once every worker must serve the change
        (or, when the CDN did not take it, once more after that time)."""
        assert self.purge_url is not None
        try:
            cdn.purge(self.purge_url, keys)
        except cdn.PurgeError as e:
            if tries > 1:
                self.logger.error("CDN: %s; trying again", e)
                self._later(keys, max(self.settle(), 1.0), tries - 1)
            else:
                self.logger.error("CDN: %s; given up", e)
            return
        count = f"{len(keys)} key" + ("s" if len(keys) != 1 else "")
        if tries == PURGE_TRIES:  # the first purge of a change: once more, later
            self.logger.info("CDN: purged %s at %s", count, self.purge_url)
            self._later(keys, self.settle(), tries - 1)
        else:
            self.logger.info("CDN: purged %s again, every worker serving the change", count)

    def _later(self, keys: tuple[str, ...], seconds: float, tries: int) -> None:
        """Purge ``keys`` again in ``seconds``, with those still waiting."""
        when = self.wall() + seconds
        if self._again is not None:
            earlier, waiting, left = self._again
            when, keys, tries = (
                max(when, earlier),
                tuple(sorted({*waiting, *keys})),
                max(tries, left),
            )
        self._again = (when, keys, tries)

    def _announce(self, state: State, snapshot: Snapshot) -> None:
        served = snapshot.served
        assert served is not None
        site = served.plan.content.site
        assert site.hub is not None
        known = state.topics(site.base_url)
        as_of = snapshot.last_modified.timestamp()
        if not known:
            # A first start: nobody was told of any version, nothing to tell
            # of; what is served now is what later versions are compared with.
            state.remember(websub.versions(served.plan, known, as_of, None))
            return

        def body(path: str) -> bytes:
            resource = served.file(path)
            assert resource is not None
            return resource.data

        found = websub.versions(served.plan, known, as_of, body)
        lead = PING_AFTER_PURGE if self.purge_url else 0.0
        queued = websub.announce(state, site.hub, found, self.wall() + self.settle() + lead)
        if queued:
            self.logger.info("WebSub: %d feeds changed, pinging %s", len(queued), site.hub)


#: Seconds between looks at the wake-up event while waiting.
TICK = 0.1


def _wait(wake: threading.Event, seconds: float) -> None:
    """Wait until ``wake`` is set or ``seconds`` have passed. In short sleeps,
    not ``Event.wait(timeout)``: that one waits on a deadline of the monotonic
    clock, which libfaketime (a run of the tests dated years ahead) moves for
    the reading but not for the wait, so it would never end."""
    deadline = time.monotonic() + seconds
    while not wake.is_set() and time.monotonic() < deadline:
        time.sleep(min(TICK, max(deadline - time.monotonic(), 0.0)))


def _run(pusher: weakref.ref[Pusher]) -> None:
    """The pusher's thread: ends when its app is gone."""
    wait = 0.0
    while True:
        live = pusher()
        if live is None:
            return
        wake = live._wake
        del live
        _wait(wake, wait)
        wake.clear()
        live = pusher()
        if live is None:
            return
        try:
            wait = live.work()
        except Exception:  # never let the thread die: log, and go on
            live.logger.exception("WebSub pusher failed")
            wait = POLL
        del live
