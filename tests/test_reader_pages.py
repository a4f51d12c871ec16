"""What readers find on the pages, in Chromium (Playwright) and in the `reader`
library: the withdrawals feed from /withdrawals/, /feeds/ and the OPML list;
pages no wider than a phone's screen."""

from __future__ import annotations

import io
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from conftest import NOW, SHOTS, free_port, generate, gunicorn, write
from feeds.content.directory import load_content
from feeds.outputs.listings import listings, withdrawals

#: Chromium and reader against gunicorn.
pytestmark = pytest.mark.slow


def test_the_withdrawals_link_lands_on_the_withdrawals_feeds(
    browser: Any, served: tuple[str, Path]
) -> None:
    """The link "Follow withdrawals in a feed reader" led to /feeds/#withdrawals, which
    did not exist: the page listed only the site, the tags and the authors."""
    base, _ = served
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    page.goto(base + "withdrawals/")
    page.get_by_role("link", name="Follow withdrawals in a feed reader").click()
    page.wait_for_load_state()
    assert page.url == base + "feeds/#withdrawals"
    section = page.locator("#withdrawals")
    assert section.is_visible()
    top = section.evaluate("e => e.getBoundingClientRect().top")
    # scrolled to it, not merely somewhere on the page (within a pixel: a
    # header of fractional height leaves it at -0.016 px)
    assert -1 < top < 100
    assert section.get_by_role("heading", name="Withdrawn articles").is_visible()
    assert page.evaluate("window.scrollY") > 0
    assert section.locator("code").all_inner_texts() == [
        base + "withdrawals/rss.xml",
        base + "withdrawals/atom.xml",
        base + "withdrawals/feed.json",
    ]
    page.screenshot(path=str(SHOTS / "feeds-withdrawals.png"))
    page.close()


def test_reader_subscribes_to_the_withdrawals_from_the_opml_list(
    served: tuple[str, Path], tmp_path: Path
) -> None:
    """The OPML list, imported into `reader` and updated, gives the
    withdrawals feed with a notice for each withdrawn story."""
    from reader import make_reader

    base, root = served
    with urllib.request.urlopen(base + "feeds.opml", timeout=10) as response:
        opml = response.read()
    (tmp_path / "feeds.opml").write_bytes(opml)
    gone = withdrawals(load_content(root, base), NOW)
    assert gone
    reader = make_reader(str(tmp_path / "reader.sqlite"))
    try:
        with open(tmp_path / "feeds.opml", "rb") as file:
            reader.import_feeds(file)
        url = base + "withdrawals/rss.xml"
        assert url in {feed.url for feed in reader.get_feeds()}
        reader.update_feed(url)
        feed = reader.get_feed(url)
        assert feed.title == "Field Notes Wire: withdrawn articles"
        titles = {entry.title for entry in reader.get_entries(feed=url)}
        assert titles == {f"Withdrawn: {article.title}" for article in gone}
    finally:
        reader.close()


def test_reader_imports_each_story_once(served: tuple[str, Path], tmp_path: Path) -> None:
    """Importing /feeds.opml into `reader` made 33 subscriptions and 62 entries
    for 9 articles ("Half the workforce" 9 times): every tag's and author's
    feed. The list /feeds/ offers first is the site's feed (and the
    withdrawals'): each story once; the tags are a list of their own, for
    readers to choose."""
    from reader import make_reader, opml

    base, root = served
    content = load_content(root, base)
    public = listings(content, NOW)[0].articles[: content.site.feed_items]
    reader = make_reader(str(tmp_path / "reader.sqlite"))
    try:
        with urllib.request.urlopen(base + "feeds/site.opml", timeout=10) as response:
            reader.import_feeds(io.BytesIO(response.read()))
        assert {f.url for f in reader.get_feeds()} == {
            base + "rss.xml",
            base + "withdrawals/rss.xml",
        }
        reader.update_feeds()
        stories = [e.title for e in reader.get_entries(feed=base + "rss.xml")]
        assert sorted(stories) == sorted(a.title for a in public)
        titles = [e.title for e in reader.get_entries()]
        assert len(titles) == len(set(titles))  # no story twice
        # The tags' list: every tag once, most used first.
        with urllib.request.urlopen(base + "feeds/tags.opml", timeout=10) as response:
            tags_opml = response.read()
        tags = sorted(
            (x for x in listings(content, NOW) if x.kind == "tag"),
            key=lambda x: (-len(x.slots), x.path),
        )
        found = [f.url for f in opml.parse(io.BytesIO(tags_opml))]
        assert found == [x.feed_url(content.site, "rss") for x in tags]
    finally:
        reader.close()


def test_the_feeds_page_at_a_wires_size(browser: Any, big_site: str) -> None:
    """/feeds/ at 300 stories was 19,260 px tall with over 100 buttons named
    only "Copy". Tags most used first, one line each until opened, a filter
    box (shown by the script, which it needs), every button named for what it
    copies."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=big_site.rstrip("/"))
    page = context.new_page()
    page.goto(big_site + "feeds/")
    tall = page.evaluate("document.documentElement.scrollHeight")
    page.screenshot(path=str(SHOTS / "feeds-wire-1280.png"), full_page=True)
    closed = page.get_by_role("button").count()
    page.eval_on_selector_all("details", "all => all.forEach(d => { d.open = true; })")
    buttons = page.get_by_role("button")
    names = [line for line in page.locator("main").aria_snapshot().splitlines() if "button" in line]
    assert len(names) == buttons.count() == page.locator("button").count() > 250
    assert len(set(names)) == len(names), "two buttons of the same name"
    assert page.get_by_role("button", name="Copy", exact=True).count() == 0
    page.eval_on_selector_all("details", "all => all.forEach(d => { d.open = false; })")
    content = load_content(ROOTS[big_site], big_site)
    # The site's feeds, the updates', the withdrawals' and each section's (a few).
    sections = [x for x in listings(content, NOW) if x.kind == "section"]
    assert closed == 3 * (3 + len(sections))
    tags = page.locator("section", has=page.get_by_role("heading", name="Tags", exact=True))
    shown = tags.locator("summary").all_inner_texts()
    by_use = sorted(
        (x for x in listings(content, NOW) if x.kind == "tag"),
        key=lambda x: (-len(x.slots), x.path),
    )
    assert shown == [x.title.removeprefix(content.site.title + ": ") for x in by_use]
    assert len(shown) >= 30
    assert tall < 8000, tall
    # Open a tag's feeds and copy one: the button names the tag and the format.
    first = by_use[0].title.removeprefix(content.site.title + ": ")
    tags.get_by_text(first, exact=True).click()
    page.get_by_role("button", name=f"Copy the Atom address of {first}", exact=True).click()
    assert page.evaluate("navigator.clipboard.readText()") == by_use[0].feed_url(
        content.site, "atom"
    )
    box = page.get_by_role("searchbox", name="Find a tag or an author")
    box.fill("Tag 1")
    visible = [t for t in tags.locator("summary").all() if t.is_visible()]
    assert 0 < len(visible) < len(shown)
    assert all("tag 1" in t.inner_text().lower() for t in visible)
    page.screenshot(path=str(SHOTS / "feeds-wire-filtered.png"), full_page=True)
    context.close()
    # Without the script the page works: no dead filter box, every address there.
    context = browser.new_context(viewport={"width": 390, "height": 844}, java_script_enabled=False)
    page = context.new_page()
    page.goto(big_site + "feeds/")
    assert page.get_by_role("searchbox").count() == 0
    page.get_by_text(first, exact=True).click()
    assert page.locator(f"#{by_use[0].path.strip('/').replace('/', '-')}-rss").is_visible()
    page.screenshot(path=str(SHOTS / "feeds-wire-390.png"), full_page=True)
    context.close()


@pytest.mark.parametrize("width", [1280, 390])
def test_a_feed_opened_in_chromium_says_where_to_go(
    browser: Any, served: tuple[str, Path], width: int
) -> None:
    """Chromium shows /rss.xml and /atom.xml as plain text (their media types,
    whatever the stylesheet the feeds named): the first lines a person reads
    say what this is and where the feeds page is."""
    base, _ = served
    page = browser.new_page(viewport={"width": width, "height": 844})
    for path in ("rss.xml", "atom.xml", "tags/peru/rss.xml"):
        page.goto(base + path)
        assert page.evaluate("document.contentType") == "text/plain"
        lines = page.locator("body").inner_text().splitlines()
        assert lines[1] == (
            f"<!-- This is a web feed, for feed readers. How to follow it: {base}feeds/ -->"
        ), path
        assert not any("xml-stylesheet" in line for line in lines)
        page.screenshot(path=str(SHOTS / f"feed-in-chromium-{width}-{path.replace('/', '-')}.png"))
    page.close()


#: A bare URL longer than a phone's screen is wide, as editors paste them.
LONG_URL = (
    "https://docs.example.org/spreadsheets/d/"
    "1XqT7bWc0NfR3kLmZp8VdYs2HgJ5uQaEo9iKt4rCwB6nMzPlOy_AxSe/edit?usp=sharing"
)


#: The content folder of each site served, by its address.
ROOTS: dict[str, Path] = {}


@pytest.fixture(scope="module")
def big_site(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """A generated site of 160 stories (three sealed archive documents, a
    hundred tags' feeds on /feeds/), one with a long tag name and a long bare
    URL, and a withdrawn one with a long address, under gunicorn."""
    port = free_port()
    folder = tmp_path_factory.mktemp("big")
    root = generate(folder / "content", 160)
    toml = root / "site.toml"
    toml.write_text(
        toml.read_text().replace("https://bench.example.org/", f"http://127.0.0.1:{port}/")
    )
    write(
        root,
        "articles/long-url.md",
        f"""\
        ---
        title: Where the tariff data lives
        date: 2026-11-20T10:00:00Z
        authors: [{{name: Ana Quispe}}]
        tags: [Water and sanitation in the Andean highlands and valleys]
        ---
        The figures are at {LONG_URL} for anyone to check.
        """,
    )
    write(
        root,
        "articles/a-story-withdrawn-for-a-reason-that-needed-a-very-long-address.md",
        """\
        ---
        title: A withdrawn story
        date: 2026-11-18T10:00:00Z
        authors: [{name: Ana Quispe}]
        withdrawn: {date: 2026-11-19T10:00:00Z, reason: It named the wrong district.}
        ---
        Text.
        """,
    )
    write(
        root,
        "pages/republishing.md",
        f"""\
        ---
        title: Republishing terms for partner outlets and their systems
        ---
        Our terms, with the licence of each story, are at {LONG_URL} too.
        """,
    )
    with gunicorn(root, port, folder / "cache.sqlite") as base:
        ROOTS[base] = root
        yield base


@pytest.mark.parametrize(
    "path",
    [
        "feeds/",
        "archive/",
        "articles/long-url/",
        "withdrawals/",
        "tags/tag-1/",
        "",
        "tags/",
        "authors/",
        "sections/analysis/",
        "archive/2026-11/",
        "republishing/",
    ],
)
def test_no_page_is_wider_than_a_phone(browser: Any, big_site: str, path: str) -> None:
    """At 390 px, /feeds/ was 417 px wide, /archive/ 425 px (feed URLs in
    <code> do not wrap) and an article with a long bare URL 568 px."""
    page = browser.new_page(viewport={"width": 390, "height": 844})
    response = page.goto(big_site + path)
    assert response is not None and response.status == 200, path
    name = path.strip("/").replace("/", "-") or "home"
    page.screenshot(path=str(SHOTS / f"phone-{name}.png"), full_page=True)
    if path == "archive/":
        assert page.locator("table.archives code").count() >= 3
    if path == "articles/long-url/":
        assert LONG_URL in page.locator("article .body").inner_text()
    widths = page.evaluate(
        "[document.documentElement.scrollWidth, document.body.scrollWidth, window.innerWidth]"
    )
    assert widths[0] <= widths[2] and widths[1] <= widths[2], (path, widths)
    # Nothing scrolls sideways inside the page either, but a table of figures.
    wide = page.evaluate(
        """() => [...document.querySelectorAll('main *')]
            .filter(e => e.scrollWidth > e.clientWidth + 1 && !e.closest('pre')
                         && getComputedStyle(e).overflowX !== 'visible')
            .map(e => e.tagName + '.' + e.className)"""
    )
    assert wide == [], (path, wide)
    page.close()


def test_the_sample_logo_sits_on_the_page_in_dark_mode(
    browser: Any, served: tuple[str, Path]
) -> None:
    """In dark mode the sample logo was an opaque white square on the dark
    masthead: its corners must show the page's background."""
    from io import BytesIO

    from PIL import Image

    base, _ = served
    context = browser.new_context(viewport={"width": 1280, "height": 800}, color_scheme="dark")
    page = context.new_page()
    page.goto(base)
    background = page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert background == "rgb(22, 23, 26)"  # the dark theme is on
    logo = page.locator(".brand img")
    assert logo.evaluate("img => img.complete && img.naturalWidth > 0")
    shot = Image.open(BytesIO(logo.screenshot())).convert("RGB")
    page.locator(".masthead").screenshot(path=str(SHOTS / "masthead-dark.png"))
    width, height = shot.size
    for x, y in ((0, 0), (width - 1, 0), (0, height - 1), (width - 1, height - 1)):
        corner = shot.getpixel((x, y))
        assert all(abs(a - b) <= 8 for a, b in zip(corner, (22, 23, 26), strict=True)), corner
    # The logo itself stands out from the page: most of its square is the disc.
    pixels = [shot.getpixel((x, y)) for y in range(height) for x in range(width)]
    apart = [
        p for p in pixels if sum(abs(a - b) for a, b in zip(p, (22, 23, 26), strict=True)) > 60
    ]
    assert len(apart) > 0.6 * width * height
    context.close()


def test_the_json_ld_reaches_chromium_without_a_policy_error(
    browser: Any, served: tuple[str, Path]
) -> None:
    """The article's JSON-LD is an inline data block: the pages' CSP, which
    allows no inline script, must not refuse it (nor need to: it is not run)."""
    import json

    base, root = served
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(base + "articles/agua-potable-el-alto/")
    text = page.locator('script[type="application/ld+json"]').text_content() or ""
    node = json.loads(text)
    article = next(a for a in load_content(root, base).articles if a.slug == "agua-potable-el-alto")
    assert (node["@type"], node["headline"], node["inLanguage"]) == (
        "NewsArticle",
        article.title,
        "es",
    )
    assert page.evaluate("document.documentElement.scrollWidth") <= 1280
    page.screenshot(path=str(SHOTS / "article-es-1280.png"))
    assert errors == []
    page.close()


def test_a_reader_finds_the_way_by_the_navigation(browser: Any, big_site: str) -> None:
    """From the front page, at 1280 and 390 px: the header leads to a section,
    the archive (and from it a month's stories), the tags, the authors, the
    feeds and the site's pages; every one of them fits the screen. Today the
    header links only "Feeds"."""
    for width in (1280, 390):
        page = browser.new_page(viewport={"width": width, "height": 900})
        page.goto(big_site)
        nav = page.locator("header nav")
        for name in ("Analysis", "Archive", "Tags", "Authors", "Feeds"):
            assert nav.get_by_role("link", name=name, exact=True).is_visible(), (width, name)
        pages = nav.get_by_role("link", name="Republishing terms for partner outlets")
        assert pages.is_visible()
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        page.screenshot(path=str(SHOTS / f"nav-home-{width}.png"))
        nav.get_by_role("link", name="Archive", exact=True).click()
        months = page.locator("ul.months a")
        assert months.count() >= 2
        first = months.first.inner_text()
        months.first.click()
        assert page.locator("h1").inner_text() == first
        stories = page.locator("ul.stories a")
        assert stories.count() >= 1
        page.screenshot(path=str(SHOTS / f"nav-month-{width}.png"), full_page=True)
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        stories.first.click()
        assert page.url.startswith(big_site + "articles/")
        for name, shot in (("Tags", "tags"), ("Authors", "authors"), ("Analysis", "section")):
            page.locator("header nav").get_by_role("link", name=name, exact=True).click()
            assert page.locator("h1").inner_text() in (name, "Analysis")
            page.screenshot(path=str(SHOTS / f"nav-{shot}-{width}.png"), full_page=True)
            assert page.evaluate("document.documentElement.scrollWidth") <= width, (name, width)
        page.locator("header nav").get_by_role("link", name="Republishing terms").click()
        assert page.url == big_site + "republishing/"
        page.screenshot(path=str(SHOTS / f"nav-page-{width}.png"), full_page=True)
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        page.close()
