"""Telling others of each change the workers serve, as :mod:`feeds.publish.notify`
decides: the WebSub hub of each feed that changed, the CDN of what to purge,
the partners of each change of what they see (the stream and its webhooks).

Every worker hears of each snapshot it starts serving (new content, an edit,
a scheduled article whose time came). Three threads of its own, never a
request, then do the rest. One beats: every :data:`feeds.publish.notify.HEARTBEAT`
seconds it records in the state database which version this worker serves
(a load, however long, never holds it up). Another records what a change
owes, if no other worker did first, and sends the purges owed; the third
sends the pings owed, so that a slow hub never holds a purge (each send has
one deadline, :mod:`feeds.publish.exchange`). Both send once every live worker
serves the version, and retry what a hub or the CDN refused, until it is
taken. A fourth sends the webhooks owed (:mod:`feeds.publish.webhooks`), each
partner in a thread of its own. A graceful stop removes the worker's
heartbeat, so that it is not waited for.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import time
import weakref
from collections.abc import Callable

from feeds.publish import cdn, notify, webhooks, websub
from feeds.state.database import State
from feeds.state.store import StateError
from webapp.reload import Snapshot

#: Seconds between looks for notices owed, when nothing is expected sooner.
POLL = 30.0


class Pusher:
    def __init__(
        self,
        state: Callable[[], State],
        wall: Callable[[], float],
        logger: logging.Logger,
        backoff: float = websub.BACKOFF,
        purge_url: str | None = None,
        serving_here: Callable[[], bool] = lambda: True,
        partners: Callable[[], bool] = lambda: False,
        webhook_backoff: float = webhooks.BACKOFF,
    ) -> None:
        #: The state database, opened on first use: only a site with a hub
        #: or a CDN needs it.
        self.state = state
        self.wall = wall
        self.logger = logger
        self.backoff = backoff
        #: The CDN to purge on every change (``cdn/varnish.vcl``), if any.
        self.purge_url = purge_url
        #: Does this process serve requests? Only then is it a worker that
        #: counts (a server's master loads the site and serves nothing).
        self.serving_here = serving_here
        #: Does the site have a state database, to tell partners of changes in?
        #: (Asked at each change: ``feeds partner add`` may make it meanwhile.)
        self.partners = partners
        self.webhook_backoff = webhook_backoff
        self._sender: webhooks.Sender | None = None
        self._wake_webhooks = threading.Event()
        #: This worker's name in the state database (new in each process).
        self.worker = ""
        #: The version this worker serves, once the notifier has looked at it.
        self.serving: notify.Version | None = None
        self._hub: str | None = None
        self._pending: Snapshot | None = None
        self._wake = threading.Event()
        self._wake_pings = threading.Event()
        self._starting = threading.Lock()
        self._running = 0  # the process whose threads run

    def published(self, snapshot: Snapshot) -> None:
        """Hear of a snapshot now served; returns at once."""
        served = snapshot.served
        if served is None or not (
            served.plan.content.site.hub or self.purge_url or self.partners()
        ):
            return
        self._pending = snapshot
        if not self.serving_here():
            # A server's master (gunicorn --preload) loads the app and then
            # forks its workers: a thread started here would be forked in the
            # middle of whatever it holds (SQLite's locks, a connection) and
            # hang the workers. Each worker starts its own as it starts serving.
            return
        self._start()
        self._wake.set()

    def _start(self) -> None:
        if self._running == os.getpid():
            return
        with self._starting:
            if self._running != os.getpid():
                self._running = os.getpid()
                # A new process (a server forks its workers): a worker of its own.
                self.worker, self.serving = notify.worker_id(), None
                me = weakref.ref(self)
                threads: list[tuple[Callable[..., None], str, tuple[object, ...]]] = [
                    (_run, "feeds-notify", (me, "work", "_wake")),
                    (_run, "feeds-ping", (me, "work_pings", "_wake_pings")),
                    (_beat, "feeds-heartbeat", (me,)),
                ]
                self._sender = webhooks.Sender(
                    self.state, self.worker, self.wall, self.webhook_backoff
                )
                threads.append((_run, "feeds-webhooks", (me, "work_webhooks", "_wake_webhooks")))
                for target, name, args in threads:
                    threading.Thread(target=target, args=args, daemon=True, name=name).start()
                atexit.register(_stop, me, os.getpid())

    def beat(self) -> None:
        """Record, once more, which version this worker serves."""
        if self.serving is not None and self.serving_here():
            notify.beat(self.state(), self.worker, self.serving, self.wall())

    def work(self) -> float:
        """Record the newest snapshot's change, if any, and send the purges
        owed; the seconds until there may be more to do. The pings are the
        other thread's (:meth:`work_pings`): a slow hub never holds a purge."""
        snapshot, self._pending = self._pending, None
        try:
            state = self.state()
            if snapshot is not None and snapshot.served is not None:
                self._record(state, snapshot)
            self._wake_pings.set()  # owed now, or behind the purges tried below
            sent = notify.send_purges(state, self.worker, self.wall, log=self.logger)
            if sent:
                self._wake_pings.set()
            due = state.next_try("purge", self._site())
        except StateError as e:
            self.logger.error("CDN: %s; trying again in %.0f s", e, notify.HEARTBEAT)
            if snapshot is not None and self._pending is None:
                self._pending = snapshot  # not lost: recorded on the next try
            return notify.HEARTBEAT
        return self._until(due)

    def work_pings(self) -> float:
        """Send the pings owed; the seconds until there may be more to do."""
        try:
            state = self.state()
            notify.send_pings(state, self.worker, self.wall, self.backoff)
            due = state.next_try("ping", self._site())
        except StateError as e:
            self.logger.error("WebSub: %s; trying again in %.0f s", e, notify.HEARTBEAT)
            return notify.HEARTBEAT
        return self._until(due)

    def work_webhooks(self) -> float:
        """Start sending the webhooks owed; the seconds until there may be more
        to do (other workers record changes too: looked for every heartbeat)."""
        if self._sender is None or not self.partners():
            return notify.HEARTBEAT
        try:
            due = self._sender.work()
        except StateError as e:
            self.logger.error("webhooks: %s; trying again in %.0f s", e, notify.HEARTBEAT)
            return notify.HEARTBEAT
        return min(self._until(due), notify.HEARTBEAT)

    def _site(self) -> str | None:
        return self.serving.plan.content.site.base_url if self.serving else None

    def _until(self, due: float | None) -> float:
        if due is None:
            return POLL
        # Owed, perhaps waiting for a worker: the last one to serve the
        # version sends at once; looking again each heartbeat covers the
        # worker that died and the lease that ran out.
        return min(max(due - self.wall(), notify.HEARTBEAT), POLL)

    def _record(self, state: State, snapshot: Snapshot) -> None:
        served = snapshot.served
        assert served is not None
        site = served.plan.content.site
        new = notify.Version(
            served.plan,
            cdn.image_stamps(served.root, served.plan),
            snapshot.last_modified.timestamp(),
        )
        old = self.serving
        if self.serving_here():  # a fact now: said before anything is owed for it
            notify.beat(state, self.worker, new, self.wall())
        self.serving = new

        def body(path: str) -> bytes:
            resource = served.file(path)
            assert resource is not None
            return resource.data

        try:
            recorded = notify.record(
                state, old, new, site.hub, self.purge_url, body, self.wall(), self.partners()
            )
        except StateError:
            self.serving = old  # recorded on the next try, against the same old
            raise
        if recorded.told:
            self._wake_webhooks.set()
            self.logger.info("partners: %d changes appended to the stream", len(recorded.told))
        if recorded.pinged:
            self.logger.info(
                "WebSub: %d feeds changed, pinging %s once every worker serves them",
                len(recorded.pinged),
                site.hub,
            )

    def stop(self) -> None:
        """This worker serves no more: it is not waited for, and what it was
        sending is another's to send."""
        if self.worker:
            try:
                self.state().gone(self.worker, self.wall())
            except StateError as e:
                self.logger.error("WebSub and CDN: %s", e)


#: Seconds between looks at the wake-up event while waiting.
TICK = 0.1


def _wait(wake: threading.Event | None, seconds: float) -> None:
    """Wait until ``wake`` is set or ``seconds`` have passed. In short sleeps,
    not ``Event.wait(timeout)``: that one waits on a deadline of the monotonic
    clock, which libfaketime (a run of the tests dated years ahead) moves for
    the reading but not for the wait, so it would never end."""
    deadline = time.monotonic() + seconds
    while not (wake is not None and wake.is_set()) and time.monotonic() < deadline:
        time.sleep(min(TICK, max(deadline - time.monotonic(), 0.0)))


def _run(pusher: weakref.ref[Pusher], work: str, event: str) -> None:
    """A notifier's thread, doing ``work`` when woken by ``event`` or when
    it said: ends when its app is gone."""
    wait = 0.0
    while True:
        live = pusher()
        if live is None:
            return
        wake = getattr(live, event)
        del live
        _wait(wake, wait)
        wake.clear()
        live = pusher()
        if live is None:
            return
        try:
            wait = getattr(live, work)()
        except Exception:  # never let the thread die: log, and go on
            live.logger.exception("WebSub and CDN notifier failed")
            wait = notify.HEARTBEAT
        del live


def _beat(pusher: weakref.ref[Pusher]) -> None:
    """The heartbeat's thread: ends when its app is gone."""
    while True:
        _wait(None, notify.HEARTBEAT)
        live = pusher()
        if live is None:
            return
        try:
            live.beat()
        except StateError as e:
            live.logger.error("heartbeat: %s", e)
        except Exception:  # never let the thread die
            live.logger.exception("heartbeat failed")
        del live


def _stop(pusher: weakref.ref[Pusher], pid: int) -> None:
    """At exit of the worker that started the threads (not of a fork of it)."""
    live = pusher()
    if live is not None and os.getpid() == pid:
        live.stop()
