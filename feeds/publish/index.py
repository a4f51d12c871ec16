"""What the last build published, kept between builds in the build cache:
the index that lets the next build do only what a change calls for.

A wire's archive only grows, and a story changes a few outputs of it: its
page, the front page and feeds of each listing it is in, the sealed page and
archive document that hold its slot. Finding those, and what each shows, needs
the order of the stories, not the stories: these tables keep, for each article
file as published (a file held back at its last good version, :mod:`feeds.content.holdback`),
what orders and groups it (dates, draft, withdrawal, listings, tag spellings,
images), and for each listing its slot sequence as an index SQLite walks in
order. Each article itself stays in the cache's ``articles`` table, read back
only for the outputs that show it. :mod:`feeds.publish.delta` asks; a full build
(:func:`fill`) writes it all, and a build that changed a few files updates
their rows (:func:`put`, :func:`drop`), in the transaction that publishes them.

Times are whole microseconds since 1970 (UTC), so that SQLite orders them as
Python orders the datetimes.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from feeds import urls

SCHEMA = """
CREATE TABLE IF NOT EXISTS ix_articles (
    path TEXT PRIMARY KEY, id TEXT NOT NULL, slug TEXT NOT NULL, date INTEGER NOT NULL,
    draft INTEGER NOT NULL, wdate INTEGER, republish INTEGER NOT NULL, modified INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS ix_articles_id ON ix_articles (id);
CREATE INDEX IF NOT EXISTS ix_articles_slug ON ix_articles (slug);
CREATE INDEX IF NOT EXISTS ix_articles_date ON ix_articles (date);
CREATE INDEX IF NOT EXISTS ix_articles_wdate ON ix_articles (wdate);
CREATE INDEX IF NOT EXISTS ix_articles_modified ON ix_articles (modified);
CREATE TABLE IF NOT EXISTS ix_members (
    listing TEXT, date INTEGER, id TEXT, path TEXT, PRIMARY KEY (listing, date, id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS ix_members_path ON ix_members (path);
CREATE TABLE IF NOT EXISTS ix_tags (
    slug TEXT, draft INTEGER, date INTEGER, path TEXT, name TEXT,
    PRIMARY KEY (slug, draft, date, path, name)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS ix_tags_path ON ix_tags (path);
CREATE TABLE IF NOT EXISTS ix_sections (
    slug TEXT, draft INTEGER, date INTEGER, path TEXT, name TEXT,
    PRIMARY KEY (slug, draft, date, path, name)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS ix_sections_path ON ix_sections (path);
CREATE TABLE IF NOT EXISTS ix_counts (key TEXT PRIMARY KEY, count INTEGER) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS ix_titles (path TEXT PRIMARY KEY, title TEXT, language TEXT);
CREATE TABLE IF NOT EXISTS ix_images (name TEXT, path TEXT, PRIMARY KEY (name, path)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS ix_images_path ON ix_images (path);
CREATE TABLE IF NOT EXISTS ix_stat (path TEXT PRIMARY KEY, mtime_ns INTEGER, size INTEGER);
CREATE TABLE IF NOT EXISTS ix_chunks (number INTEGER PRIMARY KEY, public INTEGER, changed INTEGER);
CREATE TABLE IF NOT EXISTS ix_kinds (
    pattern TEXT, lasting INTEGER, files INTEGER, PRIMARY KEY (pattern, lasting)
) WITHOUT ROWID;
"""

#: The tables with a row or more per article, by its ``path``.
_PER_ARTICLE = ("ix_articles", "ix_members", "ix_tags", "ix_sections", "ix_titles", "ix_images")
_TABLES = (
    *_PER_ARTICLE,
    "ix_stat",
    "ix_kinds",
    "ix_chunks",
    "ix_counts",
)

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def stamp(moment: datetime) -> int:
    """``moment`` as whole microseconds since 1970 (UTC), exactly."""
    return (moment - EPOCH) // _MICROSECOND


def moment(value: int) -> datetime:
    return EPOCH + value * _MICROSECOND


@dataclass(frozen=True)
class Entry:
    """An article as the index knows it: what orders and groups it."""

    path: str
    id: str
    slug: str
    date: int
    draft: bool
    #: When it is withdrawn, if it is.
    wdate: int | None
    republish: bool
    modified: int
    #: Its listings' paths: the site's, its tags', its authors' (with a file).
    listings: tuple[str, ...] = ()
    #: (slug, name) of each of its tags, as its file writes them.
    tags: tuple[tuple[str, str], ...] = ()
    images: tuple[str, ...] = ()
    #: What its month's archive page shows of it besides its slug and date.
    title: str = ""
    language: str = ""
    #: (slug, name) of its section as its file writes it, if it has one.
    section: tuple[tuple[str, str], ...] = ()

    @property
    def killed(self) -> bool:
        """Withdrawn before its date (:attr:`feeds.model.Article.killed`):
        never public, it has no slot in any listing, and its tags' spellings
        rank as a draft's; only partners' moments (its early access, its
        kill) are kept for it."""
        return self.wdate is not None and self.wdate < self.date


#: SQL: the article (of ``ix_articles``) was not killed before its date.
NOT_KILLED = "(wdate IS NULL OR wdate >= date)"


def entry(article: object, written: Sequence[tuple[str, str]] | None = None) -> Entry:
    """The index's entry of an article (:class:`feeds.model.Article`);
    ``written``: its tags as its file writes them (else as it has them)."""
    from feeds.model import Article

    assert isinstance(article, Article)
    tags = tuple(written) if written is not None else tuple((t.slug, t.name) for t in article.tags)
    found = [urls.HOME]
    for slug, _ in tags:
        found.append(urls.tag(slug))
    for author in article.authors:
        if author.id is not None:
            found.append(urls.author(author.id))
    section: tuple[tuple[str, str], ...] = ()
    if article.section:
        section = ((urls.tag_slug(article.section), article.section),)
        found.append(urls.section(section[0][0]))
    if article.killed:
        found = []  # never in a listing (the index keeps only members)
    return Entry(
        article.path,
        article.id,
        article.slug,
        stamp(article.date),
        article.draft,
        stamp(article.withdrawn.date) if article.withdrawn else None,
        article.republish,
        stamp(article.modified),
        tuple(dict.fromkeys(found)),
        tags,
        tuple(article.images),
        article.title,
        article.language,
        section,
    )


def create(db: sqlite3.Connection) -> None:
    db.executescript(SCHEMA)


def clear(db: sqlite3.Connection) -> None:
    for table in _TABLES:
        db.execute(f"DELETE FROM {table}")


def put(db: sqlite3.Connection, entries: Iterable[Entry]) -> None:
    """Add (or replace) these entries."""
    for found in entries:
        drop(db, [found.path])
        db.execute(
            "INSERT INTO ix_articles VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                found.path,
                found.id,
                found.slug,
                found.date,
                int(found.draft),
                found.wdate,
                int(found.republish),
                found.modified,
            ),
        )
        if not found.draft:
            db.executemany(
                "INSERT OR IGNORE INTO ix_members VALUES (?, ?, ?, ?)",
                [(listing, found.date, found.id, found.path) for listing in found.listings],
            )
        hidden = int(found.draft or found.killed)  # ranks as validate.unify_tags does
        db.executemany(
            "INSERT OR IGNORE INTO ix_tags VALUES (?, ?, ?, ?, ?)",
            [(slug, hidden, found.date, found.path, name) for slug, name in found.tags],
        )
        db.executemany(
            "INSERT OR IGNORE INTO ix_images VALUES (?, ?)",
            [(name, found.path) for name in found.images],
        )
        db.executemany(
            "INSERT OR IGNORE INTO ix_sections VALUES (?, ?, ?, ?, ?)",
            [
                (slug, int(found.draft), found.date, found.path, name)
                for slug, name in found.section
            ],
        )
        db.execute(
            "INSERT OR REPLACE INTO ix_titles VALUES (?, ?, ?)",
            (found.path, found.title, found.language),
        )


def drop(db: sqlite3.Connection, paths: Iterable[str]) -> None:
    for path in paths:
        for table in _PER_ARTICLE:
            db.execute(f"DELETE FROM {table} WHERE path = ?", (path,))


def get(db: sqlite3.Connection, path: str) -> Entry | None:
    """The entry of the article file ``path``, as last published."""
    row = db.execute(
        "SELECT path, id, slug, date, draft, wdate, republish, modified FROM ix_articles"
        " WHERE path = ?",
        (path,),
    ).fetchone()
    if row is None:
        return None
    listings = tuple(
        listing
        for (listing,) in db.execute(
            "SELECT listing FROM ix_members WHERE path = ? ORDER BY listing", (path,)
        )
    )
    tags = tuple(db.execute("SELECT slug, name FROM ix_tags WHERE path = ?", (path,)))
    images = tuple(n for (n,) in db.execute("SELECT name FROM ix_images WHERE path = ?", (path,)))
    section = tuple(db.execute("SELECT slug, name FROM ix_sections WHERE path = ?", (path,)))
    title, language = db.execute(
        "SELECT title, language FROM ix_titles WHERE path = ?", (path,)
    ).fetchone() or ("", "")
    return Entry(
        row[0],
        row[1],
        row[2],
        row[3],
        bool(row[4]),
        row[5],
        bool(row[6]),
        row[7],
        listings,
        tags,
        images,
        title,
        language,
        section,
    )


def by_key(db: sqlite3.Connection, key: str, value: str) -> list[str]:
    """Paths of the articles whose ``id`` or ``slug`` is ``value``."""
    assert key in ("id", "slug")
    return [p for (p,) in db.execute(f"SELECT path FROM ix_articles WHERE {key} = ?", (value,))]


def tag_name(db: sqlite3.Connection, slug: str) -> str | None:
    """The name of tag ``slug`` (:func:`feeds.content.validate.unify_tags`): as the
    oldest article that is not a draft writes it."""
    row = db.execute(
        "SELECT name FROM ix_tags WHERE slug = ? ORDER BY draft, date, path, name LIMIT 1", (slug,)
    ).fetchone()
    return None if row is None else str(row[0])


def section_name(db: sqlite3.Connection, slug: str) -> str | None:
    """The name of section ``slug`` (:func:`feeds.outputs.listings.section_names`)."""
    row = db.execute(
        "SELECT name FROM ix_sections WHERE slug = ? ORDER BY draft, date, path, name LIMIT 1",
        (slug,),
    ).fetchone()
    return None if row is None else str(row[0])


def stats(db: sqlite3.Connection) -> dict[str, tuple[int, int]]:
    return {p: (m, s) for p, m, s in db.execute("SELECT path, mtime_ns, size FROM ix_stat")}


def put_stats(db: sqlite3.Connection, found: dict[str, tuple[int, int] | None]) -> None:
    """Record each file's stat (None: it is gone)."""
    for path, info in found.items():
        if info is None:
            db.execute("DELETE FROM ix_stat WHERE path = ?", (path,))
        else:
            db.execute("INSERT OR REPLACE INTO ix_stat VALUES (?, ?, ?)", (path, *info))


# -- the state at a moment --------------------------------------------------------------
#
# An article has a slot in a listing once it is not a draft and its date has
# come; it is public while it is not withdrawn too; mourned (a tombstone in
# its feeds) for TOMBSTONE_DAYS after its withdrawal. One withdrawn before its
# date (killed) is in no listing (ix_members), public or mourned, ever.


def slots(db: sqlite3.Connection, listing: str, now: int) -> int:
    """How many slots ``listing`` has at ``now``."""
    return int(
        db.execute(
            "SELECT count(*) FROM ix_members WHERE listing = ? AND date <= ?", (listing, now)
        ).fetchone()[0]
    )


def position(db: sqlite3.Connection, listing: str, date: int, article_id: str) -> int:
    """The slot number (from 0, the oldest) of ``(date, id)`` in ``listing``."""
    return int(
        db.execute(
            "SELECT count(*) FROM ix_members"
            " WHERE listing = ? AND (date < ? OR (date = ? AND id < ?))",
            (listing, date, date, article_id),
        ).fetchone()[0]
    )


@dataclass(frozen=True)
class Slot:
    path: str
    id: str
    date: int
    wdate: int | None
    modified: int
    slug: str

    def public(self, now: int) -> bool:
        """Not withdrawn by ``now`` (a slot's article is neither a draft nor scheduled)."""
        return self.wdate is None or self.wdate > now


def window(db: sqlite3.Connection, listing: str, now: int, start: int, stop: int) -> list[Slot]:
    """Slots ``[start, stop)`` of ``listing`` at ``now``, oldest first."""
    rows = db.execute(
        "SELECT m.path, m.id, m.date, a.wdate, a.modified, a.slug FROM ix_members m"
        " JOIN ix_articles a ON a.path = m.path"
        " WHERE m.listing = ? AND m.date <= ? ORDER BY m.date, m.id LIMIT ? OFFSET ?",
        (listing, now, max(0, stop - start), start),
    )
    return [Slot(*row) for row in rows]


def newest_public(db: sqlite3.Connection, listing: str, now: int, count: int) -> list[str]:
    """Paths of the newest ``count`` public articles of ``listing``, newest first."""
    rows = db.execute(
        "SELECT m.path FROM ix_members m JOIN ix_articles a ON a.path = m.path"
        " WHERE m.listing = ? AND m.date <= ? AND (a.wdate IS NULL OR a.wdate > ?)"
        " ORDER BY m.date DESC, m.id DESC LIMIT ?",
        (listing, now, now, count),
    )
    return [p for (p,) in rows]


def public_after(
    db: sqlite3.Connection, listing: str, now: int, date: int, article_id: str, most: int
) -> int:
    """How many public articles of ``listing`` come after ``(date, id)``,
    counted up to ``most``."""
    return int(
        db.execute(
            "SELECT count(*) FROM (SELECT 1 FROM ix_members m JOIN ix_articles a"
            " ON a.path = m.path WHERE m.listing = ? AND m.date <= ?"
            " AND (a.wdate IS NULL OR a.wdate > ?) AND (m.date > ? OR (m.date = ? AND m.id > ?))"
            " ORDER BY m.date DESC, m.id DESC LIMIT ?)",
            (listing, now, now, date, date, article_id, most),
        ).fetchone()[0]
    )


def has_public(db: sqlite3.Connection, listing: str, now: int) -> bool:
    row = db.execute(
        "SELECT 1 FROM ix_members m JOIN ix_articles a ON a.path = m.path"
        " WHERE m.listing = ? AND m.date <= ? AND (a.wdate IS NULL OR a.wdate > ?) LIMIT 1",
        (listing, now, now),
    ).fetchone()
    return row is not None


def mourned(db: sqlite3.Connection, listing: str | None, now: int, days: int) -> list[str]:
    """Paths of the articles (of ``listing``; None: of any) withdrawn in the
    ``days`` up to ``now``, the most recently withdrawn first."""
    since = now - days * 86_400_000_000
    if listing is None:
        rows = db.execute(
            "SELECT path FROM ix_articles WHERE draft = 0 AND wdate <= ? AND wdate > ?"
            f" AND {NOT_KILLED} ORDER BY wdate DESC, date DESC, id DESC",
            (now, since),
        )
    else:
        rows = db.execute(
            "SELECT a.path FROM ix_members m JOIN ix_articles a ON a.path = m.path"
            " WHERE m.listing = ? AND a.wdate <= ? AND a.wdate > ?"
            " ORDER BY a.wdate DESC, a.date DESC, a.id DESC",
            (listing, now, since),
        )
    return [p for (p,) in rows]


def withdrawn(db: sqlite3.Connection, now: int) -> list[str]:
    """Paths of every article withdrawn by ``now`` (not killed before its
    date), the most recently withdrawn first."""
    rows = db.execute(
        f"SELECT path FROM ix_articles WHERE draft = 0 AND wdate <= ? AND {NOT_KILLED}"
        " ORDER BY wdate DESC, date DESC, id DESC",
        (now,),
    )
    return [p for (p,) in rows]


def oldest_public(db: sqlite3.Connection, now: int) -> int | None:
    row = db.execute(
        "SELECT min(date) FROM ix_articles WHERE draft = 0 AND date <= ?"
        " AND (wdate IS NULL OR wdate > ?)",
        (now, now),
    ).fetchone()
    return None if row[0] is None else int(row[0])


def listings(db: sqlite3.Connection, now: int, days: int) -> dict[str, int]:
    """Every listing that exists at ``now`` (it has a public article, or one
    mourned), with its number of slots."""
    since = now - days * 86_400_000_000
    rows = db.execute(
        "SELECT m.listing, count(*),"
        " max((a.wdate IS NULL OR a.wdate > ?) OR (a.wdate <= ? AND a.wdate > ?))"
        " FROM ix_members m JOIN ix_articles a ON a.path = m.path WHERE m.date <= ?"
        " GROUP BY m.listing",
        (now, now, since, now),
    )
    return {listing: int(count) for listing, count, alive in rows if alive}


def public_counts(db: sqlite3.Connection, folder: str, now: int) -> dict[str, int]:
    """The public articles of each listing under ``folder`` (``tags/``) at ``now``."""
    # Every listing under the folder sorts from "tags/" to "tags0" ("0" follows "/").
    rows = db.execute(
        "SELECT m.listing, count(*) FROM ix_members m JOIN ix_articles a ON a.path = m.path"
        " WHERE m.listing > ? AND m.listing < ? AND m.date <= ?"
        " AND (a.wdate IS NULL OR a.wdate > ?) GROUP BY m.listing",
        (folder, folder[:-1] + "0", now, now),
    )
    return {listing: int(count) for listing, count in rows}


def uses(db: sqlite3.Connection, prefix: str, now: int) -> dict[str, int]:
    """The number of slots at ``now`` of every listing under ``prefix``
    (``tags/``), existing or not: read off the key of the members alone."""
    stop = prefix[:-1] + chr(ord(prefix[-1]) + 1)
    rows = db.execute(
        "SELECT listing, count(*) FROM ix_members"
        " WHERE listing >= ? AND listing < ? AND date <= ? GROUP BY listing",
        (prefix, stop, now),
    )
    return {listing: int(count) for listing, count in rows}


# -- what the indexes count ----------------------------------------------------------------
#
# /tags/, /authors/ and /archive/ show how many public stories each tag,
# author and month holds. The counts the last build showed are kept, keyed by
# listing path or by ``month:<yyyy>-<mm>``, so that a change recounts only
# the listings and months it touches.


def put_count(db: sqlite3.Connection, key: str, count: int) -> None:
    if count:
        db.execute("INSERT OR REPLACE INTO ix_counts VALUES (?, ?)", (key, count))
    else:
        db.execute("DELETE FROM ix_counts WHERE key = ?", (key,))


def add_count(db: sqlite3.Connection, key: str, step: int) -> None:
    """Add ``step`` (a story in, +1; out, -1) to a kept count."""
    row = db.execute("SELECT count FROM ix_counts WHERE key = ?", (key,)).fetchone()
    put_count(db, key, (int(row[0]) if row else 0) + step)


def counts(db: sqlite3.Connection, prefix: str) -> dict[str, int]:
    """The kept counts whose key starts with ``prefix`` (``tags/``, ``month:``)."""
    rows = db.execute(
        "SELECT key, count FROM ix_counts WHERE key >= ? AND key < ?",
        (prefix, prefix[:-1] + chr(ord(prefix[-1]) + 1)),
    )
    return {key: int(count) for key, count in rows}


def public_dates(db: sqlite3.Connection, now: int) -> list[int]:
    """The date of every public article at ``now`` (a whole build's count of months)."""
    rows = db.execute(
        "SELECT date FROM ix_articles WHERE draft = 0 AND date <= ?"
        " AND (wdate IS NULL OR wdate > ?)",
        (now, now),
    )
    return [int(d) for (d,) in rows]


def public_between(
    db: sqlite3.Connection, start: int, stop: int, now: int
) -> list[tuple[str, str, int, str]]:
    """(slug, title, date, language) of the articles dated in ``[start, stop)``
    public at ``now``, newest first."""
    rows = db.execute(
        "SELECT a.slug, t.title, a.date, t.language FROM ix_articles a"
        " JOIN ix_titles t ON t.path = a.path WHERE a.draft = 0 AND a.date >= ? AND a.date < ?"
        " AND a.date <= ? AND (a.wdate IS NULL OR a.wdate > ?) ORDER BY a.date DESC, a.id DESC",
        (start, stop, now, now),
    )
    return [(str(s), str(t), int(d), str(lang)) for s, t, d, lang in rows]


def due(db: sqlite3.Connection, after: int, until: int, days: int) -> list[str]:
    """Paths of the articles whose state changes by itself in ``(after, until]``:
    their date comes, their withdrawal's, or its tombstone's end (for a
    killed one, only partners see those: :mod:`feeds.publish.delta` writes nothing)."""
    span = days * 86_400_000_000
    rows = db.execute(
        "SELECT path FROM ix_articles WHERE draft = 0 AND ("
        " (date > ? AND date <= ?) OR (wdate > ? AND wdate <= ?)"
        " OR (wdate + ? > ? AND wdate + ? <= ?))",
        (after, until, after, until, span, after, span, until),
    )
    return [p for (p,) in rows]


def early(db: sqlite3.Connection, after: int, until: int, early_days: int) -> list[str]:
    """Paths of the articles whose early access starts in ``(after, until]``
    (``date - early_days``: partners see them from then on), which
    :func:`due` does not look for: nothing public changes then."""
    span = early_days * 86_400_000_000
    rows = db.execute(
        "SELECT path FROM ix_articles WHERE draft = 0 AND republish = 1 AND date > ? AND date <= ?",
        (after + span, until + span),
    )
    return [p for (p,) in rows]


def next_change(
    db: sqlite3.Connection, now: int, early_days: int, days: int, news_days: int
) -> int | None:
    """The next moment after ``now`` at which what is served changes by
    itself (:func:`feeds.outputs.listings.next_change`)."""
    early, span = early_days * 86_400_000_000, days * 86_400_000_000
    news = news_days * 86_400_000_000
    found = [
        db.execute(query, (now,)).fetchone()[0]
        for query in (
            f"SELECT min(date) FROM ix_articles WHERE draft = 0 AND date > ? AND {NOT_KILLED}",
            f"SELECT min(date - {early}) FROM ix_articles"
            f" WHERE draft = 0 AND republish = 1 AND date - {early} > ?",
            "SELECT min(wdate) FROM ix_articles WHERE draft = 0 AND wdate > ?",
            f"SELECT min(wdate + {span}) FROM ix_articles WHERE draft = 0 AND wdate + {span} > ?",
            # when a story leaves the news sitemap (for some, an extra moment)
            f"SELECT min(date + {news}) FROM ix_articles WHERE draft = 0 AND date + {news} > ?"
            f" AND {NOT_KILLED}",
        )
    ]
    return min((int(v) for v in found if v is not None), default=None)


def image_shown(db: sqlite3.Connection, name: str, now: int) -> bool:
    """Does a public article show image ``name``?"""
    row = db.execute(
        "SELECT 1 FROM ix_images i JOIN ix_articles a ON a.path = i.path"
        " WHERE i.name = ? AND a.draft = 0 AND a.date <= ? AND (a.wdate IS NULL OR a.wdate > ?)"
        " LIMIT 1",
        (name, now, now),
    ).fetchone()
    return row is not None


def image_hidden(db: sqlite3.Connection, name: str, now: int) -> bool:
    """Does an article not public (a draft, scheduled, withdrawn) show image ``name``?"""
    row = db.execute(
        "SELECT 1 FROM ix_images i JOIN ix_articles a ON a.path = i.path"
        " WHERE i.name = ? AND (a.draft = 1 OR a.date > ? OR a.wdate <= ?) LIMIT 1",
        (name, now, now),
    ).fetchone()
    return row is not None


def parts(
    db: sqlite3.Connection, listing: str, now: int, size: int, count: int
) -> list[tuple[int, int, int, int, int]]:
    """For each of the first ``count`` runs of ``size`` slots of ``listing``
    (its sealed documents, its sitemaps): (number from 1, first date, last
    date, public articles, the last change: a withdrawal's date, else the
    latest ``modified``), in one pass SQLite makes over the listing's index."""
    rows = db.execute(
        "SELECT n / ? + 1, min(date), max(date), sum(public), max(changed) FROM ("
        " SELECT row_number() OVER (ORDER BY m.date, m.id) - 1 AS n, m.date AS date,"
        " (a.wdate IS NULL OR a.wdate > ?) AS public,"
        " CASE WHEN a.wdate IS NOT NULL AND a.wdate <= ? THEN a.wdate ELSE a.modified END"
        " AS changed"
        " FROM ix_members m JOIN ix_articles a ON a.path = m.path"
        " WHERE m.listing = ? AND m.date <= ?"
        ") WHERE n < ? GROUP BY n / ? ORDER BY 1",
        (size, now, now, listing, now, count * size, size),
    )
    return [tuple(int(v) for v in row) for row in rows]  # type: ignore[misc]


# -- kinds of exported files --------------------------------------------------------------
#
# ``_headers`` has a rule per kind of file (:func:`feeds.urls.pattern`, and
# whether it is lasting), not per file: it changes when a kind comes or goes.


def count_kinds(db: sqlite3.Connection, kinds: Iterable[tuple[str, bool]], step: int) -> bool:
    """Count ``step`` (1: added, -1: removed) files of each kind; whether a
    kind came or went."""
    changed = False
    for pattern, lasting in kinds:
        row = db.execute(
            "SELECT files FROM ix_kinds WHERE pattern = ? AND lasting = ?", (pattern, int(lasting))
        ).fetchone()
        before = int(row[0]) if row else 0
        after = max(0, before + step)
        changed = changed or (before == 0) != (after == 0)
        db.execute(
            "INSERT OR REPLACE INTO ix_kinds VALUES (?, ?, ?)", (pattern, int(lasting), after)
        )
    return changed


def recent(db: sqlite3.Connection, now: int, days: int, most: int) -> list[str]:
    """Paths of the public articles dated in the ``days`` up to ``now``,
    newest first, at most ``most``."""
    since = now - days * 86_400_000_000
    rows = db.execute(
        "SELECT path FROM ix_articles WHERE draft = 0 AND date <= ? AND date > ?"
        " AND (wdate IS NULL OR wdate > ?) ORDER BY date DESC, id DESC LIMIT ?",
        (now, since, now, most),
    )
    return [p for (p,) in rows]


def revisions(db: sqlite3.Connection, now: int, most: int) -> list[str]:
    """Paths of the public articles changed since their date, the latest
    changed first, at most ``most`` (:func:`feeds.outputs.listings.revisions`)."""
    rows = db.execute(
        "SELECT path FROM ix_articles WHERE modified > date AND draft = 0 AND date <= ?"
        " AND (wdate IS NULL OR wdate > ?) ORDER BY modified DESC, id DESC LIMIT ?",
        (now, now, most),
    )
    return [p for (p,) in rows]


def leaving(db: sqlite3.Connection, after: int, until: int, days: int) -> bool:
    """Does an article's ``days`` since its date end in ``(after, until]``?"""
    span = days * 86_400_000_000
    row = db.execute(
        "SELECT 1 FROM ix_articles WHERE draft = 0 AND date + ? > ? AND date + ? <= ?"
        f" AND {NOT_KILLED} LIMIT 1",
        (span, after, span, until),
    ).fetchone()
    return row is not None


def image_paths(db: sqlite3.Connection, name: str) -> list[str]:
    """Paths of the articles that show or link to image ``name``."""
    return [p for (p,) in db.execute("SELECT path FROM ix_images WHERE name = ?", (name,))]


# -- the site's sitemaps of articles ---------------------------------------------------------
#
# Each chunk of the site's slots has a sitemap; the index names each with the
# date of its last change. What each chunk had at its last build is kept, so
# that the index is made without reading every slot.


def put_chunk(db: sqlite3.Connection, number: int, found: tuple[int, int] | None) -> None:
    """Chunk ``number``'s (public articles, last change), or None: it is gone."""
    if found is None:
        db.execute("DELETE FROM ix_chunks WHERE number = ?", (number,))
    else:
        db.execute("INSERT OR REPLACE INTO ix_chunks VALUES (?, ?, ?)", (number, *found))


def chunks(db: sqlite3.Connection, count: int) -> list[tuple[int, int, int]]:
    """(number, public articles, last change) of the first ``count`` chunks."""
    rows = db.execute(
        "SELECT number, public, changed FROM ix_chunks WHERE number <= ? ORDER BY number", (count,)
    )
    return [(int(n), int(p), int(c)) for n, p, c in rows]
