"""What changed, and who must be told: the one module that decides it.

Who: the WebSub hub, of each public feed whose bytes changed
(:mod:`feeds.publish.websub` sends the pings), the CDN in front of the app, of the
surrogate keys of what changed (:mod:`feeds.publish.cdn` sends the purges), and the
partners, of each article whose standing for them changed: the change stream
and the webhooks (:mod:`feeds.publish.stream`, :mod:`feeds.publish.webhooks`), told at once,
by the first worker to serve the change or by the build.

When: what ``feeds build`` and ``feeds deploy`` tell is owed at once, since
their export is in place when they decide. What the app tells is owed once
every live worker serves the change: each worker records in the state database
which content version it serves (its heartbeat, every :data:`HEARTBEAT`
seconds), and a notice owed for a version is sent by whichever live worker
finds that every live worker of the site serves it or a newer one. A worker
not heard from for :data:`DEAD_AFTER` seconds is dead and counts for nothing.

Exactly once: the first worker to serve a change records it, with what it
owes, in one transaction (:meth:`feeds.state.database.State.record_change`); the others
find it recorded. A sender leases each notice; its heartbeat renews the lease,
so when it dies another worker takes the notice over within
:data:`DEAD_AFTER` seconds. A purge is owed twice: at once, so that the edge
drops a correction or a withdrawal within a second, and again when every
worker serves the change, since the edge may meanwhile have fetched the old
bytes anew from a worker that had not loaded it. A ping waits for the second
purge to be tried (a hub may fetch the feed through the CDN).
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from feeds.model import Article, Content
from feeds.outputs import headers
from feeds.outputs.plan import Plan
from feeds.publish import cdn, websub
from feeds.state.database import State
from feeds.state.notices import DEAD_AFTER
from feeds.state.rows import Gate, Ping, Topic, Worker

#: Seconds between a worker's heartbeats.
HEARTBEAT = 1.0
#: Seconds a worker holds a notice it sends without a heartbeat: each
#: heartbeat renews it, so only a dead worker's lease runs out. (A worker
#: not heard from for :data:`DEAD_AFTER` seconds is dead.)
LEASE = DEAD_AFTER

#: Seconds before a failed purge is tried again; each further try waits twice
#: as long, but never more than :data:`PURGE_MAX_WAIT`: a purge is never given
#: up, so a CDN that was down gets every key still owed within that long of
#: answering again (at once, when another purge to it succeeds first).
PURGE_BACKOFF = 1.0
PURGE_MAX_WAIT = 60.0

logger = logging.getLogger("feeds.notify")


def worker_id() -> str:
    """A name for this worker, new at each start: ``host:pid:random``."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"


@dataclass(frozen=True)
class Version:
    """A version of the site as one worker serves it."""

    #: The public outputs, with what each is built from.
    plan: Plan
    #: Its public images, each with its stamp (:func:`feeds.publish.cdn.image_stamps`).
    images: Mapping[str, cdn.Stamp]
    #: Its ``Last-Modified``, in seconds: versions are ordered by it.
    as_of: float

    @property
    def gate(self) -> Gate:
        """The version as the state database knows it."""
        return Gate(
            self.plan.content.site.base_url, cdn.fingerprint(self.plan, self.images), self.as_of
        )


@dataclass(frozen=True)
class Recorded:
    """What one worker recorded of a change (nothing when another did first)."""

    #: The feeds whose pings it owes.
    pinged: tuple[str, ...]
    #: The keys whose purge it owes (twice: see the module's docstring).
    purged: tuple[str, ...]
    #: The changes it appended to the partners' stream.
    told: tuple[int, ...] = ()


def purge_keys(old: Version | None, new: Version) -> tuple[str, ...]:
    """The CDN's keys to purge when ``new`` replaces ``old``; a first start
    (nothing to compare with) purges the whole site."""
    if old is None:
        return (headers.SITE_KEY,)
    return cdn.changed_keys(old.plan, new.plan, old.images, new.images)


def record(
    state: State,
    old: Version | None,
    new: Version,
    hub: str | None,
    purge_url: str | None,
    body: Callable[[str], bytes],
    now: float,
    partners: bool = False,
) -> Recorded:
    """Decide what changed from ``old`` (what this worker served before) to
    ``new``, and who must be told, and owe it in the state database for when
    every live worker serves ``new``, unless another worker did already.
    ``body`` gives a feed's bytes (built only for feeds whose inputs moved).
    ``partners``: tell them too (:func:`tell_partners`)."""
    told = tell_partners(state, old, new, now) if partners else ()
    gate = new.gate
    found: dict[str, Topic] = {}
    if hub is not None:
        known = state.topics(gate.site)
        if not known:
            # A first start: nobody was told of any version, nothing to tell
            # of; what is served now is what later versions are compared with.
            state.remember(websub.versions(new.plan, known, new.as_of, None))
        else:
            found = websub.versions(new.plan, known, new.as_of, body)
    keys = purge_keys(old, new) if purge_url is not None else ()
    pinged, claimed = state.record_change(
        gate, found, hub, (purge_url, keys) if purge_url is not None else None, now
    )
    return Recorded(tuple(pinged), keys if claimed else (), told)


def tell_partners(state: State, old: Version | None, new: Version, now: float) -> tuple[int, ...]:
    """Append to the partners' stream what changed for them in ``new``
    (judged at its plan's moment), and owe its webhooks; the sequence
    numbers appended (none when another worker did first). Only what moved
    since ``old``, which this worker told of, is judged."""
    from feeds.publish import stream

    plan = new.plan
    if old is None:  # a first start: every article is judged
        return tuple(stream.record(state, plan.content, plan.now, new.as_of, now))
    previous = {a.id: a for a in old.plan.content.articles}
    return tuple(
        stream.record(state, plan.content, plan.now, new.as_of, now, previous, old.plan.now)
    )


def record_build_changes(
    state: State,
    content: Content,
    at: datetime,
    now: float,
    previous: Mapping[str, Article] | None = None,
    before: datetime | None = None,
) -> list[int]:
    """What ``feeds build`` tells partners of: as :func:`tell_partners`, for
    the content it built at ``at``; with ``previous`` and ``before`` (a fast
    build's: :class:`feeds.publish.report.Report`), only what moved since."""
    from feeds.publish import stream

    return stream.record(state, content, at, at.timestamp(), now, previous, before)


def record_build(
    state: State,
    hub: str,
    feeds: Sequence[tuple[str, str, str]],
    as_of: float,
    now: float,
    deployed: bool = False,
) -> list[str]:
    """Owe, at once, a ping for each feed of ``feeds`` ((URL, key, digest),
    what a build wrote) whose bytes differ from what the hub was told of;
    ``deployed``: the feeds have just reached the bucket subscribers read,
    and each is news to them even if a build told the hub of the same bytes.
    The feeds whose pings this caller owes."""
    base = "/".join(feeds[0][0].split("/", 3)[:3]) if feeds else ""
    known = state.topics(base)
    found = {
        url: Topic(key, sha, as_of)
        for url, key, sha in feeds
        if deployed or url not in known or known[url].digest != sha
    }
    if deployed:
        for url, topic in found.items():
            state.queue(url, topic, hub, now)
        return list(found)
    return [url for url, topic in found.items() if state.claim(url, topic, hub, now)]


def beat(state: State, worker: str, version: Version, now: float) -> None:
    """Record that ``worker`` serves ``version`` as of ``now``, and renew the
    leases of what it is sending."""
    gate = version.gate
    state.heartbeat(Worker(worker, gate.site, gate.version, gate.as_of, now), LEASE)


def send_purges(
    state: State,
    worker: str,
    wall: Callable[[], float],
    backoff: float = PURGE_BACKOFF,
    purge: Callable[[str, Sequence[str]], object] = cdn.purge,
    log: logging.Logger = logger,
) -> list[websub.Sent]:
    """Send every purge owed now, leased to ``worker``, record each outcome,
    and log it to ``log``."""
    sent = []
    while taken := state.take(wall(), LEASE, kind="purge", holder=worker):
        for one in taken:
            keys = one.topic.split()
            error = None
            try:
                purge(one.hub, keys)
            except cdn.PurgeError as e:
                error = str(e)
            sent.append(_purged(state, one, len(keys), error, wall(), backoff, log))
    return sent


def _purged(
    state: State,
    one: Ping,
    count: int,
    error: str | None,
    now: float,
    backoff: float,
    log: logging.Logger,
) -> websub.Sent:
    keys = f"{count} key" + ("s" if count != 1 else "")
    if error is None:
        state.delivered(one, now)
        if one.waited:
            log.info("CDN: purged %s again, every worker serving the change", keys)
        else:
            log.info("CDN: purged %s at %s", keys, one.hub)
        return websub.Sent(one.hub, one.topic)
    retry = websub.next_try(one.attempts + 1, now, backoff, PURGE_MAX_WAIT)
    state.failed(one, error, retry)
    log.error("CDN: %s; %s still owed, trying again in %.0f s", error, keys, retry - now)
    return websub.Sent(one.hub, one.topic, error, retry)


def send_pings(
    state: State,
    worker: str,
    wall: Callable[[], float],
    backoff: float = websub.BACKOFF,
    send: Callable[[str, str, float], tuple[str | None, bool]] = websub.ping,
) -> list[websub.Sent]:
    """Send every ping owed now, leased to ``worker``."""
    return websub.deliver(state, wall, backoff, send=send, holder=worker, lease=LEASE)
