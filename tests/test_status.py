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

from conftest import require, sample_served

#: curl and Chromium against gunicorn.
pytestmark = pytest.mark.slow

#: (method, path, status, text the body must hold): every status the app sends
#: but the 304 and the 503, which need a request or an app of their own (below),
#: and the 500, which nothing outside can cause (tests/test_app.py).
CASES: list[tuple[str, str, int, str]] = [
    ("GET", "", 200, "Field Notes Wire"),
    ("GET", "rss.xml", 200, "<rss"),
    ("GET", "feeds/", 200, "Feeds"),
    ("GET", "favicon.ico", 200, ""),
    ("GET", "page/1/", 301, ""),
    ("GET", "tags/peru", 308, ""),
    ("GET", "partners/rss.xml", 401, "Partners only"),
    ("GET", "no/such/page/", 404, "Page not found"),
    ("GET", "page/2/", 404, "Page not found"),
    ("GET", "images/nothing-here.png", 404, "Page not found"),
    ("POST", "", 405, "Method Not Allowed"),
    ("GET", "articles/arequipa-well-study/", 410, "Withdrawn"),
]


@pytest.fixture(scope="module")
def broken(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """An app whose site.toml is broken from the start: it can serve nothing."""
    with sample_served(tmp_path_factory, "broken", 'title = "x"\nbase_url = "nope"\n') as (base, _):
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
@pytest.mark.parametrize(
    ("method", "path", "status", "text"), CASES, ids=[f"{c[0]} /{c[1]}" for c in CASES]
)
def test_curl_reads_every_status(
    served: tuple[str, Path],
    compressed: bool,
    method: str,
    path: str,
    status: int,
    text: str,
) -> None:
    base, _ = served
    options = ["-X", method, *(["--compressed"] if compressed else [])]
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
    for method, path, status, text in CASES:
        if path == "favicon.ico" or status == 401:  # Chromium asks for a password instead
            continue
        if method == "POST":  # what a form sends, from a page without the site's CSP
            page.goto("about:blank")
            form = f'<form method="post" action="{base}{path}"><button>Go</button></form>'
            page.set_content(form)
            with page.expect_navigation() as sent:
                page.click("button")
            response = sent.value
        else:
            response = page.goto(base + path)
        assert response is not None
        request = response.request
        while request.redirected_from is not None:  # a redirect's own status
            request = request.redirected_from
        first = request.response()
        assert first is not None and first.status == status, path
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


@pytest.mark.parametrize("path", ["%09/evil.example/page/1/", "%0A/evil.example/page/1/"])
def test_chromium_is_sent_nowhere_off_the_site(
    browser: Any, served: tuple[str, Path], path: str
) -> None:
    """`GET /%09/evil.example/page/1/` answered `301 Location: //evil.example/`
    and Chromium followed it off the site; with a newline it was a 500."""
    from urllib.parse import urlsplit

    from playwright.sync_api import Error

    base, _ = served
    page = browser.new_page()
    asked: list[str] = []
    page.on("request", lambda request: asked.append(request.url))
    try:
        response = page.goto(base + path)
    except Error:  # the host does not exist: sent there, Chromium fails to load it
        response = None
    assert asked and all(urlsplit(url).hostname == "127.0.0.1" for url in asked), asked
    assert response is not None and response.status == 404
    page.close()
