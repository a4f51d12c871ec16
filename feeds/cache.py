"""The build cache: validated articles and what the last builds wrote, in SQLite.

Everything in it is keyed by what it was made from (a file's bytes, the
"context" of site settings, authors, images and code), so a stale entry is
never used: it is simply not found. It holds data, never code: articles are
stored as a line of JSON and their body's HTML, and a row that does not read
back as an article is a miss. Each article's row is the last version of its
file that was published, and so, while the file is broken, its last good
version (:mod:`feeds.content.holdback`); author files keep theirs in ``authors``.
Deleting the file is always safe.
"""

from __future__ import annotations

import json
import sqlite3
import time
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from feeds.digest import digest
from feeds.errors import FeedsError

if TYPE_CHECKING:  # the model is imported where articles are stored and read back,
    # so that a no-op build, which only asks the cache what it last did, does without it
    from feeds.model import Article, Author, Image

SCHEMA = """
CREATE TABLE IF NOT EXISTS articles (
    path TEXT PRIMARY KEY, mtime_ns INTEGER, size INTEGER, sha TEXT, context TEXT, blob BLOB
);
CREATE TABLE IF NOT EXISTS blobs (name TEXT PRIMARY KEY, value BLOB);
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT);
CREATE TABLE IF NOT EXISTS files (path TEXT PRIMARY KEY, mtime_ns INTEGER, size INTEGER, sha TEXT);
CREATE TABLE IF NOT EXISTS authors (path TEXT, base TEXT, blob BLOB, PRIMARY KEY (path, base));
CREATE TABLE IF NOT EXISTS exported (path TEXT PRIMARY KEY, sha TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS shadowed (path TEXT PRIMARY KEY, sha TEXT);
"""

#: Bumped when the layout of a stored article changes: old rows become misses.
FORMAT = 5

T = TypeVar("T")

#: (mtime_ns, size, sha of the file, context, stored article)
Row = tuple[int, int, str, str, bytes]


class CacheError(FeedsError):
    """The build cache could not be read or written."""

    def __init__(self, path: Path, error: Exception) -> None:
        self.path = path
        super().__init__(
            f"the build cache {path} failed ({error}); build with --no-cache, "
            "or delete the file (it only saves time)"
        )


def default_path(content: Path, environ: Mapping[str, str], base_url: str | None = None) -> Path:
    """``$FEEDS_CACHE``, else one file per content folder under the user's cache
    folder, and one per address it is served at otherwise than site.toml's
    (a preview's ``base_url``): what is validated for one address is not the
    other's, nor its last good versions. ``environ``: the environment, as
    the edge (the command, the app) read it."""
    configured = environ.get("FEEDS_CACHE")
    if configured:
        return Path(configured)
    base = Path(environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    served = "" if base_url is None else f" {base_url}"
    name = digest(f"{content.resolve()}{served}".encode())[:16]
    return base / "feeds" / f"{name}.sqlite"


class Cache:
    """One SQLite file; safe to share between processes (WAL, busy timeout).
    Every storage failure is raised as :class:`CacheError`."""

    def __init__(self, path: Path) -> None:
        self.path = path
        with self._errors():
            path.parent.mkdir(parents=True, exist_ok=True)
            self.db = sqlite3.connect(path, timeout=30, isolation_level=None)
            # Processes that open a new cache at once (app workers starting) can
            # find it locked while another sets it up; SQLite does not wait for
            # that one, so wait here.
            for attempt in range(50):
                try:
                    self.db.execute("PRAGMA journal_mode=WAL")
                    self.db.execute("PRAGMA synchronous=NORMAL")
                    self.db.executescript(SCHEMA)
                    break
                except sqlite3.OperationalError as e:
                    if "locked" not in str(e) or attempt == 49:
                        raise
                    time.sleep(0.1)

    @contextmanager
    def _errors(self) -> Iterator[None]:
        try:
            yield
        except (sqlite3.Error, OSError) as e:
            raise CacheError(self.path, e) from e

    def _write(self, statement: str, rows: Iterable[tuple[Any, ...]]) -> None:
        with self._errors(), self.db:
            self.db.execute("BEGIN IMMEDIATE")
            self.db.executemany(statement, list(rows))

    def close(self) -> None:
        with self._errors():
            self.db.close()

    # -- articles ---------------------------------------------------------------

    def articles(self) -> dict[str, Row]:
        """path -> (mtime_ns, size, sha, context, stored article)."""
        with self._errors():
            rows = self.db.execute("SELECT path, mtime_ns, size, sha, context, blob FROM articles")
            return {row[0]: row[1:] for row in rows}

    def put_articles(self, rows: Iterable[tuple[str, int, int, str, str, bytes]]) -> None:
        self._write("INSERT OR REPLACE INTO articles VALUES (?, ?, ?, ?, ?, ?)", rows)

    def article_blob(self, path: str) -> bytes | None:
        """The stored article of ``path``, whatever it was validated with."""
        with self._errors():
            row = self.db.execute("SELECT blob FROM articles WHERE path = ?", (path,)).fetchone()
        return None if row is None else row[0]

    def forget_articles(self, keep: Iterable[str]) -> None:
        """Drop rows of files that are gone."""
        keep = set(keep)
        with self._errors():
            known = [p for (p,) in self.db.execute("SELECT path FROM articles")]
        gone = [(p,) for p in known if p not in keep]
        if gone:
            self._write("DELETE FROM articles WHERE path = ?", gone)

    # -- authors' last good versions ---------------------------------------------

    def good_authors(self, base: str) -> dict[str, bytes]:
        """path -> the last published version of each author file, for the
        site at address ``base``."""
        with self._errors():
            rows = self.db.execute("SELECT path, blob FROM authors WHERE base = ?", (base,))
            return {path: blob for path, blob in rows}

    def put_good_authors(self, base: str, authors: dict[str, bytes], present: set[str]) -> None:
        """Keep ``authors`` (path -> :func:`freeze_author`) as the last good
        versions of the author files of the site at ``base``: only what
        changed is written; the rows of files no longer ``present`` are
        dropped (those of broken files stay: they are their last good versions)."""
        known = self.good_authors(base)
        gone = [(path, base) for path in known if path not in present]
        if not gone and all(known.get(path) == blob for path, blob in authors.items()):
            return
        with self._errors(), self.db:
            self.db.execute("BEGIN IMMEDIATE")
            self.db.executemany("DELETE FROM authors WHERE path = ? AND base = ?", gone)
            self.db.executemany(
                "INSERT OR REPLACE INTO authors VALUES (?, ?, ?)",
                [(path, base, blob) for path, blob in authors.items() if known.get(path) != blob],
            )

    # -- outputs and the trees they were written to ------------------------------

    def outputs(self) -> dict[str, tuple[str, str]]:
        """path -> (key of its inputs, sha of its bytes), as last built."""
        found: dict[str, list[str]] | None = self._blob("outputs", dict)
        try:
            return {path: (k, s) for path, (k, s) in found.items()} if found else {}
        except (ValueError, TypeError):
            return {}  # not ours, or damaged: as if never written

    def put_outputs(self, outputs: dict[str, tuple[str, str]]) -> None:
        self._write("INSERT OR REPLACE INTO blobs VALUES (?, ?)", [("outputs", _pack(outputs))])

    # The live export's manifest is the table ``exported`` (path -> digest),
    # and the shadow folder's, one version behind, is that with ``shadowed``
    # (path -> digest it holds there, NULL: none) in place: a build that
    # changes a few files changes a few rows.

    def manifest(self, build: str) -> dict[str, str] | None:
        """path -> sha of what build ``build`` wrote, or None if not recorded
        (it is neither the live export's nor the shadow's)."""
        live, shadow = self.get("out_build"), self.get("shadow_build")
        if build not in (live, shadow):
            return None
        with self._errors():
            found = dict(self.db.execute("SELECT path, sha FROM exported"))
            if build != live:
                for path, sha in self.db.execute("SELECT path, sha FROM shadowed"):
                    if sha is None:
                        found.pop(path, None)
                    else:
                        found[path] = sha
        if not all(_inside(path) for path in found):
            return None
        return found

    def put_manifest(self, build: str, manifest: dict[str, str], keep: set[str]) -> None:
        """Record ``build``'s manifest as the live export's; the previous live
        export's, if in ``keep``, as the shadow's."""
        live = self.get("out_build")
        with self._errors(), self.db:
            self.db.execute("BEGIN IMMEDIATE")
            old = dict(self.db.execute("SELECT path, sha FROM exported"))
            self.db.execute("DELETE FROM exported")
            self.db.execute("DELETE FROM shadowed")
            self.db.executemany("INSERT INTO exported VALUES (?, ?)", sorted(manifest.items()))
            shadow = live if live is not None and live in keep else ""
            if shadow:
                self.db.executemany(
                    "INSERT INTO shadowed VALUES (?, ?)",
                    [
                        (path, old.get(path))
                        for path in old.keys() | manifest.keys()
                        if old.get(path) != manifest.get(path)
                    ],
                )
            self.db.executemany(
                "INSERT OR REPLACE INTO meta VALUES (?, ?)",
                [("out_build", build), ("shadow_build", shadow)],
            )

    def exported(self, path: str) -> str | None:
        """The digest of ``path`` in the live export, if it has it."""
        with self._errors():
            row = self.db.execute("SELECT sha FROM exported WHERE path = ?", (path,)).fetchone()
        return None if row is None else str(row[0])

    def exported_under(self, folder: str) -> list[str]:
        """The live export's files under ``folder`` (ending in ``/``)."""
        with self._errors():
            rows = self.db.execute(
                "SELECT path FROM exported WHERE path >= ? AND path < ?",
                (folder, folder[:-1] + chr(ord("/") + 1)),
            )
            return [p for (p,) in rows]

    def exported_paths(self) -> list[str]:
        with self._errors():
            return [p for (p,) in self.db.execute("SELECT path FROM exported")]

    def exported_count(self) -> int:
        with self._errors():
            return int(self.db.execute("SELECT count(*) FROM exported").fetchone()[0])

    def shadowed(self) -> dict[str, str | None] | None:
        """Where the shadow folder differs from the live export: path -> the
        digest it holds there (None: it lacks the file). None when a row names
        a path outside an export: not one a build wrote (the shadow would lose
        a file beside it)."""
        with self._errors():
            found = dict(self.db.execute("SELECT path, sha FROM shadowed"))
        # A row naming a path outside an export is not one a build wrote: the
        # shadow would lose a file beside it.
        return found if all(_inside(path) for path in found) else None

    def swapped(self, build: str, changes: Mapping[str, str | None]) -> None:
        """The shadow, brought up to the live export and changed by
        ``changes`` (path -> new digest, None: removed), is now live as
        ``build``; the export it replaced is the shadow. Written in the
        caller's transaction."""
        live = self.get("out_build") or ""
        self.db.execute("DELETE FROM shadowed")
        for path, sha in changes.items():
            row = self.db.execute("SELECT sha FROM exported WHERE path = ?", (path,)).fetchone()
            self.db.execute("INSERT INTO shadowed VALUES (?, ?)", (path, row and row[0]))
            if sha is None:
                self.db.execute("DELETE FROM exported WHERE path = ?", (path,))
            else:
                self.db.execute("INSERT OR REPLACE INTO exported VALUES (?, ?)", (path, sha))
        self.db.executemany(
            "INSERT OR REPLACE INTO meta VALUES (?, ?)",
            [("out_build", build), ("shadow_build", live)],
        )

    def _blob(self, name: str, kind: Callable[..., T]) -> T | None:
        with self._errors():
            row = self.db.execute("SELECT value FROM blobs WHERE name = ?", (name,)).fetchone()
        if row is None:
            return None
        try:
            value = json.loads(zlib.decompress(row[0]))
        except (zlib.error, ValueError, TypeError, RecursionError):
            return None  # not ours, or damaged: as if never written
        return value if isinstance(value, kind) else None  # type: ignore[arg-type]

    # -- files copied as they are --------------------------------------------------

    def digests(
        self, files: dict[str, Path], read: Callable[[Path], bytes] = Path.read_bytes
    ) -> dict[str, str]:
        """name -> digest of each file, read (with ``read``) again only when its
        stat changed."""
        with self._errors():
            known = {
                p: (m, z, s)
                for p, m, z, s in self.db.execute("SELECT path, mtime_ns, size, sha FROM files")
            }
        result, fresh = {}, []
        for name, path in files.items():
            info = path.stat()
            row = known.get(str(path))
            if row is not None and row[:2] == (info.st_mtime_ns, info.st_size):
                result[name] = row[2]
                continue
            result[name] = digest(read(path))
            fresh.append((str(path), info.st_mtime_ns, info.st_size, result[name]))
        if fresh:
            self._write("INSERT OR REPLACE INTO files VALUES (?, ?, ?, ?)", fresh)
        return result

    # -- small values --------------------------------------------------------------

    def get(self, name: str) -> str | None:
        with self._errors():
            row = self.db.execute("SELECT value FROM meta WHERE name = ?", (name,)).fetchone()
        return None if row is None else str(row[0])

    def set(self, **values: str) -> None:
        self._write("INSERT OR REPLACE INTO meta VALUES (?, ?)", values.items())


def _pack(value: object) -> bytes:
    return zlib.compress(json.dumps(value).encode(), 1)


def _inside(path: str) -> bool:
    """Is ``path`` (from a manifest) a path inside an export folder?"""
    parts = path.split("/")
    return bool(path) and not path.startswith("/") and ".." not in parts and "\0" not in path


# -- articles as data -----------------------------------------------------------------


def freeze(article: Article) -> bytes:
    """An article as one line of JSON, then its body's HTML as it is: the body
    is most of an article, and as a JSON string (every quote of its markup
    escaped) it took three times as long to read back. JSON escapes every
    newline, so the first one ends the JSON. Authors with a file are stored by
    id and joined to the current ones when read (the row's context includes
    every author, so they are the ones it was validated with); the licence by
    its id."""
    fields = json.dumps(
        [
            FORMAT,
            article.path,
            article.id,
            article.slug,
            article.url,
            article.title,
            article.date.isoformat(),
            [a.id if a.id is not None else [a.name, a.url, a.bio_html] for a in article.authors],
            article.summary,
            None,  # the body follows the JSON
            article.license.id,
            article.language,
            article.producer,
            article.source,
            article.subtitle,
            article.updated.isoformat() if article.updated else None,
            _image_data(article.image),
            [[t.name, t.slug] for t in article.tags],
            article.section,
            article.canonical_url,
            article.republish,
            article.draft,
            [[c.date.isoformat(), c.text] for c in article.corrections],
            [w.date.isoformat(), w.reason] if (w := article.withdrawn) else None,
            list(article.images),
        ],
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return f"{fields}\n{article.body_html}".encode()


def _image_data(image: Image | None) -> list[Any] | None:
    if image is None:
        return None
    return [
        image.url,
        image.alt,
        image.caption,
        image.credit,
        image.credit_url,
        image.distributable,
        image.media_type,
        image.length,
        image.width,
        image.height,
    ]


def freeze_author(author: Author) -> bytes:
    """An author file's :class:`Author` as a line of JSON."""
    fields = [FORMAT, author.id, author.name, author.url, author.affiliation, author.email]
    return json.dumps([*fields, author.bio_html, list(author.images)], ensure_ascii=False).encode()


def thaw_author(data: bytes | None) -> Author | None:
    """The author :func:`freeze_author` stored, or None when ``data`` is not one."""
    if not isinstance(data, bytes):
        return None
    from feeds.model import Author  # only where an author is read back, as for articles

    try:
        version, author_id, name, url, affiliation, email, bio_html, images = json.loads(data)
        if version != FORMAT or not isinstance(author_id, str) or not isinstance(name, str):
            return None
        return Author(author_id, name, url, affiliation, email, bio_html, tuple(images))
    except (ValueError, TypeError, RecursionError):
        return None


def thaw(data: bytes, authors: dict[str, Author]) -> Article | None:
    """The article :func:`freeze` stored, or None when ``data`` is not one
    (another version's layout, damage, or anything else written there)."""
    from feeds.licenses import LICENSES
    from feeds.model import Article, Author, Correction, Image, Tag, Withdrawal

    if not isinstance(data, bytes):
        return None  # NULL, or text: not a row freeze wrote
    try:
        end = data.index(b"\n")
        (
            version,
            path,
            entry_id,
            slug,
            url,
            title,
            date,
            byline,
            summary,
            _,
            license_id,
            language,
            producer,
            source,
            subtitle,
            updated,
            image,
            tags,
            section,
            canonical_url,
            republish,
            draft,
            corrections,
            withdrawn,
            images,
        ) = json.loads(data[:end])
        if version != FORMAT:
            return None
        body_html = data[end + 1 :].decode()
        return Article(
            path=path,
            id=entry_id,
            slug=slug,
            url=url,
            title=title,
            date=datetime.fromisoformat(date),
            authors=tuple(
                authors[a] if isinstance(a, str) else Author(None, a[0], a[1], bio_html=a[2])
                for a in byline
            ),
            summary=summary,
            body_html=body_html,
            license=LICENSES[license_id],
            language=language,
            producer=producer,
            source=source,
            subtitle=subtitle,
            updated=datetime.fromisoformat(updated) if updated else None,
            image=Image(*image) if image else None,
            tags=tuple(Tag(name, tag_slug) for name, tag_slug in tags),
            section=section,
            canonical_url=canonical_url,
            republish=republish,
            draft=draft,
            corrections=tuple(Correction(datetime.fromisoformat(d), t) for d, t in corrections),
            withdrawn=(
                Withdrawal(datetime.fromisoformat(withdrawn[0]), withdrawn[1])
                if withdrawn
                else None
            ),
            images=tuple(images),
        )
    except (ValueError, TypeError, KeyError, IndexError, RecursionError):
        return None
