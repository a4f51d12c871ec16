"""Rights in feeds: an article with ``republish: false`` is in the public
feeds with its title, summary and link only, in no partner feed and with no
ninjs item; early-access items say their embargo in their titles.

Partners' systems ingest public feeds as they are, so "only" is checked on
every public output of the sample (its archive documents too), with the
article's own sentences, not with a type or a flag.
"""

from __future__ import annotations

import json
import re
import shutil
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import feedparser
import pytest

from conftest import NOW, REPO
from feeds import urls
from feeds.content.directory import Loaded, load_content
from feeds.outputs.plan import Access, Plan

SLUG = "interview-water-rights-lawyer"
SOURCE = REPO / "content" / "articles" / f"{SLUG}.md"
#: Sentences of its body, from the start, the interview, the book excerpt
#: and the end: none may be in any output but its own page.
SENTENCES = (
    "Marisol Chávez has spent fifteen years representing rural communities",
    "The conversation has been edited for length and clarity.",
    "Because a court case is the moment when everyone has to put their argument on paper.",
    "How old the legal ideas are.",
    "The communities are not saints, and I say so in the book.",
    "The river does not know where the district boundary runs.",
    "It arrives in the dry season with what the mountain gave it",
    "Publish every water-use licence, with its volume and its holder, in one open register.",
    "is published by Editorial Quebrada.",
)
TITLE = "a conversation with Marisol Chávez"
SUMMARY = "An interview with the author of a new book on water conflicts in the Andes"


@pytest.fixture(scope="module")
def archived(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample with three items a feed: its older stories, the interview
    among them, go to sealed archive documents."""
    root = Path(shutil.copytree(REPO / "content", tmp_path_factory.mktemp("s") / "content"))
    toml = root / "site.toml"
    toml.write_text(re.sub(r"feed_items = \d+", "feed_items = 3", toml.read_text()))
    return root


def outputs(root: Path, now: datetime, *access: Access) -> dict[str, bytes]:
    plan = Plan(Loaded(load_content(root)), now)
    return {path: plan.render(path) for path in plan.paths(*access)}


def test_the_sentences_are_the_articles_own() -> None:
    text = " ".join(SOURCE.read_text(encoding="utf-8").split())
    assert "republish: false" in text
    for sentence in SENTENCES:
        assert sentence in text


@pytest.mark.parametrize("site", ["sample", "archived"])
def test_no_public_output_but_its_page_carries_its_text(
    site: str, archived: Path, request: pytest.FixtureRequest
) -> None:
    root = REPO / "content" if site == "sample" else archived
    files = outputs(root, NOW)
    page = urls.file_of(urls.article(SLUG))
    assert all(s in files[page].decode() for s in SENTENCES)  # its own page has it all
    carrying = {
        path: [s for s in SENTENCES if s.encode() in data]
        for path, data in files.items()
        if path != page
    }
    assert {path: found for path, found in carrying.items() if found} == {}
    feeds = [p for p in files if p.endswith(tuple(urls.FEED_FILES.values()))]
    with_title = [p for p in feeds if TITLE.encode() in files[p]]
    assert "rss.xml" in with_title and "authors/ana-quispe/atom.xml" in with_title
    if site == "archived":  # it is in an archive document, title and all
        assert [p for p in with_title if urls.is_archive_document(p)]
    assert urls.ninjs(SLUG) not in files


def test_readers_still_get_its_title_summary_and_link() -> None:
    files = outputs(REPO / "content", NOW)
    article = next(a for a in load_content(REPO / "content").articles if a.slug == SLUG)
    for name in ("rss.xml", "atom.xml", "tags/law/rss.xml", "authors/ana-quispe/atom.xml"):
        parsed = feedparser.parse(files[name], sanitize_html=False)
        assert parsed.bozo == 0
        (entry,) = [e for e in parsed.entries if e.id == article.id]
        assert TITLE in entry.title and entry.summary.startswith(SUMMARY)
        assert entry.link == article.url
        assert "content" not in entry and not entry.get("enclosures")
    feed = json.loads(files["feed.json"])
    (item,) = [i for i in feed["items"] if i["id"] == article.id]
    assert item["url"] == article.url and TITLE in item["title"]
    assert item["content_text"] == item["summary"] and item["summary"].startswith(SUMMARY)
    assert "content_html" not in item and "image" not in item


def test_it_is_in_no_partner_feed_at_all() -> None:
    partners = outputs(REPO / "content", NOW, Access.TOKEN)
    assert partners and all(path.startswith(urls.PARTNERS) for path in partners)
    assert [p for p in partners if TITLE.encode() in partners[p]] == []


def test_early_access_titles_begin_with_the_embargo() -> None:
    """The scheduled story two days before its time: every early-access feed
    titles it "EMBARGOED until <time>: ", the time as the notice in its text
    writes it, in the site's zone."""
    content = load_content(REPO / "content")
    article = next(a for a in content.articles if a.slug == "water-tariff-reform-preview")
    now = article.date - timedelta(days=2)
    moment = article.date.astimezone(ZoneInfo("America/Lima"))
    prefix = f"EMBARGOED until {moment:%Y-%m-%d %H:%M} America/Lima: "
    partners = outputs(REPO / "content", now, Access.TOKEN)
    for name in ("partners/rss.xml", "partners/atom.xml"):
        parsed = feedparser.parse(partners[name], sanitize_html=False)
        assert parsed.bozo == 0
        (entry,) = [e for e in parsed.entries if e.id == article.id]
        assert entry.title == prefix + article.title
        notice = re.match(
            r'<p class="embargo"><strong>(EMBARGOED until [^—]+) —', entry.content[0].value
        )
        assert notice and prefix.startswith(notice[1])
        others = [e.title for e in parsed.entries if e.id != article.id]
        assert others and not [t for t in others if t.startswith("EMBARGOED")]
    feed = json.loads(partners["partners/feed.json"])
    (item,) = [i for i in feed["items"] if i["id"] == article.id]
    assert item["title"] == prefix + article.title
    assert article.title.encode() not in b"".join(outputs(REPO / "content", now).values())
