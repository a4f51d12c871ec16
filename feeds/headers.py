"""The headers a file of the site carries whoever serves it: the app, a static
host (the export's ``_headers`` file), an object store (``feeds deploy``).

What depends on the request (ETag variants, ``304``, gzip, ``Vary``) is
:mod:`webapp.http`'s; everything that depends only on the file is decided
here, once.
"""

from __future__ import annotations

import mimetypes
from urllib.parse import quote, urlsplit

from feeds import urls
from feeds.model import Site

Headers = tuple[tuple[str, str], ...]

#: How long caches may keep what changes only when its own articles change
#: (sealed archive documents, images).
LASTING = 86_400
#: How long a stale copy may be served while a cache fetches a fresh one, and
#: while the origin is down (RFC 5861).
STALE_WHILE_REVALIDATE = 60
STALE_IF_ERROR = 86_400

#: Pages load only the site's own stylesheet and script; images may come from
#: anywhere (lead images and the republication pixel can be remote); the
#: preview's script asks the site itself whether to reload.
PAGE_POLICY = (
    "default-src 'none'; img-src * data:; style-src 'self'; script-src 'self'; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'self'"
)
#: A feed opened in a browser may be styled by the site's XSL stylesheet.
FEED_POLICY = "default-src 'none'; img-src * data:; style-src 'self' 'unsafe-inline'"
#: Nothing in an image, an SVG above all, may run script or load anything.
FILE_POLICY = "default-src 'none'; style-src 'unsafe-inline'; sandbox"


def media_type(file: str) -> str:
    """The media type of an exported file, images included."""
    if file.startswith(urls.IMAGES):
        return mimetypes.guess_type(file)[0] or "application/octet-stream"
    return urls.media_type(file)


def cache_control(site: Site, max_age: int | None = None) -> str:
    age = site.cache_max_age if max_age is None else max_age
    return (
        f"public, max-age={age}, stale-while-revalidate={STALE_WHILE_REVALIDATE}, "
        f"stale-if-error={STALE_IF_ERROR}"
    )


def security(kind: str) -> Headers:
    """``X-Content-Type-Options`` and the Content-Security-Policy for a media type."""
    if kind.startswith("text/html"):
        policy = PAGE_POLICY
    elif kind.startswith(("application/rss+xml", "application/atom+xml", "text/xsl")):
        policy = FEED_POLICY
    else:
        policy = FILE_POLICY
    return (("X-Content-Type-Options", "nosniff"), ("Content-Security-Policy", policy))


#: What is behind a token: no shared cache keeps it, no browser stores it.
PRIVATE = "private, no-store"


def private(file: str) -> Headers:
    """The headers of what is served only with a token (the early-access
    feeds, the desk): kept by no cache, stored by no browser, varying with
    the credentials, sending no Referer onwards; never a hub (a hub fetches
    without credentials)."""
    kind = media_type(file)
    return (
        ("Content-Type", kind),
        ("Cache-Control", PRIVATE),
        ("Vary", "Authorization"),
        ("Referrer-Policy", "no-referrer"),
        *security(kind),
    )


#: Surrogate keys (a CDN's tags for purging, ``xkey`` in Varnish): every
#: object of the site carries this one, so purging it empties the CDN.
SITE_KEY = "site"
#: How long a CDN that the app purges on every change may keep what it has
#: (the browsers' ``max-age`` stays ``cache_max_age``).
CDN_MAX_AGE = 86_400
#: The key of every "not found": purged whenever the site gains a file, so
#: that a URL asked for too early (a story before its time) is not kept 404.
MISSING_KEY = "missing"


def article_key(article_id: str) -> str:
    """The key of every object that shows an article (its page, each listing
    page and feed that carries it): its id digest, as its pixel's name."""
    return "a-" + urls.id_digest(article_id)


def listing_key(listing: str) -> str:
    """The key of every page and feed of one listing (``""`` the home page,
    ``tags/water/``, ``withdrawals/``): its archive documents' too."""
    return "l-" + _token(listing or "home")


def file_key(file: str) -> str:
    """The key of one file that belongs to no listing and shows no article
    as such (the sitemap, the OPML list, an image, the stylesheet)."""
    return "f-" + _token(file)


def _token(text: str) -> str:
    """Text as one key: no spaces or commas (they separate keys), ASCII."""
    return quote(text, safe="/.-_~")


def surrogate(keys: tuple[str, ...], max_age: int) -> Headers:
    """For a CDN in front of the app, which keeps them from browsers:
    ``Surrogate-Key`` (what a purge of one key removes) and
    ``Surrogate-Control`` (how long it may keep the object, and serve it stale
    while it fetches a new one or while the app is down)."""
    return (
        ("Surrogate-Key", " ".join(keys)),
        (
            "Surrogate-Control",
            f"max-age={max_age}, stale-while-revalidate={STALE_WHILE_REVALIDATE}, "
            f"stale-if-error={STALE_IF_ERROR}",
        ),
    )


#: The file of an export that tells a static host (Netlify, Cloudflare Pages)
#: what to send with each file, and tells ``feeds deploy`` the same.
HEADERS_FILE = "_headers"


def url_path(file: str, site: Site) -> str:
    """The path a host serves an exported file at: ``/news/articles/x/``."""
    return urlsplit(site.base_url).path + urls.path_of(file)


def headers_file(rules: tuple[tuple[str, Headers], ...]) -> bytes:
    """``_headers`` in the format Netlify and Cloudflare Pages read: each URL
    path, then its headers indented, one rule per file (every feed's ``Link``
    names its own URL, so no pattern could stand for them)."""
    lines = []
    for path, found in rules:
        lines.append(path)
        lines.extend(f"  {name}: {value}" for name, value in found)
    return ("\n".join(lines) + "\n").encode("utf-8")


def read_headers_file(data: bytes) -> dict[str, Headers]:
    """URL path -> headers, as :func:`headers_file` wrote them."""
    found: dict[str, list[tuple[str, str]]] = {}
    current: list[tuple[str, str]] = []
    for line in data.decode("utf-8").splitlines():
        if line.startswith("  ") and ":" in line:
            name, _, value = line.strip().partition(":")
            current.append((name, value.strip()))
        elif line.strip():
            current = found.setdefault(line.strip(), [])
    return {path: tuple(values) for path, values in found.items()}


def headers(file: str, site: Site, lasting: bool = False) -> Headers:
    """Every header of a response for the exported file ``file`` that does not
    depend on the request. ``lasting``: it changes only with its own articles
    (a sealed archive document); images are taken to be so too."""
    kind = media_type(file)
    lasting = lasting or file.startswith(urls.IMAGES)
    found: list[tuple[str, str]] = [
        ("Content-Type", kind),
        ("Cache-Control", cache_control(site, LASTING if lasting else None)),
        *security(kind),
    ]
    path = urls.path_of(file)
    # A sealed archive document has nothing to push: no hub.
    if (
        site.hub
        and path.endswith(tuple(urls.FEED_FILES.values()))
        and not urls.is_archive_document(path)
    ):
        self_url = urls.absolute(site.base_url, path)
        found.append(("Link", f'<{site.hub}>; rel="hub", <{self_url}>; rel="self"'))
    return tuple(found)
