"""The updates feeds (/updates/rss.xml, atom.xml, feed.json): each article
updated or corrected since its publication, in the order of its last change,
under its own id, so that a reader sees a correction of an old story once, in
place; and what the fast path rebuilds for them."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import feedparser

from conftest import START, clean, site, site_files
from feeds.cache import Cache
from feeds.publish.build import build

FEEDS = ("rss.xml", "atom.xml", "feed.json")


def correct(path: Path, when: datetime, text: str) -> None:
    """Add a correction dated ``when`` to an article file."""
    body = path.read_text()
    if "corrections:" not in body:
        body = body.replace("---\n", "corrections:\n---\n", 2).replace(
            "corrections:\n---\n", "---\n", 1
        )
    entry = f'  - date: {when.isoformat()}\n    text: "{text}"\n'
    head, rest = body.split("corrections:\n", 1)
    path.write_text(f"{head}corrections:\n{entry}{rest}")


def update(path: Path, when: datetime) -> None:
    body = path.read_text()
    path.write_text(
        body.replace("---\n", f"updated: {when.isoformat()}\n---\n", 2).replace(
            f"updated: {when.isoformat()}\n---\n", "---\n", 1
        )
    )


def refresh(reader: Any, urls: list[str]) -> None:
    """Fetch every feed now (``update_feeds`` keeps to each feed's schedule)."""
    for url in urls:
        reader.update_feed(url)


def ids(feed: bytes) -> list[str]:
    if feed.startswith(b"{"):
        return [item["id"] for item in json.loads(feed)["items"]]
    return [e.id for e in feedparser.parse(feed).entries]


def test_reader_sees_a_corrected_old_story_once_in_place(tmp_path: Path) -> None:
    from reader import make_reader

    root = site(tmp_path / "content", 60, feed_items=50)
    now = START + timedelta(hours=61)
    cache, out = Cache(tmp_path / "cache.sqlite"), tmp_path / "out"
    build(root, out, now, cache)
    reader = make_reader(str(tmp_path / "reader.sqlite"), feed_root=str(out))
    urls = ["file:rss.xml", *(f"file:updates/{name}" for name in FEEDS)]
    for url in urls:
        reader.add_feed(url)
    refresh(reader, urls)
    assert [reader.get_entry_counts(feed=u).total for u in urls] == [50, 0, 0, 0]

    # The oldest story is long out of the site's feed: it is corrected.
    oldest = root / "articles/s000.md"
    correct(oldest, now + timedelta(minutes=5), "An earlier version misspelt the river.")
    now += timedelta(minutes=10)
    report = build(root, out, now, cache)
    assert not report.whole
    assert site_files(out) == clean(root, tmp_path / "clean1", now)
    refresh(reader, urls)
    story_id = feedparser.parse((out / "updates/atom.xml").read_bytes()).entries[0].id
    for url in urls[1:]:
        entries = list(reader.get_entries(feed=url))
        assert [e.id for e in entries] == [story_id], url
        assert entries[0].updated == now - timedelta(minutes=5), url
    assert story_id not in {e.id for e in reader.get_entries(feed="file:rss.xml")}

    # Corrected again: the same entry, changed in place, not a second one.
    correct(oldest, now + timedelta(minutes=1), "The dam's height was in feet, not metres.")
    # And a second old story updated after it.
    update(root / "articles/s003.md", now + timedelta(minutes=2))
    now += timedelta(minutes=5)
    report = build(root, out, now, cache)
    assert not report.whole
    assert site_files(out) == clean(root, tmp_path / "clean2", now)
    refresh(reader, urls)
    for url in urls[1:]:
        entries = sorted(reader.get_entries(feed=url), key=lambda e: e.updated, reverse=True)
        assert len(entries) == 2, url
        assert entries[1].id == story_id
        assert entries[1].updated == now - timedelta(minutes=4)
        text = entries[1].get_content().value if entries[1].get_content() else ""
        assert "in feet, not metres" in text and "misspelt the river" in text, url
    reader.close()
    cache.close()

    # Each story once, the latest changed first, in every format.
    for name in FEEDS:
        found = ids((out / "updates" / name).read_bytes())
        assert len(found) == 2 and found[1] == story_id, name


def test_an_updated_story_is_in_the_updates_until_it_is_withdrawn(tmp_path: Path) -> None:
    """A withdrawn story leaves the updates feeds; a story updated before its
    scheduled date enters them only when it is published."""
    root = site(tmp_path / "content", 8)
    now = START + timedelta(hours=9)
    cache, out = Cache(tmp_path / "cache.sqlite"), tmp_path / "out"
    build(root, out, now, cache)
    ahead = root / "articles/later.md"
    ahead.write_text(
        (root / "articles/s001.md")
        .read_text()
        .replace("Story 1", "Later")
        .replace(
            f"date: {(START + timedelta(hours=1)).isoformat()}",
            f"date: {(now + timedelta(hours=2)).isoformat()}",
        )
    )
    update(ahead, now + timedelta(hours=3))
    update(root / "articles/s002.md", now - timedelta(minutes=30))
    build(root, out, now, cache)
    assert len(ids((out / "updates/rss.xml").read_bytes())) == 1
    now += timedelta(hours=4)
    build(root, out, now, cache)
    assert len(ids((out / "updates/rss.xml").read_bytes())) == 2
    s002 = root / "articles/s002.md"
    s002.write_text(
        s002.read_text()
        .replace("---\n", f'withdrawn:\n  date: {now.isoformat()}\n  reason: "Wrong."\n---\n', 2)
        .replace(f'withdrawn:\n  date: {now.isoformat()}\n  reason: "Wrong."\n---\n', "---\n", 1)
    )
    report = build(root, out, now, cache)
    cache.close()
    assert not report.whole
    assert len(ids((out / "updates/rss.xml").read_bytes())) == 1
    assert site_files(out) == clean(root, tmp_path / "clean", now)


def test_the_updates_are_offered_on_feeds_and_on_the_front_page(
    tmp_path: Path,
) -> None:
    root = site(tmp_path / "content", 3)
    out = tmp_path / "out"
    build(root, out, START + timedelta(hours=4), Cache(tmp_path / "cache.sqlite"))
    base = "https://wire.example.org/updates/"
    feeds_page = (out / "feeds/index.html").read_text()
    for name in FEEDS:
        assert base + name in feeds_page
    # In the list of every feed; not in the site's list, which /feeds/
    # offers first: imported beside the site's feed, `reader` showed each
    # updated story twice (tests/test_reader_pages.py).
    opml = (out / "feeds.opml").read_text()
    assert re.findall(r'xmlUrl="([^"]+updates[^"]+)"', opml) == [base + "rss.xml"]
    opml = (out / "feeds/site.opml").read_text()
    assert re.findall(r'xmlUrl="([^"]+updates[^"]+)"', opml) == []
    front = (out / "index.html").read_text()
    found = re.findall(r'<link rel="alternate" type="[^"]+" title="[^"]*" href="([^"]+)">', front)
    assert [u for u in found if "/updates/" in u] == [base + name for name in FEEDS]
    # An article page offers the site's feeds only.
    page = (out / "articles/s000/index.html").read_text()
    assert "/updates/" not in page
