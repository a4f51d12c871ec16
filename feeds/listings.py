"""What is public at ``now``, grouped the ways readers subscribe: the whole site,
each tag, each author. The one place that sorts (newest first) and caps."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from feeds.model import Article, Author, Content, Site

FEED_FILES = {"rss": "rss.xml", "atom": "atom.xml", "json": "feed.json"}
FEED_TYPES = {
    "rss": "application/rss+xml",
    "atom": "application/atom+xml",
    "json": "application/feed+json",
}


@dataclass(frozen=True)
class Listing:
    """A page of articles and the three feeds that follow it."""

    #: Where the HTML page lives, relative to base_url: "", "tags/peru/", "authors/ana-quispe/".
    path: str
    #: Feed and page title.
    title: str
    description: str
    #: Every public article of the listing, newest first (pages paginate these).
    articles: tuple[Article, ...]
    #: "site", "tag" or "author".
    kind: str = "site"
    #: The author of an author listing.
    author: Author | None = None

    def page_url(self, site: Site) -> str:
        return site.base_url + self.path

    def feed_url(self, site: Site, fmt: str) -> str:
        """Absolute URL of this listing's feed in ``fmt`` (rss, atom or json)."""
        return site.base_url + self.path + FEED_FILES[fmt]

    def feed_articles(self, site: Site) -> tuple[Article, ...]:
        """The newest ``feed_items`` articles."""
        return self.articles[: site.feed_items]


def newest_first(articles: tuple[Article, ...] | list[Article]) -> tuple[Article, ...]:
    """By first publication, newest first; ties broken by id so order is stable."""
    by_id = sorted(articles, key=lambda a: a.id)
    return tuple(sorted(by_id, key=lambda a: a.date, reverse=True))


def public_articles(content: Content, now: datetime) -> tuple[Article, ...]:
    """Neither drafts nor scheduled after ``now``, newest first."""
    return newest_first([a for a in content.articles if a.is_public(now)])


def listings(content: Content, now: datetime) -> tuple[Listing, ...]:
    """The site listing, then one per tag and per author that has public articles.

    A tag or author whose only articles are drafts or scheduled has no listing,
    so nothing about them is public before their time.
    """
    site = content.site
    public = public_articles(content, now)
    result = [Listing("", site.title, site.description, public)]
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
                f"tags/{slug}/",
                f"{site.title}: {names[slug]}",
                f"Articles tagged “{names[slug]}” from {site.title}.",
                tuple(tags[slug]),
                "tag",
            )
        )
    for author in content.authors:
        written = tuple(by_author.get(author.id or "", ()))
        if written:
            result.append(
                Listing(
                    f"authors/{author.id}/",
                    f"{site.title}: {author.name}",
                    f"Articles by {author.name} from {site.title}.",
                    written,
                    "author",
                    author,
                )
            )
    return tuple(result)


def public_images(content: Content, now: datetime) -> tuple[str, ...]:
    """Files under ``images/`` that may be published at ``now``: all of them but
    those used only by drafts and scheduled articles, which would give them away.
    The logo and images in author bios are always public."""
    hidden: set[str] = set()
    shown = set(content.site_images)
    for article in content.articles:
        (shown if article.is_public(now) else hidden).update(article.images)
    return tuple(path for path in content.images if path not in hidden - shown)
