"""The last good state of a content directory, refreshed cheaply as it changes.

Every ``interval`` seconds at most, a request pays for one walk of the
directory's ``stat`` results (no file is read). When they differ from the last
walk, or when a scheduled article's time has come, the site is loaded again;
if the new content has a problem, the problem is logged with file, line and
field and the last good site goes on being served.
"""

from __future__ import annotations

import logging
import math
import os
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import feeds
import webapp
from feeds.content import load_content
from feeds.errors import ContentError
from webapp.site import SiteFiles

Signature = tuple[tuple[str, int, int], ...]


def scan(root: Path) -> Signature:
    """(path, mtime in ns, size) of every file and folder under root, sorted."""
    found: list[tuple[str, int, int]] = []
    stack = [root]
    while stack:
        folder = stack.pop()
        try:
            entries = list(os.scandir(folder))
            found.append((str(folder), folder.stat().st_mtime_ns, 0))
        except OSError:
            continue
        for entry in entries:
            try:
                if entry.is_dir(follow_symlinks=False):
                    stack.append(Path(entry.path))
                else:
                    info = entry.stat()
                    found.append((entry.path, info.st_mtime_ns, info.st_size))
            except OSError:
                continue  # deleted between listing and stat: the next walk sees it
    return tuple(sorted(found))


def _code_mtime() -> float:
    """Newest source file of the two packages: a new release changes the bytes too."""
    newest = 0.0
    for package in (feeds, webapp):
        for path in Path(package.__file__ or ".").parent.rglob("*"):
            if path.suffix in (".py", ".html", ".css", ".xsl"):
                newest = max(newest, path.stat().st_mtime)
    return newest


class LiveSite:
    """Holds the site to serve; thread-safe; never raises on bad content."""

    def __init__(
        self,
        root: Path,
        clock: Callable[[], datetime],
        interval: float,
        logger: logging.Logger,
        base_url: str | None = None,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.root = root
        #: Overrides site.toml's base_url (previews).
        self.base_url = base_url
        #: The machine's clock, for comparing with file times (``clock`` is the
        #: publication clock, which tests may freeze).
        self.wall = wall
        self.clock = clock
        self.interval = interval
        self.logger = logger
        #: The site being served; None until content has loaded once without problems.
        self.files: SiteFiles | None = None
        #: Problems of the newest content, when it could not be loaded.
        self.problems: tuple[str, ...] = ()
        #: ``Last-Modified`` of everything served: see :meth:`_last_modified`.
        self.last_modified = datetime.fromtimestamp(0, UTC)
        #: Changes whenever what is served changes (for the preview's reload).
        self.version = 0
        self._code_mtime = _code_mtime()
        self._signature: Signature | None = None
        self._checked = -float("inf")
        self._lock = threading.Lock()
        self.refresh()

    def current(self) -> SiteFiles | None:
        """The site to serve now, after a cheap check for changes."""
        if time.monotonic() - self._checked >= self.interval or self._due():
            with self._lock:
                if time.monotonic() - self._checked >= self.interval or self._due():
                    self.refresh()
        return self.files

    def _due(self) -> bool:
        expires = self.files.expires if self.files else None
        return expires is not None and self.clock() >= expires

    def refresh(self) -> None:
        self._checked = time.monotonic()
        signature = scan(self.root)
        if signature == self._signature and not self._due():
            return
        changed = self._newest_change(signature)
        wait = math.floor(changed) + 1 - self.wall()
        if wait > 0:
            # HTTP dates count whole seconds. Serving a version before the second
            # of its newest change has ended would let a second edit within that
            # second share its Last-Modified, and readers that poll with
            # If-Modified-Since alone would never see the second edit. So a
            # change is served once its second is over: within a second.
            if self.files is not None:
                return  # the next check after the second ends takes it
            time.sleep(wait)
        self._signature = signature
        now = self.clock()
        try:
            content = load_content(self.root, self.base_url)
        except ContentError as e:
            self.problems = tuple(str(p) for p in e.problems)
            for problem in self.problems:
                self.logger.error("content problem: %s", problem)
            if self.files is not None:
                self.logger.error("still serving the last good version of %s", self.root)
            self.version += 1
            return
        self.files = SiteFiles(content, now, self.root)
        self.problems = ()
        self.version += 1
        self.last_modified = self._last_modified(changed, content.articles, now)
        self.logger.info(
            "loaded %s: %d articles, %d public",
            self.root,
            len(content.articles),
            len(self.files.listings[0].articles),
        )

    def _newest_change(self, signature: Signature) -> float:
        """Newest mtime (seconds) of any file or folder of the content (an edit,
        an addition, a deletion) or of the code; a time in the future (a skewed
        clock) counts as now."""
        newest = max((mtime for _, mtime, _ in signature), default=0) / 1e9
        return min(max(newest, self._code_mtime), self.wall())

    def _last_modified(self, changed: float, articles: tuple, now: datetime) -> datetime:  # type: ignore[type-arg]
        """The newest change, or the newest article whose time has come if later
        (a scheduled article going public changes the bytes with no file
        touched). Derived from the files alone, so the same in every worker."""
        newest = datetime.fromtimestamp(math.floor(changed), UTC)
        published = [a.date for a in articles if a.date <= now]
        if published:
            newest = max(newest, *published)
        return min(newest, now).replace(microsecond=0)
