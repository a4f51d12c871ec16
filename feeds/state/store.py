"""What every storage area of the state database shares: the connection,
transactions, the schema brought up to date."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Table, func, insert, inspect, literal, select, text, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection
from sqlalchemy.exc import SQLAlchemyError

from feeds.errors import FeedsError
from feeds.state.engine import READ_ONLY, WATCHDOG, engine_for
from feeds.state.schema import MIGRATIONS, notices, pings, schema_version
from feeds.state.url import where


class StateError(FeedsError):
    """The state database could not be opened, read or written."""

    def __init__(self, where: str, error: Exception) -> None:
        super().__init__(f"the state database {where} failed: {error}")


class Store:
    """One state database's connection, transactions and schema; each
    storage area (:class:`feeds.state.database.State`'s bases) adds its queries."""

    def __init__(self, url: str) -> None:
        self.url = url
        #: Where it is, for messages (never a password).
        self.where = where(self.url)
        self._pid = os.getpid()
        try:
            self.engine = engine_for(self.url)
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


def dialect_insert(connection: Connection) -> Any:
    """The dialect's ``INSERT`` with ``ON CONFLICT``, for the connection's database."""
    return postgresql_insert if connection.dialect.name == "postgresql" else sqlite_insert


def take_lease(
    connection: Connection, table: Table, row_id: int, due: float, until: float, holder: str
) -> bool:
    """Lease row ``row_id`` of ``table`` (a notice, a delivery: each has
    ``next_try`` and ``holder``) to ``holder`` until ``until``; False when
    another process leased it since it was read (its ``next_try`` is no
    longer ``due``)."""
    return bool(
        connection.execute(
            update(table)
            .where(table.c.id == row_id, table.c.next_try == due)
            .values(next_try=until, holder=holder)
        ).rowcount
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
