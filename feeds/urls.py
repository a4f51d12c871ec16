"""The URL scheme: every path the site publishes, as a path and as an absolute
URL, and the one resolver of URLs written in content.

A *path* here is relative to the site's ``base_url``, without a leading slash:
``""`` is the home page, ``"articles/x/"`` an article, ``"rss.xml"`` the site's
RSS feed. Pages are folders; the file an export writes for one is its
``index.html`` (:func:`file_of`). Nothing else in the package spells a path.
"""

from __future__ import annotations

import functools
import hashlib
import posixpath
import re
from typing import Literal
from urllib.parse import quote, unquote, urljoin, urlsplit, urlunsplit

from slugify import slugify

#: The three feed formats, by the name the code uses for them, with their file
#: names and media types (DESIGN.md).
FeedFormat = Literal["rss", "atom", "json"]
FEED_FILES: dict[FeedFormat, str] = {"rss": "rss.xml", "atom": "atom.xml", "json": "feed.json"}
FEED_TYPES: dict[FeedFormat, str] = {
    "rss": "application/rss+xml",
    "atom": "application/atom+xml",
    "json": "application/feed+json",
}
FEED_LABELS: dict[FeedFormat, str] = {"rss": "RSS", "atom": "Atom", "json": "JSON Feed"}

HOME = ""
#: The page that lists every feed, for people who click a feed link.
FEEDS_PAGE = "feeds/"
#: The OPML list of every feed, one per listing: the site's, the updates',
#: the withdrawals', and the tags' and the authors' in nested groups.
OPML = "feeds.opml"
#: The OPML list that /feeds/ offers first: the site's feed and the
#: withdrawals', so that no story comes twice (a reader imports every feed of
#: a list, however nested); the tags' and the authors' feeds are lists of
#: their own too (:data:`OPML_GROUPS`), for readers to choose.
OPML_SITE = "feeds/site.opml"
#: The OPML list of each group of listings, by the prefix of their paths.
OPML_GROUPS = {"tags/": "feeds/tags.opml", "authors/": "feeds/authors.opml"}
#: The sitemap index (sitemaps.org): it names the sitemaps under :data:`SITEMAPS`.
SITEMAP = "sitemap.xml"
#: The folder of the sitemaps the index names.
SITEMAPS = "sitemaps/"
#: The Google News sitemap: the stories of the last two days.
SITEMAP_NEWS = f"{SITEMAPS}news.xml"
#: The sitemap of every page that is not an article (listing front pages, tag
#: and author pages, the archive, feeds and withdrawals pages).
SITEMAP_PAGES = f"{SITEMAPS}pages.xml"
#: Crawl rules, naming the sitemap index. Crawlers read it at the host's root
#: only: a site under a path (``/news/``) must have its host serve it there.
ROBOTS = "robots.txt"
STYLE = "static/style.css"
#: The site's one script (Copy buttons).
SCRIPT = "static/site.js"
FAVICON = "favicon.ico"
#: The page served for a URL the site does not have (exported for static hosts).
NOT_FOUND = "404.html"
IMAGES = "images/"
#: Where tag pages live: also the scheme of feed categories.
TAGS = "tags/"

#: Media types by the end of a path.
_MEDIA_TYPES = {
    **{name: f"{FEED_TYPES[fmt]}; charset=utf-8" for fmt, name in FEED_FILES.items()},
    ".opml": "text/x-opml; charset=utf-8",
    ".xml": "application/xml; charset=utf-8",
    ".html": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".txt": "text/plain; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".ico": "image/x-icon",
    # RFC 8259 defines no charset parameter: JSON is UTF-8.
    ".json": "application/json",
}

#: The schemes a URL in content may have once resolved: the web and email.
SCHEMES = frozenset({"http", "https", "mailto"})
_DEFAULT_PORTS = {"http": 80, "https": 443}

#: Characters WHATWG URL parsing removes wherever they are.
_REMOVED = re.compile("[\t\n\r]")
#: And what it strips from either end: C0 controls and spaces.
_EDGES = re.compile("^[\x00-\x20]+|[\x00-\x20]+$")
#: What may stand in a URL as it is; everything else is percent-encoded as UTF-8.
_URL_SAFE = "!#$%&'()*+,/:;=?@[]~"
#: A reference that names its scheme and a host: ``urljoin`` takes no more of
#: the page's URL than its scheme to resolve it.
_NAMES_HOST = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^/?#]")


def article(slug: str) -> str:
    return f"articles/{slug}/"


def ninjs(slug: str) -> str:
    """The article as an IPTC ninjs item: ``articles/<slug>/ninjs.json``."""
    return f"{article(slug)}ninjs.json"


def tag(slug: str) -> str:
    return f"{TAGS}{slug}/"


def author(author_id: str) -> str:
    return f"authors/{author_id}/"


#: Where section pages live.
SECTIONS = "sections/"


def section(slug: str) -> str:
    return f"{SECTIONS}{slug}/"


#: The site's archive page; its archive documents live under it, as a tag's
#: and an author's under theirs (:func:`archives`).
ARCHIVE = "archive/"
#: Every withdrawn article, as a page and as feeds, for partners.
WITHDRAWALS = "withdrawals/"
#: Feeds (no page) of the articles updated or corrected, by their last change.
UPDATES = "updates/"


#: The early-access feeds: token only, never exported, never listed.
PARTNERS = "partners/"
#: The partners' change stream (token only, app only): ``?since=CURSOR``.
CHANGES = PARTNERS + "changes.json"
#: The editors' desk (token with the editor scope, app only).
DESK = "desk/"
#: The built-in republication pixels (app only).
PIXELS = "r/"


def partners(listing: str) -> str:
    """The early-access channel of a public listing: ``partners/tags/peru/``."""
    return PARTNERS + listing


def id_digest(article_id: str) -> str:
    """A short digest of an article's id (which never changes, unlike its
    slug): the name of its pixel and its key at a CDN."""
    return hashlib.blake2b(article_id.encode(), digest_size=16).hexdigest()


def pixel(article_id: str) -> str:
    """The built-in republication pixel of an article: ``r/<id digest>.gif``."""
    return f"{PIXELS}{id_digest(article_id)}.gif"


#: Where a page of ``content/pages/`` cannot be: the site's own folders.
RESERVED = frozenset(
    {
        "articles",
        "tags",
        "authors",
        "sections",
        "archive",
        "feeds",
        "withdrawals",
        "partners",
        "desk",
        "r",
        "images",
        "static",
        "page",
        "sitemaps",
        "updates",
    }
)
#: The indexes of every tag and every author.
TAG_INDEX = TAGS
AUTHOR_INDEX = "authors/"


def site_page(slug: str) -> str:
    """A page of ``content/pages/``: ``about/``."""
    return f"{slug}/"


def month(year: int, number: int) -> str:
    """The site archive's page of a month's stories: ``archive/2026-05/``. One
    segment, not ``2026/05/``: a host's pattern for those (``/archive/:y/:m/``)
    would match an archive document's ``/archive/3/rss.xml`` too, since
    Netlify takes the final slash as optional."""
    return f"{ARCHIVE}{year:04d}-{number:02d}/"


#: A month's folder under the archive (:func:`month`).
_MONTH = re.compile(r"[0-9]{4}-[0-9]{2}")


def archives(listing: str) -> str:
    """The archive page of the listing whose front page is at ``listing``:
    ``archive/``, ``tags/peru/archive/``."""
    return listing + ARCHIVE


def archive(listing: str, number: int) -> str:
    """The folder of a listing's archive document ``number`` (RFC 5005),
    numbered from the oldest: ``archive/3/``, ``tags/peru/archive/3/``."""
    return f"{archives(listing)}{number}/"


#: An archive document's feed: ``archive/3/atom.xml``, ``tags/x/archive/3/rss.xml``.
_ARCHIVE_DOCUMENT = re.compile(
    rf"(?:{TAGS}[^/]+/|authors/[^/]+/|{SECTIONS}[^/]+/)?{ARCHIVE}[1-9][0-9]*/"
    f"(?:{'|'.join(map(re.escape, FEED_FILES.values()))})"
)


def is_archive_document(path: str) -> bool:
    """Whether ``path`` is an archive document's feed: no hub carries it (it
    has nothing to push), unlike a subscription feed."""
    return _ARCHIVE_DOCUMENT.fullmatch(path) is not None


#: The file names of a feed, whatever its format.
_FEED_NAMES = tuple(FEED_FILES.values())


def is_feed(path: str) -> bool:
    """Whether the exported file (or URL path) ``path`` is a feed, in any
    format: ``rss.xml``, ``tags/peru/atom.xml``, ``archive/3/feed.json``. The
    one place that decides it from a path; the plan says it of its outputs
    (:attr:`feeds.outputs.plan.Output.fmt`)."""
    return path.endswith(_FEED_NAMES)


def names_hub(path: str) -> bool:
    """Whether the feed at ``path`` is one a WebSub hub is told of and that
    names the hub (its ``Link`` header): every feed but an archive document's,
    sealed, with nothing to push."""
    return is_feed(path) and not is_archive_document(path)


def sitemap_articles(number: int) -> str:
    """The sitemap of the site's articles in chunk ``number``, numbered from
    the oldest: ``sitemaps/articles-1.xml`` names the first 1,000 articles."""
    return f"{SITEMAPS}articles-{number}.xml"


#: The folders whose subfolders each hold one thing of a kind, and the
#: placeholder a pattern names that thing by (:func:`pattern`).
_THINGS = {
    "articles": ":slug",
    TAGS.rstrip("/"): ":tag",
    "authors": ":author",
    SECTIONS.rstrip("/"): ":section",
}
#: The folders whose numbered subfolders are pages or archive documents.
_NUMBERED = frozenset({"page", ARCHIVE.rstrip("/")})
#: Folders of files of one kind each, whatever their names.
_FILES = (SITEMAPS,)


def pattern(path: str) -> str:
    """The pattern of the paths of ``path``'s kind, in the syntax of static
    hosts' ``_headers`` rules: a placeholder for a segment that names one
    thing of a kind or a number, a splat for a folder of files.

    ``articles/:slug/``, ``tags/:tag/page/:n1/``, ``tags/:tag/rss.xml``,
    ``archive/:n1/atom.xml``, ``archive/:month/``, ``images/*.png`` (an image by its extension),
    ``sitemaps/*``; a path of a kind of its own (``feeds/``, ``rss.xml``)
    is its own pattern. No two kinds' patterns match one path.
    """
    if path.startswith(IMAGES):
        name = path.rpartition("/")[2]
        dot = name.rfind(".")
        return f"{IMAGES}*{name[dot:]}" if dot > 0 else path
    if path.startswith(_FILES):
        return path[: path.index("/") + 1] + "*"
    parts = path.split("/")
    if len(parts) < 3:
        return path
    if parts[0] == ARCHIVE.rstrip("/") and _MONTH.fullmatch(parts[1]):
        parts[1] = ":month"
    if parts[0] in _THINGS:
        parts[1] = _THINGS[parts[0]]
    numbers = 0
    for index in range(1, len(parts) - 1):  # folders, not the file's name
        part = parts[index]
        before = parts[index - 1]
        if part.isascii() and part.isdigit() and (before in _NUMBERED or before.startswith(":n")):
            numbers += 1
            parts[index] = f":n{numbers}"
    return "/".join(parts)


def page(listing: str, number: int) -> str:
    """Page ``number`` of the listing whose front page is at ``listing``,
    numbered from the oldest: ``page/1/`` holds its first 20 stories."""
    return f"{listing}page/{number}/"


def feed(listing: str, fmt: FeedFormat) -> str:
    """The listing's feed in ``fmt`` (``rss``, ``atom`` or ``json``)."""
    return listing + FEED_FILES[fmt]


def image(name: str) -> str:
    """``images/<name>``; ``name`` is relative to the content's ``images/``."""
    return IMAGES + name


def anchor(channel: str) -> str:
    """The id of a channel's feeds on :data:`FEEDS_PAGE`: ``site``, ``tags-peru``."""
    return channel.strip("/").replace("/", "-") or "site"


def absolute(base_url: str, path: str) -> str:
    """The absolute URL of a path of the site."""
    return base_url + quote(path, safe="/")


def relative(source: str, target: str) -> str:
    """``target`` as a reference relative to the file or folder at ``source``
    (both paths of the site): what works whatever address the site is served at."""
    return "../" * source.count("/") + target


def file_of(path: str) -> str:
    """The exported file for a path: ``articles/x/`` is ``articles/x/index.html``."""
    return path + "index.html" if path == "" or path.endswith("/") else path


def path_of(file: str) -> str:
    """The path an exported file is served at (the inverse of :func:`file_of`)."""
    return file.removesuffix("index.html") if file.endswith("index.html") else file


def media_type(file: str) -> str:
    """The media type an exported file is served with."""
    for ending, kind in _MEDIA_TYPES.items():
        if file.endswith(ending):
            return kind
    return "application/octet-stream"


@functools.lru_cache(maxsize=65536)  # bounded: the app runs for months
def tag_slug(name: str) -> str:
    """ASCII URL segment for a tag: lowercase, hyphens, other scripts transliterated.
    Kept per name: a build asks for each tag's and section's slug once per
    page, feed entry and check that names it (python-slugify takes about
    30 µs a call), and a site has far fewer names than calls."""
    return str(slugify(name, max_length=80, word_boundary=True))


def resolve(reference: str, page_url: str, base_url: str) -> str | None:
    """A URL written in content (a link, an image, the logo) as an absolute URL.

    ``/x`` is under the site's ``base_url`` (which may have a path of its own);
    anything else is relative to ``page_url``, as a browser reads it. Characters
    a URL cannot hold (spaces, non-ASCII letters) are percent-encoded as UTF-8,
    so ``/images/a b.png`` and ``/images/a%20b.png`` give the same URL. None
    for what cannot be made an http(s) or mailto URL (``javascript:``, however
    spelled, a broken host or port). The sanitiser resolves every ``href`` and
    ``src`` with this, and validation every lead image and logo.
    """
    text = _EDGES.sub("", _REMOVED.sub("", reference))
    if text.startswith("/") and not text.startswith("//"):
        text = base_url + text[1:]
    if _NAMES_HOST.match(text):
        # The same on every page with this scheme (nearly every URL of a site
        # is written on many pages): worked out once each.
        return _join_on(text, page_url.partition(":")[0].lower() + "://")
    return _join(text, page_url)


def _join(text: str, page_url: str) -> str | None:
    """The rest of :func:`resolve`: ``text`` read on ``page_url``."""
    try:
        joined = urljoin(page_url, text)
        parts = urlsplit(joined)
        parts.port  # noqa: B018 - raises ValueError for a port out of range
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in SCHEMES or (scheme != "mailto" and not parts.hostname):
        return None
    host = parts.hostname or ""
    if scheme != "mailto" and not host.isascii():
        try:
            ascii_host = host.encode("idna").decode("ascii")
        except UnicodeError:
            return None
        joined = joined.replace(parts.netloc, parts.netloc.replace(host, ascii_host), 1)
    return quote(joined, safe=_URL_SAFE)


#: :func:`_join` of references that name a host, by the page's scheme alone.
_join_on = functools.lru_cache(maxsize=16384)(_join)


def site_path(url: str, base_url: str, hosts: frozenset[str] = frozenset()) -> str | None:
    """The path of this site an absolute URL names (``articles/x/``), or None
    for a URL of another site (or none under ``base_url``'s path).

    Every spelling of one URL gives one answer: ``http`` or ``https``, a
    default port written out, a host in upper case, percent-encoded or with
    the final dot of a fully qualified name, doubled slashes and
    percent-encoding. ``hosts`` are further names of this site (the host of
    site.toml's ``base_url`` when a preview serves it from another address).
    """
    try:
        parts, base = urlsplit(url), urlsplit(base_url)
        port, base_port = parts.port, base.port
    except ValueError:
        return None
    if parts.scheme.lower() not in _DEFAULT_PORTS or not parts.hostname:
        return None
    host = _host(parts.hostname)
    if host != _host(base.hostname or "") and host not in hosts:
        return None
    default = frozenset((None, *_DEFAULT_PORTS.values()))
    if port != base_port and not (port in default and base_port in default):
        return None
    path = re.sub("/{2,}", "/", unquote(parts.path)) or "/"
    folder = path.endswith("/")
    path = posixpath.normpath(path) + ("/" if folder and path != "/" else "")  # . and ..
    prefix = re.sub("/{2,}", "/", base.path)
    if not (path + "/").startswith(prefix):
        return None
    found = path[len(prefix) :]
    if ".." in found.split("/"):
        return None
    return found


#: What stays as it is in a URI's path, query and fragment (reserved
#: characters and escapes already there).
_URI_SAFE = "/%:@!$&'()*+,;=~?#[]"


def uri(iri: str) -> str:
    """An absolute IRI as a URI, what an HTTP header may carry (Latin-1 at
    most, and URIs by RFC 8288 for ``Link``): the host in IDNA
    (``新闻.example`` is ``xn--xkrr14b.example``), every other non-ASCII
    character percent-encoded as UTF-8. A ValueError for a host that IDNA
    cannot write."""
    if iri.isascii():
        return iri
    parts = urlsplit(iri)
    host = parts.hostname or ""
    try:
        ascii_host = host if host.isascii() else host.encode("idna").decode("ascii")
    except UnicodeError as e:
        raise ValueError(f"the host {host!r} is not an international domain name") from e
    netloc = f"[{ascii_host}]" if ":" in ascii_host else ascii_host
    if parts.port is not None:
        netloc += f":{parts.port}"
    if "@" in parts.netloc:
        netloc = quote(parts.netloc.rpartition("@")[0], safe=_URI_SAFE) + "@" + netloc
    return urlunsplit(
        (
            parts.scheme,
            netloc,
            quote(parts.path, safe=_URI_SAFE),
            quote(parts.query, safe=_URI_SAFE),
            quote(parts.fragment, safe=_URI_SAFE),
        )
    )


def _host(name: str) -> str:
    """A host name as a browser reads it: ``wire%2Eexample.org.`` is
    ``wire.example.org`` (``urlsplit`` has made it lower case already)."""
    return unquote(name).lower().removesuffix(".")


@functools.lru_cache(maxsize=16384)
def image_path(url: str, base_url: str, hosts: frozenset[str] = frozenset()) -> str | None:
    """The file under ``images/`` an absolute URL names, or None for any other
    URL; every spelling of one file gives one answer (see :func:`site_path`)."""
    path = site_path(url, base_url, hosts)
    if path is None or not path.startswith(IMAGES):
        return None
    name = path[len(IMAGES) :]
    if not name or posixpath.normpath(name) != name:
        return None
    return name


#: What RFC 3986 lets stand in a URI as it is, ``%`` (checked apart) and the
#: brackets (an IP literal's only) aside.
_URI_CHARS = frozenset(
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~:/?#@!$&'()*+,;="
)
_HEX = frozenset("0123456789abcdefABCDEF")
_AUTHORITY = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://([^/?#]*)")


def as_uri(text: str) -> str:
    """``text`` (an entry id, a URL as an editor wrote it, an IRI) as a URI
    that RFC 3986 accepts, for formats that check it (ninjs): a non-ASCII
    host in IDNA, every other character a URI cannot hold percent-encoded as
    UTF-8 (a lone ``%``, a second ``#``, brackets outside the host). A text
    that is a URI already comes back as it is."""
    found = _AUTHORITY.match(text)
    host_end = found.end(1) if found else 0
    if found and not found.group(1).isascii():
        authority = found.group(1)
        userinfo, at, host = authority.rpartition("@")
        name, colon, port = host.partition(":")
        try:
            host = name.encode("idna").decode("ascii") + colon + port
        except UnicodeError:
            pass
        else:
            text = text[: found.start(1)] + userinfo + at + host + text[found.end(1) :]
            host_end = found.start(1) + len(userinfo + at + host)
    out = []
    fragment = text.find("#")
    for index, char in enumerate(text):
        if char == "%":
            escape = text[index + 1 : index + 3]
            kept = len(escape) == 2 and set(escape) <= _HEX
        elif char == "#":
            kept = index == fragment
        elif char in "[]":
            kept = found is not None and found.start(1) <= index < host_end
        else:
            kept = char in _URI_CHARS
        out.append(char if kept else quote(char, safe=""))
    return "".join(out)
