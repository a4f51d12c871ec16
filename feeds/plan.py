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
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from feeds import urls
from feeds.content import Loaded
from feeds.digest import code_version, digest
from feeds.feedgen_formats import build_atom, build_rss
from feeds.jsonfeed import build_json_feed
from feeds.listings import (
    FeedLink,
    Listing,
    SitemapEntry,
    listings,
    next_change,
    public_images,
)
from feeds.model import Article, Content
from feeds.opml import build_opml
from feeds.pages import (
    article_page,
    feeds_page,
    listing_page,
    not_found_page,
    sitemap,
    static_file,
)
from feeds.render import Renderer, rfc3339

FEED_BUILDERS: dict[str, Callable[..., bytes]] = {
    "rss": build_rss,
    "atom": build_atom,
    "json": build_json_feed,
}


class Access(enum.Enum):
    #: Served to anyone and exported.
    PUBLIC = "public"
    #: Served only to a client with a token; never exported, never listed.
    TOKEN = "token"


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


class Plan:
    """The outputs of a site at ``now``, by the file each is exported as."""

    def __init__(self, loaded: Loaded, now: datetime, drafts: bool = False) -> None:
        """The outputs at ``now``; with ``drafts`` (``feeds serve --drafts``
        only), drafts and scheduled articles too, each marked as such."""
        content = loaded.content
        self.content = content
        self.now = now
        self.renderer = Renderer(content.site)
        self.listings = listings(content, now, drafts)
        #: When what is public changes by itself, and this plan goes stale.
        self.expires = next_change(content, now)
        #: Files under ``images/`` that may be published, relative to it.
        self.images = frozenset(public_images(content, now, drafts))
        self.outputs: Mapping[str, Output] = _outputs(
            content, self.listings, now if drafts else None
        )
        self._versions = loaded.versions
        self._versions_by_id: dict[int, tuple[Article, str]] = {}
        self._common = repr((code_version(), self._token(content.site)))

    def paths(self, access: Access = Access.PUBLIC) -> list[str]:
        """The exported files with that access, sorted."""
        return sorted(path for path, out in self.outputs.items() if out.access is access)

    def render(self, path: str) -> bytes:
        out = self.outputs[path]
        return out.build(self.renderer, *out.inputs)

    def key(self, path: str) -> str:
        """A digest of everything ``path`` is built from: unchanged key, unchanged bytes."""
        out = self.outputs[path]
        name = f"{out.build.__module__}.{out.build.__qualname__}"
        return digest(repr((self._common, name, self._token(out.inputs))).encode())

    def _token(self, value: object) -> object:
        """What stands for a value in a key: an article by its version (its
        file and all it was validated with), anything else by its fields."""
        if value is None or isinstance(value, str | int | float | bool | datetime):
            return value
        if isinstance(value, tuple | list):
            return tuple(self._token(item) for item in value)
        if isinstance(value, Article):
            known = self._versions_by_id.get(id(value))
            if known is None:
                version = self._versions.get(value.path) or digest(repr(value).encode())
                known = self._versions_by_id[id(value)] = (value, version)  # the id stays taken
            return known[1]
        if isinstance(value, ZoneInfo):
            return value.key
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            fields = dataclasses.fields(value)
            return (type(value).__name__, *(self._token(getattr(value, f.name)) for f in fields))
        raise TypeError(f"no key for {type(value).__name__}")


def _outputs(
    content: Content, every: tuple[Listing, ...], preview: datetime | None
) -> dict[str, Output]:
    """Every output, in the order the sitemap and the OPML list show them.
    ``preview`` is the moment drafts and scheduled articles are marked as of,
    in a preview that shows them."""
    site = content.site
    outputs: dict[str, Output] = {}
    for listing in every:
        channel = listing.channel
        for fmt, build in FEED_BUILDERS.items():
            path = urls.feed(listing.path, fmt)
            url = urls.absolute(site.base_url, path)
            link = FeedLink(listing.path, listing.title, fmt, url, listing.page_url(site))
            outputs[path] = Output(build, (channel, listing.feed_articles(site)), link)
    site_feeds = feed_links(outputs, urls.HOME)
    for listing in every:
        newest = rfc3339(max(a.modified for a in listing.articles)) if listing.articles else None
        feeds = site_feeds if not listing.path else feed_links(outputs, listing.path) + site_feeds
        for page in listing.pages():
            entry = SitemapEntry(urls.absolute(site.base_url, page.path), newest)
            outputs[urls.file_of(page.path)] = Output(listing_page, (page, feeds, preview), entry)
    for article in every[0].articles:
        entry = SitemapEntry(article.url, rfc3339(article.modified))
        path = urls.file_of(urls.article(article.slug))
        outputs[path] = Output(article_page, (article, site_feeds, preview), entry)
    every_feed = tuple(o.listed_as for o in outputs.values() if isinstance(o.listed_as, FeedLink))
    entry = SitemapEntry(urls.absolute(site.base_url, urls.FEEDS_PAGE), None)
    outputs[urls.file_of(urls.FEEDS_PAGE)] = Output(feeds_page, (every_feed,), entry)
    listed = [out.listed_as for out in outputs.values() if out.access is Access.PUBLIC]
    outputs[urls.SITEMAP] = Output(
        sitemap, (tuple(e for e in listed if isinstance(e, SitemapEntry)),)
    )
    # One feed per listing, in RSS: a reader importing every format would show
    # each story three times.
    rss = tuple(e for e in listed if isinstance(e, FeedLink) and e.fmt == "rss")
    outputs[urls.OPML] = Output(build_opml, (rss,))
    outputs[urls.STYLESHEET] = Output(static_file, ("feed.xsl",))
    outputs[urls.STYLE] = Output(static_file, ("style.css",))
    outputs[urls.SCRIPT] = Output(static_file, ("site.js",))
    outputs[urls.FAVICON] = Output(static_file, ("favicon.ico",))
    outputs[urls.NOT_FOUND] = Output(not_found_page, (site_feeds,))
    return outputs


def feed_links(outputs: Mapping[str, Output], channel: str) -> tuple[FeedLink, ...]:
    """The listed feeds of one channel, for its pages' autodiscovery links."""
    return tuple(
        out.listed_as
        for out in outputs.values()
        if isinstance(out.listed_as, FeedLink)
        and out.listed_as.channel == channel
        and out.access is Access.PUBLIC
    )
