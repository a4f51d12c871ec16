"""The benchmark's Hugo peer builds what feeds builds: the same pages and feeds
at the same paths, with the full text, every author and the articles' ids.

Only Hugo is tested here (a Debian package, installed by .ci/run); Pelican
comes from PyPI, and ``bench/run.py --peers --quick`` is its smoke test.
"""

from __future__ import annotations

import json
import math
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import feedparser
import pytest

from conftest import NOW, require
from feeds.content.directory import load
from feeds.outputs.plan import Plan

#: Hugo in a child process.
pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "bench"))
from corpus import generate  # noqa: E402
from peers import hugo_command, to_hugo  # noqa: E402

#: What the peers are asked to build: pages and feeds of the site, tags and authors.
LISTED = re.compile(
    r"((articles|tags|authors)/[^/]+/)?(page/\d+/)?(index\.html|rss\.xml|atom\.xml|feed\.json)"
)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Plan]:
    """A 20-article corpus, converted and built by Hugo; and feeds' plan of it."""
    require("hugo")
    work = tmp_path_factory.mktemp("peers")
    content = generate(work / "content", 20)
    loaded = load(content)
    site = to_hugo(content, work / "hugo", loaded.content)
    out = work / "out"
    subprocess.run(hugo_command(site, out), check=True, capture_output=True, timeout=120)
    return out, Plan(loaded, NOW)


def test_hugo_writes_the_pages_and_feeds_feeds_writes(built: tuple[Path, Plan]) -> None:
    """The same articles, feeds and listings; as many listing pages, but where
    feeds' numbering from the oldest gives one more: Hugo numbers its pages
    from the newest (``ceil(n / 20)`` of them), feeds has a front page and a
    sealed page per 20 stories (``1 + n // 20``), one more when 20 divides n."""
    out, plan = built
    expected = {path for path in plan.paths() if LISTED.fullmatch(path)}
    written = {
        path.relative_to(out).as_posix()
        for path in out.rglob("*")
        if path.is_file()
        and LISTED.fullmatch(path.relative_to(out).as_posix())
        # Hugo 0.111 always writes a redirect from page/1/ to each listing.
        and not path.match("page/1/index.html")
    }
    assert {p for p in written if "page/" not in p} == {p for p in expected if "page/" not in p}

    def pages(paths: set[str]) -> Counter[str]:
        return Counter(
            p.split("page/")[0] if "page/" in p else p.removesuffix("index.html")
            for p in paths
            if p.endswith("index.html")
        )

    stories: Counter[str] = Counter()
    for article in plan.content.articles:
        stories.update(["", *(f"tags/{t.slug}/" for t in article.tags)])
        stories.update(f"authors/{a.id}/" for a in article.authors)
    hugo, ours = pages(written), pages(expected)
    for listing, count in stories.items():
        assert hugo[listing] == math.ceil(count / 20), listing
        assert ours[listing] == 1 + count // 20, listing
    assert ours[""] == hugo[""] + 1  # 20 stories: the front page, and page 1 sealed
    kinds = {path.split("/")[0] for path in expected}
    assert {"articles", "tags", "authors", "index.html", "rss.xml"} <= kinds


def test_article_pages_carry_the_full_text_with_absolute_links(
    built: tuple[Path, Plan],
) -> None:
    out, plan = built
    for article in plan.content.articles:
        html = (out / "articles" / article.slug / "index.html").read_text(encoding="utf-8")
        assert f"<h1>{article.title}</h1>" in html
        assert '<figure><img src="https://bench.example.org/images/lead.png"' in html
        assert "This article was produced by" in html
        assert "Creative Commons Attribution 4.0 International" in html
        for author in article.authors:
            assert f">{author.name}</a>" in html
        body = html[html.index('<div class="body">') : html.index("</footer>")]
        links = re.findall(r'(?:href|src)="([^"]*)"', body)
        assert links
        assert all(link.startswith("https://") for link in links), links
        assert '<textarea id="republish-html" readonly' in html


def test_feeds_hold_the_articles_in_order_with_full_text(built: tuple[Path, Plan]) -> None:
    out, plan = built
    articles = sorted(plan.content.articles, key=lambda a: a.date, reverse=True)
    ids = [a.id for a in articles]
    for name in ("rss.xml", "atom.xml"):
        parsed = feedparser.parse((out / name).read_bytes(), sanitize_html=False)
        assert parsed.bozo == 0, parsed.get("bozo_exception")
        assert [e.id for e in parsed.entries] == ids
        for entry, article in zip(parsed.entries, articles, strict=True):
            assert entry.title == article.title
            assert entry.link == article.url
            (full,) = [c.value for c in entry.content if c.type == "text/html"]
            assert full.startswith("<figure>")
            assert "Source: Benchmark Wire" in full
            byline = [a.name for a in article.authors]
            if name == "atom.xml":
                assert [a.name for a in entry.authors] == byline
            else:
                assert entry.author == " and ".join(
                    [", ".join(byline[:-1]), byline[-1]] if len(byline) > 1 else byline
                )
    feed = json.loads((out / "feed.json").read_text(encoding="utf-8"))
    assert feed["version"] == "https://jsonfeed.org/version/1.1"
    assert feed["feed_url"] == "https://bench.example.org/feed.json"
    assert [item["id"] for item in feed["items"]] == ids


def test_tag_and_author_feeds_hold_their_own_articles(built: tuple[Path, Plan]) -> None:
    out, plan = built
    for tag in {t.slug for a in plan.content.articles for t in a.tags}:
        mine = {a.id for a in plan.content.articles if tag in {t.slug for t in a.tags}}
        parsed = feedparser.parse((out / "tags" / tag / "atom.xml").read_bytes())
        assert parsed.bozo == 0
        assert {e.id for e in parsed.entries} == mine
        assert parsed.feed.links[0].href == f"https://bench.example.org/tags/{tag}/atom.xml"
    for author in {a.id for art in plan.content.articles for a in art.authors}:
        mine = {art.id for art in plan.content.articles if author in {a.id for a in art.authors}}
        parsed = feedparser.parse((out / "authors" / author / "rss.xml").read_bytes())
        assert parsed.bozo == 0
        assert {e.id for e in parsed.entries} == mine
        page = (out / "authors" / author / "index.html").read_text(encoding="utf-8")
        assert '<div class="bio">' in page
