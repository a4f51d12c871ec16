"""What hubs were told of, which version each app worker serves, and the
notices (pings, purges) still to send: :mod:`feeds.publish.notify`'s storage."""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping, Sequence

from sqlalchemy import exists, func, insert, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError
from sqlalchemy.sql.elements import ColumnElement

from feeds.state.rows import Gate, Ping, Topic, Worker
from feeds.state.schema import notices, purges, topics, workers
from feeds.state.store import StateError, Store, dialect_insert, take_lease

#: Seconds after its last heartbeat that an app worker counts as dead
#: (:mod:`feeds.publish.notify`, which beats every second).
DEAD_AFTER = 5.0


#: The advisory lock (PostgreSQL) held by the one background sender of
#: pings of a database (:mod:`feeds.publish.websub`).
SENDER_LOCK = 7256015


class Notices(Store):
    """What hubs were told of, the app workers, the notices still owed."""

    # -- what hubs were told of ----------------------------------------------------

    def topics(self, prefix: str) -> dict[str, Topic]:
        """What hubs were told of each feed whose URL starts with ``prefix``."""
        with self.read() as connection:
            rows = connection.execute(
                select(topics.c.url, topics.c.key, topics.c.digest, topics.c.as_of).where(
                    topics.c.url.startswith(prefix, autoescape=True)
                )
            )
            return {row[0]: Topic(row[1], row[2], row[3]) for row in rows}

    def remember(self, found: dict[str, Topic]) -> None:
        """Record feeds as told of without telling anyone: what a first start
        finds (nobody can have been told of a version before it)."""
        rows = [
            {"url": url, "key": t.key, "digest": t.digest, "as_of": t.as_of}
            for url, t in found.items()
        ]
        if not rows:
            return
        for batch in (rows, *([row] for row in rows)):  # one by one if another process came too
            try:
                with self.begin() as connection:
                    connection.execute(insert(topics), batch)
                if batch is rows:
                    return
            except StateError as e:
                if not isinstance(e.__cause__, IntegrityError):
                    raise

    def claim(self, url: str, topic: Topic, hub: str, now: float, gate: Gate | None = None) -> bool:
        """Record that feed ``url`` is now ``topic`` and, if its bytes are new,
        owe the ping that tells ``hub`` (once every live worker serves ``gate``,
        if given): in one transaction, so a crash loses neither. True for
        exactly one caller per new version, however many processes ask at
        once; False when it is known already or older than what is (a worker
        that has not reloaded yet)."""
        with self.begin() as connection:
            return _claim(connection, url, topic, hub, now, gate)

    def queue(self, url: str, topic: Topic, hub: str, now: float) -> None:
        """Record that feed ``url`` is now ``topic`` and queue a ping for it
        whatever was known: ``feeds deploy`` has just put these bytes where
        subscribers fetch them, so even a version told of before (by a build
        whose export the hub could not yet see) is news to them."""
        values = {"key": topic.key, "digest": topic.digest, "as_of": topic.as_of}
        with self.begin() as connection:
            moved = connection.execute(
                update(topics).where(topics.c.url == url).values(values)
            ).rowcount
            if not moved:
                connection.execute(insert(topics).values(url=url, **values))
            _owe(connection, "ping", hub, url, None, now)

    def claim_purge(self, site: str, version: str, as_of: float) -> bool:
        """Record that ``site`` is served at ``version`` now: True for exactly
        one caller per new version, however many workers ask at once (it
        owes the CDN's purge); False when it is known, or older than what is."""
        with self.begin() as connection:
            return _claim_version(connection, site, version, as_of)

    def record_change(
        self,
        gate: Gate,
        feeds: Mapping[str, Topic],
        hub: str | None,
        purge: tuple[str, Sequence[str]] | None,
        now: float,
    ) -> tuple[list[str], bool]:
        """In one transaction: claim each feed of ``feeds`` (:meth:`claim`),
        owing its ping to ``hub`` once every live worker serves ``gate``; and,
        with ``purge`` (the CDN's purge URL and the keys of what changed),
        claim the version itself and owe the purge twice: at once, and once
        every live worker serves it. The feeds this caller claimed, and
        whether it claimed the version."""
        with self.begin() as connection:
            pinged = [
                url
                for url, topic in feeds.items()
                if hub is not None and _claim(connection, url, topic, hub, now, gate)
            ]
            claimed = False
            if purge is not None:
                claimed = _claim_version(connection, gate.site, gate.version, gate.as_of)
                party, keys = purge
                if claimed and keys:
                    subject = " ".join(keys)
                    _owe(connection, "purge", party, subject, None, now)
                    _owe(connection, "purge", party, subject, gate, now)
            return pinged, claimed

    # -- app workers and what each serves --------------------------------------------

    def heartbeat(self, worker: Worker, lease: float) -> None:
        """Record that ``worker`` serves its version as of ``worker.seen``, and
        extend the leases of the notices it is sending to ``seen + lease``."""
        values = {
            "site": worker.site,
            "version": worker.version,
            "as_of": worker.as_of,
            "seen": worker.seen,
        }
        with self.begin() as connection:
            statement = dialect_insert(connection)(workers).values(id=worker.id, **values)
            connection.execute(
                statement.on_conflict_do_update(index_elements=[workers.c.id], set_=values)
            )
            connection.execute(
                update(notices)
                .where(notices.c.holder == worker.id, notices.c.done.is_(False))
                .values(next_try=worker.seen + lease)
            )

    def gone(self, worker: str, now: float) -> None:
        """``worker`` stops: it no longer counts, and what it was sending is
        another's to send at once."""
        with self.begin() as connection:
            connection.execute(workers.delete().where(workers.c.id == worker))
            connection.execute(
                update(notices)
                .where(notices.c.holder == worker, notices.c.done.is_(False))
                .values(holder=None, next_try=now)
            )

    def workers(self, site: str, now: float, dead_after: float = DEAD_AFTER) -> list[Worker]:
        """The live workers of ``site``: those heard from within ``dead_after``."""
        with self.read() as connection:
            rows = connection.execute(
                select(workers)
                .where(workers.c.site == site, workers.c.seen >= now - dead_after)
                .order_by(workers.c.id)
            ).all()
        return [Worker(*row) for row in rows]

    # -- notices still to send -------------------------------------------------------

    def take(
        self,
        now: float,
        lease: float,
        limit: int = 50,
        kind: str = "ping",
        holder: str | None = None,
        dead_after: float = DEAD_AFTER,
    ) -> list[Ping]:
        """The notices of ``kind`` whose time has come, leased to ``holder``
        (by default this process) until ``now + lease``: no other process
        sends them meanwhile. A notice owed once every live worker serves a
        version comes only when one live worker does and none serves an older
        one; a ping, moreover, only once the purge of its version was tried,
        since a hub may fetch the feed through the CDN."""
        holder = holder or f"{socket.gethostname()}:{os.getpid()}"
        live = workers.c.seen >= now - dead_after
        same = workers.c.site == notices.c.site
        # The same version is the same public bytes, whatever the moment a
        # worker dates it by (one started after a deletion dates it earlier).
        behind = select(workers.c.id).where(
            same,
            live,
            workers.c.as_of <= notices.c.as_of,
            workers.c.version != notices.c.version,
        )
        serving = select(workers.c.id).where(
            same,
            live,
            (workers.c.as_of > notices.c.as_of) | (workers.c.version == notices.c.version),
        )
        ready = notices.c.site.is_(None) | (~exists(behind) & exists(serving))
        if kind == "ping":
            purge = notices.alias("purge")
            untried = select(purge.c.id).where(
                purge.c.kind == "purge",
                purge.c.site == notices.c.site,
                purge.c.as_of <= notices.c.as_of,
                purge.c.done.is_(False),
                purge.c.attempts == 0,
            )
            ready = ready & (notices.c.site.is_(None) | ~exists(untried))
        with self.read() as connection:  # most looks find nothing: no write lock
            due = connection.execute(
                select(
                    notices.c.id,
                    notices.c.party,
                    notices.c.subject,
                    notices.c.attempts,
                    notices.c.next_try,
                    notices.c.site,
                )
                .where(
                    notices.c.kind == kind,
                    notices.c.done.is_(False),
                    notices.c.next_try <= now,
                    ready,
                )
                .order_by(notices.c.id)
                .limit(limit)
            ).all()
        if not due:
            return []
        with self.begin() as connection:
            taken = []
            for row in due:  # unless another process leased it meanwhile
                if take_lease(connection, notices, row[0], row[4], now + lease, holder):
                    taken.append(Ping(row[0], row[1], row[2], row[3], kind, row[5] is not None))
            return taken

    def next_try(self, kind: str = "ping", site: str | None = None) -> float | None:
        """When the next notice of ``kind`` owed at once is due (or its lease
        ends), and with ``site``, those owed once its workers serve a version;
        None when none is left."""
        owed: ColumnElement[bool] = notices.c.site.is_(None)
        if site is not None:
            owed = owed | (notices.c.site == site)
        with self.read() as connection:
            return connection.execute(
                select(func.min(notices.c.next_try)).where(
                    notices.c.kind == kind, notices.c.done.is_(False), owed
                )
            ).scalar()

    def owed(self) -> list[tuple[str, str, str, bool]]:
        """(kind, party, subject, whether it waits for the workers) of every
        notice not yet sent, oldest first."""
        with self.read() as connection:
            return [
                (row[0], row[1], row[2], row[3] is not None)
                for row in connection.execute(
                    select(notices.c.kind, notices.c.party, notices.c.subject, notices.c.site)
                    .where(notices.c.done.is_(False))
                    .order_by(notices.c.id)
                )
            ]

    def delivered(self, ping: Ping, now: float | None = None) -> None:
        """Record that ``ping`` was taken. With ``now``: the party answers
        again, so every notice to it waiting after a failure is due at once
        (a CDN back up gets every key still owed, not one an hour later)."""
        with self.begin() as connection:
            connection.execute(
                update(notices)
                .where(notices.c.id == ping.id)
                .values(done=True, attempts=ping.attempts + 1, error=None, holder=None)
            )
            if now is not None:
                connection.execute(
                    update(notices)
                    .where(
                        notices.c.kind == ping.kind,
                        notices.c.party == ping.hub,
                        notices.c.done.is_(False),
                        notices.c.holder.is_(None),
                        notices.c.attempts > 0,
                        notices.c.next_try > now,
                    )
                    .values(next_try=now)
                )

    def release(self, taken: Sequence[Ping], now: float) -> None:
        """Give back notices taken but not tried: due at once, for anyone."""
        with self.begin() as connection:
            connection.execute(
                update(notices)
                .where(notices.c.id.in_([one.id for one in taken]), notices.c.done.is_(False))
                .values(holder=None, next_try=now)
            )

    def failed(self, ping: Ping, error: str, next_try: float) -> None:
        """Record a failed try: the notice stays owed, tried again at
        ``next_try``, unless a newer change owes the same ping already (one
        ping tells of both)."""
        with self.begin() as connection:
            newer = exists(
                select(notices.c.id).where(
                    notices.c.kind == "ping",
                    notices.c.party == ping.hub,
                    notices.c.subject == ping.topic,
                    notices.c.done.is_(False),
                    notices.c.id > ping.id,
                )
            )
            replaced = ping.kind == "ping" and bool(connection.execute(select(newer)).scalar())
            connection.execute(
                update(notices)
                .where(notices.c.id == ping.id)
                .values(
                    attempts=ping.attempts + 1,
                    error="replaced by a newer change" if replaced else error,
                    next_try=next_try,
                    done=replaced,
                    holder=None,
                )
            )


def _claim(
    connection: Connection, url: str, topic: Topic, hub: str, now: float, gate: Gate | None
) -> bool:
    """:meth:`State.claim` within ``connection``'s transaction."""
    newer = (topics.c.url == url) & (topics.c.as_of < topic.as_of)
    values = {"key": topic.key, "digest": topic.digest, "as_of": topic.as_of}
    moved = connection.execute(
        update(topics).where(newer, topics.c.digest != topic.digest).values(values)
    ).rowcount
    if not moved:
        # The same bytes built from other inputs: remember the key.
        connection.execute(update(topics).where(newer).values(values))
        added = connection.execute(
            dialect_insert(connection)(topics)
            .values(url=url, **values)
            .on_conflict_do_nothing()
            .returning(topics.c.url)
        ).first()
        if added is None:  # known already, or another process recorded it first
            return False
    _owe(connection, "ping", hub, url, gate, now)
    return True


def _claim_version(connection: Connection, site: str, version: str, as_of: float) -> bool:
    """:meth:`State.claim_purge` within ``connection``'s transaction."""
    values = {"version": version, "as_of": as_of}
    moved = connection.execute(
        update(purges)
        .where(purges.c.site == site, purges.c.version != version, purges.c.as_of <= as_of)
        .values(values)
    ).rowcount
    if moved:
        return True
    added = connection.execute(
        dialect_insert(connection)(purges)
        .values(site=site, **values)
        .on_conflict_do_nothing()
        .returning(purges.c.site)
    ).first()
    return added is not None


def _owe(
    connection: Connection, kind: str, party: str, subject: str, gate: Gate | None, now: float
) -> None:
    """Owe a notice. A ping replaces one of the same feed to the same hub
    still waiting (nobody is sending it): one ping tells of both changes."""
    if kind == "ping":
        connection.execute(
            update(notices)
            .where(
                notices.c.kind == kind,
                notices.c.party == party,
                notices.c.subject == subject,
                notices.c.done.is_(False),
                notices.c.holder.is_(None),
            )
            .values(done=True, error="replaced by a newer change")
        )
    connection.execute(
        insert(notices).values(
            kind=kind,
            party=party,
            subject=subject,
            site=gate.site if gate else None,
            version=gate.version if gate else None,
            as_of=gate.as_of if gate else None,
            attempts=0,
            next_try=now,
            holder=None,
            done=False,
            error=None,
            recorded=now,
        )
    )
