"""Every URL of a site at one moment, as bytes: what the app serves and what
``feeds build`` writes. Built lazily, path by path, and kept once built."""

from __future__ import annotations

import gzip
import hashlib
import mimetypes
from collections.abc import Callable, Mapping
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from importlib.resources import files
from multiprocessing import get_all_start_methods, get_context
from pathlib import Path

from feeds.build import ArticleHtml, Planned, feed_builders, key, media_type, site_key
from feeds.cache import Cache, code_version, digest
from feeds.content import FORKING, load_content, no_gc, scan
from feeds.export import Writer, publish, read_marker, write_file
from feeds.listings import listings, public_images
from feeds.model import Content
from feeds.render import rfc3339
from webapp.pages import PAGE_SIZE, Pages, environment, sitemap

NOT_FOUND = "404.html"
#: Smaller bodies are not worth compressing.
GZIP_MIN_BYTES = 512


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
        #: Worth gzip: text of some size (images are compressed already).
        self.compressible = len(data) >= GZIP_MIN_BYTES and (
            not media_type.startswith("image/") or "svg" in media_type
        )
        self._gzip: bytes | None = None
        self._headers: dict[tuple[bool, str, int], list[tuple[str, str]]] = {}

    def headers(self, gzipped: bool, last_modified: str, max_age: int) -> list[tuple[str, str]]:
        """The response headers of a 200, prepared once."""
        key = (gzipped, last_modified, max_age)
        found = self._headers.get(key)
        if found is None:
            body = self.gzip if gzipped else self.data
            found = [
                ("Content-Type", self.media_type),
                ("Content-Length", str(len(body))),
                ("ETag", f'"{self.etag}-gzip"' if gzipped else f'"{self.etag}"'),
                ("Last-Modified", last_modified),
                ("Cache-Control", f"public, max-age={max_age}"),
                ("Vary", "Accept-Encoding"),
            ]
            if gzipped:
                found.append(("Content-Encoding", "gzip"))
            self._headers[key] = found
        return list(found)

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
        self._planned = self._plan()
        self._built: dict[str, Resource] = {}
        #: Paths under images/ that may be served.
        self.images = frozenset(public_images(content, now))
        #: When a scheduled article becomes public and these files go stale.
        self.expires = min(
            (a.date for a in content.articles if not a.draft and a.date > now), default=None
        )

    def _plan(self) -> dict[str, Planned]:
        """Every path of the site, how to build it, and the key of its inputs."""
        site_listing = self.listings[0]
        planned = feed_builders(self.content, self.listings, ArticleHtml(self.content))
        pages = self.pages
        common = site_key(self.content)
        sitemap_urls: list[tuple[str, str | None]] = []
        for listing in self.listings:
            newest = None
            if listing.articles:
                newest = rfc3339(max(a.modified for a in listing.articles))
            count = pages.page_count(listing)
            author = listing.author.bio_html if listing.author else None
            for number in range(1, count + 1):
                path = pages.page_path(listing, number)
                shown = listing.articles[(number - 1) * PAGE_SIZE : number * PAGE_SIZE]
                planned[path + "index.html"] = (
                    partial(pages.listing_page, listing, site_listing, number),
                    key(
                        common,
                        listing.path,
                        listing.title,
                        listing.description,
                        author,
                        number,
                        count,
                        [a.version for a in shown],
                    ),
                )
                sitemap_urls.append((self.content.site.base_url + path, newest))
        for article in site_listing.articles:
            path = f"articles/{article.slug}/"
            planned[path + "index.html"] = (
                partial(pages.article_page, article, site_listing),
                key(common, article.version),
            )
            sitemap_urls.append((article.url, rfc3339(article.modified)))
        planned["sitemap.xml"] = (
            partial(sitemap, self.content.site, sitemap_urls),
            key(common, sitemap_urls),
        )
        planned[NOT_FOUND] = (partial(pages.not_found, site_listing), common)
        planned["static/style.css"] = (_style, common)
        return planned

    def paths(self) -> list[str]:
        return sorted(self._planned)

    def key(self, path: str) -> str:
        """The key of the inputs of ``path``: unchanged key, unchanged bytes."""
        return self._planned[path][1]

    def render(self, path: str) -> bytes:
        """Build ``path`` without keeping it (for the export)."""
        return self._planned[path][0]()

    def get(self, path: str) -> Resource | None:
        """The file at ``path`` (as exported), or None when the site has none."""
        resource = self._built.get(path)
        if resource is None:
            planned = self._planned.get(path)
            if planned is None:
                return None
            resource = self._built[path] = Resource(planned[0](), media_type(path))
        return resource

    def image(self, path: str) -> Resource | None:
        """``images/<path>``, when it may be served: read once, then kept. None
        also when the file has gone since the content was loaded."""
        if path not in self.images:
            return None
        resource = self._built.get("images/" + path)
        if resource is None:
            kind = mimetypes.guess_type(path)[0] or "application/octet-stream"
            try:
                data = (self.root / "images" / path).read_bytes()
            except OSError:  # deleted since; the next look for changes will know
                return None
            resource = self._built["images/" + path] = Resource(data, kind)
        return resource


def _style() -> bytes:
    return files("webapp").joinpath("static/style.css").read_bytes()


def strong_etag(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=16).hexdigest()


@dataclass(frozen=True)
class Report:
    """What ``feeds build`` did."""

    #: Files in the export.
    files: int
    #: Files written (or linked) because their bytes changed; 0 for a no-op.
    written: int


def export_site(
    root: Path,
    out: Path,
    now: datetime,
    cache: Cache | None = None,
    jobs: int = 1,
    progress: Callable[[int, int], None] | None = None,
) -> Report:
    """Validate ``root`` and write every URL of the site to ``out``.

    A content problem raises before anything is written. With a ``cache``, an
    unchanged site is recognised from its files' stat results alone, an
    article or file whose inputs are unchanged is not rendered again, and
    only files whose bytes changed are written; ``jobs`` processes share the
    parsing and rendering.
    """
    signature = key(scan(root), code_version(), str(out.absolute()))
    if cache is not None and _unchanged(cache, signature, out, now):
        return Report(int(cache.get("files") or 0), 0)
    with no_gc():
        return _export(root, out, now, cache, jobs, progress, signature)


def _export(
    root: Path,
    out: Path,
    now: datetime,
    cache: Cache | None,
    jobs: int,
    progress: Callable[[int, int], None] | None,
    signature: str,
) -> Report:
    content = load_content(root, cache=cache, jobs=jobs)
    site = SiteFiles(content, now, root)
    previous = cache.outputs() if cache else {}
    wanted: dict[str, str | None] = {}
    for path in site.paths():
        last = previous.get(path)
        wanted[path] = last[1] if last and last[0] == site.key(path) else None
    sources = {f"images/{name}": root / "images" / name for name in sorted(site.images)}
    digests = (
        cache.digests(sources) if cache else {p: digest(f.read_bytes()) for p, f in sources.items()}
    )
    copies = {path: (source, digests[path]) for path, source in sources.items()}
    published = publish(out, wanted, _writer(site, jobs, progress), copies, cache)
    if cache is not None:
        cache.put_outputs({p: (site.key(p), published.manifest[p]) for p in site.paths()})
        cache.set(
            signature=signature,
            build=published.build,
            files=str(len(published.manifest)),
            expires=site.expires.isoformat() if site.expires else "",
            now=now.isoformat(),
        )
    return Report(len(published.manifest), published.written)


def _unchanged(cache: Cache, signature: str, out: Path, now: datetime) -> bool:
    """Nothing to do: the same files, the same code, the same export in place,
    and no scheduled article whose time has come since."""
    if cache.get("signature") != signature or read_marker(out) != cache.get("build"):
        return False
    last, expires = cache.get("now"), cache.get("expires")
    if not last or now < datetime.fromisoformat(last):  # time went back: drafts may hide again
        return False
    return not expires or now < datetime.fromisoformat(expires)


#: Fewer files than this to build are not worth starting processes for.
PARALLEL_FROM = 200

# The site the rendering processes share, with the folder they write into and
# the digests of what it holds; set before they are forked.
_shared: tuple[SiteFiles, Path, Mapping[str, str]] | None = None


def _writer(site: SiteFiles, jobs: int, progress: Callable[[int, int], None] | None) -> Writer:
    def write(target: Path, paths: list[str], present: Mapping[str, str]) -> dict[str, str]:
        global _shared
        parallel = jobs > 1 and len(paths) >= PARALLEL_FROM and "fork" in get_all_start_methods()
        if not parallel:
            built = _build_and_write_with((site, target, present), paths)
            if progress:
                progress(len(paths), len(paths))
            return built
        chunks = [paths[i :: jobs * 4] for i in range(jobs * 4)]
        built, done = {}, 0
        with FORKING:  # one pool at a time may use the global its workers inherit
            _shared = (site, target, present)
            try:
                with ProcessPoolExecutor(jobs, mp_context=get_context("fork")) as pool:
                    for result in pool.map(_build_and_write, chunks):
                        built.update(result)
                        done += len(result)
                        if progress:
                            progress(done, len(paths))
            finally:
                _shared = None  # the site is not kept alive after the build
        return built

    return write


def _build_and_write(paths: list[str]) -> dict[str, str]:
    """In a forked worker: build with what the parent shared."""
    assert _shared is not None
    return _build_and_write_with(_shared, paths)


def _build_and_write_with(
    shared: tuple[SiteFiles, Path, Mapping[str, str]], paths: list[str]
) -> dict[str, str]:
    """Build ``paths`` and write those whose bytes the target lacks."""
    site, target, present = shared
    built = {}
    for path in paths:
        data = site.render(path)
        built[path] = sha = digest(data)
        if present.get(path) != sha:
            write_file(target, path, data)
    return built
