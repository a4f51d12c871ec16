"""Partners in sync end to end, on SQLite and PostgreSQL: the sample site
under gunicorn (two workers), partners and endpoints set with ``feeds
partner``, receivers on loopback (pytest-httpserver) checking each request
with the Standard Webhooks reference library, the stream read over HTTP,
and compliance alerts from the built-in pixel.

What partners see is what is asserted: the requests each receiver got, the
stream's pages, ``feeds partner deliveries`` and ``compliance``, the desk.
Nothing is proved absent by waiting: a later change's arrival is what says
an earlier one was not sent twice.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import threading
import time
import urllib.request
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from standardwebhooks.webhooks import Webhook
from werkzeug import Request, Response

from conftest import (
    CHROMIUM,
    FLAGS,
    feeds_cli,
    free_port,
    gunicorn,
    require,
    sample_copy,
    state_database,
    state_env,
    wait_for,
)
from feeds import urls
from feeds.content.directory import load_content
from feeds.publish import events
from feeds.state.database import State

#: gunicorn, a receiver on loopback, `feeds partner` in child processes.
pytestmark = pytest.mark.slow

PARTNER_ORIGIN = "https://partner.example"
TOKEN = r"^  (fp_\S+)$"


@dataclass
class Receiver:
    """A partner's endpoint: keeps every request; answers 204, but 500 to
    the first try of each change whose event is in ``fail_once``, and 410
    to everything with ``gone``."""

    secret: str = ""
    gone: bool = False
    fail_once: set[str] = field(default_factory=set)
    requests: list[tuple[dict[str, str], bytes, int]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    #: When each event was first taken, by this process's clock.
    arrived: dict[str, float] = field(default_factory=dict)

    def __call__(self, request: Request) -> Response:
        body = request.get_data()
        headers = {k.lower(): v for k, v in request.headers.items()}
        event = json.loads(body)["event"]
        with self.lock:
            if self.gone:
                status = 410
            elif event in self.fail_once:
                self.fail_once.discard(event)
                status = 500
            else:
                status = 204
            self.requests.append((headers, body, status))
            if status < 300:
                self.arrived.setdefault(event, time.time())
        return Response(status=status)

    def taken(self) -> list[dict[str, Any]]:
        """Each change it took (a 2xx), verified, in the order they came."""
        verifier = Webhook(self.secret)
        with self.lock:
            return [verifier.verify(body, h) for h, body, status in self.requests if status < 300]

    def events(self) -> Counter[str]:
        return Counter(change["event"] for change in self.taken())


@dataclass
class World:
    base: str
    root: Path
    env: dict[str, str]
    token: str
    editor: str
    #: The state database's URL.
    url: str
    good: Receiver
    gone: Receiver
    log: Path


def secret_of(printed: str) -> str:
    found = re.search(r"^  (whsec_\S+)$", printed, re.M)
    assert found is not None, printed
    return found[1]


def front(file: Path, old: str, new: str) -> None:
    text = file.read_text(encoding="utf-8")
    assert old in text, (file, old)
    file.write_text(text.replace(old, new, 1), encoding="utf-8")


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def world(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[World]:
    folder = tmp_path_factory.mktemp(f"webhooks-{request.param}")
    receiving = HTTPServer(host="127.0.0.1", port=free_port())
    receiving.start()
    good, gone = Receiver(fail_once={"corrected"}), Receiver(gone=True)
    receiving.expect_request("/hook", method="POST").respond_with_handler(good)
    receiving.expect_request("/gone", method="POST").respond_with_handler(gone)
    try:
        with state_database(request.param, folder) as url:
            port = free_port()
            root = sample_copy(folder, port)
            site = root / "site.toml"
            text = re.sub(r"republish_pixel = .*", 'republish_pixel = "builtin"', site.read_text())
            site.write_text(text, encoding="utf-8")
            env = {
                **os.environ,
                **state_env(url),
                "FEEDS_CONTENT": str(root),
                "FEEDS_WEBHOOK_BACKOFF": "1",
            }
            token = re.search(r"^  (fp_\S+)$", feeds_cli(env, "partner", "add", "La Prensa"), re.M)
            editor = re.search(
                r"^  (fp_\S+)$",
                feeds_cli(env, "partner", "add", "Night desk", "--scope", "editor"),
                re.M,
            )
            assert token is not None and editor is not None
            feeds_cli(env, "partner", "add", "Closed Daily")
            good.secret = secret_of(
                feeds_cli(env, "partner", "webhook", "La Prensa", receiving.url_for("/hook"))
            )
            gone.secret = secret_of(
                feeds_cli(env, "partner", "webhook", "Closed Daily", receiving.url_for("/gone"))
            )
            log = folder / "app.log"
            with gunicorn(
                root,
                port,
                folder / "cache.sqlite",
                ", 'RELOAD_INTERVAL': 0.2",
                stopped=False,
                env={**state_env(url), "FEEDS_WEBHOOK_BACKOFF": "1"},
                log=log,
            ) as base:
                for _ in range(4):  # each worker serves a request or two
                    urllib.request.urlopen(base).close()
                yield World(base, root, env, token[1], editor[1], url, good, gone, log)
    finally:
        receiving.stop()


def versions(world: World) -> set[str]:
    """The content versions the live workers serve (their heartbeats in the
    state database)."""
    state = State(world.url.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        return {w.version for w in state.workers(world.base, time.time())}
    finally:
        state.close()


def every_worker_serves_past(world: World, before: set[str]) -> None:
    """Wait until every live worker serves one version, none of ``before``:
    a hit then meets the change, whichever worker answers it."""
    wait_for(
        lambda: len(found := versions(world)) == 1 and not found & before,
        "every worker serving the change",
    )


def stream(world: World, since: str | None = None) -> list[dict[str, Any]]:
    """Every change after ``since``, page by page, as a partner reads them."""
    found: list[dict[str, Any]] = []
    cursor = since
    while True:
        query = f"?since={cursor}" if cursor is not None else ""
        request = urllib.request.Request(
            world.base + urls.CHANGES + query, headers={"Authorization": f"Bearer {world.token}"}
        )
        with urllib.request.urlopen(request) as response:
            assert response.headers["Content-Type"] == "application/json"
            page = json.load(response)
        found += page["changes"]
        if not page["changes"]:
            return found
        cursor = page["next"]


def test_every_kind_of_change_arrives_once_signed_in_order_and_as_the_stream_says(
    world: World,
) -> None:
    articles = world.root / "articles"
    content = load_content(world.root)
    moment = datetime.now(UTC)
    shown = [
        a
        for a in content.articles
        if (s := events.standing(a, moment, content.site)) is not None and s.state != "withdrawn"
    ]
    # The first worker to serve the site told partners of every story they may take.
    wait_for(lambda: world.good.events()["published"] >= len(shown), "the first start's stories")
    # An embargoed story, out in a few seconds: published now, released then.
    soon = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=6)
    (articles / "soon.md").write_text(
        f'---\ntitle: "A river changes its course"\ndate: {soon.isoformat()}\n'
        "authors: [grace-okafor]\n---\nThe water moved in the night.\n",
        encoding="utf-8",
    )
    wait_for(lambda: world.good.events()["published"] > len(shown), "the embargoed story")
    written = {"refiled": time.time()}
    with (articles / "opinion-bus-corridors.md").open("a", encoding="utf-8") as typo:
        typo.write("\nA typo fixed.\n")
    wait_for(lambda: world.good.events()["refiled"], "the refiled story")
    written["corrected"] = time.time()
    front(
        articles / "coral-nursery-cartagena.md",
        "authors:\n",
        'corrections:\n  - date: 2026-11-02\n    text: "The nursery is off Cartagena."\nauthors:\n',
    )
    wait_for(lambda: world.good.events()["corrected"], "the correction, on its retry")
    written["updated"] = time.time()
    front(
        articles / "lima-reservoirs-dry-season.md",
        "updated: 2026-10-16T18:05:00-05:00",
        "updated: 2026-11-20T18:05:00-05:00",
    )
    wait_for(lambda: world.good.events()["updated"], "the update")
    now = datetime.now(UTC).replace(microsecond=0)
    written["withdrawn"] = time.time()
    front(
        articles / "mine-workers-heat-rules.md",
        "authors:\n",
        f'withdrawn:\n  date: {now.isoformat()}\n  reason: "A source recanted."\nauthors:\n',
    )
    wait_for(lambda: world.good.events()["withdrawn"], "the withdrawal")
    wait_for(lambda: world.good.events()["released"], "the embargo lifting by itself")
    # The last change has come: every earlier one came once, in order.
    taken = world.good.taken()
    seqs = [change["seq"] for change in taken]
    assert seqs == sorted(seqs) and len(seqs) == len(set(seqs))
    kinds = world.good.events()
    assert {k: kinds[k] for k in ("released", "updated", "corrected", "refiled", "withdrawn")} == {
        "released": 1,
        "updated": 1,
        "corrected": 1,
        "refiled": 1,
        "withdrawn": 1,
    }
    withdrawal = next(c for c in taken if c["event"] == "withdrawn")
    assert withdrawal["item"]["pubstatus"] == "canceled"
    assert "A source recanted." in withdrawal["item"]["ednote"]
    # The correction was refused once (500) and taken on the retry, under one webhook-id.
    tries = [
        (h["webhook-id"], status)
        for h, body, status in world.good.requests
        if json.loads(body)["event"] == "corrected"
    ]
    assert [status for _, status in tries] == [500, 204] and tries[0][0] == tries[1][0]
    # The stream since any cursor is what the webhooks delivered since then.
    everything = stream(world)
    assert everything == taken
    for cut in (0, 1, len(taken) // 2, len(taken) - 1):
        assert stream(world, str(taken[cut]["seq"])) == taken[cut + 1 :]
    printed = feeds_cli(world.env, "partner", "deliveries", "La Prensa")
    rows = printed.splitlines()[1:]
    assert sum(1 for row in rows if " delivered " in row) == len(taken) == len(rows)
    waits = {e: round(world.good.arrived[e] - t, 2) for e, t in written.items()}
    print(
        f"written until taken (s, the correction after a 500 and a 1 s retry): {waits}; "
        f"events: {dict(kinds)}; deliveries: {len(taken)}; "
        f"requests: {len(world.good.requests)} ({len(world.good.requests) - len(taken)} retried)"
    )


def test_a_410_turns_the_endpoint_off(world: World) -> None:
    wait_for(lambda: world.gone.requests, "the first request to the gone endpoint")
    printed = wait_for(
        lambda: "410" in (p := feeds_cli(world.env, "partner", "deliveries", "Closed Daily")) and p,
        "the 410 in the deliveries",
    )
    # One request, refused for good: every other change owed to it was dropped.
    assert len(world.gone.requests) == 1
    assert "the endpoint is off" in printed
    rows = printed.splitlines()[1:]
    assert sum(1 for row in rows if "410" in row) == 1
    assert all(row.rstrip().endswith("the endpoint is off") for row in rows if "410" not in row)


def test_a_withdrawn_story_still_shown_is_a_compliance_alert(world: World) -> None:
    article = world.root / "articles" / "glacier-retreat-cordillera-blanca.md"
    story = next(a for a in load_content(world.root).articles if a.path.endswith(article.name))
    pixel = world.base + urls.pixel(story.id)
    # Shown before its withdrawal: a republication, not an alert.
    early = urllib.request.Request(pixel, headers={"Referer": "https://early.example/"})
    urllib.request.urlopen(early).close()
    wait_for(
        lambda: "https://early.example" in feeds_cli(world.env, "partner", "republications"),
        "the hit before the withdrawal",
    )
    now = datetime.now(UTC).replace(microsecond=0)
    served = versions(world)
    front(
        article,
        "authors:\n",
        f'withdrawn:\n  date: {now.isoformat()}\n  reason: "Retracted."\nauthors:\n',
    )
    wait_for(
        lambda: any(c["id"] == story.id and c["event"] == "withdrawn" for c in stream(world)),
        "the withdrawal in the stream",
    )
    every_worker_serves_past(world, served)
    gone = next(a for a in load_content(world.root).articles if a.id == story.id)
    for _ in range(3):
        request = urllib.request.Request(pixel, headers={"Referer": PARTNER_ORIGIN + "/copy/"})
        urllib.request.urlopen(request).close()
    # Each worker writes its counts a second later: wait for all three.
    printed = wait_for(
        lambda: (
            f"{PARTNER_ORIGIN}," in (p := feeds_cli(world.env, "partner", "compliance", "--csv"))
            and p.rstrip().endswith(",3")
            and p
        ),
        "the three hits as alerts",
    )
    rows = list(csv.DictReader(io.StringIO(printed)))
    assert [(r["origin"], r["hits"]) for r in rows] == [(PARTNER_ORIGIN, "3")]
    assert rows[0]["url"] == gone.url
    desk = urllib.request.Request(
        world.base + "desk/", headers={"Authorization": f"Bearer {world.editor}"}
    )
    page = urllib.request.urlopen(desk).read().decode()
    compliance = page.split('id="compliance"')[1].split("</section>")[0]
    assert PARTNER_ORIGIN in compliance and gone.title.replace("'", "&#39;") in compliance
    assert "https://early.example" not in compliance
    print(f"alerts: {len(rows)} origin, {rows[0]['hits']} hits")


def test_chromium_on_a_partner_page_raises_an_alert_after_the_withdrawal_and_none_once_dropped(
    world: World,
) -> None:
    """A partner page on another origin (loopback, under a name) carries the Republish HTML
    of a story, as the article page offers it; Chromium shows it before and
    after the withdrawal, then once the partner replaced it by another story."""
    require(CHROMIUM)
    from playwright.sync_api import sync_playwright

    content = load_content(world.root)
    story = next(a for a in content.articles if a.path.endswith("agua-potable-el-alto.md"))
    other = next(a for a in content.articles if a.path.endswith("opinion-bus-corridors.md"))
    # A loopback address is a preview the pixel ignores, however spelled: the
    # partner's page is at a name, which Chromium alone resolves to loopback.
    partner = HTTPServer(host="127.0.0.2", port=free_port())
    partner.start()
    shown: dict[str, str] = {}
    partner.expect_request("/copy/").respond_with_handler(
        lambda request: Response(shown["page"], content_type="text/html; charset=utf-8")
    )
    origin = f"http://partner.example:{partner.port}"

    def compliance() -> dict[str, int]:
        printed = feeds_cli(world.env, "partner", "compliance", "--csv")
        rows = csv.DictReader(io.StringIO(printed))
        return {r["origin"]: int(r["hits"]) for r in rows if r["url"] == story.url}

    def republished(article_url: str) -> int:
        printed = feeds_cli(world.env, "partner", "republications", "--csv")
        rows = csv.DictReader(io.StringIO(printed))
        return sum(
            int(r["hits"]) for r in rows if r["url"] == article_url and r["origin"] == origin
        )

    try:
        with sync_playwright() as playwright:
            resolve = "--host-resolver-rules=MAP partner.example 127.0.0.2"
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=[*FLAGS, resolve])
            try:
                page = browser.new_page()
                copies = {}
                for article in (story, other):
                    page.goto(article.url)
                    copies[article.id] = page.locator("#republish-html").input_value()
                assert urls.pixel(story.id) in copies[story.id]
                shown["page"] = f"<!DOCTYPE html><title>Partner</title>{copies[story.id]}"
                page.goto(origin + "/copy/")
                wait_for(lambda: republished(story.url) >= 1, "the hit before the withdrawal")
                assert compliance() == {}
                now = datetime.now(UTC).replace(microsecond=0)
                served = versions(world)
                front(
                    world.root / "articles" / "agua-potable-el-alto.md",
                    "authors:\n",
                    f'withdrawn:\n  date: {now.isoformat()}\n  reason: "Wrong city."\nauthors:\n',
                )
                wait_for(
                    lambda: any(
                        c["id"] == story.id and c["event"] == "withdrawn" for c in stream(world)
                    ),
                    "the withdrawal in the stream",
                )
                every_worker_serves_past(world, served)
                page.goto(origin + "/copy/")
                wait_for(lambda: compliance() == {origin: 1}, "the alert")
                desk = browser.new_context(
                    http_credentials={"username": "desk", "password": world.editor}
                ).new_page()
                desk.goto(world.base + "desk/")
                alerts = desk.locator("#compliance").locator("xpath=..").inner_text()
                assert origin in alerts and story.title in alerts
                # The partner takes the story down, and shows another one instead.
                shown["page"] = f"<!DOCTYPE html><title>Partner</title>{copies[other.id]}"
                before = republished(other.url)
                page.goto(origin + "/copy/")
                wait_for(lambda: republished(other.url) > before, "the other story's hit")
                assert compliance() == {origin: 1}
            finally:
                browser.close()
    finally:
        partner.stop()
