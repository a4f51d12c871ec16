"""Every status the app sends is readable, by curl and by Chromium, with and
without gzip: a body is compressed only when the response says so. (The app
used to send its 404 page gzip-compressed without Content-Encoding, and every
browser showed it as binary junk.)"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conftest import free_port, gunicorn, require, sample_copy

#: (path, request headers, status, text the body must hold)
CASES: list[tuple[str, dict[str, str], int, str]] = [
    ("", {}, 200, "Field Notes Wire"),
    ("rss.xml", {}, 200, "<rss"),
    ("feeds/", {}, 200, "Feeds"),
    ("favicon.ico", {}, 200, ""),
    ("page/1/", {}, 301, ""),
    ("tags/peru", {}, 308, ""),
    ("no/such/page/", {}, 404, "Page not found"),
    ("page/2/", {}, 404, "Page not found"),
    ("images/nothing-here.png", {}, 404, "Page not found"),
]


@pytest.fixture(scope="module")
def broken(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """An app whose site.toml is broken from the start: it can serve nothing."""
    port = free_port()
    root = sample_copy(tmp_path_factory.mktemp("broken"), port)
    (root / "site.toml").write_text('title = "x"\nbase_url = "nope"\n')
    cache = tmp_path_factory.mktemp("broken-cache") / "cache.sqlite"
    with gunicorn(root, port, cache) as base:
        yield base


def curl(url: str, *options: str) -> tuple[int, dict[str, str], bytes]:
    require("curl")
    result = subprocess.run(
        ["curl", "-s", "-i", "--max-time", "10", *options, url],
        capture_output=True,
        check=True,
    )
    head, _, body = result.stdout.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    return int(lines[0].split()[1]), headers, body


@pytest.mark.parametrize("compressed", [False, True], ids=["plain", "gzip"])
@pytest.mark.parametrize(("path", "headers", "status", "text"), CASES, ids=[c[0] for c in CASES])
def test_curl_reads_every_status(
    served: tuple[str, Path],
    compressed: bool,
    path: str,
    headers: dict[str, str],
    status: int,
    text: str,
) -> None:
    base, _ = served
    options = ["--compressed"] if compressed else []
    got, response, body = curl(base + path, *options)
    assert got == status
    assert response.get("x-content-type-options") == "nosniff"
    if text:
        assert text in body.decode("utf-8")  # curl undid any gzip it was told of
    if not compressed:
        assert "content-encoding" not in response


def test_curl_reads_a_304_and_the_503(served: tuple[str, Path], broken: str) -> None:
    base, _ = served
    _, first, _ = curl(base + "atom.xml", "--compressed")
    status, _, body = curl(
        base + "atom.xml", "--compressed", "-H", f"If-None-Match: {first['etag']}"
    )
    assert (status, body) == (304, b"")
    for options in ([], ["--compressed"]):
        status, response, body = curl(broken, *options)
        assert status == 503
        text = body.decode("utf-8")
        assert "<h1>" in text and response["content-type"].startswith("text/html")


def test_chromium_shows_every_status_as_text(
    browser: Any,
    served: tuple[str, Path],
    broken: str,
) -> None:
    """Chromium always asks for gzip: each page must come out as text."""
    base, _ = served
    page = browser.new_page()
    for path, _, status, text in CASES:
        if path == "favicon.ico":
            continue
        response = page.goto(base + path)
        assert response is not None
        shown = page.evaluate(
            "document.body ? document.body.innerText : document.documentElement.textContent"
        )
        assert "\ufffd" not in shown, path  # the replacement character of binary junk
        if text and status != 200:
            assert text in shown, path
    response = page.goto(broken)
    assert response is not None and response.status == 503
    assert page.inner_text("h1") == "Temporarily unavailable"  # the public sees no problem list
    page.close()
