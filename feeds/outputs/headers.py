"""The headers a file of the site carries whoever serves it: the app, a static
host (the export's ``_headers`` file), an object store (``feeds deploy``).

What depends on the request (ETag variants, ``304``, gzip, ``Vary``) is
:mod:`webapp.http`'s; everything that depends only on the file is decided
here, once.
"""

from __future__ import annotations

import mimetypes
import re
from collections.abc import Iterable
from urllib.parse import quote, urlsplit

from feeds import urls
from feeds.model import Site

Headers = tuple[tuple[str, str], ...]

#: How long browsers and caches may keep what changes only when its own
#: articles change (sealed archive documents, images). Nobody can purge them: a
#: withdrawn story's image or archive document may be shown by one for this
#: long (and :data:`STALE_IF_ERROR` more while the site answers errors), so it
#: is an hour, not a day; a copy past it costs a ``304`` to revalidate.
LASTING = 3_600
#: How long a stale copy may be served while a cache fetches a fresh one
#: (RFC 5861).
STALE_WHILE_REVALIDATE = 60
#: How long a browser or a cache we cannot purge may serve a stale copy while
#: the site answers errors: this much longer a withdrawal may linger there.
STALE_IF_ERROR = 600
#: The same for the CDN the app purges (``Surrogate-Control``): a purge
#: removes its stale copies too, so it may keep them a day while the app is down.
CDN_STALE_IF_ERROR = 86_400


#: Pages load only the site's own stylesheet and script; images may come from
#: anywhere (lead images and the republication pixel can be remote); the
#: preview's script asks the site itself whether to reload.
PAGE_POLICY = (
    "default-src 'none'; img-src * data:; style-src 'self'; script-src 'self'; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'self'"
)
#: A feed opened in a browser loads nothing: no browser styles one with the
#: feed's media types (Chromium shows it as text, Firefox saves it), and it
#: opens with a comment naming the feeds page instead.
FEED_POLICY = "default-src 'none'"
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
    elif kind.startswith(("application/rss+xml", "application/atom+xml")):
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
            f"stale-if-error={CDN_STALE_IF_ERROR}",
        ),
    )


#: The file of an export that tells a static host (Netlify, Cloudflare Pages)
#: what to send with each file, and tells ``feeds deploy`` the same.
HEADERS_FILE = "_headers"

#: A rule of ``_headers``: a URL path pattern (``/tags/:tag/rss.xml``) and
#: the headers of the paths it matches.
Rule = tuple[str, Headers]

#: Headers that name the file they go with (a feed's WebSub ``Link`` gives
#: its own URL as ``self``): a rule for each file that has them.
_OWN = frozenset({"Link"})


def url_path(file: str, site: Site) -> str:
    """The path a host serves an exported file at: ``/news/articles/x/``."""
    return urlsplit(site.base_url).path + urls.path_of(file)


def rules(site: Site, files: Iterable[tuple[str, bool]]) -> tuple[Rule, ...]:
    """The ``_headers`` rules that give each exported file of ``files`` (with
    whether it is lasting) the headers :func:`headers` gives it.

    One rule per kind of file (:func:`feeds.urls.pattern`: every article page,
    every tag's RSS feed, every PNG image), one for what every file has, and
    one for each file with a header naming it (a feed's ``Link``): so their
    number and bytes follow the kinds of files and the feeds, never the
    number of articles. Static hosts send every header of every rule that
    matches a path; Cloudflare Pages joins a header given by two with a
    comma (``max-age=300, max-age=86400``), Netlify's own tools keep the
    later one: so no two rules that match one file give the same header. A
    kind whose files differ (some lasting, some not) has a rule for each of
    its files instead, as have images a host could take for another kind.
    A missing file's path still matches its kind's rule: a host that applies
    rules to its 404 page sends them with it.
    """
    base = urlsplit(site.base_url).path
    kinds: dict[str, dict[bool, list[str]]] = {}
    for file, lasting in files:
        pattern = urls.pattern(urls.path_of(file))
        kinds.setdefault(pattern, {}).setdefault(lasting, []).append(file)
    shared: dict[tuple[str, bool], frozenset[tuple[str, str]]] = {}
    own: dict[str, list[tuple[str, str]]] = {}
    for pattern, groups in kinds.items():
        for lasting, found in groups.items():
            first = headers(found[0], site, lasting)
            shared[pattern, lasting] = frozenset(h for h in first if h[0] not in _OWN)
            if any(name in _OWN for name, _ in first):
                for file in found:
                    mine = [h for h in headers(file, site, lasting) if h[0] in _OWN]
                    own.setdefault(file, []).extend(mine)
    every = frozenset.intersection(*shared.values()) if shared else frozenset()
    alone = _clashing(kinds)
    found_rules: list[Rule] = []
    exact: dict[str, list[tuple[str, str]]] = {}
    for pattern, groups in sorted(kinds.items()):
        if len(groups) == 1 and pattern not in alone and any(c in pattern for c in ":*"):
            [(lasting, _)] = groups.items()
            found_rules.append((base + pattern, _sorted(shared[pattern, lasting] - every)))
            continue
        for lasting, found in groups.items():
            for file in found:
                exact.setdefault(file, []).extend(_sorted(shared[pattern, lasting] - every))
    for file, mine in own.items():
        exact.setdefault(file, []).extend(mine)
    found_rules += [
        (url_path(file, site), tuple(values)) for file, values in sorted(exact.items()) if values
    ]
    return ((base + "*", _sorted(every)), *found_rules) if every else tuple(found_rules)


def _sorted(pairs: Iterable[tuple[str, str]]) -> Headers:
    order = {"Content-Type": 0, "Cache-Control": 1}
    return tuple(sorted(pairs, key=lambda h: (order.get(h[0], 2), h)))


def _clashing(kinds: Iterable[str]) -> frozenset[str]:
    """Patterns of files by extension that a host could take for one another:
    Netlify matches paths whatever their case and reads the ``.`` of
    ``*.png`` as any character (so ``x.apng`` matches it)."""
    ends = [(k, k.rpartition("*")[2].lower()) for k in kinds if k.startswith(urls.IMAGES + "*")]
    return frozenset(
        kind
        for kind, end in ends
        for other, their in ends
        if kind != other and (end[1:].endswith(their[1:]) or their[1:].endswith(end[1:]))
    )


def headers_file(found: tuple[Rule, ...]) -> bytes:
    """``_headers`` in the format Netlify and Cloudflare Pages read: each URL
    path pattern, then its headers indented."""
    lines = []
    for path, values in found:
        lines.append(path)
        lines.extend(f"  {name}: {value}" for name, value in values)
    return ("\n".join(lines) + "\n").encode("utf-8")


#: The file of an export that tells a static host (Netlify) what status to
#: answer a path with, where it is not 200: each withdrawn article's 410.
REDIRECTS_FILE = "_redirects"


def redirects_file(site: Site, gone: Iterable[str]) -> bytes:
    """``_redirects`` in the format Netlify reads: for each exported file in
    ``gone`` (a withdrawn article's notice), its URL paths, each rewritten to
    the file itself with the status ``410``; ``!`` applies the rule although
    the file exists (Netlify lets an existing file shadow a rule without it).
    Hosts that take only redirects and 200 here (Cloudflare Pages) skip those
    lines; object storage reads no such file."""
    lines = ["# Withdrawn articles answer 410 Gone with their notice (written by feeds build)."]
    for file in sorted(gone):
        target = url_path(file, site) + ("index.html" if file.endswith("index.html") else "")
        for path in sorted({url_path(file, site), target}):
            lines.append(f"{path} {target} 410!")
    return ("\n".join(lines) + "\n").encode("utf-8")


class HeaderRules:
    """The rules of a ``_headers`` file, applied to URL paths as Cloudflare
    Pages documents it: every rule whose pattern matches gives its headers (a
    splat ``*`` matches anything, a placeholder ``:name`` one segment), and a
    header given twice is joined with a comma."""

    def __init__(self, found: Iterable[Rule]) -> None:
        self.rules = tuple(found)
        self._exact: dict[str, list[int]] = {}
        #: The patterns, by their first segment when it is spelt out.
        self._patterns: dict[str | None, list[tuple[int, re.Pattern[str]]]] = {}
        for number, (path, _) in enumerate(self.rules):
            if "*" not in path and not _PLACEHOLDER.search(path):
                self._exact.setdefault(path, []).append(number)
                continue
            head = path.split("/")[1] if path.count("/") > 1 else None
            if head is not None and ("*" in head or _PLACEHOLDER.search(head)):
                head = None
            parts = re.split(f"(\\*|{_PLACEHOLDER.pattern})", path)
            regex = "".join(
                ".*" if part == "*" else "[^/]+" if part.startswith(":") else re.escape(part)
                for part in parts
            )
            self._patterns.setdefault(head, []).append((number, re.compile(regex)))

    def get(self, path: str) -> Headers | None:
        """The headers a host sends with what it serves at ``path``; None
        when no rule gives it a ``Content-Type`` (a file the build that wrote
        these rules did not plan)."""
        head = path.split("/")[1] if path.count("/") > 1 else None
        matched = list(self._exact.get(path, ()))
        for key in (head, None) if head is not None else (None,):
            matched += [n for n, regex in self._patterns.get(key, ()) if regex.fullmatch(path)]
        values: dict[str, str] = {}
        for number in sorted(matched):
            for name, value in self.rules[number][1]:
                values[name] = f"{values[name]}, {value}" if name in values else value
        if "Content-Type" not in values:
            return None
        return tuple(values.items())

    def __getitem__(self, path: str) -> Headers:
        found = self.get(path)
        if found is None:
            raise KeyError(path)
        return found


#: A placeholder of a ``_headers`` pattern.
_PLACEHOLDER = re.compile(r":[A-Za-z]\w*")


def read_headers_file(data: bytes) -> HeaderRules:
    """The rules of a ``_headers`` file as :func:`headers_file` wrote them."""
    found: list[tuple[str, list[tuple[str, str]]]] = []
    for line in data.decode("utf-8").splitlines():
        if line.startswith("  ") and ":" in line and found:
            name, _, value = line.strip().partition(":")
            found[-1][1].append((name, value.strip()))
        elif line.strip() and not line.startswith("#"):
            found.append((line.strip(), []))
    return HeaderRules((path, tuple(values)) for path, values in found)


def is_lasting(file: str) -> bool:
    """Whether exported file ``file`` changes only with its own articles, so
    caches may keep it long: a sealed archive document (the plan's
    :attr:`~feeds.outputs.plan.Output.lasting`), an image. The fast path,
    which has no plan, asks this."""
    return urls.is_archive_document(file) or file.startswith(urls.IMAGES)


def headers(file: str, site: Site, lasting: bool = False) -> Headers:
    """Every header of a response for the exported file ``file`` that does not
    depend on the request. ``lasting``: it changes only with its own articles
    (a sealed archive document); images are taken to be so too."""
    kind = media_type(file)
    lasting = lasting or is_lasting(file)
    found: list[tuple[str, str]] = [
        ("Content-Type", kind),
        ("Cache-Control", cache_control(site, LASTING if lasting else None)),
        *security(kind),
    ]
    path = urls.path_of(file)
    # A sealed archive document has nothing to push: no hub.
    if site.hub and urls.names_hub(path):
        # URIs: a header carries no IRI (an IDN host, a non-ASCII path).
        self_url = urls.uri(urls.absolute(site.base_url, path))
        found.append(("Link", f'<{urls.uri(site.hub)}>; rel="hub", <{self_url}>; rel="self"'))
    return tuple(found)
