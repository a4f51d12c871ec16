"""The one blueprint: every URL of the site, served from the live site's files."""

from __future__ import annotations

import gzip
import html

from flask import Blueprint, Response, current_app, redirect, request
from werkzeug.wrappers import Response as BaseResponse

from webapp.http import resource_response
from webapp.reload import LiveSite, Snapshot
from webapp.site import NOT_FOUND, url_to_path

bp = Blueprint("site", __name__)


def live() -> LiveSite:
    site: LiveSite = current_app.extensions["feeds"]
    return site


@bp.get("/__feeds/version")
def version() -> BaseResponse | tuple[str, int]:
    """For the preview's reload script only."""
    if not current_app.config["PREVIEW"]:
        return not_found()
    return Response(
        str(live().current().version),
        content_type="text/plain",
        headers={"Cache-Control": "no-store"},
    )


@bp.get("/", defaults={"path": ""})
@bp.get("/<path:path>")
def serve(path: str) -> BaseResponse | tuple[str, int]:
    snapshot = live().current()
    files = snapshot.files
    if files is None:
        return unavailable(snapshot)
    max_age = files.content.site.cache_max_age
    if path.startswith("images/"):
        resource = files.image(path.removeprefix("images/"))
        if resource is None:
            return not_found()
        return resource_response(request, resource, snapshot.last_modified, max_age)
    if path == "page/1/" or path.endswith("/page/1/"):
        return redirect(request.root_path + "/" + path.removesuffix("page/1/"), code=301)
    resource = files.get(url_to_path(path))
    if resource is None:
        if not path.endswith("/") and files.get(url_to_path(path + "/")) is not None:
            return redirect(request.root_path + "/" + path + "/", code=308)
        return not_found()
    response = resource_response(request, resource, snapshot.last_modified, max_age)
    if current_app.config["PREVIEW"] and resource.media_type.startswith("text/html"):
        preview(response, snapshot)
    return response


def not_found() -> BaseResponse | tuple[str, int]:
    snapshot = live().snapshot
    page = snapshot.files.get(NOT_FOUND) if snapshot.files else None
    if page is None:
        return "Not found", 404
    return resource_response(request, page, snapshot.last_modified, 0, status=404)


def unavailable(snapshot: Snapshot) -> tuple[str, int]:
    """No good version of the content has loaded yet."""
    lines = "".join(f"<li>{html.escape(p)}</li>" for p in snapshot.problems)
    return (
        "<!DOCTYPE html><title>Content has problems</title><h1>The content has problems</h1>"
        f"<p>Nothing can be served until they are fixed:</p><ul>{lines}</ul>",
        503,
    )


PREVIEW_SCRIPT = """<script>
(function () {
  var seen = "%s";
  setInterval(function () {
    fetch("/__feeds/version", {cache: "no-store"}).then(function (r) { return r.text(); })
      .then(function (v) { if (v !== seen) { location.reload(); } }, function () {});
  }, 1000);
})();
</script>"""


def preview(response: BaseResponse, snapshot: Snapshot) -> None:
    """In ``feeds serve`` only: reload on change, and show content problems."""
    if response.status_code != 200:
        return
    response.direct_passthrough = False
    body = response.get_data()
    if response.content_encoding == "gzip":
        body = gzip.decompress(body)
        del response.headers["Content-Encoding"]
    banner = ""
    if snapshot.problems:
        items = "".join(f"<li>{html.escape(p)}</li>" for p in snapshot.problems)
        banner = (
            '<div role="alert" style="background:#fde2e1;color:#5c0b07;padding:1rem">'
            f"<strong>The newest edit has problems; showing the last good version.</strong>"
            f"<ul>{items}</ul></div>"
        )
    script = PREVIEW_SCRIPT % snapshot.version
    body = body.replace(b"<body>", b"<body>" + banner.encode(), 1)
    body = body.replace(b"</body>", script.encode() + b"</body>", 1)
    response.set_data(body)
    response.headers["Cache-Control"] = "no-store"
    del response.headers["ETag"]
    del response.headers["Last-Modified"]
