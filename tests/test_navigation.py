"""Finding one's way around the site (issue 24, items 1 and 2): the navigation
on every page, the indexes of tags and authors, the archive by month,
sections as listings with pages and feeds, and pages that are not articles
(``content/pages/``), in the export and in the app."""

from __future__ import annotations

import re
from collections import Counter
from datetime import datetime
from pathlib import Path

import feedparser
import pytest
from lxml import html as lxml_html

from conftest import NOW, site_files, write
from feeds import urls
from feeds.content.directory import load_content
from feeds.model import Article, Content
from feeds.outputs import plan
from feeds.publish.build import build
from webapp import create_app


def public(content: Content, now: datetime = NOW) -> list[Article]:
    """The test's own reading of what is public: not a draft, dated, not withdrawn."""
    return [
        a
        for a in content.articles
        if not a.draft and a.date <= now and (a.withdrawn is None or a.withdrawn.date > now)
    ]


def slug_of(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


@pytest.fixture
def export(sample: Path, tmp_path: Path) -> dict[str, bytes]:
    out = tmp_path / "out"
    build(sample, out, NOW)
    return site_files(out)


def page(files: dict[str, bytes], path: str) -> lxml_html.HtmlElement:
    return lxml_html.fromstring(files[urls.file_of(path)])


def nav_links(document: lxml_html.HtmlElement) -> list[str]:
    return [a.get("href") for a in document.xpath(".//header//nav//a")]


def test_every_page_has_the_sites_navigation(sample: Path, export: dict[str, bytes]) -> None:
    """Today the header links only "Feeds"."""
    content = load_content(sample)
    sections = sorted({slug_of(a.section) for a in public(content) if a.section})
    expected = [f"/sections/{s}/" for s in sections]
    expected += ["/archive/", "/tags/", "/authors/", "/feeds/"]
    expected += ["/about/", "/republishing/", "/corrections/"]
    for path in ("", "articles/coral-nursery-cartagena/", "tags/", "archive/", "about/"):
        assert nav_links(page(export, path)) == expected, path
    for href in expected:  # and each leads somewhere
        assert urls.file_of(href.lstrip("/")) in export, href


def test_pages_are_served_listed_and_never_in_a_feed(
    sample: Path, export: dict[str, bytes]
) -> None:
    """``content/pages/<slug>.md`` at ``/<slug>/``, in the app as in the
    export, in the sitemap; no feed carries it. Today the folder is ignored."""
    about = page(export, "about/")
    assert about.xpath(".//h1")[0].text_content() == "About us"
    assert "small wire of reporters" in about.xpath(".//main")[0].text_content()
    assert about.xpath(".//link[@rel='canonical']")[0].get("href") == (
        "https://wire.example.org/about/"
    )
    sitemap = export["sitemaps/pages.xml"].decode()
    for slug in ("about", "republishing", "corrections"):
        assert f"<loc>https://wire.example.org/{slug}/</loc>" in sitemap
    for path, data in export.items():
        if path.endswith(tuple(urls.FEED_FILES.values())):
            # (an image credit of the sample links to /about/illustrations/)
            assert not re.search(rb"wire\.example\.org/about/(?![a-z])", data), path
    client = create_app({"CONTENT": str(sample), "CLOCK": lambda: NOW}).test_client()
    response = client.get("/about/")
    assert response.status_code == 200
    assert response.data == export["about/index.html"]
    assert client.get("/about").status_code == 308


def test_a_page_changes_every_pages_navigation_and_goes_with_its_file(
    sample: Path, tmp_path: Path
) -> None:
    write(sample, "pages/contact.md", "---\ntitle: Contact\norder: 9\n---\nWrite to us.\n")
    out = tmp_path / "out"
    build(sample, out, NOW)
    home = lxml_html.fromstring((out / "index.html").read_bytes())
    assert nav_links(home)[-1] == "/contact/"
    (sample / "pages" / "contact.md").unlink()
    build(sample, out, NOW)
    assert not (out / "contact").exists()
    home = lxml_html.fromstring((out / "index.html").read_bytes())
    assert "/contact/" not in nav_links(home)


def count_of(item: lxml_html.HtmlElement) -> int:
    """The count in an entry's ``(12)``."""
    return int(item.xpath(".//*[@class='count']")[0].text_content().strip("()"))


def entries(document: lxml_html.HtmlElement) -> list[tuple[str, str, int]]:
    """(href, name, count) of each entry of a /tags/ or /authors/ index."""
    found = []
    for item in document.xpath(".//ul[@class='directory']/li"):
        link = item.xpath(".//a")[0]
        found.append((link.get("href"), link.text_content(), count_of(item)))
    return found


def test_the_tags_index_lists_the_most_used_first_with_counts(
    sample: Path, export: dict[str, bytes]
) -> None:
    content = load_content(sample)
    counts: Counter[str] = Counter()
    for article in public(content):
        counts.update({t.slug for t in article.tags})
    shown = entries(page(export, "tags/"))
    assert sorted((href, count) for href, _, count in shown) == sorted(
        (f"/tags/{slug}/", count) for slug, count in counts.items()
    )
    assert [c for _, _, c in shown] == sorted(counts.values(), reverse=True)
    assert ("/tags/peru/", "Perú", counts["peru"]) in shown


def test_the_tags_index_stays_one_size(
    sample: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A wire has thousands of tags: the page lists the most used, and says
    how many more there are."""
    monkeypatch.setattr(plan, "TAG_INDEX_MOST", 3)
    out = tmp_path / "out"
    build(sample, out, NOW)
    document = lxml_html.fromstring((out / "tags" / "index.html").read_bytes())
    content = load_content(sample)
    tags = {t.slug for a in public(content) for t in a.tags}
    assert len(entries(document)) == 3
    assert f"And {len(tags) - 3} more" in document.text_content()


def test_the_authors_index_lists_every_author_with_a_story(
    sample: Path, export: dict[str, bytes]
) -> None:
    content = load_content(sample)
    counts: Counter[str] = Counter()
    for article in public(content):
        counts.update({a.id for a in article.authors if a.id})
    names = {a.id: a.name for a in content.authors}
    shown = entries(page(export, "authors/"))
    assert shown == sorted(
        ((f"/authors/{i}/", names[i], n) for i, n in counts.items()), key=lambda e: e[1]
    )


def test_the_archive_lists_months_that_lead_to_their_stories(
    sample: Path, export: dict[str, bytes]
) -> None:
    """Today /archive/ lists only archive feeds; a reader browses by month now."""
    content = load_content(sample)
    zone = content.site.zone
    months: dict[tuple[int, int], list[Article]] = {}
    for article in sorted(public(content), key=lambda a: (a.date, a.id), reverse=True):
        local = article.date.astimezone(zone)
        months.setdefault((local.year, local.month), []).append(article)
    archive = page(export, "archive/")
    links = [
        (a.get("href"), count_of(a.getparent())) for a in archive.xpath(".//ul[@class='months']//a")
    ]
    assert links == [(f"/archive/{y:04d}-{m:02d}/", len(a)) for (y, m), a in months.items()]
    for (year, month), articles in months.items():
        document = page(export, f"archive/{year:04d}-{month:02d}/")
        found = document.xpath(".//ul[@class='stories']//a")
        stories = [(a.get("href"), a.text_content()) for a in found]
        assert stories == [(f"/articles/{a.slug}/", a.title) for a in articles]
    assert page(export, "archive/2026-11/").xpath(".//h1")[0].text_content() == "November 2026"


def test_a_section_is_a_listing_with_its_page_and_feeds(
    sample: Path, export: dict[str, bytes]
) -> None:
    """Today ``section`` is only a label and /sections/science/ is 404."""
    content = load_content(sample)
    science = sorted(
        (a for a in public(content) if a.section == "Science"),
        key=lambda a: (a.date, a.id),
        reverse=True,
    )
    listing = page(export, "sections/science/")
    assert listing.xpath(".//h1")[0].text_content() == "Science"
    assert [a.get("href") for a in listing.xpath(".//ol[@class='articles']//h2/a")] == [
        f"/articles/{a.slug}/" for a in science
    ]
    feed = feedparser.parse(export["sections/science/rss.xml"])
    assert feed.bozo == 0
    assert [e.link for e in feed.entries] == [a.url for a in science]
    atom = feedparser.parse(export["sections/science/atom.xml"])
    assert atom.bozo == 0 and [e.id for e in atom.entries] == [a.id for a in science]
    assert b"https://wire.example.org/sections/science/rss.xml" in export["feeds.opml"]
    assert b"https://wire.example.org/sections/science/rss.xml" in export["feeds/index.html"]
    # The label on an article leads to its section.
    article = page(export, f"articles/{science[0].slug}/")
    assert article.xpath(".//p[@class='section']/a")[0].get("href") == "/sections/science/"


def test_the_app_serves_the_new_pages(sample: Path) -> None:
    client = create_app({"CONTENT": str(sample), "CLOCK": lambda: NOW}).test_client()
    for path in ("/tags/", "/authors/", "/archive/2026-11/", "/sections/science/", "/about/"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert response.mimetype == "text/html", path
    assert client.get("/sections/science/rss.xml").mimetype == "application/rss+xml"
