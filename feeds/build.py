"""The static export: every file decided as path to bytes, then written at once."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from importlib.resources import files
from pathlib import Path

from feeds.content import load_content
from feeds.export import write_export
from feeds.feedgen_formats import build_atom, build_rss
from feeds.jsonfeed import build_json_feed
from feeds.listings import FEED_FILES, listings, public_images
from feeds.model import Article, Content
from feeds.opml import build_opml
from feeds.render import content_html
from feeds.validate import zone_of

#: Media types of what we serve, by file name ending (DESIGN.md).
MEDIA_TYPES = {
    ".xml": "application/xml",
    "rss.xml": "application/rss+xml; charset=utf-8",
    "atom.xml": "application/atom+xml; charset=utf-8",
    "feed.json": "application/feed+json; charset=utf-8",
    ".opml": "text/x-opml; charset=utf-8",
    ".xsl": "text/xsl; charset=utf-8",
}

Progress = Callable[[int, int], None]

_BUILDERS = {"rss": build_rss, "atom": build_atom, "json": build_json_feed}


def stylesheet() -> bytes:
    return files("feeds").joinpath("static/feed.xsl").read_bytes()


def feed_files(content: Content, now: datetime) -> dict[str, bytes]:
    """Every feed, the OPML list and the stylesheet, by path relative to the site root."""
    zone = zone_of(content.site)
    cache: dict[str, str] = {}

    def html_of(article: Article) -> str:
        if article.id not in cache:
            cache[article.id] = content_html(article, zone)
        return cache[article.id]

    every = listings(content, now)
    out: dict[str, bytes] = {}
    for listing in every:
        for fmt, name in FEED_FILES.items():
            builder: Callable[..., bytes] = _BUILDERS[fmt]
            out[listing.path + name] = builder(listing, content.site, html_of)
    out["feeds.opml"] = build_opml(every, content.site)
    out["feed.xsl"] = stylesheet()
    return out


def export_site(root: Path, out: Path, now: datetime, progress: Progress | None = None) -> int:
    """Validate ``root`` and write its whole export to ``out``; return the file count.

    Raises :class:`ContentError` before anything is written when the content
    has a problem, so the last export stays as it was.
    """
    content = load_content(root)
    files = feed_files(content, now)
    copies = {f"images/{path}": root / "images" / path for path in public_images(content, now)}
    write_export(out, files, copies, progress)
    return len(files) + len(copies)
