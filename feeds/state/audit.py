"""The audit of what partners fetched, and the refusals counted by hour."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence

from sqlalchemy import delete, func, insert, select
from sqlalchemy.engine import Connection

from feeds.state.rows import OTHER, AuditEntry, Refusal, RefusalKey, RefusalRow
from feeds.state.schema import audit, refusals
from feeds.state.store import Store, dialect_insert

#: Most clients an hour the refusals name; the others' are counted as "other".
REFUSED_CLIENTS = 100


#: Refusals older than this (seconds) are deleted as new ones are written.
REFUSALS_KEPT = 90 * 86_400


#: Days a granted request's audit row is kept by default (site.toml's
#: ``audit_days``): older rows are deleted as new ones are written.
AUDIT_DAYS = 90


class Audit(Store):
    """The audit of what partners fetched, and the refusals."""

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


def _refuse(connection: Connection, counted: Mapping[RefusalKey, Refusal]) -> None:
    """:meth:`State.refuse` within ``connection``'s transaction."""
    upsert = dialect_insert(connection)
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
