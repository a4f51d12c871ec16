"""Every URL of a site at one moment, as bytes: what the app serves and what
``feeds build`` writes. Built lazily, path by path, and kept once built."""

from __future__ import annotations

import gzip
import hashlib
import mimetypes
from collections.abc import Callable
from datetime import datetime
from functools import partial
from importlib.resources import files
from pathlib import Path

from feeds.build import ArticleHtml, Builder, feed_builders, media_type
from feeds.content import load_content
from feeds.export import write_export
from feeds.listings import listings, public_images
from feeds.model import Content
from feeds.render import rfc3339
from webapp.pages import Pages, environment, sitemap

NOT_FOUND = "404.html"


def url_to_path(url_path: str) -> str:
    """``/articles/x/`` to ``articles/x/index.html``; ``/rss.xml`` to ``rss.xml``."""
    path = url_path.lstrip("/")
    return path + "index.html" if path == "" or path.endswith("/") else path


class Resource:
    """One file of the site, with what HTTP needs, computed once."""

    def __init__(self, data: bytes, media_type: str) -> None:
        self.data = data
        self.media_type = media_type
        self.etag = strong_etag(data)
        #: Text compresses; images are compressed already.
        self.compressible = not media_type.startswith("image/") or "svg" in media_type
        self._gzip: bytes | None = None

    @property
    def gzip(self) -> bytes:
        """Compressed once per content change, not per request; no timestamp
        inside, so every worker sends the same bytes."""
        if self._gzip is None:
            self._gzip = gzip.compress(self.data, compresslevel=6, mtime=0)
        return self._gzip


class SiteFiles:
    """The site's files at ``now``: path (as exported) to bytes."""

    def __init__(self, content: Content, now: datetime, root: Path) -> None:
        self.content = content
        self.now = now
        #: The content directory, for images.
        self.root = root
        self.listings = listings(content, now)
        self.pages = Pages(content, environment())
        self._builders = self._plan()
        self._built: dict[str, Resource] = {}
        #: Paths under images/ that may be served.
        self.images = frozenset(public_images(content, now))
        #: When a scheduled article becomes public and these files go stale.
        self.expires = min(
            (a.date for a in content.articles if not a.draft and a.date > now), default=None
        )

    def _plan(self) -> dict[str, Builder]:
        site_listing = self.listings[0]
        builders = feed_builders(self.content, self.listings, ArticleHtml(self.content))
        pages = self.pages
        sitemap_urls: list[tuple[str, str | None]] = []
        for listing in self.listings:
            newest = (
                rfc3339(max(a.modified for a in listing.articles)) if listing.articles else None
            )
            for number in range(1, pages.page_count(listing) + 1):
                path = pages.page_path(listing, number)
                builders[path + "index.html"] = partial(
                    pages.listing_page, listing, site_listing, number
                )
                sitemap_urls.append((self.content.site.base_url + path, newest))
        for article in site_listing.articles:
            path = f"articles/{article.slug}/"
            builders[path + "index.html"] = partial(pages.article_page, article, site_listing)
            sitemap_urls.append((article.url, rfc3339(article.modified)))
        builders["sitemap.xml"] = partial(sitemap, self.content.site, sitemap_urls)
        builders[NOT_FOUND] = partial(pages.not_found, site_listing)
        builders["static/style.css"] = _style
        return builders

    def paths(self) -> list[str]:
        return sorted(self._builders)

    def get(self, path: str) -> Resource | None:
        """The file at ``path`` (as exported), or None when the site has none."""
        resource = self._built.get(path)
        if resource is None:
            build = self._builders.get(path)
            if build is None:
                return None
            resource = self._built[path] = Resource(build(), media_type(path))
        return resource

    def image(self, path: str) -> Resource | None:
        """``images/<path>``, when it may be served: read once, then kept."""
        if path not in self.images:
            return None
        resource = self._built.get("images/" + path)
        if resource is None:
            kind = mimetypes.guess_type(path)[0] or "application/octet-stream"
            data = (self.root / "images" / path).read_bytes()
            resource = self._built["images/" + path] = Resource(data, kind)
        return resource


def _style() -> bytes:
    return files("webapp").joinpath("static/style.css").read_bytes()


def strong_etag(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=16).hexdigest()


def export_site(
    root: Path, out: Path, now: datetime, progress: Callable[[int, int], None] | None = None
) -> int:
    """Validate ``root`` and write every URL of the site to ``out``; return the
    file count. A content problem raises before anything is written."""
    site = SiteFiles(load_content(root), now, root)
    written = {path: site.get(path).data for path in site.paths()}  # type: ignore[union-attr]
    copies = {f"images/{path}": root / "images" / path for path in sorted(site.images)}
    write_export(out, written, copies, progress)
    return len(written) + len(copies)
