"""The sitemap index and the sitemaps it names: every public article exactly
once, in chunks of the site's slot sequence sealed when full, so that a new
story changes the newest chunk and the index and nothing else, whatever the
archive's size."""

from __future__ import annotations

import math
import shutil
import sys
from datetime import datetime
from pathlib import Path

import pytest
from lxml import etree

from conftest import NOW, write
from feeds.cache import Cache
from feeds.content.directory import load_content
from feeds.outputs import plan as planning
from feeds.outputs.headers import read_headers_file
from feeds.outputs.render import rfc3339
from feeds.publish.build import build

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "bench"))
import corpus  # noqa: E402

NS = {"s": "http://www.sitemaps.org/schemas/sitemap/0.9"}
BASE = "https://wire.example.org/"
#: What sitemaps.org allows a file.
MOST_URLS = 50_000
MOST_BYTES = 2_000_000  # well under its 50 MB: what the issue allows any file


def read_sitemaps(
    out: Path, base: str
) -> tuple[list[tuple[str, str | None]], dict[str, list[str]]]:
    """The index's entries (file, lastmod) and, for each sitemap it names, its URLs."""
    index = etree.parse(str(out / "sitemap.xml")).getroot()
    assert index.tag == f"{{{NS['s']}}}sitemapindex"
    entries, found = [], {}
    for item in index.findall("s:sitemap", NS):
        loc = item.findtext("s:loc", namespaces=NS)
        assert loc is not None and loc.startswith(base + "sitemaps/"), loc
        file = loc.removeprefix(base)
        entries.append((file, item.findtext("s:lastmod", namespaces=NS)))
        assert (out / file).stat().st_size < MOST_BYTES
        root = etree.parse(str(out / file)).getroot()
        assert root.tag == f"{{{NS['s']}}}urlset", file
        found[file] = [u.findtext("s:loc", namespaces=NS) or "" for u in root.findall("s:url", NS)]
        assert 0 < len(found[file]) <= MOST_URLS, file
    assert (out / "sitemap.xml").stat().st_size < MOST_BYTES
    assert sorted(p.relative_to(out).as_posix() for p in (out / "sitemaps").iterdir()) == sorted(
        found
    )
    return entries, found


def articles_listed(found: dict[str, list[str]], base: str) -> list[str]:
    return [url for urls in found.values() for url in urls if url.startswith(base + "articles/")]


def sitemap_files(changed: tuple[str, ...]) -> set[str]:
    return {p for p in changed if p.startswith("sitemap")}


NEW_STORY = (
    "---\ntitle: A new story\ndate: 2016-01-25T10:00:00Z\nauthors: [author-1]\n"
    'tags: ["Tag 1"]\n---\nNew text.\n'
)


def test_a_new_story_changes_the_newest_sitemap_and_the_index_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """At N and 10N articles: the same two files, the index and the newest
    chunk; ``_headers`` not at all, and the same rules at both sizes."""
    # Few authors, so that at both sizes every kind of page exists (an
    # author's second page included), and _headers has the same rules.
    monkeypatch.setattr(corpus, "AUTHORS", 4)
    base = "https://bench.example.org/"
    rules = {}
    for count in (100, 1_000):
        root = corpus.generate(tmp_path / f"content-{count}", count)
        out = tmp_path / f"out-{count}"
        cache = Cache(tmp_path / f"cache-{count}.sqlite")
        build(root, out, NOW, cache)
        rules[count] = (out / "_headers").read_bytes()
        write(root, "articles/new-story.md", NEW_STORY)
        report = build(root, out, NOW, cache)

        newest = f"sitemaps/articles-{math.ceil((count + 1) / 1000)}.xml"
        assert sitemap_files(report.changed) == {"sitemap.xml", newest}, count
        assert "_headers" not in report.changed
        assert (out / "_headers").read_bytes() == rules[count]
        entries, found = read_sitemaps(out, base)
        slugs = [f"story-{n:06}" for n in range(count)] + ["new-story"]
        assert articles_listed(found, base) == [f"{base}articles/{slug}/" for slug in slugs]
        assert entries[-1] == (newest, "2016-01-25T10:00:00Z")
        pages = found["sitemaps/pages.xml"]
        assert f"{base}tags/tag-1/" in pages and f"{base}authors/author-1/" in pages
        assert not [url for url in pages if "/page/" in url or "/articles/" in url]
    # The same rules at both sizes, but for a kind of file that only the
    # larger has (with sealed archive documents, an author's may be one):
    # never a rule for one file more.
    small, large = (set(read_headers_file(rules[n]).rules) for n in (100, 1_000))
    assert small <= large
    assert [path for path, _ in large - small if ":" not in path and "*" not in path] == []
    assert "/authors/:author/page/:n1/" in {path for path, _ in small}


def slots(root: Path, now: datetime) -> list[tuple[str, str, datetime, bool]]:
    """The sample's slot sequence as the test reads it: (slug, url, last
    change, withdrawn) of every article public at some time by ``now``,
    oldest first by date, then id."""
    content = load_content(root)
    public = [a for a in content.articles if not a.draft and a.date <= now]
    found = []
    for article in sorted(public, key=lambda a: (a.date, a.id)):
        gone = article.withdrawn is not None and article.withdrawn.date <= now
        changed = article.withdrawn.date if gone and article.withdrawn else article.modified
        found.append((article.slug, article.url, changed, gone))
    return found


@pytest.fixture
def sample(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(planning, "SITEMAP_ARTICLES", 3)
    return Path(shutil.copytree(REPO / "content", tmp_path / "content"))


def check(root: Path, out: Path) -> dict[str, list[str]]:
    """Each chunk lists the public articles of its three slots, the index
    dates each chunk by the last change of one of its slots."""
    entries, found = read_sitemaps(out, BASE)
    # The Google News sitemap lists the last two days again: tests/test_search.py.
    entries = [e for e in entries if e[0] != "sitemaps/news.xml"]
    found.pop("sitemaps/news.xml", None)
    expected = slots(root, NOW)
    chunks = [expected[i : i + 3] for i in range(0, len(expected), 3)]
    assert entries == [("sitemaps/pages.xml", None)] + [
        (f"sitemaps/articles-{n}.xml", rfc3339(max(s[2] for s in chunk)))
        for n, chunk in enumerate(chunks, 1)
        if any(not s[3] for s in chunk)
    ]
    for n, chunk in enumerate(chunks, 1):
        shown = [s[1] for s in chunk if not s[3]]
        assert found.get(f"sitemaps/articles-{n}.xml", []) == shown
    assert sorted(articles_listed(found, BASE)) == sorted(s[1] for s in expected if not s[3])
    return found


def test_each_chunk_holds_its_slots_and_a_withdrawal_moves_nothing(
    sample: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    cache = Cache(tmp_path / "cache.sqlite")
    build(sample, out, NOW, cache)
    found = check(sample, out)
    assert len(found) > 3
    pages = found["sitemaps/pages.xml"]
    assert pages[0] == BASE and f"{BASE}tags/peru/" in pages and f"{BASE}feeds/" in pages
    assert f"{BASE}authors/lucia-mamani/" in pages and f"{BASE}withdrawals/" in pages

    # The oldest public story withdrawn: its chunk and the index change; the
    # stories after it keep their chunks.
    oldest = slots(sample, NOW)[0][0]
    story = next(p for p in (sample / "articles").iterdir() if p.stem == oldest)
    story.write_text(
        story.read_text().replace(
            "\n---\n", "\nwithdrawn:\n  date: 2026-11-20\n  reason: Wrong.\n---\n", 1
        )
    )
    report = build(sample, out, NOW, cache)
    assert sitemap_files(report.changed) == {"sitemap.xml", "sitemaps/articles-1.xml"}
    check(sample, out)

    # A new story: the newest chunk (or a new one) and the index; and, being
    # of the last two days, the Google News sitemap (tests/test_search.py).
    count = len(slots(sample, NOW))
    write(
        sample,
        "articles/newest.md",
        "---\ntitle: Newest\ndate: 2026-11-26\nauthors: [ana-quispe]\ntags: [Perú]\n---\nText.\n",
    )
    report = build(sample, out, NOW, cache)
    assert sitemap_files(report.changed) == {
        "sitemap.xml",
        f"sitemaps/articles-{count // 3 + 1}.xml",
        "sitemaps/news.xml",
    }
    check(sample, out)
