"""The fast path: the site's files answered straight from the live snapshot
(:mod:`webapp.reload`), with :mod:`webapp.http`'s headers, before Flask."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from webapp.http import respond, status_line

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

    from webapp.reload import LiveSite


class FastPath:
    """WSGI middleware: answers GET and HEAD for the site's files straight from
    the current snapshot, with headers prepared once per file, and leaves
    everything else (redirects, 404s, previews) to the Flask app.

    Feed readers poll the same few feeds all day: this path does no routing
    and builds no request or response objects. Its headers are
    :func:`respond`'s, as the Flask views' are.
    """

    def __init__(self, app: WSGIApplication, live: LiveSite) -> None:
        self.app = app
        self.live = live

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        method = environ["REQUEST_METHOD"]
        if method not in ("GET", "HEAD"):
            return self.app(environ, start_response)
        snapshot = self.live.current()
        served = snapshot.served
        if served is None:
            return self.app(environ, start_response)
        path = environ.get("PATH_INFO", "/").encode("latin-1").decode("utf-8", "replace")
        resource = served.path(path)
        if resource is None:
            return self.app(environ, start_response)
        status, headers, body = respond(environ, resource, snapshot.last_modified, resource.status)
        start_response(status_line(status), headers)
        return [] if method == "HEAD" else [body]
