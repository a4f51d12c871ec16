"""What editors meet (issue 24, "Editors"): `feeds check` with problems and
warnings together, images that do not decode, `feeds publish`, slugs and
YAML's colons. The preview's part is in tests/test_preview.py."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image

from conftest import NOW, clean, site_files, write
from feeds.cache import Cache
from feeds.cli import main
from feeds.publish.build import build


def check(root: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, list[str]]:
    code = main(["check", "--content", str(root)])
    captured = capsys.readouterr()
    assert captured.err == ""
    return code, captured.out.splitlines()


def png(width: int = 640, height: int = 360) -> bytes:
    """A real PNG of noise (so that it does not compress to a few bytes)."""
    import random

    noise = random.Random(24).randbytes(width * height * 3)
    data = io.BytesIO()
    Image.frombytes("RGB", (width, height), noise).save(data, "PNG")
    return data.getvalue()


ILLUSTRATED = """\
---
title: A dam's new turbines
date: 2026-10-20T08:00:00-05:00
authors: [ana-quispe]
image:
  src: /images/{name}
  alt: Turbines in a hall
---
The dam runs on new turbines.
"""


# -- 12: images that are not images --------------------------------------------


def test_images_that_do_not_decode_are_refused(
    content: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A text file named .jpg and a PNG cut at 300 bytes passed `feeds check`
    and went into every feed (the cut one with width="640" height="360")."""
    assert len(png()) > 300
    write(content, "images/fake.jpg", "this is not a JPEG\n")
    write(content, "images/cut.png", png()[:300])
    write(content, "articles/dam.md", ILLUSTRATED.format(name="cut.png"))
    code, lines = check(content, capsys)
    assert code == 1
    assert lines == [
        "articles/dam.md:6: image.src: images/cut.png does not decode as an image "
        "(image file is truncated); it is not published",
        "images/cut.png: does not decode as an image (image file is truncated); "
        "it is not published",
        "images/fake.jpg: does not decode as an image (not a format Pillow reads); "
        "it is not published",
        "checked 2 articles and 2 authors: 3 problems",
    ]


def test_a_broken_image_is_refused_on_the_fast_path(tmp_path: Path, content: Path) -> None:
    """The fast path compares images one by one: a new story with a new image
    that does not decode, and a published image replaced by a cut one, are
    refused there as in a whole build, and the export is a clean build's."""
    cache, out = Cache(tmp_path / "cache.sqlite"), tmp_path / "out"
    write(content, "images/turbines.png", png(64, 36))
    write(content, "articles/dam.md", ILLUSTRATED.format(name="turbines.png"))
    build(content, out, NOW, cache)
    assert (out / "images" / "turbines.png").is_file()

    write(content, "images/new.png", png()[:300])
    write(content, "articles/new.md", ILLUSTRATED.format(name="new.png").replace("dam's", "new"))
    report = build(content, out, NOW, cache)
    assert [(h.path, h.verdict) for h in report.held] == [
        ("articles/new.md", "left out: it has no last good version"),
        ("images/new.png", "left out: it has no last good version"),
    ]
    assert not (out / "images" / "new.png").exists()
    assert "/images/new.png" not in (out / "rss.xml").read_text()
    assert site_files(out) == clean(content, tmp_path)

    # A published image cut: its story is held back at its last good version
    # (a clean build, with no last good version, leaves it out), the file is not
    # published.
    write(content, "images/turbines.png", png()[:300])
    report = build(content, out, NOW, cache)
    assert [(h.path, h.verdict) for h in report.held][:2] == [
        ("articles/dam.md", "held back: its last good version stays published"),
        ("articles/new.md", "left out: it has no last good version"),
    ]
    assert not (out / "images" / "turbines.png").exists()
    cache.close()


# -- 13: publishing a draft, slugs, colons -----------------------------------------

DRAFT = (
    "---\r\n"
    "# the desk's note: run it after the briefing\r\n"
    "title: 'Quito: the wells'   # a colon, quoted\r\n"
    "date: 2026-11-20T10:00:00-05:00\r\n"
    "draft: true  # until the lawyer reads it\r\n"
    "authors: [ana-quispe]\r\n"
    "tags: [Agua potable]\r\n"
    "---\r\n"
    "The wells of Quito  \r\n"
    "run dry.\r\n"
)


def test_publish_dates_a_draft_now_and_keeps_every_other_byte(
    content: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`feeds new` stamps the creation time, so a draft published hours later
    was dated and sorted in the past, and there was no "publish now"."""
    file = write(content, "articles/wells.md", DRAFT.encode())
    monkeypatch.setenv("FEEDS_NOW", "2026-11-27T17:42:07+00:00")
    assert main(["publish", str(file), "--content", str(content)]) == 0
    assert capsys.readouterr().out == (
        f"published {file}: date: 2026-11-27T12:42:07-05:00; draft: true  # until the "
        "lawyer reads it removed; feeds build (or a running app) puts it out\n"
    )
    expected = DRAFT.replace("date: 2026-11-20T10:00:00-05:00", "date: 2026-11-27T12:42:07-05:00")
    expected = expected.replace("draft: true  # until the lawyer reads it\r\n", "")
    assert file.read_bytes() == expected.encode()
    code, lines = check(content, capsys)
    assert (code, lines[-1]) == (
        0,
        "checked 2 articles and 2 authors: no problems (2 public, 0 scheduled, 0 drafts)",
    )
    # Published now, it is the newest story: first in the feed.
    build(content, content.parent / "out", NOW.replace(hour=18))
    rss = (content.parent / "out" / "rss.xml").read_text()
    assert rss.index("Quito: the wells") < rss.index("reservoirs run low")


def test_publish_by_name_and_what_it_refuses(
    content: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FEEDS_NOW", NOW.isoformat())
    broken = DRAFT.replace("authors: [ana-quispe]", "authors: []")
    file = write(content, "articles/wells.md", broken.encode())
    assert main(["publish", "wells", "--content", str(content)]) == 1
    assert capsys.readouterr().out.splitlines() == [
        "articles/wells.md:6: authors: must list at least one author",
        "wells: not published; it was left as it was",
    ]
    assert file.read_bytes() == broken.encode()
    assert main(["publish", "good.md", "--content", str(content)]) == 1
    assert capsys.readouterr().err == (
        "feeds publish: articles/good.md is public already (date: 2026-10-14T09:30:00-05:00); "
        "publish dates only drafts and scheduled articles\n"
    )
    assert main(["publish", "nope", "--content", str(content)]) == 1
    assert capsys.readouterr().err == (
        f"feeds publish: nope: no such article in {content / 'articles'}\n"
    )


def test_new_joins_an_apostrophe_to_its_word(
    content: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """ "Quito's" gave quito-s."""
    monkeypatch.setenv("FEEDS_NOW", NOW.isoformat())
    for title in ("Quito's wells", "Lima\u2019s reservoirs"):
        assert main(["new", title, "--author", "ana-quispe", "--content", str(content)]) == 0
    capsys.readouterr()
    assert sorted(p.name for p in (content / "articles").iterdir()) == [
        "good.md",
        "limas-reservoirs.md",
        "quitos-wells.md",
    ]


@pytest.mark.parametrize(
    ("line", "hint"),
    [
        ("title: Lima: water", 'title: "Lima: water"'),
        ('title: Lima: "water"', 'title: "Lima: \\"water\\""'),
    ],
)
def test_an_unquoted_colon_is_told_to_be_quoted(
    content: Path, capsys: pytest.CaptureFixture[str], line: str, hint: str
) -> None:
    """It said only PyYAML's "mapping values are not allowed in this context"."""
    write(
        content,
        "articles/lima.md",
        f"---\n{line}\ndate: 2026-10-01\nauthors: [ana-quispe]\n---\nText.\n",
    )
    code, lines = check(content, capsys)
    assert code == 1
    assert lines[0] == (
        "articles/lima.md:2: title: YAML syntax error: mapping values are not allowed in this "
        f"context; a value holding ': ' must be in quotes: {hint}"
    )


def test_an_image_is_decoded_once_until_it_changes(
    tmp_path: Path, content: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Decoding whole costs what the images weigh: a load with the cache (a
    build, each reload of the app) decodes only the images that changed."""
    import feeds.content.directory

    decoded: list[str] = []
    decode = feeds.content.directory._decoded

    def counted(path: Path) -> tuple[int, int] | str:
        decoded.append(path.name)
        return decode(path)

    monkeypatch.setattr(feeds.content.directory, "_decoded", counted)
    write(content, "images/turbines.png", png(64, 36))
    cache = Cache(tmp_path / "cache.sqlite")
    feeds.content.directory.load(content, cache=cache, partial=True)
    assert sorted(decoded) == ["lead.png", "turbines.png"]
    decoded.clear()
    feeds.content.directory.load(content, cache=cache, partial=True)
    assert decoded == []
    write(content, "images/turbines.png", png()[:300])
    loaded = feeds.content.directory.load(content, cache=cache, partial=True)
    assert decoded == ["turbines.png"]
    assert "turbines.png" not in loaded.content.images
    decoded.clear()
    feeds.content.directory.load(content, cache=cache, partial=True)
    assert decoded == ["turbines.png"]  # refused, so read again: it may have been fixed
    cache.close()
