"""The outputs a few changed articles call for, found and built without the
rest of the site: the build's fast path.

Given what changed (article files added, edited or removed, and articles
whose time came: a scheduled date, a withdrawal, a tombstone's end), this
module reads the index of what the last build published (:mod:`feeds.publish.index`)
before and after the change, and decides, listing by listing, which of its
outputs can differ: the front page and feeds of each listing a story is in,
the sealed page and archive document that hold its slot (every later one when
a slot was inserted or removed, which only a back-dated story does), the
archive page when a document was sealed, the story's own page, the
withdrawals, the sitemap that lists it, and the site's lists of listings when
one comes or goes. It builds each with the same builders and the same inputs
as :mod:`feeds.outputs.plan` gives them, reading back only the articles they show, so
that the bytes are those a full build writes (a property the tests check).

What it does not know how to do quickly, it declines (:class:`Decline`): the
build then plans the whole site.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from feeds import urls
from feeds.cache import Cache, thaw
from feeds.model import Article, Author, Site, Tag
from feeds.outputs import headers, listings, plan
from feeds.outputs.feedgen_formats import EPOCH
from feeds.outputs.i18n import words_for
from feeds.outputs.listings import (
    NEWS_DAYS,
    NEWS_MOST,
    TOMBSTONE_DAYS,
    Channel,
    Document,
    FeedLink,
    History,
    Page,
    SitemapEntry,
    author_channel,
    home_channel,
    news_entry,
    page_nav,
    section_channel,
    tag_channel,
)
from feeds.outputs.ninjs import ninjs_file
from feeds.outputs.opml import build_opml
from feeds.outputs.pages import (
    ArchiveEntry,
    IndexEntry,
    MonthEntry,
    MonthStory,
    archive_page,
    article_page,
    author_index_page,
    feeds_page,
    listing_page,
    month_page,
    news_sitemap,
    sitemap,
    sitemap_index,
    tag_index_page,
    withdrawals_page,
    withdrawn_page,
)
from feeds.outputs.plan import (
    FEED_BUILDERS,
    TAG_INDEX_MOST,
    WITHDRAWAL_BUILDERS,
    by_use,
    document_inputs,
    every_outline,
    index_order,
    listing_feeds,
    outlined,
    updates_channel,
    withdrawals_channel,
)
from feeds.outputs.render import NavLink, Renderer, rfc3339
from feeds.publish import index
from feeds.publish.index import Entry, stamp


class Decline(Exception):
    """This change is not one the fast path knows how to make: plan it all."""


@dataclass(frozen=True)
class Change:
    """An article file as last published, and as it is now (None: absent)."""

    path: str
    before: Entry | None
    after: Entry | None


#: What the fast path found to write: path -> its new bytes, or None to remove it.
Files = dict[str, bytes | None]


@dataclass(frozen=True)
class _Seen:
    """A listing at one moment, as far as the change touches it."""

    exists: bool
    slots: int
    #: Slot numbers of the changed articles in it.
    positions: frozenset[int]
    #: (date, id) of each changed article with a slot in it.
    keys: frozenset[tuple[int, str]]
    #: A changed article is among its feeds' entries or tombstones.
    in_feeds: bool
    #: (id, public) of each changed article with a slot in it.
    public: frozenset[tuple[str, bool]]


DAYS = TOMBSTONE_DAYS.days


class Delta:
    """One fast build: the index before and after, and what to write."""

    def __init__(
        self,
        cache: Cache,
        site: Site,
        authors: Mapping[str, Author],
        images: frozenset[str],
        site_images: frozenset[str],
        fresh: Mapping[str, Article],
        nav: tuple[NavLink, ...] = (),
    ) -> None:
        self.db = cache.db
        self.cache = cache
        self.site = site
        self.authors = dict(authors)
        #: Every file under images/, and those shown whatever is published.
        self.images, self.site_images = images, site_images
        self.renderer = Renderer(site, nav)
        self.words = words_for(site.language, site.language, site.zone)
        #: The site's own feeds, linked from every page.
        self.site_feeds = listing_feeds(site, home_channel(site))
        self.updates = updates_channel(site, self.words)
        #: The changed articles as just validated, by path.
        self.fresh = fresh
        self._articles: dict[str, Article] = {}
        self._names: dict[str, str | None] = {}
        #: How many outputs were built (the tests count them).
        self.built = 0
        #: Images added, changed or removed since the last build, and how to
        #: read one (its name under images/).
        self.redone: frozenset[str] = frozenset()
        self.read: Callable[[str], bytes] = _unread

    # -- reading articles back -------------------------------------------------------

    def article(self, path: str) -> Article:
        found = self._articles.get(path)
        if found is None:
            thawed = self.fresh.get(path)
            if thawed is None:
                blob = self.cache.article_blob(path)
                thawed = thaw(blob, self.authors) if blob is not None else None
            if thawed is None:
                raise Decline(f"{path} is not in the build cache")
            found = self._articles[path] = self._unified(thawed)
        return found

    def _unified(self, article: Article) -> Article:
        tags = tuple(Tag(self._name(t.slug) or t.name, t.slug) for t in article.tags)
        return article if tags == article.tags else replace(article, tags=tags)

    def _name(self, slug: str) -> str | None:
        if slug not in self._names:
            self._names[slug] = index.tag_name(self.db, slug)
        return self._names[slug]

    def articles(self, paths: Iterable[str]) -> tuple[Article, ...]:
        return tuple(self.article(p) for p in paths)

    # -- the listings ------------------------------------------------------------------

    def channel(self, listing: str) -> Channel:
        if listing == urls.HOME:
            return home_channel(self.site)
        kind, key = listing.rstrip("/").split("/", 1)
        if kind == "tags":
            name = self._name(key)
            if name is None:
                raise Decline(f"no name for tag {key}")
            return tag_channel(self.site, key, name)
        if kind == "sections":
            name = index.section_name(self.db, key)
            if name is None:
                raise Decline(f"no name for section {key}")
            return section_channel(self.site, key, name)
        author = self.authors.get(key)
        if author is None:
            raise Decline(f"no author {key}")
        return author_channel(self.site, author)

    def seen(self, listing: str, changes: Iterable[Entry], now: int) -> _Seen:
        db, size = self.db, self.site.feed_items
        positions, keys, in_feeds, public = set(), set(), False, set()
        for found in changes:
            if listing not in found.listings or found.draft:
                continue
            withdrawn = _withdrawn(found, now)
            if found.date <= now:
                positions.add(index.position(db, listing, found.date, found.id))
                keys.add((found.date, found.id))
                public.add((found.id, not withdrawn))
            if withdrawn and found.wdate is not None and now - found.wdate < DAYS * 86_400_000_000:
                in_feeds = True  # a tombstone
            elif found.date <= now and not withdrawn:
                after = index.public_after(db, listing, now, found.date, found.id, size)
                in_feeds = in_feeds or after < size
        exists = listing == urls.HOME or bool(
            index.has_public(db, listing, now) or index.mourned(db, listing, now, DAYS)
        )
        slots = index.slots(db, listing, now)
        return _Seen(
            exists, slots, frozenset(positions), frozenset(keys), in_feeds, frozenset(public)
        )

    # -- what a listing shows --------------------------------------------------------------

    def shown(self, listing: str, now: int, start: int, stop: int) -> tuple[Article, ...]:
        """The public articles among slots ``[start, stop)``, newest first."""
        found = index.window(self.db, listing, now, start, stop)
        return self.articles(s.path for s in reversed(found) if s.public(now))

    def feeds_of(self, channel: Channel) -> tuple[FeedLink, ...]:
        site_feeds = self.site_feeds
        if channel.path == urls.HOME:
            return site_feeds + listing_feeds(self.site, self.updates)
        return listing_feeds(self.site, channel) + site_feeds

    def document(self, listing: str, number: int, now: int, mourned: list[str]) -> Document:
        size = self.site.feed_items
        found = index.window(self.db, listing, now, (number - 1) * size, number * size)
        ids = {s.path for s in found}
        return Document(
            listing,
            number,
            self.articles(s.path for s in reversed(found) if s.public(now)),
            self.articles(p for p in mourned if p in ids),
            first=index.moment(found[0].date),
            last=index.moment(found[-1].date),
        )

    def entries(self, listing: str, now: int, sealed: int) -> tuple[ArchiveEntry, ...]:
        """What the archive page of ``listing`` lists: each sealed document,
        newest first, with its dates and number of public articles."""
        found = index.parts(self.db, listing, now, self.site.feed_items, sealed)
        return tuple(
            ArchiveEntry(
                urls.archive(listing, number),
                number,
                index.moment(first),
                index.moment(last),
                public,
            )
            for number, first, last, public, _ in reversed(found)
        )

    # -- the build -------------------------------------------------------------------------

    def build(self, changes: list[Change], t0: datetime, t1: datetime) -> Files:
        """Apply ``changes`` to the index (in the caller's transaction) and
        give every file whose bytes may differ."""
        before, after = stamp(t0), stamp(t1)
        olds = [c.before for c in changes if c.before is not None]
        news = [c.after for c in changes if c.after is not None]
        touched = sorted({listing for e in olds + news for listing in e.listings})
        slugs = {slug for e in olds + news for slug, _ in e.tags}
        names_before = {slug: index.tag_name(self.db, slug) for slug in slugs}
        sections = {slug for e in olds + news for slug, _ in e.section}
        sections_before = {slug: index.section_name(self.db, slug) for slug in sections}
        seen_before = {listing: self.seen(listing, olds, before) for listing in touched}
        withdrawn_before = any(_withdrawn(e, before) for e in olds)
        since_before = index.oldest_public(self.db, before)
        images_before = self._public_images(olds + news, before)

        index.drop(self.db, [c.path for c in changes])
        index.put(self.db, news)
        self._names.clear()
        for slug in slugs:
            name = index.tag_name(self.db, slug)
            if None not in (name, names_before[slug]) and name != names_before[slug]:
                raise Decline(f"the tag {slug} is named anew")
        for slug in sections:
            if index.section_name(self.db, slug) != sections_before[slug]:
                raise Decline(f"the section {slug} is named anew (every page's navigation)")

        self._recount(changes, before, after)
        files: Files = {}
        seen_after = {listing: self.seen(listing, news, after) for listing in touched}
        size = self.site.feed_items
        if any(
            seen_before[x].exists != seen_after[x].exists
            for x in touched
            if x.startswith(urls.SECTIONS)
        ):
            raise Decline("a section comes or goes (every page's navigation)")
        lists_changed = any(
            seen_before[x].exists != seen_after[x].exists
            or (seen_before[x].slots >= size) != (seen_after[x].slots >= size)
            for x in touched
        )
        for listing in touched:
            self._listing(listing, seen_before[listing], seen_after[listing], after, files)
        for change in changes:
            self._article(change, after, files)
        self._months(changes, before, after, files)
        self._indexes(changes, before, after, files)
        if (
            any(_withdrawn(e, after) for e in news)
            or withdrawn_before
            or (since_before != index.oldest_public(self.db, after))
        ):
            self._withdrawals(after, files)
        if any(_revised(e, before) for e in olds) or any(_revised(e, after) for e in news):
            self._updates(after, files)
        news_span = NEWS_DAYS // timedelta(microseconds=1)
        fresh = any(e.date > min(before, after) - news_span for e in olds + news if not e.killed)
        had_news = self._exported(urls.SITEMAP_NEWS)
        has_news = had_news
        if fresh or index.leaving(self.db, before, after, NEWS_DAYS.days):
            has_news = self._news(after, files)
        if urls.HOME in touched or has_news != had_news:
            home = seen_after.get(urls.HOME) or self.seen(urls.HOME, (), after)
            self._sitemaps(seen_before.get(urls.HOME, home), home, after, files, has_news)
        # /feeds/ and the OPML lists show tags most used first: their order.
        used = {
            x: seen_before[x].slots
            for x in touched
            if x.startswith(urls.TAGS) and seen_before[x].slots != seen_after[x].slots
        }
        reordered = False
        if used and not lists_changed:  # (the tags' keys only, not their articles)
            uses = index.uses(self.db, urls.TAGS, after)
            reordered = _ranked(uses) != _ranked({**uses, **used})
        if lists_changed or reordered:  # (the one step here that reads every listing)
            self._lists(index.listings(self.db, after, DAYS), after, files, lists_changed)
        images_after = self._public_images(olds + news, after)
        for name in images_before.keys() | images_after.keys() | self.redone:
            path = urls.image(name)
            if name in self.images and (
                images_after.get(name, self._public(name, after)) or name in self.site_images
            ):
                if name in self.redone or not images_before.get(name, True):
                    files[path] = self.read(name)
            elif self._exported(path):
                files[path] = None
        self._headers(files, lists_changed)
        return files

    def _headers(self, files: Files, force: bool) -> None:
        """``_headers``, when a kind of file or a subscription feed came or went."""
        added = [
            p
            for p, data in files.items()
            if data is not None and p not in _HOSTS and not self._exported(p)
        ]
        removed = [p for p, data in files.items() if data is None and self._exported(p)]
        came = index.count_kinds(self.db, (_kind(p) for p in added), 1)
        went = index.count_kinds(self.db, (_kind(p) for p in removed), -1)
        if not (force or came or went):
            return
        paths = (set(self.cache.exported_paths()) | set(added)) - set(removed)
        paths -= _HOSTS
        rules = headers.rules(self.site, [(p, _kind(p)[1]) for p in sorted(paths)])
        self._render(files, headers.HEADERS_FILE, _headers_file, rules)

    def _exported(self, path: str) -> bool:
        return self.cache.exported(path) is not None

    def _render(
        self, files: Files, path: str, build: Callable[..., bytes], *inputs: object
    ) -> None:
        self.built += 1
        files[path] = build(self.renderer, *inputs)

    def _listing(self, listing: str, old: _Seen, new: _Seen, now: int, files: Files) -> None:
        if not new.exists:
            if old.exists:
                for path in self.cache.exported_under(listing):
                    if _of_listing(path, listing):
                        files[path] = None
            return
        moved = old.positions | new.positions
        if not old.exists:  # it is new: all of it
            first, structural = 0, True
        else:
            first, structural = min(moved, default=0), old.keys != new.keys
        changed_at = old.positions | new.positions
        channel = self.channel(listing)
        feeds = self.feeds_of(channel)
        mourned = index.mourned(self.db, listing, now, DAYS)
        size = self.site.feed_items
        # Pages.
        sealed_old, sealed = old.slots // listings.PAGE_SIZE, new.slots // listings.PAGE_SIZE
        pages = _affected(
            changed_at, first, structural, sealed_old, sealed, listings.PAGE_SIZE, old.exists
        )
        docs_old, docs = old.slots // size, new.slots // size
        documents = _affected(changed_at, first, structural, docs_old, docs, size, old.exists)
        has_archive = listing == urls.HOME or docs > 0
        archive = urls.archives(listing) if has_archive else None
        front = Page(
            channel,
            None,
            self.shown(listing, now, max(0, sealed - 1) * listings.PAGE_SIZE, new.slots),
            *page_nav(None, sealed),
        )
        self._render(files, urls.file_of(listing), listing_page, front, feeds, archive, None)
        for number in sorted(pages):
            if number > sealed:
                files[urls.file_of(urls.page(listing, number))] = None
                continue
            start = (number - 1) * listings.PAGE_SIZE
            page = Page(
                channel,
                number,
                self.shown(listing, now, start, start + listings.PAGE_SIZE),
                *page_nav(number, sealed),
            )
            path = urls.file_of(urls.page(listing, number))
            self._render(files, path, listing_page, page, feeds, None, None)
        # Archive documents, and the page that lists them.
        for number in sorted(documents):
            for fmt, build in FEED_BUILDERS.items():
                path = urls.feed(urls.archive(listing, number), fmt)
                if number > docs:
                    files[path] = None
                    continue
                document = self.document(listing, number, now, mourned)
                inputs = document_inputs(channel, document, docs, self.site, self.words)
                self._render(files, path, build, *inputs)
        moved_sealed = structural and first < max(docs, docs_old) * size
        if docs != docs_old or moved_sealed or (documents and old.public != new.public):
            path = urls.file_of(urls.archives(listing))
            if has_archive:
                self._archive(listing, channel, feeds, now, docs, files)
            else:
                files[path] = None
        # Its subscription feeds.
        if old.in_feeds or new.in_feeds or docs != docs_old or not old.exists:
            history = History(prev=urls.archive(listing, docs)) if docs else None
            shown = self.articles(index.newest_public(self.db, listing, now, size))
            for fmt, build in FEED_BUILDERS.items():
                path = urls.feed(listing, fmt)
                self._render(files, path, build, channel, shown, self.articles(mourned), history)

    def _archive(
        self,
        listing: str,
        channel: Channel,
        feeds: tuple[FeedLink, ...],
        now: int,
        docs: int,
        files: Files,
    ) -> None:
        """A listing's archive page; the site's lists its months too."""
        entries = self.entries(listing, now, docs)
        path = urls.file_of(urls.archives(listing))
        if listing != urls.HOME:
            self._render(files, path, archive_page, channel, entries, feeds)
            return
        kept = index.counts(self.db, MONTH_KEY)
        months = tuple(
            MonthEntry(int(key[6:10]), int(key[11:13]), count)
            for key, count in sorted(kept.items(), reverse=True)
        )
        self._render(files, path, archive_page, channel, entries, feeds, months)

    def _month_of(self, found: Entry | None, now: int) -> tuple[int, int] | None:
        """The (year, month) of an article public at ``now``, in the site's zone."""
        if (
            found is None
            or found.draft
            or found.killed
            or found.date > now
            or _withdrawn(found, now)
        ):
            return None
        local = index.moment(found.date).astimezone(self.site.zone)
        return local.year, local.month

    def _bounds(self, year: int, month: int) -> tuple[int, int]:
        """The stamps a month of the site's zone starts and ends at."""
        after = (year + 1, 1) if month == 12 else (year, month + 1)
        return (
            stamp(datetime(year, month, 1, tzinfo=self.site.zone)),
            stamp(datetime(*after, 1, tzinfo=self.site.zone)),
        )

    def _recount(self, changes: list[Change], before: int, after: int) -> None:
        """Count the public stories the changes move into or out of each
        month and each tag's and author's listing, one by one (the counts are
        kept in the index: the archive page and the indexes read them all
        without counting the archive)."""
        self._redo: set[tuple[int, int]] = set()
        self._moved: set[str] = set()
        self._months_moved = False
        steps: dict[str, int] = {}
        for change in changes:  # (each article once: a file's change, or its time come)
            old = self._month_of(change.before, before)
            new = self._month_of(change.after, after)
            self._redo.update(m for m in (old, new) if m is not None)
            if old != new:
                self._months_moved = True
                for month, step in ((old, -1), (new, 1)):
                    if month is not None:
                        key = month_key(*month)
                        steps[key] = steps.get(key, 0) + step
            was = set(change.before.listings) if change.before and old else set()
            now = set(change.after.listings) if change.after and new else set()
            self._moved |= was ^ now
            for listing in was ^ now:
                if listing.startswith((urls.TAGS, urls.AUTHOR_INDEX)):
                    steps[listing] = steps.get(listing, 0) + (1 if listing in now else -1)
        for key, step in steps.items():
            if step:
                index.add_count(self.db, key, step)

    def _month(self, year: int, month: int, now: int, files: Files) -> None:
        """A month's archive page, or its removal once it lists nothing."""
        path = urls.file_of(urls.month(year, month))
        stories = tuple(
            MonthStory(slug, title, index.moment(date), language)
            for slug, title, date, language in index.public_between(
                self.db, *self._bounds(year, month), now
            )
        )
        if stories:
            self._render(files, path, month_page, year, month, stories)
        elif self._exported(path):
            files[path] = None

    def _months(self, changes: list[Change], before: int, after: int, files: Files) -> None:
        """The month pages the changes show in, and the site's archive page
        when a month's count moved."""
        for year, month in sorted(self._redo):
            self._month(year, month, after, files)
        path = urls.file_of(urls.archives(urls.HOME))
        if self._months_moved and path not in files:
            channel = home_channel(self.site)
            docs = index.slots(self.db, urls.HOME, after) // self.site.feed_items
            self._archive(urls.HOME, channel, self.feeds_of(channel), after, docs, files)

    def _indexes(self, changes: list[Change], before: int, after: int, files: Files) -> None:
        """``/tags/`` and ``/authors/``, when a story came into or left one of
        their listings (their counts moved)."""
        moved = self._moved
        if any(x.startswith(urls.TAGS) for x in moved):
            counts = index.counts(self.db, urls.TAG_INDEX)
            found = sorted(
                (IndexEntry(path, "", count) for path, count in counts.items() if count),
                key=index_order,
            )
            shown = []
            for entry in found[:TAG_INDEX_MOST]:
                name = self._name(entry.path[len(urls.TAGS) : -1])
                if name is None:
                    raise Decline(f"no name for {entry.path}")
                shown.append(replace(entry, name=name))
            more = max(0, len(found) - TAG_INDEX_MOST)
            path = urls.file_of(urls.TAG_INDEX)
            self._render(files, path, tag_index_page, tuple(shown), more)
        if any(x.startswith(urls.AUTHOR_INDEX) for x in moved):
            counts = index.counts(self.db, urls.AUTHOR_INDEX)
            entries = []
            for path, count in counts.items():
                author = self.authors.get(path[len(urls.AUTHOR_INDEX) : -1])
                if author is None:
                    raise Decline(f"no author for {path}")
                if count:
                    entries.append(IndexEntry(path, author.name, count))
            entries.sort(key=lambda e: (e.name.casefold(), e.path))
            path = urls.file_of(urls.AUTHOR_INDEX)
            self._render(files, path, author_index_page, tuple(entries))

    def _article(self, change: Change, now: int, files: Files) -> None:
        site_feeds = self.site_feeds
        old, new = change.before, change.after
        if old is not None and (new is None or new.slug != old.slug):
            for path in (urls.file_of(urls.article(old.slug)), urls.ninjs(old.slug)):
                if self._exported(path):
                    files[path] = None
        if new is None:
            return
        path, item = urls.file_of(urls.article(new.slug)), urls.ninjs(new.slug)
        shown = not new.draft and not new.killed and new.date <= now
        article = self.article(new.path) if shown else None
        if article is None:
            pass
        elif _withdrawn(new, now):
            self._render(files, path, withdrawn_page, article, site_feeds)
            if article.republish and article.withdrawn is not None:
                self._render(files, item, ninjs_file, article, article.withdrawn.date)
        else:
            self._render(files, path, article_page, article, site_feeds, None)
            if article.republish:
                self._render(files, item, ninjs_file, article, article.date)
        for gone in (path, item):
            if gone not in files and self._exported(gone):
                files[gone] = None

    def _withdrawals(self, now: int, files: Files) -> None:
        site_feeds = self.site_feeds
        channel = withdrawals_channel(self.site, self.words)
        gone = self.articles(index.withdrawn(self.db, now))
        oldest = index.oldest_public(self.db, now)
        since = index.moment(oldest) if oldest is not None else EPOCH
        for fmt, build in WITHDRAWAL_BUILDERS.items():
            self._render(files, urls.feed(urls.WITHDRAWALS, fmt), build, channel, gone, since)
        gone_feeds = listing_feeds(self.site, channel)
        path = urls.file_of(urls.WITHDRAWALS)
        self._render(files, path, withdrawals_page, gone, gone_feeds + site_feeds)
        notices = tuple(sorted(urls.file_of(urls.article(a.slug)) for a in gone))
        self._render(files, headers.REDIRECTS_FILE, _redirects_file, self.site, notices)

    def _updates(self, now: int, files: Files) -> None:
        revised = self.articles(index.revisions(self.db, now, self.site.feed_items))
        for fmt, build in FEED_BUILDERS.items():
            path = urls.feed(urls.UPDATES, fmt)
            self._render(files, path, build, self.updates, revised, (), None)

    def _news(self, now: int, files: Files) -> bool:
        """The Google News sitemap: whether there is one."""
        recent = tuple(
            news_entry(a)
            for a in self.articles(index.recent(self.db, now, NEWS_DAYS.days, NEWS_MOST))
            if a.canonical_url is None
        )
        if recent:
            self._render(files, urls.SITEMAP_NEWS, news_sitemap, recent)
        elif self._exported(urls.SITEMAP_NEWS):
            files[urls.SITEMAP_NEWS] = None
        return bool(recent)

    def _sitemaps(self, old: _Seen, new: _Seen, now: int, files: Files, news: bool) -> None:
        structural = old.keys != new.keys
        moved = old.positions | new.positions
        first = min(moved) if moved else 0
        chunks_old = -(-old.slots // plan.SITEMAP_ARTICLES)
        chunks = -(-new.slots // plan.SITEMAP_ARTICLES)
        numbers = {p // plan.SITEMAP_ARTICLES + 1 for p in moved}
        if structural:
            numbers |= set(range(first // plan.SITEMAP_ARTICLES + 1, max(chunks, chunks_old) + 1))
        for number in sorted(numbers):
            path = urls.sitemap_articles(number)
            found = index.window(
                self.db,
                urls.HOME,
                now,
                (number - 1) * plan.SITEMAP_ARTICLES,
                number * plan.SITEMAP_ARTICLES,
            )
            shown = tuple(
                SitemapEntry(
                    urls.absolute(self.site.base_url, urls.article(s.slug)),
                    rfc3339(index.moment(s.modified)),
                )
                for s in found
                if s.public(now)
            )
            if shown:
                self._render(files, path, sitemap, shown)
            elif self.cache.exported(path) is not None:
                files[path] = None
            if number > chunks or not found:
                index.put_chunk(self.db, number, None)
            else:
                changed = max(
                    s.wdate if s.wdate is not None and s.wdate <= now else s.modified for s in found
                )
                index.put_chunk(self.db, number, (len(shown), changed))
        # The index names every sitemap with the date of its last change.
        entries = [SitemapEntry(urls.absolute(self.site.base_url, urls.SITEMAP_PAGES), None)]
        if news:
            entries.append(SitemapEntry(urls.absolute(self.site.base_url, urls.SITEMAP_NEWS), None))
        for number, public, changed in index.chunks(self.db, chunks):
            if public:
                url = urls.absolute(self.site.base_url, urls.sitemap_articles(number))
                entries.append(SitemapEntry(url, rfc3339(index.moment(changed))))
        self._render(files, urls.SITEMAP, sitemap_index, tuple(entries))

    def _lists(self, every: Mapping[str, int], now: int, files: Files, whole: bool) -> None:
        """A listing came or went, or its archive page: what lists them all,
        in the plan's order (the site, its tags, its authors); unless
        ``whole``, only the tags' order changed: what shows it."""
        order = [urls.HOME]
        order += sorted(x for x in every if x.startswith(urls.TAGS))
        order += [urls.author(a) for a in self.authors if urls.author(a) in every]
        order += sorted(x for x in every if x.startswith(urls.SECTIONS))
        channels = [self.channel(x) for x in order]
        gone = withdrawals_channel(self.site, self.words)
        links = [link for c in channels for link in listing_feeds(self.site, c)]
        links += listing_feeds(self.site, self.updates) + listing_feeds(self.site, gone)
        links = list(by_use(links, every))
        path = urls.file_of(urls.FEEDS_PAGE)
        self._render(files, path, feeds_page, tuple(links))
        tags = urls.OPML_GROUPS[urls.TAGS]
        self._render(files, tags, build_opml, outlined(links, urls.TAGS), urls.TAGS)
        self._render(files, urls.OPML, build_opml, *every_outline(links))
        if not whole:
            return
        self._render(files, urls.OPML_SITE, build_opml, outlined(links))
        for prefix, opml in urls.OPML_GROUPS.items():
            if prefix != urls.TAGS:
                self._render(files, opml, build_opml, outlined(links, prefix), prefix)
        base = self.site.base_url
        entries = [SitemapEntry(urls.absolute(base, x), None) for x in order]
        entries.append(SitemapEntry(urls.absolute(base, urls.WITHDRAWALS), None))
        entries += [
            SitemapEntry(urls.absolute(base, urls.archives(x)), None)
            for x in order
            if x == urls.HOME or every[x] >= self.site.feed_items
        ]
        entries.append(SitemapEntry(urls.absolute(base, urls.FEEDS_PAGE), None))
        entries.append(SitemapEntry(urls.absolute(base, urls.TAG_INDEX), None))
        entries.append(SitemapEntry(urls.absolute(base, urls.AUTHOR_INDEX), None))
        pages = [link.path for link in self.renderer.nav if link.kind == "page"]
        entries += [SitemapEntry(urls.absolute(base, path), None) for path in pages]
        self._render(files, urls.SITEMAP_PAGES, sitemap, tuple(entries))

    def _public_images(self, entries: Iterable[Entry], now: int) -> dict[str, bool]:
        """Whether each image the entries show may be published at ``now``
        (:func:`feeds.outputs.listings.public_images`)."""
        names = {name for e in entries for name in e.images}
        return {name: self._public(name, now) for name in names if name in self.images}

    def _public(self, name: str, now: int) -> bool:
        """All images are but those shown only by drafts, scheduled and
        withdrawn articles; the logo and bios' always are."""
        if name in self.site_images:
            return True
        return index.image_shown(self.db, name, now) or not index.image_hidden(self.db, name, now)


#: What a month's count is kept under in the index: ``month:2026-11``.
MONTH_KEY = "month:"


def month_key(year: int, month: int) -> str:
    return f"{MONTH_KEY}{year:04d}-{month:02d}"


def remember_counts(db: sqlite3.Connection, site: Site, now: int) -> None:
    """After a whole build: count every month, tag and author (:meth:`Delta._recount`)."""
    months: dict[str, int] = {}
    for date in index.public_dates(db, now):
        local = index.moment(date).astimezone(site.zone)
        key = month_key(local.year, local.month)
        months[key] = months.get(key, 0) + 1
    for folder in (urls.TAG_INDEX, urls.AUTHOR_INDEX):
        months.update(index.public_counts(db, folder, now))
    for key, count in months.items():
        index.put_count(db, key, count)


def _ranked(uses: Mapping[str, int]) -> list[str]:
    """Listings most used first, as :func:`feeds.outputs.plan.by_use` orders tags."""
    return sorted(uses, key=lambda x: (-uses[x], x))


def _kind(path: str) -> tuple[str, bool]:
    """The kind of an exported file, as ``_headers`` has a rule for it: its
    pattern, and whether it is lasting (an archive document, an image)."""
    return urls.pattern(urls.path_of(path)), headers.is_lasting(path)


def _headers_file(renderer: Renderer, rules: tuple[headers.Rule, ...]) -> bytes:
    return headers.headers_file(rules)


#: The export's files for the static host, no part of the site: no rule of ``_headers``.
_HOSTS = frozenset({headers.HEADERS_FILE, headers.REDIRECTS_FILE})


def _redirects_file(renderer: Renderer, site: Site, gone: tuple[str, ...]) -> bytes:
    return headers.redirects_file(site, gone)


def _unread(name: str) -> bytes:
    raise Decline(f"no way to read image {name}")


def _withdrawn(found: Entry, now: int) -> bool:
    """Withdrawn by ``now`` after it was public: a killed story never shows."""
    return not found.draft and not found.killed and found.wdate is not None and found.wdate <= now


def _revised(found: Entry, now: int) -> bool:
    """Public at ``now`` and changed since its date: in the updates feeds'
    running (the latest changed of them are in them)."""
    public = (
        not found.draft and not found.killed and found.date <= now and not _withdrawn(found, now)
    )
    return public and found.modified > found.date


def _of_listing(path: str, listing: str) -> bool:
    """Is exported file ``path`` one of ``listing``'s own (its pages, feeds,
    archive), not another listing's under it?"""
    rest = path[len(listing) :]
    return rest in {"index.html", *urls.FEED_FILES.values()} or rest.startswith(
        ("page/", urls.ARCHIVE)
    )


def _affected(
    changed: frozenset[int],
    first: int,
    structural: bool,
    sealed_old: int,
    sealed: int,
    size: int,
    existed: bool,
) -> set[int]:
    """The numbers of the sealed pages (or documents) of ``size`` slots whose
    bytes may differ: those holding a changed slot; with a slot inserted or
    removed, every one from the first it moves; those sealed or unsealed;
    the newest of before, whose links change once another is sealed."""
    found = {p // size + 1 for p in changed}
    if structural or not existed:
        found |= set(range(first // size + 1, max(sealed, sealed_old) + 1))
    if sealed != sealed_old:
        found |= set(range(min(sealed, sealed_old), max(sealed, sealed_old) + 1))
    return {n for n in found if n >= 1 and (n <= sealed or n <= sealed_old)}


def kinds(paths: Iterable[str]) -> list[tuple[str, bool]]:
    """The kind of each of ``paths`` (:func:`_kind`), ``_headers`` itself left out."""
    return [_kind(p) for p in paths if p not in _HOSTS]
