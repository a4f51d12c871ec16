"""Every feed file of a site, by path: built on demand, the same bytes for the
app and for the export."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from functools import partial
from importlib.resources import files

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


def feed_builders(
    content: Content, every: tuple[Listing, ...], html_of: ArticleHtml
) -> dict[str, Builder]:
    """Path to a function that builds that feed, the OPML list or the stylesheet."""
    site = content.site
    builders: dict[str, Builder] = {}
    for listing in every:
        for fmt, name in FEED_FILES.items():
            builders[listing.path + name] = partial(_FORMATS[fmt], listing, site, html_of)
    builders["feeds.opml"] = partial(build_opml, every, site)
    builders["feed.xsl"] = stylesheet
    return builders


def feed_files(content: Content, now: datetime) -> dict[str, bytes]:
    """Every feed, the OPML list and the stylesheet, built now."""
    builders = feed_builders(content, listings(content, now), ArticleHtml(content))
    return {path: build() for path, build in builders.items()}
