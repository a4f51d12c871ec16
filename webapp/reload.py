"""The last good state of a content directory, refreshed cheaply as it changes.

A watcher thread in each process walks the directory's ``stat`` results every
``interval`` seconds (no file is read); requests never do. When the walk
differs from the last one, or when a scheduled article's time has come, the
site is loaded again. Every problem is logged with file, line and field. A
broken file holds back only itself (:mod:`feeds.content.holdback`): its last good
version, from this worker's previous load or the build cache, goes on being
served (or, never good, it stays out) while every other change is served. A
broken ``site.toml`` holds back everything: the last good site goes on being
served whole.
"""

from __future__ import annotations

import logging
import math
import os
import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

from feeds import urls
from feeds.cache import Cache, CacheError
from feeds.content.directory import AUTHORS, Loaded, Signature, load, scan
from feeds.digest import source_files
from feeds.errors import ContentError
from feeds.model import Content
from feeds.outputs.listings import is_public, last_change
from feeds.outputs.plan import Plan
from feeds.parallel import no_gc
from webapp.http import Served

#: The bytes of rendered feed entries a worker keeps for reuse while it
#: renders a version (:class:`feeds.outputs.render.Entries`): it keeps every
#: file it rendered anyway, so entries only spare the first requests' work,
#: and a worker's memory stays the files it serves.
APP_ENTRY_BUDGET = 16 * 2**20


def _code_mtime() -> float:
    """Newest source file of the program: a new release changes the bytes too."""
    return max((path.stat().st_mtime for _, path in source_files()), default=0.0)


@dataclass(frozen=True)
class Snapshot:
    """What is served, swapped whole so a request never mixes two versions."""

    #: The site; None until the content has loaded once (with a good site.toml).
    served: Served | None
    #: ``Last-Modified`` of everything in ``served``: see :meth:`LiveSite._publish`.
    last_modified: datetime
    #: Problems of the newest content: of the files held back, or of what
    #: stopped it from loading.
    problems: tuple[str, ...] = ()
    #: Changes whenever what is served or reported changes (the preview reloads).
    version: int = 0


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
        cache: Path | None = None,
        drafts: bool = False,
        cdn_max_age: int | None = None,
    ) -> None:
        self.root = root
        #: With a CDN in front: how long it may keep what it is sent.
        self.cdn_max_age = cdn_max_age
        #: Show drafts and scheduled articles (``feeds serve --drafts`` only).
        self.drafts = drafts
        self.clock = clock
        self.interval = interval
        self.logger = logger
        #: Overrides site.toml's base_url (previews).
        self.base_url = base_url
        #: The machine's clock, for comparing with file times (``clock`` is the
        #: publication clock, which tests may freeze).
        self.wall = wall
        #: The build cache file, when there is one.
        self.cache = cache
        self.snapshot = Snapshot(None, datetime.fromtimestamp(0, UTC))
        self._loaded: Loaded | None = None  # the last good content
        #: The files public outputs were built from, at the last publish.
        self._public: frozenset[str] | None = None
        self._code_mtime = _code_mtime()
        self._signature: Signature | None = None
        self._checked = -float("inf")
        self._lock = threading.Lock()
        self._starting = threading.Lock()
        self._watching = 0  # the process whose watcher thread runs
        #: How long the last load of the content took.
        self.load_seconds = 0.0
        #: Called with each new snapshot served (never in a preview's).
        self.on_publish: Callable[[Snapshot], None] | None = None
        self.refresh()

    def current(self) -> Snapshot:
        """What to serve now.

        With an interval, a thread of this process looks for changes every
        ``interval`` seconds and loads them while requests go on being served
        from the last snapshot: no request pays for the walk or the load. With
        none (tests), every request checks first.
        """
        if self.interval > 0:
            # The watcher publishes changes and articles whose time has come;
            # a request never waits for it, however slow a reload is.
            self._watch_in_this_process()
            return self.snapshot
        with self._lock:
            self.refresh()
        return self.snapshot

    def _watch_in_this_process(self) -> None:
        """Start the watcher, once per process (a server may fork after create_app)."""
        if self._watching == os.getpid():
            return
        with self._starting:  # not the reload lock: a reload may be under way
            if self._watching != os.getpid():
                # The first request of this process: what it serves is the
                # newest content (it may have idled since it loaded), and from
                # now on it counts as a worker serving the site.
                try:
                    with self._lock:
                        self.refresh()
                except Exception:  # as the watcher: log, and serve what there is
                    self.logger.exception("looking for changes in %s failed", self.root)
                self._watching = os.getpid()
                watcher = threading.Thread(
                    target=_watch,
                    args=(weakref.ref(self), self.interval),
                    daemon=True,
                    name="feeds-watch",
                )
                watcher.start()
                if self.on_publish is not None and self.snapshot.served is not None:
                    self.on_publish(self.snapshot)

    def serving_here(self) -> bool:
        """Does this process serve requests (a server's master does not)?"""
        return self.interval <= 0 or self._watching == os.getpid()

    def _due(self) -> bool:
        """Has the time come at which what is public changes by itself?"""
        served = self.snapshot.served
        expires = served.plan.expires if served else None
        return expires is not None and _whole(self.clock()) >= expires

    def refresh(self) -> None:
        self._checked = time.monotonic()
        signature = scan(self.root)
        if signature == self._signature:
            if self._due() and self._loaded is not None:
                self._publish(self._loaded, signature, self.snapshot.problems)
            return
        changed = self._newest_change(signature)
        wait = math.floor(changed) + 1 - self.wall()
        if wait > 0:
            # HTTP dates count whole seconds. Serving a version before the second
            # of its newest change has ended would let a second edit within that
            # second share its Last-Modified, and readers that poll with
            # If-Modified-Since alone would never see the second edit. So a
            # change is served once its second is over: within a second.
            if self.snapshot.served is not None:
                return  # the next check after the second ends takes it
            time.sleep(wait)
        self._signature = signature  # a failed load is retried when files change
        started = time.monotonic()
        try:
            loaded = self._load()
        except ContentError as e:
            self._report(tuple(str(p) for p in e.problems))
            return
        except Exception as e:  # a bug, not bad content: keep serving, tell the operator
            self.logger.exception("could not load %s", self.root)
            self._report((f"{self.root}: could not be loaded ({type(e).__name__}: {e})",))
            return
        problems = tuple(str(p) for p in loaded.problems)
        for held in loaded.held:
            for problem in held.problems:
                self.logger.error("content problem: %s; %s", problem, held.verdict)
        self._loaded = loaded
        self.load_seconds = time.monotonic() - started
        self._publish(loaded, signature, problems)
        now = self.clock()
        articles = loaded.content.articles
        public = sum(1 for a in articles if is_public(a, now))
        shown = ""
        if self.drafts and self.snapshot.served is not None:
            listed = len(self.snapshot.served.plan.listings[0].articles)
            shown = f"; the preview shows {listed}, drafts and scheduled ones marked"
        self.logger.info(
            "loaded %s: %d articles, %d public%s", self.root, len(articles), public, shown
        )

    def _load(self) -> Loaded:
        """The content, each broken file held back at its last good version
        (from the previous load, else the cache) or left out: one broken
        file (a draft, an article mid-edit) must not hold back the rest,
        whether it was broken when the app started or broke later."""
        previous = self._loaded.content if self._loaded is not None else None
        if self.cache is None:
            return load(self.root, self.base_url, partial=True, previous=previous)
        try:
            cache = Cache(self.cache)  # a connection per load: requests come on many threads
            try:
                with no_gc():
                    return load(self.root, self.base_url, cache, partial=True, previous=previous)
            finally:
                cache.close()
        except CacheError as e:  # the cache only saves time: do without it
            self.logger.warning("%s", e)
            return load(self.root, self.base_url, partial=True, previous=previous)

    def _report(self, problems: tuple[str, ...]) -> None:
        for problem in problems:
            self.logger.error("content problem: %s", problem)
        if self.snapshot.served is not None:
            self.logger.error("still serving the last good version of %s", self.root)
        self.snapshot = replace(self.snapshot, problems=problems, version=self.snapshot.version + 1)

    def _newest_change(self, signature: Signature) -> float:
        """Newest mtime (seconds) of any file or folder of the content (an edit,
        an addition, a deletion) or of the code; a time in the future (a skewed
        clock) counts as now."""
        newest = max((mtime for _, mtime, _ in signature), default=0) / 1e9
        return min(max(newest, self._code_mtime), self.wall())

    def _publish(self, loaded: Loaded, signature: Signature, problems: tuple[str, ...]) -> None:
        """Serve ``loaded`` as of now. Its Last-Modified is the newest change
        of something public (:func:`public_change`), or the newest article
        whose time has come if later (a scheduled article going public changes
        the bytes with no file touched): derived from the files alone, so the
        same in every worker, and never moved by a draft or an embargoed
        story. It is never later than the machine's clock, which dates the
        responses. Then :attr:`on_publish` hears of it (the WebSub pusher)."""
        now = _whole(self.clock())
        plan = Plan(loaded, now, self.drafts, APP_ENTRY_BUDGET)
        public = public_files(loaded.content, plan.images, now, self.drafts)
        changed = public_change(self.root, signature, public, self._public)
        self._public = public
        # Each change is dated by the end of its second (a file written at
        # 12:00:00.3 by 12:00:01), which it is served from (:meth:`refresh`);
        # a story coming due at 12:00:00 by that moment, and it is served from
        # then (``now`` counts whole seconds). So a version served after
        # another always has a later Last-Modified: a story coming due and an
        # edit within that second never share one.
        newest = math.floor(max(changed, self._code_mtime)) + 1
        came = last_change(loaded.content, now)
        if came is not None:
            newest = max(newest, math.ceil(came.timestamp()))
        self.snapshot = Snapshot(
            served=Served(plan, self.root, self.cdn_max_age),
            last_modified=datetime.fromtimestamp(min(newest, math.floor(self.wall())), UTC),
            problems=problems,
            version=self.snapshot.version + 1,
        )
        if self.on_publish is not None:
            self.on_publish(self.snapshot)


def _whole(moment: datetime) -> datetime:
    """``moment`` to the whole second, as HTTP dates count: what comes due
    within a second is served from its end, as an edit is."""
    return moment.replace(microsecond=0)


def public_files(
    content: Content, images: frozenset[str], now: datetime, drafts: bool = False
) -> frozenset[str]:
    """The files of the content directory that public outputs are built from,
    relative to it: ``site.toml``, every author, every article but drafts and
    those whose time has not come (an embargoed story's included: partners
    read it, the public does not), and the public images. A withdrawn article
    counts: its page and tombstones are public; not one killed before its
    date, which nothing public shows. With ``drafts`` (a preview), every article."""
    return frozenset(
        ["site.toml"]
        + [a.path for a in content.articles if drafts or not (a.draft or a.killed or a.date > now)]
        + [f"{AUTHORS}/{a.id}.md" for a in content.authors if a.id is not None]
        + [urls.image(name) for name in images]
    )


def public_change(
    root: Path, signature: Signature, public: frozenset[str], before: frozenset[str] | None
) -> float:
    """The newest change, in seconds, of something public: the newest mtime
    of the files in ``public``. A file that joined or left them since
    ``before`` (a deletion, an article made a draft again, a file copied in
    with an old mtime) also counts with its folder's mtime, which its
    arrival or removal moved. No other file or folder counts, so a draft's or
    an embargoed story's edit, an addition of one, an editor's swap file,
    leave every public response as it was."""
    prefix = str(root) + os.sep
    times = {path.removeprefix(prefix): mtime for path, mtime, _ in signature}
    moved = public ^ before if before is not None else frozenset[str]()
    folders = {os.path.dirname(name) for name in moved}
    newest = max(
        [times[name] for name in public | moved if name in times]
        + [times[folder] for folder in folders if folder in times]
        + ([times[str(root)]] if "" in folders and str(root) in times else []),
        default=0,
    )
    return newest / 1e9


def _watch(site: weakref.ref[LiveSite], interval: float) -> None:
    """Look for changes every ``interval`` seconds while the site is in use (the
    thread ends when its app is gone)."""
    while True:
        time.sleep(interval)
        live = site()
        if live is None:
            return
        try:
            with live._lock:
                live.refresh()
        except Exception:  # never let the watcher die: log, and look again
            live.logger.exception("looking for changes in %s failed", live.root)
        del live
