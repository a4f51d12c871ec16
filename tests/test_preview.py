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

from conftest import NOW, free_port, sample_copy, write
from feeds.content import load
from feeds.listings import is_public

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


@contextmanager
def feeds_serve(root: Path, port: int, *options: str) -> Iterator[str]:
    """`feeds serve` in a child process, as an editor starts it."""
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "feeds.cli",
            "serve",
            "--content",
            str(root),
            "--port",
            str(port),
            *options,
        ],
        cwd=REPO,
        env={**os.environ, "FEEDS_NOW": NOW.isoformat()},  # what is public: as at NOW
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
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


def wait_until(condition: Any, seconds: float = 15) -> None:
    """Poll from the test: the pages' CSP forbids the eval Playwright's
    wait_for_function needs."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


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
        assert b"A story for the far future" in get(base + "rss.xml")[1]
    with feeds_serve(root, port) as base:
        assert get(base + "articles/far-future/")[0] == 404
        assert get(base + "articles/highland-clinics-solar-fridges/")[0] == 404
        assert b"A story for the far future" not in get(base + "rss.xml")[1]


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
        wait_until(lambda: page.evaluate("window.scrollY") > 1000)
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
        wait_until(lambda: page.title() == "Field Notes Wire")  # it reloaded itself
        public = [a for a in load(root).content.articles if is_public(a, NOW)]
        assert page.locator("ol.articles > li").count() == len(public) == 9
        page.close()
