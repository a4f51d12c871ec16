"""Connections to the state database: SQLite or PostgreSQL through one
SQLAlchemy engine, each exchange under a deadline (:class:`Watchdog`)."""

from __future__ import annotations

import os
import socket
import threading
import time
from contextlib import suppress
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DisconnectionError

from feeds.state.url import sqlite_file

#: Seconds any statement may wait (a lock, a busy database, a connection):
#: well under the 30 s after which gunicorn kills a worker.
TIMEOUT = 5.0


def engine_for(url: str) -> Engine:
    """The engine of the database at ``url``, its connections under deadlines."""
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
