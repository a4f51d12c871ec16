"""The web app through Flask's test client: every route, its headers, conditional
GETs, gzip, HEAD, hostile paths and hosts, live reload, and export == app."""

from __future__ import annotations

import gzip
import os
import re
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from conftest import NOW, site_files, write
from feeds import urls
from feeds.digest import source_files
from feeds.publish.build import build
from feeds.urls import media_type
from webapp import create_app

REPO = Path(__file__).resolve().parent.parent
SCHEDULED = "water-tariff-reform-preview"  # dated 2027-03-01 in the sample site
DRAFT = "highland-clinics-solar-fridges"
WITHDRAWN = "arequipa-well-study"  # withdrawn on 2026-11-21


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


class Wall:
    """The machine's clock, in seconds, as the test moves it by hand."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    def __call__(self) -> float:
        return self.seconds


@pytest.fixture
def sample(sample: Path) -> Path:
    """conftest's copy of the sample site, its files dated ten minutes ago."""
    age_files(sample, 600)
    return sample


def age_files(root: Path, seconds: int) -> None:
    then = time.time() - seconds
    for path in [root, *root.rglob("*")]:
        os.utime(path, (then, then))


@pytest.fixture
def clock() -> Clock:
    return Clock(NOW)


@pytest.fixture
def app(sample: Path, clock: Clock) -> Flask:
    return create_app({"CONTENT": str(sample), "CLOCK": clock, "RELOAD_INTERVAL": 0})


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def url_of(path: str) -> str:
    """An exported file's URL: ``articles/x/index.html`` is served at ``/articles/x/``."""
    return "/" + path.removesuffix("index.html")


def exported(sample: Path, out: Path, now: datetime = NOW) -> dict[str, bytes]:
    """The export's files that are the site's: not its marker and manifest,
    nor the static host's _headers (which the app never serves: it sends those
    headers)."""
    build(sample, out, now)
    return site_files(out, ("_headers", "_redirects"))


def test_no_copy_outlives_a_withdrawal_by_more_than_its_bound(
    sample: Path, tmp_path: Path, client: FlaskClient
) -> None:
    """Browsers and caches nobody purges keep a response fresh for its
    ``max-age``, then serve it stale while they revalidate or while the site
    fails: every public response, images and sealed archive documents included,
    lets a withdrawn story linger there 70 minutes at most (pages and feeds
    ``cache_max_age`` + 10 minutes), never the day it once was."""
    longest = {}
    for path in exported(sample, tmp_path / "out"):
        response = client.get(url_of(path))
        if response.status_code != 200:
            continue
        found = dict(
            (name, int(value))
            for name, value in re.findall(r"([a-z-]+)=(\d+)", response.headers["Cache-Control"])
        )
        bound = found["max-age"] + max(found["stale-while-revalidate"], found["stale-if-error"])
        longest[path] = bound
    assert len(longest) > 100
    assert max(longest.values()) == 70 * 60
    assert longest["images/lima-reservoir.png"] == 70 * 60
    assert longest["rss.xml"] == longest["index.html"] == 300 + 600


def test_export_equals_what_the_app_serves(
    sample: Path, tmp_path: Path, client: FlaskClient
) -> None:
    files = exported(sample, tmp_path / "out")
    assert len(files) > 100
    for path, data in files.items():
        response = client.get(url_of(path))
        assert response.status_code == (410 if path == f"articles/{WITHDRAWN}/index.html" else 200)
        assert response.data == data, path


#: What browsers and caches we cannot purge are told of images and sealed
#: archive documents: an hour, so a withdrawn story's image or archive leaves
#: them within 70 minutes (an hour, then 10 minutes stale while the site fails).
LASTING = "public, max-age=3600, stale-while-revalidate=60, stale-if-error=600"


def test_every_route_has_its_media_type_and_cache_headers(
    sample: Path, tmp_path: Path, client: FlaskClient
) -> None:
    for path in exported(sample, tmp_path / "out"):
        response = client.get(url_of(path))
        if path.startswith("images/"):
            assert response.content_type == "image/png", path
            assert response.headers["Cache-Control"] == LASTING, path
            continue
        assert response.content_type == media_type(path), path
        if response.status_code == 410:
            continue  # a withdrawn article's notice: no validators
        if urls.is_archive_document(path):  # sealed: none in the sample, but kept long
            assert response.headers["Cache-Control"] == LASTING, path
            continue
        etag, weak = response.get_etag()
        assert etag and not weak, path
        assert response.last_modified is not None, path
        assert response.headers["Cache-Control"] == (
            "public, max-age=300, stale-while-revalidate=60, stale-if-error=600"
        ), path
        assert response.headers["Vary"] == "Accept-Encoding", path


@pytest.mark.parametrize(
    ("url", "kind"),
    [
        ("/rss.xml", "application/rss+xml; charset=utf-8"),
        ("/atom.xml", "application/atom+xml; charset=utf-8"),
        ("/feed.json", "application/feed+json; charset=utf-8"),
        ("/tags/peru/rss.xml", "application/rss+xml; charset=utf-8"),
        ("/authors/ana-quispe/feed.json", "application/feed+json; charset=utf-8"),
        ("/feeds.opml", "text/x-opml; charset=utf-8"),
        ("/feeds/tags.opml", "text/x-opml; charset=utf-8"),
        ("/sitemap.xml", "application/xml; charset=utf-8"),
        ("/", "text/html; charset=utf-8"),
        ("/articles/lima-reservoirs-dry-season/", "text/html; charset=utf-8"),
        ("/tags/climate-change/", "text/html; charset=utf-8"),
        ("/authors/grace-okafor/", "text/html; charset=utf-8"),
        ("/static/style.css", "text/css; charset=utf-8"),
    ],
)
def test_media_types(client: FlaskClient, url: str, kind: str) -> None:
    response = client.get(url)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == kind


def test_conditional_get_with_etag(client: FlaskClient) -> None:
    first = client.get("/rss.xml")
    etag = first.headers["ETag"]
    again = client.get("/rss.xml", headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.data == b""
    assert again.headers["ETag"] == etag
    other = client.get("/rss.xml", headers={"If-None-Match": '"something-else"'})
    assert other.status_code == 200 and other.data == first.data


def test_conditional_get_with_last_modified(client: FlaskClient) -> None:
    first = client.get("/atom.xml")
    since = first.headers["Last-Modified"]
    assert client.get("/atom.xml", headers={"If-Modified-Since": since}).status_code == 304
    older = "Mon, 01 Jan 2024 00:00:00 GMT"
    assert client.get("/atom.xml", headers={"If-Modified-Since": older}).status_code == 200


def test_if_none_match_takes_precedence(client: FlaskClient) -> None:
    since = client.get("/feed.json").headers["Last-Modified"]
    response = client.get(
        "/feed.json", headers={"If-None-Match": '"stale"', "If-Modified-Since": since}
    )
    assert response.status_code == 200


def test_gzip_for_clients_that_accept_it(client: FlaskClient) -> None:
    plain = client.get("/rss.xml")
    zipped = client.get("/rss.xml", headers={"Accept-Encoding": "gzip, deflate"})
    assert zipped.headers["Content-Encoding"] == "gzip"
    assert zipped.headers["Vary"] == "Accept-Encoding"
    assert gzip.decompress(zipped.data) == plain.data
    assert len(zipped.data) < len(plain.data) / 2
    assert zipped.headers["ETag"] != plain.headers["ETag"]
    again = client.get("/rss.xml", headers={"Accept-Encoding": "gzip"})
    assert again.data == zipped.data  # compressed once, the same bytes every time
    not_modified = client.get(
        "/rss.xml", headers={"Accept-Encoding": "gzip", "If-None-Match": zipped.headers["ETag"]}
    )
    assert not_modified.status_code == 304
    refused = client.get("/rss.xml", headers={"Accept-Encoding": "gzip;q=0"})
    assert "Content-Encoding" not in refused.headers


def test_a_bug_answers_500_with_the_headers_of_every_response(app: Flask) -> None:
    """A 500 cannot be caused from outside (tests/test_status.py reads every
    other status with curl and Chromium): Flask's own answer goes through the
    one header policy too, and is text with or without gzip."""

    def broken() -> str:
        raise RuntimeError("a bug")

    app.add_url_rule("/__broken", view_func=broken)
    client = app.test_client()
    for encoding in ("identity", "gzip"):
        response = client.get("/__broken", headers={"Accept-Encoding": encoding})
        assert response.status_code == 500
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Cache-Control"] == "no-store"
        zipped = response.headers.get("Content-Encoding") == "gzip"
        body = gzip.decompress(response.data) if zipped else response.data
        assert b"<h1>Something went wrong</h1>" in body
        assert b"a bug" not in body


def test_head(client: FlaskClient) -> None:
    for url in ("/rss.xml", "/", "/articles/opinion-bus-corridors/", "/images/logo.png"):
        get, head = client.get(url), client.head(url)
        assert head.status_code == 200
        assert head.data == b""
        assert head.headers["Content-Length"] == str(len(get.data))
        assert head.headers["ETag"] == get.headers["ETag"]


@pytest.mark.parametrize(
    "url",
    [
        "/images/../site.toml",
        "/images/%2e%2e/site.toml",
        "/images/..%2fsite.toml",
        "/images/%2e%2e%2fsite.toml",
        "/images//etc/passwd",
        "/images/../../../../etc/passwd",
        "/../content/site.toml",
        "/site.toml",
        "/articles/lima-reservoirs-dry-season.md",
        "/authors/ana-quispe.md",
        "/.feeds-export",
        "/.feeds-manifest.json",
        "/images/",
        "/static/../site.toml",
    ],
)
def test_no_file_outside_what_the_site_publishes(client: FlaskClient, url: str) -> None:
    response = client.get(url)
    assert response.status_code in (404, 308), url
    assert b"base_url" not in response.data and b"root:" not in response.data


def test_forged_host_changes_nothing(client: FlaskClient) -> None:
    for url in ("/", "/rss.xml", "/articles/opinion-bus-corridors/", "/sitemap.xml"):
        normal = client.get(url)
        forged = client.get(
            url, headers={"Host": "evil.example", "X-Forwarded-Host": "evil.example"}
        )
        assert forged.data == normal.data
        assert b"evil.example" not in forged.data
    redirect = client.get("/articles/opinion-bus-corridors", headers={"Host": "evil.example"})
    assert redirect.status_code == 308
    assert redirect.headers["Location"] == (
        "https://wire.example.org/articles/opinion-bus-corridors/"
    )


def test_not_found_page(client: FlaskClient) -> None:
    response = client.get("/no/such/page/")
    assert response.status_code == 404
    assert response.content_type == "text/html; charset=utf-8"
    assert b"Page not found" in response.data
    assert b'href="/"' in response.data


def test_redirects(client: FlaskClient) -> None:
    response = client.get("/tags/peru")
    assert response.status_code == 308
    assert response.headers["Location"] == "https://wire.example.org/tags/peru/"
    response = client.get("/page/1/")
    assert response.status_code == 301
    assert response.headers["Location"] == "https://wire.example.org/"


@pytest.mark.parametrize(
    "url",
    [
        "/%09/evil.example/page/1/",
        "/%0A/evil.example/page/1/",
        "/%5C/evil.example/page/1/",
        "//evil.example/page/1/",
        "/%2F/evil.example/page/1/",
        "/%09/evil.example/tags/peru",
    ],
)
def test_no_redirect_leaves_the_site(client: FlaskClient, url: str) -> None:
    """A path that starts like another host once a browser drops its tab or
    newline must not become a Location off the site (it was 301 to
    //evil.example/, and a 500 for the newline)."""
    response = client.get(url)
    assert response.status_code in (301, 308, 404), url
    location = response.headers.get("Location")
    assert location is None or location.startswith("https://wire.example.org/"), location


def test_images(client: FlaskClient) -> None:
    response = client.get("/images/lima-reservoir.png")
    assert response.status_code == 200
    assert response.content_type == "image/png"
    assert response.data.startswith(b"\x89PNG")
    etag = response.headers["ETag"]
    assert (
        client.get("/images/lima-reservoir.png", headers={"If-None-Match": etag}).status_code == 304
    )


def test_hidden_articles_leave_no_trace(client: FlaskClient) -> None:
    for slug in (SCHEDULED, DRAFT):
        assert client.get(f"/articles/{slug}/").status_code == 404
    assert client.get("/tags/tariffs/").status_code == 404
    assert client.get("/tags/tariffs/rss.xml").status_code == 404
    for url in ("/", "/rss.xml", "/sitemap.xml", "/feeds.opml", "/tags/peru/", "/no-such/"):
        body = client.get(url).data
        assert SCHEDULED.encode() not in body and DRAFT.encode() not in body
        assert b"/tags/tariffs/" not in body and b"water tariffs take effect" not in body


def test_only_the_preview_shows_drafts(sample: Path, clock: Clock) -> None:
    """`feeds serve --drafts` is the one way to see drafts and scheduled
    articles: the app a server runs refuses the setting outright."""
    config = {"CONTENT": str(sample), "CLOCK": clock, "RELOAD_INTERVAL": 0, "DRAFTS": True}
    with pytest.raises(ValueError, match="DRAFTS is for the editor's preview only"):
        create_app(config)
    preview = create_app({**config, "PREVIEW": True}).test_client()
    for slug in (SCHEDULED, DRAFT):
        assert preview.get(f"/articles/{slug}/").status_code == 200


def test_scheduled_article_appears_on_its_own(client: FlaskClient, clock: Clock) -> None:
    assert client.get(f"/articles/{SCHEDULED}/").status_code == 404
    clock.now = datetime(2027, 3, 1, 12, 0, 1, tzinfo=UTC)
    assert client.get(f"/articles/{SCHEDULED}/").status_code == 200
    assert f"/articles/{SCHEDULED}/".encode() in client.get("/rss.xml").data
    assert client.get("/tags/tariffs/").status_code == 200


def test_sitemap_lists_every_public_page(client: FlaskClient) -> None:
    index = client.get("/sitemap.xml").data.decode()
    assert "<sitemapindex" in index
    locs = []
    for sitemap in re.findall(r"<loc>(.+?)</loc>", index):
        response = client.get(sitemap.removeprefix("https://wire.example.org"))
        assert response.status_code == 200 and "<urlset" in response.data.decode(), sitemap
        locs += re.findall(r"<loc>(.+?)</loc>", response.data.decode())
    assert "https://wire.example.org/" in locs
    assert "https://wire.example.org/articles/chile-mine-heat-rules/" in locs
    assert "https://wire.example.org/tags/peru/" in locs
    assert "https://wire.example.org/authors/lucia-mamani/" in locs
    assert "https://wire.example.org/sections/science/" in locs
    assert "https://wire.example.org/about/" in locs
    # home, articles, tags, authors, feeds/archive/withdrawals, sections,
    # /tags/ and /authors/, the pages of content/pages/
    assert len(locs) == len(set(locs)) == 1 + 9 + 26 + 5 + 3 + 6 + 2 + 3


def test_article_page(client: FlaskClient) -> None:
    html = client.get("/articles/lima-reservoirs-dry-season/").data.decode()
    assert "<h1>Lima&#39;s reservoirs enter the dry season" in html
    assert '<a rel="author" href="/authors/ana-quispe/">Ana Quispe</a>' in html
    assert '<img src="https://wire.example.org/images/lima-reservoir.png"' in html
    assert "The upper Rímac basin feeds a chain of small reservoirs" in html
    assert "Credit: <a href=" in html
    assert "Ana Quispe covers water and sanitation from Lima." in html  # bio
    assert "Grace Okafor is the science editor" in html
    assert (
        '<link rel="canonical" href="https://wire.example.org/articles/lima-reservoirs-dry-season/">'
        in html
    )
    assert 'type="application/rss+xml"' in html and "https://wire.example.org/rss.xml" in html
    assert '<meta property="og:type" content="article">' in html
    assert '<a rel="tag" href="/tags/peru/">Perú</a>' in html
    assert 'id="republish-html"' in html


def republish_block(html: str) -> str:
    """The republish HTML as a partner copies it (the textarea's text, unescaped)."""
    import html as html_module

    match = re.search(r'<textarea id="republish-html"[^>]*>(.*?)</textarea>', html, re.S)
    assert match
    return html_module.unescape(match.group(1))


def test_republish_block(client: FlaskClient) -> None:
    copy = republish_block(client.get("/articles/lima-reservoirs-dry-season/").data.decode())
    assert copy.startswith('<div lang="en"><h1>Lima&#x27;s reservoirs')
    assert "By Ana Quispe and Grace Okafor, <time" in copy
    assert (
        '<img src="https://wire.example.org/images/'
        'lima-reservoir.png" alt="A reservoir at dusk, with low green hills behind the water"'
        ' width="640" height="360">'
    ) in copy
    assert (
        'This article was produced by <a href="https://wire.example.org/articles/lima-reservoirs-dry-season/">'
        in copy
    )
    assert 'rel="license"' in copy and "Attribution-NoDerivatives" in copy
    assert (
        '<img src="https://wire.example.org/pixel.gif?url=https%3A%2F%2Fwire.example.org'
        '%2Farticles%2Flima-reservoirs-dry-season%2F" width="1" height="1" alt="">'
    ) in copy
    assert not re.search(r'(src|href)="(?!https?://|mailto:)', copy)  # absolute URLs only


def test_republish_leaves_out_images_that_may_not_be_distributed(client: FlaskClient) -> None:
    html = client.get("/articles/sao-paulo-flood-season/").data.decode()
    assert '<img src="https://wire.example.org/images/sao-paulo-rain.png"' in html  # on the page
    assert "sao-paulo-rain.png" not in republish_block(html)


def test_no_republish_block_when_the_article_says_so(client: FlaskClient) -> None:
    html = client.get("/articles/interview-water-rights-lawyer/").data.decode()
    assert "republish-html" not in html and "Republish this article" not in html


def test_spanish_article_is_marked(client: FlaskClient) -> None:
    html = client.get("/articles/agua-potable-el-alto/").data.decode()
    assert html.startswith('<!DOCTYPE html>\n<html lang="es">')
    assert '<li lang="es">' in client.get("/").data.decode()


def test_tag_and_author_pages_offer_their_own_feeds(client: FlaskClient) -> None:
    tag = client.get("/tags/climate-change/").data.decode()
    assert 'href="https://wire.example.org/tags/climate-change/rss.xml"' in tag
    assert 'href="https://wire.example.org/rss.xml"' in tag
    author = client.get("/authors/tomas-ferreira/").data.decode()
    assert 'href="https://wire.example.org/authors/tomas-ferreira/atom.xml"' in author
    assert "His newsletter on urban flooding" in author  # the bio


def test_pagination(sample: Path, clock: Clock) -> None:
    """Pages are numbered from the oldest: 45 stories older than the sample's
    fill pages 1 and 2 (20 slots each); the front page shows the rest, then
    page 2's stories again, and leads "Older" to page 1."""
    for n in range(45):
        write(
            sample,
            f"articles/extra-{n:02}.md",
            f"---\ntitle: Extra {n:02}\ndate: 2026-08-01T{n // 4:02}:{n % 4 * 15:02}:00Z\n"
            f"authors: [ana-quispe]\n---\nText {n}.\n",
        )
    client = create_app({"CONTENT": str(sample), "CLOCK": clock}).test_client()

    def extras(path: str) -> list[int]:
        page = client.get(path).data.decode()
        return [int(n) for n in re.findall(r">Extra (\d\d)</a>", page)]

    assert extras("/page/1/") == list(range(19, -1, -1))  # newest first on each page
    assert extras("/page/2/") == list(range(39, 19, -1))
    assert extras("/") == list(range(44, 19, -1))
    first = client.get("/").data.decode()
    assert '<a rel="next" href="/page/1/">' in first and 'rel="prev"' not in first
    assert '<a href="/page/2/">2</a>' in first and '<a href="/page/1/">1</a>' in first
    second = client.get("/page/2/").data.decode()
    assert '<a rel="prev" href="/">' in second and '<a rel="next" href="/page/1/">' in second
    oldest = client.get("/page/1/").data.decode()
    assert '<a rel="prev" href="/page/2/">' in oldest and 'rel="next"' not in oldest
    assert client.get("/page/3/").status_code == 404


def test_plain_text_is_escaped_on_pages(sample: Path, clock: Clock) -> None:
    write(
        sample,
        "articles/hostile.md",
        '---\ntitle: "<script>alert(1)</script> & <b>bold</b>"\n'
        'subtitle: "<img src=x onerror=alert(1)>"\ndate: 2026-11-01\nauthors: [ana-quispe]\n'
        "tags: ['<i>x</i>']\n---\nBody.\n",
    )
    client = create_app({"CONTENT": str(sample), "CLOCK": clock}).test_client()
    for url in ("/articles/hostile/", "/", "/tags/i-x-i/", "/authors/ana-quispe/"):
        html = client.get(url).data.decode()
        assert "<script>alert" not in html and "<img src=x" not in html and "<b>bold" not in html, (
            url
        )
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html or url.startswith("/tags"), url


# --------------------------------------------------------------------- live reload


def backdate(*paths: Path, seconds: int) -> None:
    """Date paths ``seconds`` ago: later than the copy's ten minutes, and in a
    second that is over, so the app serves the change at once."""
    then = time.time() - seconds
    for path in paths:
        os.utime(path, (then, then))


def edit(path: Path, old: str, new: str, age: int) -> None:
    """Change a file and date it ``age`` seconds ago."""
    path.write_text(path.read_text(encoding="utf-8").replace(old, new, 1), encoding="utf-8")
    backdate(path, path.parent, seconds=age)


@pytest.fixture
def live(sample: Path) -> Iterator[tuple[FlaskClient, Path]]:
    """A client that looks for changes before every request, as the watcher
    thread does once a second in production."""
    app = create_app({"CONTENT": str(sample), "RELOAD_INTERVAL": 0, "CLOCK": Clock(NOW)})
    yield app.test_client(), sample


def test_an_edit_is_served_once_its_second_is_over(sample: Path) -> None:
    second = float(int(time.time()))
    wall = Wall(second - 5)
    client = create_app(
        {"CONTENT": str(sample), "RELOAD_INTERVAL": 0, "CLOCK": Clock(NOW), "WALL": wall}
    ).test_client()
    before = client.get("/rss.xml")
    article = sample / "articles/opinion-bus-corridors.md"
    article.write_text(article.read_text().replace('title: "', 'title: "Revised: ', 1))
    os.utime(article, (second, second))
    wall.seconds = second + 0.5  # an edit in the same second could follow: not yet
    assert client.get("/rss.xml").data == before.data
    wall.seconds = second + 1
    after = client.get("/rss.xml")
    assert b"<title>Revised: " in after.data
    assert after.headers["ETag"] != before.headers["ETag"]
    assert after.last_modified > before.last_modified  # updated was left alone
    stale = client.get("/rss.xml", headers={"If-Modified-Since": before.headers["Last-Modified"]})
    assert stale.status_code == 200
    page = client.get("/articles/opinion-bus-corridors/").data
    assert b"Revised: " in page


def test_a_story_coming_due_and_an_edit_in_that_second_have_two_last_modified(
    sample: Path,
) -> None:
    """A scheduled story comes due at a whole second and a public edit is
    written within that second: two versions, served one after the other,
    each with its own Last-Modified, so a reader polling with
    If-Modified-Since alone (no ETag) gets the edit rather than a 304."""
    due = int(time.time()) + 60  # later than every file and the code
    story = write(sample, "articles/river.md", EMBARGOED.format(date=_iso(due), more=""))
    backdate(story, story.parent, seconds=120)
    wall, clock = Wall(due - 10), Clock(datetime.fromtimestamp(due - 10, UTC))
    config = {"CONTENT": str(sample), "RELOAD_INTERVAL": 0, "CLOCK": clock, "WALL": wall}
    client = create_app(config).test_client()
    assert b"the river moves" not in client.get("/rss.xml").data
    wall.seconds, clock.now = due, datetime.fromtimestamp(due, UTC)
    came = client.get("/rss.xml")
    assert b"the river moves" in came.data
    public = sample / "articles/opinion-bus-corridors.md"
    public.write_text(public.read_text().replace('title: "', 'title: "Revised: ', 1))
    os.utime(public, (due + 0.3, due + 0.3))
    wall.seconds, clock.now = due + 1, datetime.fromtimestamp(due + 1, UTC)
    polled = client.get("/rss.xml", headers={"If-Modified-Since": came.headers["Last-Modified"]})
    assert polled.status_code == 200
    assert b"<title>Revised: " in polled.data and b"the river moves" in polled.data
    assert polled.last_modified is not None and came.last_modified is not None
    assert polled.last_modified > came.last_modified


def _iso(seconds: int) -> str:
    return datetime.fromtimestamp(seconds, UTC).isoformat()


def test_new_and_deleted_articles(live: tuple[FlaskClient, Path]) -> None:
    client, sample = live
    articles = sample / "articles"
    write(
        sample,
        "articles/fresh.md",
        "---\ntitle: Fresh news\ndate: 2026-11-26\nauthors: [ana-quispe]\n---\nNew.\n",
    )
    backdate(articles / "fresh.md", articles, seconds=60)
    assert client.get("/articles/fresh/").status_code == 200
    assert b"Fresh news" in client.get("/atom.xml").data
    (articles / "fresh.md").unlink()
    (articles / "opinion-bus-corridors.md").unlink()
    backdate(articles, seconds=30)
    assert client.get("/articles/fresh/").status_code == 404
    assert client.get("/articles/opinion-bus-corridors/").status_code == 404
    assert b"opinion-bus-corridors" not in client.get("/feed.json").data


def test_broken_edit_keeps_the_last_good_site(
    live: tuple[FlaskClient, Path], caplog: pytest.LogCaptureFixture
) -> None:
    client, sample = live
    good = client.get("/rss.xml").data
    article = sample / "articles/mine-workers-heat-rules.md"
    edit(article, "date: ", "date: 2026-13-45 #", 60)
    response = client.get("/rss.xml")
    assert response.status_code == 200 and response.data == good
    assert any(
        "articles/mine-workers-heat-rules.md:" in r.getMessage()
        and "date: expected an ISO 8601 date, got '2026-13-45'" in r.getMessage()
        for r in caplog.records
    )
    edit(article, "date: 2026-13-45 #", "date: ", 30)
    assert client.get("/rss.xml").data == good


def test_changes_are_checked_at_most_once_an_interval(sample: Path) -> None:
    client = create_app({"CONTENT": str(sample), "RELOAD_INTERVAL": 3600}).test_client()
    client.get("/")
    edit(sample / "articles/opinion-bus-corridors.md", 'title: "', 'title: "Later: ', 60)
    assert b"Later: " not in client.get("/articles/opinion-bus-corridors/").data


def test_broken_content_at_start_is_reported_not_raised(
    sample: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The operator reads the problems in the log, the editor in the preview;
    the public gets a short 503 that names no file."""
    (sample / "site.toml").write_text('title = "x"\nbase_url = "nope"\n')
    client = create_app({"CONTENT": str(sample)}).test_client()
    response = client.get("/")
    assert response.status_code == 503
    assert b"Temporarily unavailable" in response.data
    assert b"site.toml" not in response.data and b"Traceback" not in response.data
    problem = "site.toml:2: base_url: expected an absolute http or https URL"
    assert any(problem in record.getMessage() for record in caplog.records)
    preview = create_app({"CONTENT": str(sample), "PREVIEW": True}).test_client()
    assert problem.encode() in preview.get("/").data


def test_preview_reloads_pages_and_shows_problems(sample: Path) -> None:
    app = create_app(
        {
            "CONTENT": str(sample),
            "PREVIEW": True,
            "RELOAD_INTERVAL": 0,
            "BASE_URL": "http://127.0.0.1:8000/",
        }
    )
    client = app.test_client()
    page = client.get("/", headers={"Accept-Encoding": "gzip"})
    assert page.headers["Content-Encoding"] == "gzip"  # the rewritten page, compressed
    body = gzip.decompress(page.data)
    assert page.headers["Cache-Control"] == "no-store" and "ETag" not in page.headers
    assert b'<script src="/__feeds/preview.js" data-version="' in body
    assert b"fetch(" in client.get("/__feeds/preview.js").data
    assert b'href="http://127.0.0.1:8000/rss.xml"' in body
    feed = client.get("/rss.xml").data  # ids stay those of the real site
    assert b'<guid isPermaLink="false">tag:wire.example.org,2026-11-05:' in feed
    version = client.get("/__feeds/version").data
    edit(sample / "articles/opinion-bus-corridors.md", "date: ", "date: never #", 60)
    assert client.get("/__feeds/version").data != version
    assert b"The content has problems" in gzip.decompress(
        client.get("/", headers={"Accept-Encoding": "gzip"}).data
    )
    assert client.get("/__feeds/version").status_code == 200
    production: Callable[[], FlaskClient] = create_app({"CONTENT": str(sample)}).test_client
    assert production().get("/__feeds/version").status_code == 404


def test_export_and_app_agree_after_time_passes(sample: Path, tmp_path: Path) -> None:
    later = datetime(2027, 3, 2, tzinfo=UTC)
    files = exported(sample, tmp_path / "out", later)
    client = create_app({"CONTENT": str(sample), "CLOCK": lambda: later}).test_client()
    assert f"articles/{SCHEDULED}/index.html" in files
    for path, data in files.items():
        assert client.get(url_of(path)).data == data, path


def test_apps_started_apart_send_the_same_validators(sample: Path, tmp_path: Path) -> None:
    """Workers behind one address start at different moments; a reader polling
    them in turn must get one ETag and one Last-Modified per version."""
    started = time.time()
    first = create_app(
        {"CONTENT": str(sample), "CLOCK": Clock(NOW), "WALL": Wall(started), "CACHE": None}
    ).test_client()
    second = create_app(
        {
            "CONTENT": str(sample),
            "CLOCK": Clock(NOW + timedelta(minutes=50)),
            "WALL": Wall(started + 3000),
            "CACHE": str(tmp_path / "cache.sqlite"),
        }
    ).test_client()
    for path in exported(sample, tmp_path / "out"):
        one, other = first.get(url_of(path)), second.get(url_of(path))
        assert one.status_code == other.status_code, path
        assert one.headers.get("ETag") == other.headers.get("ETag"), path
        assert one.headers.get("Last-Modified") == other.headers.get("Last-Modified"), path


def test_broken_content_does_not_reload_on_every_request(
    sample: Path, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    import webapp.reload

    client = create_app(
        {"CONTENT": str(sample), "CLOCK": clock, "RELOAD_INTERVAL": 0}
    ).test_client()
    edit(sample / "articles/opinion-bus-corridors.md", "date: ", "date: never #", 60)
    loads = 0
    real = webapp.reload.load

    def counting(*args: object, **kwargs: object) -> object:
        nonlocal loads
        loads += 1
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(webapp.reload, "load", counting)
    clock.now = datetime(2027, 3, 1, 12, 0, 1, tzinfo=UTC)  # the scheduled article is due
    for _ in range(20):
        assert client.get("/").status_code == 200
    assert loads == 1
    # The last good content is published as of the new time all the same.
    assert client.get(f"/articles/{SCHEDULED}/").status_code == 200


# ------------------------------------------------------------ broken at start-up

EDITOR_LEFTOVERS = ("#draft.md#", ".#draft.md", "draft.md~", "draft.md.orig", ".draft.md.swp")


def test_a_broken_file_at_start_up_leaves_the_rest_served(
    sample: Path, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    """One broken file when the app starts (a draft mid-edit here, named from
    its headline) answered 503 on every URL, feeds included, with a page that
    listed the problems and so the draft's file name."""
    write(
        sample,
        "articles/secret-merger-talks.md",
        "---\ntitle: Secret merger talks\ndate: 2026-13-45\nauthors: [ana-quispe]\n"
        "draft: true\n---\nNot yet.\n",
    )
    for name in EDITOR_LEFTOVERS:  # what editors leave beside a file: not content
        write(sample, f"articles/{name}", "---\nbroken: [\n")
    client = create_app({"CONTENT": str(sample), "CLOCK": clock}).test_client()
    for url in ("/", "/rss.xml", "/atom.xml", "/feed.json", "/articles/opinion-bus-corridors/"):
        response = client.get(url)
        assert response.status_code == 200, url
        assert b"secret-merger" not in response.data and b"2026-13-45" not in response.data
    assert client.get("/static/style.css").status_code == 200
    logged = [r.getMessage() for r in caplog.records]
    assert any("articles/secret-merger-talks.md:3: date:" in m for m in logged)
    assert not any(name in m for m in logged for name in EDITOR_LEFTOVERS)


def test_a_file_broken_since_the_start_holds_back_no_later_edit(sample: Path, clock: Clock) -> None:
    """With a draft broken since the start left out, every later edit was held
    back as "a broken edit" until the draft was mended, while a worker that
    started after the edit served it: two workers of one site disagreed. A
    file that is served and breaks still keeps its last good version."""
    write(
        sample,
        "articles/secret-merger-talks.md",
        "---\ntitle: Secret merger talks\ndate: 2026-13-45\nauthors: [ana-quispe]\n---\nx\n",
    )
    client = create_app(
        {"CONTENT": str(sample), "CLOCK": clock, "RELOAD_INTERVAL": 0}
    ).test_client()
    assert client.get("/rss.xml").status_code == 200
    fresh = write(
        sample,
        "articles/fresh.md",
        "---\ntitle: Fresh news\ndate: 2026-11-20\nauthors: [ana-quispe]\n---\nNew.\n",
    )
    backdate(fresh, fresh.parent, seconds=60)
    assert b"Fresh news" in client.get("/rss.xml").data
    assert client.get("/articles/fresh/").status_code == 200
    good = client.get("/rss.xml").data
    edit(sample / "articles/fresh.md", "date: ", "date: 2026-13-45 #", 30)
    assert client.get("/rss.xml").data == good


def test_no_error_body_is_built_per_request(sample: Path) -> None:
    """A 1.98 MB broken article made every request, /static/style.css too,
    build and send a 77 MB page of its problems, one per line. Here 10,000
    of them, in an 89 KB file: the old page had 2.3 MB."""
    fields = "".join(f"k{n}: 1\n" for n in range(10_000))
    write(
        sample,
        "articles/huge.md",
        f"---\ntitle: Huge\ndate: 2026-10-01\nauthors: [ana-quispe]\n{fields}---\nx\n",
    )
    client = create_app({"CONTENT": str(sample)}).test_client()
    style = client.get("/static/style.css")
    assert style.status_code == 200 and b"unknown field" not in style.data
    assert b"huge" not in client.get("/rss.xml").data
    (sample / "site.toml").write_text('title = "x"\nbase_url = "nope"\n')
    client = create_app({"CONTENT": str(sample)}).test_client()
    first = client.get("/static/style.css")
    assert first.status_code == 503 and len(first.data) < 1000
    assert client.get("/rss.xml").data == first.data


def test_a_request_never_waits_for_a_reload(sample: Path, clock: Clock) -> None:
    """A scheduled article's time arriving while a slow reload held the lock
    made every request wait for the reload to end."""
    import threading

    client = create_app(
        {"CONTENT": str(sample), "CLOCK": clock, "RELOAD_INTERVAL": 3600}
    ).test_client()
    assert client.get("/rss.xml").status_code == 200
    live = client.application.extensions["feeds"]
    reloading, done = threading.Event(), threading.Event()

    def slow_reload() -> None:
        with live._lock:
            reloading.set()
            done.wait(30)

    thread = threading.Thread(target=slow_reload)
    thread.start()
    try:
        reloading.wait(10)
        clock.now = datetime(2027, 3, 1, 12, 0, 1, tzinfo=UTC)  # the scheduled article is due
        started = time.monotonic()
        assert client.get("/rss.xml").status_code == 200
        assert time.monotonic() - started < 5
    finally:
        done.set()
        thread.join()


EMBARGOED = (
    '---\ntitle: "Embargoed: the river moves"\ndate: {date}\nauthors: [ana-quispe]\n'
    "tags: [Water]\n---\nThe water moved in the night{more}.\n"
)


def code_time() -> datetime:
    """The newest source file's time, as ``Last-Modified`` counts it: a
    fresh checkout made moments before the run dates every response by it."""
    newest = max(path.stat().st_mtime for _, path in source_files())
    return ended(newest)


def ended(mtime: float) -> datetime:
    """What ``Last-Modified`` dates a file time by: the end of its second,
    from which the change is served."""
    return datetime.fromtimestamp(int(mtime) + 1, UTC)


def test_an_unpublished_edit_moves_no_public_header(sample: Path) -> None:
    """A scheduled (embargoed) story written and edited, a draft edited, an
    editor's swap file beside them: every public response keeps its bytes,
    ``ETag`` and ``Last-Modified``, in the worker that saw the edits and in
    one started after them. Its time coming changes them; so does a public
    edit, to that edit's time."""
    second = float(int(time.time()))
    wall, clock = Wall(second), Clock(NOW)
    config = {"CONTENT": str(sample), "RELOAD_INTERVAL": 0, "CLOCK": clock, "WALL": wall}
    client = create_app(config).test_client()
    paths = ("/rss.xml", "/", "/atom.xml", "/feed.json", "/sitemap.xml", "/tags/water/")
    before = {path: client.get(path) for path in paths}
    due = NOW + timedelta(hours=2)
    story = write(sample, "articles/river.md", EMBARGOED.format(date=due.isoformat(), more=""))
    draft = sample / f"articles/{DRAFT}.md"
    draft.write_text(draft.read_text(encoding="utf-8") + "\nMore.\n", encoding="utf-8")
    swap = write(sample, "articles/.river.md.swp", b"\0swap")
    backdate(story, draft, swap, story.parent, seconds=120)
    client.get("/")  # loads the new story
    story.write_text(EMBARGOED.format(date=due.isoformat(), more=", they said"), encoding="utf-8")
    backdate(story, story.parent, seconds=60)
    later = create_app(config).test_client()  # a worker started after the edits
    for path, was in before.items():
        for worker in (client, later):
            now = worker.get(path)
            assert now.data == was.data, path
            for name in ("ETag", "Last-Modified", "Cache-Control"):
                assert now.headers.get(name) == was.headers.get(name), (path, name)
    clock.now = due  # its time comes: dated by its file or that moment, the later
    came = client.get("/rss.xml")
    assert b"the river moves" in came.data
    written = ended(story.stat().st_mtime)
    wall_time = datetime.fromtimestamp(second, UTC)
    assert came.last_modified == min(max(written, due, code_time()), wall_time)
    public = sample / "articles/opinion-bus-corridors.md"
    edit(public, 'title: "', 'title: "Revised: ', 30)
    clock.now = due + timedelta(hours=1)
    revised = client.get("/rss.xml")
    assert b"Revised: " in revised.data
    edited = ended(public.stat().st_mtime)
    assert revised.last_modified == min(max(edited, due, code_time()), wall_time)


def test_a_deleted_article_moves_last_modified(live: tuple[FlaskClient, Path]) -> None:
    """A public file's removal changes the bytes with no file left to date
    it: its folder's time dates the change."""
    client, sample = live
    before = client.get("/rss.xml")
    articles = sample / "articles"
    (articles / "opinion-bus-corridors.md").unlink()
    backdate(articles, seconds=30)
    after = client.get("/rss.xml")
    assert after.data != before.data
    folder = ended(articles.stat().st_mtime)
    assert after.last_modified == max(folder, code_time())
    assert after.last_modified > before.last_modified
