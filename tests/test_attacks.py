"""The second red-team round: each fault reproduced as it was reported, against
the app, the export or the command line. (Parse-time costs are in
tests/test_limits.py and bench/limits.py; crashes on entities, broken files at
start-up and redirects in test_hostile.py and test_app.py.)"""

from __future__ import annotations

import json
import os
import pickle
import resource
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import zlib
from pathlib import Path
from typing import Any

import pytest

from conftest import NOW, PNG, write
from feeds.cache import Cache
from feeds.cli import main
from feeds.publish.build import build
from feeds.publish.export import ExportError
from webapp import create_app

REPO = Path(__file__).resolve().parent.parent


def app_client(root: Path) -> Any:
    return create_app({"CONTENT": str(root), "NOW": NOW.isoformat(), "CACHE": None}).test_client()


def check_lines(root: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, list[str]]:
    code = main(["check", "--content", str(root)])
    return code, capsys.readouterr().out.splitlines()


# -------------------------------------------------------- files outside the content


def test_an_image_swapped_for_a_link_after_loading_is_not_served(
    sample: Path, tmp_path: Path
) -> None:
    secret = tmp_path / "secret.png"
    secret.write_bytes(PNG + b"the contents of an outside file")
    client = app_client(sample)
    assert client.get("/images/bus-corridor.png").status_code == 200  # loaded, not yet read
    client = app_client(sample)
    image = sample / "images/bus-corridor.png"
    image.unlink()
    image.symlink_to(secret)
    response = client.get("/images/bus-corridor.png")
    assert response.status_code == 404
    assert b"outside file" not in response.data


def test_images_linked_to_an_outside_folder_are_not_exported(
    sample: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    outside = Path(shutil.copytree(sample / "images", tmp_path / "elsewhere"))
    write(outside, "private.png", PNG)
    shutil.rmtree(sample / "images")
    (sample / "images").symlink_to(outside)
    code, lines = check_lines(sample, capsys)
    assert code == 1
    assert "images/private.png: links to a file outside images/; it is not published" in lines
    out = tmp_path / "out"
    assert main(["build", "--strict", "--content", str(sample), "--out", str(out)]) == 1
    assert not out.exists()
    capsys.readouterr()
    assert main(["build", "--content", str(sample), "--out", str(out)]) == 0
    lines = capsys.readouterr().out.splitlines()
    # The folder leads out of the content: every image in it, and every
    # article that shows one, is held back; the rest is published.
    at = lines.index("images/private.png: links to a file outside images/; it is not published")
    assert lines[at + 1] == "images/private.png: left out: it has no last good version"
    assert not (out / "images/private.png").exists() and (out / "index.html").exists()


def test_an_article_linked_to_an_outside_file_is_not_published(
    sample: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    outside = tmp_path / "notes.md"
    outside.write_text(
        "---\ntitle: Private notes\ndate: 2026-10-01\nauthors: [ana-quispe]\n---\nx\n"
    )
    (sample / "articles/notes.md").symlink_to(outside)
    code, lines = check_lines(sample, capsys)
    assert code == 1
    assert "articles/notes.md: links to a file outside articles/; it is not published" in lines
    assert b"Private notes" not in app_client(sample).get("/rss.xml").data


# ------------------------------------------------------------ active content


SVG = b"""<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">
<script>document.title = "script ran"; fetch("/ran");</script><rect width="10" height="10"/>
</svg>"""


@pytest.mark.slow  # Chromium under gunicorn
def test_an_svg_with_a_script_does_not_run_and_html_is_refused(
    sample: Path, capsys: pytest.CaptureFixture[str], browser: Any
) -> None:
    """An SVG with <script> was served as image/svg+xml and ran on the site's
    origin in Chromium; an .html file in images/ was served as text/html."""
    from conftest import free_port, gunicorn

    write(sample, "images/chart.svg", SVG)
    write(sample, "images/page.html", "<script>alert(1)</script>")
    code, lines = check_lines(sample, capsys)
    assert code == 1
    assert "images/page.html: not an image (text/html); images/ publishes images only" in lines
    # Since issue 23 such an SVG is refused too (an object store sends no CSP).
    assert any(line.startswith("images/chart.svg:2: has a <script> element") for line in lines)
    (sample / "images/page.html").unlink()
    port = free_port()
    toml = sample / "site.toml"
    toml.write_text(
        toml.read_text().replace("https://wire.example.org/", f"http://127.0.0.1:{port}/")
    )
    with gunicorn(sample, port, sample.parent / "cache.sqlite") as base:
        page = browser.new_page()
        response = page.goto(base + "images/chart.svg")
        assert response is not None and response.status == 404
        assert response.headers["x-content-type-options"] == "nosniff"
        assert page.title() != "script ran"
        assert page.evaluate("document.title") != "script ran"
        page.close()


def test_every_response_forbids_sniffing_and_pages_allow_only_our_script(sample: Path) -> None:
    client = app_client(sample)
    for url in ("/", "/rss.xml", "/images/logo.png", "/nope/", "/static/style.css"):
        headers = client.get(url).headers
        assert headers["X-Content-Type-Options"] == "nosniff", url
        assert "default-src 'none'" in headers["Content-Security-Policy"], url
    policy = client.get("/").headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy


# ------------------------------------------------- one image under two spellings


@pytest.mark.parametrize(
    "spelling",
    [
        "http://wire.example.org/images/secret.png",
        "https://wire.example.org:443/images/secret.png",
        "https://WIRE.Example.org/images/secret.png",
        "/images//secret.png",
        "https://wire.example.org/images/./secret.png",
        "https://wire.example.org./images/secret.png",
        "https://wire%2Eexample.org/images/secret.png",
    ],
)
def test_a_hidden_articles_image_stays_hidden_under_any_spelling(
    sample: Path, tmp_path: Path, spelling: str
) -> None:
    write(sample, "images/secret.png", PNG)
    write(
        sample,
        "articles/later.md",
        "---\ntitle: Later\ndate: 8999-01-01\nauthors: [ana-quispe]\n---\n"
        f"![The secret]({spelling})\n",
    )
    out = tmp_path / "out"
    build(sample, out, NOW)
    assert not (out / "images/secret.png").exists()
    assert app_client(sample).get("/images/secret.png").status_code == 404


# -------------------------------------------------------------------- smaller


def test_an_article_may_not_have_more_than_50_tags(
    sample: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """One article with 1,000 tags did not build in 120 s (250: 12.6 s, 19.7 MB)."""
    tags = "".join(f"  - Tag {n}\n" for n in range(1000))
    write(
        sample,
        "articles/tagged.md",
        f"---\ntitle: Tagged\ndate: 2026-10-01\nauthors: [ana-quispe]\ntags:\n{tags}---\nx\n",
    )
    code, lines = check_lines(sample, capsys)
    assert code == 1
    assert lines[0] == "articles/tagged.md:5: tags: 1000 tags; an article may have at most 50"


def test_a_huge_author_file_is_refused(sample: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Author files had no size limit (a 4.95 MB bio became a 342 MB export)."""
    write(sample, "authors/ana-quispe.md", "---\nname: Ana\n---\n" + "word " * 1_000_000)
    code, lines = check_lines(sample, capsys)
    assert code == 1
    assert (
        "authors/ana-quispe.md: file is 5,000,018 bytes, more than the limit of 2,000,000 "
        "(max_article_bytes in site.toml)"
    ) in lines


@pytest.mark.parametrize("name", [".site.shadow", ".site.tmp-x"])
def test_a_build_removes_no_folder_it_did_not_write(
    sample: Path, tmp_path: Path, name: str
) -> None:
    """A pre-existing D/.site.shadow/ or D/.site.tmp-x/ was removed by
    `feeds build --out D/site`."""
    folder = tmp_path / "D"
    precious = write(folder, f"{name}/thesis.txt", "years of work")
    try:
        build(sample, folder / "site", NOW, Cache(tmp_path / "cache.sqlite"))
        build(sample, folder / "site", NOW, Cache(tmp_path / "cache.sqlite"))
    except ExportError as e:
        assert "was not written by feeds build" in str(e)
    assert precious.read_text() == "years of work"


def test_an_export_inside_the_content_is_refused(
    sample: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`--out content/images/export` republished itself: 134, 268, 402 files."""
    out = sample / "images/export"
    assert main(["build", "--content", str(sample), "--out", str(out)]) == 1
    assert "must not hold one another" in capsys.readouterr().err
    assert not out.exists()


def test_a_file_name_ending_in_a_newline_is_not_a_slug(
    sample: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """SLUG used $, which also matches before a final newline."""
    write(
        sample,
        "articles/story\n.md",
        "---\ntitle: x\ndate: 2026-10-01\nauthors: [ana-quispe]\n---\nx\n",
    )
    code, lines = check_lines(sample, capsys)
    assert code == 1
    assert "slug: file name 'story\\n' is not a valid URL segment" in "\n".join(lines)


def test_a_pickle_in_the_cache_runs_nothing(sample: Path, tmp_path: Path) -> None:
    """The build cache unpickled its rows: whoever could write the cache file
    ran code as the builder. It holds JSON now, and a row that does not read
    as an article is a miss."""
    cache_file = tmp_path / "cache.sqlite"
    out = tmp_path / "out"
    build(sample, out, NOW, Cache(cache_file))
    witness = tmp_path / "pwned"

    class Payload:
        def __reduce__(self) -> tuple[Any, ...]:
            return (os.system, (f"touch {witness}",))

    with sqlite3.connect(cache_file) as db:
        db.execute("UPDATE articles SET blob = ?", (pickle.dumps(Payload()),))
    (sample / "articles/opinion-bus-corridors.md").touch()
    build(sample, out, NOW, Cache(cache_file))
    assert not witness.exists()
    assert (out / "articles/opinion-bus-corridors/index.html").exists()


@pytest.mark.parametrize(
    "blob",
    [None, b"[" * 100_000 + b"\n<p>x</p>"],
    ids=["null", "nested"],
)
def test_an_article_row_that_does_not_read_is_a_miss(
    sample: Path, tmp_path: Path, blob: object
) -> None:
    """A NULL blob stopped the build with AttributeError, JSON nested deeper
    than Python recurses with RecursionError: a traceback, not a miss."""
    cache_file = tmp_path / "cache.sqlite"
    out = tmp_path / "out"
    build(sample, out, NOW, Cache(cache_file))
    with sqlite3.connect(cache_file) as db:
        db.execute("UPDATE articles SET blob = ?", (blob,))
    (sample / "articles/opinion-bus-corridors.md").touch()
    build(sample, out, NOW, Cache(cache_file))
    with sqlite3.connect(cache_file) as db:
        blobs = [b for (b,) in db.execute("SELECT blob FROM articles")]
    assert blobs and all(isinstance(b, bytes) and b.startswith(b"[") for b in blobs)


@pytest.mark.parametrize(("name", "value"), [("now", "not a date"), ("files", "many")])
def test_a_small_value_that_does_not_read_is_a_miss(
    sample: Path, tmp_path: Path, name: str, value: str
) -> None:
    """A no-op build read the last build's time and file count as they were
    written: anything else there stopped it with ValueError."""
    cache_file = tmp_path / "cache.sqlite"
    out = tmp_path / "out"
    files = build(sample, out, NOW, Cache(cache_file)).files
    Cache(cache_file).set(**{name: value})
    assert build(sample, out, NOW, Cache(cache_file)).files == files


def test_outputs_that_do_not_read_are_a_miss(sample: Path, tmp_path: Path) -> None:
    """The keys of the last build's outputs were unpacked as they were
    written: a value that is not a pair stopped the build with TypeError."""
    cache_file = tmp_path / "cache.sqlite"
    out = tmp_path / "out"
    files = build(sample, out, NOW, Cache(cache_file)).files
    with sqlite3.connect(cache_file) as db:
        damaged = zlib.compress(json.dumps({"rss.xml": 5}).encode())
        db.execute("UPDATE blobs SET value = ? WHERE name = 'outputs'", (damaged,))
    (sample / "articles/opinion-bus-corridors.md").touch()
    assert build(sample, out, NOW, Cache(cache_file)).files == files


def test_a_manifest_row_naming_a_file_beside_the_export_removes_nothing(
    sample: Path, tmp_path: Path
) -> None:
    """The export removes the files of the version it replaces that the new
    one lacks, as the cache's manifest of that version lists them: a manifest
    naming ../../victim.txt made the next build delete a file beside the export."""
    victim = write(tmp_path, "victim.txt", "precious")
    cache_file = tmp_path / "cache.sqlite"
    out = tmp_path / "site/out"
    article = sample / "articles/opinion-bus-corridors.md"
    original = article.read_text()
    for title in ("Once", "Twice", "Three times"):
        article.write_text(original.replace("Give the bus the road", title, 1))
        build(sample, out, NOW, Cache(cache_file))
        if title == "Twice":  # there is a shadow now, one version behind
            with sqlite3.connect(cache_file) as db:
                db.execute("INSERT INTO shadowed VALUES ('../../victim.txt', ?)", ("0" * 32,))
                db.execute("INSERT INTO exported VALUES ('../../victim.txt', ?)", ("0" * 32,))
    assert victim.read_text() == "precious"
    assert "Three times" in (out / "articles/opinion-bus-corridors/index.html").read_text()


def test_a_fifo_for_site_toml_does_not_hang_check(
    sample: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (sample / "site.toml").unlink()
    os.mkfifo(sample / "site.toml")
    result: list[int] = []
    thread = threading.Thread(
        target=lambda: result.append(main(["check", "--content", str(sample)]))
    )
    thread.start()
    thread.join(30)
    if thread.is_alive():  # unblock it before failing, so the run can end
        with open(sample / "site.toml", "wb"):
            pass
        thread.join()
        pytest.fail("feeds check hung on a FIFO")
    assert result == [1]
    assert "site.toml: is not a regular file" in capsys.readouterr().out


@pytest.mark.slow  # `feeds build` in a child process
def test_a_full_disk_names_the_file(sample: Path, tmp_path: Path) -> None:
    """`feeds build: : No space left on device` named no file. The limit on the
    size of files a process may write fails a write the same way a full disk
    does, for real, in a child process."""

    def limit() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (20_000, 20_000))

    out = tmp_path / "out"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "feeds.cli",
            "build",
            "--no-cache",
            "--jobs",
            "1",
            "--content",
            str(sample),
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        preexec_fn=limit,
        cwd=REPO,
        check=False,
    )
    assert result.returncode == 1
    assert result.stderr.startswith(f"feeds build: cannot write {tmp_path}/.out.tmp-")
    assert "File too large" in result.stderr
    assert not out.exists() and not list(tmp_path.glob(".out.tmp-*"))
