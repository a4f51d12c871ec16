"""The partner desk as partners and editors meet it, on SQLite and on
PostgreSQL: tokens made with ``feeds partner``, the early-access feeds read
by newsboat, feedparser and ``reader`` through gunicorn (two workers), the
audit, the built-in pixel under load, and the desk in Chromium."""

from __future__ import annotations

import base64
import csv
import io
import json
import os
import re
import sqlite3
import subprocess
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import feedparser
import pytest

from conftest import (
    CHROMIUM,
    FEEDS_COMMAND,
    FLAGS,
    SHOTS,
    feeds_cli,
    free_port,
    gunicorn,
    newsboat_reload,
    require,
    sample_copy,
    state_database,
    state_env,
    wait_for,
)
from feeds.content.directory import load_content
from feeds.publish.build import build

#: The desk under gunicorn, on SQLite and PostgreSQL, `feeds partner` in child processes.
pytestmark = pytest.mark.slow

SOON = "Embargoed: a river changes its course"
LATER = "Beyond the window: a second river"
WITHHELD = "Scheduled but not for republishing"
DRAFTED = "A draft the partners never see"
LAPSING = "An embargo that lifts during the tests"
PARTNER_ORIGIN = "https://partner.example"


@dataclass
class Desk:
    base: str
    root: Path
    env: dict[str, str]
    log: Path
    access: Path
    tokens: dict[str, str]
    lapses: datetime


def article(title: str, date: datetime, extra: str = "") -> str:
    return (
        f'---\ntitle: "{title}"\ndate: {date.isoformat()}\nauthors: [grace-okafor]\n'
        f"tags: [Rivers]\n{extra}---\nThe water moved in the night, said the people who live "
        "by it.\n"
    )


def feeds_refused(env: dict[str, str], *args: str) -> str:
    """What ``feeds ARGS`` says on stderr when it must refuse: exit 1, and
    no token printed."""
    done = subprocess.run(
        [FEEDS_COMMAND, *args], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 1 and "fp_" not in done.stdout + done.stderr, done.stderr
    return done.stderr


def audit_until(env: dict[str, str], found: Callable[[str], bool], *args: str) -> str:
    """``feeds partner audit ARGS`` once what ``found`` looks for is in it: the
    app writes audit rows off the request path, about a second later."""
    deadline = time.monotonic() + 30
    while True:
        printed = feeds_cli(env, "partner", "audit", *args)
        if found(printed) or time.monotonic() > deadline:
            return printed
        time.sleep(0.2)


def token_of(printed: str) -> str:
    found = re.search(r"^  (fp_\S+)$", printed, re.M)
    assert found is not None, printed
    return found[1]


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def desk(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Desk]:
    folder = tmp_path_factory.mktemp(f"desk-{request.param}")
    with state_database(request.param, folder) as url:
        port = free_port()
        root = sample_copy(folder, port)
        site = root / "site.toml"
        text = re.sub(r"republish_pixel = .*", 'republish_pixel = "builtin"', site.read_text())
        site.write_text(text, encoding="utf-8")
        now = datetime.now(UTC).replace(microsecond=0)
        lapses = now + timedelta(seconds=20)
        articles = root / "articles"
        # Its lead image is its own: public only with it.
        images = root / "images"
        (images / "river-course.png").write_bytes((images / "lima-reservoir.png").read_bytes())
        lead = 'image:\n  src: /images/river-course.png\n  alt: "The new course"\n'
        (articles / "soon.md").write_text(article(SOON, now + timedelta(days=2), lead))
        (articles / "later.md").write_text(article(LATER, now + timedelta(days=20)))
        (articles / "withheld.md").write_text(
            article(WITHHELD, now + timedelta(days=1), "republish: false\n")
        )
        (articles / "drafted.md").write_text(
            article(DRAFTED, now + timedelta(days=1), "draft: true\n")
        )
        (articles / "lapsing.md").write_text(article(LAPSING, lapses))
        env = {**os.environ, **state_env(url), "FEEDS_CONTENT": str(root)}
        tokens = {
            name: token_of(feeds_cli(env, "partner", "add", name, *scope))
            for name, scope in (
                ("La Prensa", ()),
                ("El Diario", ()),
                ("Rotating Daily", ()),
                ("The Desk", ("--scope", "editor")),
            )
        }
        log, access = folder / "app.log", folder / "access.log"
        with gunicorn(
            root,
            port,
            folder / "cache.sqlite",
            ", 'RELOAD_INTERVAL': 0.5",
            stopped=False,
            env=state_env(url),
            options=("--access-logfile", str(access)),
            log=log,
        ) as base:
            yield Desk(base, root, env, log, access, tokens, lapses)


def fetch(url: str, authorization: str | None = None, **headers: str) -> Any:
    request = urllib.request.Request(url, headers=headers)
    if authorization:
        request.add_header("Authorization", authorization)
    try:
        return urllib.request.urlopen(request, timeout=30)
    except urllib.error.HTTPError as e:
        return e


def basic(token: str, user: str = "newsroom") -> str:
    return "Basic " + base64.b64encode(f"{user}:{token}".encode()).decode()


#: What opens an embargoed item's title in the early-access feeds.
EMBARGO_TITLE = re.compile(r"^EMBARGOED until \d{4}-\d\d-\d\d \d\d:\d\d \S+: ")


def untitled(title: str) -> str:
    """A title without its embargo."""
    return EMBARGO_TITLE.sub("", title)


def with_credentials(url: str, token: str) -> str:
    return url.replace("http://", f"http://partner:{token}@", 1)


def test_feedparser_reads_the_embargoed_story_with_its_notice(desk: Desk) -> None:
    url = with_credentials(desk.base + "partners/atom.xml", desk.tokens["La Prensa"])
    parsed = feedparser.parse(url)
    assert parsed.status == 200 and not parsed.bozo, parsed.get("bozo_exception")
    titles = [untitled(entry.title) for entry in parsed.entries]
    assert parsed.entries[titles.index(SOON)].title.startswith("EMBARGOED until ")
    assert SOON in titles and LATER not in titles and WITHHELD not in titles
    assert DRAFTED not in titles
    soon = parsed.entries[titles.index(SOON)]
    notice = soon.content[0].value
    assert re.match(
        r'<p class="embargo"><strong>EMBARGOED until \d{4}-\d\d-\d\d \d\d:\d\d America/Lima '
        r"— do not publish before</strong></p>",
        notice,
    ), notice[:200]
    assert datetime(*soon.published_parsed[:6], tzinfo=UTC) > datetime.now(UTC)
    # The public stories are there too, but for those not for republishing.
    withheld = {a.id for a in load_content(desk.root).articles if not a.republish}
    public = {e.id for e in feedparser.parse(desk.base + "atom.xml").entries}
    assert public - withheld <= {e.id for e in parsed.entries}
    assert withheld & public and not withheld & {e.id for e in parsed.entries}
    assert "rel" not in str([link for link in parsed.feed.links if link.rel == "hub"])


def test_json_feed_carries_the_embargo_instant(desk: Desk) -> None:
    with fetch(desk.base + "partners/feed.json", "Bearer " + desk.tokens["La Prensa"]) as response:
        feed = json.load(response)
    (item,) = [i for i in feed["items"] if untitled(i["title"]) == SOON]
    assert item["_embargoed"] == item["date_published"]
    assert item["content_html"].startswith('<p class="embargo">')
    assert "hubs" not in feed


def test_reader_and_newsboat_read_it_with_a_token_and_not_without(
    desk: Desk, tmp_path: Path
) -> None:
    from reader import make_reader

    url = with_credentials(desk.base + "partners/rss.xml", desk.tokens["El Diario"])
    library = make_reader(str(tmp_path / "reader.sqlite"))
    try:
        library.add_feed(url)
        library.add_feed(desk.base + "partners/tags/rivers/atom.xml")  # no token
        library.update_feeds()
        entries = {untitled(e.title or ""): e for e in library.get_entries(feed=url)}
        assert SOON in entries and LATER not in entries
        assert "EMBARGOED until" in entries[SOON].content[0].value
        assert list(library.get_entries(feed=desk.base + "partners/tags/rivers/atom.xml")) == []
        failed = library.get_feed(desk.base + "partners/tags/rivers/atom.xml").last_exception
        assert failed is not None and "401" in str(failed.value_str)
    finally:
        library.close()

    require("newsboat")
    home = tmp_path / "newsboat"
    home.mkdir()
    cache = newsboat_reload(home, url, desk.base + "partners/atom.xml")
    with sqlite3.connect(cache) as db:
        rows = db.execute("SELECT feedurl, title, content FROM rss_item").fetchall()
    got = {untitled(title): content for feed, title, content in rows if feed == url}
    assert SOON in got and "EMBARGOED until" in got[SOON]
    assert not [title for feed, title, _ in rows if feed != url]  # no token, nothing


def test_without_a_valid_token_it_is_401_with_a_challenge(desk: Desk) -> None:
    for authorization in (
        None,
        "Bearer fp_nobody.nothing",
        "Bearer not-a-token",
        basic("fp_" + desk.tokens["La Prensa"][3:-4] + "xxxx"),  # a wrong secret
        basic(desk.tokens["La Prensa"])[:-4],  # broken base64
    ):
        response = fetch(desk.base + "partners/rss.xml", authorization)
        with response:
            assert response.status == 401
            assert response.headers["WWW-Authenticate"].startswith('Basic realm="partners"')
            body = response.read()
            assert SOON.encode() not in body and b"Partners only" in body
    outcomes = ("no token", "unknown token", "malformed token")
    everything = audit_until(
        desk.env,
        lambda text: all(re.search(rf" 401 +\d+ +{o} ", text) for o in outcomes),
        "--since",
        "2000-01-01",
    )
    for outcome in outcomes:
        assert re.search(rf" 401 +\d+ +{outcome} ", everything), outcome
    audit = audit_until(desk.env, lambda text: "wrong secret" in text, "La Prensa")
    assert "wrong secret" in audit


def test_responses_are_private_and_name_no_hub(desk: Desk) -> None:
    with fetch(desk.base + "partners/rss.xml", "Bearer " + desk.tokens["La Prensa"]) as response:
        assert response.status == 200
        assert response.headers["Cache-Control"] == "private, no-store"
        assert "Authorization" in response.headers["Vary"]
        assert response.headers["Referrer-Policy"] == "no-referrer"
        assert "Link" not in response.headers and "ETag" not in response.headers
        assert b'rel="hub"' not in response.read()


def test_nothing_embargoed_reaches_the_public_or_the_export(desk: Desk, tmp_path: Path) -> None:
    for path in (
        "",
        "rss.xml",
        "atom.xml",
        "feed.json",
        "sitemap.xml",
        "sitemaps/pages.xml",
        "sitemaps/articles-1.xml",
        "feeds.opml",
        "feeds/",
        "tags/rivers/",
    ):
        with fetch(desk.base + path) as response:
            body = response.read()
        # (The lapsing story: test_when_the_embargo_lapses_the_story_is_public.)
        for title in (SOON, LATER, WITHHELD):
            assert title.encode() not in body, (path, title)
        assert b"/partners/" not in body and b"river-course" not in body, path
    out = tmp_path / "out"
    build(desk.root, out, datetime.now(UTC))
    assert not (out / "partners").exists()
    for file in out.rglob("*"):
        if file.is_file():
            data = file.read_bytes()
            assert SOON.encode() not in data, file
            # robots.txt names /partners/ only to keep crawlers out of it.
            if file.name != "robots.txt":
                assert b"/partners/" not in data, file


def test_last_modified_does_not_tell_when_an_early_access_began(tmp_path: Path) -> None:
    """A story let into the partners' early access a minute ago moves no
    moment that dates public responses (``Last-Modified`` is the newest of
    the files, the code and this moment)."""
    from feeds.content.directory import load
    from feeds.outputs.listings import last_change, next_change

    now = datetime.now(UTC).replace(microsecond=0)
    root = sample_copy(tmp_path, free_port())
    before = last_change(load(root).content, now)
    due = now + timedelta(days=7) - timedelta(minutes=1)
    (root / "articles" / "soon.md").write_text(article(SOON, due), encoding="utf-8")
    content = load(root).content
    assert last_change(content, now) == before
    assert next_change(content, now) is not None  # the partners' feeds still change on time


def test_an_embargoed_lead_image_is_fetched_with_the_token(desk: Desk) -> None:
    token = desk.tokens["La Prensa"]
    parsed = feedparser.parse(with_credentials(desk.base + "partners/rss.xml", token))
    entry = next(e for e in parsed.entries if untitled(e.title) == SOON)
    private = desk.base + "partners/images/river-course.png"
    assert [link.href for link in entry.enclosures] == [private]
    # What a partner's system republishes from the feed counts its readers too.
    assert re.search(r'<img [^>]*src="[^"]*/r/[0-9a-f]{32}\.gif"', entry.content[0].value)
    with fetch(private, basic(token)) as response:
        assert response.headers["Content-Type"] == "image/png"
        assert response.headers["Cache-Control"] == "private, no-store"
        assert response.read() == (desk.root / "images" / "river-course.png").read_bytes()
    for url, authorization, status in (
        (private, None, 401),
        (desk.base + "images/river-course.png", basic(token), 404),  # not public yet
    ):
        with fetch(url, authorization) as refused:
            assert refused.status == status, url


def test_revoked_and_rotated_tokens(desk: Desk) -> None:
    url = desk.base + "partners/rss.xml"
    old = desk.tokens["Rotating Daily"]
    new = token_of(feeds_cli(desk.env, "partner", "rotate", "Rotating Daily"))
    for token in (old, new):  # the old one works through the grace period
        with fetch(url, basic(token)) as response:
            assert response.status == 200
    newest = token_of(
        feeds_cli(desk.env, "partner", "rotate", "Rotating Daily", "--grace-days", "0")
    )
    with fetch(url, basic(new)) as response:
        assert response.status == 401
    with fetch(url, basic(newest)) as response:
        assert response.status == 200
    rotated = audit_until(desk.env, lambda text: "rotated out" in text, "Rotating Daily")
    assert "rotated out" in rotated

    feeds_cli(desk.env, "partner", "revoke", "El Diario")
    with fetch(url, basic(desk.tokens["El Diario"])) as response:
        assert response.status == 401
    assert feedparser.parse(with_credentials(url, desk.tokens["El Diario"])).status == 401
    audit = audit_until(
        desk.env,
        lambda text: bool(re.search(r" 401 +\d+ +revoked ", text.splitlines()[-1])),
        "El Diario",
    ).splitlines()
    assert re.search(r" 401 +\d+ +revoked ", audit[-1]), audit[-1]
    listed = feeds_cli(desk.env, "partner", "list")
    assert re.search(r"^El Diario\s+early-access\s+revoked", listed, re.M), listed
    said = feeds_refused(desk.env, "partner", "rotate", "El Diario")
    # (after the line naming the state database, which every partner command prints)
    assert said.splitlines()[-1].startswith("feeds partner: El Diario is revoked"), said


def test_a_revoked_partner_is_reinstated_under_its_name(desk: Desk) -> None:
    """A revoked partner could not come back: rotate refused it and add
    refused its name, which split its audit and history under a new name.
    `feeds partner reinstate` gives it a new token; no old one works again."""
    url = desk.base + "partners/rss.xml"
    old = token_of(feeds_cli(desk.env, "partner", "add", "Back Again"))
    feeds_cli(desk.env, "partner", "revoke", "Back Again")
    with fetch(url, basic(old)) as response:
        assert response.status == 401
    new = token_of(feeds_cli(desk.env, "partner", "reinstate", "Back Again"))
    with fetch(url, basic(new)) as response:
        assert response.status == 200
    with fetch(url, basic(old)) as response:
        assert response.status == 401
    listed = feeds_cli(desk.env, "partner", "list")
    assert len(re.findall(r"^Back Again\s+early-access\s+active", listed, re.M)) == 1, listed
    # One audit, under its name: the refusal while revoked, the new token's
    # fetch, and the old token refused after (it ended when it came back).
    audit = audit_until(
        desk.env, lambda text: "rotated out" in text and " ok " in text, "Back Again"
    )
    rows = [line for line in audit.splitlines() if "/partners/rss.xml" in line]
    assert all(line.split("  ")[1] == "Back Again" for line in rows), audit
    assert [re.search(r" (200|401) +\d+ +(ok|revoked|rotated out) ", r)[2] for r in rows] == [  # type: ignore[index]
        "ok",
        "rotated out",
        "revoked",
    ], audit
    said = feeds_refused(desk.env, "partner", "reinstate", "Back Again")
    assert "Back Again is not revoked" in said, said


def test_every_fetch_is_audited_with_who_what_and_how_much(desk: Desk) -> None:
    with fetch(
        desk.base + "partners/tags/rivers/rss.xml",
        basic(desk.tokens["La Prensa"]),
        **{"User-Agent": "PartnerCMS/2.1"},
    ) as response:
        size = len(response.read())
    rows = audit_until(desk.env, lambda text: "PartnerCMS/2.1" in text, "La Prensa")
    line = next(r for r in reversed(rows.splitlines()) if "PartnerCMS/2.1" in r)
    assert "/partners/tags/rivers/rss.xml" in line and " 200 " in line and " ok " in line
    assert f" {size} " in line and "127.0.0.1" in line


def test_when_the_embargo_lapses_the_story_is_public(desk: Desk, tmp_path: Path) -> None:
    """The desk's content and state under two more apps, their clocks stopped
    a minute before the embargo lifts and a second after: no waiting for the
    moment, and no assertion a slow run could pass by."""
    token = desk.tokens["La Prensa"]
    for moment, held in (
        (desk.lapses - timedelta(minutes=1), True),
        (desk.lapses + timedelta(seconds=1), False),
    ):
        config = f", 'NOW': '{moment.isoformat()}'"
        port = free_port()
        cache = tmp_path / f"cache-{port}.sqlite"
        env = {k: v for k, v in desk.env.items() if k != "FEEDS_CACHE"}  # its own cache
        with gunicorn(desk.root, port, cache, config, stopped=False, env=env) as base:
            public = feedparser.parse(base + "atom.xml")
            assert (LAPSING in [e.title for e in public.entries]) is not held, moment
            parsed = feedparser.parse(with_credentials(base + "partners/atom.xml", token))
            entry = next(e for e in parsed.entries if untitled(e.title) == LAPSING)
            assert ("EMBARGOED" in entry.content[0].value) is held, moment
            assert entry.title.startswith("EMBARGOED until ") is held, moment


def test_the_pixel_counts_exactly_under_load(desk: Desk) -> None:
    with fetch(desk.base + "articles/lima-reservoirs-dry-season/") as response:
        page = response.read().decode()
    found = re.search(r"/r/([0-9a-f]{32})\.gif", page)
    assert found is not None, "the republish block carries the pixel"
    pixel = desk.base + found[0].removeprefix("/")
    errors: list[str] = []
    plan = [
        {"Referer": PARTNER_ORIGIN + "/news/rivers"},
        {"Referer": "https://other.example:8443/a?b=c"},
        {},  # no Referer: "unknown"
        {"Referer": desk.base + "articles/x/"},  # our own page: not counted
        {"Referer": "http://localhost:1313/preview/"},  # a preview: not counted
    ]
    each = 120

    def hammer(headers: dict[str, str]) -> None:
        for _ in range(each):
            try:
                with fetch(pixel, **headers) as response:
                    if response.status != 200 or response.headers["Content-Type"] != "image/gif":
                        errors.append(str(response.status))
                    response.read()
            except OSError as e:
                errors.append(repr(e))

    threads = [threading.Thread(target=hammer, args=(h,)) for h in plan for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    expected = {
        PARTNER_ORIGIN: 2 * each,
        "https://other.example:8443": 2 * each,
        "unknown": 2 * each,
    }

    def counted() -> dict[str, int]:
        """The counts the workers have written (each writes its own once a second)."""
        out = feeds_cli(desk.env, "partner", "republications", "--csv")
        rows = list(csv.DictReader(io.StringIO(out)))
        return {
            r["origin"]: int(r["hits"])
            for r in rows
            if r["url"].endswith("/lima-reservoirs-dry-season/")
        }

    wait_for(lambda: counted() == expected)
    # A later hit, from an origin of its own, arriving: the writes before it
    # are all in, and none counted a hit twice.
    mark = f"https://mark-{uuid.uuid4().hex[:8]}.example"
    with fetch(pixel, Referer=mark + "/page") as response:
        response.read()
    wait_for(lambda: mark in counted())
    assert counted() == {**expected, mark: 1}


def test_the_desk_shows_editors_the_figures(desk: Desk, tmp_path: Path) -> None:
    with fetch(desk.base + "desk/", basic(desk.tokens["La Prensa"])) as response:
        assert response.status == 401  # a partner is no editor
    require("chromium")
    from playwright.sync_api import sync_playwright

    with fetch(desk.base + "r/" + "0" * 32 + ".gif", Referer=PARTNER_ORIGIN) as response:
        assert response.status == 200  # an unknown pixel: an image, and no count
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        try:
            context = browser.new_context(
                http_credentials={"username": "editor", "password": desk.tokens["The Desk"]}
            )
            page = context.new_page()
            problems: list[str] = []
            page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
            response = page.goto(desk.base + "desk/")
            assert response is not None and response.status == 200
            assert page.locator("h1").inner_text() == "Desk"
            page.locator("svg.chart").first.wait_for()
            assert page.locator("svg.chart rect").count() >= 30
            assert page.locator("table.audit tbody tr").count() >= 1
            page.screenshot(path=str(tmp_path / "desk.png"), full_page=True)
            assert problems == []
        finally:
            browser.close()


def refusals(env: dict[str, str]) -> Counter[str]:
    """Requests refused, by outcome, as `feeds partner audit` counts them."""
    printed = feeds_cli(env, "partner", "audit", "--since", "2000-01-01").split("Refused requests")
    found: Counter[str] = Counter()
    for line in printed[-1].splitlines() if len(printed) > 1 else ():
        row = re.search(r" 401 +\d+ +(no token|malformed token|\S+) .* (\d+) +\S+ \S+$", line)
        if row:
            found[row[1]] += int(row[2])
    return found


def test_the_desk_in_an_editors_browser(desk: Desk) -> None:
    """Every visit by the editor's browser added a `401 no token` row (the
    Basic challenge) before its 200; at 1280 px the audit hid Outcome, Client
    and User agent behind a scroll inside the table and each time wrapped
    onto three lines; the "hits a day" chart had no dates or axis."""
    require("chromium")
    from playwright.sync_api import sync_playwright

    with fetch(desk.base + "articles/lima-reservoirs-dry-season/") as response:
        pixel = re.search(r"/(r/[0-9a-f]{32}\.gif)", response.read().decode())
    assert pixel is not None
    with fetch(desk.base + pixel[1], Referer=PARTNER_ORIGIN) as response:
        assert response.status == 200  # a republication: a chart to draw
    agent = (
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
        f"Chrome/156.0.0.0 Safari/537.36 PartnerCMS/{time.monotonic_ns()}"
    )
    with fetch(
        desk.base + "partners/rss.xml", basic(desk.tokens["La Prensa"]), **{"User-Agent": agent}
    ) as response:
        assert response.status == 200  # a row of the audit, with a long user agent
    audit_until(desk.env, lambda text: agent in text, "La Prensa")
    before = refusals(desk.env)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        try:
            for width in (1280, 390):
                context = browser.new_context(
                    viewport={"width": width, "height": 900},
                    http_credentials={"username": "editor", "password": desk.tokens["The Desk"]},
                )
                page = context.new_page()
                response = page.goto(desk.base + "desk/")
                assert response is not None and response.status == 200
                page.locator("svg.chart").first.wait_for()
                chart = page.locator("svg.chart").first
                texts = chart.locator("text").all_text_contents()
                assert len(texts) == 4 and re.fullmatch(r"\d{4}-\d\d-\d\d", texts[2]), texts
                assert chart.locator("line").count() == 2  # the axes
                page.screenshot(path=str(SHOTS / f"desk-{width}.png"), full_page=True)
                if width == 1280:
                    audit = page.locator("table.audit")
                    assert audit.evaluate("t => t.scrollWidth <= t.clientWidth")
                    for name in ("Outcome", "Client", "User agent"):
                        header = audit.get_by_role("columnheader", name=name)
                        box = header.bounding_box()
                        assert box is not None and box["x"] + box["width"] <= width, name
                    cell = audit.locator("td.time").first
                    lines = cell.evaluate(
                        "c => { const r = document.createRange(); r.selectNodeContents(c);"
                        " return r.getClientRects().length; }"
                    )
                    assert lines == 1, lines
                context.close()
        finally:
            browser.close()
    # A wrong token to /desk/ is still audited. Once a later fetch's row is
    # there, the browser's challenges would be too, had they been written.
    with fetch(desk.base + "desk/", "Bearer not-a-token") as response:
        assert response.status == 401
    marker = f"DeskMarker/{time.monotonic_ns()}"
    with fetch(
        desk.base + "partners/rss.xml", basic(desk.tokens["La Prensa"]), **{"User-Agent": marker}
    ) as response:
        assert response.status == 200
    audit_until(desk.env, lambda text: marker in text, "La Prensa")
    after = refusals(desk.env)
    assert after["no token"] == before["no token"]
    assert after["malformed token"] == before["malformed token"] + 1


def test_no_token_ever_reaches_a_log(desk: Desk) -> None:
    """Every way a token is sent (the header, the URL's credentials, each
    partner's), then a request of its own that marks the end of the log."""
    for token in desk.tokens.values():
        fetch(desk.base + "partners/rss.xml", basic(token)).close()
        feedparser.parse(with_credentials(desk.base + "partners/atom.xml", token))
    mark = f"/rss.xml?logged={uuid.uuid4().hex}"
    fetch(desk.base + mark.removeprefix("/")).close()

    def logs() -> str:
        return desk.log.read_text(errors="replace") + desk.access.read_text(errors="replace")

    wait_for(lambda: mark in logs())
    logs_now = logs()
    assert "/partners/rss.xml" in logs_now and "/partners/atom.xml" in logs_now
    for token in desk.tokens.values():
        secret = token.split(".", 1)[1]
        assert secret not in logs_now  # ... and never a secret
        assert base64.b64encode(f"partner:{token}".encode()).decode() not in logs_now


def test_a_lead_image_kept_from_the_feeds_is_never_behind_the_token(tmp_path: Path) -> None:
    """``distributable: false`` on an embargoed story's lead image: no partner
    feed carries it, and ``partners/images/`` does not serve it either."""
    from feeds.content.directory import load
    from feeds.outputs.plan import Access, Plan

    now = datetime.now(UTC).replace(microsecond=0)
    root = sample_copy(tmp_path, free_port())
    images = root / "images"
    (images / "river-ours.png").write_bytes((images / "lima-reservoir.png").read_bytes())
    lead = 'image:\n  src: /images/river-ours.png\n  alt: "Ours only"\n  distributable: false\n'
    (root / "articles" / "soon.md").write_text(article(SOON, now + timedelta(days=2), lead))
    plan = Plan(load(root), now)
    partner_feeds = plan.paths(Access.TOKEN)
    assert "partners/rss.xml" in partner_feeds
    assert SOON.encode() in plan.render("partners/rss.xml")
    for path in partner_feeds:
        assert b"river-ours" not in plan.render(path), path
    assert "river-ours.png" not in plan.partner_images
