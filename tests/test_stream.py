"""Partners in sync: the kind of each change (:mod:`feeds.publish.events`), the change
stream (:mod:`feeds.publish.stream`) on a real state database, replayed from any
cursor, and the signed webhooks (:mod:`feeds.publish.webhooks`) with a receiver the
test plays, verified by the Standard Webhooks reference library.

The receiver over HTTP, the app under gunicorn and PostgreSQL are in
tests/test_webhooks.py (slow)."""

from __future__ import annotations

import base64
import dataclasses
import json
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from conftest import NOW, START, check_ninjs, site, story, touch_later
from feeds.content.directory import load
from feeds.model import Article, Content, Correction, Withdrawal
from feeds.publish import events, exchange, stream, webhooks
from feeds.state import partners
from feeds.state.database import State
from webapp import create_app

SITE = "https://wire.example.org/"


@pytest.fixture
def site_content(content: Path) -> Content:
    return load(content).content


def numbered(base: Article, number: int, date: datetime) -> Article:
    return dataclasses.replace(
        base,
        id=f"tag:wire.example.org,2026:{number}",
        slug=f"story-{number}",
        url=f"{SITE}articles/story-{number}/",
        path=f"articles/story-{number}.md",
        title=f"Story {number}",
        date=date,
        updated=None,
        corrections=(),
        withdrawn=None,
    )


def with_articles(content: Content, *articles: Article) -> Content:
    return dataclasses.replace(content, articles=articles)


# -- the kind of each change -------------------------------------------------------------


def kinds(
    content: Content, old: Article | None, new: Article | None, before: datetime, now: datetime
) -> dict[str, str]:
    key = (old or new).id  # type: ignore[union-attr]
    return events.happened({key: old}, {key: new}, before, now, content.site)


def test_each_kind_of_change(site_content: Content) -> None:
    base = numbered(site_content.articles[0], 1, NOW - timedelta(days=1))
    later = NOW + timedelta(hours=1)
    embargoed = dataclasses.replace(base, date=NOW + timedelta(days=2))
    assert kinds(site_content, None, base, NOW, NOW) == {base.id: "published"}
    assert kinds(site_content, None, embargoed, NOW, NOW) == {base.id: "published"}
    # Time alone: the embargo lifts.
    assert kinds(site_content, embargoed, embargoed, NOW, NOW + timedelta(days=3)) == {
        base.id: "released"
    }
    # Beyond the early access, nothing; time alone brings it in.
    far = dataclasses.replace(base, date=NOW + timedelta(days=20))
    assert kinds(site_content, None, far, NOW, NOW) == {}
    assert kinds(site_content, far, far, NOW, NOW + timedelta(days=14)) == {base.id: "published"}
    moved = dataclasses.replace(base, updated=later)
    assert kinds(site_content, base, moved, NOW, NOW) == {base.id: "updated"}
    corrected = dataclasses.replace(base, corrections=(Correction(NOW, "A figure was wrong."),))
    assert kinds(site_content, base, corrected, NOW, NOW) == {base.id: "corrected"}
    typo = dataclasses.replace(base, body_html=base.body_html.replace("third", "3rd"))
    assert kinds(site_content, base, typo, NOW, NOW) == {base.id: "refiled"}
    assert kinds(site_content, base, base, NOW, later) == {}
    gone = dataclasses.replace(base, withdrawn=Withdrawal(later, "The study was retracted."))
    assert kinds(site_content, base, gone, NOW, NOW) == {}  # not yet: nothing a partner sees
    assert kinds(site_content, gone, gone, NOW, later) == {base.id: "withdrawn"}
    # Killed before its embargo lifted.
    killed = dataclasses.replace(embargoed, withdrawn=Withdrawal(NOW, "Legal advice."))
    assert kinds(site_content, embargoed, killed, NOW, NOW) == {base.id: "withdrawn"}
    # Deleted, made a draft, or no longer for republishing: gone for partners.
    assert kinds(site_content, base, None, NOW, NOW) == {base.id: "withdrawn"}
    draft = dataclasses.replace(base, draft=True)
    assert kinds(site_content, base, draft, NOW, NOW) == {base.id: "withdrawn"}
    closed = dataclasses.replace(base, republish=False)
    assert kinds(site_content, base, closed, NOW, NOW) == {base.id: "withdrawn"}
    assert kinds(site_content, None, closed, NOW, NOW) == {}
    assert kinds(site_content, None, gone, later, later) == {}  # never seen: nothing to kill


# -- the stream ---------------------------------------------------------------------------


def read_all(state: State, since: int = 0, limit: int = stream.PAGE) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    while True:
        answer = json.loads(stream.page(state, SITE, since, limit))
        found += answer["changes"]
        if not answer["changes"]:
            assert answer["next"] == str(since)
            return found
        since = int(answer["next"])


def test_a_change_is_appended_once_however_many_workers_judge_it(
    state: State, site_content: Content
) -> None:
    base = numbered(site_content.articles[0], 1, NOW - timedelta(days=1))
    first = with_articles(site_content, base)
    assert len(stream.record(state, first, NOW, 100.0, 1000.0)) == 1
    # A second worker, a second server: the same version, nothing more.
    assert stream.record(state, first, NOW, 100.0, 1001.0) == []
    fixed = with_articles(site_content, dataclasses.replace(base, summary="Fixed."))
    # Two workers compared the same row: only one moves it.
    told = state.told(SITE)
    one = stream.tellings(fixed, told, NOW)
    assert state.tell(SITE, one, 101.0, 1002.0) != []
    assert state.tell(SITE, one, 101.0, 1003.0) == []
    # A worker that has not reloaded yet never takes it back.
    assert stream.record(state, first, NOW, 100.5, 1004.0) == []
    changes = read_all(state)
    assert [c["event"] for c in changes] == ["published", "refiled"]
    assert [c["seq"] for c in changes] == sorted(c["seq"] for c in changes)
    assert {c["id"] for c in changes} == {base.id}
    assert changes[0]["url"] == base.url and changes[0]["at"].endswith("Z")
    assert changes[1]["item"]["uri"] == base.id


def test_a_withdrawal_reaches_the_stream_with_its_reason_when_its_time_comes(
    state: State, site_content: Content
) -> None:
    base = numbered(site_content.articles[0], 1, NOW - timedelta(days=1))
    due = NOW + timedelta(hours=2)
    reason = "The study was retracted by its authors."
    gone = dataclasses.replace(base, withdrawn=Withdrawal(due, reason))
    stream.record(state, with_articles(site_content, gone), NOW, 1.0, 1.0)
    stream.record(state, with_articles(site_content, gone), NOW + timedelta(hours=1), 2.0, 2.0)
    stream.record(state, with_articles(site_content, gone), NOW + timedelta(hours=3), 3.0, 3.0)
    changes = read_all(state)
    assert [c["event"] for c in changes] == ["published", "withdrawn"]
    assert changes[1]["at"] == due.isoformat().replace("+00:00", "Z")
    assert changes[1]["item"]["pubstatus"] == "canceled"


# -- replay: a consumer ends with exactly what partners may see ----------------------------

OPS = st.one_of(
    st.tuples(st.just("add"), st.integers(0, 4), st.integers(-3, 12)),
    st.tuples(
        st.sampled_from(
            ["typo", "correct", "update", "withdraw", "delete", "draft", "closed", "reopen"]
        ),
        st.integers(0, 4),
        st.just(0),
    ),
    st.tuples(st.just("tick"), st.just(0), st.integers(1, 96)),
)


def apply(consumer: dict[str, dict[str, Any]], change: dict[str, Any]) -> None:
    """What a partner's system does with a change: keep the item, or drop it."""
    if change["event"] == "withdrawn":
        consumer.pop(change["id"], None)
    else:
        consumer[change["id"]] = change["item"]


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(steps=st.lists(OPS, min_size=1, max_size=14), page=st.integers(1, 4))
def test_a_consumer_replaying_from_any_cursor_ends_with_what_partners_may_see(
    site_content: Content,
    validator: Draft202012Validator,
    steps: list[tuple[str, int, int]],
    page: int,
) -> None:
    base = site_content.articles[0]
    site = site_content.site
    now = NOW
    articles: dict[int, Article] = {}
    with tempfile.TemporaryDirectory() as folder:
        state = State(f"sqlite:///{folder}/state.db")
        try:
            for moment, (op, number, amount) in enumerate(steps):
                article = articles.get(number)
                if op == "add" and article is None:
                    articles[number] = numbered(base, number, now + timedelta(days=amount))
                elif op == "tick":
                    now += timedelta(hours=amount)
                elif article is not None:
                    articles[number] = change(article, op, now, moment)
                    if op == "delete":
                        del articles[number]
                content = with_articles(site_content, *articles.values())
                stream.record(state, content, now, float(moment), float(moment))
            expected = {
                a.id: stream.item(a, site, now)
                for a in articles.values()
                if (standing := events.standing(a, now, site)) is not None
                and standing.state != events.WITHDRAWN
            }
            everything = read_all(state, 0, page)
            for one in everything:  # canceled ones too: valid ninjs 2.2
                check_ninjs(validator, one["item"])
            expected_json = json.loads(json.dumps(expected))
            for cursor in range(len(everything) + 1):
                consumer: dict[str, dict[str, Any]] = {}
                for earlier in everything[:cursor]:
                    apply(consumer, earlier)
                since = everything[cursor - 1]["seq"] if cursor else 0
                for later in read_all(state, since, page):
                    apply(consumer, later)
                assert consumer == expected_json
        finally:
            state.close()


def change(article: Article, op: str, now: datetime, moment: int) -> Article:
    if op == "typo":
        return dataclasses.replace(article, summary=f"{article.summary} ({moment})")
    if op == "correct":
        fix = Correction(now, f"Correction {moment}.")
        return dataclasses.replace(article, corrections=(*article.corrections, fix))
    if op == "update":
        return dataclasses.replace(article, updated=max(now, article.date))
    if op == "withdraw":
        return dataclasses.replace(article, withdrawn=Withdrawal(now, f"Withdrawn {moment}."))
    if op == "draft":
        return dataclasses.replace(article, draft=not article.draft)
    if op == "closed":
        return dataclasses.replace(article, republish=False)
    if op == "reopen":
        return dataclasses.replace(article, republish=True, withdrawn=None)
    return article


# -- the stream over HTTP ------------------------------------------------------------------


def test_the_stream_is_behind_the_partner_token_and_pages_with_a_cursor(
    content: Path, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'state' / 'feeds.db'}"
    state = State(url)
    token, kept = partners.new_token()
    assert state.add_partner("La Prensa", partners.EARLY_ACCESS, None, kept, NOW.timestamp())
    site_content = load(content).content
    many = [numbered(site_content.articles[0], n, NOW - timedelta(days=1)) for n in range(130)]
    stream.record(state, with_articles(site_content, *many), NOW, 1.0, 1.0)
    # The app's own worker judges the fixture's content against that, once,
    # as it loads it (not with a request): its article, and the 130 gone.
    base = site_content.site.base_url
    told = 130 + len(stream.tellings(site_content, state.told(base, None), NOW))
    app = create_app({"CONTENT": str(content), "STATE": url, "NOW": NOW.isoformat(), "CACHE": None})
    client = app.test_client()
    assert client.get("/partners/changes.json").status_code == 401
    auth = {"Authorization": f"Bearer {token}"}
    first = client.get("/partners/changes.json", headers=auth)
    assert first.status_code == 200
    assert first.headers["Content-Type"].startswith("application/json")
    assert "no-store" in first.headers["Cache-Control"]
    assert len(first.get_json()["changes"]) == stream.PAGE
    # Wait until the stream holds what the worker tells.

    def walk() -> tuple[list[int], str]:
        seqs, since = [], "0"
        while True:
            body = client.get(f"/partners/changes.json?since={since}", headers=auth).get_json()
            assert len(body["changes"]) <= stream.PAGE
            seqs += [c["seq"] for c in body["changes"]]
            if not body["changes"]:
                return seqs, body["next"]
            since = body["next"]

    deadline = time.monotonic() + 30
    while len(walk()[0]) < told and time.monotonic() < deadline:
        time.sleep(0.1)
    seqs, end = walk()
    assert len(seqs) == len(set(seqs)) == told and seqs == sorted(seqs)
    last = client.get(f"/partners/changes.json?since={end}", headers=auth).get_json()
    assert last == {"changes": [], "next": end}
    bad = client.get("/partners/changes.json?since=tomorrow", headers=auth)
    assert bad.status_code == 400 and "cursor" in bad.get_json()["error"]
    state.close()


# -- webhooks -------------------------------------------------------------------------------


class Receiver:
    """Stands for a partner's endpoint: answers with the statuses it is
    given, in turn (then 204), and keeps what it was sent."""

    def __init__(self, *statuses: int) -> None:
        self.statuses = list(statuses)
        self.received: list[tuple[str, dict[str, str], bytes]] = []

    def __call__(
        self, method: str, url: str, headers: dict[str, str], body: bytes, deadline: float
    ) -> exchange.Answer:
        assert method == "POST" and deadline <= webhooks.DEADLINE
        self.received.append((url, dict(headers), body))
        status = self.statuses.pop(0) if self.statuses else 204
        if status == 0:
            raise exchange.ExchangeError(exchange.TIMED_OUT)
        return exchange.Answer(status, "")


def hooked(state: State, name: str = "La Prensa", url: str = "http://127.0.0.1:9/hook") -> str:
    _, kept = partners.new_token()
    state.add_partner(name, partners.EARLY_ACCESS, None, kept, NOW.timestamp())
    secret = webhooks.new_secret()
    state.set_endpoint(name, url, secret, NOW.timestamp())
    return secret


def test_each_change_is_posted_once_signed_in_order_and_retried_after_a_failure(
    state: State, site_content: Content, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = hooked(state)
    receiver = Receiver(500, 0)  # a 500, then no answer in time, then 204s
    monkeypatch.setattr(exchange, "request", receiver)
    clock = [5000.0]
    base = numbered(site_content.articles[0], 1, NOW - timedelta(days=1))
    other = numbered(site_content.articles[0], 2, NOW - timedelta(days=1))
    stream.record(state, with_articles(site_content, base), NOW, 1.0, clock[0])
    fixed = dataclasses.replace(base, corrections=(Correction(NOW, "Fixed."),))
    stream.record(state, with_articles(site_content, fixed, other), NOW, 2.0, clock[0])
    tried = webhooks.deliver(state, "w1", lambda: clock[0])
    assert [t.status for t in tried] == [500]  # the next ones wait behind it
    assert tried[0].retry == clock[0] + webhooks.BACKOFF <= clock[0] + 15
    assert webhooks.deliver(state, "w2", lambda: clock[0]) == []  # not due yet
    clock[0] += webhooks.BACKOFF
    tried = webhooks.deliver(state, "w2", lambda: clock[0])
    assert [t.error for t in tried] == ["timed out"]
    assert tried[0].retry == clock[0] + 2 * webhooks.BACKOFF  # doubling
    clock[0] += 2 * webhooks.BACKOFF
    assert [t.status for t in webhooks.deliver(state, "w1", lambda: clock[0])] == [204] * 3
    assert webhooks.deliver(state, "w1", lambda: clock[0] + 10_000) == []  # exactly once
    seen = []
    for _, headers, body in receiver.received:
        payload = verified(secret, body, headers)
        seen.append((headers["webhook-id"], payload["seq"], payload["event"]))
    stream_seqs = [c["seq"] for c in read_all(state)]
    assert [s for _, s, _ in seen] == [stream_seqs[0]] * 3 + stream_seqs[1:]
    assert [e for _, _, e in seen[2:]] == ["published", "corrected", "published"]
    assert len({i for i, _, _ in seen}) == 3  # one webhook-id per change, the same on retries
    rows = state.deliveries("La Prensa")
    assert [(r.attempts, r.status, r.delivered is not None) for r in rows] == [
        (3, 204, True),
        (1, 204, True),
        (1, 204, True),
    ]


def test_a_410_turns_the_endpoint_off_and_a_day_of_failures_gives_a_change_up(
    state: State, site_content: Content, monkeypatch: pytest.MonkeyPatch
) -> None:
    hooked(state, "Gone Daily", "http://127.0.0.1:9/gone")
    hooked(state, "Down Daily", "http://127.0.0.1:9/down")
    receiver = Receiver()

    def answer(
        method: str, url: str, headers: dict[str, str], body: bytes, deadline: float
    ) -> exchange.Answer:
        receiver.received.append((url, headers, body))
        return exchange.Answer(410 if url.endswith("gone") else 503, "")

    monkeypatch.setattr(exchange, "request", answer)
    clock = [5000.0]
    two = [numbered(site_content.articles[0], n, NOW - timedelta(days=1)) for n in (1, 2)]
    stream.record(state, with_articles(site_content, *two), NOW, 1.0, clock[0])
    tried = webhooks.deliver(state, "w", lambda: clock[0])
    assert sorted((t.partner, t.status, t.off) for t in tried) == [
        ("Down Daily", 503, False),
        ("Gone Daily", 410, True),
    ]
    off = {e.partner: e for e in state.endpoints()}
    assert off["Gone Daily"].off == clock[0] and off["Down Daily"].off is None
    while clock[0] < 5000.0 + 2 * webhooks.GIVE_UP_AFTER:
        clock[0] = state.next_delivery() or clock[0] + webhooks.GIVE_UP_AFTER
        webhooks.deliver(state, "w", lambda: clock[0])
    rows = state.deliveries()
    gone = [r for r in rows if r.partner == "Gone Daily"]
    assert [(r.status, r.done, r.attempts) for r in gone] == [(410, True, 1), (None, True, 0)]
    down = [r for r in rows if r.partner == "Down Daily"]
    assert all(r.done and r.error and r.error.startswith("given up") for r in down)
    # Tried at 10, 20, 40 ... seconds' intervals until a day had passed.
    assert 12 <= down[0].attempts <= 14
    assert sum(1 for url, _, _ in receiver.received if url.endswith("gone")) == 1


def test_the_signature_is_the_specifications() -> None:
    secret = "whsec_" + base64.b64encode(b"k" * 32).decode()
    body = b'{"seq": 1}'
    signature = webhooks.sign(secret, "msg_1", 1_700_000_000, body)
    headers = {
        "webhook-id": "msg_1",
        "webhook-timestamp": "1700000000",
        "webhook-signature": signature,
    }
    assert verified(secret, body, headers) == {"seq": 1}
    with pytest.raises(WebhookVerificationError):
        verified(secret, body + b" ", headers)
    assert webhooks.is_secret(webhooks.new_secret()) and not webhooks.is_secret("whsec_x")


def verified(secret: str, body: bytes, headers: dict[str, str]) -> Any:
    """The payload, once the Standard Webhooks library has verified it. It
    refuses a timestamp 5 minutes away from its clock: the test's clock is
    the one the sender was given, so the library's is set to it."""
    moment = datetime.fromtimestamp(int(headers["webhook-timestamp"]), UTC)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("standardwebhooks.webhooks.datetime", FrozenDatetime(moment))
        return Webhook(secret).verify(body, headers)


class FrozenDatetime:
    """``datetime`` as the verifier reads it, at one moment."""

    def __init__(self, moment: datetime) -> None:
        self.moment = moment

    def now(self, tz: Any = None) -> datetime:
        return self.moment.astimezone(tz) if tz else self.moment

    def __getattr__(self, name: str) -> Any:
        return getattr(datetime, name)


# -- the build, and the commands -------------------------------------------------------------


def test_the_build_tells_partners_once_with_a_state_database(
    content: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from feeds.cli import main

    database = tmp_path / "state" / "feeds.db"
    out = tmp_path / "out"
    monkeypatch.setenv("FEEDS_NOW", NOW.isoformat())
    monkeypatch.delenv("FEEDS_DATABASE_URL", raising=False)
    monkeypatch.setenv("FEEDS_STATE", str(database))
    args = ["build", "--content", str(content), "--out", str(out), "--no-cache"]
    assert main(args) == 0
    assert "told partners" not in capsys.readouterr().out
    assert not database.exists()  # no state database: none is made
    State(f"sqlite:///{database}").close()  # as `feeds partner add` makes it
    assert main(args) == 0
    assert "told partners of 1 change" in capsys.readouterr().out
    assert main(args) == 0
    assert "told partners" not in capsys.readouterr().out
    good = content / "articles" / "good.md"
    good.write_text(good.read_text(encoding="utf-8") + "\nA typo fixed.\n", encoding="utf-8")
    assert main(args) == 0
    assert "told partners of 1 change" in capsys.readouterr().out
    state = State(f"sqlite:///{database}")
    assert [c["event"] for c in read_all(state)] == ["published", "refiled"]
    state.close()


def test_webhook_deliveries_and_resend_from_the_command_line(
    content: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from feeds.cli import main

    database = tmp_path / "state" / "feeds.db"
    monkeypatch.setenv("FEEDS_STATE", str(database))
    monkeypatch.setenv("FEEDS_CONTENT", str(content))
    monkeypatch.setenv("FEEDS_NOW", NOW.isoformat())
    monkeypatch.setenv("FEEDS_CACHE", str(tmp_path / "cache.sqlite"))
    receiver = Receiver()
    monkeypatch.setattr(exchange, "request", receiver)
    assert main(["partner", "webhook", "Nobody", "http://127.0.0.1:9/"]) == 1
    assert "no partner is named 'Nobody'" in capsys.readouterr().err
    assert main(["partner", "add", "La Prensa"]) == 0
    assert main(["partner", "webhook", "La Prensa", "ftp://x/"]) == 1
    capsys.readouterr()
    assert main(["partner", "webhook", "La Prensa", "http://127.0.0.1:9/hook"]) == 0
    secret = next(line.strip() for line in capsys.readouterr().out.splitlines() if "whsec_" in line)
    assert webhooks.is_secret(secret)
    assert main(["partner", "deliveries"]) == 0
    assert "no webhook deliveries" in capsys.readouterr().out
    assert main(["build", "--out", str(tmp_path / "out"), "--no-cache"]) == 0
    assert "told partners of 1 change; 1 webhook delivered" in capsys.readouterr().out
    article = load(content).content.articles[0]
    assert main(["partner", "resend", "La Prensa", article.slug]) == 0
    assert "sent change 1" in capsys.readouterr().out
    ids = [headers["webhook-id"] for _, headers, _ in receiver.received]
    assert ids[0] == "msg_1" and ids[1].startswith("msg_1_") and len(ids) == 2
    for _, headers, body in receiver.received:
        assert verified(secret, body, headers)["id"] == article.id
    assert main(["partner", "deliveries", "La Prensa"]) == 0
    rows = capsys.readouterr().out.splitlines()[1:]
    assert [(" delivered " in row, "published" in row) for row in rows] == [(True, True)] * 2
    state = State(f"sqlite:///{database}")
    state.resend("La Prensa", 1, NOW.timestamp())
    assert main(["partner", "revoke", "La Prensa"]) == 0
    assert webhooks.deliver(state, "w", lambda: NOW.timestamp() + 1) == []  # revoked: nothing
    state.close()
    assert main(["partner", "webhook", "La Prensa", "--off"]) == 0
    assert main(["partner", "resend", "La Prensa", article.slug]) == 1
    assert "has no webhook endpoint" in capsys.readouterr().err
    assert main(["partner", "compliance"]) == 0
    assert "no withdrawn story" in capsys.readouterr().out


def test_a_slow_receiver_holds_up_only_its_own_partner(
    state: State, site_content: Content, monkeypatch: pytest.MonkeyPatch
) -> None:
    hooked(state, "Slow Daily", "http://127.0.0.1:9/slow")
    hooked(state, "Quick Daily", "http://127.0.0.1:9/quick")
    release = threading.Event()
    quick: list[str] = []

    def answer(
        method: str, url: str, headers: dict[str, str], body: bytes, deadline: float
    ) -> exchange.Answer:
        if url.endswith("slow"):
            assert release.wait(30)  # stands for a receiver that answers late
        else:
            quick.append(json.loads(body)["id"])
        return exchange.Answer(204, "")

    monkeypatch.setattr(exchange, "request", answer)
    three = [numbered(site_content.articles[0], n, NOW - timedelta(days=1)) for n in (1, 2, 3)]
    stream.record(state, with_articles(site_content, *three), NOW, 1.0, 1.0)
    sender = webhooks.Sender(lambda: state, "w", lambda: 10.0)
    sender.work()
    deadline = time.monotonic() + 30
    while len(quick) < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    # Every change reached the quick partner while the slow one held its first.
    assert quick == [a.id for a in three]
    slow = [r for r in state.deliveries("Slow Daily") if r.delivered is not None]
    assert slow == []
    release.set()
    while (
        len([r for r in state.deliveries("Slow Daily") if r.delivered is not None]) < 3
        and time.monotonic() < deadline
    ):
        time.sleep(0.05)
    assert all(r.delivered is not None for r in state.deliveries())


def test_a_reload_judges_only_the_articles_that_moved(
    state: State, site_content: Content, monkeypatch: pytest.MonkeyPatch
) -> None:
    judged: list[str] = []
    filed = events.filed

    def counting(article: Article) -> str:
        judged.append(article.id)
        return filed(article)

    monkeypatch.setattr(events, "filed", counting)
    base = site_content.articles[0]
    many = [numbered(base, n, NOW - timedelta(days=1)) for n in range(50)]
    soon = numbered(base, 50, NOW + timedelta(hours=2))  # in the early access
    first = with_articles(site_content, *many, soon)
    assert len(stream.record(state, first, NOW, 1.0, 1.0)) == 51  # a first start: all of them
    judged.clear()
    edited = [*many[:10], dataclasses.replace(many[10], summary="Fixed."), *many[11:], soon]
    previous = {a.id: a for a in first.articles}
    later = NOW + timedelta(hours=3)  # the embargo lifted meanwhile
    told = stream.record(
        state, with_articles(site_content, *edited), later, 2.0, 2.0, previous, NOW
    )
    assert sorted(judged) == sorted([many[10].id, soon.id])
    assert [c["event"] for c in read_all(state)][-2:] == ["refiled", "released"]
    assert len(told) == 2


def test_fast_builds_tell_partners_of_each_change_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A story deleted, withdrawn, published, released by time, corrected,
    and one whose early access starts: each reaches the stream once through
    builds on the fast path, which judge only the articles involved."""

    from feeds.cache import Cache
    from feeds.cli import tell_partners
    from feeds.publish.build import build

    root = site(tmp_path / "content", 6)
    first = START + timedelta(days=1)
    write_story = (root / "articles").joinpath
    write_story("soon.md").write_text(  # embargoed: in the early access from the start
        story("Soon", first + timedelta(days=1), ("Water",), "ana")
    )
    write_story("later.md").write_text(  # its early access starts on day 3
        story("Later", first + timedelta(days=10), ("Water",), "ana")
    )
    database = tmp_path / "state" / "feeds.db"
    monkeypatch.delenv("FEEDS_DATABASE_URL", raising=False)
    monkeypatch.setenv("FEEDS_STATE", str(database))
    State(f"sqlite:///{database}").close()  # as `feeds partner add` makes it
    out, cache = tmp_path / "out", Cache(tmp_path / "cache.db")
    state = State(f"sqlite:///{database}")

    def built(now: datetime) -> list[tuple[str, str]]:
        """Build and tell as `feeds build` does: the changes told, (event, slug)."""
        told = len(read_all(state))
        report = build(root, out, now, cache)
        if now > first:
            assert report.whole is False
        if report.content is not None:  # (None: nothing to do)
            tell_partners(report.content, now, report.previous, report.before)
            if now > first:
                assert len(report.content.articles) <= 1  # what changed, not the site
        return [(c["event"], c["url"].rsplit("/", 2)[-2]) for c in read_all(state)[told:]]

    opening = built(first)
    assert sorted(opening) == sorted(
        [("published", f"s{n:03d}") for n in range(6)] + [("published", "soon")]
    )
    now = first + timedelta(minutes=1)
    (root / "articles" / "s000.md").unlink()
    assert built(now) == [("withdrawn", "s000")]

    now += timedelta(minutes=1)
    path = root / "articles" / "s001.md"
    extra = f'withdrawn:\n  date: {now.isoformat()}\n  reason: "It was wrong."\n'
    path.write_text(path.read_text().replace("---\n", "---\n" + extra, 1))
    touch_later(path)
    assert built(now) == [("withdrawn", "s001")]

    now += timedelta(minutes=1)
    write_story("new.md").write_text(story("New", now - timedelta(seconds=30), ("Work",), "joao"))
    assert built(now) == [("published", "new")]

    now += timedelta(minutes=1)
    path = root / "articles" / "s002.md"
    fixed = f"corrections:\n  - date: {now.isoformat()}\n    text: A name was wrong.\n"
    path.write_text(path.read_text().replace("---\n", "---\n" + fixed, 1))
    touch_later(path)
    assert built(now) == [("corrected", "s002")]

    assert built(first + timedelta(days=1, minutes=1)) == [("released", "soon")]
    assert built(first + timedelta(days=3, minutes=1)) == [("published", "later")]
    assert built(first + timedelta(days=3, minutes=2)) == []  # nothing to do

    # A build judging every article finds nothing left untold.
    cache.close()
    assert build(root, tmp_path / "whole", first + timedelta(days=3, minutes=3)).whole
    whole = load(root).content
    assert stream.record(state, whole, first + timedelta(days=3, minutes=3), 9.0, 9.0) == []
    state.close()
