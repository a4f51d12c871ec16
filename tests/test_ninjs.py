"""IPTC ninjs 2.2 items, checked against the IPTC's own JSON Schema (draft
2020-12, with its format checker) and against what the feeds say of the same
story.

The schema is read from ``../shared/ninjs/`` beside the clone (CI lays a copy
of ``shared/`` there), or from the folder ``$FEEDS_NINJS_SCHEMAS`` names; it is
never copied into the project. Without it the tests skip on a developer's
machine and fail in CI.
"""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import feedparser
import pytest
import yaml
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from conftest import ANA, NOW, PNG, REPO, SITE_TOML, check_ninjs, write
from feeds import urls
from feeds.content.directory import Loaded, load_content
from feeds.errors import ContentError
from feeds.licenses import LICENSES
from feeds.model import Article, Content
from feeds.outputs.ninjs import NotRepublishable, item, item_bytes
from feeds.outputs.plan import Plan
from webapp import create_app

WITHDRAWN = "arequipa-well-study"  # withdrawn on 2026-11-21
SCHEDULED = "water-tariff-reform-preview"  # dated 2027-03-01
WITHHELD = "interview-water-rights-lawyer"  # republish: false


def by_slug(content: Content, slug: str) -> Article:
    (found,) = [a for a in content.articles if a.slug == slug]
    return found


def test_the_format_checker_really_checks_uris_and_dates(validator: Draft202012Validator) -> None:
    """Without the format extra, jsonschema passes any string as a URI."""
    bad = {"uri": "not a uri", "firstcreated": "2026-13-45T25:00:00Z"}
    paths = sorted(str(list(e.absolute_path)) for e in validator.iter_errors(bad))
    assert paths == ["['firstcreated']", "['uri']"]
    assert list(validator.iter_errors({"uri": "x:y", "unknown": 1}))  # no extension keys


def test_every_sample_item_is_valid(
    validator: Draft202012Validator, sample_content: Content
) -> None:
    """Every article that may be republished, at every moment that matters,
    public and for partners."""
    checked = 0
    for article in sample_content.articles:
        if not article.republish:
            with pytest.raises(NotRepublishable):
                item(article, sample_content.site, NOW)
            continue
        moments = [NOW, article.date, article.date - timedelta(days=1)]
        if article.withdrawn:
            moments.append(article.withdrawn.date)
        for moment in moments:
            for partner in (False, True):
                check_ninjs(validator, item(article, sample_content.site, moment, partner=partner))
                checked += 1
    assert checked >= 60


def test_the_export_has_an_item_for_each_article_that_may_be_republished(
    validator: Draft202012Validator, sample_content: Content, sample_files: dict[str, bytes]
) -> None:
    # The test's own reading of the front matter: neither draft nor scheduled,
    # and republish not false.
    expected = {
        a.slug for a in sample_content.articles if a.republish and not a.draft and a.date <= NOW
    }
    assert WITHHELD not in expected and SCHEDULED not in expected
    found = {
        path.split("/")[1]: json.loads(data)
        for path, data in sample_files.items()
        if path.endswith("/ninjs.json")
    }
    assert set(found) == expected and len(found) == 9
    for slug, found_item in found.items():
        check_ninjs(validator, found_item)
        assert found_item["pubstatus"] == ("canceled" if slug == WITHDRAWN else "usable")
        assert "embargoed" not in found_item


def test_a_withdrawn_article_is_canceled_with_its_reason_and_no_text(
    sample_content: Content, sample_files: dict[str, bytes]
) -> None:
    found = json.loads(sample_files[urls.ninjs(WITHDRAWN)])
    article = by_slug(sample_content, WITHDRAWN)
    assert article.withdrawn is not None
    assert found["pubstatus"] == "canceled" and found["uri"] == article.id
    assert article.withdrawn.reason in found["ednote"]
    assert found["versioncreated"] == rfc3339(article.withdrawn.date)
    assert not {"bodies", "descriptions", "associations"} & set(found)
    # Before its withdrawal, the same article was usable, with its text.
    before = item(article, sample_content.site, article.withdrawn.date - timedelta(seconds=1))
    assert before["pubstatus"] == "usable" and before["bodies"][0]["value"]


def test_partners_get_an_embargoed_item_before_its_time(sample_content: Content) -> None:
    article = by_slug(sample_content, SCHEDULED)
    early = article.date - timedelta(days=2)
    found = item(article, sample_content.site, early, partner=True)
    assert found["embargoed"] == rfc3339(article.date)
    assert found["ednote"].startswith("EMBARGOED until ")
    assert found["bodies"][0]["value"].startswith('<p class="embargo">')
    assert "embargoed" not in item(article, sample_content.site, article.date, partner=True)
    assert "embargoed" not in item(
        article, sample_content.site, early
    )  # (the public never sees it)


def test_item_bytes_are_the_same_every_time(
    sample_content: Content, sample_files: dict[str, bytes]
) -> None:
    again = Plan(Loaded(load_content(REPO / "content")), NOW + timedelta(hours=1))
    for path, data in sample_files.items():
        if path.endswith("/ninjs.json"):
            assert again.render(path) == data
    article = by_slug(sample_content, "lima-reservoirs-dry-season")
    assert item_bytes(article, sample_content.site, NOW) == item_bytes(
        article, sample_content.site, NOW
    )
    assert item_bytes(article, sample_content.site, NOW) == sample_files[urls.ninjs(article.slug)]


def rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def utc(parsed: Any) -> str:
    """A date feedparser read, as ninjs writes it."""
    return rfc3339(datetime(*parsed[:6], tzinfo=UTC))


def test_the_feeds_and_ninjs_agree_on_id_dates_byline_and_rights(
    sample_content: Content, sample_files: dict[str, bytes]
) -> None:
    """What RSS, Atom and JSON Feed (read by feedparser and json) say of each
    story, and what its ninjs item says."""
    items = {
        json.loads(data)["uri"]: json.loads(data)
        for path, data in sample_files.items()
        if path.endswith("/ninjs.json")
    }
    rss = feedparser.parse(sample_files["rss.xml"])
    atom = feedparser.parse(sample_files["atom.xml"])
    feed = json.loads(sample_files["feed.json"])
    assert rss.bozo == 0 and atom.bozo == 0
    compared = 0
    for entry in rss.entries:
        if entry.id not in items:
            continue
        ninjs = items[entry.id]
        assert ninjs["firstcreated"] == utc(entry.published_parsed)
        assert ninjs["versioncreated"] == utc(entry.updated_parsed)  # dcterms:modified
        assert ninjs["by"] == entry.author  # dc:creator: the whole byline
        article = next(a for a in sample_content.articles if a.id == entry.id)
        cc = article.license.url if article.license.is_creative_commons else None
        assert ninjs.get("rightsinfo", {}).get("linkedrights") == cc
        compared += 1
    for entry in atom.entries:
        if entry.id not in items:
            continue
        ninjs = items[entry.id]
        assert ninjs["firstcreated"] == utc(entry.published_parsed)
        assert ninjs["versioncreated"] == utc(entry.updated_parsed)
        assert [p["name"] for p in ninjs["people"]] == [a.name for a in entry.authors]
        assert ninjs["usageterms"] == entry.rights
        licences = [link.href for link in entry.links if link.rel == "license"]
        assert licences == ([ninjs["rightsinfo"]["linkedrights"]] if "rightsinfo" in ninjs else [])
        assert ninjs["renditions"][0]["href"] == entry.link or ninjs["renditions"][1]["href"] == (
            entry.link
        )
        compared += 1
    for entry in feed["items"]:
        if entry["id"] not in items:
            continue
        ninjs = items[entry["id"]]
        assert ninjs["firstcreated"] == entry["date_published"]
        assert ninjs["versioncreated"] == entry["date_modified"]
        assert [p["name"] for p in ninjs["people"]] == [a["name"] for a in entry["authors"]]
        assert ninjs.get("rightsinfo", {}).get("linkedrights") == entry["_license"]["url"]
        assert ninjs["bodies"][0]["value"] == entry["content_html"]  # the same HTML
        compared += 1
    assert compared == 3 * 8  # eight public stories that may be republished, in three feeds


@pytest.fixture
def client(tmp_path: Path) -> FlaskClient:
    sample = Path(shutil.copytree(REPO / "content", tmp_path / "content"))
    return create_app(
        {"CONTENT": str(sample), "CLOCK": lambda: NOW, "RELOAD_INTERVAL": 0}
    ).test_client()


def test_the_app_serves_items_as_json(client: FlaskClient, sample_files: dict[str, bytes]) -> None:
    for slug in ("lima-reservoirs-dry-season", WITHDRAWN):
        response = client.get(f"/articles/{slug}/ninjs.json")
        assert response.status_code == 200, slug
        assert response.headers["Content-Type"] == "application/json"
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.get_data() == sample_files[urls.ninjs(slug)]
        etag = response.headers["ETag"]
        again = client.get(f"/articles/{slug}/ninjs.json", headers={"If-None-Match": etag})
        assert again.status_code == 304
    for slug in (WITHHELD, SCHEDULED, "highland-clinics-solar-fridges"):
        assert client.get(f"/articles/{slug}/ninjs.json").status_code == 404, slug


#: Text an editor could write: any letters and symbols, no control characters.
PLAIN = st.text(st.characters(blacklist_categories=["Cs", "Cc", "Cn"]), min_size=1, max_size=60)
PLAIN = PLAIN.filter(lambda text: bool(text.strip()))
#: What a URL field may hold as an editor writes it: IRIs, spaces, odd characters.
WEB_URL = st.sampled_from(
    ["https://elsewhere.example.net/", "https://ñandú.example/", "http://x.org/"]
)
WEB_URL = st.builds(lambda base, path: base + path.strip(), WEB_URL, PLAIN)
MOMENT = st.datetimes(
    min_value=datetime(2020, 1, 1),  # noqa: DTZ001
    max_value=datetime(2027, 6, 1),  # noqa: DTZ001
).map(lambda moment: moment.replace(microsecond=0).isoformat())
FIELDS = {
    "id": st.builds(
        lambda scheme, rest: f"{scheme}:{''.join(rest.split())}x",
        st.sampled_from(["tag", "urn", "https"]),
        PLAIN,
    ),
    "subtitle": PLAIN,
    "summary": PLAIN,
    "authors": st.lists(
        st.just("ana-quispe")
        | st.fixed_dictionaries({"name": PLAIN}, optional={"url": WEB_URL, "bio": PLAIN}),
        min_size=1,
        max_size=3,
        unique_by=lambda a: a if isinstance(a, str) else a["name"],
    ),
    "tags": st.lists(PLAIN, max_size=4),
    "section": PLAIN,
    "language": st.sampled_from(["en", "es", "pt-BR", "fr"]),
    "image": st.fixed_dictionaries(
        {
            "src": st.sampled_from(["/images/lead.png", "https://photos.example.org/a b.jpg"]),
            "alt": PLAIN,
        },
        optional={
            "caption": PLAIN,
            "credit": PLAIN,
            "credit_url": WEB_URL,
            "distributable": st.booleans(),
        },
    ),
    "license": st.sampled_from(sorted(LICENSES)),
    "canonical_url": WEB_URL,
    "corrections": st.lists(st.fixed_dictionaries({"date": MOMENT, "text": PLAIN}), max_size=2),
    "withdrawn": st.fixed_dictionaries({"date": MOMENT, "reason": PLAIN}),
    "producer": PLAIN,
    "source": PLAIN,
}
BODY = st.lists(
    st.sampled_from(
        [
            "# ",
            "> ",
            "- ",
            "*",
            "`",
            "[",
            "](",
            ")",
            "![",
            "<b>",
            "<script>",
            "&",
            "\n\n",
            "../x",
            "/images/lead.png",
        ]
    )
    | PLAIN,
    max_size=30,
).map(lambda pieces: "A first paragraph.\n\n" + "".join(pieces))


SETTINGS = settings(
    max_examples=150,
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def test_generated_articles_give_valid_items(
    validator: Draft202012Validator, tmp_path: Path
) -> None:
    """Articles hypothesis writes (every field the item maps, odd text and
    URLs, hostile Markdown), public and for partners, at their date, at the
    test's moment and after a withdrawal; or a clear refusal, now and then."""
    loaded: list[bool] = []

    @SETTINGS
    @given(
        front=st.fixed_dictionaries({"title": PLAIN, "date": MOMENT}, optional=FIELDS),
        body=BODY,
    )
    def run(front: dict[str, Any], body: str) -> None:
        root = tmp_path / "content"
        shutil.rmtree(root, ignore_errors=True)
        write(root, "site.toml", SITE_TOML)
        write(root, "authors/ana-quispe.md", ANA)
        write(root, "images/lead.png", PNG)
        front.setdefault("authors", ["ana-quispe"])
        matter = yaml.safe_dump(front, allow_unicode=True, sort_keys=False)
        write(root, "articles/generated.md", f"---\n{matter}---\n{body}")
        try:
            content = load_content(root)
        except ContentError as e:  # (a withdrawal or a correction before the date)
            assert e.problems
            loaded.append(False)
            return
        (article,) = content.articles
        moments = [NOW, article.date, article.date - timedelta(days=1)]
        if article.withdrawn:
            moments.append(article.withdrawn.date)
        for moment in moments:
            for partner in (False, True):
                check_ninjs(validator, item(article, content.site, moment, partner=partner))
        loaded.append(True)

    run()
    assert len(loaded) >= 100 and sum(loaded) >= 0.7 * len(loaded), (sum(loaded), len(loaded))


def test_an_id_that_is_no_strict_uri_keeps_its_spelling_beside_it(
    validator: Draft202012Validator, content: Path
) -> None:
    good = (content / "articles/good.md").read_text(encoding="utf-8")
    write(content, "articles/good.md", good.replace("---\n", "---\nid: urn:x:año|1\n", 1))
    site = load_content(content)
    (article,) = site.articles
    found = item(article, site.site, NOW)
    check_ninjs(validator, found)
    assert found["uri"] == "urn:x:a%C3%B1o%7C1"
    assert found["altids"] == [{"role": "id", "value": "urn:x:año|1"}]
