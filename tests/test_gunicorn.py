"""The app under gunicorn with two worker processes, over real HTTP."""

from __future__ import annotations

import gzip
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from conftest import NOW
from feeds.content import load_content
from feeds.listings import listings

#: The sample site under gunicorn.
pytestmark = pytest.mark.slow


def fetch(url: str, method: str = "GET", **headers: str) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


def test_every_route_over_http(served: tuple[str, Path]) -> None:
    base, root = served
    every = listings(load_content(root, base), NOW)
    paths = ["", "sitemap.xml", "feeds.opml", "feed.xsl", "static/style.css", "images/logo.png"]
    for listing in every:
        paths += [
            listing.path,
            listing.path + "rss.xml",
            listing.path + "atom.xml",
            listing.path + "feed.json",
        ]
    paths += [f"articles/{a.slug}/" for a in every[0].articles]
    for path in paths:
        status, headers, body = fetch(base + path)
        assert status == 200, path
        assert body, path
        assert headers["ETag"].startswith('"'), path
        status, _, body = fetch(base + path, **{"If-None-Match": headers["ETag"]})
        assert (status, body) == (304, b""), path
    assert fetch(base + "no/such/page/")[0] == 404


def test_gzip_head_and_last_modified_over_http(served: tuple[str, Path]) -> None:
    base, _ = served
    status, plain_headers, plain = fetch(base + "atom.xml")
    status, headers, body = fetch(base + "atom.xml", **{"Accept-Encoding": "gzip"})
    assert headers["Content-Encoding"] == "gzip" and gzip.decompress(body) == plain
    assert headers["Vary"] == "Accept-Encoding"
    status, head_headers, head_body = fetch(base + "atom.xml", method="HEAD")
    assert status == 200 and head_body == b""
    assert head_headers["Content-Length"] == str(len(plain))
    since = plain_headers["Last-Modified"]
    assert fetch(base + "atom.xml", **{"If-Modified-Since": since})[0] == 304
