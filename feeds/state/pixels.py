"""The republication pixel's counts, by article, origin and day."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from feeds.state.rows import OTHER
from feeds.state.schema import alerts, hits
from feeds.state.store import Store, dialect_insert

#: Most pixel origins counted per article and day; the others' hits are
#: counted as :data:`OTHER`.
ORIGINS_PER_DAY = 100


class Pixels(Store):
    """The republication pixel's counts."""

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
                statement = dialect_insert(connection)(alerts).values(
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
