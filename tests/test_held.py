"""A broken file holds back only itself: in `feeds build`, in the app (two
gunicorn workers) and in the preview. Its last good version stays published
(or, never good, it stays out), and every other change goes out at once."""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import NOW, http_get, sample_served, write
from feeds.cache import Cache
from feeds.cli import main
from feeds.publish.build import build
from feeds.publish.export import MARKER
from webapp import create_app

REPO = Path(__file__).resolve().parent.parent
BROKEN = "articles/glacier-retreat-cordillera-blanca.md"
BROKEN_PAGE = "articles/glacier-retreat-cordillera-blanca/index.html"
#: The date is the file's fourth line.
BROKEN_LINE = f"{BROKEN}:4: date: expected an ISO 8601 date, got '2026-13-14'"
WITHDRAWN = "articles/opinion-bus-corridors.md"
WITHDRAWN_PAGE = "articles/opinion-bus-corridors/index.html"
REASON = "The figures on lane enforcement were from the wrong year."
FRESH_PAGE = "articles/night-buses-return/index.html"
FRESH = """\
---
title: Night buses return to Lima's outer districts
date: 2026-11-20T22:00:00-05:00
authors: [ana-quispe]
tags: [Cities]
---
The night routes cut in 2020 run again from Monday.
"""


def tree(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in root.rglob("*")
        if p.is_file() and p.name != MARKER
    }


def break_date(root: Path) -> None:
    path = root / BROKEN
    path.write_text(path.read_text().replace("date: 2026-09-22 08:00", "date: 2026-13-14", 1))


def three_changes(root: Path) -> None:
    """What an editor did at once: a typo in one story's date, a new story,
    an urgent withdrawal of a third."""
    break_date(root)
    write(root, "articles/night-buses-return.md", FRESH)
    path = root / WITHDRAWN
    path.write_text(
        path.read_text().replace(
            "\n---\n",
            f'\nwithdrawn:\n  date: 2026-11-26T09:00:00-05:00\n  reason: "{REASON}"\n---\n',
            1,
        )
    )


def feeds(*args: str) -> subprocess.CompletedProcess[str]:
    """The `feeds` command in a process of its own, as a user runs it."""
    return subprocess.run(
        [sys.executable, "-m", "feeds.cli", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


# ---------------------------------------------------------------- feeds build


@pytest.mark.slow  # `feeds build` in a child process
def test_a_broken_story_holds_back_only_itself_in_feeds_build(sample: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    first = feeds("build", "--content", str(sample), "--out", str(out))
    assert first.returncode == 0, first.stdout + first.stderr
    good = (out / BROKEN_PAGE).read_bytes()
    three_changes(sample)
    done = feeds("build", "--content", str(sample), "--out", str(out))
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == BROKEN_LINE
    assert lines[1] == f"{BROKEN}: held back: its last good version stays published"
    wrote = next(line for line in lines if line.startswith("wrote "))
    assert "held back 1 file" in wrote
    assert "Traceback" not in done.stdout + done.stderr
    assert b"Night buses return" in (out / FRESH_PAGE).read_bytes()
    notice = (out / WITHDRAWN_PAGE).read_bytes().decode()
    assert REASON in notice and "Withdrawn: Give the bus the road" in notice
    assert "Dedicated lanes are the cheapest" not in notice
    assert (out / BROKEN_PAGE).read_bytes() == good
    assert b"Night buses return" in (out / "rss.xml").read_bytes()
    assert b"Give the bus the road" not in (out / "rss.xml").read_bytes().split(b"<item>")[1]

    # Nothing changed since: the build that does nothing still tells of it.
    again = feeds("build", "--content", str(sample), "--out", str(out))
    assert again.returncode == 0 and again.stdout.splitlines()[0] == BROKEN_LINE
    # --strict: the same problems make it exit 1, and nothing is written.
    before = tree(out)
    for change in (False, True):
        if change:
            write(sample, "articles/another.md", FRESH.replace("Night buses", "Day buses"))
        strict = feeds("build", "--strict", "--content", str(sample), "--out", str(out))
        assert strict.returncode == 1
        assert strict.stdout.splitlines()[0] == BROKEN_LINE
        assert strict.stdout.splitlines()[-1] == (
            f"build stopped by 1 problem (--strict); {out} was left as it was"
        )
        assert tree(out) == before
    # Mended, it goes out, and nothing is held back any more.
    path = sample / BROKEN
    path.write_text(path.read_text().replace("2026-13-14", "2026-09-22 08:00 # mended"))
    mended = feeds("build", "--strict", "--content", str(sample), "--out", str(out))
    assert mended.returncode == 0 and mended.stdout.startswith("wrote ")


def test_a_draft_with_problems_blocks_nothing(
    sample: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`feeds new` without --author writes `authors: []`: that draft stopped
    every build and deploy, though drafts are never published."""
    assert main(["new", "Port strike talks resume", "--content", str(sample)]) == 0
    draft = next((sample / "articles").glob("port-strike-talks-resume*.md"))
    assert "authors: []" in draft.read_text() and "draft: true" in draft.read_text()
    write(sample, "articles/night-buses-return.md", FRESH)
    capsys.readouterr()
    out = tmp_path / "out"
    for strict in ([], ["--strict"]):
        assert main(["build", *strict, "--content", str(sample), "--out", str(out)]) == 0
        lines = capsys.readouterr().out.splitlines()
        name = f"articles/{draft.name}"
        assert (
            lines[0].startswith(f"{name}:")
            and "authors: must list at least one author" in (lines[0])
        )
        assert lines[1] == f"{name}: left out: a draft, never published"
    assert (out / FRESH_PAGE).exists()
    assert "port-strike" not in "".join(tree(out))
    assert main(["check", "--content", str(sample)]) == 1  # check still fails on any problem


@pytest.mark.slow  # `feeds build` in a child process
def test_a_file_broken_since_the_first_build_is_left_out(sample: Path, tmp_path: Path) -> None:
    break_date(sample)
    out = tmp_path / "out"
    done = feeds("build", "--content", str(sample), "--out", str(out))
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.splitlines()[:2] == [
        BROKEN_LINE,
        f"{BROKEN}: left out: it has no last good version",
    ]
    files = tree(out)
    assert BROKEN_PAGE not in files and "articles/lima-reservoirs-dry-season/index.html" in files
    assert b"Measuring a glacier" not in files["rss.xml"]


def test_incremental_equals_clean_apart_from_the_held_file(sample: Path, tmp_path: Path) -> None:
    """After the break, the export is what a clean build gives with the
    broken file at its last good bytes: a build in a new process (a new
    connection to the cache) still has its last good version."""
    good = (sample / BROKEN).read_bytes()
    build(sample, tmp_path / "out", NOW, Cache(tmp_path / "cache.sqlite"))
    three_changes(sample)
    report = build(sample, tmp_path / "out", NOW, Cache(tmp_path / "cache.sqlite"))
    assert [(h.path, h.kept) for h in report.held] == [(BROKEN, True)]
    mended = Path(shutil.copytree(sample, tmp_path / "mended"))
    (mended / BROKEN).write_bytes(good)
    build(mended, tmp_path / "clean", NOW)
    assert tree(tmp_path / "out") == tree(tmp_path / "clean")


def test_a_new_file_that_claims_a_slug_in_use_is_the_one_held_back(
    sample: Path, tmp_path: Path
) -> None:
    """The file that introduced the clash is held back, whatever the order
    of the names: here the newcomer sorts first."""
    out = tmp_path / "out"
    cache = tmp_path / "cache.sqlite"
    build(sample, out, NOW, Cache(cache))
    good = (out / BROKEN_PAGE).read_bytes()
    write(
        sample,
        "articles/aaa-copy.md",
        FRESH.replace("title: Night", "slug: glacier-retreat-cordillera-blanca\ntitle: Night"),
    )
    write(sample, "articles/night-buses-return.md", FRESH.replace("Night buses", "Late buses"))
    report = build(sample, out, NOW, Cache(cache))
    assert [(h.path, h.kept) for h in report.held] == [("articles/aaa-copy.md", False)]
    assert [str(p) for h in report.held for p in h.problems] == [
        "articles/aaa-copy.md:2: slug: 'glacier-retreat-cordillera-blanca' is already used "
        f"by {BROKEN}"
    ]
    assert (out / BROKEN_PAGE).read_bytes() == good
    assert b"Late buses" in (out / FRESH_PAGE).read_bytes()


def test_a_story_naming_an_unknown_author_keeps_its_last_good_version(
    sample: Path, tmp_path: Path
) -> None:
    out, cache = tmp_path / "out", tmp_path / "cache.sqlite"
    build(sample, out, NOW, Cache(cache))
    good = (out / BROKEN_PAGE).read_bytes()
    path = sample / BROKEN
    path.write_text(path.read_text().replace("  - grace-okafor\n", "  - grace-okafr\n", 1))
    write(sample, "articles/night-buses-return.md", FRESH)
    report = build(sample, out, NOW, Cache(cache))
    assert [(h.path, h.kept) for h in report.held] == [(BROKEN, True)]
    assert [str(p) for p in report.held[0].problems] == [
        f"{BROKEN}:6: authors[1]: unknown author 'grace-okafr'; did you mean 'grace-okafor'?"
    ]
    assert (out / BROKEN_PAGE).read_bytes() == good and (out / FRESH_PAGE).exists()


def test_a_broken_author_file_keeps_its_last_good_version(sample: Path, tmp_path: Path) -> None:
    out, cache = tmp_path / "out", tmp_path / "cache.sqlite"
    build(sample, out, NOW, Cache(cache))
    before = tree(out)
    author = sample / "authors/grace-okafor.md"
    author.write_text(author.read_text().replace("name:", "nmae:", 1))
    write(sample, "articles/night-buses-return.md", FRESH)
    report = build(sample, out, NOW, Cache(cache))
    assert [(h.path, h.kept) for h in report.held] == [("authors/grace-okafor.md", True)]
    after = tree(out)
    for page in ("authors/grace-okafor/index.html", BROKEN_PAGE, "authors/grace-okafor/rss.xml"):
        assert after[page] == before[page], page
    assert FRESH_PAGE in after
    # The next build too, and a worker started now, still have its last good version.
    write(sample, "articles/night-buses-return.md", FRESH.replace("Night buses", "Late buses"))
    report = build(sample, out, NOW, Cache(cache))
    assert [(h.path, h.kept) for h in report.held] == [("authors/grace-okafor.md", True)]
    assert tree(out)["authors/grace-okafor/index.html"] == before["authors/grace-okafor/index.html"]
    client = create_app({"CONTENT": str(sample), "CLOCK": lambda: NOW, "CACHE": str(cache)})
    page = client.test_client().get("/authors/grace-okafor/")
    assert page.status_code == 200 and b"Grace Okafor" in page.data


# ------------------------------------------- random sequences, against a clean build

#: Published articles of the sample that may be edited, withdrawn or broken.
STORIES = (
    "articles/glacier-retreat-cordillera-blanca.md",
    "articles/lima-reservoirs-dry-season.md",
    "articles/opinion-bus-corridors.md",
    "articles/coral-nursery-cartagena.md",
)
AUTHORS = ("authors/grace-okafor.md", "authors/ana-quispe.md")
STEP = st.one_of(
    st.tuples(st.just("break"), st.sampled_from(STORIES + AUTHORS)),
    st.tuples(st.just("mend"), st.sampled_from(STORIES + AUTHORS)),
    st.tuples(st.just("edit"), st.sampled_from(STORIES)),
    st.tuples(st.just("withdraw"), st.sampled_from(STORIES)),
    st.tuples(st.just("new"), st.sampled_from(("a", "b", "c"))),
    st.tuples(st.just("new broken"), st.sampled_from(("d", "e"))),
    st.tuples(st.just("draft"), st.sampled_from(("f", "g"))),
)


@pytest.mark.slow  # builds a few dozen sites
def test_random_breaks_and_mends_equal_a_clean_build(tmp_path: Path) -> None:
    """After each step, the export is byte for byte what a clean build gives
    of the same content with each broken file at its last good bytes (and
    without those never good)."""

    @settings(
        max_examples=5,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow],
    )
    @given(steps=st.lists(STEP, min_size=1, max_size=4))
    def run(steps: list[tuple[str, str]]) -> None:
        shutil.rmtree(tmp_path / "run", ignore_errors=True)
        root = Path(shutil.copytree(REPO / "content", tmp_path / "run/content"))
        cache, out = tmp_path / "run/cache.sqlite", tmp_path / "run/out"
        build(root, out, NOW, Cache(cache))
        good = {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*.md")}
        mended: dict[str, bytes] = {}  # a broken file's bytes before it broke
        never: set[str] = set()  # files broken since they were written
        for action, what in steps:
            file = root / what if "/" in what else root / f"articles/new-{what}.md"
            path = file.relative_to(root).as_posix()
            text = file.read_text() if file.exists() else ""
            if action == "break" and path not in mended:
                mended[path] = file.read_bytes()
                old, new = (
                    ("name:", "nmae:") if "authors/" in path else ("date:", "date: 2026-13-14 #")
                )
                file.write_text(text.replace(f"\n{old} ", f"\n{new} ", 1))
            elif action == "mend" and path in mended:
                file.write_bytes(mended.pop(path))
            elif action == "edit" and path not in mended:
                file.write_text(text.replace("\ntitle: ", "\ntitle: Edited ", 1))
            elif action == "withdraw" and path not in mended and "withdrawn:" not in text:
                withdrawal = f'\nwithdrawn:\n  date: 2026-11-26\n  reason: "{REASON}"\n---\n'
                file.write_text(text.replace("\n---\n", withdrawal, 1))
            elif action == "new" and not file.exists():
                write(root, path, FRESH.replace("Night buses", f"Buses {what}"))
            elif action in ("new broken", "draft") and not file.exists():
                front = (
                    "date: 2026-13-14\nauthors: [ana-quispe]"
                    if action == "new broken"
                    else "date: 2026-11-20\nauthors: []\ndraft: true"
                )
                write(root, path, f"---\ntitle: T {what}\n{front}\n---\nText.\n")
                never.add(path)
            report = build(root, out, NOW, Cache(cache))
            assert {h.path for h in report.held} == set(mended) | never
            oracle = Path(shutil.copytree(root, tmp_path / "run/oracle", dirs_exist_ok=False))
            for held in mended:
                (oracle / held).write_bytes(good[held])
            for held in never:
                (oracle / held).unlink()
            build(oracle, tmp_path / "run/clean", NOW)
            assert tree(out) == tree(tmp_path / "run/clean"), steps
            shutil.rmtree(oracle)
            shutil.rmtree(tmp_path / "run/clean")
            for file in root.rglob("*.md"):
                name = file.relative_to(root).as_posix()
                if name not in mended and name not in never:
                    good[name] = file.read_bytes()

    run()


# -------------------------------------------------------------------- the app


def test_the_app_publishes_around_a_broken_story(
    sample: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Without a cache, the worker's previous load is the last good version."""
    client = create_app(
        {"CONTENT": str(sample), "CLOCK": lambda: NOW, "RELOAD_INTERVAL": 0, "CACHE": None}
    ).test_client()
    good = client.get("/articles/glacier-retreat-cordillera-blanca/").data
    assert client.get("/articles/opinion-bus-corridors/").status_code == 200
    three_changes(sample)
    backdate(sample)
    with caplog.at_level(logging.INFO):
        assert client.get("/articles/night-buses-return/").status_code == 200
    withdrawn = client.get("/articles/opinion-bus-corridors/")
    assert withdrawn.status_code == 410 and REASON.encode() in withdrawn.data
    assert client.get("/articles/glacier-retreat-cordillera-blanca/").data == good
    logged = [r.getMessage() for r in caplog.records]
    assert any(BROKEN_LINE in m and "held back" in m for m in logged), logged
    assert not any("still serving the last good version" in m for m in logged)
    # A worker started after the break finds the last good version in the cache.
    cache = sample.parent / "cache.sqlite"
    path = sample / BROKEN
    broken = path.read_bytes()
    path.write_bytes(broken.replace(b"2026-13-14", b"2026-09-22 08:00"))
    create_app({"CONTENT": str(sample), "CLOCK": lambda: NOW, "CACHE": str(cache)})
    path.write_bytes(broken)
    fresh = create_app({"CONTENT": str(sample), "CLOCK": lambda: NOW, "CACHE": str(cache)})
    assert fresh.test_client().get("/articles/glacier-retreat-cordillera-blanca/").data == good


def backdate(root: Path) -> None:
    """Every file of ``root`` dated two seconds ago: a second that is over."""
    then = time.time() - 2
    for path in [root, *root.rglob("*")]:
        os.utime(path, (then, then))


def test_the_preview_banner_lists_the_held_back_file(sample: Path) -> None:
    client = create_app(
        {
            "CONTENT": str(sample),
            "PREVIEW": True,
            "RELOAD_INTERVAL": 0,
            "CLOCK": lambda: NOW,
            "BASE_URL": "http://127.0.0.1:8000/",
        }
    ).test_client()
    assert b'role="alert"' not in client.get("/").data
    three_changes(sample)
    backdate(sample)
    page = client.get("/").data.decode()
    assert 'role="alert"' in page and BROKEN_LINE.replace("'", "&#x27;") in page
    assert "Night buses return" in page  # and the new story is in the preview


# ------------------------------------------------------ two gunicorn workers


@pytest.fixture(scope="module")
def workers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path, Path]]:
    """The sample site under gunicorn, two workers, started once for the module;
    yields its base URL, content directory and log."""
    with sample_served(tmp_path_factory, "held", log=True) as (base, root):
        yield base, root, root.parent / "gunicorn.log"


@pytest.mark.slow  # gunicorn
def test_two_workers_publish_around_a_broken_story(workers: tuple[str, Path, Path]) -> None:
    base, root, log = workers
    glacier = base + "articles/glacier-retreat-cordillera-blanca/"
    status, good = http_get(glacier)
    assert status == 200 and http_get(base + "articles/opinion-bus-corridors/")[0] == 200
    three_changes(root)

    def served() -> bool:
        """Every check right, 20 times in a row: both workers take requests."""
        for _ in range(20):
            fresh = http_get(base + "articles/night-buses-return/")
            gone = http_get(base + "articles/opinion-bus-corridors/")
            if fresh[0] != 200 or gone[0] != 410 or REASON.encode() not in gone[1]:
                return False
            if http_get(glacier) != (200, good):
                return False
        return True

    deadline = time.monotonic() + 30
    while not served():
        assert time.monotonic() < deadline, "the changes did not reach both workers"
        time.sleep(0.2)
    text = log.read_text()
    assert BROKEN_LINE in text and "held back" in text
    assert "Traceback" not in text
