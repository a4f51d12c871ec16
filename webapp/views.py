"""The one blueprint: every URL of the site, served from the live site's files."""

from __future__ import annotations

import dataclasses
import html
import json
from collections.abc import Callable
from datetime import timedelta
from urllib.parse import urlsplit

from flask import Blueprint, Response, current_app, request
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response as BaseResponse

from feeds import urls
from feeds.model import BUILTIN_PIXEL, is_withdrawn
from feeds.outputs import headers
from feeds.outputs.pages import desk_page
from feeds.publish import stream
from feeds.state import partners
from feeds.state.database import State
from feeds.state.partners import Verdict
from feeds.state.rows import AuditEntry
from feeds.state.store import StateError
from feeds.terminal import clipped
from webapp.audit import Audit
from webapp.http import Resource, client_address, respond
from webapp.pixel import GIF, Pixels, ignored, origin
from webapp.reload import LiveSite, Snapshot

bp = Blueprint("site", __name__)


def live() -> LiveSite:
    site: LiveSite = current_app.extensions["feeds"]
    return site


def send(
    resource: Resource,
    snapshot: Snapshot,
    status: int = 200,
    location: str | None = None,
    extra: tuple[tuple[str, str], ...] = (),
) -> BaseResponse:
    """A Flask response with the headers :func:`webapp.http.respond` decides."""
    code, headers, body = respond(request.environ, resource, snapshot.last_modified, status)
    if location is not None:
        headers.append(("Location", location))
    headers.extend(extra)
    return Response(body, status=code, headers=headers, direct_passthrough=True)


def moved(snapshot: Snapshot, path: str, status: int) -> BaseResponse:
    """A redirect to ``path`` of this site: the Location is an absolute URL of
    the site built by the URL module, so no path, however written
    (``/%09/evil.example/``), can send a browser elsewhere."""
    assert snapshot.served is not None
    site = snapshot.served.plan.content.site
    location = urls.absolute(site.base_url, path)
    link = html.escape(location)
    page = f'<!DOCTYPE html><title>Moved</title><p><a href="{link}">{link}</a></p>'.encode()
    resource = Resource.of(page, "text/html; charset=utf-8", headers.cache_control(site))
    return send(resource, snapshot, status, location)


@bp.get("/__feeds/version")
def version() -> BaseResponse:
    """For the preview's reload script only."""
    if not current_app.config["PREVIEW"]:
        return not_found()
    text = str(live().current().version).encode()
    return send(Resource.of(text, "text/plain; charset=utf-8"), live().snapshot)


@bp.get("/__feeds/preview.js")
def preview_script() -> BaseResponse:
    """The preview's reload script (pages allow no inline script)."""
    if not current_app.config["PREVIEW"]:
        return not_found()
    return send(Resource.of(PREVIEW_SCRIPT, "text/javascript; charset=utf-8"), live().snapshot)


# -- behind a token -------------------------------------------------------------------


def state() -> State:
    opened: Callable[[], State] = current_app.extensions["feeds.state"]
    return opened()


#: What a client without a valid token gets, whatever it asked for: it learns
#: nothing of what is there.
UNAUTHORIZED = Resource(
    b"<!DOCTYPE html><html lang=en><meta charset=utf-8><title>Partners only</title>"
    b"<h1>Partners only</h1><p>This address needs a partner token, sent as the password "
    b"of HTTP Basic authentication (any user name) or as a Bearer token. "
    b"Ask the desk for one.</p>\n",
    headers.private("401.html"),
)
CHALLENGE = (("WWW-Authenticate", f'Basic realm="{partners.REALM}", charset="UTF-8"'),)


def printable(text: str, limit: int) -> str:
    """A request's text as the audit keeps it: every character that is not
    printable escaped (a NUL is refused by PostgreSQL; C0 and C1 controls and
    bidi overrides drive a terminal), at most ``limit`` characters."""
    return clipped(text, limit)


def behind_token(scope: str, serve: Callable[[Snapshot, Verdict], Resource | None]) -> BaseResponse:
    """Check the token and serve; the audit row, granted or not, is written
    off the request path (:mod:`webapp.audit`). When the state database
    cannot answer (within :data:`feeds.state.engine.TIMEOUT`), 503."""
    snapshot = live().current()
    now = live().clock()
    verdict = Verdict(UNREACHABLE)
    try:
        verdict = partners.authenticate(
            current_app.extensions["feeds.state"],
            request.headers.get("Authorization", ""),
            now,
            scope,
        )
        if snapshot.served is None:
            response = unavailable(snapshot)
        elif not verdict.granted:
            response = send(UNAUTHORIZED, snapshot, 401, extra=CHALLENGE)
        elif (resource := serve(snapshot, verdict)) is None:
            response = not_found()
        else:
            response = send(resource, snapshot, resource.status)
    except StateError as e:
        current_app.logger.error("%s", e)
        verdict = dataclasses.replace(verdict, outcome=UNREACHABLE)
        response = send(UNAVAILABLE, snapshot, 503)
    if (
        scope == partners.EDITOR
        and verdict.outcome == "no token"
        and "Authorization" not in request.headers
    ):
        # An editor's browser asks for /desk/ without credentials first, and
        # sends them once challenged: that challenge is no refusal to audit.
        return response
    audit: Audit = current_app.extensions["feeds.audit"]
    audit.add(
        AuditEntry(
            at=now.timestamp(),
            partner=verdict.partner.name if verdict.partner else None,
            token=verdict.token,
            path=printable(request.path, PATH_KEPT),
            status=response.status_code,
            bytes=response.content_length or 0,
            client=printable(
                client_address(
                    request.remote_addr or "",
                    request.headers.get("X-Forwarded-For", ""),
                    current_app.config["TRUSTED_PROXIES"],
                ),
                100,
            ),
            agent=printable(request.user_agent.string, AGENT_KEPT),
            outcome=verdict.outcome,
        )
    )
    return response


#: Most characters of a request's path and user agent the audit keeps.
PATH_KEPT = 500
AGENT_KEPT = 200

#: The audit's outcome when the state database did not answer in time.
UNREACHABLE = "database unavailable"


@bp.route("/" + urls.CHANGES, methods=["GET", "HEAD"])
def changes() -> BaseResponse:
    """The change stream (:mod:`feeds.publish.stream`), for partners with a token:
    at most a page of changes after ``since``, oldest first."""

    def serve(snapshot: Snapshot, verdict: Verdict) -> Resource:
        assert snapshot.served is not None
        site = snapshot.served.plan.content.site
        try:
            since = stream.cursor(request.args.get("since"))
        except stream.BadCursor as e:
            body = json.dumps({"error": str(e)}).encode() + b"\n"
            return Resource(body, headers.private(urls.CHANGES), 400)
        body = stream.page(state(), site.base_url, since)
        return Resource(body, headers.private(urls.CHANGES))

    return behind_token(partners.EARLY_ACCESS, serve)


@bp.route("/desk", methods=["GET", "HEAD"])
@bp.route("/partners", methods=["GET", "HEAD"])
def without_slash() -> BaseResponse:
    """``/desk`` and ``/partners`` lead to the same with a slash, at an
    address built from ``base_url`` (:func:`moved`), never from the request's
    ``Host`` (what Flask's own redirect would do: ``Host: evil.example``
    sent the browser to ``http://evil.example/desk/``)."""
    snapshot = live().current()
    if snapshot.served is None:
        return unavailable(snapshot)
    return moved(snapshot, request.path.lstrip("/") + "/", 308)


@bp.route("/partners/", defaults={"rest": ""}, methods=["GET", "HEAD"])
@bp.route("/partners/<path:rest>", methods=["GET", "HEAD"])
def partner_feed(rest: str) -> BaseResponse:
    """An early-access feed, for partners with a token."""

    def serve(snapshot: Snapshot, verdict: Verdict) -> Resource | None:
        assert snapshot.served is not None
        return snapshot.served.private(urls.PARTNERS + rest)

    return behind_token(partners.EARLY_ACCESS, serve)


@bp.route("/desk/", methods=["GET", "HEAD"])
def desk() -> BaseResponse:
    """Republications and the audit, for editors."""

    def serve(snapshot: Snapshot, verdict: Verdict) -> Resource:
        assert snapshot.served is not None
        plan = snapshot.served.plan
        named = {
            name.removesuffix(".gif"): (a.title, a.url)
            for name, a in snapshot.served.pixels.items()
        }
        now = live().clock()
        first_day = (now - DESK_AUDIT).astimezone(plan.content.site.zone).date().isoformat()
        figures = partners.republications(state().hits(first_day), named)
        alerts = partners.compliance(state().alerts(), plan.content.articles, now)
        since = (now - DESK_AUDIT).timestamp()
        entries = state().audit(since=since, newest=DESK_AUDIT_ROWS)
        refused = state().refused(since=since, newest=DESK_AUDIT_ROWS)
        page = desk_page(plan.renderer, figures, entries[::-1], alerts, refused)
        return Resource(page, headers.private("desk/index.html"))

    return behind_token(partners.EDITOR, serve)


#: How far back the desk shows republications and the audit, and at most how
#: many audit rows.
DESK_AUDIT = timedelta(days=30)
DESK_AUDIT_ROWS = 200


@bp.route("/r/<name>", methods=["GET", "HEAD"])
def pixel(name: str) -> BaseResponse:
    """The built-in republication pixel: the image at once, the count later."""
    snapshot = live().snapshot
    served = snapshot.served
    if served is not None and not current_app.config["PREVIEW"]:
        article = served.pixels.get(name)
        site = served.plan.content.site
        if article is not None and site.republish_pixel == BUILTIN_PIXEL:
            found = origin(request.headers.get("Referer", ""))
            if found is not None and not ignored(found, urlsplit(site.base_url).hostname):
                now = live().clock()
                day = now.astimezone(site.zone).date().isoformat()
                counter: Pixels = current_app.extensions["feeds.pixels"]
                counter.hit(
                    urls.id_digest(article.id),
                    found,
                    now,
                    day,
                    alert=is_withdrawn(article, now),
                )
    return send(PIXEL, snapshot)


PIXEL = Resource(
    GIF,
    (("Content-Type", "image/gif"), ("Cache-Control", "no-store"), *headers.security("image/gif")),
)


@bp.get("/", defaults={"path": ""})
@bp.get("/<path:path>")
def serve(path: str) -> BaseResponse:
    snapshot = live().current()
    served = snapshot.served
    if served is None:
        return unavailable(snapshot)
    resource = served.path(path)
    if resource is None and (path == "page/1/" or path.endswith("/page/1/")):
        # Pages are numbered from the oldest: a listing of fewer than 20
        # stories has no page 1 yet, and its front page shows them all.
        first = path.removesuffix("page/1/")
        if served.path(first) is not None:
            return moved(snapshot, first, 301)
        return not_found()
    if resource is None:
        if not path.endswith("/") and served.path(path + "/") is not None:
            return moved(snapshot, path + "/", 308)
        return not_found()
    if current_app.config["PREVIEW"] and resource.media_type.startswith("text/html"):
        resource = preview(resource, snapshot)
    return send(resource, snapshot, resource.status)


def not_found() -> BaseResponse:
    """404. In the preview, the page shows the content's problems and reloads
    on change like any other: the address of a new draft with a problem is
    missing only until the problem is fixed."""
    snapshot = live().snapshot
    if snapshot.served is None:
        return send(Resource.of(b"Not found\n", "text/plain; charset=utf-8"), snapshot, 404)
    missing = snapshot.served.missing
    if current_app.config["PREVIEW"]:
        missing = preview(missing, snapshot)
    return send(missing, snapshot, 404)


def http_error(error: HTTPException) -> BaseResponse:
    """What Flask answers by itself (405 to a POST, 500 on a bug) goes through
    :func:`webapp.http.respond` like every other response: the one header
    policy, gzip only when it says so. Not :func:`send`: on a 500 the live site
    may be what failed."""
    code = error.code or 500
    heading = "Something went wrong" if code >= 500 else error.name
    page = (
        f"<!DOCTYPE html><html lang=en><meta charset=utf-8><title>{html.escape(error.name)}"
        f"</title><h1>{html.escape(heading)}</h1>\n"
    )
    resource = Resource.of(page.encode(), "text/html; charset=utf-8")
    status, found, body = respond(request.environ, resource, None, code)
    found.extend(h for h in error.get_headers() if h[0] == "Allow")
    return Response(body, status=status, headers=found, direct_passthrough=True)


#: What the public sees while no good version of the content has loaded: never
#: the problems, which name files (and drafts' headlines), and the same bytes,
#: built once, for every request.
UNAVAILABLE = Resource.of(
    b"<!DOCTYPE html><html lang=en><meta charset=utf-8><title>Temporarily unavailable</title>"
    b"<h1>Temporarily unavailable</h1><p>This site cannot be shown right now. "
    b"Please try again in a few minutes.</p>\n",
    "text/html; charset=utf-8",
)


def unavailable(snapshot: Snapshot) -> BaseResponse:
    """No good version of the content has loaded yet. The editor's preview
    lists the problems and reloads itself once they are fixed."""
    if not current_app.config["PREVIEW"]:
        return send(UNAVAILABLE, snapshot, 503)
    lines = "".join(f"<li>{html.escape(p)}</li>" for p in snapshot.problems)
    page = (
        "<!DOCTYPE html><html lang=en><meta charset=utf-8><title>Content has problems</title>"
        "<body>"
        "<h1>The content has problems</h1>"
        f"<p>Nothing can be shown until they are fixed:</p><ul>{lines}</ul>"
        f"{reload_script(snapshot)}</body>"
    )
    return send(Resource.of(page.encode(), "text/html; charset=utf-8"), snapshot, 503)


def reload_script(snapshot: Snapshot) -> str:
    return f'<script src="/__feeds/preview.js" data-version="{snapshot.version}" defer></script>'


#: Reloads the page when what the preview serves or reports changes, back at
#: the same scroll position. The browser's own restoration is turned off:
#: Chromium puts back the element that was at the top, which a problem banner
#: that came with the reload then covers (the headline and byline).
PREVIEW_SCRIPT = b"""(function () {
  var seen = document.currentScript.dataset.version;
  var key = "feeds-preview-scroll " + location.pathname;
  var store = null;
  try { store = window.sessionStorage; } catch (e) {}
  if ("scrollRestoration" in history) { history.scrollRestoration = "manual"; }
  var kept = store ? store.getItem(key) : null;
  if (kept !== null) {
    store.removeItem(key);
    var back = function () { window.scrollTo(0, Number(kept)); };
    back();
    window.addEventListener("load", back, {once: true});
  }
  setInterval(function () {
    fetch("/__feeds/version", {cache: "no-store"}).then(function (r) { return r.text(); })
      .then(function (v) {
        if (v !== seen) {
          if (store) { store.setItem(key, String(window.scrollY)); }
          location.reload();
        }
      }, function () {});
  }, 1000);
})();
"""


def preview(resource: Resource, snapshot: Snapshot) -> Resource:
    """In ``feeds serve`` only: a page that reloads on change and shows content
    problems; never kept by a cache."""
    banner = ""
    if snapshot.problems:
        items = "".join(f"<li>{html.escape(p)}</li>" for p in snapshot.problems)
        banner = (
            '<div role="alert" class="preview-problems">'
            "<strong>The content has problems: this preview shows the last good version of "
            "what they concern, or leaves it out.</strong>"
            f"<ul>{items}</ul></div>"
        )
    body = resource.data.replace(b"<body>", b"<body>" + banner.encode(), 1)
    body = body.replace(b"</body>", reload_script(snapshot).encode() + b"</body>", 1)
    rewritten = Resource.of(body, resource.media_type)
    rewritten.status = resource.status
    return rewritten
