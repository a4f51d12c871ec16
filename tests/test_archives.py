"""Archived feeds (RFC 5005) and withdrawals (RFC 6721), as feed clients and
partners meet them: feedparser walks the archive links of a real export, the
app answers a withdrawn article's URL, and nothing public keeps its words."""

from __future__ import annotations

import json
import shutil
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import feedparser
import pytest
from lxml import etree

from conftest import NOW, PNG, free_port, gunicorn, write
from feeds import urls
from feeds.outputs.headers import read_headers_file
from feeds.publish.build import build

BASE = "https://archive.example.org/"
LIMA = ZoneInfo("America/Lima")
FH = "{http://purl.org/syndication/history/1.0}"
#: A sentence only the withdrawn article's body holds.
BODY = "The laboratory found the cadmium in every sample it tested."
REASON = "The laboratory withdrew its figures after a calibration error."
SITE = f"""\
title = "Archive Wire"
description = "A wire with a long past."
base_url = "{BASE}"
language = "en"
timezone = "America/Lima"
license = "CC-BY-4.0"
producer = "Archive Wire"
source = "Archive Wire"
feed_items = 5
"""


#: Every story's id is this and its slug.
ID = "tag:archive.example.org,2025:"
#: The withdrawn story's first publication.
WITHDRAWN_ON = datetime(2026, 2, 10, 15, 0, tzinfo=UTC)
#: What a sealed archive document may weigh at most (Google News takes 2 MB a feed).
LIMIT = 2_000_000


def article(slug: str, date: datetime, extra: str = "", tags: str = "[Rivers]") -> str:
    return (
        f'---\ntitle: "Story {slug}"\ndate: {date.isoformat()}\n'
        f'id: "{ID}{slug}"\nauthors:\n  - name: Rosa Vega\n'
        f"tags: {tags}\n{extra}---\nThe story called {slug}, told in one line.\n"
    )


def dates() -> Iterator[tuple[str, datetime]]:
    """Thirty-odd stories over fifteen months, across a new year, some months
    empty, one on the first of a month in UTC that is still the last of the
    month before in Lima."""
    start = datetime(2025, 7, 3, 14, 0, tzinfo=UTC)
    for number in range(30):
        date = start + timedelta(days=number * 13 + number % 4)
        if date.month in (12,) and date.year == 2025:
            continue  # a month with no story
        yield f"story-{number:02}", date
    yield "month-edge", datetime(2026, 3, 1, 3, 0, tzinfo=UTC)  # 28 February in Lima


def tags_of(slug: str) -> str:
    """Every other story is about lakes too."""
    return "[Rivers, Lakes]" if slug.endswith(("0", "2", "4", "6", "8")) else "[Rivers]"


def slots(tag: str | None = None) -> list[tuple[datetime, str]]:
    """``(date, id)`` of every story ever public (the withdrawn one too, never
    the draft nor the scheduled one), oldest first: the listing's slots, read
    off this test's own input. ``tag``: of that tag's listing."""
    stories = [(d, ID + slug) for slug, d in dates() if tag is None or tag in tags_of(slug)]
    if tag in (None, "Rivers"):
        stories.append((WITHDRAWN_ON, ID + "withdrawn"))
    return sorted(stories)


def sealed(tag: str | None = None) -> list[list[tuple[datetime, str]]]:
    """The slots of each sealed archive document of 5 (``feed_items``), oldest first."""
    found = slots(tag)
    return [found[start : start + 5] for start in range(0, len(found) - 4, 5)]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("archive") / "content"
    write(root, "site.toml", SITE)
    for slug, date in dates():
        write(root, f"articles/{slug}.md", article(slug, date, tags=tags_of(slug)))
    write(root, "articles/a-draft.md", article("a-draft", NOW - timedelta(days=3), "draft: true\n"))
    write(root, "articles/scheduled.md", article("scheduled", NOW + timedelta(days=2)))
    withdrawn = article(
        "withdrawn",
        WITHDRAWN_ON,
        f'withdrawn:\n  date: {(NOW - timedelta(days=5)).isoformat()}\n  reason: "{REASON}"\n'
        "image:\n  src: /images/only-here.png\n  alt: A sample jar\n",
        tags="[Rivers, Cadmium]",
    ).replace("told in one line.", f"told in one line. {BODY}")
    write(root, "articles/withdrawn.md", withdrawn)
    write(root, "images/only-here.png", PNG)
    return root


@pytest.fixture(scope="module")
def export(site: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("archive-out") / "out"
    build(site, out, NOW)
    return out


def fetch(out: Path, url: str) -> bytes:
    assert url.startswith(BASE), url
    return (out / urls.file_of(url.removeprefix(BASE))).read_bytes()


def link(parsed: Any, rel: str) -> str | None:
    return next((item.href for item in parsed.feed.get("links", []) if item.rel == rel), None)


def walk(out: Path, start: str) -> list[tuple[str, Any]]:
    """From a subscription feed back along ``prev-archive``, as a client
    recovering the whole archive does."""
    found, url = [], link(feedparser.parse(fetch(out, start)), "prev-archive")
    while url is not None:
        assert url not in [seen for seen, _ in found], "a loop in the archive"
        data = fetch(out, url)
        assert len(data) <= LIMIT, url
        parsed = feedparser.parse(data)
        assert not parsed.bozo, (url, parsed.bozo_exception)
        found.append((url, parsed))
        url = link(parsed, "prev-archive")
    return found


def public_ids(tag: str | None = None) -> set[str]:
    """What a client must recover: every story of the input but the draft,
    the scheduled and the withdrawn one."""
    return {ID + slug for slug, _ in dates() if tag is None or tag in tags_of(slug)}


@pytest.mark.parametrize("fmt", ["atom", "rss"])
@pytest.mark.parametrize("listing", ["", "tags/lakes/"])
def test_a_client_walking_the_archive_recovers_every_public_id(
    export: Path, fmt: str, listing: str
) -> None:
    tag = "Lakes" if listing else None
    subscription = BASE + listing + urls.FEED_FILES[fmt]
    current = feedparser.parse(fetch(export, subscription))
    assert len(current.entries) == 5  # feed_items
    archives = walk(export, subscription)
    documents = sealed(tag)
    assert len(archives) == len(documents) and (tag or len(documents) >= 5)
    # Numbered from the oldest, walked from the newest; no story in two documents.
    assert [url for url, _ in archives] == [
        f"{BASE}{listing}archive/{n}/{urls.FEED_FILES[fmt]}" for n in range(len(documents), 0, -1)
    ]
    ids = Counter(entry.id for _, parsed in archives for entry in parsed.entries)
    assert set(ids.values()) == {1}
    assert set(ids) | {entry.id for entry in current.entries} == public_ids(tag)
    for index, (url, parsed) in enumerate(archives):
        number = len(documents) - index
        assert link(parsed, "current") == subscription
        newer = archives[index - 1][0] if index else subscription
        assert link(parsed, "next-archive") == newer
        assert link(parsed, "hub") is None
        assert etree.fromstring(fetch(export, url)).find(f".//{FH}archive") is not None, url
        held = [id for _, id in reversed(documents[number - 1]) if id != ID + "withdrawn"]
        assert [entry.id for entry in parsed.entries] == held  # newest first


def test_json_feed_pages_back_through_the_documents(export: Path) -> None:
    ids: list[str] = []
    url: str | None = json.loads(fetch(export, BASE + "feed.json"))["next_url"]
    assert url == f"{BASE}archive/{len(sealed())}/feed.json"
    while url is not None:
        page = json.loads(fetch(export, url))
        assert "hubs" not in page
        ids += [item["id"] for item in page["items"]]
        url = page.get("next_url")
    assert sorted(ids) == sorted(public_ids())


def test_the_archive_page_lists_each_document_with_its_dates(export: Path) -> None:
    page = (export / "archive" / "index.html").read_text(encoding="utf-8")
    tree = etree.HTML(page)
    # Addresses to copy, not links: Chromium shows a feed as a wall of XML.
    assert not [a for a in tree.iter("a") if a.get("href", "").endswith((".xml", ".json"))]
    rows = tree.findall(".//table[@class='archives']/tbody/tr")
    documents = sealed()
    numbers = range(len(documents), 0, -1)  # newest first
    assert [row.get("id") for row in rows] == [f"archive-{n}" for n in numbers]
    for row, number, held in zip(rows, numbers, reversed(documents), strict=True):
        times = [t.get("datetime") for t in row.iter("time")]
        assert times == [held[0][0].isoformat(), held[-1][0].isoformat()]
        public = len([id for _, id in held if id != ID + "withdrawn"])
        cells = ["".join(cell.itertext()).strip() for cell in row]
        assert cells[0] == str(number) and cells[2] == str(public), cells
        assert [c.text for c in row.iter("code")] == [f"{BASE}archive/{number}/rss.xml"]
    # A tag's documents are listed on its own archive page, linked from its page.
    tag = (export / "tags" / "lakes" / "index.html").read_text(encoding="utf-8")
    assert 'href="/tags/lakes/archive/"' in tag
    lakes = etree.HTML((export / "tags" / "lakes" / "archive" / "index.html").read_bytes())
    codes = [c.text for c in lakes.iter("code")]
    assert codes == [
        f"{BASE}tags/lakes/archive/{n}/rss.xml" for n in range(len(sealed("Lakes")), 0, -1)
    ]


def holding(id: str) -> int:
    """The number of the site's archive document that holds the story ``id``."""
    return next(n for n, held in enumerate(sealed(), 1) if id in [i for _, i in held])


def sealed_files(out: Path) -> dict[str, bytes]:
    """Every sealed archive document and sealed listing page of an export
    (not the site archive's month pages, ``archive/<yyyy>-<mm>/``)."""
    return {
        p.relative_to(out).as_posix(): p.read_bytes()
        for pattern in ("**/archive/*/*.xml", "**/archive/*/*.json", "**/page/*/index.html")
        for p in out.glob(pattern)
    }


def test_a_new_story_leaves_sealed_documents_and_pages_byte_identical(
    site: Path, export: Path, tmp_path: Path
) -> None:
    """The new story takes the next slot of each of its listings: a sealed
    document or page is left as it was, but where that slot seals a new one,
    the newest before it, whose ``next-archive`` (or "Newer") now leads there."""
    before = sealed_files(export)
    assert "page/1/index.html" in before
    late = NOW - timedelta(hours=1)
    write(site, "articles/late-news.md", article("late-news", late, tags="[Rivers, Lakes]"))
    try:
        out = tmp_path / "out"
        build(site, out, NOW)
        after = sealed_files(out)
    finally:
        (site / "articles" / "late-news.md").unlink()
    expected, added = set(), set()
    for listing, tag in (("", None), ("tags/rivers/", "Rivers"), ("tags/lakes/", "Lakes")):
        count = len(slots(tag)) + 1
        if count % 5 == 0:  # a document sealed: the one before leads to it now
            added |= {f"{listing}archive/{count // 5}/{n}" for n in urls.FEED_FILES.values()}
            if count > 5:
                # (JSON Feed's next_url leads only to older documents.)
                newest = f"{listing}archive/{count // 5 - 1}/"
                expected |= {newest + "rss.xml", newest + "atom.xml"}
        if count % 20 == 0:
            added.add(f"{listing}page/{count // 20}/index.html")
            if count > 20:
                expected.add(f"{listing}page/{count // 20 - 1}/index.html")
    assert after.keys() == before.keys() | added
    assert {p for p in before if before[p] != after[p]} == expected


@pytest.mark.parametrize("change", ["edit", "withdrawal"])
def test_an_edit_or_withdrawal_changes_only_the_sealed_files_that_hold_the_story(
    site: Path, export: Path, tmp_path: Path, change: str
) -> None:
    before = sealed_files(export)
    documents = sealed()
    slug = documents[1][2][1].removeprefix(ID)  # a story of document 2
    path = site / "articles" / f"{slug}.md"
    original = path.read_text(encoding="utf-8")
    if change == "edit":
        path.write_text(original.replace("told in one line.", "told in one line, corrected."))
    else:
        gone = f'withdrawn:\n  date: {(NOW - timedelta(days=1)).isoformat()}\n  reason: "Wrong."\n'
        path.write_text(original.replace("---\nThe story", gone + "---\nThe story"))
    try:
        out = tmp_path / "out"
        build(site, out, NOW)
        after = sealed_files(out)
    finally:
        path.write_text(original)
    changed = {p for p in before if before[p] != after[p]}
    index = [id for _, id in slots()].index(ID + slug)
    pages = {f"page/{index // 20 + 1}/index.html"}
    lakes = [id for _, id in slots("Lakes")]
    if slug and ID + slug in lakes and len(lakes) >= 20:
        pages.add(f"tags/lakes/page/{lakes.index(ID + slug) // 20 + 1}/index.html")
    expected = {f"archive/2/{name}" for name in urls.FEED_FILES.values()} | pages
    if ID + slug in lakes:
        number = lakes.index(ID + slug) // 5 + 1
        expected |= {f"tags/lakes/archive/{number}/{name}" for name in urls.FEED_FILES.values()}
    rivers = [id for _, id in slots("Rivers")]
    number = rivers.index(ID + slug) // 5 + 1
    expected |= {f"tags/rivers/archive/{number}/{name}" for name in urls.FEED_FILES.values()}
    expected |= {f"tags/rivers/page/{rivers.index(ID + slug) // 20 + 1}/index.html"}
    assert changed == expected & before.keys()
    assert changed >= {f"archive/2/{name}" for name in urls.FEED_FILES.values()}


def test_sealed_documents_name_no_hub_and_no_hub_is_told_of_them(
    site: Path, tmp_path: Path
) -> None:
    """A sealed document has nothing to push: with a hub in site.toml, the
    subscription feeds name it (body and ``Link`` header), no document does,
    and the build reports no document among the feeds a hub is told of."""
    hub = "https://hub.example.org/"
    root = Path(shutil.copytree(site, tmp_path / "content"))
    (root / "site.toml").write_text(SITE + f'hub = "{hub}"\n')
    out = tmp_path / "out"
    report = build(root, out, NOW)
    rules = read_headers_file((out / "_headers").read_bytes())
    documents = [f"{BASE}{listing}archive/{n}/" for listing in ("", "tags/lakes/") for n in (1, 2)]
    for folder in [BASE, BASE + "tags/lakes/", *documents]:
        archived = folder in documents
        for name in ("atom.xml", "rss.xml"):
            parsed = feedparser.parse(fetch(out, folder + name))
            assert (link(parsed, "hub") == hub) is not archived, folder + name
        assert ("hubs" in json.loads(fetch(out, folder + "feed.json"))) is not archived, folder
        for name in urls.FEED_FILES.values():
            found = dict(rules["/" + folder.removeprefix(BASE) + name])
            assert ('rel="hub"' in found.get("Link", "")) is not archived, folder + name
    told = {url for url, _, _ in report.feeds}
    assert BASE + "atom.xml" in told and not {url for url in told if "/archive/" in url}


# -- withdrawals ---------------------------------------------------------------------


def every_public_file(out: Path) -> Iterator[Path]:
    for path in out.rglob("*"):
        if path.is_file() and not path.name.startswith("."):
            yield path


def test_no_public_file_keeps_the_withdrawn_body_or_its_own_image(export: Path) -> None:
    holding = [p for p in every_public_file(export) if BODY.encode() in p.read_bytes()]
    assert holding == []
    assert not (export / "images" / "only-here.png").exists()
    sitemaps = [export / "sitemap.xml", *(export / "sitemaps").iterdir()]
    assert len(sitemaps) > 2
    for sitemap in sitemaps:
        assert "/articles/withdrawn/" not in sitemap.read_text(encoding="utf-8")
    assert "/articles/withdrawn/" not in (export / "feeds.opml").read_text(encoding="utf-8")
    # The tag of no other story keeps its feeds, empty, for the 90 days a
    # withdrawal is mourned: its subscribers are not left with a 404.
    emptied = feedparser.parse((export / "tags" / "cadmium" / "atom.xml").read_bytes())
    assert emptied.entries == [] and emptied.bozo == 0
    page = (export / "tags" / "cadmium" / "index.html").read_text(encoding="utf-8")
    assert "Nothing is published here now." in page and BODY not in page


def test_a_withdrawal_is_told_by_the_withdrawals_feed_not_by_public_tombstones(
    export: Path,
) -> None:
    """The public Atom feeds carry no RFC 6721 tombstone (the W3C validator
    warns of its namespace): the story leaves them, and the withdrawals'
    feeds say when and why; JSON Feed keeps its ``_withdrawn`` extension."""
    number = next(
        n for n, held in enumerate(sealed(), 1) if (WITHDRAWN_ON, ID + "withdrawn") in held
    )
    for url in (BASE + "atom.xml", f"{BASE}archive/{number}/atom.xml"):
        body = fetch(export, url)
        assert b"tombstones" not in body and b"deleted-entry" not in body
        parsed = feedparser.parse(body)
        assert "tag:archive.example.org,2025:withdrawn" not in [e.id for e in parsed.entries]
    notices = feedparser.parse(fetch(export, BASE + "withdrawals/atom.xml")).entries
    notice = next(e for e in notices if e.id == "tag:archive.example.org,2025:withdrawn#withdrawn")
    assert REASON in notice.summary or REASON in notice.content[0].value
    assert json.loads(fetch(export, BASE + "feed.json"))["_withdrawn"][0]["reason"] == REASON


def test_an_emptied_listing_goes_after_ninety_days(site: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    build(site, out, NOW + timedelta(days=86))
    assert not (out / "tags" / "cadmium").exists()
    assert (
        b"tag:archive.example.org,2025:withdrawn" in (out / "withdrawals" / "atom.xml").read_bytes()
    )


@pytest.mark.parametrize("name", ["atom.xml", "rss.xml"])
def test_the_withdrawals_feed_tells_partners_what_to_take_down(export: Path, name: str) -> None:
    parsed = feedparser.parse(fetch(export, BASE + "withdrawals/" + name))
    assert not parsed.bozo
    (entry,) = parsed.entries
    assert entry.id == "tag:archive.example.org,2025:withdrawn#withdrawn"
    assert entry.link == BASE + "articles/withdrawn/"
    assert "Story withdrawn" in entry.title
    assert REASON in entry.summary
    assert BODY not in json.dumps(parsed)
    notices = json.loads(fetch(export, BASE + "withdrawals/feed.json"))["items"]
    assert [item["id"] for item in notices] == [entry.id]


@pytest.fixture(scope="module")
def app(site: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    root = Path(shutil.copytree(site, tmp_path_factory.mktemp("app") / "content"))
    (root / "site.toml").write_text(SITE.replace(BASE, f"http://127.0.0.1:{port}/"))
    with gunicorn(root, port, tmp_path_factory.mktemp("cache") / "c.sqlite") as base:
        yield base


@pytest.mark.slow  # gunicorn
def test_the_withdrawn_article_answers_410_with_its_notice(app: str) -> None:
    with pytest.raises(urllib.error.HTTPError) as gone:
        urllib.request.urlopen(app + "articles/withdrawn/")
    with gone.value:
        assert gone.value.code == 410
        page = gone.value.read().decode()
    assert "Story withdrawn" in page and REASON in page
    assert BODY not in page and "Republish" not in page
    with pytest.raises(urllib.error.HTTPError) as image:
        urllib.request.urlopen(app + "images/only-here.png")
    with image.value:
        assert image.value.code == 404
    number = next(
        n for n, held in enumerate(sealed(), 1) if (WITHDRAWN_ON, ID + "withdrawn") in held
    )
    with urllib.request.urlopen(f"{app}archive/{number}/atom.xml") as response:
        assert response.headers["Cache-Control"].startswith("public, max-age=3600,")
        assert BODY.encode() not in response.read()


def test_the_partners_atom_feed_keeps_the_rfc_6721_tombstone(site: Path) -> None:
    """Partners, who must take their copies down, get the tombstone in their
    early-access Atom feed (a token feed: no public validator reads it)."""
    from feeds.content.directory import Loaded, load_content
    from feeds.outputs.plan import Access, Plan

    plan = Plan(Loaded(load_content(site)), NOW)
    assert "partners/atom.xml" in plan.paths(Access.TOKEN)
    parsed = feedparser.parse(plan.render("partners/atom.xml"))
    assert parsed.feed["at_deleted-entry"] == {
        "ref": "tag:archive.example.org,2025:withdrawn",
        "when": (NOW - timedelta(days=5)).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    assert parsed.feed["at_comment"] == REASON
    for path in plan.paths():
        if path.endswith("atom.xml"):
            assert b"deleted-entry" not in plan.render(path), path
