"""Issue 23, item 9: an embargoed story killed with a notice (a withdrawal
dated before the story's date). The partners who could see it early are told
(their Atom feeds' RFC 6721 tombstones, the change stream, the webhooks), and
nothing public ever shows that it existed, before its date or after it."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from lxml import etree

from conftest import NOW, state_database, state_env, write
from feeds.cli import main
from feeds.content.directory import load
from feeds.outputs.listings import last_change
from feeds.outputs.plan import Plan
from feeds.publish import exchange, stream, webhooks
from feeds.state import partners
from feeds.state.database import State
from webapp import create_app

TITLE = "The minister resigns"
SLUG = "minister-resigns"
ID = "tag:wire.example.org,2026:minister-resigns"
REASON = "Legal advice: the resignation was not confirmed."
AT = "{http://purl.org/atompub/tombstones/1.0}"


def story(date: datetime, kill: datetime | None) -> str:
    withdrawn = f"withdrawn:\n  date: {kill.isoformat()}\n  reason: '{REASON}'\n" if kill else ""
    return (
        f"---\ntitle: {TITLE}\nid: {ID}\ndate: {date.isoformat()}\nauthors: [ana-quispe]\n"
        f"tags: [Cabinet]\n{withdrawn}---\nThe minister resigned this morning, a source says.\n"
    )


def traces(files: dict[str, bytes]) -> list[str]:
    """The files that show anything of the killed story."""
    marks = (TITLE.encode(), SLUG.encode(), ID.encode(), b"cabinet", b"Cabinet", b"Legal advice")
    return sorted(path for path, data in files.items() if any(m in data for m in marks))


def tombstones(atom: bytes) -> dict[str, str]:
    root = etree.fromstring(atom)
    return {e.get("ref"): e.findtext(f"{AT}comment") for e in root.iter(f"{AT}deleted-entry")}


def test_a_story_killed_under_embargo_leaves_no_public_trace(
    content: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """It was refused (`withdrawn.date: is before the article's date`): the
    only ways out were `draft: true` or deleting the file, telling partners
    nothing."""
    date = NOW + timedelta(days=2)
    write(content, f"articles/{SLUG}.md", story(date, NOW - timedelta(hours=1)))
    assert main(["check", "--content", str(content)]) == 0, capsys.readouterr().out
    capsys.readouterr()
    out = tmp_path / "out"
    for moment in (NOW, date + timedelta(hours=1), date + timedelta(days=200)):
        monkeypatch.setenv("FEEDS_NOW", moment.isoformat())
        assert main(["build", "--content", str(content), "--out", str(out)]) == 0
        files = {
            p.relative_to(out).as_posix(): p.read_bytes() for p in out.rglob("*") if p.is_file()
        }
        plan = Plan(load(content), moment)
        public = {path: plan.render(path) for path in plan.paths()}
        assert traces(public) == [], moment
        assert traces(files) == []
        client = create_app(
            {"CONTENT": str(content), "NOW": moment.isoformat(), "CACHE": None}
        ).test_client()
        for url in (f"/articles/{SLUG}/", f"/articles/{SLUG}/ninjs.json", "/tags/cabinet/"):
            assert client.get(url).status_code == 404, (url, moment)
        assert TITLE.encode() not in client.get("/withdrawals/").data
        # Public Last-Modified moves with nothing of it: not its kill, not its date.
        loaded = load(content)
        others = dataclasses.replace(
            loaded.content,
            articles=tuple(a for a in loaded.content.articles if a.slug != SLUG),
        )
        assert last_change(loaded.content, moment) == last_change(others, moment)
    # The partners, who saw it in their early access, have its tombstone.
    plan = Plan(load(content), NOW)
    assert tombstones(plan.render("partners/atom.xml")) == {ID: REASON}
    # A partner following only its tag learns of it too.
    assert tombstones(plan.render("partners/tags/cabinet/atom.xml")) == {ID: REASON}
    partner_json = json.loads(plan.render("partners/feed.json"))
    assert [w["reason"] for w in partner_json["_withdrawn"]] == [REASON]
    # Before the kill it was in their early access, marked embargoed.
    before = Plan(load(content), NOW - timedelta(hours=2)).render("partners/atom.xml")
    assert b"EMBARGOED until" in before and tombstones(before) == {}


def test_a_kill_before_the_early_access_opened_tells_no_one(content: Path) -> None:
    """Partners never saw it (killed before ``early_access_days`` before its
    date): no tombstone for them either."""
    date = NOW + timedelta(days=30)
    write(content, f"articles/{SLUG}.md", story(date, NOW - timedelta(hours=1)))
    for moment in (NOW, date + timedelta(days=1)):
        plan = Plan(load(content), moment)
        assert tombstones(plan.render("partners/atom.xml")) == {}
        assert TITLE.encode() not in plan.render("partners/atom.xml")


def test_a_withdrawal_dated_before_a_past_date_is_a_kill_and_check_says_so(
    content: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Content alone cannot tell a kill under embargo from a public story's
    withdrawal dated too early: both read as a kill, and once the story's
    date has passed `feeds check` warns, so an editor who meant to tell
    readers dates the withdrawal at or after the story's date."""
    good = content / "articles/good.md"
    text = good.read_text(encoding="utf-8")
    good.write_text(
        text.replace("---\nThe", "withdrawn:\n  date: 2026-10-01\n  reason: Wrong.\n---\nThe", 1),
        encoding="utf-8",
    )
    assert main(["check", "--content", str(content)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert any(
        line.startswith("articles/good.md: withdrawn.date: warning: is before the article's date")
        for line in lines
    ), lines


class Receiver:
    """A partner's endpoint that takes everything."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, object]] = []

    def __call__(
        self, method: str, url: str, headers: dict[str, str], body: bytes, deadline: float
    ) -> exchange.Answer:
        self.bodies.append(json.loads(body))
        return exchange.Answer(204, "")


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.slow)])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with state_database(request.param, tmp_path) as url:
        yield url


def test_partners_who_saw_it_are_told_of_the_kill_with_its_reason(
    content: Path,
    tmp_path: Path,
    database: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """One story killed by an edit, another by a kill dated ahead that comes
    due on a later build (the fast path): each a ``withdrawn`` change with
    the reason and a canceled ninjs item, posted to the webhook; nothing
    more when their dates pass."""
    for key, value in state_env(database).items():
        monkeypatch.setenv(key, value)
    state = State(database.replace("postgresql://", "postgresql+psycopg://", 1))
    _, kept = partners.new_token()
    state.add_partner("La Prensa", partners.EARLY_ACCESS, None, kept, NOW.timestamp())
    state.set_endpoint("La Prensa", "http://127.0.0.1:9/hook", webhooks.new_secret(), 1.0)
    out = tmp_path / "out"
    receiver = Receiver()  # the build posts what is owed
    monkeypatch.setattr(exchange, "request", receiver)

    def build_at(moment: datetime) -> None:
        monkeypatch.setenv("FEEDS_NOW", moment.isoformat())
        assert main(["build", "--content", str(content), "--out", str(out)]) == 0

    date = NOW + timedelta(days=2)
    later = story(date, None).replace(SLUG, "later").replace(TITLE, "Second story")
    write(content, f"articles/{SLUG}.md", story(date, None))
    write(content, "articles/later.md", later)
    build_at(NOW)
    write(content, f"articles/{SLUG}.md", story(date, NOW - timedelta(minutes=1)))
    kill = NOW + timedelta(hours=3)
    write(
        content,
        "articles/later.md",
        story(date, kill).replace(SLUG, "later").replace(TITLE, "Second story"),
    )
    build_at(NOW + timedelta(minutes=1))
    build_at(NOW + timedelta(hours=4))
    build_at(date + timedelta(days=1))
    changes = json.loads(stream.page(state, "https://wire.example.org/", 0))["changes"]
    ours = [(c["id"], c["event"]) for c in changes if c["event"] != "published"]
    later_id = ID.replace(SLUG, "later")
    assert ours == [(ID, "withdrawn"), (later_id, "withdrawn")], ours
    for change in changes[-2:]:
        assert change["item"]["pubstatus"] == "canceled"
        assert REASON in change["item"]["ednote"]
    assert changes[-1]["at"] == kill.isoformat().replace("+00:00", "Z")
    webhooks.deliver(state, "w1", lambda: NOW.timestamp() + 10)  # (all was sent)
    assert [(b["id"], b["event"]) for b in receiver.bodies][-2:] == [
        (ID, "withdrawn"),
        (later_id, "withdrawn"),
    ]
    state.close()
    capsys.readouterr()
