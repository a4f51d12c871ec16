"""The build cache's article format (:func:`feeds.cache.freeze` and
:func:`feeds.cache.thaw`) gives back every field of any :class:`Article`.

The format is also how articles cross between processes (the fork pool), so
a field it forgot would be lost only on a warm cache or a parallel build: the
strategy below names every field of ``Article`` and fails when one is added
without it.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta, timezone

from hypothesis import given, settings
from hypothesis import strategies as st

from feeds.cache import freeze, thaw
from feeds.licenses import LICENSES
from feeds.model import Article, Author, Correction, Image, Tag, Withdrawal

#: Any text a validated field can hold (no lone surrogates: not UTF-8).
TEXT = st.text(st.characters(exclude_categories=["Cs"]), max_size=40)
OPTIONAL = st.none() | TEXT
MOMENT = st.datetimes(
    min_value=datetime(1970, 1, 2),  # noqa: DTZ001 - made aware below
    max_value=datetime(2200, 1, 1),  # noqa: DTZ001
    timezones=st.sampled_from(
        [UTC, timezone(timedelta(hours=-5)), timezone(timedelta(hours=5, minutes=45))]
    ),
)
#: Authors with a file: the cache stores their id and joins them when read.
KNOWN = {
    "ana-quispe": Author(
        "ana-quispe",
        "Ana Quispe",
        "https://wire.example.org/authors/ana-quispe/",
        "Test Wire",
        "ana@wire.example.org",
        "<p>Ana covers water.</p>",
        ("images/ana.png",),
    ),
    "zed": Author("zed", "Zed"),
}
#: Inline authors: a name, a URL and a bio, as validation allows (no file, no id).
INLINE = st.builds(
    lambda name, url, bio: Author(None, name, url, bio_html=bio), TEXT, OPTIONAL, TEXT
)
IMAGE = st.builds(
    Image,
    url=TEXT,
    alt=TEXT,
    caption=OPTIONAL,
    credit=OPTIONAL,
    credit_url=OPTIONAL,
    distributable=st.booleans(),
    media_type=OPTIONAL,
    length=st.none() | st.integers(0, 2**53),
    width=st.none() | st.integers(0, 100_000),
    height=st.none() | st.integers(0, 100_000),
)
#: One strategy per field of Article.
FIELDS = {
    "path": TEXT,
    "id": TEXT,
    "slug": TEXT,
    "url": TEXT,
    "title": TEXT,
    "date": MOMENT,
    "authors": st.lists(st.sampled_from(list(KNOWN.values())) | INLINE, max_size=4).map(tuple),
    "summary": TEXT,
    "body_html": st.text(st.characters(exclude_categories=["Cs"]), max_size=400),
    "license": st.sampled_from(list(LICENSES.values())),
    "language": TEXT,
    "producer": TEXT,
    "source": TEXT,
    "subtitle": OPTIONAL,
    "updated": st.none() | MOMENT,
    "image": st.none() | IMAGE,
    "tags": st.lists(st.builds(Tag, TEXT, TEXT), max_size=4).map(tuple),
    "section": OPTIONAL,
    "canonical_url": OPTIONAL,
    "republish": st.booleans(),
    "draft": st.booleans(),
    "corrections": st.lists(st.builds(Correction, MOMENT, TEXT), max_size=3).map(tuple),
    "withdrawn": st.none() | st.builds(Withdrawal, MOMENT, TEXT),
    "images": st.lists(TEXT, max_size=3).map(tuple),
}
ARTICLE = st.fixed_dictionaries(FIELDS).map(lambda values: Article(**values))


def test_the_strategy_names_every_field_of_an_article() -> None:
    assert set(FIELDS) == {field.name for field in dataclasses.fields(Article)}


def moments(article: Article) -> list[str]:
    """Every date of an article as written, its offset included (equal
    datetimes may differ in offset, which pages and feeds show)."""
    found = [article.date, article.updated, *(c.date for c in article.corrections)]
    if article.withdrawn is not None:
        found.append(article.withdrawn.date)
    return [moment.isoformat() if moment else "" for moment in found]


@settings(max_examples=300, deadline=None, database=None, derandomize=True)
@given(article=ARTICLE)
def test_every_field_of_any_article_reads_back_as_it_was(article: Article) -> None:
    stored = freeze(article)
    back = thaw(stored, KNOWN)
    assert back == article
    assert back is not None and moments(back) == moments(article)
    assert freeze(back) == stored


def test_a_row_of_another_layout_is_a_miss() -> None:
    article = Article(
        "articles/a.md",
        "tag:x,2026:a",
        "a",
        "https://x.example/a/",
        "A",
        datetime(2026, 1, 1, tzinfo=UTC),
        (KNOWN["zed"],),
        "",
        "<p>A</p>",
        LICENSES["CC-BY-4.0"],
        "en",
        "X",
        "X",
    )
    stored = freeze(article)
    assert thaw(stored, KNOWN) == article
    assert thaw(stored.replace(b"[", b"[-1,", 1), KNOWN) is None  # another FORMAT first
    assert thaw(stored, {}) is None  # an author no longer there
