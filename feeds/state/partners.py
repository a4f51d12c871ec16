"""The partner desk: tokens, who may fetch what, and what the figures say.

A token reads ``fp_<id>.<secret>``. The id says which row to look up; of the
secret (32 random bytes, URL-safe) only a SHA-256 is kept, compared in
constant time. A partner presents it as the password of HTTP Basic (any
user name: what newsboat, feedparser and ``reader`` can send), as the user
name (with any password, or none), or as ``Authorization: Bearer``.
Tokens are never written to a log: the audit keeps the id, never the secret.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo

from feeds import urls
from feeds.model import Article
from feeds.state.database import State
from feeds.state.rows import AuditEntry, Partner, RefusalRow, Token
from feeds.terminal import visible

PREFIX = "fp_"
#: The partner feeds.
EARLY_ACCESS = "early-access"
#: The partner feeds and the editors' desk.
EDITOR = "editor"
SCOPES = (EARLY_ACCESS, EDITOR)
#: How long a rotated-out token keeps working, so that a partner can switch
#: without a gap.
GRACE = timedelta(days=7)
#: The realm a 401 names.
REALM = "partners"


@dataclass(frozen=True)
class Verdict:
    """What a request's credentials come to."""

    #: "ok", or why not (what the audit records).
    outcome: str
    partner: Partner | None = None
    token: str | None = None

    @property
    def granted(self) -> bool:
        return self.outcome == "ok"


def new_token() -> tuple[str, Token]:
    """A token to hand out once, and what is kept of it."""
    token_id = secrets.token_urlsafe(9)
    secret = secrets.token_urlsafe(32)
    return f"{PREFIX}{token_id}.{secret}", Token(token_id, _sha256(secret))


def _sha256(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def presented(authorization: str) -> str | None:
    """The token in an ``Authorization`` header: Bearer, or Basic's password."""
    scheme, _, value = authorization.strip().partition(" ")
    if scheme.lower() == "bearer":
        return value.strip() or None
    if scheme.lower() == "basic":
        try:
            decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return None
        user, colon, password = decoded.partition(":")
        if not colon:
            return None
        # Either field: `curl -u "$TOKEN:"` sends it as the user name, which
        # access logs write (gunicorn's %(u)s); the password is what is meant.
        if user.startswith(PREFIX) and not password.startswith(PREFIX):
            return user
        return password or None
    return None


def authenticate(
    state: Callable[[], State], authorization: str, now: datetime, scope: str
) -> Verdict:
    """Who the credentials of a request are, and whether they may see ``scope``.
    The state database is opened (``state()``) only for a well-formed token:
    a request without one never waits for it."""
    if not authorization:
        return Verdict("no token")
    token = presented(authorization)
    if token is None:
        return Verdict("no token")
    token_id, dot, secret = token.removeprefix(PREFIX).partition(".")
    if not token.startswith(PREFIX) or not dot or not token_id or not secret:
        return Verdict("malformed token")
    found = state().token(token_id)
    if found is None:
        return Verdict("unknown token")
    partner, kept, valid_until = found
    if not hmac.compare_digest(kept, _sha256(secret)):
        return Verdict("wrong secret", partner, token_id)
    moment = now.timestamp()
    if partner.revoked is not None and partner.revoked <= moment:
        return Verdict("revoked", partner, token_id)
    if partner.expires is not None and partner.expires <= moment:
        return Verdict("expired", partner, token_id)
    if valid_until is not None and valid_until <= moment:
        return Verdict("rotated out", partner, token_id)
    if scope == EDITOR and partner.scope != EDITOR:
        return Verdict("not an editor", partner, token_id)
    return Verdict("ok", partner, token_id)


def status(partner: Partner, now: datetime) -> str:
    moment = now.timestamp()
    if partner.revoked is not None and partner.revoked <= moment:
        return "revoked"
    if partner.expires is not None and partner.expires <= moment:
        return "expired"
    return "active"


# -- figures -----------------------------------------------------------------------


@dataclass(frozen=True)
class Showing:
    """One origin that showed an article."""

    origin: str
    first: float
    last: float
    hits: int


@dataclass(frozen=True)
class Republication:
    """An article's pixel hits: who showed it, and how often each day."""

    pixel: str
    title: str
    url: str | None
    origins: tuple[Showing, ...]
    #: (day, hits), oldest first.
    days: tuple[tuple[str, int], ...]

    @property
    def hits(self) -> int:
        return sum(showing.hits for showing in self.origins)


def republications(
    rows: Iterable[tuple[str, str, str, int, float, float]],
    articles: dict[str, tuple[str, str]],
) -> list[Republication]:
    """Pixel rows (pixel, origin, day, hits, first, last) by article, most
    shown first; ``articles`` names each pixel (title, URL)."""
    by_pixel: dict[str, dict[str, list[float]]] = {}
    days: dict[str, dict[str, int]] = {}
    for pixel, origin, day, count, first, last in rows:
        seen = by_pixel.setdefault(pixel, {}).setdefault(origin, [first, last, 0])
        seen[0], seen[1], seen[2] = min(seen[0], first), max(seen[1], last), seen[2] + count
        days.setdefault(pixel, {})
        days[pixel][day] = days[pixel].get(day, 0) + count
    found = []
    for pixel, origins in by_pixel.items():
        title, url = articles.get(pixel, (f"(an article no longer in the content: {pixel})", ""))
        showings = sorted(
            (Showing(origin, f, last, int(n)) for origin, (f, last, n) in origins.items()),
            key=lambda s: (-s.hits, s.origin),
        )
        found.append(
            Republication(
                pixel, title, url or None, tuple(showings), tuple(sorted(days[pixel].items()))
            )
        )
    return sorted(found, key=lambda r: (-r.hits, r.title))


@dataclass(frozen=True)
class Alert:
    """A withdrawn story still shown: the origins whose pages loaded its
    pixel from its withdrawal on."""

    title: str
    url: str
    #: The withdrawal's moment, in seconds.
    withdrawn: float
    origins: tuple[Showing, ...]

    @property
    def hits(self) -> int:
        return sum(showing.hits for showing in self.origins)


def compliance(
    rows: Iterable[tuple[str, str, int, float, float]],
    articles: Iterable[Article],
    now: datetime,
) -> list[Alert]:
    """The compliance alerts of pixel rows (pixel, origin, hits, first, last)
    counted after a withdrawal: per story withdrawn at ``now``, the origins
    still showing it, most hits first; stories most shown first."""
    withdrawn = {
        urls.id_digest(a.id): a
        for a in articles
        if a.withdrawn is not None and a.withdrawn.date <= now
    }
    by_pixel: dict[str, list[Showing]] = {}
    for pixel, origin, count, first, last in rows:
        article = withdrawn.get(pixel)
        gone = article.withdrawn if article is not None else None
        if gone is not None and last >= gone.date.timestamp():
            by_pixel.setdefault(pixel, []).append(Showing(origin, first, last, int(count)))
    found = []
    for pixel, showings in by_pixel.items():
        article = withdrawn[pixel]
        assert article.withdrawn is not None
        found.append(
            Alert(
                article.title,
                article.url,
                article.withdrawn.date.timestamp(),
                tuple(sorted(showings, key=lambda s: (-s.hits, s.origin))),
            )
        )
    return sorted(found, key=lambda a: (-a.hits, a.title))


def moment(seconds: float | None, zone: tzinfo) -> str:
    """``2026-11-27 09:30`` in the site's zone; "" for None."""
    if seconds is None:
        return ""
    return f"{datetime.fromtimestamp(seconds, UTC).astimezone(zone):%Y-%m-%d %H:%M}"


def table(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """A plain-text table, columns aligned, for the terminal: every character
    that is not printable escaped (:func:`feeds.terminal.visible`), whatever
    the database holds."""
    lines = [
        [visible(str(cell)) for cell in header],
        *([visible(str(cell)) for cell in row] for row in rows),
    ]
    widths = [max(len(line[column]) for line in lines) for column in range(len(header))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
        for line in lines
    )


def audit_rows(entries: Iterable[AuditEntry], zone: tzinfo) -> list[tuple[object, ...]]:
    return [
        (
            moment(e.at, zone),
            e.partner or "-",
            e.token or "-",
            e.status,
            e.bytes,
            e.outcome,
            e.client,
            e.path,
            e.agent,
        )
        for e in entries
    ]


def refused_rows(found: Iterable[RefusalRow], zone: tzinfo) -> list[tuple[object, ...]]:
    """Counts of refused requests as audit rows: the last request's time,
    the first one's path and agent, and how many since when."""
    return [
        (
            moment(r.counts.last, zone),
            r.key.partner or "-",
            r.key.token or "-",
            r.counts.status,
            r.counts.bytes,
            r.key.outcome,
            r.key.client,
            r.counts.path,
            r.counts.agent,
            r.counts.requests,
            moment(r.counts.first, zone),
        )
        for r in found
    ]


AUDIT_HEADER = ("time", "partner", "token", "status", "bytes", "outcome", "client", "path", "agent")
REFUSED_HEADER = (*AUDIT_HEADER, "requests", "since")
