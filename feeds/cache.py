"""The build cache: validated articles and what the last builds wrote, in SQLite.

Everything in it is keyed by what it was made from (a file's bytes, the
"context" of site settings, authors, images and code), so a stale entry is
never used: it is simply not found. Deleting the file is always safe.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import time
import zlib
from collections.abc import Iterable, Iterator
from importlib.util import find_spec
from pathlib import Path
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS articles (
    path TEXT PRIMARY KEY, mtime_ns INTEGER, size INTEGER, sha TEXT, context TEXT, blob BLOB
);
CREATE TABLE IF NOT EXISTS blobs (name TEXT PRIMARY KEY, value BLOB);
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT);
CREATE TABLE IF NOT EXISTS files (path TEXT PRIMARY KEY, mtime_ns INTEGER, size INTEGER, sha TEXT);
"""

_code_version: str | None = None


def source_files() -> Iterator[tuple[str, Path]]:
    """(name, path) of every file of this program that shapes its output, sorted."""
    for package in ("feeds", "webapp"):
        spec = find_spec(package)
        if spec is None or spec.origin is None:
            continue
        folder = Path(spec.origin).parent
        for path in sorted(folder.rglob("*")):
            if path.suffix in (".py", ".html", ".css", ".xsl") and path.is_file():
                yield f"{package}/{path.relative_to(folder).as_posix()}", path


def code_version() -> str:
    """A hash of this program's own files: output made by other code is not reused."""
    global _code_version
    if _code_version is None:
        digest = hashlib.sha256()
        for name, path in source_files():
            digest.update(name.encode())
            digest.update(path.read_bytes())
        _code_version = digest.hexdigest()[:16]
    return _code_version


def default_path(content: Path) -> Path:
    """``$FEEDS_CACHE``, else one file per content folder under the user's cache folder."""
    configured = os.environ.get("FEEDS_CACHE")
    if configured:
        return Path(configured)
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    name = hashlib.sha256(str(content.resolve()).encode()).hexdigest()[:16]
    return base / "feeds" / f"{name}.sqlite"


def digest(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=16).hexdigest()


class Cache:
    """One SQLite file; safe to share between processes (WAL, busy timeout)."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
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

    def close(self) -> None:
        self.db.close()

    # -- articles ---------------------------------------------------------------

    def articles(self) -> dict[str, tuple[int, int, str, str, bytes]]:
        """path -> (mtime_ns, size, sha, context, pickled article)."""
        rows = self.db.execute("SELECT path, mtime_ns, size, sha, context, blob FROM articles")
        return {row[0]: row[1:] for row in rows}

    def put_articles(self, rows: Iterable[tuple[str, int, int, str, str, bytes]]) -> None:
        with self.db:
            self.db.execute("BEGIN IMMEDIATE")
            self.db.executemany(
                "INSERT OR REPLACE INTO articles VALUES (?, ?, ?, ?, ?, ?)", list(rows)
            )

    def forget_articles(self, keep: Iterable[str]) -> None:
        """Drop rows of files that are gone."""
        keep = set(keep)
        gone = [(p,) for (p,) in self.db.execute("SELECT path FROM articles") if p not in keep]
        if gone:
            with self.db:
                self.db.execute("BEGIN IMMEDIATE")
                self.db.executemany("DELETE FROM articles WHERE path = ?", gone)

    # -- outputs and the trees they were written to ------------------------------

    def outputs(self) -> dict[str, tuple[str, str]]:
        """path -> (key of its inputs, sha of its bytes), as last built."""
        found = self._blob("outputs")
        return {path: (k, s) for path, (k, s) in found.items()} if found else {}

    def put_outputs(self, outputs: dict[str, tuple[str, str]]) -> None:
        self._put_blobs({"outputs": outputs})

    def manifest(self, build: str) -> dict[str, str] | None:
        """path -> sha of what build ``build`` wrote, or None if not recorded."""
        found: dict[str, str] | None = self._blob(f"manifest {build}")
        return found

    def put_manifest(self, build: str, manifest: dict[str, str], keep: set[str]) -> None:
        """Record ``build``'s manifest and drop those of builds not in ``keep``."""
        names = {f"manifest {b}" for b in keep | {build}}
        with self.db:
            self.db.execute("BEGIN IMMEDIATE")
            stale = [
                (name,)
                for (name,) in self.db.execute(
                    "SELECT name FROM blobs WHERE name LIKE 'manifest %'"
                )
                if name not in names
            ]
            self.db.executemany("DELETE FROM blobs WHERE name = ?", stale)
            self.db.execute(
                "INSERT OR REPLACE INTO blobs VALUES (?, ?)",
                (f"manifest {build}", zlib.compress(json.dumps(manifest).encode(), 1)),
            )

    def _blob(self, name: str) -> Any:
        row = self.db.execute("SELECT value FROM blobs WHERE name = ?", (name,)).fetchone()
        return None if row is None else json.loads(zlib.decompress(row[0]))

    def _put_blobs(self, values: dict[str, object]) -> None:
        with self.db:
            self.db.execute("BEGIN IMMEDIATE")
            self.db.executemany(
                "INSERT OR REPLACE INTO blobs VALUES (?, ?)",
                [(k, zlib.compress(json.dumps(v).encode(), 1)) for k, v in values.items()],
            )

    # -- files copied as they are --------------------------------------------------

    def digests(self, files: dict[str, Path]) -> dict[str, str]:
        """name -> digest of each file, read again only when its stat changed."""
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
            result[name] = digest(path.read_bytes())
            fresh.append((str(path), info.st_mtime_ns, info.st_size, result[name]))
        if fresh:
            with self.db:
                self.db.execute("BEGIN IMMEDIATE")
                self.db.executemany("INSERT OR REPLACE INTO files VALUES (?, ?, ?, ?)", fresh)
        return result

    # -- small values --------------------------------------------------------------

    def get(self, name: str) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE name = ?", (name,)).fetchone()
        return None if row is None else str(row[0])

    def set(self, **values: str) -> None:
        with self.db:
            self.db.execute("BEGIN IMMEDIATE")
            self.db.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)", list(values.items()))
