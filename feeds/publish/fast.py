"""``feeds build`` when only articles changed: read those, build what they
change (:mod:`feeds.publish.delta`), write those files.

The build cache keeps, besides each article, the index of what was published
(:mod:`feeds.publish.index`) and the manifests of the export and its shadow. A build
finds the article files whose stat changed since, and the articles whose time
came (a scheduled date, a withdrawal, a tombstone's end), validates the files
alone, and hands both to :mod:`feeds.publish.delta`. Its cost follows the change: one
stat per article file to find it, and a few SQLite lookups per listing it
touches, whatever the size of the archive.

It declines, and the build plans the whole site as before, for anything else:
``site.toml``, an author file, an image or the code changed; a file with
problems (held back, or newly broken: :mod:`feeds.content.holdback` decides those
with the whole site in view), two files claiming one id or slug, a tag named
anew, a listing that comes or goes, an image published or withdrawn; the
clock gone back; an export or shadow folder that is not the one the cache
knows.
"""

from __future__ import annotations

import dataclasses
import json
import pickle
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from feeds import urls
from feeds.cache import Cache, thaw, thaw_author
from feeds.content import holdback
from feeds.content.directory import (
    ARTICLES,
    AUTHORS,
    PAGES,
    SITE,
    Loaded,
    Shared,
    context_of,
    image_files,
    markdown_files,
    validate_file,
)
from feeds.digest import code_version
from feeds.errors import Problem
from feeds.files import fingerprint, read_inside
from feeds.model import Article, Author, Content, ImageFile, Site
from feeds.outputs.listings import NEWS_DAYS, TOMBSTONE_DAYS
from feeds.publish import index
from feeds.publish.export import MANIFEST_FILE

if TYPE_CHECKING:
    from collections.abc import Iterable

    from feeds.outputs.render import NavLink
    from feeds.publish.delta import Delta
    from feeds.publish.report import Report

#: Bumped when what :func:`remember` keeps changes.
VERSION = "3"


def _around(root: Path, out: Path) -> str:
    """What a fast build needs unchanged besides the articles: the site's
    settings, the authors, the code and the export's place (the images are
    compared one by one)."""
    parts = [
        VERSION,
        code_version(),
        str(out.absolute()),
        fingerprint(root / AUTHORS) if (root / AUTHORS).is_dir() else "",
        # A page shows in every page's navigation: a change to one is a whole build.
        fingerprint(root / PAGES) if (root / PAGES).is_dir() else "",
    ]
    try:
        info = (root / SITE).stat()
        parts.append(f"{info.st_mtime_ns} {info.st_size}")
    except OSError:
        parts.append("")
    return "\n".join(parts)


def remember(
    cache: Cache, root: Path, out: Path, loaded: Loaded, now: datetime, nav: tuple[NavLink, ...]
) -> None:
    """After a full build: keep the index of what it published and what a
    fast build needs to know the site by (``nav``: every page's navigation)."""
    content = loaded.content
    db = cache.db
    held = {h.path for h in loaded.held}
    with cache._errors(), db:
        db.execute("BEGIN IMMEDIATE")
        index.create(db)
        index.clear(db)
        index.put(db, (index.entry(a, loaded.written.get(a.path)) for a in content.articles))
        stats = {
            path: (m, z)
            for path, m, z in db.execute("SELECT path, mtime_ns, size FROM articles")
            if path not in held
        }
        index.put_stats(db, dict(stats))
        from feeds.outputs import plan
        from feeds.publish.delta import kinds, remember_counts  # (the fast path's own rules)

        every = index.stamp(now)
        size = plan.SITEMAP_ARTICLES
        count = -(-index.slots(db, urls.HOME, every) // size)
        for number, _, _, public, changed in index.parts(db, urls.HOME, every, size, count):
            index.put_chunk(db, number, (public, changed))

        index.count_kinds(db, kinds(cache.exported_paths()), 1)
        remember_counts(db, content.site, every)
        images = {}
        for name, f in loaded.images.items():
            try:
                info = (root / urls.image(name)).stat()
            except OSError:
                continue  # gone since: the next build sees it changed
            images[name] = [info.st_mtime_ns, info.st_size, f.length, f.width, f.height]
        values = {
            "fast_around": _around(root, out),
            "fast_context": loaded.context,
            "fast_images": json.dumps(images),
            "fast_site_images": json.dumps(list(content.site_images)),
            "fast_nav": json.dumps([dataclasses.astuple(n) for n in nav]),
            "fast_now": now.isoformat(),
            # The validated settings: site.toml and the code are part of
            # ``fast_around``, so a fast build takes them as they are
            # (validating them loads the language registry, a quarter second).
            # The cache is this user's own file, written by this same code.
            "fast_site": pickle.dumps(content.site).hex(),
        }
        db.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)", values.items())


def build(
    root: Path,
    out: Path,
    now: datetime,
    cache: Cache,
    signature: str,
    strict: bool,
    taken: Mapping[str, tuple[int, int]] | None = None,
) -> Report | None:
    """Build the change since the last build, if it is one this path knows:
    the build's :class:`feeds.publish.report.Report`, else None. ``taken``:
    the stat results of the content's files the build took already, by path."""
    from feeds.outputs.render import NavLink
    from feeds.publish.delta import Change, Decline, Delta
    from feeds.publish.export import publish_changes
    from feeds.publish.report import Report

    last = cache.get("fast_now")
    if not last or cache.get("fast_around") != _around(root, out):
        return None
    t0 = datetime.fromisoformat(last)
    if now < t0 or not (out / MANIFEST_FILE).is_file():
        return None
    held = holdback.undump(cache.get("held"))
    if held is None or (strict and holdback.blocking(held)):
        return None
    db = cache.db
    index.create(db)
    problems: list[Problem] = []
    found: dict[str, tuple[int, int]] = {}
    try:
        markdown_files(root, ARTICLES, problems, found, taken)
    except OSError:
        return None  # a file gone between the listing and its stat: the whole build sees
    if problems:
        return None
    known = index.stats(db)
    changed: dict[str, tuple[int, int] | None] = {
        path: info for path, info in found.items() if known.get(path) != info
    }
    for path in known.keys() - found.keys():
        changed[path] = None
    if any(h.path in changed for h in held) or any(h.path.startswith(AUTHORS) for h in held):
        return None
    kept = cache.get("fast_site")
    if kept is None:
        return None
    try:
        site = pickle.loads(bytes.fromhex(kept))
    except Exception:  # kept by another release: the whole build validates it anew
        return None
    authors: dict[str, Author] = {}
    for _, stored in sorted(cache.good_authors(site.base_url).items()):
        author = thaw_author(stored)
        if author is None or author.id is None:
            return None
        authors[author.id] = author
    stored = json.loads(cache.get("fast_images") or "{}")
    prior = {name: (m, z, ImageFile(n, w, h)) for name, (m, z, n, w, h) in stored.items()}
    stats: dict[str, tuple[int, int]] = {}
    images = image_files(root, problems, prior, stats)
    if problems:
        return None
    # Images added, changed or removed: the articles that show them are
    # validated again (their sizes are in them), each copied or removed.
    redone = {
        name
        for name in prior.keys() | images.keys()
        if name not in images or name not in prior or prior[name][:2] != stats.get(name)
    }
    context = cache.get("fast_context") or ""
    if redone:
        context = context_of(site, authors, images)
        for name in redone:
            for path in index.image_paths(db, name):
                if path not in changed:
                    if path not in known:
                        return None
                    changed[path] = known[path]
    shared = Shared(root, site, authors, images, context)
    rows: list[tuple[str, int, int, str, str, bytes]] = []
    changes = []
    fresh = {}
    for path, seen in sorted(changed.items()):
        before = index.get(db, path)
        if seen is None:
            changes.append(Change(path, before, None))
            continue
        mtime_ns, size, sha, blob, trouble, _, _ = validate_file(shared, path)
        article = thaw(blob, authors) if blob is not None and not trouble else None
        if blob is None or article is None or (mtime_ns, size) != seen:
            return None
        for key in ("id", "slug"):
            others = set(index.by_key(db, key, getattr(article, key))) - {path}
            if others - {p for p, i in changed.items() if i is None}:
                return None
        rows.append((path, mtime_ns, size, sha, context, blob))
        fresh[path] = article
        changes.append(Change(path, before, index.entry(article)))
    t1 = index.stamp(now)
    for path in index.due(db, index.stamp(t0), t1, TOMBSTONE_DAYS.days):
        if path not in changed:
            entry = index.get(db, path)
            changes.append(Change(path, entry, entry))
    # What partners are told of (feeds.publish.stream): the articles involved as the
    # last build had them, read before their rows are replaced below.
    involved = {c.path for c in changes}
    involved.update(index.early(db, index.stamp(t0), t1, site.early_access_days))
    previous = _previous(cache, involved, authors)
    site_images = frozenset(json.loads(cache.get("fast_site_images") or "[]"))
    nav = tuple(NavLink(*n) for n in json.loads(cache.get("fast_nav") or "[]"))
    delta = Delta(cache, site, authors, frozenset(images), site_images, fresh, nav)
    delta.redone = frozenset(redone)
    delta.read = lambda name: read_inside(root, urls.image(name))
    with cache._errors():
        db.execute("BEGIN IMMEDIATE")
        try:
            try:
                files = delta.build(changes, t0, now)
            except Decline:
                db.execute("ROLLBACK")
                return None
            db.executemany("INSERT OR REPLACE INTO articles VALUES (?, ?, ?, ?, ?, ?)", rows)
            gone = [(p,) for p, i in changed.items() if i is None]
            db.executemany("DELETE FROM articles WHERE path = ?", gone)
            index.put_stats(db, changed)
            published = publish_changes(out, files, cache) if files else None
            if files and published is None:
                db.execute("ROLLBACK")
                return None
            moment = index.next_change(
                db, t1, site.early_access_days, TOMBSTONE_DAYS.days, NEWS_DAYS.days
            )
            count = cache.exported_count()
            values = {
                "fast_images": json.dumps(
                    {
                        name: [*stats[name], f.length, f.width, f.height]
                        for name, f in images.items()
                    }
                ),
                "fast_context": context,
                "fast_now": now.isoformat(),
                "now": now.isoformat(),
                "signature": signature,
                "expires": index.moment(moment).isoformat() if moment is not None else "",
                "files": str(count),
            }
            if published is not None and published.written:
                values["build"] = published.build
            db.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)", values.items())
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise
    told = _told(delta, site, authors, involved - {p for p, i in changed.items() if i is None})
    written = published.written if published is not None else 0
    changed_files = published.changed if published is not None else ()
    feeds = tuple(
        (urls.absolute(site.base_url, urls.path_of(path)), sha, sha)
        for path in changed_files
        if urls.names_hub(path) and (sha := cache.exported(path) or "")
    )
    return Report(
        count,
        written,
        changed_files,
        site.hub,
        feeds,
        held,
        delta.built,
        whole=False,
        content=told,
        previous={a.id: a for a in previous.values()},
        before=t0,
        due=index.moment(moment) if moment is not None else None,
    )


def _previous(cache: Cache, paths: Iterable[str], authors: dict[str, Author]) -> dict[str, Article]:
    """The articles at ``paths`` as the last build had them (none for a new
    file), by path."""
    found = {}
    for path in sorted(paths):
        blob = cache.article_blob(path)
        article = thaw(blob, authors) if blob is not None else None
        if article is not None:
            found[path] = article
    return found


def _told(delta: Delta, site: Site, authors: dict[str, Author], paths: Iterable[str]) -> Content:
    """The site as partners are told of it after a fast build: its authors
    and only the articles at ``paths``, as the build published them."""
    from feeds.publish.delta import Decline

    articles = []
    for path in sorted(paths):
        try:
            articles.append(delta.article(path))
        except Decline:
            continue  # not in the cache: nothing to tell of it
    return Content(site, tuple(authors[k] for k in sorted(authors)), tuple(articles))
