"""The app under gunicorn with two worker processes, over real HTTP."""

from __future__ import annotations

import gzip
import time
import urllib.error
import urllib.request
from datetime import timedelta
from pathlib import Path

import pytest

from conftest import NOW, free_port, gunicorn, sample_copy
from feeds.content.directory import load_content
from feeds.outputs.listings import listings

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
    paths = [
        "",
        "sitemap.xml",
        "feeds.opml",
        "feeds/tags.opml",
        "static/style.css",
        "images/logo.png",
    ]
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


def test_an_embargoed_edit_moves_no_header_in_either_worker(tmp_path: Path) -> None:
    """A story scheduled two hours ahead written, a draft edited: both
    workers load them (their log says so) and go on sending every public
    response with the same bytes, ``ETag`` and ``Last-Modified``."""
    port, log = free_port(), tmp_path / "app.log"
    root = sample_copy(tmp_path, port)
    paths = ("rss.xml", "", "atom.xml", "tags/water/")

    def seen() -> dict[str, set[tuple[str | None, str | None, bytes]]]:
        found: dict[str, set[tuple[str | None, str | None, bytes]]] = {}
        for path in paths:
            for _ in range(6):  # both workers, as the kernel hands requests out
                _, headers, body = fetch(base + path)
                found.setdefault(path, set()).add(
                    (headers.get("ETag"), headers.get("Last-Modified"), body)
                )
        return found

    with gunicorn(root, port, tmp_path / "cache.sqlite", log=log) as base:
        before = seen()
        assert all(len(versions) == 1 for versions in before.values()), before.keys()
        loads = log.read_text(encoding="utf-8").count(" articles, ")
        due = (NOW + timedelta(hours=2)).isoformat()
        (root / "articles" / "river.md").write_text(
            f'---\ntitle: "Embargoed: the river moves"\ndate: {due}\n'
            "authors: [ana-quispe]\ntags: [Water]\n---\nThe water moved.\n",
            encoding="utf-8",
        )
        draft = root / "articles" / "highland-clinics-solar-fridges.md"
        draft.write_text(draft.read_text(encoding="utf-8") + "\nMore.\n", encoding="utf-8")
        deadline = time.monotonic() + 30
        # Each worker that served the site loads the new content once.
        while log.read_text(encoding="utf-8").count(" articles, ") < loads + 2:
            assert time.monotonic() < deadline, "the workers never loaded the edit"
            fetch(base + "rss.xml")
            time.sleep(0.2)
        assert seen() == before
