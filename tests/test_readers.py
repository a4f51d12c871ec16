"""A real feed reader, newsboat, polls the site served by gunicorn."""

from __future__ import annotations

import os
import re
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest

from conftest import NOW, newsboat_reload, require, words_of
from feeds.content.directory import load_content
from feeds.outputs.listings import public_articles
from feeds.outputs.render import byline

#: newsboat in a child process, against gunicorn.
pytestmark = pytest.mark.slow


def poll(home: Path, url: str) -> dict[str, tuple[str, str, str]]:
    """Run ``newsboat -x reload`` once for one feed, with its own cache (newsboat
    keeps one item per guid across all feeds, and our formats share ids);
    return guid -> (title, author, content) as newsboat stored them."""
    folder = home / url.rsplit("/", 1)[-1]
    folder.mkdir(exist_ok=True)
    cache = newsboat_reload(folder, url)
    with sqlite3.connect(cache) as db:
        rows = db.execute(
            "SELECT guid, title, author, content FROM rss_item WHERE feedurl = ?", (url,)
        ).fetchall()
    items = {guid: (title, author, content) for guid, title, author, content in rows}
    assert len(items) == len(rows), "an item was stored twice"
    return items


def test_newsboat_gets_every_article_once_and_sees_edits(
    served: tuple[str, Path], tmp_path: Path
) -> None:
    require("newsboat")
    base, root = served
    urls = [base + "rss.xml", base + "atom.xml"]
    content_of = load_content(root)
    articles = public_articles(content_of, NOW)
    first = {url: poll(tmp_path, url) for url in urls}
    for url in urls:
        got = first[url]
        assert set(got) == {a.id for a in articles}, url
        for article in articles:
            title, author, content = got[article.id]
            assert title == article.title
            if url.endswith("rss.xml"):
                assert author == byline(article, words_of(article, content_of))
            else:
                assert author.startswith(article.authors[0].name)
            produced_by = words_of(article, content_of)(
                "This article was produced by %(producer)s."
            ).split("%(producer)s")[0]
            if not article.republish:  # title, summary and link only
                assert article.summary in content and produced_by not in content
                continue
            assert produced_by in content  # the full text, footer and all
            assert article.body_html[:200] in content

    assert {url: poll(tmp_path, url) for url in urls} == first  # a second poll adds nothing

    target = next(a for a in articles if a.updated is None)
    path = root / target.path
    text = path.read_text(encoding="utf-8")
    path.write_text(
        re.sub(r"^title: .*$", 'title: "A corrected headline"', text, count=1, flags=re.M)
    )
    assert "A corrected headline" in path.read_text(encoding="utf-8")
    for url in urls:
        for _ in range(10):  # the app serves an edit within about two seconds
            time.sleep(0.5)
            third = poll(tmp_path, url)
            if third[target.id][0] == "A corrected headline":
                break
        assert set(third) == set(first[url])  # no duplicate
        assert third[target.id][0] == "A corrected headline"


def test_newsboat_imports_one_subscription_per_listing(
    served: tuple[str, Path], tmp_path: Path
) -> None:
    """newsboat -i subscribed to all 84 feeds of the OPML list (every format of
    every listing), and showed each story three times, then once per tag and
    author; the list /feeds/ offers first holds the site's feed and the
    withdrawals', and the tags' are in a list of their own, each once,
    under the tag "Tags"."""
    import urllib.request

    from feeds.outputs.listings import listings

    require("newsboat")
    base, root = served
    urls = tmp_path / "urls"
    urls.write_text("")

    def import_opml(path: str) -> None:
        """newsboat -i, with the list the site serves at ``path``."""
        opml = tmp_path / "feeds.opml"
        with urllib.request.urlopen(base + path, timeout=10) as response:
            opml.write_bytes(response.read())
        subprocess.run(
            ["newsboat", "-u", str(urls), "-c", str(tmp_path / "cache.db"), "-i", str(opml)],
            env={**os.environ, "HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path)},
            capture_output=True,
            timeout=60,
            check=True,
        )

    import_opml("feeds/site.opml")
    subscribed = [line.split()[0] for line in urls.read_text().splitlines() if line.strip()]
    assert subscribed == [base + "rss.xml", base + "withdrawals/rss.xml"]
    # The tags' list, imported too: each tag once, tagged with its group.
    import_opml("feeds/tags.opml")
    content = load_content(root, base)
    tags = [x.feed_url(content.site, "rss") for x in listings(content, NOW) if x.kind == "tag"]
    lines = urls.read_text().splitlines()[2:]
    assert sorted(lines) == sorted(f'{url} "Tags"' for url in tags)
