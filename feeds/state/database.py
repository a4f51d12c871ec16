"""State that is not content: which feed versions hubs were told of, which
content version each app worker serves and the notifications still owed
(:mod:`feeds.publish.notify`), partners and their tokens, the audit of what they
fetched, republication counts.

SQLite in the file ``$FEEDS_STATE`` (default ``state/feeds.db`` beside the
content directory, wherever the process runs: :func:`feeds.state.url.default_url`), or
PostgreSQL when ``$FEEDS_DATABASE_URL`` is a ``postgresql://`` URL, so that
several app servers share one state. Through SQLAlchemy Core, so that both
speak the same statements; the schema is brought up to date (migrated) when
the state is opened, by whichever process comes first.
"""

from __future__ import annotations

import dataclasses
import os
import socket
import threading
import time
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    Engine,
    Float,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    create_engine,
    delete,
    event,
    exists,
    func,
    insert,
    inspect,
    literal,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DisconnectionError, IntegrityError, SQLAlchemyError
from sqlalchemy.sql.elements import ColumnElement

from feeds.errors import FeedsError
from feeds.state.url import sqlite_file, where

__all__ = ["State", "StateError", "configured", "opened"]

METADATA = MetaData()

schema_version = Table("schema_version", METADATA, Column("version", Integer, nullable=False))

#: The version of each feed hubs were last told of: one row per feed URL.
#: Whoever moves a row to a new digest is the one who tells the hub.
topics = Table(
    "topics",
    METADATA,
    Column("url", String(2000), primary_key=True),
    #: What the feed is built from (:meth:`feeds.outputs.plan.Plan.key`): while it is
    #: the same, so are the bytes, and the feed need not be built to know.
    Column("key", String(64), nullable=False),
    #: The digest of its bytes; "" while only the key is known (a first start).
    Column("digest", String(64), nullable=False),
    #: The moment of that content version, in seconds: an older version (a
    #: worker that has not reloaded yet) never takes the row back.
    Column("as_of", Float, nullable=False),
)

#: Pings to deliver, kept until the hub takes them (or they are given up).
pings = Table(
    "pings",
    METADATA,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("hub", String(2000), nullable=False),
    Column("topic", String(2000), nullable=False),
    Column("attempts", Integer, nullable=False),
    #: When it is next tried, in seconds since the epoch; while a process is
    #: sending it, the end of that process's lease (if it dies mid-send,
    #: another takes the ping over when the lease ends).
    Column("next_try", Float, nullable=False),
    Column("done", Boolean, nullable=False),
    #: Why the last try failed.
    Column("error", Text, nullable=True),
)

#: Partner outlets (and editors) who may fetch what is behind a token.
partners = Table(
    "partners",
    METADATA,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(200), nullable=False, unique=True),
    #: "early-access" (the partner feeds) or "editor" (those and the desk).
    Column("scope", String(40), nullable=False),
    Column("created", Float, nullable=False),
    #: From then on its tokens are refused; None: never.
    Column("expires", Float, nullable=True),
    #: When it was revoked; None: it was not.
    Column("revoked", Float, nullable=True),
)

#: Tokens, each ``fp_<id>.<secret>``: only a SHA-256 of the secret is kept.
tokens = Table(
    "tokens",
    METADATA,
    Column("id", String(40), primary_key=True),
    Column("partner", Integer, ForeignKey("partners.id"), nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("created", Float, nullable=False),
    #: A rotated-out token stays valid until then; None: no end.
    Column("valid_until", Float, nullable=True),
)

#: One row per request for what is behind a token, granted or not.
audit = Table(
    "audit",
    METADATA,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", Float, nullable=False, index=True),
    #: The partner's name and the token's id, when the token named one.
    Column("partner", String(200), nullable=True, index=True),
    Column("token", String(40), nullable=True),
    Column("path", String(2000), nullable=False),
    Column("status", Integer, nullable=False),
    Column("bytes", Integer, nullable=False),
    Column("client", String(100), nullable=False),
    Column("agent", String(500), nullable=False),
    #: "ok", or why not: "no token", "unknown token", "revoked", "expired", ...
    Column("outcome", String(40), nullable=False),
)

#: Requests refused for want of a valid token, counted per hour, outcome and
#: client (and the partner and token, when the token was one of ours): a
#: client refused a million times an hour is one row, not a million.
refusals = Table(
    "refusals",
    METADATA,
    #: The hour's start, in seconds since the epoch.
    Column("hour", Float, primary_key=True),
    Column("outcome", String(40), primary_key=True),
    #: The client's address; "other" beyond :data:`REFUSED_CLIENTS` an hour.
    Column("client", String(100), primary_key=True),
    #: The partner and the token id, when the token was one of ours; else "".
    Column("partner", String(200), primary_key=True),
    Column("token", String(40), primary_key=True),
    Column("requests", Integer, nullable=False),
    Column("first", Float, nullable=False),
    Column("last", Float, nullable=False),
    #: The first request's status, bytes sent, path and user agent (clipped).
    Column("status", Integer, nullable=False),
    Column("bytes", Integer, nullable=False),
    Column("path", String(500), nullable=False),
    Column("agent", String(500), nullable=False),
)

#: Hits of the built-in republication pixel: per article, origin and day.
hits = Table(
    "hits",
    METADATA,
    #: The pixel's name: a digest of the article's id (:func:`feeds.urls.pixel`).
    Column("pixel", String(64), primary_key=True),
    #: ``https://partner.example``, from the Referer; "unknown" without one.
    Column("origin", String(500), primary_key=True),
    #: ``2026-11-27``, in the site's time zone.
    Column("day", String(10), primary_key=True),
    Column("hits", Integer, nullable=False),
    Column("first", Float, nullable=False),
    Column("last", Float, nullable=False),
)

#: What a CDN in front of the app was last purged for: one row per site.
#: Whoever moves it to a new version is the one who purges.
purges = Table(
    "purges",
    METADATA,
    Column("site", String(2000), primary_key=True),
    #: :func:`feeds.publish.cdn.fingerprint` of the version served.
    Column("version", String(64), nullable=False),
    #: Its ``Last-Modified``, in seconds: an older version never wins.
    Column("as_of", Float, nullable=False),
)

#: Each app worker that tells of changes, and the content version it serves:
#: its heartbeat (:mod:`feeds.publish.notify`). A row not refreshed for
#: :data:`feeds.publish.notify.DEAD_AFTER` seconds is a dead worker, counted for nothing.
workers = Table(
    "workers",
    METADATA,
    #: ``host:pid:random``, new at each start of a worker.
    Column("id", String(200), primary_key=True),
    #: The site's ``base_url``: workers of other sites sharing the database
    #: do not count.
    Column("site", String(2000), nullable=False),
    #: :func:`feeds.publish.cdn.fingerprint` of the version it serves.
    Column("version", String(64), nullable=False),
    #: That version's ``Last-Modified``, in seconds: versions are ordered by it.
    Column("as_of", Float, nullable=False),
    #: Its last heartbeat, in seconds since the epoch.
    Column("seen", Float, nullable=False),
)

#: Notifications owed (hub pings, CDN purges), kept until sent (never given up).
notices = Table(
    "notices",
    METADATA,
    Column("id", Integer, primary_key=True, autoincrement=True),
    #: "ping" or "purge" (:class:`feeds.publish.notify.Kind`).
    Column("kind", String(20), nullable=False),
    #: Who is told: the hub's URL, the CDN's purge URL.
    Column("party", String(2000), nullable=False),
    #: What of: the feed's URL, or the surrogate keys (space-separated).
    Column("subject", Text, nullable=False),
    #: Owed only once every live worker of this site serves the version
    #: (``version`` at ``as_of``, or a newer one); None: owed at once.
    Column("site", String(2000), nullable=True),
    Column("version", String(64), nullable=True),
    Column("as_of", Float, nullable=True),
    Column("attempts", Integer, nullable=False),
    #: When it is next tried, in seconds since the epoch; while someone is
    #: sending it, the end of that sender's lease (an app worker renews it
    #: with each heartbeat: if it dies, another takes the notice over).
    Column("next_try", Float, nullable=False),
    #: The worker sending it now (its lease), if any.
    Column("holder", String(200), nullable=True),
    Column("done", Boolean, nullable=False),
    #: Why the last try failed.
    Column("error", Text, nullable=True),
    Column("recorded", Float, nullable=False),
)

#: What partners were last told of each article (:mod:`feeds.publish.stream`): one
#: row per site and article. Whoever moves a row to a new revision is the one
#: who appends the change to the stream.
told = Table(
    "told",
    METADATA,
    Column("site", String(2000), primary_key=True),
    Column("article", String(2000), primary_key=True),
    #: Counts the changes told of the article, from 1.
    Column("revision", Integer, nullable=False),
    #: What a partner sees of it (:class:`feeds.publish.events.Standing`), as JSON.
    Column("standing", Text, nullable=False),
    #: The ``Last-Modified`` of the version it was told from, in seconds: an
    #: older version (a worker that has not reloaded yet) never takes it back.
    Column("as_of", Float, nullable=False),
)

#: The change stream: append-only, one row per change told to partners.
changes = Table(
    "changes",
    METADATA,
    #: The sequence number: rows are appended one transaction at a time
    #: (:meth:`State.tell`), so numbers commit in order and a reader never
    #: skips one committed later.
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("site", String(2000), nullable=False, index=True),
    Column("article", String(2000), nullable=False),
    #: The article's :attr:`told.revision` this change made: one change, one row.
    Column("revision", Integer, nullable=False),
    Column("event", String(20), nullable=False),
    #: When it happened, in seconds since the epoch.
    Column("at", Float, nullable=False),
    Column("url", String(2000), nullable=False),
    #: The ninjs item, as JSON.
    Column("item", Text, nullable=False),
    UniqueConstraint("site", "article", "revision", name="changes_once"),
)

#: Each partner's webhook endpoint, if it has one.
endpoints = Table(
    "endpoints",
    METADATA,
    Column("partner", String(200), primary_key=True),
    Column("url", String(2000), nullable=False),
    #: ``whsec_<base64>``: the key the requests are signed with.
    Column("secret", String(200), nullable=False),
    Column("created", Float, nullable=False),
    #: When it was turned off (a 410, or ``--off``), and why; None: it is on.
    Column("off", Float, nullable=True),
    Column("why", Text, nullable=True),
)

#: Webhook deliveries: one row per change and partner (and per resend).
deliveries = Table(
    "deliveries",
    METADATA,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("partner", String(200), nullable=False, index=True),
    Column("seq", Integer, nullable=False),
    #: The ``webhook-id``: ``msg_<seq>``, or ``msg_<seq>_<id>`` for a resend.
    Column("message", String(200), nullable=False),
    Column("attempts", Integer, nullable=False),
    #: When it is next tried; while a sender holds it, the end of its lease.
    Column("next_try", Float, nullable=False),
    Column("holder", String(200), nullable=True),
    Column("done", Boolean, nullable=False),
    #: The last answer's status, if any; why the last try failed, if it did.
    Column("status", Integer, nullable=True),
    Column("error", Text, nullable=True),
    Column("recorded", Float, nullable=False),
    #: When the endpoint took it (a 2xx), if it did.
    Column("delivered", Float, nullable=True),
)

#: Compliance alerts: pixel hits on a withdrawn story from its withdrawal on,
#: per article and origin.
alerts = Table(
    "alerts",
    METADATA,
    Column("pixel", String(64), primary_key=True),
    Column("origin", String(500), primary_key=True),
    Column("hits", Integer, nullable=False),
    Column("first", Float, nullable=False),
    Column("last", Float, nullable=False),
)

#: Each version of the schema, from the first: the tables it adds.
MIGRATIONS: list[tuple[Table, ...]] = [
    (topics, pings),
    (partners, tokens, audit, hits),
    (purges,),
    (workers, notices),
    (refusals,),
    (told, changes, endpoints, deliveries, alerts),
]

#: Most clients an hour the refusals name; the others' are counted as "other".
REFUSED_CLIENTS = 100
#: Refusals older than this (seconds) are deleted as new ones are written.
REFUSALS_KEPT = 90 * 86_400
#: Days a granted request's audit row is kept by default (site.toml's
#: ``audit_days``): older rows are deleted as new ones are written.
AUDIT_DAYS = 90
#: Most pixel origins counted per article and day; the others' hits are
#: counted as :data:`OTHER`.
ORIGINS_PER_DAY = 100
#: The client, or the origin, that stands for those beyond a cap.
OTHER = "other"

#: Seconds after its last heartbeat that an app worker counts as dead
#: (:mod:`feeds.publish.notify`, which beats every second).
DEAD_AFTER = 5.0

#: The advisory lock (PostgreSQL) held by the one background sender of
#: pings of a database (:mod:`feeds.publish.websub`).
SENDER_LOCK = 7256015

#: Seconds any statement may wait (a lock, a busy database, a connection):
#: well under the 30 s after which gunicorn kills a worker.
TIMEOUT = 5.0


class StateError(FeedsError):
    """The state database could not be opened, read or written."""

    def __init__(self, where: str, error: Exception) -> None:
        super().__init__(f"the state database {where} failed: {error}")


@dataclass(frozen=True)
class Topic:
    """What hubs were last told of one feed."""

    key: str
    digest: str
    as_of: float


@dataclass(frozen=True)
class Ping:
    """A notice this process holds the lease of: it is the one to send it.
    For a ping, ``hub`` is the hub and ``topic`` the feed; for a purge, the
    CDN's purge URL and the keys, space-separated."""

    id: int
    hub: str
    topic: str
    attempts: int
    kind: str = "ping"
    #: Whether it waited for every live worker to serve its version.
    waited: bool = False


@dataclass(frozen=True)
class Worker:
    """An app worker's heartbeat: the version it serves, and when it said so."""

    id: str
    site: str
    version: str
    as_of: float
    seen: float


def configured(url: str) -> bool:
    """Is there a state database to use, without making one: ``url``
    (:func:`feeds.state.url.default_url`) is PostgreSQL's, or names a SQLite
    file that is there (``feeds partner add``, or an app with a hub, made it)?"""
    if not url.startswith("sqlite:///"):
        return True
    return Path(url.removeprefix("sqlite:///")).is_file()


def _engine(url: str) -> Engine:
    if url.startswith(("postgresql://", "postgres://")):
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
    file = sqlite_file(url)
    if file is not None:
        _private(file)
        engine = create_engine(url, connect_args={"timeout": TIMEOUT}, pool_timeout=TIMEOUT)

        @event.listens_for(engine, "connect")
        def _pragmas(connection: object, record: object) -> None:
            connection.isolation_level = None  # type: ignore[attr-defined]  # we say BEGIN
            cursor = connection.cursor()  # type: ignore[attr-defined]
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _immediate(connection: Connection) -> None:
            # Writers queue here instead of failing on a lock upgrade later;
            # reads (State.read) take no write lock and wait for no writer.
            if connection.info.pop(READ_ONLY, False):
                connection.exec_driver_sql("BEGIN")
            else:
                connection.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    milliseconds = int(TIMEOUT * 1000)
    engine = create_engine(
        url,
        pool_timeout=TIMEOUT,
        connect_args={
            "connect_timeout": int(TIMEOUT),
            "options": f"-c statement_timeout={milliseconds} -c lock_timeout={milliseconds}",
        },
    )
    _deadlines(engine)
    return engine


#: Seconds a PostgreSQL connection may wait for its server in one exchange (a
#: statement, a commit, the ping that checks a pooled connection) before this
#: side cuts it off. The server's own timeouts (``statement_timeout``,
#: ``lock_timeout``) end a statement sooner when the server can act; a server
#: that is stopped (``kill -STOP``), frozen, or behind a network that drops
#: every packet cannot, and the kernel still acknowledges what is sent to a
#: stopped one, so neither TCP keepalives nor ``tcp_user_timeout`` notice.
CUT_AFTER = TIMEOUT + 2.0
#: The same for the ``SELECT 1`` that checks a pooled connection as it is
#: taken: a server that answers takes milliseconds.
PING_CUT_AFTER = 3.0


def _deadlines(engine: Engine) -> None:
    """Arm :data:`WATCHDOG` around every exchange of ``engine``'s connections
    with the server; a pooled connection is checked (``SELECT 1``) under it
    as it is taken, and one that fails is replaced (the pool's pre-ping,
    which no deadline covers)."""

    @event.listens_for(engine.pool, "first_connect", insert=True)
    @event.listens_for(engine.pool, "connect", insert=True)
    def _connected(dbapi: Any, record: object) -> None:
        WATCHDOG.arm(dbapi)  # the dialect's first queries on a new connection

    @event.listens_for(engine.pool, "checkout")
    def _ping(dbapi: Any, record: object, proxy: object) -> None:
        started = time.monotonic()
        WATCHDOG.arm(dbapi, PING_CUT_AFTER)
        try:
            cursor = dbapi.cursor()
            try:
                cursor.execute("SELECT 1")
            finally:
                cursor.close()
        except Exception as e:
            if time.monotonic() - started >= PING_CUT_AFTER:
                raise  # cut off: the server does not answer, a new connection would wait too
            # Closed by the server (a restart): the pool connects anew.
            raise DisconnectionError(f"a pooled connection failed: {e}") from e
        finally:
            WATCHDOG.disarm(dbapi)

    @event.listens_for(engine.pool, "reset")
    def _reset(dbapi: Any, record: object, state: object) -> None:
        WATCHDOG.arm(dbapi)  # the rollback of a connection given back

    @event.listens_for(engine.pool, "checkin")
    @event.listens_for(engine.pool, "invalidate")
    @event.listens_for(engine.pool, "close")
    def _done(dbapi: Any, *args: object) -> None:
        if dbapi is not None:
            WATCHDOG.disarm(dbapi)

    @event.listens_for(engine, "before_cursor_execute")
    def _executing(connection: Connection, cursor: Any, *args: object) -> None:
        WATCHDOG.arm(cursor.connection)

    @event.listens_for(engine, "after_cursor_execute")
    def _executed(connection: Connection, cursor: Any, *args: object) -> None:
        WATCHDOG.disarm(cursor.connection)

    @event.listens_for(engine, "commit")
    @event.listens_for(engine, "rollback")
    def _ending(connection: Connection) -> None:
        if (dbapi := _dbapi_of(connection)) is not None:
            WATCHDOG.arm(dbapi)

    @event.listens_for(engine, "handle_error")
    def _failed(context: Any) -> None:
        if (dbapi := _dbapi_of(context.connection)) is not None:
            WATCHDOG.disarm(dbapi)


def _dbapi_of(connection: Connection | None) -> Any:
    """The driver's connection under ``connection``, if it still has one."""
    if connection is None or connection.closed or connection.invalidated:
        return None
    return connection.connection.dbapi_connection


class Watchdog:
    """Cuts a PostgreSQL connection off (``shutdown`` of its socket) once it
    has waited for its server longer than ``seconds`` in one exchange: the
    waiting thread gets a "server closed the connection" error at once, a
    :class:`StateError`, and the pool drops that connection. A thread of its
    own per process looks four times a second, while anything is armed."""

    #: Seconds between looks.
    TICK = 0.25

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._lock = threading.Lock()
        #: id of the connection -> (monotonic deadline, the connection).
        self._armed: dict[int, tuple[float, Any]] = {}
        self._busy = threading.Event()
        self._running = 0  # the process whose thread runs
        #: How many connections it cut off (for the log and the tests).
        self.cut = 0

    def arm(self, dbapi: Any, seconds: float | None = None) -> None:
        """Start the clock of ``dbapi``'s exchange: ``seconds`` (by default
        the watchdog's) from now, it is cut off unless disarmed (or armed
        again, for its next exchange) first."""
        deadline = time.monotonic() + (self.seconds if seconds is None else seconds)
        with self._lock:
            self._armed[id(dbapi)] = (deadline, dbapi)
            self._busy.set()
            if self._running != os.getpid():  # a new process (a server's worker)
                self._running = os.getpid()
                watching = threading.Thread(target=self._watch, daemon=True, name="feeds-cut")
                watching.start()

    def forked(self) -> None:
        """In a forked child: the parent's connections are not this
        process's to watch, and its lock may have been held mid-fork."""
        self._lock = threading.Lock()
        self._armed = {}
        self._busy = threading.Event()
        self._running = 0

    def disarm(self, dbapi: Any) -> None:
        with self._lock:
            self._armed.pop(id(dbapi), None)
            if not self._armed:
                self._busy.clear()

    def _watch(self) -> None:
        while True:
            self._busy.wait()  # no timeout: nothing to look at while idle
            time.sleep(self.TICK)
            self.look(time.monotonic())

    def look(self, now: float) -> None:
        """Cut off every connection past its deadline at ``now``."""
        with self._lock:  # held while cutting: no connection closes meanwhile
            for key, (deadline, dbapi) in list(self._armed.items()):
                if deadline <= now:
                    del self._armed[key]
                    _cut(dbapi)
                    self.cut += 1
            if not self._armed:
                self._busy.clear()


def _cut(dbapi: Any) -> None:
    """Shut a psycopg connection's socket down (its descriptor stays its
    own to close): whatever waits on it wakes to a closed connection."""
    try:
        fd = dbapi.pgconn.socket
    except Exception:  # closed already, or broken: nothing waits on it
        return
    try:
        with socket.socket(fileno=os.dup(fd)) as duplicate:
            duplicate.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


#: The one watchdog of this process's PostgreSQL connections.
WATCHDOG = Watchdog(CUT_AFTER)
os.register_at_fork(after_in_child=WATCHDOG.forked)


def _private(file: Path) -> None:
    """Make the SQLite file, if it is not there, readable by its owner only
    (it holds client addresses and token hashes), in a folder only its owner
    can enter when the folder is new too. SQLite gives its ``-wal`` and
    ``-shm`` files the database's permissions."""
    for folder in reversed((file.parent, *file.parent.parents)):
        if not folder.is_dir():
            folder.mkdir(mode=0o700, exist_ok=True)
    with suppress(FileExistsError):
        os.close(os.open(file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))


#: Marks a SQLite connection whose next transaction only reads.
READ_ONLY = "feeds.read_only"


class State:
    """One state database; safe to share between threads and processes."""

    def __init__(self, url: str) -> None:
        self.url = url
        #: Where it is, for messages (never a password).
        self.where = where(self.url)
        self._pid = os.getpid()
        try:
            self.engine = _engine(self.url)
            self._migrate()
        except (SQLAlchemyError, OSError) as e:
            raise StateError(self.where, e) from e

    def close(self) -> None:
        self.engine.dispose()

    @property
    def shared(self) -> bool:
        """Is it a server's database (PostgreSQL), which several machines
        may share, rather than a file of this machine's?"""
        return self.engine.dialect.name == "postgresql"

    def hold(self, key: int) -> Callable[[], None] | None:
        """Take PostgreSQL's advisory lock ``key`` without waiting, in a
        session of its own kept open until the function returned is called
        (it lets go): one holder per database, whatever machine it runs on;
        None when another session holds it. A holder that dies, or whose
        connection breaks, lets go with its session."""
        try:
            connection = self.engine.connect()
            try:
                taken = connection.execute(select(func.pg_try_advisory_lock(key))).scalar()
                connection.commit()  # the lock is the session's: no transaction stays open
                # Kept, not given back: its commit's deadline must not cut it off later.
                WATCHDOG.disarm(connection.connection.dbapi_connection)
            except BaseException:
                connection.close()
                raise
        except SQLAlchemyError as e:
            raise StateError(self.where, e) from e
        if not taken:
            connection.close()
            return None

        def release() -> None:
            try:
                connection.execute(select(func.pg_advisory_unlock(key)))
                connection.commit()
            except SQLAlchemyError:
                connection.invalidate()  # never back to the pool holding it
            finally:
                connection.close()

        return release

    @contextmanager
    def begin(self) -> Iterator[Connection]:
        """A transaction; any database failure is a :class:`StateError`."""
        if self._pid != os.getpid():  # forked (a server's workers): new connections
            self.engine.dispose(close=False)
            self._pid = os.getpid()
        try:
            with self.engine.begin() as connection:
                yield connection
        except SQLAlchemyError as e:
            raise StateError(self.where, e) from e

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A transaction that only reads: on SQLite a deferred ``BEGIN``, so
        that it neither takes the write lock nor queues behind a writer."""
        if self._pid != os.getpid():
            self.engine.dispose(close=False)
            self._pid = os.getpid()
        try:
            with self.engine.connect() as connection:
                connection.info[READ_ONLY] = True
                with connection.begin():
                    yield connection
        except SQLAlchemyError as e:
            raise StateError(self.where, e) from e

    def _migrate(self) -> None:
        """Bring the schema up to :data:`MIGRATIONS`, under a lock so that
        workers starting together do it once. A schema already up to date is
        only read: opening takes no write lock (a writer elsewhere holds
        nobody up)."""
        with self.engine.connect() as connection:
            connection.info[READ_ONLY] = True
            with connection.begin():
                current = (
                    inspect(connection).has_table("schema_version")
                    and connection.execute(select(schema_version.c.version)).scalar()
                )
        if current == len(MIGRATIONS):
            return
        with self.engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                connection.execute(text("SELECT pg_advisory_xact_lock(7256013)"))
            schema_version.create(connection, checkfirst=True)
            found = connection.execute(select(schema_version.c.version)).scalar()
            current = found or 0
            for tables in MIGRATIONS[current:]:
                for table in tables:
                    table.create(connection, checkfirst=True)
            if 0 < current < 4:  # pings still queued move to the notices
                _move_pings(connection)
            if found is None:
                connection.execute(insert(schema_version).values(version=len(MIGRATIONS)))
            elif current < len(MIGRATIONS):
                connection.execute(update(schema_version).values(version=len(MIGRATIONS)))

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
            statement = _upsert(connection)(workers).values(id=worker.id, **values)
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
                leased = connection.execute(
                    update(notices)
                    .where(notices.c.id == row[0], notices.c.next_try == row[4])
                    .values(next_try=now + lease, holder=holder)
                ).rowcount
                if leased:
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

    # -- the change stream and webhooks (feeds.publish.stream) -------------------------------

    def told(
        self, site: str, articles: Collection[str] | None = None
    ) -> dict[str, tuple[int, str, float]]:
        """What partners were last told of each article of ``site`` (of
        ``articles`` only, if given): its revision, its standing (JSON) and
        the version's moment."""
        query = select(told.c.article, told.c.revision, told.c.standing, told.c.as_of).where(
            told.c.site == site
        )
        if articles is not None and len(articles) <= 500:
            query = query.where(told.c.article.in_(sorted(articles)))
        with self.read() as connection:
            return {row[0]: (row[1], row[2], row[3]) for row in connection.execute(query)}

    def tell(self, site: str, telling: Sequence[Telling], as_of: float, now: float) -> list[int]:
        """Append each change of ``telling`` to the stream, and owe its
        webhook to every partner with an endpoint on, in one transaction,
        unless another process told of it first: each moves its article's
        ``told`` row from the revision it was compared with, and only one
        can (nor can a version older than the row's). The sequence numbers
        of the changes appended."""
        if not telling:
            return []
        with self.begin() as connection:
            if connection.dialect.name == "postgresql":
                # One appender at a time: numbers commit in the order they
                # are drawn, so a reader past one never misses an earlier one.
                connection.execute(text("SELECT pg_advisory_xact_lock(7256014)"))
            listening = [
                row[0]
                for row in connection.execute(
                    select(endpoints.c.partner)
                    .join(partners, partners.c.name == endpoints.c.partner)
                    .where(
                        endpoints.c.off.is_(None),
                        partners.c.revoked.is_(None) | (partners.c.revoked > now),
                        partners.c.expires.is_(None) | (partners.c.expires > now),
                    )
                    .order_by(endpoints.c.partner)
                )
            ]
            appended = []
            for one in telling:
                values = {"standing": one.standing, "as_of": as_of}
                if one.revision == 0:
                    moved = (
                        connection.execute(
                            _upsert(connection)(told)
                            .values(site=site, article=one.article, revision=1, **values)
                            .on_conflict_do_nothing()
                            .returning(told.c.article)
                        ).first()
                        is not None
                    )
                else:
                    moved = bool(
                        connection.execute(
                            update(told)
                            .where(
                                told.c.site == site,
                                told.c.article == one.article,
                                told.c.revision == one.revision,
                                told.c.as_of <= as_of,
                            )
                            .values(revision=one.revision + 1, **values)
                        ).rowcount
                    )
                if not moved:
                    continue
                number = connection.execute(
                    insert(changes).values(
                        site=site,
                        article=one.article,
                        revision=one.revision + 1,
                        event=one.event,
                        at=one.at,
                        url=one.url,
                        item=one.item,
                    )
                ).inserted_primary_key
                assert number is not None
                seq = int(number[0])
                appended.append(seq)
                if listening:
                    connection.execute(
                        insert(deliveries),
                        [_delivery(name, seq, f"msg_{seq}", now) for name in listening],
                    )
            return appended

    def changes(self, site: str, since: int = 0, limit: int = 100) -> list[StreamRow]:
        """The changes of ``site`` after sequence number ``since``, oldest first."""
        with self.read() as connection:
            rows = connection.execute(
                select(
                    changes.c.seq,
                    changes.c.event,
                    changes.c.article,
                    changes.c.at,
                    changes.c.url,
                    changes.c.item,
                )
                .where(changes.c.site == site, changes.c.seq > since)
                .order_by(changes.c.seq)
                .limit(limit)
            ).all()
        return [StreamRow(*row) for row in rows]

    def last_change(self, site: str, article: str) -> int | None:
        """The sequence number of the newest change of ``article``, if any."""
        with self.read() as connection:
            return connection.execute(
                select(func.max(changes.c.seq)).where(
                    changes.c.site == site, changes.c.article == article
                )
            ).scalar()

    def set_endpoint(self, partner: str, url: str | None, secret: str, now: float) -> None:
        """Give ``partner`` the webhook endpoint ``url`` signed with ``secret``
        (None: turn it off); deliveries still owed to it are dropped."""
        with self.begin() as connection:
            connection.execute(endpoints.delete().where(endpoints.c.partner == partner))
            _drop_deliveries(connection, partner, "the endpoint was changed")
            if url is not None:
                connection.execute(
                    insert(endpoints).values(
                        partner=partner, url=url, secret=secret, created=now, off=None, why=None
                    )
                )

    def endpoints(self) -> list[Endpoint]:
        with self.read() as connection:
            rows = connection.execute(
                select(
                    endpoints.c.partner,
                    endpoints.c.url,
                    endpoints.c.secret,
                    endpoints.c.off,
                    endpoints.c.why,
                ).order_by(endpoints.c.partner)
            ).all()
        return [Endpoint(*row) for row in rows]

    def resend(self, partner: str, seq: int, now: float) -> None:
        """Owe ``partner`` change ``seq`` once more, under a webhook-id of its own."""
        with self.begin() as connection:
            number = connection.execute(
                insert(deliveries).values(_delivery(partner, seq, "", now))
            ).inserted_primary_key
            assert number is not None
            connection.execute(
                update(deliveries)
                .where(deliveries.c.id == number[0])
                .values(message=f"msg_{seq}_{number[0]}")
            )

    def take_delivery(
        self,
        now: float,
        lease: float,
        holder: str,
        partner: str | None = None,
        skip: Collection[str] = (),
    ) -> list[Delivery]:
        """The first delivery owed to each partner (or to ``partner``) whose
        time has come, leased to ``holder`` until ``now + lease``: a partner's
        changes go one at a time, in order, so a later one never overtakes
        an earlier one being retried. Partners in ``skip`` are left out
        (this process is sending to them)."""
        first = (
            select(deliveries.c.partner, func.min(deliveries.c.id).label("id"))
            .where(deliveries.c.done.is_(False))
            .group_by(deliveries.c.partner)
        )
        if partner is not None:
            first = first.where(deliveries.c.partner == partner)
        if skip:
            first = first.where(deliveries.c.partner.not_in(list(skip)))
        heads = first.subquery()
        with self.read() as connection:
            due = connection.execute(
                select(
                    deliveries.c.id,
                    deliveries.c.partner,
                    deliveries.c.seq,
                    deliveries.c.message,
                    deliveries.c.attempts,
                    deliveries.c.recorded,
                    deliveries.c.next_try,
                    endpoints.c.url,
                    endpoints.c.secret,
                    changes.c.event,
                    changes.c.article,
                    changes.c.at,
                    changes.c.url,
                    changes.c.item,
                )
                .join(heads, heads.c.id == deliveries.c.id)
                .join(endpoints, endpoints.c.partner == deliveries.c.partner)
                .join(partners, partners.c.name == deliveries.c.partner)
                .join(changes, changes.c.seq == deliveries.c.seq)
                .where(
                    deliveries.c.next_try <= now,
                    endpoints.c.off.is_(None),
                    # A partner revoked or expired is sent nothing more.
                    partners.c.revoked.is_(None) | (partners.c.revoked > now),
                    partners.c.expires.is_(None) | (partners.c.expires > now),
                )
                .order_by(deliveries.c.partner)
            ).all()
        if not due:
            return []
        taken = []
        with self.begin() as connection:
            for row in due:
                leased = connection.execute(
                    update(deliveries)
                    .where(deliveries.c.id == row[0], deliveries.c.next_try == row[6])
                    .values(next_try=now + lease, holder=holder)
                ).rowcount
                if leased:
                    change = StreamRow(row[2], row[9], row[10], row[11], row[12], row[13])
                    taken.append(
                        Delivery(row[0], row[1], row[3], row[4], row[5], row[7], row[8], change)
                    )
        return taken

    def delivered_to(
        self,
        one: Delivery,
        status: int | None,
        error: str | None,
        now: float,
        retry: float | None,
        off: bool = False,
    ) -> None:
        """Record a try of ``one``: taken (no ``error``), to be tried again at
        ``retry``, or given up (``retry`` None); ``off``: the endpoint said
        410, and is turned off with every delivery still owed to it."""
        values: dict[str, Any] = {"attempts": one.attempts + 1, "status": status, "holder": None}
        if error is None:
            values.update(done=True, error=None, delivered=now)
        elif retry is not None:
            values.update(error=error, next_try=retry)
        else:
            values.update(done=True, error=error)
        with self.begin() as connection:
            connection.execute(update(deliveries).where(deliveries.c.id == one.id).values(values))
            if off:
                connection.execute(
                    update(endpoints)
                    .where(endpoints.c.partner == one.partner, endpoints.c.url == one.url)
                    .values(off=now, why=error)
                )
                _drop_deliveries(connection, one.partner, "the endpoint is off")

    def deliveries(self, partner: str | None = None) -> list[DeliveryRow]:
        """Every delivery (of ``partner``), oldest first."""
        query = (
            select(
                deliveries.c.partner,
                deliveries.c.seq,
                changes.c.event,
                changes.c.article,
                deliveries.c.message,
                deliveries.c.attempts,
                deliveries.c.status,
                deliveries.c.done,
                deliveries.c.error,
                deliveries.c.recorded,
                deliveries.c.delivered,
            )
            .join(changes, changes.c.seq == deliveries.c.seq)
            .order_by(deliveries.c.id)
        )
        if partner is not None:
            query = query.where(deliveries.c.partner == partner)
        with self.read() as connection:
            return [DeliveryRow(*row) for row in connection.execute(query)]

    def next_delivery(self) -> float | None:
        """When the next delivery owed is due (or its lease ends): the first
        owed to each partner, the others wait behind it; None: none is owed."""
        heads = (
            select(func.min(deliveries.c.id).label("id"))
            .where(deliveries.c.done.is_(False))
            .group_by(deliveries.c.partner)
            .subquery()
        )
        with self.read() as connection:
            return connection.execute(
                select(func.min(deliveries.c.next_try)).join(heads, heads.c.id == deliveries.c.id)
            ).scalar()

    # -- partners and their tokens ---------------------------------------------------

    def add_partner(
        self, name: str, scope: str, expires: float | None, token: Token, now: float
    ) -> bool:
        """A new partner with its first token; False when the name is taken."""
        try:
            with self.begin() as connection:
                number = connection.execute(
                    insert(partners).values(
                        name=name, scope=scope, created=now, expires=expires, revoked=None
                    )
                ).inserted_primary_key
                assert number is not None
                connection.execute(
                    insert(tokens).values(
                        id=token.id, partner=number[0], sha256=token.sha256, created=now
                    )
                )
            return True
        except StateError as e:
            if isinstance(e.__cause__, IntegrityError):
                return False
            raise

    def partners(self) -> list[Partner]:
        with self.read() as connection:
            rows = connection.execute(select(partners).order_by(partners.c.name)).all()
            held = connection.execute(
                select(tokens.c.partner, tokens.c.id, tokens.c.valid_until).order_by(
                    tokens.c.created
                )
            ).all()
        by_partner: dict[int, list[tuple[str, float | None]]] = {}
        for number, token, until in held:
            by_partner.setdefault(number, []).append((token, until))
        return [
            Partner(
                row.name,
                row.scope,
                row.created,
                row.expires,
                row.revoked,
                tuple(by_partner.get(row.id, ())),
            )
            for row in rows
        ]

    def partner(self, name: str) -> Partner | None:
        return next((p for p in self.partners() if p.name == name), None)

    def rotate(self, name: str, token: Token, now: float, grace: float) -> bool:
        """Give ``name`` a new token; its others stay valid ``grace`` seconds
        more (none beyond their own end). False when there is no such partner."""
        with self.begin() as connection:
            number = connection.execute(
                select(partners.c.id).where(partners.c.name == name)
            ).scalar()
            if number is None:
                return False
            ends = now + grace
            connection.execute(
                update(tokens)
                .where(
                    tokens.c.partner == number,
                    (tokens.c.valid_until.is_(None)) | (tokens.c.valid_until > ends),
                )
                .values(valid_until=ends)
            )
            connection.execute(
                insert(tokens).values(id=token.id, partner=number, sha256=token.sha256, created=now)
            )
        return True

    def reinstate(self, name: str, token: Token, now: float) -> bool | None:
        """Take back the revocation of ``name`` with a new token: none of its
        old ones works again, and nothing owed to it while revoked is sent;
        its audit and history stay under its name. None when there is no
        such partner, False when it is not revoked."""
        with self.begin() as connection:
            row = connection.execute(
                select(partners.c.id, partners.c.revoked).where(partners.c.name == name)
            ).first()
            if row is None:
                return None
            if row.revoked is None:
                return False
            connection.execute(update(partners).where(partners.c.id == row.id).values(revoked=None))
            connection.execute(
                update(tokens)
                .where(
                    tokens.c.partner == row.id,
                    (tokens.c.valid_until.is_(None)) | (tokens.c.valid_until > now),
                )
                .values(valid_until=now)
            )
            connection.execute(
                insert(tokens).values(id=token.id, partner=row.id, sha256=token.sha256, created=now)
            )
            connection.execute(delete(deliveries).where(deliveries.c.partner == name))
        return True

    def revoke(self, name: str, now: float) -> bool:
        """Refuse every token of ``name`` from now on; False when there is none."""
        with self.begin() as connection:
            done = connection.execute(
                update(partners)
                .where(partners.c.name == name, partners.c.revoked.is_(None))
                .values(revoked=now)
            ).rowcount
            if done:
                return True
            return (
                connection.execute(select(partners.c.id).where(partners.c.name == name)).first()
                is not None
            )

    def token(self, token_id: str) -> tuple[Partner, str, float | None] | None:
        """The partner a token id belongs to, the SHA-256 of its secret, and
        when it stops being valid; None for an id nobody holds."""
        with self.read() as connection:
            row = connection.execute(
                select(
                    partners.c.name,
                    partners.c.scope,
                    partners.c.created,
                    partners.c.expires,
                    partners.c.revoked,
                    tokens.c.sha256,
                    tokens.c.valid_until,
                )
                .join(partners, partners.c.id == tokens.c.partner)
                .where(tokens.c.id == token_id)
            ).first()
        if row is None:
            return None
        partner = Partner(row[0], row[1], row[2], row[3], row[4], ())
        return partner, row[5], row[6]

    # -- the audit -------------------------------------------------------------------

    def record(
        self,
        entries: Sequence[AuditEntry],
        refused: Mapping[RefusalKey, Refusal] | None = None,
        days: int = AUDIT_DAYS,
    ) -> None:
        """Add audit rows and refusal counts (:meth:`refuse`), in one
        transaction; rows more than ``days`` older than the newest written
        are deleted (the ``at`` index finds them), so that the audit holds at
        most ``days`` of granted requests, however long it runs."""
        if not entries and not refused:
            return
        with self.begin() as connection:
            if entries:
                connection.execute(insert(audit), [dataclasses.asdict(e) for e in entries])
                oldest = max(e.at for e in entries) - days * 86_400
                connection.execute(delete(audit).where(audit.c.at < oldest))
            if refused:
                _refuse(connection, refused)

    def refuse(self, counted: Mapping[RefusalKey, Refusal]) -> None:
        """Add refused requests to their hour's counts, in one transaction. A
        client new to an hour that already names :data:`REFUSED_CLIENTS`
        clients is counted as "other"; refusals older than
        :data:`REFUSALS_KEPT` are deleted."""
        if counted:
            with self.begin() as connection:
                _refuse(connection, counted)

    def refused(
        self, partner: str | None = None, since: float | None = None, newest: int | None = None
    ) -> list[RefusalRow]:
        """Refused requests counted per hour, newest first; with ``newest``,
        only that many rows."""
        query = select(refusals).order_by(
            refusals.c.last.desc(), refusals.c.client, refusals.c.outcome
        )
        if partner is not None:
            query = query.where(refusals.c.partner == partner)
        if since is not None:
            query = query.where(refusals.c.last >= since)
        if newest is not None:
            query = query.limit(newest)
        with self.read() as connection:
            return [
                RefusalRow(
                    RefusalKey(row.hour, row.outcome, row.client, row.partner, row.token),
                    Refusal(
                        row.requests,
                        row.first,
                        row.last,
                        row.status,
                        row.bytes,
                        row.path,
                        row.agent,
                    ),
                )
                for row in connection.execute(query)
            ]

    def counted(self, partner: str | None = None, since: float | None = None) -> tuple[int, int]:
        """How many audit rows and refusal rows there are (for one partner,
        from ``since`` on)."""
        rows = select(func.count()).select_from(audit)
        refused = select(func.count()).select_from(refusals)
        if partner is not None:
            rows = rows.where(audit.c.partner == partner)
            refused = refused.where(refusals.c.partner == partner)
        if since is not None:
            rows = rows.where(audit.c.at >= since)
            refused = refused.where(refusals.c.last >= since)
        with self.read() as connection:
            return int(connection.execute(rows).scalar() or 0), int(
                connection.execute(refused).scalar() or 0
            )

    def last_fetches(self) -> dict[str, float]:
        """Each partner's last granted fetch."""
        query = (
            select(audit.c.partner, func.max(audit.c.at))
            .where(audit.c.outcome == "ok", audit.c.partner.is_not(None))
            .group_by(audit.c.partner)
        )
        with self.read() as connection:
            return {row[0]: row[1] for row in connection.execute(query)}

    def audit(
        self, partner: str | None = None, since: float | None = None, newest: int | None = None
    ) -> list[AuditEntry]:
        """The audit, oldest first; with ``newest``, only that many of the newest rows."""
        query = select(
            audit.c.at,
            audit.c.partner,
            audit.c.token,
            audit.c.path,
            audit.c.status,
            audit.c.bytes,
            audit.c.client,
            audit.c.agent,
            audit.c.outcome,
        )
        if partner is not None:
            query = query.where(audit.c.partner == partner)
        if since is not None:
            query = query.where(audit.c.at >= since)
        if newest is not None:
            query = query.order_by(audit.c.at.desc(), audit.c.id.desc()).limit(newest)
            with self.read() as connection:
                return [AuditEntry(*row) for row in connection.execute(query)][::-1]
        with self.read() as connection:
            return [
                AuditEntry(*row)
                for row in connection.execute(query.order_by(audit.c.at, audit.c.id))
            ]

    # -- the republication pixel -----------------------------------------------------

    def count_hits(
        self,
        counted: dict[tuple[str, str, str], tuple[int, float, float]],
        alerted: Mapping[tuple[str, str], tuple[int, float, float]] | None = None,
    ) -> None:
        """Add hits: (pixel, origin, day) -> (hits, first, last), and
        compliance alerts: (pixel, origin) -> (hits, first, last), in one
        transaction. An origin new to an article's day that already names
        :data:`ORIGINS_PER_DAY` origins is counted as :data:`OTHER`, and so
        is one new to an article's alerts that already name as many."""
        if not counted and not alerted:
            return
        with self.begin() as connection:
            dialect = connection.dialect.name
            smaller = func.min if dialect == "sqlite" else func.least
            larger = func.max if dialect == "sqlite" else func.greatest
            alerting: dict[str, set[str]] = {}
            for (pixel, found), (count, first, last) in sorted((alerted or {}).items()):
                if pixel not in alerting:
                    alerting[pixel] = set(
                        connection.execute(
                            select(alerts.c.origin).where(alerts.c.pixel == pixel)
                        ).scalars()
                    )
                origin = found
                if origin not in alerting[pixel] and len(alerting[pixel]) >= ORIGINS_PER_DAY:
                    origin = OTHER
                alerting[pixel].add(origin)
                statement = _upsert(connection)(alerts).values(
                    pixel=pixel, origin=origin, hits=count, first=first, last=last
                )
                connection.execute(
                    statement.on_conflict_do_update(
                        index_elements=[alerts.c.pixel, alerts.c.origin],
                        set_={
                            "hits": alerts.c.hits + statement.excluded.hits,
                            "first": smaller(alerts.c.first, statement.excluded.first),
                            "last": larger(alerts.c.last, statement.excluded.last),
                        },
                    )
                )
            upsert: Any = postgresql_insert if dialect == "postgresql" else sqlite_insert
            named: dict[tuple[str, str], set[str]] = {}
            # In one order in every worker: two never wait for each other's rows.
            for (pixel, found, day), (count, first, last) in sorted(counted.items()):
                if (pixel, day) not in named:
                    named[pixel, day] = set(
                        connection.execute(
                            select(hits.c.origin).where(hits.c.pixel == pixel, hits.c.day == day)
                        ).scalars()
                    )
                origins = named[pixel, day]
                origin = found
                if origin not in origins and len(origins) >= ORIGINS_PER_DAY:
                    origin = OTHER  # the cap holds across workers, not only in each
                origins.add(origin)
                statement = upsert(hits).values(
                    pixel=pixel, origin=origin, day=day, hits=count, first=first, last=last
                )
                connection.execute(
                    statement.on_conflict_do_update(
                        index_elements=[hits.c.pixel, hits.c.origin, hits.c.day],
                        set_={
                            "hits": hits.c.hits + statement.excluded.hits,
                            "first": func.min(hits.c.first, statement.excluded.first)
                            if dialect == "sqlite"
                            else func.least(hits.c.first, statement.excluded.first),
                            "last": func.max(hits.c.last, statement.excluded.last)
                            if dialect == "sqlite"
                            else func.greatest(hits.c.last, statement.excluded.last),
                        },
                    )
                )

    def alerts(self) -> list[tuple[str, str, int, float, float]]:
        """Compliance alerts: (pixel, origin, hits, first, last)."""
        query = select(alerts).order_by(alerts.c.pixel, alerts.c.origin)
        with self.read() as connection:
            return [tuple(row) for row in connection.execute(query)]

    def hits(self, since: str | None = None) -> list[tuple[str, str, str, int, float, float]]:
        """(pixel, origin, day, hits, first, last), from day ``since`` on."""
        query = select(hits).order_by(hits.c.pixel, hits.c.origin, hits.c.day)
        if since is not None:
            query = query.where(hits.c.day >= since)
        with self.read() as connection:
            return [tuple(row) for row in connection.execute(query)]


def _refuse(connection: Connection, counted: Mapping[RefusalKey, Refusal]) -> None:
    """:meth:`State.refuse` within ``connection``'s transaction."""
    upsert = _upsert(connection)
    dialect = connection.dialect.name
    least = func.min if dialect == "sqlite" else func.least
    greatest = func.max if dialect == "sqlite" else func.greatest
    clients: dict[float, set[str]] = {}
    # In one order in every worker: two never wait for each other's rows.
    for key, found in sorted(counted.items()):
        if key.hour not in clients:
            clients[key.hour] = set(
                connection.execute(
                    select(refusals.c.client).distinct().where(refusals.c.hour == key.hour)
                ).scalars()
            )
        named = clients[key.hour]
        client = key.client
        if client not in named and len(named) >= REFUSED_CLIENTS:
            client = OTHER
        named.add(client)
        statement = upsert(refusals).values(
            hour=key.hour,
            outcome=key.outcome,
            client=client,
            partner=key.partner,
            token=key.token,
            requests=found.requests,
            first=found.first,
            last=found.last,
            status=found.status,
            bytes=found.bytes,
            path=found.path,
            agent=found.agent,
        )
        connection.execute(
            statement.on_conflict_do_update(
                index_elements=[
                    refusals.c.hour,
                    refusals.c.outcome,
                    refusals.c.client,
                    refusals.c.partner,
                    refusals.c.token,
                ],
                set_={
                    "requests": refusals.c.requests + statement.excluded.requests,
                    "first": least(refusals.c.first, statement.excluded.first),
                    "last": greatest(refusals.c.last, statement.excluded.last),
                },
            )
        )
    oldest = max(f.last for f in counted.values()) - REFUSALS_KEPT
    connection.execute(delete(refusals).where(refusals.c.hour < oldest))


def _upsert(connection: Connection) -> Any:
    return postgresql_insert if connection.dialect.name == "postgresql" else sqlite_insert


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
            _upsert(connection)(topics)
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
        _upsert(connection)(purges)
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


def _move_pings(connection: Connection) -> None:
    """The pings a database of schema 1 to 3 still had to send, owed as notices."""
    connection.execute(
        insert(notices).from_select(
            ["kind", "party", "subject", "attempts", "next_try", "done", "error", "recorded"],
            select(
                literal("ping"),
                pings.c.hub,
                pings.c.topic,
                pings.c.attempts,
                pings.c.next_try,
                pings.c.done,
                pings.c.error,
                pings.c.next_try,
            ).where(pings.c.done.is_(False)),
        )
    )


def _delivery(partner: str, seq: int, message: str, now: float) -> dict[str, Any]:
    return {
        "partner": partner,
        "seq": seq,
        "message": message,
        "attempts": 0,
        "next_try": now,
        "holder": None,
        "done": False,
        "status": None,
        "error": None,
        "recorded": now,
        "delivered": None,
    }


def _drop_deliveries(connection: Connection, partner: str, why: str) -> None:
    connection.execute(
        update(deliveries)
        .where(deliveries.c.partner == partner, deliveries.c.done.is_(False))
        .values(done=True, error=why, holder=None)
    )


@dataclass(frozen=True)
class Telling:
    """A change to append to the stream (:meth:`State.tell`)."""

    article: str
    #: The article's revision it was compared with; 0: never told of.
    revision: int
    event: str
    #: The standing it moves to, JSON.
    standing: str
    at: float
    url: str
    #: The ninjs item, JSON.
    item: str


@dataclass(frozen=True)
class StreamRow:
    seq: int
    event: str
    article: str
    at: float
    url: str
    #: JSON.
    item: str


@dataclass(frozen=True)
class Endpoint:
    partner: str
    url: str
    secret: str
    off: float | None
    why: str | None


@dataclass(frozen=True)
class Delivery:
    """A webhook delivery this process holds the lease of."""

    id: int
    partner: str
    message: str
    attempts: int
    recorded: float
    url: str
    secret: str
    change: StreamRow


@dataclass(frozen=True)
class DeliveryRow:
    partner: str
    seq: int
    event: str
    article: str
    message: str
    attempts: int
    status: int | None
    done: bool
    error: str | None
    recorded: float
    delivered: float | None


@dataclass(frozen=True)
class Gate:
    """A content version of a site: what every live worker must serve (or a
    newer one) before a notice owed for it is sent."""

    site: str
    version: str
    as_of: float


@dataclass(frozen=True)
class Token:
    """What is kept of a token: its id and the SHA-256 of its secret."""

    id: str
    sha256: str


@dataclass(frozen=True)
class Partner:
    name: str
    scope: str
    created: float
    expires: float | None
    revoked: float | None
    #: (token id, valid until or None), oldest first.
    tokens: tuple[tuple[str, float | None], ...]


@dataclass(frozen=True)
class AuditEntry:
    at: float
    partner: str | None
    token: str | None
    path: str
    status: int
    bytes: int
    client: str
    agent: str
    outcome: str


@dataclass(frozen=True, order=True)
class RefusalKey:
    """What refused requests are counted by."""

    #: The hour's start, in seconds since the epoch.
    hour: float
    outcome: str
    client: str
    #: The partner and token id when the token was one of ours, else "".
    partner: str
    token: str


@dataclass(frozen=True)
class Refusal:
    """Refused requests of one :class:`RefusalKey`: how many, when, and the
    first one's status, bytes, path and user agent."""

    requests: int
    first: float
    last: float
    status: int
    bytes: int
    path: str
    agent: str

    def add(self, other: Refusal) -> Refusal:
        return dataclasses.replace(
            self,
            requests=self.requests + other.requests,
            first=min(self.first, other.first),
            last=max(self.last, other.last),
        )


@dataclass(frozen=True)
class RefusalRow:
    key: RefusalKey
    counts: Refusal


def opened(url: str) -> Callable[[], State]:
    """A function giving the state, opened on first use (the app does not
    touch the database unless it needs it)."""
    found: list[State] = []

    def get() -> State:
        if not found:
            found.append(State(url))
        return found[0]

    return get
