"""A build after a few changed articles plans only what they change
(:mod:`feeds.publish.fast`), and its export is byte for byte a clean build's.

Random sequences of what a wire does all day (new stories, back-dated ones,
edits, corrections, updates, withdrawals, deletions, drafts, stories scheduled
ahead, time passing past embargoes and tombstones) are applied to a small site whose pages and
archive documents fill fast, and after each step the incremental export is
compared with a clean build of the same content at the same moment. What the
fast path cannot do it hands to the whole build; the counting tests below
show that what a new story costs does not grow with the archive.
"""

from __future__ import annotations

import shutil
from datetime import datetime, timedelta
from pathlib import Path

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from conftest import (
    AUTHORS,
    SECTIONS,
    START,
    TAGS,
    clean,
    site,
    site_files,
    story,
    touch_later,
    write,
)
from feeds.cache import Cache
from feeds.publish.build import build


class Wire:
    """The content folder and the clock, changed as a wire's desk would."""

    def __init__(self, root: Path, now: datetime) -> None:
        self.root, self.now, self.made = root, now, 0

    def files(self) -> list[Path]:
        return sorted((self.root / "articles").glob("*.md"))

    def pick(self, n: int) -> Path:
        found = self.files()
        return found[n % len(found)]

    def new(
        self,
        n: int,
        back: bool = False,
        ahead: bool = False,
        draft: bool = False,
        topic: bool = False,
        desk: bool = False,
    ) -> None:
        self.made += 1
        if back:
            date = START + timedelta(hours=n % 40, minutes=30)
        elif ahead:
            date = self.now + timedelta(days=1 + n % 3)
        else:
            date = self.now - timedelta(minutes=1 + n % 50)
        tags = (f"Topic {n}",) if topic else (TAGS[n % 4],)
        extra = "draft: true\n" if draft else ""
        # A new desk's section, or an old one spelled otherwise (its name stays the oldest's).
        section = f"Desk {n % 3}" if desk else ("science" if n % 5 == 0 else SECTIONS[n % 3])
        text = story(f"New {self.made}", date, tags, AUTHORS[n % 2], extra, section)
        write(self.root, f"articles/new-{self.made:03d}.md", text)

    def edit(self, n: int) -> None:
        path = self.pick(n)
        path.write_text(path.read_text().replace('title: "', 'title: "Edited ', 1))
        touch_later(path)

    def withdraw(self, n: int) -> None:
        path = self.pick(n)
        text = path.read_text()
        if "withdrawn:" in text or "draft:" in text:
            return
        date = text.split("date: ", 1)[1].split("\n", 1)[0]
        when = max(datetime.fromisoformat(date) + timedelta(hours=1), self.now - timedelta(hours=1))
        if when > self.now:
            return
        extra = f'withdrawn:\n  date: {when.isoformat()}\n  reason: "It was wrong."\n---\n'
        path.write_text(text.replace("---\n", extra, 2).replace(extra, "---\n", 1))
        touch_later(path)

    def kill(self, n: int) -> None:
        """A story scheduled ahead, killed before its date: at once, or by a
        withdrawal still to come; in a tag of its own, or a spelling of an
        existing tag older than any (which must never become the tag's name)."""
        self.made += 1
        date = self.now + timedelta(hours=2 + n % 30)
        when = self.now + timedelta(hours=n % 3 - 1)
        tags = (f"Topic K{n}",) if n % 2 else (TAGS[n % 4].upper(),)
        if n % 5 == 0:  # back-dated too: its date already passed
            date, when = START - timedelta(hours=3), START - timedelta(hours=4)
        extra = f'withdrawn:\n  date: {when.isoformat()}\n  reason: "Legal advice."\n'
        text = story(f"Killed {self.made}", date, tags, AUTHORS[n % 2], extra)
        write(self.root, f"articles/new-{self.made:03d}.md", text)

    def backdate(self, n: int) -> None:
        """A public story withdrawn with a date before its own: it reads as a
        kill (see the README), leaving the slots as a deletion would."""
        path = self.pick(n)
        text = path.read_text()
        if "withdrawn:" in text or "draft:" in text:
            return
        date = datetime.fromisoformat(text.split("date: ", 1)[1].split("\n", 1)[0])
        when = date - timedelta(minutes=1 + n % 90)
        extra = f'withdrawn:\n  date: {when.isoformat()}\n  reason: "Wrong."\n---\n'
        path.write_text(text.replace("---\n", extra, 2).replace(extra, "---\n", 1))
        touch_later(path)

    def _front(self, path: Path, line: str) -> None:
        """Add ``line`` at the end of a file's front matter."""
        text = path.read_text()
        path.write_text(
            text.replace("---\n", f"{line}---\n", 2).replace(f"{line}---\n", "---\n", 1)
        )
        touch_later(path)

    def _since(self, path: Path) -> datetime:
        """A moment for a change to a story: now, or just after its date."""
        date = path.read_text().split("date: ", 1)[1].split("\n", 1)[0]
        return max(self.now, datetime.fromisoformat(date) + timedelta(minutes=1))

    def correct(self, n: int) -> None:
        """A correction, the story's first or one more."""
        path = self.pick(n)
        entry = f'  - date: {self._since(path).isoformat()}\n    text: "Fixed {n}."\n'
        text = path.read_text()
        if "corrections:\n" in text:
            path.write_text(text.replace("corrections:\n", f"corrections:\n{entry}", 1))
            touch_later(path)
        else:
            self._front(path, f"corrections:\n{entry}")

    def update(self, n: int) -> None:
        """A substantive update: ``updated`` moves to now."""
        path = self.pick(n)
        when = self._since(path).isoformat()
        text = path.read_text()
        if "\nupdated: " in text:
            head, rest = text.split("\nupdated: ", 1)
            path.write_text(f"{head}\nupdated: {when}\n{rest.split(chr(10), 1)[1]}")
            touch_later(path)
        else:
            self._front(path, f"updated: {when}\n")

    def delete(self, n: int) -> None:
        if len(self.files()) > 5:
            self.pick(n).unlink()

    def picture(self, n: int, name: str) -> None:
        """Write ``images/<name>``: a PNG whose size depends on ``n``."""
        import io

        from PIL import Image

        data = io.BytesIO()
        Image.new("RGB", (1 + n % 7, 1 + n % 5), (n % 256, 0, 0)).save(data, "PNG")
        write(self.root, f"images/{name}", data.getvalue())

    def illustrated(self, n: int) -> None:
        """A new story with a lead image of its own, new too."""
        self.made += 1
        name = f"lead-{self.made}.png"
        self.picture(n, name)
        image = f"image:\n  src: /images/{name}\n  alt: A picture\n"
        date = self.now - timedelta(minutes=1 + n % 50)
        text = story(f"Pictured {self.made}", date, (TAGS[n % 4],), AUTHORS[n % 2], image)
        write(self.root, f"articles/new-{self.made:03d}.md", text)

    def repaint(self, n: int) -> None:
        """An image a story shows is replaced (another size), or a new one no
        story shows yet is added."""
        found = sorted((self.root / "images").glob("lead-*.png"))
        name = found[n % len(found)].name if found else f"spare-{n}.png"
        self.picture(n + 1, name)
        touch_later(self.root / "images" / name)

    def later(self, n: int) -> None:
        self.now += timedelta(hours=1 + n * 7 % 3000)


STEPS = st.lists(
    st.tuples(
        st.sampled_from(
            [
                "new",
                "back",
                "ahead",
                "draft",
                "topic",
                "desk",
                "illustrated",
                "repaint",
                "edit",
                "correct",
                "update",
                "withdraw",
                "kill",
                "backdate",
                "delete",
                "later",
            ]
        ),
        st.integers(0, 200),
    ),
    min_size=1,
    max_size=6,
)


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=STEPS)
# Kills: one due later, then time past its kill and its date; one back-dated in
# an older spelling of a tag; a public story's withdrawal dated before it.
@example(steps=[("kill", 2), ("later", 1), ("later", 2)])
@example(steps=[("kill", 10), ("new", 3)])
@example(steps=[("backdate", 3), ("withdraw", 4), ("later", 700)])
@example(steps=[("kill", 4), ("correct", 0), ("update", 0), ("later", 40)])
# A kill of the only story of a new desk's section: the section goes.
@example(steps=[("new", 0), ("new", 0), ("desk", 0), ("backdate", 100)])
def test_incremental_equals_clean_after_every_change(
    tmp_path_factory: object, steps: list[tuple[str, int]]
) -> None:
    import pytest

    assert isinstance(tmp_path_factory, pytest.TempPathFactory)
    tmp = tmp_path_factory.mktemp("wire")
    wire = Wire(site(tmp / "content", 46), START + timedelta(hours=60))
    cache, out = Cache(tmp / "cache.sqlite"), tmp / "out"
    build(wire.root, out, wire.now, cache)
    desks = False  # a section only new stories have: a kill may empty it
    for action, n in steps:
        if action == "new":
            wire.new(n)
        elif action == "back":
            wire.new(n, back=True)
        elif action == "ahead":
            wire.new(n, ahead=True)
        elif action == "draft":
            wire.new(n, draft=True)
        elif action == "topic":  # a tag no story had: a listing comes
            wire.new(n, topic=True)
        elif action == "desk":  # a section no story had: every page's navigation changes
            wire.new(n, desk=True)
            desks = True
        else:
            getattr(wire, action)(n)
        report = build(wire.root, out, wire.now, cache)
        assert site_files(out) == clean(wire.root, tmp, wire.now), (action, n)
        fast = ("new", "edit", "topic", "illustrated", "repaint", "correct", "update")
        # A kill is planned from the index alone, but for one that empties a
        # section: the section goes from every page's navigation, a whole build.
        if action in fast or (action in ("kill", "backdate") and not desks):
            assert not report.whole, action  # planned from the index alone
    cache.close()
    shutil.rmtree(tmp)


def counts(root: Path, tmp: Path, count: int) -> tuple[int, int, int]:
    """(files rewritten, outputs rendered, whether planned whole) by a new
    story on a site of ``count`` stories."""
    site(root, count, feed_items=50)
    cache, out = Cache(tmp / "cache.sqlite"), tmp / "out"
    now = START + timedelta(hours=count + 1)
    build(root, out, now, cache)
    write(root, "articles/zz-new.md", story("Fresh", now, ("Water",), "ana", section="Science"))
    report = build(root, out, now, cache)
    cache.close()
    return report.written, report.rendered, int(report.whole)


def test_a_new_story_costs_the_same_at_any_size(tmp_path: Path) -> None:
    """At 100 and 1,000 stories a new one rewrites the same files and renders
    the same outputs: its page and ninjs item, the front page and three feeds of the site,
    of its tag, of its author and of its section, the newest sitemap, the news sitemap and
    the index, its month's page and the archive page that counts the months, and the
    indexes of tags and authors that count their stories (and, as its tag moves up,
    /feeds/, the tags' OPML list and the list of every feed)."""
    small = counts(tmp_path / "small", tmp_path / "s", 100)
    large = counts(tmp_path / "large", tmp_path / "l", 1_000)
    assert small == large
    written, rendered, whole = large
    assert not whole
    # story: page, ninjs; 4 listings; 3 sitemaps; month, archive; /tags/, /authors/;
    # and its tag, now used more than others, moves up /feeds/, the tags' OPML list
    # and the list of every feed
    assert written == rendered == 2 + 4 * 4 + 3 + 2 + 2 + 3


def test_a_new_story_rewrites_its_month_and_the_archive_page_only(tmp_path: Path) -> None:
    """Of the archive's pages by month, a new story changes its own month's
    and the page that lists the months with their counts; an edit of its
    title, its month's only."""
    root = site(tmp_path / "content", 46)  # 2026-06-01 12:00 to 06-03 09:00
    cache, out = Cache(tmp_path / "cache.sqlite"), tmp_path / "out"
    now = START + timedelta(days=40)
    build(root, out, now, cache)
    months = sorted(p.relative_to(out).as_posix() for p in out.glob("archive/2026-*/index.html"))
    assert months == ["archive/2026-06/index.html"]
    write(root, "articles/zz-new.md", story("In July", now, ("Water",), "ana"))
    report = build(root, out, now, cache)
    assert not report.whole
    archive = {p for p in report.changed if p.startswith("archive/")}
    assert archive == {"archive/2026-07/index.html", "archive/index.html"}
    assert 'href="/archive/2026-07/"' in (out / "archive" / "index.html").read_text()
    path = root / "articles" / "zz-new.md"
    path.write_text(path.read_text().replace("In July", "Still in July"))
    touch_later(path)
    report = build(root, out, now, cache)
    assert not report.whole
    assert {p for p in report.changed if p.startswith("archive/")} == {"archive/2026-07/index.html"}
    assert "Still in July" in (out / "archive" / "2026-07" / "index.html").read_text()
    cache.close()


def test_a_page_edit_is_a_whole_build(tmp_path: Path) -> None:
    """Every page's navigation lists the pages of content/pages/: a change
    there is handed to the whole build, which gives a clean build's bytes."""
    root = site(tmp_path / "content", 30)
    write(root, "pages/about.md", "---\ntitle: About\n---\nWho we are.\n")
    cache, out = Cache(tmp_path / "cache.sqlite"), tmp_path / "out"
    now = START + timedelta(days=2)
    build(root, out, now, cache)
    write(root, "articles/zz-new.md", story("Fresh", now, ("Water",), "ana"))
    assert not build(root, out, now, cache).whole
    write(root, "pages/about.md", "---\ntitle: About us\n---\nWho we are.\n")
    report = build(root, out, now, cache)
    assert report.whole
    assert site_files(out) == clean(root, tmp_path, now)
    assert ">About us</a>" in (out / "index.html").read_text()
    cache.close()
