"""Every feed of the sample site, read back the way readers read it.

feedparser is the reader; each feed is compared field by field with the
articles it was built from. lxml checks what feedparser does not expose.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

import feedparser
import pytest
from lxml import etree

from conftest import NOW, rendered, words_of
from feeds.content.directory import load_content
from feeds.model import Article, Content
from feeds.outputs.listings import TOMBSTONE_DAYS, Listing, is_public, listings
from feeds.outputs.render import byline, shared_image
from feeds.urls import tag_slug

REPO = Path(__file__).resolve().parent.parent
ATOM = "{http://www.w3.org/2005/Atom}"
MEDIA = "{http://search.yahoo.com/mrss/}"
CC = "{http://backend.userland.com/creativeCommonsRssModule}"


def all_listings() -> list[Listing]:
    return list(listings(load_content(REPO / "content"), NOW))


LISTINGS = all_listings()
IDS = [listing.path or "site" for listing in LISTINGS]


def own_section(article: Article) -> list[str]:
    """The section as a category of its own: not when a tag says it already."""
    tags = {t.name.casefold() for t in article.tags}
    return [article.section] if article.section and article.section.casefold() not in tags else []


def parse(data: bytes) -> Any:
    parsed = feedparser.parse(data, sanitize_html=False, resolve_relative_uris=False)
    assert parsed.bozo == 0, parsed.get("bozo_exception")
    return parsed


def utc(text: str) -> datetime:
    """An RFC 822 or RFC 3339 date from a feed, as aware UTC."""
    if re.match(r"^\d{4}-", text):
        return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)
    return parsedate_to_datetime(text).astimezone(UTC)


def of_listing(article: Article, path: str) -> bool:
    """Is ``article`` one of the listing at ``path`` (the site's, a tag's, an
    author's, a section's: its slug is made as a tag's)?"""
    if path.startswith("sections/"):
        return article.section is not None and path == f"sections/{tag_slug(article.section)}/"
    if path.startswith("tags/"):
        return any(f"tags/{tag.slug}/" == path for tag in article.tags)
    if path.startswith("authors/"):
        return any(f"authors/{author.id}/" == path for author in article.authors)
    return path == ""


def expected_articles(content: Content, path: str) -> list[Article]:
    """What the feeds of the listing at ``path`` carry, worked out here from the
    articles' own fields, not by :func:`feeds.outputs.listings.listings`: neither drafts,
    nor dated after NOW, nor withdrawn by then; newest first, ties by id; at
    most ``feed_items``."""
    found = [
        a
        for a in content.articles
        if not a.draft
        and a.date <= NOW
        and (a.withdrawn is None or a.withdrawn.date > NOW)
        and of_listing(a, path)
    ]
    found.sort(key=lambda a: a.id)
    found.sort(key=lambda a: a.date, reverse=True)
    assert found, f"no articles for {path!r}: the test would prove nothing"
    return found[: content.site.feed_items]


def feed_date(content: Content, path: str) -> datetime:
    """A feed's date: its newest change, a withdrawal of the last TOMBSTONE_DAYS among them."""
    changes = [a.modified for a in expected_articles(content, path)]
    withdrawn = [
        a.withdrawn.date
        for a in content.articles
        if a.withdrawn is not None
        and not a.draft
        and a.withdrawn.date <= NOW < a.withdrawn.date + TOMBSTONE_DAYS
        and of_listing(a, path)
    ]
    return max(changes + withdrawn)


def attribution(article: Article) -> str:
    """The attribution line, linking the canonical URL, in the article's language."""
    canonical = article.canonical_url or article.url
    words = words_of(article, load_content(REPO / "content"))
    link = f'<a href="{canonical}">{article.producer}</a>'
    return words.html("This article was produced by %(producer)s.", producer=link)


def test_listings_cover_the_site_every_public_tag_and_author(sample_content: Content) -> None:
    paths = [listing.path for listing in listings(sample_content, NOW)]
    assert paths[0] == ""
    assert "tags/peru/" in paths and "tags/climate-change/" in paths
    assert "authors/ana-quispe/" in paths
    # Tags used only by the draft or the scheduled article have no listing yet.
    assert not {"tags/tariffs/", "tags/health/", "tags/solar-energy/"} & set(paths)


@pytest.mark.parametrize("listing", LISTINGS, ids=IDS)
def test_rss_matches_the_articles(
    listing: Listing, sample_content: Content, sample_files: dict[str, bytes]
) -> None:
    site = sample_content.site
    feed = parse(sample_files[listing.path + "rss.xml"])
    articles = expected_articles(sample_content, listing.path)
    assert feed.version == "rss20"
    assert feed.feed.title == listing.title
    assert feed.feed.link == listing.page_url(site)  # the page, never the feed
    self_links = [link.href for link in feed.feed.links if link.rel == "self"]
    assert self_links == [listing.feed_url(site, "rss")]
    assert utc(feed.feed.updated) == feed_date(sample_content, listing.path)
    assert [e.id for e in feed.entries] == [a.id for a in articles]
    for entry, article in zip(feed.entries, articles, strict=True):
        assert entry.title == article.title
        assert entry.link == article.url
        assert entry.guidislink is (article.id == article.url)
        assert utc(entry.published) == article.date
        assert utc(entry.updated) == article.modified
        assert entry.author == byline(article, words_of(article, sample_content))
        # Clients that read summary_detail (feedparser's) must see the summary,
        # never the lead image's caption; the full text is the one content.
        assert entry.summary == article.summary
        assert entry.summary_detail.value == article.summary
        assert entry.summary_detail.type == "text/html"
        if article.republish:
            assert len(entry.content) == 1
            html = entry.content[0].value
            assert article.body_html in html
            assert attribution(article) in html
        else:  # not for republishing: title, summary and link only
            assert "content" not in entry
        assert [t.term for t in entry.tags] == [t.name for t in article.tags] + own_section(article)
        if image := shared_image(article):
            assert entry.media_content[0]["url"] == image.url
            assert entry.get("credit") == image.credit
            assert entry.enclosures[0].href == image.url
        else:
            assert "media_content" not in entry and not entry.enclosures


@pytest.mark.parametrize("listing", LISTINGS, ids=IDS)
def test_atom_matches_the_articles(
    listing: Listing, sample_content: Content, sample_files: dict[str, bytes]
) -> None:
    site = sample_content.site
    feed = parse(sample_files[listing.path + "atom.xml"])
    articles = expected_articles(sample_content, listing.path)
    assert feed.version == "atom10"
    assert feed.feed.title == listing.title
    links = {link.rel: link.href for link in feed.feed.links}
    expected = {"self": listing.feed_url(site, "atom"), "alternate": listing.page_url(site)}
    # A subscription feed leads to its newest sealed archive document (RFC 5005):
    # the sample has fewer stories than feed_items, so none is sealed yet
    # (tests/test_archives.py walks a site that has them).
    assert len(sample_content.articles) < site.feed_items
    assert links == expected
    assert utc(feed.feed.updated) == feed_date(sample_content, listing.path)
    assert [e.id for e in feed.entries] == [a.id for a in articles]
    for entry, article in zip(feed.entries, articles, strict=True):
        assert entry.title == article.title
        assert entry.link == article.url
        assert utc(entry.published) == article.date
        assert utc(entry.updated) == article.modified
        assert [a.name for a in entry.authors] == [a.name for a in article.authors]
        assert [a.get("href") for a in entry.authors] == [a.url for a in article.authors]
        assert entry.summary == article.summary
        if article.republish:
            assert article.body_html in entry.content[0].value
        else:  # not for republishing: title, summary and link only
            assert "content" not in entry
        assert [(t.term, t.label) for t in entry.tags] == [
            (t.name, t.name) for t in article.tags
        ] + [(s, s) for s in own_section(article)]
        by_rel = {link.rel: link for link in entry.links}
        assert by_rel["alternate"].href == article.url
        assert by_rel.get("license", {}).get("href") == article.license.url
        if image := shared_image(article):
            enclosure = by_rel["enclosure"]
            assert enclosure.href == image.url
            assert enclosure.type == "image/png"
            assert int(enclosure.length) == image.length
        else:
            assert "enclosure" not in by_rel


def test_feeds_carry_the_lead_image_caption_and_credit(
    sample_content: Content, sample_files: dict[str, bytes]
) -> None:
    rss = etree.fromstring(sample_files["rss.xml"])
    checked = 0
    for item in rss.iter("item"):
        article = next(a for a in sample_content.articles if a.id == item.findtext("guid"))
        media = item.find(f"{MEDIA}content")
        if shared_image(article) is None:
            assert media is None
            continue
        assert article.image is not None
        # Never a media:description: feedparser reads it as the item's summary.
        assert media.find(f"{MEDIA}description") is None
        assert media.findtext(f"{MEDIA}title") == article.image.caption
        assert media.findtext(f"{MEDIA}credit") == article.image.credit
        html = item.findtext("{http://purl.org/rss/1.0/modules/content/}encoded")
        assert f'<img src="{article.image.url}"' in html
        assert article.image.caption in html.replace("&#x27;", "'")
        checked += 1
    assert checked >= 5


def test_licences_in_rss(sample_content: Content, sample_files: dict[str, bytes]) -> None:
    rss = etree.fromstring(sample_files["rss.xml"])
    for item in rss.iter("item"):
        article = next(a for a in sample_content.articles if a.id == item.findtext("guid"))
        licence = item.findtext(f"{CC}license")
        if article.license.id == "all-rights-reserved":
            assert licence is None
        else:
            assert licence == article.license.url


def test_no_rss_author_element_ever(sample_files: dict[str, bytes]) -> None:
    for path, data in sample_files.items():
        if path.endswith("rss.xml"):
            assert not list(etree.fromstring(data).iter("author")), path


def test_every_author_is_in_the_byline(
    sample_content: Content, sample_files: dict[str, bytes]
) -> None:
    feed = parse(sample_files["rss.xml"])
    three = next(e for e in feed.entries if e.author.count(",") == 1)
    assert three.author == "Lucía Mamani, Tomás Ferreira and Ana Quispe"


def test_private_email_never_published(sample_files: dict[str, bytes]) -> None:
    for path, data in sample_files.items():
        assert b"ana.quispe@" not in data, path


def test_article_language_is_marked_where_it_differs(
    sample_content: Content, sample_files: dict[str, bytes]
) -> None:
    spanish = next(a for a in sample_content.articles if a.language == "es")
    atom = etree.fromstring(sample_files["atom.xml"])
    langs = {
        entry.findtext(f"{ATOM}id"): entry.get("{http://www.w3.org/XML/1998/namespace}lang")
        for entry in atom.iter(f"{ATOM}entry")
    }
    assert langs.pop(spanish.id) == "es"
    assert set(langs.values()) == {None}
    assert atom.get("{http://www.w3.org/XML/1998/namespace}lang") == "en"
    items = json.loads(sample_files["feed.json"])["items"]
    assert [i.get("language") for i in items if i["id"] == spanish.id] == ["es"]
    assert all("language" not in i for i in items if i["id"] != spanish.id)
    rss = parse(sample_files["rss.xml"])
    assert [e.get("language") for e in rss.entries if e.id == spanish.id] == ["es"]


def test_every_feed_opens_with_the_way_to_the_feeds_page(sample_files: dict[str, bytes]) -> None:
    """No browser applied the XSL stylesheet the feeds named (Chromium shows
    them as text, Firefox saves them): they open with a comment saying where
    people learn to follow them, in the site's language."""
    for path, data in sample_files.items():
        if path.endswith(("rss.xml", "atom.xml")):
            etree.fromstring(data)
            assert data.startswith(
                b"<?xml version='1.0' encoding='UTF-8'?>\n"
                b"<!-- This is a web feed, for feed readers. How to follow it:"
                b" https://wire.example.org/feeds/ -->\n"
            ), path
            assert b"xml-stylesheet" not in data


def is_rfc3339(text: str) -> bool:
    return bool(re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$", text))


@pytest.mark.parametrize("listing", LISTINGS, ids=IDS)
def test_json_feed_follows_the_spec(
    listing: Listing, sample_content: Content, sample_files: dict[str, bytes]
) -> None:
    site = sample_content.site
    feed = json.loads(sample_files[listing.path + "feed.json"])
    assert feed["version"] == "https://jsonfeed.org/version/1.1"
    assert isinstance(feed["title"], str) and feed["title"] == listing.title
    assert feed["home_page_url"] == listing.page_url(site)
    assert feed["feed_url"] == listing.feed_url(site, "json")
    assert isinstance(feed["items"], list)
    assert "author" not in feed  # 1.0's singular field is deprecated in 1.1
    articles = expected_articles(sample_content, listing.path)
    assert [item["id"] for item in feed["items"]] == [a.id for a in articles]
    for item, article in zip(feed["items"], articles, strict=True):
        assert isinstance(item["id"], str)
        if article.republish:
            assert isinstance(item["content_html"], str)
            assert attribution(article) in item["content_html"]
        else:  # not for republishing: title, summary and link only
            assert "content_html" not in item and item["content_text"] == article.summary
        assert item["url"] == article.url
        assert item["title"] == article.title
        assert item["summary"] == article.summary
        assert is_rfc3339(item["date_published"]) and is_rfc3339(item["date_modified"])
        assert utc(item["date_published"]) == article.date
        assert utc(item["date_modified"]) == article.modified
        assert item["authors"] == [
            {"name": a.name, **({"url": a.url} if a.url else {})} for a in article.authors
        ]
        assert all(isinstance(tag, str) for tag in item.get("tags", []))
        assert item["_license"] == {
            "id": article.license.id,
            "name": article.license.name,
            "url": article.license.url,
        }
        assert item.get("external_url") == article.canonical_url
        if shared_image(article) and article.image:
            assert item["image"] == article.image.url
            assert item["_image"]["caption"] == article.image.caption
            assert item["_image"]["credit"] == article.image.credit


def test_opml_lists_every_feed(sample_content: Content, sample_files: dict[str, bytes]) -> None:
    """One feed per listing, in RSS (newsboat -i subscribed to every format).
    /feeds.opml holds them all, the groups nested; the list /feeds/ offers
    first holds the site's feed and the withdrawals' (not the updates':
    `reader` showed each updated story twice); the tags' and the authors'
    are lists of their own, each one nested group, tags most used first: a
    reader imports every feed of a list, and a story is in the site's feed
    and in each of its tags' and authors'."""
    base = sample_content.site.base_url
    every = listings(sample_content, NOW)
    tags = sorted((x for x in every if x.kind == "tag"), key=lambda x: (-len(x.slots), x.path))
    authors = [x for x in every if x.kind == "author"]
    sections = [x for x in every if x.kind == "section"]
    # The list of every feed: one per listing (DESIGN), the groups nested.
    found = etree.fromstring(sample_files["feeds.opml"]).findall("body/outline")
    top = [o.get("xmlUrl") for o in found if o.get("xmlUrl")]
    assert top == [base + "rss.xml", base + "updates/rss.xml", base + "withdrawals/rss.xml"]
    nested = {o.get("text"): [x.get("xmlUrl") for x in o] for o in found if not o.get("xmlUrl")}
    assert nested == {
        heading: [x.feed_url(sample_content.site, "rss") for x in group]
        for heading, group in (("Tags", tags), ("Authors", authors), ("Sections", sections))
        if group
    }
    # The list /feeds/ offers first: the site's feed and the withdrawals'.
    outlines = etree.fromstring(sample_files["feeds/site.opml"]).findall("body/outline")
    assert [o.get("xmlUrl") for o in outlines] == [base + "rss.xml", base + "withdrawals/rss.xml"]
    assert {o.get("type") for o in outlines} == {"rss"}
    assert all(o.get("htmlUrl") and o.get("title") for o in outlines)
    for path, heading, group in (
        ("feeds/tags.opml", "Tags", tags),
        ("feeds/authors.opml", "Authors", authors),
    ):
        (nest,) = etree.fromstring(sample_files[path]).findall("body/outline")
        assert nest.get("text") == heading and nest.get("xmlUrl") is None
        assert [o.get("xmlUrl") for o in nest] == [
            x.feed_url(sample_content.site, "rss") for x in group
        ]
        assert {o.get("type") for o in nest} == {"rss"}
    assert len({len(x.slots) for x in tags}) > 1  # (the order is by use, not by name)


def test_feeds_are_capped_newest_first(sample_content: Content) -> None:
    from dataclasses import replace

    small = replace(sample_content, site=replace(sample_content.site, feed_items=3))
    files = rendered(small, NOW)
    public = sorted((a for a in sample_content.articles if is_public(a, NOW)), key=lambda a: a.date)
    newest3 = [a.id for a in reversed(public[-3:])]
    assert [e.id for e in parse(files["rss.xml"]).entries] == newest3
    assert [e.id for e in parse(files["atom.xml"]).entries] == newest3
    assert [i["id"] for i in json.loads(files["feed.json"])["items"]] == newest3


def test_scheduled_article_appears_when_its_time_comes(sample_content: Content) -> None:
    scheduled = next(a for a in sample_content.articles if not a.draft and a.date > NOW)
    before = rendered(sample_content, scheduled.date.replace(second=0) - (scheduled.date - NOW) / 2)
    after = rendered(sample_content, scheduled.date)
    assert scheduled.id.encode() not in before["rss.xml"]
    assert parse(after["rss.xml"]).entries[0].id == scheduled.id
    assert "tags/tariffs/rss.xml" in after and "tags/tariffs/rss.xml" not in before


def hidden(sample_content: Content) -> list[Article]:
    """The drafts and the scheduled articles (a withdrawn one leaves a tombstone)."""
    return [a for a in sample_content.articles if not is_public(a, NOW) and a.withdrawn is None]


def test_no_trace_of_drafts_or_scheduled_articles(
    sample_content: Content, sample_files: dict[str, bytes]
) -> None:
    secrets = hidden(sample_content)
    assert len(secrets) == 2
    for path, data in sample_files.items():
        if path.endswith(".ico"):
            continue
        text = data.decode("utf-8")
        for article in secrets:
            for trace in (article.id, article.url, article.title, article.slug):
                assert trace not in text, (path, trace)
        for tag in ("tariffs", "solar-energy", "Solar Energy"):
            assert tag not in path and f"/tags/{tag}/" not in text, (path, tag)


def test_rights_year_is_the_same_in_atom_and_the_footer(sample_content: Content) -> None:
    from dataclasses import replace

    from feeds.licenses import LICENSES

    # 20:00 on New Year's Eve in Lima is already the next year in UTC.
    eve = datetime(2026, 1, 1, 1, 0, tzinfo=UTC)
    article = replace(
        sample_content.articles[0],
        date=eve,
        updated=None,
        draft=False,
        license=LICENSES["all-rights-reserved"],
    )
    files = rendered(replace(sample_content, articles=(article,)), NOW)
    entry = etree.fromstring(files["atom.xml"]).find(f"{ATOM}entry")
    notice = words_of(article, sample_content)(
        "© %(year)s %(producer)s. All rights reserved.", year=2025, producer=article.producer
    )
    assert entry.findtext(f"{ATOM}rights") == notice
    assert notice in entry.findtext(f"{ATOM}content")


def test_a_tag_is_named_as_public_articles_write_it(sample_content: Content) -> None:
    from feeds.content.validate import unify_tags

    public = next(a for a in sample_content.articles if is_public(a, NOW) and a.tags)
    tag = public.tags[0]
    shouting = replace_tags(public, tag.name.upper(), draft=True, path="articles/zz.md")
    unified = unify_tags([shouting, public])
    assert unified[0].tags[0].name == tag.name


def replace_tags(article: Article, name: str, **changes: Any) -> Article:
    from dataclasses import replace

    from feeds.model import Tag

    return replace(article, tags=(Tag(name, article.tags[0].slug),), **changes)


def test_a_summary_holds_only_what_readers_see_of_the_body(content: Path) -> None:
    """The generated summary is the first paragraph as sanitised: the text of a
    removed <script> must not reach RSS, Atom or JSON summaries."""
    article = content / "articles/good.md"
    text = article.read_text()
    article.write_text(
        text.replace(
            "The city's reservoirs hold a third of their usual water.",
            'An inline script <script>alert("body")</script> and an image '
            "<img src=x onerror=alert(1)>.",
        )
    )
    files = rendered(load_content(content), NOW)
    rss = parse(files["rss.xml"]).entries[0]
    atom = parse(files["atom.xml"]).entries[0]
    item = json.loads(files["feed.json"])["items"][0]
    for summary in (rss.summary, atom.summary, item["summary"]):
        assert summary == "An inline script and an image ."


def test_each_tag_of_an_entry_costs_the_same(sample_content: Content) -> None:
    """feedgen rebuilds an entry's RSS categories on every call that adds one,
    so an entry cost the square of its tags in each of its feeds (10,000 tags:
    rss.xml and atom.xml took 47 s; validation caps real articles at 50)."""
    import time
    from dataclasses import replace

    from feeds.content.directory import Loaded
    from feeds.model import Tag
    from feeds.outputs.plan import Plan

    article = next(a for a in sample_content.articles if is_public(a, NOW))
    many = tuple(Tag(f"Tag {n}", f"tag-{n}") for n in range(10_000))
    articles = tuple(replace(a, tags=many) if a is article else a for a in sample_content.articles)
    plan = Plan(Loaded(replace(sample_content, articles=articles)), NOW)
    started = time.perf_counter()
    rss, atom = plan.render("rss.xml"), plan.render("atom.xml")
    assert time.perf_counter() - started < 10  # far above the 0.2 s it takes
    item = next(i for i in etree.fromstring(rss).iter("item") if i.findtext("guid") == article.id)
    entry = next(
        e
        for e in etree.fromstring(atom).iter(f"{ATOM}entry")
        if e.findtext(f"{ATOM}id") == article.id
    )
    expected = [t.name for t in many] + own_section(replace(article, tags=many))
    assert [c.text for c in item.iter("category")] == expected
    assert [c.get("term") for c in entry.iter(f"{ATOM}category")] == expected


def test_a_section_that_is_also_a_tag_is_one_category(
    sample_content: Content, sample_files: dict[str, bytes]
) -> None:
    """The coral story's section and one of its tags are both "Science": feed
    readers showed it twice."""
    coral = next(a for a in sample_content.articles if a.slug == "coral-nursery-cartagena")
    assert coral.section == "Science" and "Science" in [t.name for t in coral.tags]
    for name in ("rss.xml", "atom.xml"):
        entry = next(e for e in parse(sample_files[name]).entries if e.id == coral.id)
        terms = [t.term for t in entry.tags]
        assert terms.count("Science") == 1, name
        assert sorted(terms) == sorted(t.name for t in coral.tags), name
    item = next(i for i in json.loads(sample_files["feed.json"])["items"] if i["id"] == coral.id)
    assert item["tags"].count("Science") == 1
