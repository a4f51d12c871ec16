"""What readers' own tools make of the feeds served by gunicorn: rss2email (what
it mails), the `reader` library (attachments), feedparser (summaries, tags,
channel text). Each test drives the real client."""

from __future__ import annotations

import email
import json
import re
import subprocess
import sys
import urllib.request
from email import policy
from pathlib import Path
from typing import Any

import feedparser
import pytest

from conftest import NOW, rendered, require, words_of
from feeds.content.directory import load_content
from feeds.model import Article
from feeds.outputs.listings import public_articles

#: rss2email, reader and feedparser against gunicorn.
pytestmark = pytest.mark.slow

#: Sentences of the sample's one article not for republishing
#: (``interview-water-rights-lawyer.md``): no feed may carry them.
TEXT_NOT_FOR_FEEDS = (
    "The river does not know where the district boundary runs.",
    "How old the legal ideas are.",
    "Marisol Chávez has spent fifteen years representing rural communities",
)


@pytest.fixture(scope="module")
def articles(served: tuple[str, Path]) -> tuple[Article, ...]:
    base, root = served
    return public_articles(load_content(root, base), NOW)


def get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=10) as response:
        return bytes(response.read())


#: Stands in for sendmail: rss2email pipes each message to it; it keeps them
#: in the folder written into it.
SENDMAIL = """\
import os, sys
folder = {folder!r}
with open(os.path.join(folder, f"{{len(os.listdir(folder)):03}}.eml"), "wb") as f:
    f.write(sys.stdin.buffer.read())
"""


def rss2email(tmp_path: Path, url: str) -> list[email.message.EmailMessage]:
    """Run Debian's rss2email once on ``url`` and return what it mailed."""
    require("r2e")
    mail = tmp_path / "mail"
    mail.mkdir()
    sendmail = tmp_path / "sendmail"
    sendmail.write_text(f"#!{sys.executable}\n{SENDMAIL.format(folder=str(mail))}")
    sendmail.chmod(0o755)
    config, data = tmp_path / "r2e.cfg", tmp_path / "r2e.json"
    r2e = ["r2e", "-c", str(config), "-d", str(data)]
    subprocess.run([*r2e, "new", "reader@example.org"], check=True, capture_output=True)
    text = config.read_text()
    config.write_text(re.sub(r"^sendmail = .*$", f"sendmail = {sendmail}", text, flags=re.M))
    subprocess.run([*r2e, "add", "wire", url], check=True, capture_output=True)
    run = subprocess.run([*r2e, "run"], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    return [
        email.message_from_bytes(path.read_bytes(), policy=policy.default)  # type: ignore[misc]
        for path in sorted(mail.iterdir())
    ]


def test_rss2email_mails_the_full_text_not_the_caption(
    served: tuple[str, Path], articles: tuple[Article, ...], tmp_path: Path
) -> None:
    """feedparser let Media RSS's caption turn an item's summary into text/plain,
    and rss2email, which prefers text/plain, mailed the caption alone."""
    base, root = served
    content = load_content(root, base)
    messages = rss2email(tmp_path, base + "rss.xml")
    assert len(messages) == len(articles)
    with_image = 0
    for message in messages:
        body = message.get_body(preferencelist=("plain", "html"))
        assert body is not None
        text = body.get_content()
        article = next(a for a in articles if a.title == message["Subject"])
        produced_by = words_of(article, content)("This article was produced by %(producer)s.")
        flat = " ".join(text.split())  # rss2email wraps lines
        if not article.republish:  # title, summary and link only: never its text
            assert article.summary in flat and article.url in flat
            assert produced_by.split("%(producer)s")[0].strip() not in flat
            assert not [s for s in TEXT_NOT_FOR_FEEDS if s in flat]
            continue
        assert produced_by.split("%(producer)s")[0].strip() in flat, message["Subject"]
        assert len(text) > 2 * len(article.summary)
        if article.image and article.image.caption:
            with_image += 1
            assert " ".join(text.split()) != " ".join(article.image.caption.split())
    assert with_image >= 5


def test_feedparser_keeps_each_items_summary(
    served: tuple[str, Path], articles: tuple[Article, ...]
) -> None:
    base, _ = served
    feed = feedparser.parse(get(base + "rss.xml"))
    by_id = {a.id: a for a in articles}
    for entry in feed.entries:
        # summary_detail is what many clients show: never the image's caption.
        assert entry.summary_detail.type == "text/html"
        assert entry.summary == by_id[entry.id].summary
        assert entry.summary_detail.value == by_id[entry.id].summary
        if by_id[entry.id].republish:
            assert len(entry.content) == 1
            assert entry.content[0].type == "text/html"
        else:
            assert "content" not in entry


def test_reader_sees_the_lead_image_in_rss_and_atom(
    served: tuple[str, Path], articles: tuple[Article, ...], tmp_path: Path
) -> None:
    """`reader` (like gofeed and rss-parser) finds attachments in RSS only as
    an <enclosure>."""
    from reader import make_reader

    base, _ = served
    for name in ("rss.xml", "atom.xml"):
        reader = make_reader(str(tmp_path / f"{name}.sqlite"))
        reader.add_feed(base + name)
        reader.update_feeds()
        entries = {e.id: e for e in reader.get_entries()}
        assert set(entries) == {a.id for a in articles}
        for article in articles:
            image = article.image
            found = [(e.href, e.type, e.length) for e in entries[article.id].enclosures]
            if image is None or not image.distributable:
                assert found == [], (name, article.slug)
            else:
                assert found == [(image.url, image.media_type, image.length)], name
        reader.close()


def test_reader_sees_a_lead_image_from_another_server_in_rss(content: Path, tmp_path: Path) -> None:
    """RSS requires an enclosure's length: an image on another server, whose
    length is not known, gets the Best Practices Profile's 0 rather than no
    enclosure at all (which `reader` showed as no attachment, in RSS only)."""
    from reader import make_reader

    url = "https://images.example.net/photos/reservoir.jpg"
    article = content / "articles/good.md"
    article.write_text(article.read_text().replace("src: /images/lead.png", f"src: {url}"))
    files = rendered(load_content(content), NOW)
    feeds = tmp_path / "feeds"
    feeds.mkdir()
    reader = make_reader(str(tmp_path / "reader.sqlite"), feed_root=str(feeds))
    for name in ("rss.xml", "atom.xml"):
        (feeds / name).write_bytes(files[name])
        reader.add_feed(f"file:{name}")
    reader.update_feeds()
    found = {e.feed_url: [(x.href, x.type) for x in e.enclosures] for e in reader.get_entries()}
    reader.close()
    assert found == {"file:rss.xml": [(url, "image/jpeg")], "file:atom.xml": [(url, "image/jpeg")]}


def test_atom_categories_are_the_names_readers_show(
    served: tuple[str, Path], articles: tuple[Article, ...]
) -> None:
    """Readers show an Atom category's term: it is the tag's name, not its slug."""
    base, _ = served
    feed = feedparser.parse(get(base + "atom.xml"))
    by_id = {a.id: a for a in articles}
    for entry in feed.entries:
        article = by_id[entry.id]
        tags = [(t.term, t.label, t.scheme) for t in entry.tags]
        expected = [(t.name, t.name, f"{base}tags/{t.slug}/") for t in article.tags]
        # The section, unless a tag says it already (the coral story's Science).
        if article.section and article.section not in [t.name for t in article.tags]:
            expected.append((article.section, article.section, None))
        assert tags == expected


def every_feed(base: str, root: Path) -> dict[str, bytes]:
    index = get(base + "sitemap.xml").decode()
    locs = [
        loc
        for sitemap in re.findall(r"<loc>(.+?)</loc>", index)
        for loc in re.findall(r"<loc>(.+?)</loc>", get(sitemap).decode())
    ]
    # The listings with feeds: the site, each tag, author and section, the
    # withdrawals (not the indexes /tags/ and /authors/, nor the site's pages).
    listings = {
        loc.removeprefix(base)
        for loc in locs
        if re.fullmatch(r"|withdrawals/|(?:tags|authors|sections)/[^/]+/", loc.removeprefix(base))
    }
    return {
        f"{listing}{name}": get(f"{base}{listing}{name}")
        for listing in listings
        for name in ("rss.xml", "atom.xml", "feed.json")
    }


def test_an_image_for_our_pages_only_is_in_no_feed(served: tuple[str, Path]) -> None:
    """`distributable: false`: the photo is licensed for our own pages; partners
    ingest feeds automatically, so no feed may carry it."""
    base, root = served
    name = "sao-paulo-rain.png"
    article = next(
        a for a in load_content(root, base).articles if a.slug == "sao-paulo-flood-season"
    )
    assert article.image is not None and not article.image.distributable
    assert name in article.image.url
    page = get(base + "articles/sao-paulo-flood-season/").decode()
    assert page.count(f'src="{base}images/{name}"') == 1  # on our page, not in the block
    # Nor its og:image: a social network's link preview republishes that.
    assert f'content="{base}images/{name}"' not in page
    assert f'<meta property="og:image" content="{base}images/logo.png">' in page
    for path, data in every_feed(base, root).items():
        assert name.encode() not in data, path
    json_item = next(
        i for i in json.loads(get(base + "feed.json"))["items"] if i["id"] == article.id
    )
    assert "image" not in json_item and "_image" not in json_item


@pytest.mark.parametrize(
    ("slug", "name"),
    [
        ("reefs-coasts", "Reefs & Coasts"),
        ("reservoirs-50", "Reservoirs <50%"),
        ("water-is-life", '"Water Is Life"'),
    ],
)
def test_tag_names_with_markup_characters_read_as_written(
    served: tuple[str, Path], slug: str, name: str
) -> None:
    """RSS's plain-text elements use the RSS Best Practices Profile's
    hexadecimal references for & and <, so that no reader (nor the W3C
    validator) takes the text for HTML."""
    base, _ = served
    data = get(f"{base}tags/{slug}/rss.xml")
    channel = re.search(rb"<channel>.*?<item>", data, re.S)
    assert channel is not None
    head = channel.group()
    assert b"&amp;" not in head and b"&lt;" not in head
    feed: Any = feedparser.parse(data)
    assert feed.bozo == 0
    assert feed.feed.title == f"Field Notes Wire: {name}"
    assert feed.feed.description == f"Articles tagged “{name}” from Field Notes Wire."
    atom: Any = feedparser.parse(get(f"{base}tags/{slug}/atom.xml"))
    assert atom.feed.subtitle == f"Articles tagged “{name}” from Field Notes Wire."
