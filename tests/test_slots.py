"""Listings that stay put (issue 20): a new story changes the same few files
whatever the archive's size, counted through the build's report, and a
client walking ``prev-archive`` through a generated export recovers every
story. Expected values are read off the content files these tests write."""

from __future__ import annotations

import re
import sys
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

import feedparser
import pytest

from conftest import NOW, write
from feeds import urls
from feeds.cache import Cache
from feeds.publish.build import build
from feeds.publish.report import Report

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "bench"))
from corpus import generate  # noqa: E402

BASE = "https://bench.example.org/"
#: bench/corpus.py's sites keep the default.
FEED_ITEMS = 50
PAGE_SIZE = 20
FEEDS = tuple(urls.FEED_FILES.values())
#: The sitemaps (the index and ``sitemaps/``) and ``_headers``, bounded by the
#: `files` branch: left out of these sets, and only checked not to grow with
#: the archive (the report's whole count is the same at both sizes).
SITE_WIDE = frozenset({"sitemap.xml", "_headers"})


def front_matter(path: Path) -> tuple[list[str], list[str]]:
    """The listings a story of ``path`` is in, as this test wrote it (or
    bench/corpus.py did): tag slugs and author ids."""
    text = path.read_text(encoding="utf-8").split("\n---\n", 1)[0]
    tags = re.search(r"^tags: \[(.*)\]$", text, re.M)
    authors = re.search(r"^authors: \[(.*)\]$", text, re.M)
    assert tags and authors, path
    names = [name.strip().strip('"') for name in tags[1].split(",") if name.strip()]
    return (
        [re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") for name in names],
        [writer.strip() for writer in authors[1].split(",")],
    )


def slot_counts(root: Path) -> Counter[str]:
    """How many slots each listing has: every story is public in these sites."""
    counts: Counter[str] = Counter()
    for path in (root / "articles").glob("*.md"):
        tags, authors = front_matter(path)
        counts.update(["", *(urls.tag(t) for t in tags), *(urls.author(a) for a in authors)])
    return counts


def story(root: Path, slug: str, tags: list[str], author: str, hours_ago: float) -> Path:
    date = NOW - timedelta(hours=hours_ago)
    names = ", ".join(f'"{name}"' for name in tags)
    return write(
        root,
        f"articles/{slug}.md",
        f'---\ntitle: "New story {slug}"\ndate: {date.isoformat()}\n'
        f"authors: [{author}]\ntags: [{names}]\n---\nWhat happened today.\n",
    )


def expected_changes(counts: Counter[str], listings: list[str], slug: str) -> set[str]:
    """What a new story in ``listings`` must change, given their slot counts
    before it (SLOTS: per listing its front page and 3 subscription feeds; when
    its slot seals a page, that page and the one before; when it seals an
    archive document, that document, the one before (its next-archive, in
    RSS and Atom) and the listing's archive page). The article's page and its
    ninjs item too; and the pages that count stories: its month's (November
    2026 in Lima: these stories are dated in the two days before NOW), the
    site's archive page that lists the months, /tags/ and /authors/."""
    found = {urls.file_of(urls.article(slug)), urls.ninjs(slug)}
    found |= {"archive/2026-11/index.html", "archive/index.html"}
    found |= {"tags/index.html", "authors/index.html"}
    for listing in listings:
        after = counts[listing] + 1
        found |= {urls.file_of(listing), *(listing + name for name in FEEDS)}
        if after % PAGE_SIZE == 0:
            found.add(urls.file_of(urls.page(listing, after // PAGE_SIZE)))
            if after > PAGE_SIZE:
                found.add(urls.file_of(urls.page(listing, after // PAGE_SIZE - 1)))
        if after % FEED_ITEMS == 0:
            number = after // FEED_ITEMS
            found |= {urls.archive(listing, number) + name for name in FEEDS}
            found.add(urls.file_of(urls.archives(listing)))
            if number > 1:
                found |= {urls.archive(listing, number - 1) + n for n in ("rss.xml", "atom.xml")}
    return found


def quiet(counts: Counter[str], prefix: str, taken: int) -> list[str]:
    """The ``taken`` listings under ``prefix`` with the most slots whose next
    slot seals neither a page nor a document."""
    found = [
        listing
        for listing, count in counts.most_common()
        if listing.startswith(prefix) and (count + 1) % PAGE_SIZE and (count + 1) % FEED_ITEMS
    ]
    return found[:taken]


def built(tmp_path: Path, count: int) -> tuple[Path, Path, Cache]:
    root = generate(tmp_path / f"corpus-{count}", count)
    out, cache = tmp_path / f"out-{count}", Cache(tmp_path / f"cache-{count}.sqlite")
    build(root, out, NOW, cache)
    return root, out, cache


def changed(report: Report) -> set[str]:
    return {p for p in report.changed if p not in SITE_WIDE and not p.startswith("sitemaps/")}


def test_a_new_story_changes_as_many_files_at_n_and_10n(tmp_path: Path) -> None:
    sizes: dict[int, tuple[int, int]] = {}
    for count in (40, 400):
        root, out, cache = built(tmp_path, count)
        counts = slot_counts(root)
        tags, (author,) = quiet(counts, urls.TAGS, 2), quiet(counts, "authors/", 1)
        assert len(tags) == 2 and counts[tags[0]] > 1
        assert (counts[""] + 1) % PAGE_SIZE and (counts[""] + 1) % FEED_ITEMS
        names = [f"Tag {listing.split('-')[1].rstrip('/')}" for listing in tags]
        story(root, "new-story", names, author.split("/")[1], 1)
        report = build(root, out, NOW, cache)
        expected = expected_changes(counts, ["", *tags, author], "new-story")
        assert changed(report) == expected
        # 4 listings x (front page + 3 feeds) + the article's page and ninjs item
        assert len(expected) == 4 * 4 + 2 + 4
        sizes[count] = (len(report.changed), report.written)
    assert sizes[40] == sizes[400], sizes
    print(f"changed/written at 40 and 400 articles: {sizes}")


def test_a_story_that_seals_a_page_and_a_document_adds_the_documented_few(
    tmp_path: Path,
) -> None:
    root, out, cache = built(tmp_path, 40)
    # Bring the site to 99 slots: the next story seals page 5 and document 2.
    for n in range(59):
        story(root, f"filler-{n:02}", ["Filler"], "author-7", 48 - n * 0.5)
    build(root, out, NOW, cache)
    counts = slot_counts(root)
    assert counts[""] == 99
    (common, _), *_ = [(t, c) for t, c in counts.most_common() if t.startswith("tags/tag-")]
    story(root, "sealing", ["Filler", f"Tag {common.split('-')[1].rstrip('/')}"], "author-7", 1)
    report = build(root, out, NOW, cache)
    listings = ["", "tags/filler/", common, "authors/author-7/"]
    expected = expected_changes(counts, listings, "sealing")
    assert changed(report) == expected
    assert {"page/5/index.html", "page/4/index.html", "archive/2/atom.xml"} <= expected
    assert {"archive/1/atom.xml", "archive/1/rss.xml", "archive/index.html"} <= expected
    assert "archive/1/feed.json" not in report.changed  # sealed, and its next_url goes back
    assert len(report.changed) <= 40
    print(f"changed when sealing: {len(report.changed)} ({len(expected)} counted)")


@pytest.fixture(scope="module")
def export(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("walk")
    root = generate(folder / "corpus", 400)
    out = folder / "out"
    build(root, out, NOW, None)
    return root, out


def fetch(out: Path, url: str) -> bytes:
    assert url.startswith(BASE), url
    return (out / urls.file_of(url.removeprefix(BASE))).read_bytes()


def link(parsed: Any, rel: str) -> str | None:
    return next((item.href for item in parsed.feed.get("links", []) if item.rel == rel), None)


@pytest.mark.parametrize("listing", ["", "tags/tag-1/", "authors/author-7/"])
@pytest.mark.parametrize("name", ["atom.xml", "rss.xml"])
def test_feedparser_walking_prev_archive_recovers_every_story(
    export: tuple[Path, Path], listing: str, name: str
) -> None:
    root, out = export
    wanted = {
        f"{BASE}articles/{path.stem}/"
        for path in (root / "articles").glob("*.md")
        if not listing
        or listing
        in {*map(urls.tag, front_matter(path)[0]), *map(urls.author, front_matter(path)[1])}
    }
    url: str | None = BASE + listing + name
    seen: list[str] = []
    documents = 0
    while url is not None:
        data = fetch(out, url)
        assert len(data) <= 2_000_000, url
        parsed = feedparser.parse(data)
        assert not parsed.bozo, (url, parsed.bozo_exception)
        seen += [entry.link for entry in parsed.entries]
        documents += url != BASE + listing + name
        url = link(parsed, "prev-archive")
    assert set(seen) == wanted
    assert documents == len(wanted) // FEED_ITEMS
    if not listing:
        assert documents >= 5
    # Only the subscription feed and the newest document may share stories.
    assert len(seen) - len(set(seen)) <= FEED_ITEMS


def test_every_file_of_the_export_is_at_most_2_mb(export: tuple[Path, Path]) -> None:
    _, out = export
    sizes = {p: p.stat().st_size for p in out.rglob("*") if p.is_file()}
    largest = max(sizes, key=sizes.__getitem__)
    assert sizes[largest] <= 2_000_000, largest
