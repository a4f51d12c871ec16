"""Hostile content: known XSS vectors in every field, and arbitrary input found by
hypothesis. Whatever goes in, `feeds check` gives a clear error or every output
is well formed and safe; never a traceback."""

from __future__ import annotations

import html
import json
import re
import shutil
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import feedparser
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from conftest import ANA, NOW, PNG, SITE_TOML, write
from feeds.content.directory import Loaded, load_content
from feeds.errors import ContentError
from feeds.licenses import LICENSES
from feeds.outputs.plan import Plan
from feeds.publish.build import build
from feeds.urls import tag_slug
from safe_html import XSS_VECTORS, parse
from safe_html import assert_safe_html as check_fragment

CONTENT = "{http://purl.org/rss/1.0/modules/content/}encoded"
ATOM = "{http://www.w3.org/2005/Atom}"

#: Elements our own pages use; anything else active must not be there at all.
PAGE_FORBIDDEN = frozenset(
    """iframe object embed form base svg math input select video audio source details
    template frame frameset style applet""".split()
)
#: ... but for /feeds/'s filter box and its listings' <details> (their ids
#: are listing anchors, never content), with exactly these attributes.
OWN = {
    "input": (
        ("type", "search"),
        ("id", "feed-filter"),
        ("data-filter", "feed-item"),
        ("autocomplete", "off"),
    ),
}


def own(tag: str, attrs: list[tuple[str, str]]) -> bool:
    if tag == "details":
        return len(attrs) == 1 and bool(
            re.fullmatch(r"id=(tags|authors)-[a-z0-9-]+", "=".join(attrs[0]))
        )
    return OWN.get(tag) == tuple(attrs)


META_ATTRIBUTES = frozenset({"charset", "name", "content", "property"})
LINK_RELS = frozenset({"stylesheet", "alternate", "canonical", "icon"})


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
    """Every public output of the site, as the plan renders it for the export and the app."""
    plan = Plan(Loaded(load_content(root)), NOW)
    return {path: plan.render(path) for path in plan.paths()}


#: RSS elements of plain text (the RSS Best Practices Profile): written with
#: ``&#x3C;`` for every ``<``, so no reader can take a tag name for markup.
RSS_TEXT = re.compile(rb"<(title|description)>(.*?)</\1>", re.S)


def check_feeds(files: dict[str, bytes]) -> None:
    """Feeds are well formed, parse cleanly, and carry only safe HTML; RSS's
    plain-text elements hold no markup however a reader reads them."""
    for path, data in files.items():
        if path.endswith(("rss.xml", "atom.xml")):
            tree = etree.fromstring(data)
            parsed = feedparser.parse(data, sanitize_html=False, resolve_relative_uris=False)
            assert parsed.bozo == 0, (path, parsed.get("bozo_exception"))
            for element in tree.iter(CONTENT, f"{ATOM}content"):
                assert_safe_html(element.text or "")
            for item in tree.iter("item"):  # an item's description is HTML
                assert_safe_html(item.findtext("description") or "")
            head = data.split(b"<item>", 1)[0] if path.endswith("rss.xml") else b""
            for _, text in RSS_TEXT.findall(head):
                assert b"&lt;" not in text and b"<" not in text, (path, text)
        elif path.endswith("/ninjs.json"):
            for body in json.loads(data).get("bodies", ()):
                assert_safe_html(body["value"])
        elif path.endswith(".json"):
            for item in json.loads(data)["items"]:
                assert_safe_html(item.get("content_html", ""))
        elif path.endswith(".xml") or path.endswith(".opml"):
            etree.fromstring(data)


JSON_LD = "application/ld+json"


def check_page(page: str) -> None:
    """A whole page: only our own script, no handlers, no unsafe URLs; and the
    republish HTML it offers is safe too."""
    parsed = parse(page)
    scripts = [
        dict(attrs).get("src")
        for tag, attrs in parsed.tags
        if tag == "script" and dict(attrs).get("type") != JSON_LD
    ]
    assert set(scripts) <= {"/static/site.js"}, scripts  # ours, and never inline
    # Data that is never run (schema.org JSON-LD): JSON with no "<" at all,
    # so nothing in it can close the element.
    opening = f'<script type="{JSON_LD}">'
    for data in re.findall(re.escape(opening) + "(.*?)</script>", page, re.S):
        assert "<" not in data and ">" not in data, data
        json.loads(data)
    blocks = [a for tag, a in parsed.tags if tag == "script" and dict(a).get("type") == JSON_LD]
    assert len(blocks) == page.count(opening) <= 1
    for tag, attrs in parsed.tags:
        assert tag not in PAGE_FORBIDDEN or own(tag, attrs), f"<{tag}> in page"
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


# ------------------------------------------------------------------- properties

#: Text with every kind of character, control characters and astral ones included
#: (no surrogates: a file cannot hold them).
TEXT = st.text(st.characters(blacklist_categories=["Cs"]), max_size=200)
#: Text an editor could write: no control characters or non-characters, not blank.
PLAIN = st.text(st.characters(blacklist_categories=["Cs", "Cc", "Cn"]), min_size=1, max_size=80)
PLAIN = PLAIN.filter(lambda text: bool(text.strip()))
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


@st.composite
def markdown_body(draw: st.DrawFn) -> str:
    """Markdown made of its syntax and of text an editor could write, now and
    then with a piece of any characters at all."""
    pieces = draw(st.lists(MARKDOWN_PIECES | PLAIN, max_size=40))
    if draw(st.integers(0, 9)) == 7:  # (hypothesis favours the ends of a range)
        pieces.insert(draw(st.integers(0, len(pieces))), draw(TEXT))
    return "A first paragraph.\n\n" + "".join(pieces)


BODY = markdown_body()
DAY = st.dates(min_value=date(2020, 1, 1), max_value=date(2026, 11, 26)).map(date.isoformat)
#: Naive on purpose: a date and time without an offset is in the site's time zone.
MOMENT = st.datetimes(
    min_value=datetime(2020, 1, 1),  # noqa: DTZ001
    max_value=datetime(2027, 6, 1),  # noqa: DTZ001
).map(lambda moment: moment.replace(microsecond=0).isoformat())
TAG = PLAIN.filter(lambda name: bool(tag_slug(name)))
INLINE_AUTHOR = st.fixed_dictionaries(
    {"name": PLAIN}, optional={"url": st.just("https://example.org/who"), "bio": PLAIN}
)
#: Every article field, each with values that pass validation.
VALID = {
    "title": PLAIN,
    "subtitle": PLAIN,
    "summary": PLAIN,
    "date": MOMENT,
    "authors": st.lists(
        st.sampled_from(["ana-quispe", "zed"]) | INLINE_AUTHOR,
        min_size=1,
        max_size=3,
        unique_by=lambda a: a if isinstance(a, str) else a["name"],
    ),
    "tags": st.lists(TAG, max_size=4),
    "section": PLAIN,
    "language": st.sampled_from(["en", "es", "pt-BR", "fr"]),
    "image": st.fixed_dictionaries(
        {"src": st.just("/images/lead.png"), "alt": PLAIN},
        optional={"caption": PLAIN, "credit": PLAIN, "distributable": st.booleans()},
    ),
    "license": st.sampled_from(sorted(LICENSES)),
    "canonical_url": st.just("https://elsewhere.example.net/story"),
    "corrections": st.lists(
        st.fixed_dictionaries({"date": st.just("2027-07-01"), "text": PLAIN}), max_size=2
    ),
    "republish": st.booleans(),
    "draft": st.booleans(),
    "producer": PLAIN,
    "source": PLAIN,
}
FIELD_NAMES = st.sampled_from([*VALID, "updated", "slug", "id", "titel"])


@st.composite
def front_matter(draw: st.DrawFn) -> dict[str, Any]:
    """Valid front matter, now and then with one field given any value at all."""
    optional = {name: value for name, value in VALID.items() if name not in ("title", "date")}
    front = draw(st.fixed_dictionaries({"title": PLAIN, "date": DAY}, optional=optional))
    front.setdefault("authors", ["ana-quispe"])
    if draw(st.integers(0, 9)) == 7:  # (hypothesis favours the ends of a range)
        front[draw(FIELD_NAMES)] = draw(VALUE)
    return front


SETTINGS = settings(
    max_examples=150,
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def either_clear_error_or_valid(root: Path) -> bool:
    """True when the site rendered and every output was checked; False when
    ``feeds check`` refused it with located problems."""
    try:
        files = outputs(root)
    except ContentError as e:
        assert e.problems
        for problem in e.problems:
            assert re.match(r"^\S+?(:\d+)?: \S", str(problem)), str(problem)
        return False
    check_feeds(files)
    for path, data in files.items():
        if path.endswith(".html"):
            check_page(data.decode("utf-8"))
            etree.fromstring(data, etree.HTMLParser(recover=False))
    return True


class Share:
    """How many examples of a property rendered and were checked."""

    def __init__(self) -> None:
        self.checked = self.total = 0

    def count(self, checked: bool) -> None:
        self.total += 1
        self.checked += checked

    def at_least(self, fraction: float) -> None:
        assert self.total >= 100, self.total
        assert self.checked >= fraction * self.total, f"{self.checked} of {self.total} rendered"


@pytest.mark.slow  # 150 generated sites, each built whole
def test_arbitrary_front_matter_and_body(tmp_path: Path) -> None:
    share = Share()

    @SETTINGS
    @given(front=front_matter(), body=BODY)
    def run(front: dict[str, Any], body: str) -> None:
        root = tmp_path / "content"
        shutil.rmtree(root, ignore_errors=True)
        share.count(either_clear_error_or_valid(site_with(root, front, body)))

    run()
    share.at_least(0.8)  # 144 of 150 when written


@pytest.mark.slow  # 150 generated sites, each built whole
def test_arbitrary_text_in_plain_fields(tmp_path: Path) -> None:
    share = Share()

    @SETTINGS
    @given(text=PLAIN | TEXT, body=BODY)
    def run(text: str, body: str) -> None:
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
        share.count(either_clear_error_or_valid(site_with(root, front, body)))

    run()
    share.at_least(0.4)  # 83 to 86 of 150 when written: arbitrary text has control characters


@pytest.mark.slow  # 150 generated sites, each built whole
def test_arbitrary_bytes_as_a_file(tmp_path: Path) -> None:
    share = Share()

    @SETTINGS
    @given(raw=st.binary(max_size=300) | PLAIN.map(str.encode))
    def run(raw: bytes) -> None:
        root = tmp_path / "content"
        shutil.rmtree(root, ignore_errors=True)
        site_with(root, {"title": "A title", "date": "2026-10-01", "authors": ["ana-quispe"]}, "x")
        text = (
            b"---\ntitle: "
            + json.dumps(raw.decode("utf-8", "replace"), ensure_ascii=False).encode()
        )
        (root / "articles" / "raw.md").write_bytes(
            raw if raw[:1] == b"\x00" else text + b"\ndate: 2026-10-02\nauthors: [zed]\n---\n" + raw
        )
        share.count(either_clear_error_or_valid(root))

    run()
    share.at_least(0.4)  # 78 to 82 of 150 when written


def test_a_very_long_title_and_body(tmp_path: Path) -> None:
    front = {"title": "word " * 5000, "date": "2026-10-01", "authors": ["ana-quispe"]}
    root = site_with(tmp_path / "content", front, "paragraph " * 50_000)
    assert either_clear_error_or_valid(root), "a long title and body are no problem"


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
    out = tmp_path / "out"
    build(root, out, NOW)  # the export, files and images, as a static host serves it
    exported = {
        p.relative_to(out).as_posix(): p.read_bytes() for p in out.rglob("*") if p.is_file()
    }
    for path, data in exported.items():
        if path.startswith("images/") or path.endswith(".ico"):
            continue
        text = data.decode("utf-8")
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
    assert not any("secret" in path or "zed" in path for path in exported)
    index = exported["index.html"].decode()
    # 20 public: one sealed page of 20 slots; the scheduled story takes none.
    assert "/page/1/" in index and "page/2/" not in index
    assert index.count("<li lang=") == 20
    later = Plan(Loaded(load_content(root)), datetime(2027, 6, 2, tzinfo=UTC))
    assert "articles/secret-later/index.html" in later.paths()
    assert later.render("index.html").decode().count("<li lang=") == 21  # its slot, once due


ENTITIES = [
    "<p>&#1;</p>",
    "&#11;",
    "&#x1F;",
    "&#xFFFE;",
    '<img src="/images/lead.png" alt="a&#11;b">',
]


def test_a_character_reference_xml_cannot_carry_takes_no_feed_down(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """nh3 decodes character references: `<p>&#1;</p>` in a body or a bio came
    out of it as a raw U+0001, and `feeds build` died with lxml's traceback
    (the app answered 500 on every RSS and Atom feed carrying it)."""
    from feeds.cli import main
    from webapp import create_app

    body = "Lede.\n\n" + "\n\n".join(ENTITIES) + "\n"
    root = site_with(
        tmp_path / "content",
        {"title": "Entities", "date": "2026-10-01", "authors": ["zed"]},
        body,
        bio="Bio " + " ".join(ENTITIES) + "\n",
    )
    out = tmp_path / "out"
    assert main(["build", "--no-cache", "--content", str(root), "--out", str(out)]) == 0
    feeds = [p for p in out.rglob("*") if p.name in ("rss.xml", "atom.xml")]
    assert feeds
    for path in feeds:
        etree.fromstring(path.read_bytes())
    client = create_app({"CONTENT": str(root), "NOW": NOW.isoformat(), "CACHE": None}).test_client()
    for path in feeds:
        assert client.get("/" + path.relative_to(out).as_posix()).status_code == 200
    capsys.readouterr()
    assert main(["check", "--content", str(root)]) == 0
    warned = capsys.readouterr().out
    assert "articles/hostile.md:" in warned and "authors/zed.md:" in warned
    assert "warning: the sanitiser removes character U+0001, which XML cannot carry" in warned
