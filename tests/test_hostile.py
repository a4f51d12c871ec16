"""Hostile content: known XSS vectors in every field, and arbitrary input found by
hypothesis. Whatever goes in, `feeds check` gives a clear error or every output
is well formed and safe; never a traceback."""

from __future__ import annotations

import html
import json
import re
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import feedparser
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree
from test_render import XSS_VECTORS, parse
from test_render import assert_safe_html as check_fragment

from conftest import ANA, NOW, PNG, SITE_TOML, write
from feeds.content import Loaded, load_content
from feeds.errors import ContentError
from feeds.plan import Plan

CONTENT = "{http://purl.org/rss/1.0/modules/content/}encoded"
ATOM = "{http://www.w3.org/2005/Atom}"

#: Elements our own pages use; anything else active must not be there at all.
PAGE_FORBIDDEN = frozenset(
    """iframe object embed form base svg math input select video audio source details
    template frame frameset style applet""".split()
)
META_ATTRIBUTES = frozenset({"charset", "name", "content", "property"})
LINK_RELS = frozenset({"stylesheet", "alternate", "canonical"})


def assert_safe_html(fragment: str) -> None:
    """No active content in HTML made from content; escaped text in an ``alt``
    may say anything."""
    check_fragment(fragment, text_in_attributes=True)


def site_with(root: Path, front: dict[str, Any], body: str, bio: str = "A bio.") -> Path:
    """A one-article site; the article's front matter is dumped by PyYAML, so
    every value reaches the loader exactly as given."""
    write(root, "site.toml", SITE_TOML)
    write(root, "authors/ana-quispe.md", ANA)
    write(root, "authors/zed.md", "---\nname: Zed\n---\n" + bio)
    write(root, "images/lead.png", PNG)
    matter = yaml.safe_dump(front, allow_unicode=True, sort_keys=False)
    (root / "articles").mkdir(parents=True, exist_ok=True)
    (root / "articles" / "hostile.md").write_text(f"---\n{matter}---\n{body}", encoding="utf-8")
    return root


def outputs(root: Path) -> dict[str, bytes]:
    """Every file of the site, as the export and the app have it."""
    plan = Plan(Loaded(load_content(root)), NOW)
    return {path: plan.render(path) for path in plan.paths()}


def check_feeds(files: dict[str, bytes]) -> None:
    """Feeds are well formed, parse cleanly, and carry only safe HTML."""
    for path, data in files.items():
        if path.endswith(("rss.xml", "atom.xml")):
            tree = etree.fromstring(data)
            parsed = feedparser.parse(data, sanitize_html=False, resolve_relative_uris=False)
            assert parsed.bozo == 0, (path, parsed.get("bozo_exception"))
            for element in tree.iter(CONTENT, f"{ATOM}content", "description"):
                assert_safe_html(element.text or "")
        elif path.endswith(".json"):
            for item in json.loads(data)["items"]:
                assert_safe_html(item["content_html"])
        elif path.endswith(".xml") or path.endswith(".opml"):
            etree.fromstring(data)


def check_page(page: str) -> None:
    """A whole page: only our own script, no handlers, no unsafe URLs; and the
    republish HTML it offers is safe too."""
    parsed = parse(page)
    scripts = parsed.names.count("script")
    assert scripts == (1 if 'id="republish-html"' in page else 0)
    for tag, attrs in parsed.tags:
        assert tag not in PAGE_FORBIDDEN, f"<{tag}> in page"
        names = {name for name, _ in attrs}
        assert not any(name.startswith("on") for name in names), (tag, attrs)
        if tag == "meta":
            assert names <= META_ATTRIBUTES, attrs
        if tag == "link":
            assert dict(attrs)["rel"] in LINK_RELS, attrs
        for name, value in attrs:
            if name in ("href", "src"):
                squeezed = re.sub(r"\s", "", value).lower()
                assert squeezed.startswith(("http:", "https:", "mailto:", "/", "#")), value
    match = re.search(r'<textarea id="republish-html"[^>]*>(.*?)</textarea>', page, re.S)
    if match:
        assert_safe_html(html.unescape(match.group(1)))


# --------------------------------------------------------------------------- XSS


FIELDS = ("body", "title", "subtitle", "summary", "caption", "credit", "bio", "tag")


def hostile_site(root: Path, vector: str) -> Path:
    front: dict[str, Any] = {
        "title": f"T {vector}",
        "subtitle": vector,
        "summary": vector,
        "date": "2026-10-01",
        "authors": ["zed", {"name": f"N {vector}", "bio": vector}],
        "tags": [f"tag {vector}"],
        "image": {
            "src": "/images/lead.png",
            "alt": f"alt {vector}",
            "caption": vector,
            "credit": vector,
            "credit_url": "https://example.org/photo",
        },
        "corrections": [{"date": "2026-10-02", "text": vector}],
    }
    return site_with(root, front, f"Lede.\n\n{vector}\n\nMore {vector}\n", bio=f"Bio {vector}\n")


@pytest.mark.parametrize(("name", "vector"), XSS_VECTORS, ids=[name for name, _ in XSS_VECTORS])
def test_xss_vector_in_every_field_reaches_no_output(
    tmp_path: Path, name: str, vector: str
) -> None:
    root = hostile_site(tmp_path / "content", vector)
    try:
        files = outputs(root)
    except ContentError as e:  # refused with a located message: as good as safe
        assert all(re.match(r"^\S+?(:\d+)?: ", str(p)) for p in e.problems)
        return
    check_feeds(files)
    for path, data in files.items():
        if path.endswith(".html"):
            page = data.decode("utf-8")
            check_page(page)
            if "<" in vector:
                assert vector not in page, f"{name} shown unescaped in {path}"


def test_the_corpus_is_large_enough() -> None:
    assert len(XSS_VECTORS) >= 40
    assert len(FIELDS) == 8


# ------------------------------------------------------------------- properties

#: Text with every kind of character, control characters and astral ones included
#: (no surrogates: a file cannot hold them).
TEXT = st.text(st.characters(blacklist_categories=["Cs"]), max_size=200)
VALUE = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4),
    max_leaves=12,
)
MARKDOWN_PIECES = st.sampled_from(
    [
        "# ",
        "> ",
        "- ",
        "1. ",
        "*",
        "_",
        "`",
        "```\n",
        "[",
        "](",
        ")",
        "![",
        "<",
        ">",
        "&",
        "|",
        "\n",
        "\n\n",
        "    ",
        "<b>",
        "</b>",
        "<script>",
        "javascript:",
        "http://x.org/",
        "../",
        "#frag",
        "&#x0;",
        "\\",
        "~~",
    ]
)
BODY = st.lists(MARKDOWN_PIECES | TEXT, max_size=40).map("".join)
FIELD_NAMES = st.sampled_from(
    [
        "title",
        "subtitle",
        "summary",
        "date",
        "updated",
        "authors",
        "tags",
        "section",
        "language",
        "image",
        "license",
        "slug",
        "id",
        "canonical_url",
        "corrections",
        "republish",
        "draft",
        "producer",
        "source",
        "titel",
    ]
)
FRONT = st.dictionaries(FIELD_NAMES, VALUE, max_size=6)

SETTINGS = settings(
    max_examples=150,
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def either_clear_error_or_valid(root: Path) -> None:
    try:
        files = outputs(root)
    except ContentError as e:
        assert e.problems
        for problem in e.problems:
            assert re.match(r"^\S+?(:\d+)?: \S", str(problem)), str(problem)
        return
    check_feeds(files)
    for path, data in files.items():
        if path.endswith(".html"):
            check_page(data.decode("utf-8"))
            etree.fromstring(data, etree.HTMLParser(recover=False))


@SETTINGS
@given(front=FRONT, body=BODY)
def test_arbitrary_front_matter_and_body(tmp_path: Path, front: dict[str, Any], body: str) -> None:
    root = tmp_path / "content"
    shutil.rmtree(root, ignore_errors=True)
    base = {"title": "A title", "date": "2026-10-01", "authors": ["ana-quispe"]}
    either_clear_error_or_valid(site_with(root, {**base, **front}, body))


@SETTINGS
@given(text=TEXT, body=BODY)
def test_arbitrary_text_in_plain_fields(tmp_path: Path, text: str, body: str) -> None:
    root = tmp_path / "content"
    shutil.rmtree(root, ignore_errors=True)
    front = {
        "title": text,
        "subtitle": text,
        "summary": text,
        "date": "2026-10-01",
        "authors": ["ana-quispe", {"name": text or "x", "bio": text}],
        "tags": [text],
        "image": {"src": "/images/lead.png", "alt": text, "caption": text, "credit": text},
    }
    either_clear_error_or_valid(site_with(root, front, body))


@SETTINGS
@given(raw=st.binary(max_size=300))
def test_arbitrary_bytes_as_a_file(tmp_path: Path, raw: bytes) -> None:
    root = tmp_path / "content"
    shutil.rmtree(root, ignore_errors=True)
    site_with(root, {"title": "A title", "date": "2026-10-01", "authors": ["ana-quispe"]}, "x")
    (root / "articles" / "raw.md").write_bytes(b"---\ntitle: " + raw + b"\n---\n" + raw)
    either_clear_error_or_valid(root)


def test_a_very_long_title_and_body(tmp_path: Path) -> None:
    front = {"title": "word " * 5000, "date": "2026-10-01", "authors": ["ana-quispe"]}
    root = site_with(tmp_path / "content", front, "paragraph " * 50_000)
    either_clear_error_or_valid(root)


# ------------------------------------------------------------------------- leaks


def test_no_trace_of_hidden_articles_anywhere(tmp_path: Path) -> None:
    """Twenty public articles and a draft and a scheduled one, each with its own
    tag, image and slug: nothing of the hidden two in any file, and pagination
    counts only the public ones."""
    root = site_with(
        tmp_path / "content",
        {"title": "Public 0", "date": "2026-01-01", "authors": ["ana-quispe"]},
        "Text.",
    )
    for n in range(1, 20):
        write(
            root,
            f"articles/public-{n}.md",
            f"---\ntitle: Public {n}\ndate: 2026-01-{n + 1:02}\n"
            "authors: [ana-quispe]\n---\nText.\n",
        )
    write(root, "images/secret-draft.png", PNG)
    write(root, "images/secret-later.png", PNG)
    for stem, extra in (("secret-draft", "draft: true\n"), ("secret-later", "")):
        date = "2026-02-01" if extra else "2027-06-01"
        write(
            root,
            f"articles/{stem}.md",
            f"---\ntitle: Hush {stem}\ndate: {date}\nauthors: [zed]\n{extra}"
            f"id: tag:hush.example,2026:{stem}\ntags: [Only {stem}]\n"
            f"image: {{src: /images/{stem}.png, alt: x}}\n---\nHidden body.\n",
        )
    site = Plan(Loaded(load_content(root)), NOW)
    for path in site.paths():
        text = site.render(path).decode("utf-8")
        for secret in (
            "secret-draft",
            "secret-later",
            "Hush",
            "hush.example",
            "Only secret",
            "only-secret",
            "/authors/zed/",
        ):
            assert secret not in text, (path, secret)
    assert not any("secret" in path or "zed" in path for path in site.paths())
    assert "images/secret-draft.png" not in {f"images/{p}" for p in site.images}
    index = site.render("index.html").decode()
    assert "page/2/" not in index and "Page 1 of" not in index  # 20 public: one page
    later = Plan(Loaded(load_content(root)), datetime(2027, 6, 2, tzinfo=UTC))
    assert "articles/secret-later/index.html" in later.paths()
    assert "page/2/index.html" in later.paths()
