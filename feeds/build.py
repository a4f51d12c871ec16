"""Every feed file of a site, by path: built on demand, the same bytes for the
app and for the export."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from functools import partial
from importlib.resources import files

from feeds.cache import code_version, digest
from feeds.feedgen_formats import build_atom, build_rss
from feeds.jsonfeed import build_json_feed
from feeds.listings import FEED_FILES, FEED_TYPES, Listing, listings
from feeds.model import Article, Content
from feeds.opml import build_opml
from feeds.render import content_html
from feeds.validate import zone_of

#: Media types by the end of a path (DESIGN.md).
MEDIA_TYPES = {
    **{name: f"{FEED_TYPES[fmt]}; charset=utf-8" for fmt, name in FEED_FILES.items()},
    ".opml": "text/x-opml; charset=utf-8",
    ".xsl": "text/xsl; charset=utf-8",
    ".xml": "application/xml; charset=utf-8",
    ".html": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
}

Builder = Callable[[], bytes]
#: How to build a file, and a key of everything it is built from: two plans
#: that give a path the same key give it the same bytes.
Planned = tuple[Builder, str]

_FORMATS = {"rss": build_rss, "atom": build_atom, "json": build_json_feed}


def media_type(path: str) -> str:
    for ending, kind in MEDIA_TYPES.items():
        if path.endswith(ending):
            return kind
    return "application/octet-stream"


def stylesheet() -> bytes:
    return files("feeds").joinpath("static/feed.xsl").read_bytes()


class ArticleHtml:
    """Each article's full feed HTML, rendered once however many feeds carry it."""

    def __init__(self, content: Content) -> None:
        self._zone = zone_of(content.site)
        self._cache: dict[str, str] = {}

    def __call__(self, article: Article) -> str:
        html = self._cache.get(article.id)
        if html is None:
            html = self._cache[article.id] = content_html(article, self._zone)
        return html


def key(*parts: object) -> str:
    """A digest of the inputs of a file (their ``repr``s are deterministic)."""
    return digest(repr(parts).encode())


def site_key(content: Content) -> str:
    """What every file depends on: the site's settings and this program's code."""
    return key(content.site, code_version())


def feed_builders(
    content: Content, every: tuple[Listing, ...], html_of: ArticleHtml
) -> dict[str, Planned]:
    """Path to how to build that feed, the OPML list or the stylesheet, and its key."""
    site = content.site
    common = site_key(content)
    planned: dict[str, Planned] = {}
    for listing in every:
        versions = [a.version for a in listing.feed_articles(site)]
        for fmt, name in FEED_FILES.items():
            planned[listing.path + name] = (
                partial(_FORMATS[fmt], listing, site, html_of),
                key(common, fmt, listing.path, listing.title, listing.description, versions),
            )
    planned["feeds.opml"] = (
        partial(build_opml, every, site),
        key(common, [(listing.path, listing.title) for listing in every]),
    )
    planned["feed.xsl"] = (stylesheet, common)
    return planned


def feed_files(content: Content, now: datetime) -> dict[str, bytes]:
    """Every feed, the OPML list and the stylesheet, built now."""
    planned = feed_builders(content, listings(content, now), ArticleHtml(content))
    return {path: build() for path, (build, _) in planned.items()}
