"""The pages in a real browser (Debian's Chromium, driven by Playwright)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from conftest import SHOTS


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
