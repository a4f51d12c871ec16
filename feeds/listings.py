"""What is public at ``now``, grouped the ways readers subscribe: the whole site,
each tag, each author. The one place that decides what is public, sorts
(newest first), caps feeds and cuts listings into pages."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

from feeds import urls
from feeds.model import Article, Author, Content, Site

#: Articles per index, tag and author page.
PAGE_SIZE = 20


def is_public(article: Article, now: datetime) -> bool:
    """Not a draft, and its time has come."""
    return not article.draft and article.date <= now


def is_shown(article: Article, now: datetime, drafts: bool = False) -> bool:
    """Public; or, in an editor's preview with drafts (``feeds serve
    --drafts``), any article at all."""
    return drafts or is_public(article, now)


def status(article: Article, now: datetime) -> str | None:
    """``"draft"`` or ``"scheduled"`` for an article that is not public yet."""
    if article.draft:
        return "draft"
    return "scheduled" if article.date > now else None


def next_change(content: Content, now: datetime) -> datetime | None:
    """The next moment after ``now`` at which what is public changes by itself
    (a scheduled article's time comes), or None."""
    return min((a.date for a in content.articles if not a.draft and a.date > now), default=None)


@dataclass(frozen=True)
class Channel:
    """What a listing is, without its articles: what its pages and feeds say of it."""

    #: Where its first page lives: "", "tags/peru/", "authors/ana-quispe/".
    path: str
    #: Feed and page title.
    title: str
    description: str
    #: "site", "tag" or "author".
    kind: str = "site"
    #: The author of an author listing.
    author: Author | None = None


@dataclass(frozen=True)
class Listing(Channel):
    """A channel and every public article in it, newest first."""

    articles: tuple[Article, ...] = ()

    @property
    def channel(self) -> Channel:
        """The channel alone: what its feeds and pages are built from besides articles."""
        return Channel(self.path, self.title, self.description, self.kind, self.author)

    def page_url(self, site: Site) -> str:
        return urls.absolute(site.base_url, self.path)

    def feed_url(self, site: Site, fmt: str) -> str:
        """Absolute URL of this listing's feed in ``fmt`` (rss, atom or json)."""
        return urls.absolute(site.base_url, urls.feed(self.path, fmt))

    def feed_articles(self, site: Site) -> tuple[Article, ...]:
        """The newest ``feed_items`` articles."""
        return self.articles[: site.feed_items]

    def pages(self) -> tuple[Page, ...]:
        """The listing cut into pages of :data:`PAGE_SIZE`; an empty listing has one page."""
        count = max(1, math.ceil(len(self.articles) / PAGE_SIZE))
        channel = self.channel
        return tuple(
            Page(channel, number, count, self.articles[(number - 1) * PAGE_SIZE :][:PAGE_SIZE])
            for number in range(1, count + 1)
        )


@dataclass(frozen=True)
class Page:
    """One page of a listing: what it shows, and where it stands among the others."""

    channel: Channel
    number: int
    count: int
    articles: tuple[Article, ...]

    @property
    def path(self) -> str:
        return urls.page(self.channel.path, self.number)


@dataclass(frozen=True)
class FeedLink:
    """A feed as the pages (autodiscovery), the OPML list and people see it."""

    #: The path of its channel (:attr:`Channel.path`).
    channel: str
    #: The title of its channel.
    title: str
    #: rss, atom or json.
    fmt: str
    #: Absolute URL of the feed.
    url: str
    #: Absolute URL of its channel's first page.
    page_url: str

    @property
    def label(self) -> str:
        """``Field Notes Wire (RSS)``."""
        return f"{self.title} ({urls.FEED_LABELS[self.fmt]})"

    @property
    def media_type(self) -> str:
        return urls.FEED_TYPES[self.fmt]


@dataclass(frozen=True)
class SitemapEntry:
    """A page as the sitemap lists it."""

    #: Absolute URL of the page.
    url: str
    #: W3C date of its last change, when one is known.
    lastmod: str | None


def newest_first(articles: tuple[Article, ...] | list[Article]) -> tuple[Article, ...]:
    """By first publication, newest first; ties broken by id so order is stable."""
    by_id = sorted(articles, key=lambda a: a.id)
    return tuple(sorted(by_id, key=lambda a: a.date, reverse=True))


def public_articles(content: Content, now: datetime, drafts: bool = False) -> tuple[Article, ...]:
    """Neither drafts nor scheduled after ``now`` (but with ``drafts``), newest first."""
    return newest_first([a for a in content.articles if is_shown(a, now, drafts)])


def listings(content: Content, now: datetime, drafts: bool = False) -> tuple[Listing, ...]:
    """The site listing, then one per tag and per author that has public articles.

    A tag or author whose only articles are drafts or scheduled has no listing,
    so nothing about them is public before their time. With ``drafts`` (the
    editor's preview), every article is listed.
    """
    site = content.site
    public = public_articles(content, now, drafts)
    result = [Listing(urls.HOME, site.title, site.description, articles=public)]
    tags: dict[str, list[Article]] = {}
    names: dict[str, str] = {}
    by_author: dict[str, list[Article]] = {}
    for article in public:
        for tag in article.tags:
            tags.setdefault(tag.slug, []).append(article)
            names[tag.slug] = tag.name
        for writer in article.authors:
            if writer.id is not None:
                by_author.setdefault(writer.id, []).append(article)
    for slug in sorted(tags):
        result.append(
            Listing(
                urls.tag(slug),
                f"{site.title}: {names[slug]}",
                f"Articles tagged “{names[slug]}” from {site.title}.",
                "tag",
                articles=tuple(tags[slug]),
            )
        )
    for author in content.authors:
        written = tuple(by_author.get(author.id or "", ()))
        if written and author.id is not None:
            result.append(
                Listing(
                    urls.author(author.id),
                    f"{site.title}: {author.name}",
                    f"Articles by {author.name} from {site.title}.",
                    "author",
                    author,
                    articles=written,
                )
            )
    return tuple(result)


def public_images(content: Content, now: datetime, drafts: bool = False) -> tuple[str, ...]:
    """Files under ``images/`` that may be published at ``now``: all of them but
    those used only by drafts and scheduled articles, which would give them away.
    The logo and images in author bios are always public."""
    hidden: set[str] = set()
    shown = set(content.site_images)
    for article in content.articles:
        (shown if is_shown(article, now, drafts) else hidden).update(article.images)
    return tuple(path for path in content.images if path not in hidden - shown)
