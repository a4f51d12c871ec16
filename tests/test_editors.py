"""What editors meet (issue 24, "Editors"): `feeds check` with problems and
warnings together, images that do not decode, `feeds publish`, slugs and
YAML's colons. The preview's part is in tests/test_preview.py."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image

from conftest import NOW, clean, site_files, write
from feeds.build import build
from feeds.cache import Cache
from feeds.cli import main


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
