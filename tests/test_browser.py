"""The pages in a real browser (Debian's Chromium, driven by Playwright)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from conftest import SHOTS, free_port, gunicorn, sample_copy, write

#: Chromium against the sample site under gunicorn.
pytestmark = pytest.mark.slow


def test_index_and_article_in_a_browser(browser: Any, served: tuple[str, Path]) -> None:
    base, _ = served
    SHOTS.mkdir(exist_ok=True)
    context = browser.new_context(viewport={"width": 1000, "height": 1200})
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=base.rstrip("/"))
    page = context.new_page()
    page.goto(base)
    assert page.title() == "Field Notes Wire"
    assert page.locator("ol.articles > li").count() == 9
    page.screenshot(path=str(SHOTS / "index.png"), full_page=True)

    page.get_by_role("link", name="Lima's reservoirs enter the dry season").click()
    page.wait_for_load_state()
    assert page.url == base + "articles/lima-reservoirs-dry-season/"
    lead = page.locator("article.story figure").first
    image = lead.locator("img")
    assert image.evaluate("img => img.complete && img.naturalWidth > 0")
    assert image.get_attribute("alt") == (
        "A reservoir at dusk, with low green hills behind the water"
    )
    caption = lead.locator("figcaption")
    assert caption.is_visible()
    assert "The upper Rímac basin feeds a chain of small reservoirs" in caption.inner_text()
    assert "Credit: Field Notes Wire illustration" in caption.inner_text()
    footer = page.locator("footer.republishing")
    assert footer.get_by_text("Ana Quispe covers water and sanitation from Lima.").is_visible()
    assert footer.get_by_text("Grace Okafor is the science editor").is_visible()

    expected = page.locator("#republish-html").input_value()
    assert expected.startswith('<div lang="en"><h1>Lima&#x27;s reservoirs')
    page.get_by_role("button", name="Copy HTML").click()
    page.get_by_text("Copied.").wait_for()
    assert page.evaluate("navigator.clipboard.readText()") == expected
    page.screenshot(path=str(SHOTS / "article.png"), full_page=True)
    page.locator("section.republish").screenshot(path=str(SHOTS / "republish.png"))
    context.close()


def test_article_reads_on_a_phone(browser: Any, served: tuple[str, Path]) -> None:
    base, _ = served
    SHOTS.mkdir(exist_ok=True)
    page = browser.new_page(viewport={"width": 390, "height": 844})
    page.goto(base + "articles/agua-potable-el-alto/")
    assert page.locator("html").get_attribute("lang") == "es"
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0  # nothing wider than the screen
    page.screenshot(path=str(SHOTS / "phone.png"), full_page=False)
    page.close()


def clipboard_page(browser: Any, base: str) -> Any:
    context = browser.new_context(viewport={"width": 1000, "height": 1200})
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=base.rstrip("/"))
    return context.new_page()


def test_copy_as_rich_text_and_the_canonical_link(browser: Any, served: tuple[str, Path]) -> None:
    """A partner pasting into a visual editor needs text/html on the clipboard,
    and the canonical link for the head of their page. Copying fetches nothing:
    the HTML's images, the republication pixel among them, stay unloaded."""
    base, _ = served
    page = clipboard_page(browser, base)
    page.goto(base + "articles/lima-reservoirs-dry-season/")
    republish = page.locator("#republish-html").input_value()
    fetched: list[str] = []
    page.on("request", lambda request: fetched.append(request.url))
    page.get_by_role("button", name="Copy as rich text").click()
    page.locator("section.republish [role=status]").first.get_by_text("Copied.").wait_for()
    page.wait_for_timeout(500)
    assert [url for url in fetched if "pixel.gif" in url] == []
    types, rich, plain = page.evaluate(
        """async () => {
            const [item] = await navigator.clipboard.read();
            const html = await (await item.getType("text/html")).text();
            const text = await (await item.getType("text/plain")).text();
            return [item.types, html, text];
        }"""
    )
    assert "text/html" in types and "text/plain" in types
    assert "<h1>Lima's reservoirs enter the dry season" in rich.replace("&#x27;", "'")
    assert 'rel="license"' in rich and "This article was produced by" in rich
    assert plain.startswith("Lima's reservoirs enter the dry season")  # the text, not the tags
    paragraphs = plain.split("\n\n")  # a blank line between blocks, as they are shown
    assert paragraphs[0].endswith("the dry season at their lowest level in a decade")
    assert "This article was produced by Field Notes Wire." in paragraphs
    assert "<h1>" not in plain and "<h1>" in republish
    page.get_by_role("button", name="Copy the link").click()
    canonical = f'<link rel="canonical" href="{base}articles/lima-reservoirs-dry-season/">'
    assert page.evaluate("navigator.clipboard.readText()") == canonical
    page.context.close()


def test_feed_links_lead_people_to_the_feeds_page(browser: Any, served: tuple[str, Path]) -> None:
    """Chromium shows a feed as a wall of XML: every link a person clicks for
    feeds leads to /feeds/, which lists them all with a Copy button each."""
    base, _ = served
    page = clipboard_page(browser, base)
    for path in (
        "",
        "articles/opinion-bus-corridors/",
        "tags/peru/",
        "authors/ana-quispe/",
        "archive/",
        "withdrawals/",
    ):
        page.goto(base + path)
        hrefs = page.eval_on_selector_all("a[href]", "links => links.map(a => a.href)")
        raw = [h for h in hrefs if h.endswith(("rss.xml", "atom.xml", "feed.json", ".opml"))]
        assert raw == [], path
    page.goto(base)
    nav = page.get_by_role("navigation", name="Site")
    nav.get_by_role("link", name="Feeds", exact=True).click()
    page.wait_for_load_state()
    assert page.url == base + "feeds/"
    assert page.get_by_role("heading", name="Feeds", exact=True).is_visible()
    site_rss = page.locator("#site-rss")
    assert site_rss.inner_text() == base + "rss.xml"
    site_rss.locator("xpath=..").get_by_role("button", name="Copy").click()
    assert page.evaluate("navigator.clipboard.readText()") == base + "rss.xml"
    page.goto(base + "tags/peru/")
    page.get_by_role("link", name="Follow Perú in a feed reader").click()
    page.wait_for_load_state()
    assert page.url == base + "feeds/#tags-peru"
    group = page.locator("#tags-peru")
    assert group.is_visible()
    assert group.locator("code").all_inner_texts() == [
        base + "tags/peru/rss.xml",
        base + "tags/peru/atom.xml",
        base + "tags/peru/feed.json",
    ]
    page.screenshot(path=str(SHOTS / "feeds.png"), full_page=True)
    page.context.close()


def test_pages_numbered_from_the_oldest_and_the_archive_in_a_browser(
    browser: Any, tmp_path: Path
) -> None:
    """A reader jumps between numbered pages and walks Older from the front
    page to page 1 seeing no story twice; the archive page gives each sealed
    document's feeds as addresses to copy. 50 stories older than the sample's
    10 slots: 60 slots, so pages 1 to 3 and one archive document of 50."""
    port = free_port()
    root = sample_copy(tmp_path, port)
    for n in range(50):
        write(
            root,
            f"articles/old-{n:02}.md",
            f"---\ntitle: Old {n:02}\ndate: 2026-07-01T{n // 4:02}:{n % 4 * 15:02}:00Z\n"
            "authors: [ana-quispe]\n---\nText.\n",
        )
    with gunicorn(root, port, tmp_path / "cache.sqlite") as base:
        page = clipboard_page(browser, base)
        page.goto(base)
        pages = page.get_by_role("navigation", name="Pages")
        assert pages.get_by_role("link", name="3").is_visible()
        seen: list[str] = []
        while True:
            seen += page.locator("ol.articles h2").all_inner_texts()
            older = page.locator("a[rel=next]")
            if not older.count():
                break
            older.click()
            page.wait_for_load_state()
        assert page.url == base + "page/1/"
        assert len(seen) == len(set(seen)) == 59  # every public story once (one is withdrawn)
        assert seen[-20:] == [f"Old {n:02}" for n in range(19, -1, -1)]
        page.get_by_role("navigation", name="Pages").get_by_role("link", name="2").click()
        page.wait_for_load_state()
        assert page.url == base + "page/2/"
        assert page.locator("[aria-current=page]").inner_text() == "2"
        page.goto(base)
        page.locator("#main").get_by_role("link", name="Archive", exact=True).click()
        page.wait_for_load_state()
        assert page.url == base + "archive/"
        first = page.locator("table.archives code").first
        first.locator("xpath=..").get_by_role("button", name="Copy").click()
        assert page.evaluate("navigator.clipboard.readText()") == first.inner_text()
        assert first.inner_text() == base + "archive/1/rss.xml"
        page.screenshot(path=str(SHOTS / "archive.png"), full_page=True)
        page.context.close()
