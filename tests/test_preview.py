"""The editor's preview, `feeds serve`, as an editor uses it: in Chromium, with
drafts, with a broken edit, and with content broken from the start."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from conftest import NOW, SHOTS, free_port, http_get, sample_copy, wait_for, write
from feeds.content.directory import load
from feeds.outputs.listings import is_public

#: `feeds serve` in a child process, driven by Chromium.
pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parent.parent
#: Long after any run of these tests: scheduled whatever the day.
SCHEDULED = """\
---
title: A story for the far future
date: 8999-01-01T09:00:00-05:00
authors: [ana-quispe]
tags: [Far Future]
---
Not yet.
"""


def serve(root: Path, port: int) -> list[str]:
    """The `feeds serve` command line, as an editor types it."""
    return [sys.executable, "-m", "feeds.cli", "serve", "--content", str(root), "--port", str(port)]


@contextmanager
def feeds_serve(root: Path, port: int, *options: str, log: Path | None = None) -> Iterator[str]:
    """`feeds serve` in a child process, as an editor starts it; what it
    prints goes to ``log``, if given."""
    output = log.open("wb") if log is not None else subprocess.DEVNULL
    server = subprocess.Popen(
        [*serve(root, port), *options],
        cwd=REPO,
        env={**os.environ, "FEEDS_NOW": NOW.isoformat()},  # what is public: as at NOW
        stdout=output,
        stderr=subprocess.STDOUT,
    )
    if log is not None:
        output.close()  # type: ignore[union-attr]
    base = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(base + "__feeds/version", timeout=2).close()
                break
            except urllib.error.HTTPError:
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise RuntimeError("feeds serve did not start") from None
                time.sleep(0.1)
        yield base
    finally:
        server.terminate()
        server.wait(timeout=10)


@pytest.fixture
def preview_site(tmp_path: Path) -> tuple[Path, int]:
    port = free_port()
    root = sample_copy(tmp_path, port)
    write(root, "articles/far-future.md", SCHEDULED)
    return root, port


def test_drafts_are_shown_and_marked_only_with_the_flag(
    browser: Any, preview_site: tuple[Path, int]
) -> None:
    root, port = preview_site
    with feeds_serve(root, port, "--drafts") as base:
        page = browser.new_page()
        page.goto(base)
        items = page.locator("ol.articles > li")
        assert items.count() == 13  # 9 public, the draft, two scheduled, one withdrawn
        marks = sorted(page.locator("ol.articles .mark").all_inner_texts())
        assert marks == [
            "Draft",
            "Scheduled for 1 January 8999",
            "Scheduled for 1 March 2027",
            "Withdrawn",
        ]
        page.goto(base + "articles/far-future/")
        assert page.locator("article.story .mark").inner_text() == "Scheduled for 1 January 8999"
        page.goto(base + "articles/highland-clinics-solar-fridges/")
        assert page.locator("article.story .mark").inner_text() == "Draft"
        page.close()
        assert b"A story for the far future" in http_get(base + "rss.xml")[1]
    with feeds_serve(root, port) as base:
        assert http_get(base + "articles/far-future/")[0] == 404
        assert http_get(base + "articles/highland-clinics-solar-fridges/")[0] == 404
        assert b"A story for the far future" not in http_get(base + "rss.xml")[1]


def test_the_problem_banner_stays_in_view(browser: Any, preview_site: tuple[Path, int]) -> None:
    root, port = preview_site
    with feeds_serve(root, port) as base:
        page = browser.new_page(viewport={"width": 1000, "height": 700})
        page.goto(base + "articles/lima-reservoirs-dry-season/")
        article = root / "articles/mine-workers-heat-rules.md"
        article.write_text(article.read_text().replace("date: ", "date: 2026-13-45 #", 1))
        banner = page.get_by_role("alert")
        banner.wait_for(timeout=15_000)  # the page reloads itself
        assert "mine-workers-heat-rules.md" in banner.inner_text()
        page.mouse.wheel(0, 20_000)
        # Polled from the test: the pages' CSP forbids the eval Playwright's
        # wait_for_function needs.
        wait_for(lambda: page.evaluate("window.scrollY") > 1000, "the scroll", seconds=15)
        box = banner.bounding_box()
        assert box is not None and 0 <= box["y"] < 700
        page.close()


def test_a_preview_broken_from_the_start_reloads_once_fixed(
    browser: Any, preview_site: tuple[Path, int]
) -> None:
    root, port = preview_site
    toml = root / "site.toml"
    good = toml.read_text()
    toml.write_text(re.sub(r"^base_url = .*$", 'base_url = "nope"', good, flags=re.M))
    with feeds_serve(root, port) as base:
        page = browser.new_page()
        response = page.goto(base)
        assert response is not None and response.status == 503
        assert "site.toml:3: base_url: expected an absolute http or https URL" in page.inner_text(
            "ul"
        )
        toml.write_text(good)
        wait_for(
            lambda: page.title() == "Field Notes Wire", "the reload", seconds=15
        )  # it reloaded itself
        public = [a for a in load(root).content.articles if is_public(a, NOW)]
        assert page.locator("ol.articles > li").count() == len(public) == 9
        page.close()


def test_a_new_draft_with_a_problem_shows_it_and_reloads_once_fixed(
    browser: Any, preview_site: tuple[Path, int]
) -> None:
    """It was a plain 404 that never reloaded: `feeds new` without --author,
    its URL opened, the author filled in, still 404 seconds later."""
    root, port = preview_site
    with feeds_serve(root, port, "--drafts") as base:
        made = subprocess.run(
            [sys.executable, "-m", "feeds.cli", "new", "Wells of Quito", "--content", str(root)],
            cwd=REPO,
            capture_output=True,
            text=True,
            check=True,
        )
        assert "articles/wells-of-quito.md" in made.stdout
        draft = root / "articles/wells-of-quito.md"
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        response = page.goto(base + "articles/wells-of-quito/")
        assert response is not None and response.status == 404
        banner = page.get_by_role("alert")
        banner.wait_for(timeout=15_000)  # once the preview has seen the new file
        assert "articles/wells-of-quito.md:4: authors: must list at least one author" in (
            banner.inner_text()
        )
        draft.write_text(draft.read_text().replace("authors: []", "authors: [ana-quispe] #"))
        story = page.locator("article.story")
        story.wait_for(timeout=15_000)  # the page reloaded itself
        assert page.locator("article.story h1").inner_text() == "Wells of Quito"
        assert page.locator("article.story .mark").inner_text() == "Draft"
        assert page.get_by_role("alert").count() == 0
        page.close()


def test_a_banner_that_comes_with_a_reload_leaves_the_headline_in_view(
    browser: Any, preview_site: tuple[Path, int]
) -> None:
    """Chromium restored the element that was at the top of the page, and the
    banner that came with the reload covered the headline and byline
    (scrollY 229 at 1280 px)."""
    root, port = preview_site
    with feeds_serve(root, port) as base:
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        page.goto(base + "articles/lima-reservoirs-dry-season/")
        assert page.evaluate("window.scrollY") == 0
        article = root / "articles/mine-workers-heat-rules.md"
        article.write_text(article.read_text().replace("date: ", "date: 2026-13-45 #", 1))
        banner = page.get_by_role("alert")
        banner.wait_for(timeout=15_000)  # the page reloads itself
        page.wait_for_load_state("load")
        shown = banner.bounding_box()
        headline = page.locator("article.story h1").bounding_box()
        byline = page.locator("article.story header .meta").bounding_box()
        assert shown is not None and headline is not None and byline is not None
        page.screenshot(path=str(SHOTS / "preview-banner-after-reload-1280.png"))
        assert page.evaluate("window.scrollY") == 0
        assert shown["y"] + shown["height"] <= headline["y"] < byline["y"] < 800
        page.close()


def test_serve_says_what_it_shows_and_no_development_server_warning(
    preview_site: tuple[Path, int], tmp_path: Path
) -> None:
    """--drafts logged "12 articles, 12 public" when 3 were not, and every
    start printed Flask's red warning for deployments."""
    root, port = preview_site
    log = tmp_path / "serve.log"
    with feeds_serve(root, port, "--drafts", log=log) as base:
        http_get(base)
    text = log.read_text()
    public = sum(1 for a in load(root).content.articles if is_public(a, NOW))
    assert public == 9
    said = [line for line in text.splitlines() if not line.startswith("state database: ")]
    assert "\n".join(said).startswith(
        f"loaded {root}: 13 articles, 9 public; the preview shows 13, drafts and "
        "scheduled ones marked\n"
        f"previewing {root} at http://127.0.0.1:{port}/ (pages reload on change; drafts and "
        "scheduled articles shown, marked; Ctrl+C stops)\n"
    ), text
    assert "development server" not in text and "\x1b" not in text, text


def test_a_busy_port_is_said_before_anything_else(preview_site: tuple[Path, int]) -> None:
    """It printed "previewing at ..." first, then Werkzeug's own words."""
    import socket

    root, port = preview_site
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", port))
        taken.listen()
        done = subprocess.run(
            serve(root, port),
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert (done.returncode, done.stdout) == (1, "")
    assert done.stderr == (
        f"feeds serve: port {port} of 127.0.0.1 is busy: another program listens there "
        "(another feeds serve?); stop it, or give --port\n"
    )
