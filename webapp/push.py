"""The app's WebSub publisher: tells the hub of each feed a worker serves anew.

Every worker hears of each snapshot it starts serving (new content, an edit,
a scheduled article whose time came). A thread of its own, never a request,
then works out which feeds changed and lets :mod:`feeds.websub` claim them in
the state database: however many workers serve the same change, one queues
each ping. The same thread sends the pings and retries those a hub refused.
"""

from __future__ import annotations

import logging
import os
import threading
import weakref
from collections.abc import Callable

from feeds import websub
from feeds.state import State, StateError
from webapp.reload import Snapshot

#: Seconds between looks for pings to retry (other workers' too).
POLL = 30.0


class Pusher:
    def __init__(
        self,
        state: Callable[[], State],
        wall: Callable[[], float],
        logger: logging.Logger,
        backoff: float = websub.BACKOFF,
        settle: Callable[[], float] = lambda: 0.0,
    ) -> None:
        #: The state database, opened on first use: only a site with a hub needs it.
        self.state = state
        self.wall = wall
        self.logger = logger
        self.backoff = backoff
        #: Seconds to wait before a ping: the hub fetches the feed at once,
        #: perhaps from another worker, which must be serving the change too.
        self.settle = settle
        self._pending: Snapshot | None = None
        self._wake = threading.Event()
        self._starting = threading.Lock()
        self._running = 0  # the process whose thread runs

    def published(self, snapshot: Snapshot) -> None:
        """Hear of a snapshot now served; returns at once."""
        served = snapshot.served
        if served is None or not served.plan.content.site.hub:
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
            if snapshot is not None:
                self._announce(state, snapshot)
            websub.deliver(state, self.wall, self.backoff)
            due = state.next_try()
        except StateError as e:
            self.logger.error("WebSub: %s; trying again in %.0f s", e, POLL)
            if snapshot is not None and self._pending is None:
                self._pending = snapshot  # not lost: announced on the next try
            return POLL
        return POLL if due is None else min(max(due - self.wall(), 0.1), POLL)

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
        queued = websub.announce(state, site.hub, found, self.wall() + self.settle())
        if queued:
            self.logger.info("WebSub: %d feeds changed, pinging %s", len(queued), site.hub)


def _run(pusher: weakref.ref[Pusher]) -> None:
    """The pusher's thread: ends when its app is gone."""
    wait = 0.0
    while True:
        live = pusher()
        if live is None:
            return
        wake = live._wake
        del live
        wake.wait(wait)
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
