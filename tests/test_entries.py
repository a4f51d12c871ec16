"""Each article's feed entry is rendered once per format and variant, and its
bytes are reused in every feed that carries it: the site's, its tags',
authors' and sections' feeds, the archive documents, the updates feeds and
the partners' early-access feeds. Counted, not timed; and every feed is
byte for byte what it is when each one renders its entries itself."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from conftest import generate, write
from feeds import urls
from feeds.content.directory import load
from feeds.outputs import feedgen_formats, jsonfeed
from feeds.outputs.plan import Access, Plan
from feeds.outputs.render import Entries, Renderer

#: A moment at which the sample (with early access 60 days ahead) has a story
#: under embargo in the partners' feeds, and withdrawals to tombstone.
EMBARGOED = datetime(2027, 2, 20, tzinfo=UTC)


def feed_paths(plan: Plan) -> list[str]:
    """Every feed of the plan, public or for partners with a token."""
    names = tuple(urls.FEED_FILES.values())
    return [p for p in plan.paths(Access.PUBLIC, Access.TOKEN) if p.endswith(names)]


def each_on_its_own(plan: Plan, paths: list[str]) -> dict[str, bytes]:
    """Every feed as rendered with entries of its own (a fresh renderer each)."""
    found = {}
    for path in paths:
        out = plan.outputs[path]
        renderer = Renderer(plan.renderer.site, plan.renderer.nav)
        found[path] = out.build(renderer, *out.inputs)
    return found


@pytest.fixture
def early_sample(sample: Path) -> Path:
    with (sample / "site.toml").open("a", encoding="utf-8") as toml:
        toml.write("early_access_days = 60\n")
    return sample


@pytest.fixture
def wire(tmp_path: Path) -> Path:
    """A generated wire: stories with several tags and authors each."""
    return generate(tmp_path / "wire", 60)


def counting(monkeypatch: pytest.MonkeyPatch) -> Counter[tuple[str, str]]:
    """Counts entries rendered, by article id and format."""
    made: Counter[tuple[str, str]] = Counter()

    def spy(module: Any, name: str, fmt: Callable[[tuple[Any, ...]], str]) -> None:
        real = getattr(module, name)

        def counted(*args: Any) -> Any:
            made[(args[1].id if module is feedgen_formats else args[0].id, fmt(args))] += 1
            return real(*args)

        monkeypatch.setattr(module, name, counted)

    spy(feedgen_formats, "_entry", lambda args: args[3])
    spy(jsonfeed, "_item", lambda args: "json")
    return made


@pytest.mark.parametrize("budget", [None, 20_000])
def test_reused_entries_are_the_bytes_each_feed_renders_alone(
    early_sample: Path, wire: Path, budget: int | None
) -> None:
    # With a budget of a few entries, most are dropped and rendered again.
    for root, now in ((early_sample, EMBARGOED), (wire, datetime(2030, 1, 1, tzinfo=UTC))):
        plan = Plan(load(root), now)
        if budget is not None:
            plan.renderer.entries = Entries(budget)
        paths = feed_paths(plan)
        shared = {path: plan.render(path) for path in paths}
        assert shared == each_on_its_own(plan, paths)
        entries = plan.renderer.entries
        if budget is None:  # reused: more often than there are feeds
            assert entries.hits > len(paths)
        else:  # dropped: rendered more often than once per format and variant
            assert entries.misses > 3 * len(plan.content.articles)


def test_partners_embargoed_entries_differ_from_public_ones(early_sample: Path) -> None:
    plan = Plan(load(early_sample), EMBARGOED)
    public = plan.render("rss.xml").decode()
    partners = plan.render(urls.feed(urls.partners(urls.HOME), "rss")).decode()
    again = plan.render(urls.feed(urls.partners(urls.HOME), "rss")).decode()
    assert partners == again
    assert "EMBARGOED until" in partners and "EMBARGOED" not in public


def test_each_entry_is_rendered_once_per_format_and_variant(
    wire: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    made = counting(monkeypatch)
    plan = Plan(load(wire), datetime(2030, 1, 1, tzinfo=UTC))
    paths = [p for p in feed_paths(plan) if not p.startswith("partners/")]
    feeds = {path: plan.render(path) for path in paths}
    carried = sum(feeds[path].count(b"<item>") for path in paths)
    ids = {a.id for a in plan.content.articles}
    # Every story is in several feeds of each format, and rendered in one.
    assert carried > 3 * len(ids)
    assert made == Counter({(i, fmt): 1 for i in ids for fmt in ("rss", "atom", "json")})
    # The partners' feeds carry more (the republishing notice): a variant of
    # their own, rendered once more per format.
    partners = b"".join(plan.render(p) for p in feed_paths(plan) if p.startswith("partners/"))
    shown = {i for i in ids if f'<guid isPermaLink="false">{i}</guid>'.encode() in partners}
    assert len(shown) > len(ids) / 2
    assert made == Counter(
        {(i, fmt): 1 + (i in shown) for i in ids for fmt in ("rss", "atom", "json")}
    )


def test_an_entry_kept_in_one_feed_is_not_lost_to_a_site_without_entries(
    content: Path, now: datetime
) -> None:
    # A site whose every story is a draft: feeds with no entry at all.
    write(content, "articles/good.md", (content / "articles/good.md").read_text() + "\n")
    text = (content / "articles/good.md").read_text().replace("---\n", "---\ndraft: true\n", 1)
    (content / "articles/good.md").write_text(text)
    plan = Plan(load(content), now)
    paths = feed_paths(plan)
    assert {path: plan.render(path) for path in paths} == each_on_its_own(plan, paths)
    assert b"<item>" not in plan.render("rss.xml")
    assert b"<entry" not in plan.render("atom.xml")


def test_each_card_is_rendered_once_however_many_pages_list_it(
    wire: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from feeds.outputs import pages

    made: Counter[str] = Counter()
    real = pages.environment().get_template("card.html")

    class Counted:
        def render(self, *args: Any, **values: Any) -> str:
            made[values["article"].id] += 1
            return real.render(*args, **values)

    env = pages.environment()
    original = env.get_template

    def template(name: str, *args: Any, **values: Any) -> Any:
        return Counted() if name == "card.html" else original(name, *args, **values)

    plan = Plan(load(wire), datetime(2030, 1, 1, tzinfo=UTC))
    listing_pages = [p for p, out in plan.outputs.items() if out.build is pages.listing_page]
    alone = each_on_its_own(plan, listing_pages)
    monkeypatch.setattr(env, "get_template", template)
    shared = {path: plan.render(path) for path in listing_pages}
    assert shared == alone
    listed = sum(page.count(b'<li lang="') for page in shared.values())
    assert listed > 3 * len(plan.content.articles)
    assert made == Counter({a.id: 1 for a in plan.content.articles})
