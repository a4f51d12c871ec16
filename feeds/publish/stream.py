"""The change stream partners read (``/partners/changes.json``) and the
webhooks push: every change of what a partner sees, once, in order.

What partners were last told of each article is in the state database
(table ``told``); a version of the site (the app's, as each worker loads it,
or a build's) is compared with it, article by article (:mod:`feeds.publish.events`),
and each change is appended to the stream in the same transaction that
moves the article's row: however many workers and servers judge the same
change, one appends it (:meth:`feeds.state.database.State.tell`). A worker still
serving an older version never takes a row back.

A change is ``{"seq", "event", "id", "at", "url", "item"}``: the sequence
number, the event, the article's id, when it happened (RFC 3339), its URL
and its ninjs item as a partner's copy should now be. A consumer that
applies the changes in order (an item replaces its copy; ``withdrawn``
removes it) holds exactly what is public and in the early access.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from feeds import urls
from feeds.model import Article, Content, Site, Withdrawal
from feeds.outputs import ninjs
from feeds.outputs.render import rfc3339
from feeds.publish import events
from feeds.state.database import State
from feeds.state.rows import StreamRow, Telling

#: Most changes in one answer of ``/partners/changes.json``.
PAGE = 100


def item(article: Article, site: Site, now: datetime) -> dict[str, Any]:
    """The ninjs item of ``article`` as partners get it (:func:`feeds.outputs.ninjs.item`)."""
    return ninjs.item(article, site, now, partner=True)


def gone(
    article: Article | None, article_id: str, site: Site, now: datetime, reason: str
) -> dict[str, Any]:
    """The item of an article no longer there for partners, without a
    withdrawal of its own (deleted, a draft again, ``republish: false``):
    canceled, with the reason, built from the version last served when
    there is one (headline, byline, dates; never its text)."""
    if article is None:
        return {
            "uri": urls.as_uri(article_id),
            "standard": dict(ninjs.STANDARD),
            "type": "text",
            "representationtype": "partial",
            "pubstatus": "canceled",
            "ednote": reason,
        }
    killed = dataclasses.replace(
        article, republish=True, draft=False, withdrawn=Withdrawal(now, reason)
    )
    return item(killed, site, now)


def when(kind: str, article: Article | None, now: datetime) -> datetime:
    """When a change happened: an embargo's lifting and a withdrawal at
    their own moment (the clock may have passed it before anyone looked),
    anything else when it was seen."""
    if article is not None and kind == events.RELEASED:
        return min(article.date, now)
    if article is not None and kind == events.WITHDRAWN and article.withdrawn is not None:
        return min(article.withdrawn.date, now)
    return now


def tellings(
    content: Content,
    told: Mapping[str, tuple[int, str, float]],
    now: datetime,
    previous: Mapping[str, Article] | None = None,
    only: Collection[str] | None = None,
) -> list[Telling]:
    """The changes of ``content`` at ``now`` from what partners were
    ``told`` (:meth:`feeds.state.database.State.told`). ``previous``: the articles
    of the version served before, by id, for the item of one that is gone.
    ``only``: judge these articles alone (:func:`moved`)."""
    site = content.site
    current = {a.id: a for a in content.articles}
    found = []
    keys = current.keys() | told.keys() if only is None else only
    for key in sorted(keys):
        article = current.get(key)
        known = told.get(key)
        old = events.Standing.load(known[1]) if known else None
        new = events.standing(article, now, site)
        kind = events.event(old, new)
        if kind is None:
            continue
        source = article or (previous or {}).get(key)
        url = source.url if source else ""
        if kind == events.WITHDRAWN and (article is None or new is None):
            # Gone for partners without a withdrawal of its own.
            body = gone(source, key, site, now, events.reason(new))
            standing = events.Standing(events.WITHDRAWN, "", None, 0, events.reason(new))
        else:
            assert article is not None and new is not None
            body = item(article, site, now)
            standing = new
        found.append(
            Telling(
                key,
                known[0] if known else 0,
                kind,
                standing.dump(),
                when(kind, article, now).timestamp(),
                url,
                json.dumps(body, ensure_ascii=False, sort_keys=True),
            )
        )
    return found


def record(
    state: State,
    content: Content,
    now: datetime,
    as_of: float,
    wall: float,
    previous: Mapping[str, Article] | None = None,
    before: datetime | None = None,
) -> list[int]:
    """Tell partners of what changed in ``content`` at ``now`` (a version
    dated ``as_of``), unless another process did: the sequence numbers of
    the changes this caller appended. With ``before``, the moment of the
    ``previous`` version (which this process has told of), only what moved
    since is judged (:func:`moved`): a reload costs what changed, not the
    site."""
    base = content.site.base_url
    only = None
    if previous is not None and before is not None:
        only = moved(previous, content, before, now)
        if not only:
            return []
    told = state.told(base, only)
    found = tellings(content, told, now, previous, only)
    return state.tell(base, found, as_of, wall)


def moved(
    previous: Mapping[str, Article], content: Content, before: datetime, now: datetime
) -> set[str]:
    """The ids of the articles whose standing for partners may differ
    between ``previous`` at ``before`` and ``content`` at ``now``: those
    added, removed or changed, and those a moment of which (the early
    access, the date, a withdrawal) came in between."""
    early = timedelta(days=content.site.early_access_days)
    found = set(previous.keys() - {a.id for a in content.articles})
    for article in content.articles:
        old = previous.get(article.id)
        if old is None or (old is not article and old != article):
            found.add(article.id)
            continue
        moments = [article.date - early, article.date]
        if article.withdrawn is not None:
            moments.append(article.withdrawn.date)
        if any(before < moment <= now for moment in moments):
            found.add(article.id)
    return found


@dataclass(frozen=True)
class Change:
    """One change as partners read it."""

    seq: int
    event: str
    id: str
    at: datetime
    url: str
    item: dict[str, Any]

    @classmethod
    def of(cls, row: StreamRow) -> Change:
        return cls(
            row.seq,
            row.event,
            row.article,
            datetime.fromtimestamp(row.at, UTC),
            row.url,
            json.loads(row.item),
        )

    def json(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "event": self.event,
            "id": self.id,
            "at": rfc3339(self.at.replace(microsecond=0)),
            "url": self.url,
            "item": self.item,
        }

    def body(self) -> bytes:
        """The bytes a webhook sends: the same object as in the stream."""
        return json.dumps(self.json(), ensure_ascii=False, sort_keys=True).encode()


class BadCursor(ValueError):
    """A ``since`` that is no cursor of the stream."""


def cursor(since: str | None) -> int:
    """The sequence number a ``since`` stands for; from the start without one."""
    if since is None or since == "":
        return 0
    if not since.isascii() or not since.isdigit() or len(since) > 18:
        raise BadCursor(f"since must be a cursor from this stream (a 'next'), got {since[:40]!r}")
    return int(since)


def page(state: State, site: str, since: int, limit: int = PAGE) -> bytes:
    """``/partners/changes.json``: at most ``limit`` changes after
    ``since``, oldest first, and the cursor to ask for the next ones with
    (the same when there are none yet: ask again later)."""
    rows = state.changes(site, since, limit)
    found = [Change.of(row).json() for row in rows]
    following = rows[-1].seq if rows else since
    return (
        json.dumps(
            {"changes": found, "next": str(following)}, ensure_ascii=False, sort_keys=True
        ).encode()
        + b"\n"
    )
