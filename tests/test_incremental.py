"""Incremental and parallel builds give exactly what a clean build gives."""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from conftest import NOW, clean, generate, site_files, touch_later, write
from feeds.cache import Cache
from feeds.publish.build import build


def edit_title(root: Path) -> None:
    path = root / "articles/opinion-bus-corridors.md"
    path.write_text(path.read_text().replace('title: "', 'title: "Edited: ', 1))
    touch_later(path)


def add_article(root: Path) -> None:
    write(
        root,
        "articles/new-one.md",
        "---\ntitle: A new one\ndate: 2026-11-26\nauthors: [ana-quispe]\ntags: [Perú, Fresh]\n"
        "---\nNew text with ![a chart](/images/bus-corridor.png).\n",
    )


def delete_article(root: Path) -> None:
    (root / "articles/sao-paulo-flood-season.md").unlink()


def edit_bio(root: Path) -> None:
    path = root / "authors/ana-quispe.md"
    path.write_text(path.read_text() + "\nShe also edits the water desk.\n")
    touch_later(path)


def edit_site(root: Path) -> None:
    path = root / "site.toml"
    path.write_text(path.read_text().replace('title = "Field Notes Wire"', 'title = "Field Notes"'))
    touch_later(path)


def retag(root: Path) -> None:
    path = root / "articles/glacier-retreat-cordillera-blanca.md"
    path.write_text(path.read_text().replace("  - Climate Change", "  - Glaciology", 1))
    touch_later(path)


EDITS: list[Callable[[Path], None]] = [
    edit_title,
    add_article,
    delete_article,
    edit_bio,
    retag,
    edit_site,
]


def test_every_incremental_build_equals_a_clean_one(sample: Path, tmp_path: Path) -> None:
    cache = Cache(tmp_path / "cache.sqlite")
    out = tmp_path / "out"
    first = build(sample, out, NOW, cache)
    assert first.written == first.files
    assert site_files(out) == clean(sample, tmp_path)
    for change in EDITS:
        change(sample)
        report = build(sample, out, NOW, cache)
        assert site_files(out) == clean(sample, tmp_path), change.__name__
        assert report.written > 0, change.__name__
        if change is edit_title:
            assert report.written < 40  # the page, listings and feeds that show it
    assert (tmp_path / ".out.shadow").is_dir()


def test_nothing_changed_writes_nothing(sample: Path, tmp_path: Path) -> None:
    cache = Cache(tmp_path / "cache.sqlite")
    out = tmp_path / "out"
    build(sample, out, NOW, cache)
    stamps = {p: p.stat().st_mtime_ns for p in out.rglob("*")}
    report = build(sample, out, NOW, cache)
    assert report.written == 0 and report.files == len(site_files(out))
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*")} == stamps


def test_an_unpublished_edit_touches_no_exported_file(sample: Path, tmp_path: Path) -> None:
    """A static host dates each file by its mtime (its ``Last-Modified``): a
    draft's edit and a story scheduled ahead write nothing, as in the app."""
    cache = Cache(tmp_path / "cache.sqlite")
    out = tmp_path / "out"
    build(sample, out, NOW, cache)
    stamps = {p: p.stat().st_mtime_ns for p in out.rglob("*")}
    draft = sample / "articles/highland-clinics-solar-fridges.md"
    draft.write_text(draft.read_text() + "\nMore.\n")
    touch_later(draft)
    write(
        sample,
        "articles/river.md",
        "---\ntitle: Embargoed\ndate: 2026-11-28T12:00:00Z\nauthors: [ana-quispe]\n"
        "tags: [Water]\n---\nThe water moved.\n",
    )
    report = build(sample, out, NOW, cache)
    assert report.written == 0
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*")} == stamps


def test_time_passing_publishes_the_scheduled_article(sample: Path, tmp_path: Path) -> None:
    cache = Cache(tmp_path / "cache.sqlite")
    out = tmp_path / "out"
    build(sample, out, NOW, cache)
    later = datetime(2027, 3, 2, tzinfo=UTC)
    report = build(sample, out, later, cache)
    assert report.written > 0
    assert (out / "articles/water-tariff-reform-preview/index.html").exists()
    assert site_files(out) == clean(sample, tmp_path, later)


def test_a_build_killed_while_updating_the_shadow(
    sample: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import feeds.publish.export

    cache = Cache(tmp_path / "cache.sqlite")
    out = tmp_path / "out"
    build(sample, out, NOW, cache)
    edit_title(sample)
    build(sample, out, NOW, cache)  # now there is a shadow, one version behind
    before = site_files(out)
    edit_bio(sample)
    real = feeds.publish.export.write_file
    calls = 0

    def dying(root: Path, path: str, data: bytes) -> None:
        nonlocal calls
        calls += 1
        if calls == 3:
            raise KeyboardInterrupt  # as good as a kill for what is on disk
        real(root, path, data)

    monkeypatch.setattr("feeds.publish.build.write_file", dying)
    with pytest.raises(KeyboardInterrupt):
        build(sample, out, NOW, cache)
    monkeypatch.undo()
    assert site_files(out) == before
    build(sample, out, NOW, cache)
    assert site_files(out) == clean(sample, tmp_path)


def test_a_lost_cache_or_shadow_is_rebuilt(sample: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    build(sample, out, NOW, Cache(tmp_path / "one.sqlite"))
    edit_title(sample)
    build(sample, out, NOW, Cache(tmp_path / "one.sqlite"))
    edit_bio(sample)
    build(sample, out, NOW, Cache(tmp_path / "two.sqlite"))  # a new, empty cache
    assert site_files(out) == clean(sample, tmp_path)
    shutil.rmtree(tmp_path / ".out.shadow")
    retag(sample)
    build(sample, out, NOW, Cache(tmp_path / "two.sqlite"))
    assert site_files(out) == clean(sample, tmp_path)


@pytest.mark.slow  # forked workers
def test_parallel_build_equals_a_single_process_one(tmp_path: Path) -> None:
    corpus = generate(tmp_path / "corpus", 260)
    cache = Cache(tmp_path / "cache.sqlite")
    started = time.monotonic()
    report = build(corpus, tmp_path / "parallel", NOW, cache, jobs=2)
    assert report.files > 260 and time.monotonic() - started < 120
    build(corpus, tmp_path / "single", NOW, None, jobs=1)
    assert site_files(tmp_path / "parallel") == site_files(tmp_path / "single")
    # And the warm cache gives the same again after an edit.
    story = corpus / "articles/story-000007.md"
    story.write_text(story.read_text() + "\nOne more line.\n")
    touch_later(story)
    again = build(corpus, tmp_path / "parallel", NOW, cache, jobs=2)
    assert 0 < again.written < 30
    build(corpus, tmp_path / "single", NOW, None, jobs=1)
    assert site_files(tmp_path / "parallel") == site_files(tmp_path / "single")


def test_renaming_an_article_file(sample: Path, tmp_path: Path) -> None:
    cache, out = Cache(tmp_path / "cache.sqlite"), tmp_path / "out"
    build(sample, out, NOW, cache)
    old = sample / "articles/coral-nursery-cartagena.md"
    old.rename(sample / "articles/coral-nursery.md")
    build(sample, out, NOW, cache)
    assert site_files(out) == clean(sample, tmp_path)


def test_undoing_an_edit_after_a_build_that_changed_nothing_visible(
    sample: Path, tmp_path: Path
) -> None:
    cache, out = Cache(tmp_path / "cache.sqlite"), tmp_path / "out"
    build(sample, out, NOW, cache)
    path = sample / "articles/opinion-bus-corridors.md"
    original = path.read_text()
    path.write_text(original.replace("the road", "the street"))
    touch_later(path)
    build(sample, out, NOW, cache)
    write(sample, "authors/new-person.md", "---\nname: New Person\n---\nNo articles yet.\n")
    build(sample, out, NOW, cache)  # every key changes, no byte does
    path.write_text(original)
    touch_later(path)
    build(sample, out, NOW, cache)
    assert site_files(out) == clean(sample, tmp_path)


def test_an_image_named_like_a_temporary_file(sample: Path, tmp_path: Path) -> None:
    cache, out = Cache(tmp_path / "cache.sqlite"), tmp_path / "out"
    logo = sample / "images/logo.png"
    shutil.copyfile(logo, sample / "images/logo.feeds-new.png")
    build(sample, out, NOW, cache)
    edit_title(sample)
    build(sample, out, NOW, cache)
    live = site_files(out)
    logo.write_bytes(logo.read_bytes() + b"\0")
    touch_later(logo)
    build(sample, out, NOW, cache)
    assert live["images/logo.feeds-new.png"] == (sample / "images/logo.feeds-new.png").read_bytes()
    assert site_files(out) == clean(sample, tmp_path)


def test_a_file_removed_from_the_export_by_hand(sample: Path, tmp_path: Path) -> None:
    """The next build cannot take an unchanged file from the live export when
    someone deleted it there: it builds it again (the fast path, which would
    take it from there, hands such a build to the whole one)."""
    cache, out = Cache(tmp_path / "cache.sqlite"), tmp_path / "out"
    build(sample, out, NOW, cache)
    edit_title(sample)
    build(sample, out, NOW, cache)  # the shadow holds the page as it was before the edit
    page = "articles/opinion-bus-corridors/index.html"
    (out / page).unlink()
    (out / "images/logo.png").unlink()
    other = sample / "articles/coral-nursery-cartagena.md"
    other.write_text(other.read_text() + "\nOne more paragraph.\n")  # not that page, nor the logo
    touch_later(other)
    report = build(sample, out, NOW, cache)
    assert report.whole
    assert page not in report.changed and "images/logo.png" not in report.changed
    assert site_files(out) == clean(sample, tmp_path)


def test_time_going_back_is_not_a_no_op(sample: Path, tmp_path: Path) -> None:
    cache, out = Cache(tmp_path / "cache.sqlite"), tmp_path / "out"
    later = datetime(2027, 3, 2, tzinfo=UTC)
    build(sample, out, later, cache)
    build(sample, out, NOW, cache)
    assert site_files(out) == clean(sample, tmp_path, NOW)


def test_sealed_pages_and_documents_after_each_change_equal_a_clean_build(
    tmp_path: Path,
) -> None:
    """On a site of many sealed pages and archive documents (10 slots each):
    a new story, a back-dated one (which moves every later slot, as the
    README says), a withdrawal (which moves none) and an old story's date
    edited into the past each give what a clean build gives."""
    corpus = generate(tmp_path / "corpus", 45)
    toml = corpus / "site.toml"
    toml.write_text(toml.read_text() + "feed_items = 10\n")
    cache, out = Cache(tmp_path / "cache.sqlite"), tmp_path / "out"
    build(corpus, out, NOW, cache)
    newest = "articles/story-000044.md"

    def new_story() -> None:
        write(
            corpus,
            "articles/fresh.md",
            "---\ntitle: Fresh\ndate: 2026-11-26\nauthors: [author-1]\ntags: [Tag 1]\n---\nNew.\n",
        )

    def back_dated() -> None:
        write(
            corpus,
            "articles/old-news.md",
            "---\ntitle: Old news\ndate: 2015-06-01\nauthors: [author-1]\ntags: [Tag 1]\n"
            "---\nOld.\n",
        )

    def withdrawal() -> None:
        path = corpus / "articles/story-000003.md"
        gone = 'withdrawn:\n  date: 2026-11-20\n  reason: "Wrong figures."\n---\n'
        path.write_text(path.read_text().replace("\n---\n", "\n" + gone, 1))
        touch_later(path)

    def date_into_the_past() -> None:
        path = corpus / newest
        text = path.read_text()
        path.write_text(text.replace("date: 2016-01-01T21:16:00+00:00", "date: 2015-01-01", 1))
        assert path.read_text() != text
        touch_later(path)

    before = site_files(out)
    for change in (new_story, back_dated, withdrawal, date_into_the_past):
        change()
        build(corpus, out, NOW, cache)
        after = site_files(out)
        assert after == clean(corpus, tmp_path), change.__name__
        moved = {p for p in before.keys() & after.keys() if before[p] != after[p]}
        if change is new_story:  # 46 slots: nothing of the site's sealed moves or seals
            # but the archive page that counts the months, and its month's page, new
            assert {p for p in moved if p.startswith(("archive/", "page/"))} == {
                "archive/index.html"
            }
            assert "archive/2026-11/index.html" in after.keys() - before.keys()
        if change is back_dated:  # every slot after it moves: each sealed document changes
            assert {f"archive/{n}/atom.xml" for n in range(1, 5)} <= moved
        if change is withdrawal:  # a withdrawn story keeps its slot: later documents stay
            assert "archive/1/atom.xml" in moved and "archive/3/atom.xml" not in moved
        before = after
