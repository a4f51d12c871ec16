"""The change stream partners read and the webhooks owed
(:mod:`feeds.publish.stream`, :mod:`feeds.publish.webhooks`)."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

from sqlalchemy import func, insert, select, text, update
from sqlalchemy.engine import Connection

from feeds.state.rows import Delivery, DeliveryRow, Endpoint, StreamRow, Telling
from feeds.state.schema import changes, deliveries, endpoints, partners, told
from feeds.state.store import Store, dialect_insert, take_lease


class Changes(Store):
    """What partners were told of, the stream of changes, the webhooks owed."""

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
                            dialect_insert(connection)(told)
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
            for row in due:  # unless another process leased it meanwhile
                if take_lease(connection, deliveries, row[0], row[6], now + lease, holder):
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
