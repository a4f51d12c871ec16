"""What search engines and news aggregators read of the pages: schema.org
``NewsArticle`` JSON-LD, extracted as crawlers do (extruct) and expanded
(pyld, with a context served from here: no network), robots rules, Open Graph.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.robotparser import RobotFileParser

import extruct
import lxml.html
from pyld import jsonld

from conftest import NOW, rendered, write
from feeds import urls
from feeds.content.directory import load_content
from feeds.model import Article, Content
from feeds.outputs.headers import headers
from feeds.outputs.listings import public_articles
from feeds.outputs.render import shared_image

SCHEMA = "http://schema.org/"


def page_of(article: Article) -> str:
    return urls.file_of(urls.article(article.slug))


#: What pyld fetches for the schema.org context: a context written here (the
#: vocabulary, and which terms are links), so that nothing goes to the network.
CONTEXT = {
    "@context": {
        "@vocab": SCHEMA,
        **{term: {"@type": "@id"} for term in ("url", "license", "sameAs", "mainEntityOfPage")},
    }
}


def _loader(url: str, options: Any = None) -> dict[str, Any]:
    assert url.rstrip("/") in ("https://schema.org", "http://schema.org"), url
    return {"contextUrl": None, "documentUrl": url, "document": CONTEXT}


def extracted(page: bytes, url: str) -> list[dict[str, Any]]:
    """The JSON-LD of a page, as extruct finds it."""
    found = extruct.extract(page.decode(), base_url=url, syntaxes=["json-ld"], uniform=True)
    return list(found["json-ld"])


def expanded(item: dict[str, Any]) -> dict[str, Any]:
    """``item`` expanded (JSON-LD 1.1), with its one node's values."""
    nodes = jsonld.expand(item, {"documentLoader": _loader})
    assert len(nodes) == 1
    return dict(nodes[0])


def values(node: dict[str, Any], term: str) -> list[Any]:
    """The values of a schema.org property of an expanded node: a link's URL,
    a literal's value, a node as it is."""
    found = []
    for value in node.get(SCHEMA + term, []):
        if "@value" in value:
            found.append(value["@value"])
        elif set(value) == {"@id"}:
            found.append(value["@id"])
        else:
            found.append(value)
    return found


def test_every_article_page_describes_its_article_as_a_news_article(
    sample_content: Content, sample_files: dict[str, bytes]
) -> None:
    site = sample_content.site
    articles = public_articles(sample_content, NOW)
    assert len(articles) >= 8
    for article in articles:
        items = extracted(sample_files[page_of(article)], article.url)
        assert [item["@type"] for item in items] == ["NewsArticle"], article.path
        node = expanded(items[0])
        assert node["@type"] == [SCHEMA + "NewsArticle"]
        assert values(node, "headline") == [article.title]
        assert values(node, "description") == [article.summary]
        assert values(node, "url") == [article.url]
        assert values(node, "mainEntityOfPage") == [article.url]
        assert values(node, "inLanguage") == [article.language]
        assert values(node, "datePublished") == [article.date.isoformat()]
        assert values(node, "dateModified") == [article.modified.isoformat()]
        image = shared_image(article)
        assert values(node, "image") == ([image.url] if image else [site.logo])
        authors = values(node, "author")
        assert [values(a, "name") for a in authors] == [[a.name] for a in article.authors]
        for found, author in zip(authors, article.authors, strict=True):
            assert found["@type"] == [SCHEMA + "Person"]
            page = urls.absolute(site.base_url, urls.author(author.id)) if author.id else None
            assert values(found, "url") == [u for u in (page or author.url,) if u]
        (publisher,) = values(node, "publisher")
        assert publisher["@type"] == [SCHEMA + "Organization"]
        assert values(publisher, "name") == [site.title]
        assert values(publisher, "url") == [site.base_url]
        (logo,) = values(publisher, "logo")
        assert values(logo, "url") == [site.logo]
        licence = [article.license.url] if article.license.url else []
        assert values(node, "license") == licence
        assert values(node, "articleSection") == ([article.section] if article.section else [])
        assert values(node, "keywords") == [t.name for t in article.tags]


def test_json_ld_cannot_be_closed_by_what_an_article_says(content: Path, now: Any) -> None:
    """A title holding ``</script>`` stays inside the JSON-LD, as text."""
    write(
        content,
        "articles/script.md",
        """\
        ---
        title: "Why </script><script>alert(1)</script> & <!-- matter"
        date: 2026-10-15T09:30:00-05:00
        authors: [{name: "A </script> writer"}]
        ---
        Body.
        """,
    )
    loaded = load_content(content)
    files = rendered(loaded, now)
    article = next(a for a in loaded.articles if a.path == "articles/script.md")
    page = files[page_of(article)]
    assert b"<script>alert" not in page
    (item,) = extracted(page, article.url)
    assert item["headline"] == article.title
    assert [a["name"] for a in item["author"]] == ["A </script> writer"]


def meta(page: bytes, attribute: str, name: str) -> list[str]:
    tree = lxml.html.fromstring(page)
    return [m.get("content") for m in tree.iter("meta") if m.get(attribute) == name]


def test_pages_allow_large_image_previews_and_error_pages_are_not_indexed(
    sample_content: Content, sample_files: dict[str, bytes]
) -> None:
    article = public_articles(sample_content, NOW)[0]
    for path in (page_of(article), "index.html", "feeds/index.html", "archive/index.html"):
        assert meta(sample_files[path], "name", "robots") == ["max-image-preview:large"], path
    assert meta(sample_files[urls.NOT_FOUND], "name", "robots") == ["noindex"]
    withdrawn = [a for a in sample_content.articles if a.withdrawn and a.withdrawn.date <= NOW]
    assert withdrawn
    for article in withdrawn:
        assert meta(sample_files[page_of(article)], "name", "robots") == ["noindex"]


def test_open_graph_names_the_locale_and_the_title_once(
    sample_content: Content, sample_files: dict[str, bytes]
) -> None:
    site = sample_content.site
    locales = {"en": "en_US", "es": "es_ES", "pt": "pt_BR", "pt-BR": "pt_BR", "es-PE": "es_PE"}
    for article in public_articles(sample_content, NOW):
        page = sample_files[page_of(article)]
        assert meta(page, "property", "og:title") == [article.title]
        assert meta(page, "property", "og:site_name") == [site.title]
        assert meta(page, "property", "og:locale") == [locales[article.language]]
    assert {a.language for a in public_articles(sample_content, NOW)} >= {"en", "es"}
    for path, title in (("index.html", site.title), ("feeds/index.html", "Feeds")):
        assert meta(sample_files[path], "property", "og:title") == [title]
        assert meta(sample_files[path], "property", "og:locale") == ["en_US"]


def test_robots_txt_names_the_sitemap_and_lets_crawlers_in(
    sample_content: Content, sample_files: dict[str, bytes]
) -> None:
    site = sample_content.site
    robots = RobotFileParser()
    robots.parse(sample_files["robots.txt"].decode().splitlines())
    assert robots.site_maps() == [urls.absolute(site.base_url, urls.SITEMAP)]
    for article in public_articles(sample_content, NOW):
        assert robots.can_fetch("Googlebot-News", article.url)
    for path in ("", "feeds/", "rss.xml", "images/logo.png", "sitemap.xml"):
        assert robots.can_fetch("*", urls.absolute(site.base_url, path)), path
    # What only a token opens, and the republication pixels, are not for crawlers.
    for path in ("partners/rss.xml", "desk/", "r/0123.gif"):
        assert not robots.can_fetch("*", urls.absolute(site.base_url, path)), path


def test_robots_txt_is_served_as_text(sample_content: Content) -> None:
    found = dict(headers("robots.txt", sample_content.site))
    assert found["Content-Type"] == "text/plain; charset=utf-8"


NEWS = "{http://www.google.com/schemas/sitemap-news/0.9}"
SITEMAP = "{http://www.sitemaps.org/schemas/sitemap/0.9}"


def news_of(sample_files: dict[str, bytes]) -> list[tuple[str, str, str, str, str]]:
    """The Google News sitemap, found from robots.txt through the sitemap
    index as a crawler finds it: (loc, name, language, date, title) each."""
    from lxml import etree

    robots = RobotFileParser()
    robots.parse(sample_files["robots.txt"].decode().splitlines())
    (index_url,) = robots.site_maps() or []
    base = index_url.removesuffix(urls.SITEMAP)
    index = etree.fromstring(sample_files[index_url.removeprefix(base)])
    found = []
    for loc in index.iter(f"{SITEMAP}loc"):
        sitemap = etree.fromstring(sample_files[(loc.text or "").removeprefix(base)])
        for url in sitemap.iter(f"{SITEMAP}url"):
            news = url.find(f"{NEWS}news")
            if news is None:
                continue
            found.append(
                (
                    url.findtext(f"{SITEMAP}loc") or "",
                    news.findtext(f"{NEWS}publication/{NEWS}name") or "",
                    news.findtext(f"{NEWS}publication/{NEWS}language") or "",
                    news.findtext(f"{NEWS}publication_date") or "",
                    news.findtext(f"{NEWS}title") or "",
                )
            )
    return found


def test_the_news_sitemap_holds_the_last_two_days_stories(sample_content: Content) -> None:
    """Google News reads the stories of the last two days, newest first, from a
    sitemap in its namespace; a story leaves it two days after its date, and
    the plan expires at that moment, so the app and a watch build drop it."""
    from datetime import timedelta

    from feeds.content.directory import Loaded
    from feeds.outputs.plan import Plan

    site = sample_content.site
    public = [a for a in public_articles(sample_content, NOW) if a.canonical_url is None]
    newest = max(public, key=lambda a: a.date)
    at = newest.date + timedelta(hours=1)
    shown = sorted(
        (a for a in public_articles(sample_content, at) if a.canonical_url is None),
        key=lambda a: a.date,
        reverse=True,
    )
    expected = [
        (a.url, site.title, a.language.split("-")[0], a.date.isoformat(), a.title)
        for a in shown
        if a.date > at - timedelta(days=2)
    ]
    assert expected  # the newest story at least
    assert news_of(rendered(sample_content, at)) == expected
    # Two days after its date, the newest story leaves it, and the plan says so.
    plan = Plan(Loaded(sample_content), at)
    assert plan.expires is not None
    assert plan.expires <= newest.date + timedelta(days=2)
    later = newest.date + timedelta(days=2, seconds=1)
    assert newest.url not in [n[0] for n in news_of(rendered(sample_content, later))]


def test_a_syndicated_copy_is_not_in_the_news_sitemap(sample_content: Content) -> None:
    """A story that first appeared elsewhere (canonical_url) is news there."""
    from datetime import timedelta

    coral = next(a for a in sample_content.articles if a.slug == "coral-nursery-cartagena")
    assert coral.canonical_url
    found = news_of(rendered(sample_content, coral.date + timedelta(minutes=5)))
    assert found  # a story of two days before
    assert coral.url not in [n[0] for n in found]
