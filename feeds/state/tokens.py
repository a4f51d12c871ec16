"""Partners and their tokens (:mod:`feeds.state.partners` decides who
may fetch what)."""

from __future__ import annotations

from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from feeds.state.rows import Partner, Token
from feeds.state.schema import deliveries, partners, tokens
from feeds.state.store import StateError, Store


class Tokens(Store):
    """Partners and their tokens."""

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
