"""Responses for the site's files: strong ETags, Last-Modified, 304s, gzip.

Werkzeug decides conditional requests (``make_conditional``), with
``If-None-Match`` taking precedence over ``If-Modified-Since`` as RFC 9110 asks.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING

from flask import Request, Response
from werkzeug.http import is_resource_modified, parse_accept_header
from werkzeug.wrappers import Response as BaseResponse

from webapp.reload import LiveSite
from webapp.site import Resource, url_to_path

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment


def accepts_gzip(request: Request) -> bool:
    return request.accept_encodings["gzip"] > 0


def resource_response(
    request: Request,
    resource: Resource,
    last_modified: datetime,
    max_age: int,
    status: int = 200,
) -> BaseResponse:
    compress = resource.compressible and accepts_gzip(request)
    body = resource.gzip if compress else resource.data
    response = Response(body, status=status, content_type=resource.media_type)
    response.vary.add("Accept-Encoding")
    if status != 200:
        return response
    if compress:
        response.content_encoding = "gzip"
        # Each representation has its own strong validator.
        response.set_etag(resource.etag + "-gzip")
    else:
        response.set_etag(resource.etag)
    response.last_modified = last_modified
    response.cache_control.public = True
    response.cache_control.max_age = max_age
    return response.make_conditional(request)


class FastPath:
    """WSGI middleware: answers GET and HEAD for the site's files straight from
    the current snapshot, with headers prepared once per file, and leaves
    everything else (redirects, 404s, previews) to the Flask app.

    Feed readers poll the same few feeds all day: this path does no routing
    and builds no request or response objects. The conditional decision is
    werkzeug's own (``is_resource_modified``), as in :func:`resource_response`.
    """

    def __init__(self, app: WSGIApplication, live: LiveSite) -> None:
        self.app = app
        self.live = live
        self._gzip_ok: dict[str, bool] = {}

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        method = environ["REQUEST_METHOD"]
        if method not in ("GET", "HEAD"):
            return self.app(environ, start_response)
        snapshot = self.live.current()
        files = snapshot.files
        if files is None:
            return self.app(environ, start_response)
        path = environ.get("PATH_INFO", "/").encode("latin-1").decode("utf-8", "replace")
        if path.startswith("/images/"):
            resource = files.image(path[len("/images/") :])
        else:
            resource = files.get(url_to_path(path))
        if resource is None:
            return self.app(environ, start_response)
        gzipped = resource.compressible and self._gzip(environ.get("HTTP_ACCEPT_ENCODING", ""))
        etag = resource.etag + "-gzip" if gzipped else resource.etag
        headers = resource.headers(gzipped, snapshot.http_date, files.content.site.cache_max_age)
        if not is_resource_modified(environ, etag=etag, last_modified=snapshot.last_modified):
            start_response("304 Not Modified", [h for h in headers if h[0] in _KEPT_ON_304])
            return []
        start_response("200 OK", headers)
        if method == "HEAD":
            return []
        return [resource.gzip if gzipped else resource.data]

    def _gzip(self, header: str) -> bool:
        """Does this Accept-Encoding allow gzip? Clients send few distinct values."""
        answer = self._gzip_ok.get(header)
        if answer is None:
            answer = parse_accept_header(header)["gzip"] > 0
            if len(self._gzip_ok) < 1000:
                self._gzip_ok[header] = answer
        return answer


#: What a 304 repeats of the 200's headers (RFC 9110, 15.4.5).
_KEPT_ON_304 = frozenset({"ETag", "Last-Modified", "Cache-Control", "Vary"})
