"""`feeds build`: the static export, written whole or not at all."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import NOW, site_files, tree, write
from feeds.cache import Cache
from feeds.cli import main
from feeds.digest import digest
from feeds.publish import export
from feeds.publish.build import build
from feeds.publish.export import MANIFEST_FILE, MARKER, ExportError, read_manifest, read_marker

REPO = Path(__file__).resolve().parent.parent


def test_build_writes_every_url_of_the_design(sample: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    report = build(sample, out, NOW)
    files = site_files(out)  # all but the marker and manifest
    assert report.files == report.written == len(files)
    assert (out / MARKER).is_file()
    for path in ("rss.xml", "atom.xml", "feed.json", "feeds.opml", "feeds/tags.opml"):
        assert path in files
    for listing in ("tags/peru/", "tags/climate-change/", "authors/ana-quispe/"):
        for name in ("rss.xml", "atom.xml", "feed.json"):
            assert listing + name in files
    assert files["images/lima-reservoir.png"] == (sample / "images/lima-reservoir.png").read_bytes()
    assert "images/logo.png" in files


def assert_manifest_is_the_export(out: Path) -> None:
    """The export's manifest names every file beside it, with the digest and
    size of the bytes on disk, and the build id of the marker."""
    manifest = read_manifest(out)
    assert manifest is not None
    assert manifest.build == read_marker(out)
    files = site_files(out)
    assert manifest.files == {path: (digest(data), len(data)) for path, data in files.items()}


def test_the_export_carries_its_own_manifest(sample: Path, tmp_path: Path) -> None:
    out, cache = tmp_path / "out", Cache(tmp_path / "cache.sqlite")
    build(sample, out, NOW, cache)
    assert_manifest_is_the_export(out)
    story = sample / "articles/coral-nursery-cartagena.md"
    story.write_text(story.read_text() + "\nA paragraph added by an editor.\n")
    write(sample, "articles/one-more-story.md", NEW_STORY)
    (sample / "articles/opinion-bus-corridors.md").unlink()
    report = build(sample, out, NOW, cache)
    assert "articles/one-more-story/index.html" in report.changed
    assert_manifest_is_the_export(out)
    (out / MANIFEST_FILE).unlink()  # by hand, or an export of an older feeds
    assert build(sample, out, NOW, cache).written == 0
    assert_manifest_is_the_export(out)  # the next build, with nothing to do, writes it
    build(sample, out, NOW)  # without a cache
    assert_manifest_is_the_export(out)
    (out / MANIFEST_FILE).unlink()
    assert build(sample, out, NOW).written == 0  # built again whole, and the same after all
    assert_manifest_is_the_export(out)
    cache.close()


def test_the_manifest_has_as_many_shards_as_docs_deploying_says() -> None:
    """16 shards up to 4,096 files, 256 up to 262,144, 4,096 above."""
    assert [export.width(n) for n in (1, 4096, 4097, 262144, 262145)] == [1, 1, 2, 2, 3]
    assert "16 shards up to 4,096 files, 256 up to 262,144, 4,096 above" in " ".join(
        (REPO / "docs/deploying.md").read_text(encoding="utf-8").split()
    )


def test_a_new_story_rewrites_only_the_manifest_shards_it_changes(
    sample: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """At a wire's size a manifest of 170,000 files is read and written a
    shard at a time: here the sample's is cut into 4,096 shards (as one of
    more than 262,144 files would be), and a new story rewrites the shards
    of the files it changed and no other."""
    monkeypatch.setattr(export, "width", lambda files: 3)
    out, cache = tmp_path / "out", Cache(tmp_path / "cache.sqlite")
    build(sample, out, NOW, cache)
    write(sample, "articles/one-more-story.md", NEW_STORY)
    assert not build(sample, out, NOW, cache).whole  # and the shadow is made
    before = tree(out)
    write(sample, "articles/yet-another-story.md", NEW_STORY)
    report = build(sample, out, NOW, cache)
    cache.close()
    assert not report.whole and report.changed
    after = tree(out)
    rewritten = {p for p in before.keys() | after.keys() if before.get(p) != after.get(p)}
    shards = {p for p in rewritten if p.startswith(export.MANIFEST_SHARDS + "/")}
    assert shards == {export.shard_path(export.shard_of(p, 3)) for p in report.changed}
    assert len(shards) < len(list((out / export.MANIFEST_SHARDS).iterdir())) / 4
    assert_manifest_is_the_export(out)


NEW_STORY = """---
title: One more story
date: 2026-03-01T09:00:00Z
authors: [ana-quispe]
---
A new story, filed today.
"""


def test_images_of_hidden_articles_are_not_exported(sample: Path, tmp_path: Path) -> None:
    write(sample, "images/secret.png", (sample / "images/logo.png").read_bytes())
    draft = sample / "articles/highland-clinics-solar-fridges.md"
    draft.write_text(draft.read_text().replace("\n---\n", "\n---\n![x](/images/secret.png)\n", 1))
    out = tmp_path / "out"
    build(sample, out, NOW)
    assert not (out / "images/secret.png").exists()
    assert (out / "images/lima-reservoir.png").exists()


def test_two_builds_are_byte_identical(sample: Path, tmp_path: Path) -> None:
    build(sample, tmp_path / "one", NOW)
    build(sample, tmp_path / "two", NOW)
    assert tree(tmp_path / "one") == tree(tmp_path / "two")


def test_rebuild_replaces_the_export_whole(sample: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    build(sample, out, NOW)
    (sample / "articles/opinion-bus-corridors.md").unlink()
    build(sample, out, NOW)
    assert b"bus-corridors" not in b"".join(tree(out).values())
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".out")] == []


def test_failed_build_leaves_the_last_export_untouched(
    sample: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A broken site.toml stops everything; a broken article stops
    everything only with --strict (tests/test_held.py: without, it holds
    back only itself)."""
    out = tmp_path / "out"
    assert main(["build", "--content", str(sample), "--out", str(out)]) == 0
    before = tree(out)
    article = sample / "articles/glacier-retreat-cordillera-blanca.md"
    article.write_text(article.read_text().replace("date: ", "date: not-a-date #", 1))
    capsys.readouterr()
    assert main(["build", "--strict", "--content", str(sample), "--out", str(out)]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("articles/glacier-retreat-cordillera-blanca.md:")
    assert "date: expected an ISO 8601 date" in lines[0]
    assert lines[-1] == f"build stopped by 1 problem (--strict); {out} was left as it was"
    assert tree(out) == before
    article.write_text(article.read_text().replace("date: not-a-date #", "date: ", 1))
    toml = sample / "site.toml"
    toml.write_text(toml.read_text().replace("base_url = ", "base_url = 1 #", 1))
    assert main(["build", "--content", str(sample), "--out", str(out)]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("site.toml:") and "base_url" in lines[0]
    assert lines[-1] == f"build stopped by 1 problem; {out} was left as it was"
    assert tree(out) == before


def test_a_write_that_fails_midway_leaves_the_export(
    sample: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "out"
    build(sample, out, NOW)
    before = tree(out)
    calls = 0
    import feeds.publish.build

    real = feeds.publish.build.write_file

    def failing(root: Path, path: str, data: bytes) -> None:
        nonlocal calls
        calls += 1
        if calls == 20:
            raise OSError(28, "No space left on device")
        real(root, path, data)

    monkeypatch.setattr(feeds.publish.build, "write_file", failing)
    with pytest.raises(OSError, match="No space left"):
        build(sample, out, NOW)
    monkeypatch.undo()
    assert tree(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["content", "out"]


def test_build_refuses_to_replace_a_folder_it_did_not_write(
    sample: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    precious = tmp_path / "docs"
    write(precious, "thesis.txt", "years of work")
    with pytest.raises(ExportError, match="was not written by feeds build"):
        build(sample, precious, NOW)
    assert main(["build", "--content", str(sample), "--out", str(precious)]) == 1
    assert "refusing to replace it" in capsys.readouterr().err
    assert tree(precious) == {"thesis.txt": b"years of work"}


def test_build_reports_what_it_wrote(
    sample: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    assert main(["build", "--content", str(sample), "--out", str(out)]) == 0
    output = capsys.readouterr().out
    count = len(site_files(out))  # not the marker, nor the manifest
    assert output.startswith(f"wrote {count} changed files of {count} to {out} in ")
    assert main(["build", "--content", str(sample), "--out", str(out)]) == 0
    assert capsys.readouterr().out.startswith(f"{out} is up to date ({count} files), checked in ")


def test_progress_bar_only_on_a_terminal() -> None:
    import io

    from feeds.cli import progress_bar

    assert progress_bar(io.StringIO()) is None

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    screen = Terminal()
    show = progress_bar(screen, width=10)
    assert show is not None
    show(1, 4)  # too early to be worth drawing
    show(4, 4)
    assert screen.getvalue() == "\r[##########] 4/4 files\n"


def test_hidden_images_with_escaped_names_stay_hidden_and_the_logo_stays(
    sample: Path, tmp_path: Path
) -> None:
    logo = (sample / "images/logo.png").read_bytes()
    for name in ("plan secreto.png", "a&b.png"):
        write(sample, f"images/{name}", logo)
    draft = sample / "articles/highland-clinics-solar-fridges.md"
    text = draft.read_text()
    text = text.replace("  src: /images/", "  src: /images/logo.png\n  old: /images/", 1)
    text = text.replace(
        "\n---\n", "\n---\n![x](</images/plan secreto.png>) [y](/images/a&b.png)\n", 1
    )
    draft.write_text(text.replace("\n  old: /images/", "\n  # was: /images/", 1))
    out = tmp_path / "out"
    build(sample, out, NOW)
    assert not (out / "images/plan secreto.png").exists()
    assert not (out / "images/a&b.png").exists()
    assert (out / "images/logo.png").exists()  # the site's logo, whoever else uses it


def test_a_site_under_a_path_keeps_its_images(sample: Path, tmp_path: Path) -> None:
    toml = sample / "site.toml"
    toml.write_text(
        toml.read_text().replace("https://wire.example.org/", "https://example.org/news/")
    )
    out = tmp_path / "out"
    build(sample, out, NOW)
    page = (out / "articles/lima-reservoirs-dry-season/index.html").read_text()
    assert 'src="https://example.org/news/images/lima-reservoir.png"' in page
    assert 'src="https://example.org/news/images/reservoir-levels-chart.png"' in page
    assert "https://example.org/images/" not in "".join(
        p.read_text(errors="replace") for p in out.rglob("*") if p.suffix in (".html", ".xml")
    )


def test_builds_at_the_same_time_both_finish_whole(sample: Path, tmp_path: Path) -> None:
    import threading

    out = tmp_path / "out"
    errors: list[BaseException] = []

    def one_build() -> None:
        try:
            build(sample, out, NOW)
        except BaseException as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=one_build) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    build(sample, tmp_path / "alone", NOW)
    assert tree(out) == tree(tmp_path / "alone")


@pytest.mark.parametrize("src", ["/images/plan secreto.png", "/images/plan%20secreto.png"])
def test_a_lead_image_whose_name_has_a_space(sample: Path, tmp_path: Path, src: str) -> None:
    import feedparser

    from webapp import create_app

    logo = (sample / "images/logo.png").read_bytes()
    write(sample, "images/plan secreto.png", logo)
    article = sample / "articles/informal-workers-pension-debate.md"
    text = article.read_text()
    article.write_text(text.replace("\n---\n", f"\nimage:\n  src: {src}\n  alt: A plan\n---\n", 1))
    out = tmp_path / "out"
    build(sample, out, NOW)
    assert (out / "images/plan secreto.png").read_bytes() == logo
    url = "https://wire.example.org/images/plan%20secreto.png"
    atom = feedparser.parse((out / "atom.xml").read_bytes())
    entry = next(e for e in atom.entries if e.link.endswith("/informal-workers-pension-debate/"))
    enclosure = next(link for link in entry.links if link.rel == "enclosure")
    assert (enclosure.href, int(enclosure.length)) == (url, len(logo))
    page = (out / "articles/informal-workers-pension-debate/index.html").read_text()
    assert f'<img src="{url}"' in page
    client = create_app({"CONTENT": str(sample), "NOW": NOW.isoformat()}).test_client()
    assert client.get("/images/plan%20secreto.png").data == logo
