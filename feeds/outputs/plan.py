"""Every output of the site at one moment: its path, how it is built, the key
of its inputs, and where it is listed.

An :class:`Output` is a builder and the inputs it is called with; its key is
a digest of the builder's name, of those inputs and of the site and code, so a
key cannot leave out an input: a builder sees nothing else. What is listed in
the OPML list, the sitemap and the pages' autodiscovery links is read off the
plan too (:attr:`Output.listed_as`), so a new output is one entry here, with
its visibility, and nothing else.
"""

from __future__ import annotations

import dataclasses
import enum
import functools
import html
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from feeds import urls
from feeds.content.directory import Loaded
from feeds.digest import code_version, digest
from feeds.model import Article, Content, Site, is_withdrawn
from feeds.outputs import headers
from feeds.outputs.feedgen_formats import (
    EPOCH,
    build_atom,
    build_partner_atom,
    build_partner_rss,
    build_rss,
    build_withdrawals_atom,
    build_withdrawals_rss,
)
from feeds.outputs.i18n import Words, words_for
from feeds.outputs.jsonfeed import build_json_feed, build_partner_json, build_withdrawals_json
from feeds.outputs.listings import (
    Channel,
    Document,
    FeedLink,
    History,
    Listing,
    SitemapEntry,
    ever_public,
    listings,
    news,
    next_change,
    partner_listings,
    public_images,
    revisions,
    status,
    withdrawals,
)
from feeds.outputs.ninjs import ninjs_file
from feeds.outputs.opml import build_opml
from feeds.outputs.pages import (
    ArchiveEntry,
    IndexEntry,
    MonthEntry,
    archive_page,
    article_page,
    author_index_page,
    feeds_page,
    listing_page,
    month_page,
    month_stories,
    news_sitemap,
    not_found_page,
    robots_txt,
    site_page,
    sitemap,
    sitemap_index,
    static_file,
    tag_index_page,
    withdrawals_page,
    withdrawn_page,
)
from feeds.outputs.render import ENTRY_BUDGET, NavLink, Renderer, distributable_image, rfc3339

FEED_BUILDERS: dict[urls.FeedFormat, Callable[..., bytes]] = {
    "rss": build_rss,
    "atom": build_atom,
    "json": build_json_feed,
}
PARTNER_BUILDERS: dict[urls.FeedFormat, Callable[..., bytes]] = {
    "rss": build_partner_rss,
    "atom": build_partner_atom,
    "json": build_partner_json,
}
WITHDRAWAL_BUILDERS: dict[urls.FeedFormat, Callable[..., bytes]] = {
    "rss": build_withdrawals_rss,
    "atom": build_withdrawals_atom,
    "json": build_withdrawals_json,
}


class Access(enum.Enum):
    #: Served to anyone and exported.
    PUBLIC = "public"
    #: Served only to a client with a token; never exported, never listed.
    TOKEN = "token"
    #: Exported for the static host, never served by the app (``_headers``).
    EXPORT = "export"


@dataclass(frozen=True)
class Output:
    """One file of the site."""

    #: ``build(renderer, *inputs)`` gives the file's bytes.
    build: Callable[..., bytes]
    inputs: tuple[Any, ...]
    #: How it is listed: a feed in the OPML list and in autodiscovery, a page
    #: in the sitemap; None for what is public but never listed.
    listed_as: FeedLink | SitemapEntry | None = None
    access: Access = Access.PUBLIC
    #: The HTTP status it is served with (a withdrawn article's page: 410).
    status: int = 200
    #: It changes only when an article of its own changes (a sealed archive
    #: document, but for its ``next-archive`` once, when the next is sealed):
    #: caches may keep it long.
    lasting: bool = False
    #: Its surrogate key for a CDN: its listing's (shared by all its pages
    #: and feeds) or its article's; empty: its file's own.
    keys: tuple[str, ...] = ()
    #: A feed's format (a key of :data:`feeds.urls.FEED_FILES`); None for
    #: what is not a feed. :func:`feeds.urls.is_feed` says the same of its path.
    fmt: urls.FeedFormat | None = None
    #: A feed that names the site's WebSub hub and that the hub is told of
    #: (:attr:`~feeds.outputs.listings.Channel.pushed`: not an archive
    #: document's, not an early-access one's).
    pushed: bool = False


class Plan:
    """The outputs of a site at ``now``, by the file each is exported as."""

    def __init__(
        self, loaded: Loaded, now: datetime, drafts: bool = False, budget: int = ENTRY_BUDGET
    ) -> None:
        """The outputs at ``now``; with ``drafts`` (``feeds serve --drafts``
        only), drafts and scheduled articles too, each marked as such.
        ``budget``: the bytes of rendered feed entries kept for reuse
        (:class:`feeds.outputs.render.Entries`)."""
        content = loaded.content
        self.content = content
        self.now = now
        self.listings = listings(content, now, drafts)
        nav = navigation(content, self.listings)
        self.renderer = Renderer(content.site, nav, budget)
        #: When what is public changes by itself, and this plan goes stale.
        self.expires = next_change(content, now)
        #: Files under ``images/`` that may be published, relative to it.
        self.images = frozenset(public_images(content, now, drafts))
        outputs = _outputs(
            content,
            self.listings,
            withdrawals(content, now),
            revisions(content, now, content.site.feed_items),
            now if drafts else None,
        )
        outputs.update(_sitemaps(content, now, self.listings, outputs))
        #: Images partners may fetch with a token (``partners/images/``): the
        #: public ones, and those of embargoed stories, public only later.
        self.partner_images = frozenset[str]()
        if not drafts:
            hidden = frozenset(content.images) - self.images
            partner_outputs, early = _partner_outputs(content, now, hidden)
            outputs.update(partner_outputs)
            self.partner_images = self.images | early
        rules = _headers_rules(content.site, outputs, self.images)
        outputs[headers.HEADERS_FILE] = Output(_headers_file, (rules,), access=Access.EXPORT)
        gone = tuple(sorted(path for path, out in outputs.items() if out.status == 410))
        outputs[headers.REDIRECTS_FILE] = Output(
            _redirects_file, (content.site, gone), access=Access.EXPORT
        )
        self.outputs: Mapping[str, Output] = outputs
        self._versions = loaded.versions
        #: id of an input (kept alive here, so the id stays its own) -> its token:
        #: the site's feed links or an article stand in many keys, walked once.
        self._tokens: dict[int, tuple[object, object]] = {}
        self._keys: dict[str, str] = {}
        self._common = repr(
            (code_version(), self._token(content.site), self._token(self.renderer.nav))
        )

    def paths(self, *access: Access) -> list[str]:
        """The files with one of those accesses (default: what is served to
        anyone), sorted."""
        wanted = access or (Access.PUBLIC,)
        return sorted(path for path, out in self.outputs.items() if out.access in wanted)

    def surrogate_keys(self, file: str) -> tuple[str, ...]:
        """The CDN's keys of a public file (an image's too): its own group's
        first, the whole site's last."""
        out = self.outputs.get(file)
        own = out.keys if out is not None and out.keys else (headers.file_key(file),)
        return (*own, headers.SITE_KEY)

    def render(self, path: str) -> bytes:
        out = self.outputs[path]
        return out.build(self.renderer, *out.inputs)

    def key(self, path: str) -> str:
        """A digest of everything ``path`` is built from: unchanged key, unchanged bytes."""
        key = self._keys.get(path)
        if key is None:
            out = self.outputs[path]
            name = f"{out.build.__module__}.{out.build.__qualname__}"
            token = self._token(out.inputs)
            key = self._keys[path] = digest(repr((self._common, name, token)).encode())
        return key

    def _token(self, value: object) -> object:
        """What stands for a value in a key: an article by its version (its
        file and all it was validated with), anything else by its fields."""
        if type(value) in _PLAIN:  # nearly all of them: no isinstance chain
            return value
        known = self._tokens.get(id(value))
        if known is not None:
            return known[1]
        if value is None or isinstance(value, str | int | float | bool | datetime):
            return value
        token: object
        if isinstance(value, tuple | list):
            token = tuple(map(self._token, value))
        elif isinstance(value, Article):
            token = self._versions.get(value.path) or digest(repr(value).encode())
        elif isinstance(value, ZoneInfo):
            token = value.key
        elif dataclasses.is_dataclass(value) and not isinstance(value, type):
            names = _field_names(type(value))
            token = (type(value).__name__, *(self._token(getattr(value, n)) for n in names))
        else:
            raise TypeError(f"no key for {type(value).__name__}")
        self._tokens[id(value)] = (value, token)
        return token


#: Values that stand for themselves in a key.
_PLAIN = frozenset({str, int, float, bool, type(None), datetime})


@functools.cache
def _field_names(kind: type) -> tuple[str, ...]:
    return tuple(f.name for f in dataclasses.fields(kind))


def _outputs(
    content: Content,
    every: tuple[Listing, ...],
    gone: tuple[Article, ...],
    revised: tuple[Article, ...],
    preview: datetime | None,
) -> dict[str, Output]:
    """Every output, in the order the sitemap and the OPML list show them.
    ``gone`` holds the withdrawn articles, ``revised`` the updates feeds'.
    ``preview`` is the moment drafts and scheduled articles are marked as of,
    in a preview that shows them."""
    site = content.site
    words = words_for(site.language, site.language, site.zone)
    outputs: dict[str, Output] = {}
    #: Each listing's sealed archive documents, oldest first.
    archived = {listing.path: listing.documents(site.feed_items) for listing in every}
    for listing in every:
        channel = listing.channel
        documents = archived[listing.path]
        # The subscription feed leads to its newest sealed document (RFC 5005).
        history = History(prev=documents[-1].path) if documents else None
        keys = (headers.listing_key(listing.path),)
        inputs = (channel, listing.feed_articles(site), listing.withdrawn, history)
        for link in listing_feeds(site, channel):
            path = urls.feed(listing.path, link.fmt)
            outputs[path] = Output(
                FEED_BUILDERS[link.fmt],
                inputs,
                link,
                keys=keys,
                fmt=link.fmt,
                pushed=channel.pushed,
            )
    # The updates: each entry as in the site's feed, in the order of its last change.
    updates = updates_channel(site, words)
    for link in listing_feeds(site, updates):
        path = urls.feed(urls.UPDATES, link.fmt)
        inputs = (updates, revised, (), None)
        outputs[path] = Output(
            FEED_BUILDERS[link.fmt], inputs, link, fmt=link.fmt, pushed=updates.pushed
        )
    since = min((a.date for a in every[0].articles), default=EPOCH)
    gone_channel = withdrawals_channel(site, words)
    gone_key = (headers.listing_key(urls.WITHDRAWALS),)
    for link in listing_feeds(site, gone_channel):
        path = urls.feed(urls.WITHDRAWALS, link.fmt)
        build = WITHDRAWAL_BUILDERS[link.fmt]
        outputs[path] = Output(
            build,
            (gone_channel, gone, since),
            link,
            keys=gone_key,
            fmt=link.fmt,
            pushed=gone_channel.pushed,
        )
    for listing in every:
        _archive_documents(outputs, listing, archived[listing.path], site, words)
    links = feed_links(outputs)  # every feed is planned by now
    site_feeds = links.get(urls.HOME, ())
    # The front pages offer the updates too.
    home_feeds = site_feeds + links.get(urls.UPDATES, ())
    for listing in every:
        feeds = home_feeds if not listing.path else links.get(listing.path, ()) + site_feeds
        keys = (headers.listing_key(listing.path),)
        # The site's archive page is always there; a tag's or author's once
        # it has a sealed document.
        has_archive = bool(archived[listing.path]) or not listing.path
        archive = urls.archives(listing.path) if has_archive else None
        for page in listing.pages():
            newest = max((a.modified for a in page.articles), default=None)
            entry = SitemapEntry(
                urls.absolute(site.base_url, page.path), rfc3339(newest) if newest else None
            )
            front = archive if page.number is None else None
            outputs[urls.file_of(page.path)] = Output(
                listing_page, (page, feeds, front, preview), entry, keys=keys
            )
    for article in every[0].articles:
        entry = SitemapEntry(article.url, rfc3339(article.modified))
        path = urls.file_of(urls.article(article.slug))
        keys = (headers.article_key(article.id),)
        outputs[path] = Output(article_page, (article, site_feeds, preview), entry, keys=keys)
        # The ninjs item, as of its date: the same at every moment it is public.
        if article.republish and (preview is None or status(article, preview) is None):
            outputs[urls.ninjs(article.slug)] = Output(
                ninjs_file, (article, article.date), keys=keys
            )
    for article in gone:
        path = urls.file_of(urls.article(article.slug))
        if path not in outputs:  # (a preview with drafts shows it, marked)
            keys = (headers.article_key(article.id),)
            outputs[path] = Output(withdrawn_page, (article, site_feeds), status=410, keys=keys)
            # Its ninjs item says it is canceled, and why: served, not 410,
            # so that a partner's system fetching the item takes its copy down.
            if article.republish and article.withdrawn is not None:
                canceled = (article, article.withdrawn.date)
                outputs[urls.ninjs(article.slug)] = Output(ninjs_file, canceled, keys=keys)
    gone_feeds = links.get(urls.WITHDRAWALS, ())
    entry = SitemapEntry(urls.absolute(site.base_url, urls.WITHDRAWALS), None)
    outputs[urls.file_of(urls.WITHDRAWALS)] = Output(
        withdrawals_page, (gone, gone_feeds + site_feeds), entry, keys=gone_key
    )
    for listing in every:
        documents = archived[listing.path]
        if listing.path and not documents:
            continue
        entries = tuple(
            ArchiveEntry(d.path, d.number, d.first, d.last, len(d.articles))
            for d in reversed(documents)
        )
        feeds = home_feeds if not listing.path else links.get(listing.path, ()) + site_feeds
        path = urls.archives(listing.path)
        entry = SitemapEntry(urls.absolute(site.base_url, path), None)
        keys = (headers.listing_key(listing.path),)
        shown: tuple[Any, ...] = (listing.channel, entries, feeds)
        if not listing.path:  # the site's: and its stories by month
            months = by_month(listing.articles, site)
            shown += (tuple(MonthEntry(y, m, len(a)) for (y, m), a in months.items()),)
            for (year, month), articles in months.items():
                stories = (year, month, month_stories(articles))
                outputs[urls.file_of(urls.month(year, month))] = Output(
                    month_page, stories, keys=keys
                )
        outputs[urls.file_of(path)] = Output(archive_page, shown, entry, keys=keys)
    uses = {listing.path: len(listing.slots) for listing in every}
    every_feed = tuple(o.listed_as for o in outputs.values() if isinstance(o.listed_as, FeedLink))
    entry = SitemapEntry(urls.absolute(site.base_url, urls.FEEDS_PAGE), None)
    outputs[urls.file_of(urls.FEEDS_PAGE)] = Output(feeds_page, (by_use(every_feed, uses),), entry)
    tags, more = tag_entries(every, site)
    entry = SitemapEntry(urls.absolute(site.base_url, urls.TAG_INDEX), None)
    outputs[urls.file_of(urls.TAG_INDEX)] = Output(tag_index_page, (tags, more), entry)
    entry = SitemapEntry(urls.absolute(site.base_url, urls.AUTHOR_INDEX), None)
    outputs[urls.file_of(urls.AUTHOR_INDEX)] = Output(
        author_index_page, (author_entries(every),), entry
    )
    for own in content.pages:
        path = urls.site_page(own.slug)
        entry = SitemapEntry(urls.absolute(site.base_url, path), None)
        outputs[urls.file_of(path)] = Output(site_page, (own,), entry)
    listed = [out.listed_as for out in outputs.values() if out.access is Access.PUBLIC]
    rss = by_use((e for e in listed if isinstance(e, FeedLink)), uses)
    outputs[urls.OPML] = Output(build_opml, every_outline(rss))
    outputs[urls.OPML_SITE] = Output(build_opml, (outlined(rss),))
    for prefix, path in urls.OPML_GROUPS.items():
        outputs[path] = Output(build_opml, (outlined(rss, prefix), prefix))
    outputs[urls.STYLE] = Output(static_file, ("style.css",))
    outputs[urls.SCRIPT] = Output(static_file, ("site.js",))
    outputs[urls.FAVICON] = Output(static_file, ("favicon.ico",))
    outputs[urls.NOT_FOUND] = Output(not_found_page, (site_feeds,))
    outputs[urls.ROBOTS] = Output(robots_txt, ())  # the site's settings only
    return outputs


def navigation(content: Content, every: Iterable[Listing]) -> tuple[NavLink, ...]:
    """What every page's header links to besides the archive, the tags, the
    authors and the feeds: the sections (by slug) and the site's pages."""
    site = content.site
    sections = tuple(
        NavLink(listing.path, listing.title.removeprefix(f"{site.title}: "), "section")
        for listing in every
        if listing.kind == "section"
    )
    return sections + tuple(NavLink(urls.site_page(p.slug), p.title, "page") for p in content.pages)


#: The most tags ``/tags/`` lists: a wire has thousands, and the page stays
#: one size (each tag is linked from its stories too).
TAG_INDEX_MOST = 500


def tag_entries(every: Iterable[Listing], site: Site) -> tuple[tuple[IndexEntry, ...], int]:
    """``/tags/``'s tags: the most used first (then by slug), at most
    :data:`TAG_INDEX_MOST`, and how many more there are."""
    found = sorted(
        (
            IndexEntry(listing.path, listing.title.removeprefix(f"{site.title}: "), _count(listing))
            for listing in every
            if listing.kind == "tag" and listing.articles
        ),
        key=index_order,
    )
    return tuple(found[:TAG_INDEX_MOST]), max(0, len(found) - TAG_INDEX_MOST)


def _count(listing: Listing) -> int:
    """Its public stories, each once (an author named twice in a byline)."""
    return len({a.id for a in listing.articles})


def index_order(entry: IndexEntry) -> tuple[int, str]:
    return (-entry.count, entry.path)


def author_entries(every: Iterable[Listing]) -> tuple[IndexEntry, ...]:
    """``/authors/``'s authors: every one with a public story, by name."""
    found = (
        IndexEntry(listing.path, listing.author.name, _count(listing))
        for listing in every
        if listing.kind == "author" and listing.author is not None and listing.articles
    )
    return tuple(sorted(found, key=lambda e: (e.name.casefold(), e.path)))


def by_month(articles: Iterable[Article], site: Site) -> dict[tuple[int, int], list[Article]]:
    """The articles (newest first) by (year, month) of their date in the
    site's zone, newest month first."""
    found: dict[tuple[int, int], list[Article]] = {}
    for article in articles:
        local = article.date.astimezone(site.zone)
        found.setdefault((local.year, local.month), []).append(article)
    return found


def _archive_documents(
    outputs: dict[str, Output],
    listing: Listing,
    documents: tuple[Document, ...],
    site: Site,
    words: Words,
) -> None:
    """A listing's sealed archive documents (RFC 5005), in every format:
    ``fh:archive``, ``current`` the subscription feed, ``prev-archive`` the
    next older document, ``next-archive`` the next newer one or, from the
    newest, the subscription feed. No hub (nothing to push), and lasting."""
    keys = (headers.listing_key(listing.path),)
    for document in documents:
        inputs = document_inputs(listing.channel, document, len(documents), site, words)
        for fmt, build in FEED_BUILDERS.items():
            path = urls.feed(document.path, fmt)
            pushed = inputs[0].pushed
            outputs[path] = Output(build, inputs, lasting=True, keys=keys, fmt=fmt, pushed=pushed)


def document_inputs(
    listing: Channel, document: Document, sealed: int, site: Site, words: Words
) -> tuple[Channel, tuple[Article, ...], tuple[Article, ...], History]:
    """What archive document ``document`` of ``listing``, one of ``sealed``, is
    built from in every format."""
    size, number = site.feed_items, document.number
    channel = Channel(
        document.path,
        words("%(listing)s: archive %(number)s", listing=listing.title, number=number),
        words(
            "Stories %(first)s to %(last)s of %(listing)s, counted from the oldest.",
            first=(number - 1) * size + 1,
            last=number * size,
            listing=listing.title,
        ),
        "archive",
        home=urls.archives(listing.path),
    )
    history = History(
        archive=True,
        current=listing.path,
        prev=urls.archive(listing.path, number - 1) if number > 1 else None,
        next=urls.archive(listing.path, number + 1) if number < sealed else listing.path,
    )
    return channel, document.articles, document.withdrawn, history


def listing_feeds(site: Site, channel: Channel) -> tuple[FeedLink, ...]:
    """The subscription feeds of a listing (or of the withdrawals), as pages
    and the OPML list show them, in the plan's order of formats."""
    home = urls.absolute(site.base_url, channel.page)
    return tuple(
        FeedLink(
            channel.path,
            channel.title,
            fmt,
            urls.absolute(site.base_url, urls.feed(channel.path, fmt)),
            home,
            channel.kind,
        )
        for fmt in FEED_BUILDERS
    )


def outlined(links: Iterable[FeedLink], group: str = "") -> tuple[FeedLink, ...]:
    """The feeds an OPML list offers, one per listing, in RSS (a reader
    importing every format would show each story three times): by default
    the site's and the withdrawals' (a story is in the site's feed and in its
    tags' and authors': a reader importing them all sees it many times); with
    ``group`` (a key of :data:`feeds.urls.OPML_GROUPS`), its listings'."""
    if group:
        return tuple(e for e in links if e.fmt == "rss" and e.channel.startswith(group))
    return tuple(e for e in links if e.fmt == "rss" and e.kind in OUTLINED)


#: The kinds of channel whose feeds the site's OPML list offers. Not the
#: updates': `reader` keeps an entry per feed, and an updated story imported
#: with it came twice (3 of the sample's 10).
OUTLINED = ("site", "withdrawals")


def every_outline(
    links: Iterable[FeedLink],
) -> tuple[tuple[FeedLink, ...], str, tuple[tuple[str, tuple[FeedLink, ...]], ...]]:
    """What ``/feeds.opml`` is built from: one feed per listing, in RSS, the
    site's, the updates' and the withdrawals' first, then each group of
    :data:`feeds.urls.OPML_GROUPS` nested (tags most used first), and the sections'."""
    every = tuple(links)
    top = tuple(e for e in every if e.fmt == "rss" and e.kind in (*OUTLINED, "updates"))
    groups = (*urls.OPML_GROUPS, urls.SECTIONS)
    return top, "", tuple((prefix, outlined(every, prefix)) for prefix in groups)


def by_use(links: Iterable[FeedLink], uses: Mapping[str, int]) -> tuple[FeedLink, ...]:
    """``links`` with the tags' most used first (by their listings' numbers of
    slots in ``uses``, then by path), in the places tags had: a wire has
    hundreds, and readers look for the big ones."""
    every = tuple(links)
    tags = iter(
        sorted(
            (e for e in every if e.kind == "tag"),
            key=lambda e: (-uses.get(e.channel, 0), e.channel),
        )
    )
    return tuple(next(tags) if e.kind == "tag" else e for e in every)


def updates_channel(site: Site, words: Words) -> Channel:
    """The updates feeds': they have no page of their own, and link to the front page."""
    return Channel(
        urls.UPDATES,
        f"{site.title}: {words('updated and corrected articles')}",
        words(
            "The articles %(site)s has updated or corrected, the latest change first.",
            site=site.title,
        ),
        "updates",
        home=urls.HOME,
    )


def withdrawals_channel(site: Site, words: Words) -> Channel:
    return Channel(
        urls.WITHDRAWALS,
        f"{site.title}: {words('withdrawn articles')}",
        words(
            "Every article %(site)s has withdrawn, for partners to take their copies down.",
            site=site.title,
        ),
        "withdrawals",
    )


#: Article URLs in one sitemap of articles. Numbered from the oldest and
#: sealed when full, so that a new story changes only the newest one and the
#: index, whatever the archive's size (sitemaps.org allows 50,000 URLs and
#: 50 MB a file; 1,000 is about 150 kB).
SITEMAP_ARTICLES = 1_000


def _sitemaps(
    content: Content, now: datetime, every: tuple[Listing, ...], outputs: Mapping[str, Output]
) -> dict[str, Output]:
    """The sitemap index and the sitemaps it names.

    The articles come in chunks of :data:`SITEMAP_ARTICLES` of the site's slot
    sequence: every article public at some time by ``now``, oldest first by
    ``(date, id)``, those withdrawn since keeping their slot (and not listed)
    so that nothing after them moves. Every other page listed in the plan is
    in one sitemap of its own; a listing is there by its front page only,
    with no date (it changes with every story), and its older pages, which
    crawlers reach from it, not at all: that sitemap changes only when a
    listing or a page comes or goes.
    """
    site = content.site
    slots = sorted(
        (a for a in content.articles if ever_public(a, now)), key=lambda a: (a.date, a.id)
    )
    fronts = {urls.file_of(listing.path) for listing in every}
    pages: list[SitemapEntry] = []
    for path, out in outputs.items():
        entry = out.listed_as
        if not isinstance(entry, SitemapEntry) or out.access is not Access.PUBLIC:
            continue
        if out.build is listing_page:
            if path not in fronts:
                continue
            entry = SitemapEntry(entry.url, None)
        if out.build is not article_page:
            pages.append(entry)
    found = {urls.SITEMAP_PAGES: Output(sitemap, (tuple(pages),))}
    index = [SitemapEntry(urls.absolute(site.base_url, urls.SITEMAP_PAGES), None)]
    for start in range(0, len(slots), SITEMAP_ARTICLES):
        chunk = slots[start : start + SITEMAP_ARTICLES]
        shown = tuple(
            SitemapEntry(a.url, rfc3339(a.modified)) for a in chunk if not is_withdrawn(a, now)
        )
        if not shown:  # a sitemap lists at least one URL
            continue
        path = urls.sitemap_articles(start // SITEMAP_ARTICLES + 1)
        found[path] = Output(sitemap, (shown,))
        changed = max(
            a.withdrawn.date if a.withdrawn and is_withdrawn(a, now) else a.modified for a in chunk
        )
        index.append(SitemapEntry(urls.absolute(site.base_url, path), rfc3339(changed)))
    # Google News: the last two days' stories; it changes with the clock too,
    # when a story leaves it (next_change has those moments). Named in the
    # index only while it lists a story: a sitemap lists at least one URL.
    recent = news(content, now)
    if recent:
        found[urls.SITEMAP_NEWS] = Output(news_sitemap, (recent,))
        index.insert(1, SitemapEntry(urls.absolute(site.base_url, urls.SITEMAP_NEWS), None))
    found[urls.SITEMAP] = Output(sitemap_index, (tuple(index),))
    return found


def _partner_outputs(
    content: Content, now: datetime, hidden: frozenset[str]
) -> tuple[dict[str, Output], frozenset[str]]:
    """The early-access feeds: the newest ``feed_items`` public articles, and
    before them every embargoed one (ids passed on, for their notice); and
    the images of those that are not public yet (``hidden``), which their
    items link behind the token instead."""
    site = content.site
    title = words_for(site.language, site.language, site.zone)("early access")
    outputs = {}
    early: set[str] = set()
    for listing in partner_listings(content, now, title):
        embargoed = tuple(a.id for a in listing.articles if a.date > now)
        shown = tuple(_private_images(a, site, hidden, early) for a in listing.articles)[
            : site.feed_items + len(embargoed)
        ]
        for fmt, build in PARTNER_BUILDERS.items():
            inputs = (listing.channel, shown, listing.withdrawn, embargoed)
            outputs[urls.feed(listing.path, fmt)] = Output(
                build, inputs, access=Access.TOKEN, fmt=fmt, pushed=listing.channel.pushed
            )
    return outputs, frozenset(early)


def _private_images(
    article: Article, site: Site, hidden: frozenset[str], found: set[str]
) -> Article:
    """``article`` with its images that are not public yet linked under
    ``partners/images/`` (served with a token only); their names go to ``found``.
    A lead image that is not distributable is never one of them: no feed
    carries it, so no token may fetch it."""
    body, image = article.body_html, article.image
    for name in article.images:
        if name not in hidden:
            continue
        public = urls.absolute(site.base_url, urls.image(name))
        private = urls.absolute(site.base_url, urls.partners(urls.image(name)))
        quoted = f'"{html.escape(public)}"'
        lead = (
            image is not None and image.url == public and distributable_image(article) is not None
        )
        if not lead and quoted not in body:
            continue
        found.add(name)
        body = body.replace(quoted, f'"{html.escape(private)}"')
        if image is not None and lead:
            image = dataclasses.replace(image, url=private)
    if body == article.body_html and image == article.image:
        return article
    return dataclasses.replace(article, body_html=body, image=image)


def _headers_file(renderer: Renderer, rules: tuple[headers.Rule, ...]) -> bytes:
    return headers.headers_file(rules)


def _redirects_file(renderer: Renderer, site: Site, gone: tuple[str, ...]) -> bytes:
    return headers.redirects_file(site, gone)


def _headers_rules(
    site: Site, outputs: Mapping[str, Output], images: frozenset[str]
) -> tuple[headers.Rule, ...]:
    """What a static host must send with each exported file, as URL path
    patterns (:func:`feeds.outputs.headers.rules`)."""
    files = [(path, out.lasting) for path, out in outputs.items() if out.access is Access.PUBLIC]
    files += [(urls.image(name), True) for name in sorted(images)]
    return headers.rules(site, files)


def feed_links(outputs: Mapping[str, Output]) -> dict[str, tuple[FeedLink, ...]]:
    """The listed feeds of each channel, for its pages' autodiscovery links,
    in the order of the plan."""
    found: dict[str, list[FeedLink]] = {}
    for out in outputs.values():
        if isinstance(out.listed_as, FeedLink) and out.access is Access.PUBLIC:
            found.setdefault(out.listed_as.channel, []).append(out.listed_as)
    return {channel: tuple(links) for channel, links in found.items()}
