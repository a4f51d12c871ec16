"""Time hostile articles at four doubling sizes and print how the time grows.

    .venv/bin/python bench/limits.py              # every case, default sizes
    .venv/bin/python bench/limits.py refused origins granted  # what clients store
    .venv/bin/python bench/limits.py authors      # one case
    .venv/bin/python bench/limits.py --scale 0.25 # smaller sizes (old, slow code)

Each case writes one article into a small content directory and times what
``feeds check`` does with it (:func:`feeds.content.directory.load`: read, parse,
validate, render, sanitise), whether that ends in the article or in a
located problem; the ``tags`` case times ``feeds build`` instead
(:func:`feeds.publish.build.build`), since each tag is a page and three feeds, and
its sizes end at the cap (``--scale 2`` and more are refused). For each
doubling it prints the time ratio: about 2 means the cost grows linearly
(a constant cost per tag), about 4 quadratically. Each time is the median of
``--runs`` runs; the machine is shared, so read the ratios, not the seconds.

The ``refused`` and ``origins`` cases send requests to the app instead
(Flask's test client, a state database of their own): requests without a
token, each with a 2,000-character path, and pixel hits each with a Referer
of another host. They print what the state database keeps (rows, bytes),
which must not grow with the requests, and the time, which grows linearly.
The ``granted`` case sends a partner's fetches with a valid token, one every
four hours of a clock it moves (so its sizes span 83 to 667 days): what the
audit keeps stops growing at ``audit_days`` (90 by default) of them.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from feeds.content.directory import load
from feeds.errors import ContentError
from feeds.publish.build import build

SITE = (
    'title = "Limits"\ndescription = "Hostile input."\n'
    'base_url = "https://limits.example.org/"\nmax_article_bytes = 50000000\n'
)
FRONT = "title: Limits\ndate: 2026-01-01\n"


def control_characters(n: int) -> str:
    """``n`` front-matter lines, each holding a control character."""
    return f"---\n{FRONT}authors: [a]\n" + "#\x01\n" * n + "---\nText.\n"


def nested_html(n: int) -> str:
    """A body of ``n`` unclosed ``<div>`` elements, one inside the other."""
    return f"---\n{FRONT}authors: [a]\n---\n" + "<div>" * n + "\n"


def commented_html(n: int) -> str:
    """``n`` ``<div>`` elements whose end tags are inside comments."""
    return f"---\n{FRONT}authors: [a]\n---\n" + "<div><!--</div>-->" * n + "\n"


def reopened_formatting(n: int) -> str:
    """``n`` ``<div>`` elements each closing a ``<b>`` that HTML opens again."""
    body = "".join(f'<div><b title="{i}"></div>' for i in range(n))
    return f"---\n{FRONT}authors: [a]\n---\n{body}\n"


def unknown_authors(n: int) -> str:
    """``n`` unknown author ids on a site of 306 authors (did-you-mean)."""
    return f"---\n{FRONT}authors: [{', '.join(f'writer-{i}' for i in range(n))}]\n---\nText.\n"


def inline_authors(n: int) -> str:
    """``n`` inline authors, each with a name and a one-line bio."""
    authors = "".join(f"  - name: Author {i}\n    bio: Writes *things* {i}.\n" for i in range(n))
    return f"---\n{FRONT}authors:\n{authors}---\nText.\n"


def image_openers(n: int) -> str:
    """A body of ``n`` ``![`` openers that never close (``2n`` characters)."""
    return f"---\n{FRONT}authors: [a]\n---\n" + "![" * n + "\n"


def tags(n: int) -> str:
    """``n`` tags on one article (each a page and three feeds that list them all)."""
    names = "".join(f"  - Tag {i}\n" for i in range(n))
    return f"---\n{FRONT}authors: [a]\ntags:\n{names}---\nText.\n"


def refused_links(n: int) -> str:
    """A body of ``n`` Markdown links to ``javascript:`` (shown as text)."""
    return f"---\n{FRONT}authors: [a]\n---\n" + "[x](javascript:a) " * n + "\n"


#: name -> (article for size n, the sizes at --scale 1, what the size counts)
CASES: dict[str, tuple[Callable[[int], str], tuple[int, ...], str]] = {
    "control": (control_characters, (20_000, 40_000, 80_000, 160_000), "lines"),
    "nested-html": (nested_html, (25_000, 50_000, 100_000, 200_000), "elements"),
    "commented-html": (commented_html, (12_500, 25_000, 50_000, 100_000), "elements"),
    "reopened": (reopened_formatting, (8_000, 16_000, 32_000, 64_000), "elements"),
    "authors": (inline_authors, (1_000, 2_000, 4_000, 8_000), "authors"),
    "unknown-authors": (unknown_authors, (1_000, 2_000, 4_000, 8_000), "ids"),
    "image-openers": (image_openers, (125_000, 250_000, 500_000, 1_000_000), "openers"),
    "refused-links": (refused_links, (12_500, 25_000, 50_000, 100_000), "links"),
    "tags": (tags, (6, 12, 25, 50), "tags"),
}


def hostile_requests(kind: str, n: int, root: Path) -> tuple[float, str]:
    """Seconds for ``n`` hostile requests of ``kind`` and their writing, and
    what the state database keeps of them."""
    import sqlite3
    from datetime import timedelta

    from feeds.state import partners
    from feeds.state.database import State
    from feeds.state.url import default_url
    from webapp import create_app

    folder = Path(tempfile.mkdtemp(prefix="state-", dir=root.parent))
    os.environ["FEEDS_STATE"] = str(folder / "state.db")
    start = datetime(2026, 6, 1, 12, tzinfo=UTC)
    clock = [start]
    token = ""
    if kind == "granted":
        state = State(default_url(os.environ))
        token, kept = partners.new_token()
        state.add_partner("La Prensa", partners.EARLY_ACCESS, None, kept, start.timestamp())
        state.close()
    app = create_app(
        {"CONTENT": str(root), "CLOCK": lambda: clock[0], "CACHE": None, "RELOAD_INTERVAL": 3600.0}
    )
    app.logger.setLevel("WARNING")
    client = app.test_client()
    served = app.extensions["feeds"].current().served
    pixel = "/r/" + sorted(served.pixels)[0]
    started = time.perf_counter()
    for number in range(n):
        if kind == "refused":
            client.get(f"/partners/{number}/" + "p" * 2000, headers={"User-Agent": "A" * 500})
        elif kind == "granted":
            clock[0] = start + timedelta(hours=4 * number)
            client.get("/partners/rss.xml", headers={"Authorization": f"Bearer {token}"})
            if number % 100 == 99:  # the app's writer writes about once a second
                app.extensions["feeds.audit"].flush()
        else:
            client.get(pixel, headers={"Referer": f"https://r{number}.example/"})
    app.extensions["feeds.audit"].flush()
    app.extensions["feeds.pixels"].flush()
    seconds = time.perf_counter() - started
    with sqlite3.connect(folder / "state.db") as db:
        # What the rows take in the database file: the write-ahead log's pages
        # moved into it (SQLite reuses the log's space after each checkpoint).
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        tables = ("audit", "refusals") if kind in ("refused", "granted") else ("hits",)
        found = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        rows = sum(
            db.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in tables if t in found
        )
    size = (folder / "state.db").stat().st_size
    wal = folder / "state.db-wal"
    log = wal.stat().st_size if wal.exists() else 0
    shutil.rmtree(folder)
    return seconds, f"{rows:,} rows, {size:,} bytes of state (+ {log:,} of WAL)"


#: Cases that send requests to the app: (sizes, unit).
REQUESTS: dict[str, tuple[tuple[int, ...], str]] = {
    "refused": ((500, 1_000, 2_000, 4_000), "requests"),
    "origins": ((500, 1_000, 2_000, 4_000), "hits"),
    "granted": ((500, 1_000, 2_000, 4_000), "fetches"),
}

#: Cases timed as ``feeds build`` (load, plan, render, write), not ``feeds check``.
BUILT = {"tags"}


def check_seconds(root: Path, text: str, built: bool = False) -> tuple[float, str]:
    """Seconds to load the content with this article (and, if ``built``, to
    write its export), and how it ended."""
    (root / "articles" / "hostile.md").write_text(text, encoding="utf-8")
    out = root.parent / "out"
    shutil.rmtree(out, ignore_errors=True)
    started = time.perf_counter()
    try:
        if built:
            files = build(root, out, datetime(2026, 6, 1, tzinfo=UTC)).files
            size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
            outcome = f"{files:,} files, {size:,} bytes exported"
        else:
            load(root)
            outcome = "accepted"
    except ContentError as e:
        first = str(e.problems[0])
        outcome = f"{len(e.problems)} problem(s): {first[:70]}"
    return time.perf_counter() - started, outcome


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "cases", nargs="*", help=f"cases to run: {', '.join([*CASES, *REQUESTS])} (all)"
    )
    parser.add_argument("--scale", type=float, default=1.0, help="multiply every size")
    parser.add_argument("--runs", type=int, default=3, help="runs per size (median)")
    args = parser.parse_args()
    unknown = set(args.cases) - set(CASES) - set(REQUESTS)
    if unknown:
        parser.error(f"unknown case(s): {', '.join(sorted(unknown))}")
    with tempfile.TemporaryDirectory(prefix="feeds-limits-") as scratch:
        root = Path(scratch) / "content"
        (root / "articles").mkdir(parents=True)
        (root / "authors").mkdir()
        (root / "site.toml").write_text(SITE, encoding="utf-8")
        (root / "authors" / "a.md").write_text("---\nname: A\n---\nBio.\n", encoding="utf-8")
        for number in range(305):  # a newsroom's worth, for the did-you-mean case
            author = f"---\nname: Writer {number}\n---\nBio.\n"
            (root / "authors" / f"staff-writer-{number}.md").write_text(author, encoding="utf-8")
        for name in args.cases or [*CASES, *REQUESTS]:
            if name in REQUESTS:
                requests(name, root, args.scale)
                continue
            make, sizes, unit = CASES[name]
            print(f"\n{name} ({make.__doc__})")
            previous = None
            for size in (max(1, round(s * args.scale)) for s in sizes):
                text = make(size)
                runs = [check_seconds(root, text, name in BUILT) for _ in range(args.runs)]
                seconds = statistics.median(r[0] for r in runs)
                growth = f"x{seconds / previous:5.2f}" if previous else "      "
                print(
                    f"  {size:>9,} {unit:<8} {len(text.encode()):>11,} bytes "
                    f"{seconds:8.3f} s  {growth}  {runs[0][1]}"
                )
                previous = seconds


def requests(name: str, root: Path, scale: float) -> None:
    """One of :data:`REQUESTS`, at its four sizes, against a site of one
    article with the built-in pixel."""
    sizes, unit = REQUESTS[name]
    (root / "articles" / "hostile.md").write_text(f"---\n{FRONT}authors: [a]\n---\nText.\n")
    site = root / "site.toml"
    kept = site.read_text(encoding="utf-8")
    site.write_text(kept + 'republish_pixel = "builtin"\n', encoding="utf-8")
    what = {
        "refused": "a 2,000-character path, no token",
        "granted": "a partner's token, one every 4 hours",
    }.get(name, "a Referer each")
    print(f"\n{name} (requests to the app, {what}; what the state database keeps)")
    previous = None
    try:
        for size in (max(1, round(s * scale)) for s in sizes):
            seconds, kept_rows = hostile_requests(name, size, root)
            growth = f"x{seconds / previous:5.2f}" if previous else "      "
            print(f"  {size:>9,} {unit:<8} {seconds:8.3f} s  {growth}  {kept_rows}")
            previous = seconds
    finally:
        site.write_text(kept, encoding="utf-8")


if __name__ == "__main__":
    main()
