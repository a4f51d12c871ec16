"""HTTP for the site's files: the one header policy.

:func:`respond` decides every response's status, headers and body, whatever
the status (Flask's own 405 and 500 too), for the fast path
(:mod:`webapp.fastpath`) and for Flask alike: strong ETags, ``Last-Modified``,
gzip, ``Vary``, ``Cache-Control``. Werkzeug decides conditional requests
(``is_resource_modified``), with ``If-None-Match`` taking precedence over
``If-Modified-Since`` as RFC 9110 asks.
"""

from __future__ import annotations

import gzip
import ipaddress
from collections.abc import Iterable
from datetime import datetime
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from werkzeug.http import http_date, is_resource_modified, parse_accept_header

from feeds import urls
from feeds.digest import digest
from feeds.files import FileRefused, read_inside
from feeds.model import Article
from feeds.outputs import headers as file_headers
from feeds.outputs.plan import Access, Plan

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIEnvironment

#: Smaller bodies are not worth compressing.
GZIP_MIN_BYTES = 512
#: ``Cache-Control`` of what must never be kept (previews, error pages).
NO_STORE = "no-store"

Headers = list[tuple[str, str]]

#: What a 304 repeats of the 200's headers (RFC 9110, 15.4.5).
_KEPT_ON_304 = frozenset(
    {"ETag", "Last-Modified", "Cache-Control", "Vary", "Link", "Surrogate-Key", "Surrogate-Control"}
)
_REASONS = {
    200: "OK",
    304: "Not Modified",
    401: "Unauthorized",
    404: "Not Found",
    410: "Gone",
    503: "Service Unavailable",
}


class Resource:
    """One response body with what HTTP needs of it, computed once."""

    def __init__(self, data: bytes, fixed: file_headers.Headers, status: int = 200) -> None:
        self.data = data
        #: The status it is sent with when found (a withdrawn article's page: 410).
        self.status = status
        #: The headers that do not depend on the request (:mod:`feeds.outputs.headers`).
        self.fixed = fixed
        found = dict(fixed)
        self.media_type = found["Content-Type"]
        #: ``public, max-age=300``, or :data:`NO_STORE` for what is never kept
        #: (it then has no validators and is never answered with a 304).
        self.cache_control = found.get("Cache-Control", NO_STORE)
        #: Never kept: no validators, never a 304.
        self.kept = "no-store" not in self.cache_control
        self.etag = digest(data)
        #: Worth gzip: text of some size (images are compressed already).
        self.compressible = len(data) >= GZIP_MIN_BYTES and (
            not self.media_type.startswith("image/") or "svg" in self.media_type
        )
        self._gzip: bytes | None = None
        self._headers: dict[tuple[bool, int, datetime | None], Headers] = {}

    @classmethod
    def of(cls, data: bytes, media_type: str, cache_control: str = NO_STORE) -> Resource:
        """A response the plan does not hold (an error page, a preview)."""
        return cls(
            data,
            (
                ("Content-Type", media_type),
                ("Cache-Control", cache_control),
                *file_headers.security(media_type),
            ),
        )

    @property
    def gzip(self) -> bytes:
        """Compressed once per content change, not per request; no timestamp
        inside, so every worker sends the same bytes."""
        if self._gzip is None:
            self._gzip = gzip.compress(self.data, compresslevel=6, mtime=0)
        return self._gzip

    def headers(self, gzipped: bool, status: int, last_modified: datetime | None) -> Headers:
        """The headers of a full response, prepared once for each variant."""
        key = (gzipped, status, last_modified)
        found = self._headers.get(key)
        if found is None:
            body = self.gzip if gzipped else self.data
            vary = ", ".join(["Accept-Encoding", *(v for k, v in self.fixed if k == "Vary")])
            found = [*(h for h in self.fixed if h[0] != "Vary")]
            found += [("Content-Length", str(len(body))), ("Vary", vary)]
            if gzipped:
                found.append(("Content-Encoding", "gzip"))
            if status == 200 and self.kept:
                # Each representation has its own strong validator.
                found.append(("ETag", f'"{self.etag}-gzip"' if gzipped else f'"{self.etag}"'))
                if last_modified is not None:
                    found.append(("Last-Modified", http_date(last_modified)))
            self._headers[key] = found
        return found


_gzip_ok: dict[str, bool] = {}


def accepts_gzip(header: str) -> bool:
    """Does this ``Accept-Encoding`` allow gzip? Clients send few distinct values."""
    answer = _gzip_ok.get(header)
    if answer is None:
        answer = parse_accept_header(header)["gzip"] > 0
        if len(_gzip_ok) < 1000:
            _gzip_ok[header] = answer
    return answer


def respond(
    environ: WSGIEnvironment,
    resource: Resource,
    last_modified: datetime | None = None,
    status: int = 200,
) -> tuple[int, Headers, bytes]:
    """Status, headers and body for ``resource`` as this request asks for it.

    The body is the whole representation even for ``HEAD`` (a server sends
    its headers and no body); a 304 has none.
    """
    gzipped = resource.compressible and accepts_gzip(environ.get("HTTP_ACCEPT_ENCODING", ""))
    headers = resource.headers(gzipped, status, last_modified)
    if status == 200 and resource.kept:
        etag = resource.etag + "-gzip" if gzipped else resource.etag
        if not is_resource_modified(environ, etag=etag, last_modified=last_modified):
            return 304, [h for h in headers if h[0] in _KEPT_ON_304], b""
    return status, list(headers), resource.gzip if gzipped else resource.data


def status_line(status: int) -> str:
    return f"{status} {_REASONS.get(status, '')}".rstrip()


class Served:
    """A plan's files as HTTP resources, each built when first asked for and
    then kept until the plan is replaced."""

    def __init__(self, plan: Plan, root: Path, cdn_max_age: int | None = None) -> None:
        self.plan = plan
        #: The content directory, for images.
        self.root = root
        #: With a CDN in front: how long it may keep each file (then every
        #: public file names its surrogate keys for it).
        self.cdn_max_age = cdn_max_age
        self._built: dict[str, Resource | None] = {}
        self._private: dict[str, Resource] = {}

    def file(self, file: str) -> Resource | None:
        """The public output exported as ``file``, or None when there is none."""
        if file in self._built:
            return self._built[file]
        resource = None
        site = self.plan.content.site
        if file.startswith(urls.IMAGES):
            name = file.removeprefix(urls.IMAGES)
            data = self._image(name) if name in self.plan.images else None
            if data is not None:
                resource = Resource(data, self._fixed(file, file_headers.headers(file, site)))
        elif (out := self.plan.outputs.get(file)) is not None and out.access is Access.PUBLIC:
            data = self.plan.render(file)
            fixed = self._fixed(file, file_headers.headers(file, site, out.lasting))
            resource = Resource(data, fixed, out.status)
        if resource is not None or len(self._built) < 10_000:  # misses: a bounded memory
            self._built[file] = resource
        return resource

    def _fixed(
        self, file: str, fixed: file_headers.Headers, keys: tuple[str, ...] | None = None
    ) -> file_headers.Headers:
        """``fixed``, and with a CDN in front its surrogate headers: the keys
        of ``file`` in the plan unless ``keys`` are given."""
        if self.cdn_max_age is None:
            return fixed
        keys = self.plan.surrogate_keys(file) if keys is None else keys
        return (*fixed, *file_headers.surrogate(keys, self.cdn_max_age))

    @cached_property
    def missing(self) -> Resource:
        """The "not found" page, for any URL the site does not have."""
        data = self.plan.render(urls.NOT_FOUND)
        fixed = file_headers.headers(urls.NOT_FOUND, self.plan.content.site)
        keys = (file_headers.MISSING_KEY, file_headers.SITE_KEY)
        return Resource(data, self._fixed(urls.NOT_FOUND, fixed, keys))

    def path(self, url_path: str) -> Resource | None:
        """What the site serves at a URL path (``/articles/x/``)."""
        return self.file(urls.file_of(url_path.removeprefix("/")))

    def private(self, file: str) -> Resource | None:
        """What is served at ``file`` with a token only (an early-access
        feed), or None; built when first asked for, as :meth:`file`."""
        found = self._private.get(file)
        images = urls.partners(urls.IMAGES)
        if found is None and file.startswith(images):
            name = file.removeprefix(images)
            data = self._image(name) if name in self.plan.partner_images else None
            if data is None:
                return None
            found = self._private[file] = Resource(data, file_headers.private(urls.image(name)))
        if found is None:
            out = self.plan.outputs.get(file)
            if out is None or out.access is not Access.TOKEN:
                return None
            found = self._private[file] = Resource(
                self.plan.render(file), file_headers.private(file)
            )
        return found

    @cached_property
    def pixels(self) -> dict[str, Article]:
        """Each article's built-in pixel name (``<digest>.gif``): drafts aside,
        any article, for as long as copies of it may be shown."""
        return {
            urls.pixel(a.id).removeprefix(urls.PIXELS): a
            for a in self.plan.content.articles
            if not a.draft
        }

    def _image(self, name: str) -> bytes | None:
        """The bytes of ``images/<name>`` (the caller knows who may see it).
        None when the file has gone since the content was loaded (the next
        look for changes will know)."""
        try:
            return read_inside(self.root, urls.image(name))
        except (OSError, FileRefused):  # a link swapped in since: refused, and seen next look
            return None


# -- the client behind a proxy ---------------------------------------------------------

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def trusted_proxies(text: str) -> tuple[tuple[Network, ...], list[str]]:
    """The networks of ``FEEDS_TRUSTED_PROXIES`` (addresses or CIDR blocks,
    separated by commas or spaces), and the entries that are neither."""
    found: list[Network] = []
    bad = []
    for entry in text.replace(",", " ").split():
        try:
            found.append(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            bad.append(entry)
    return tuple(found), bad


def client_address(remote: str, forwarded: str, trusted: Iterable[Network]) -> str:
    """Who sent a request: ``remote`` (the peer's address), unless it is a
    trusted proxy; then the nearest address of ``X-Forwarded-For`` (read from
    the right, the hops the proxies added) that is not one. An entry that is
    not an address ends the walk: what is left of it is the client's to
    write, and is never taken."""
    networks = tuple(trusted)

    def is_trusted(text: str) -> bool:
        try:
            address = ipaddress.ip_address(text)
        except ValueError:
            return False
        return any(address in network for network in networks)

    if not networks or not is_trusted(remote):
        return remote
    client = remote
    for hop in reversed([h.strip() for h in forwarded.split(",") if h.strip()]):
        try:
            ipaddress.ip_address(hop)
        except ValueError:
            break
        client = hop
        if not is_trusted(hop):
            break
    return client
