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
from feeds.build import build
from feeds.content import load
from feeds.listings import public_articles

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


def article(slug: str, date: datetime, extra: str = "", tags: str = "[Rivers]") -> str:
    return (
        f'---\ntitle: "Story {slug}"\ndate: {date.isoformat()}\n'
        f'id: "tag:archive.example.org,2025:{slug}"\nauthors:\n  - name: Rosa Vega\n'
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
            continue  # a month with no public article: no archive document
        yield f"story-{number:02}", date
    yield "month-edge", datetime(2026, 3, 1, 3, 0, tzinfo=UTC)  # 28 February in Lima


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("archive") / "content"
    write(root, "site.toml", SITE)
    for slug, date in dates():
        write(root, f"articles/{slug}.md", article(slug, date))
    write(root, "articles/a-draft.md", article("a-draft", NOW - timedelta(days=3), "draft: true\n"))
    write(root, "articles/scheduled.md", article("scheduled", NOW + timedelta(days=2)))
    withdrawn = article(
        "withdrawn",
        datetime(2026, 2, 10, 15, 0, tzinfo=UTC),
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
        parsed = feedparser.parse(fetch(out, url))
        assert not parsed.bozo, (url, parsed.bozo_exception)
        found.append((url, parsed))
        url = link(parsed, "prev-archive")
    return found


def public_ids(site: Path) -> set[str]:
    return {a.id for a in public_articles(load(site).content, NOW)}


@pytest.mark.parametrize("fmt", ["atom", "rss"])
def test_a_client_walking_the_archive_recovers_every_public_id_once(
    export: Path, site: Path, fmt: str
) -> None:
    subscription = BASE + urls.FEED_FILES[fmt]
    assert len(feedparser.parse(fetch(export, subscription)).entries) == 5  # feed_items
    archives = walk(export, subscription)
    ids = Counter(entry.id for _, parsed in archives for entry in parsed.entries)
    assert set(ids) == public_ids(site) and set(ids.values()) == {1}
    assert len(ids) == len(list(dates()))  # neither the draft, the scheduled nor the withdrawn
    months = [url.removeprefix(BASE + "archive/").rsplit("/", 1)[0] for url, _ in archives]
    assert months == sorted(months, reverse=True) and "2025/12" not in months
    for number, (url, parsed) in enumerate(archives):
        assert link(parsed, "current") == subscription
        newer = archives[number - 1][0] if number else None
        assert link(parsed, "next-archive") == newer
        root = etree.fromstring(fetch(export, url))
        assert root.find(f".//{FH}archive") is not None, url
        month = tuple(int(part) for part in months[number].split("/"))
        for entry in parsed.entries:  # each story in the month of its date in Lima
            published = datetime(*entry.published_parsed[:6], tzinfo=UTC).astimezone(LIMA)
            assert (published.year, published.month) == month
    edge = next(p for url, p in archives if url.endswith("/2026/02/" + urls.FEED_FILES[fmt]))
    assert "tag:archive.example.org,2025:month-edge" in [e.id for e in edge.entries]


def test_json_feed_pages_back_through_the_months(export: Path, site: Path) -> None:
    ids: list[str] = []
    url: str | None = (
        BASE
        + "archive/"
        + json.loads(fetch(export, BASE + "feed.json"))["next_url"].removeprefix(BASE + "archive/")
    )
    while url is not None:
        page = json.loads(fetch(export, url))
        ids += [item["id"] for item in page["items"]]
        url = page.get("next_url")
    assert sorted(ids) == sorted(public_ids(site))


def test_the_archive_page_lists_each_month_with_its_count(export: Path) -> None:
    page = (export / "archive" / "index.html").read_text(encoding="utf-8")
    tree = etree.HTML(page)
    # Addresses to copy, not links: Chromium shows a feed as a wall of XML.
    assert not [a for a in tree.iter("a") if a.get("href", "").endswith((".xml", ".json"))]
    groups = {
        "".join(code.itertext()): "".join(code.getparent().getparent().getparent().itertext())
        for code in tree.iter("code")
    }
    months = sorted(path.parent.relative_to(export) for path in export.glob("archive/*/*/atom.xml"))
    assert months and len(groups) == 3 * len(months)
    for month in months:
        held = len(feedparser.parse((export / month / "atom.xml").read_bytes()).entries)
        for name in ("rss.xml", "atom.xml", "feed.json"):
            text = groups[f"{BASE}{month}/{name}"]
            assert f"{held} article" in text, (month, text)


def test_a_new_story_leaves_older_months_byte_identical(
    site: Path, export: Path, tmp_path: Path
) -> None:
    before = {p.relative_to(export): p.read_bytes() for p in export.glob("archive/*/*/*")}
    newest = max(before, key=lambda p: p.parts[1:3])
    year, month = int(newest.parts[1]), int(newest.parts[2])
    late = datetime(year, month, 28, 12, tzinfo=LIMA)
    write(site, "articles/late-news.md", article("late-news", late))
    try:
        out = tmp_path / "out"
        build(site, out, NOW)
        after = {p.relative_to(out): p.read_bytes() for p in out.glob("archive/*/*/*")}
    finally:
        (site / "articles" / "late-news.md").unlink()
    assert after.keys() == before.keys()
    changed = {path.parent for path in before if before[path] != after[path]}
    assert changed == {newest.parent}


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
    # The tag of no other story keeps its feeds while the tombstone lasts:
    # its subscribers learn of the withdrawal too.
    emptied = feedparser.parse((export / "tags" / "cadmium" / "atom.xml").read_bytes())
    assert emptied.entries == []
    assert emptied.feed["at_deleted-entry"]["ref"] == "tag:archive.example.org,2025:withdrawn"
    page = (export / "tags" / "cadmium" / "index.html").read_text(encoding="utf-8")
    assert "Nothing is published here now." in page and BODY not in page


def test_feedparser_sees_the_tombstone_in_atom(export: Path) -> None:
    for url in (BASE + "atom.xml", BASE + "archive/2026/02/atom.xml"):
        parsed = feedparser.parse(fetch(export, url))
        assert parsed.feed["at_deleted-entry"] == {
            "ref": "tag:archive.example.org,2025:withdrawn",
            "when": (NOW - timedelta(days=5)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
        assert parsed.feed["at_comment"] == REASON
        assert "tag:archive.example.org,2025:withdrawn" not in [e.id for e in parsed.entries]
    assert json.loads(fetch(export, BASE + "feed.json"))["_withdrawn"][0]["reason"] == REASON


def test_the_tombstone_goes_after_ninety_days(site: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    build(site, out, NOW + timedelta(days=86))
    assert b"deleted-entry" not in (out / "atom.xml").read_bytes()
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
    with urllib.request.urlopen(app + "archive/2026/02/atom.xml") as response:
        assert "max-age=86400" in response.headers["Cache-Control"]
        assert BODY.encode() not in response.read()
