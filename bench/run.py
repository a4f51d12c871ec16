"""Measure the build and the app on generated sites, and print the figures.

    .venv/bin/python bench/run.py            # N = 1,000 and 10,000 (about 15 minutes)
    .venv/bin/python bench/run.py --quick    # N = 300, short load runs (a smoke test)
    .venv/bin/python bench/run.py --sizes 1000 10000 100000 --runs 1   # scale

For each N it prints: the bare single-process loop that only parses front
matter, renders Markdown and sanitises (the yardstick); a cold build, a no-op
rebuild and one-article-edit rebuilds as ``feeds build`` runs them (whole
processes, two jobs on two cores), each per article and as a ratio to the
bare loop, and the peak memory of the largest build process so far (its
resident set, ``ru_maxrss`` of the children, which the cold build sets); for
the largest N, the app's start-up time and peak memory with a warm cache; and
requests per second with p50/p99 latency for ``/rss.xml`` (200 and 304) under
gunicorn beside nginx serving the same exported file, with their ratio.

The yardstick stays what it was when the targets were set: python-frontmatter,
markdown-it-py and nh3 in one process. ``feeds build`` itself renders with
pyromark (:mod:`feeds.content.markdown`), so its ratios to the bare loop show how much
of the yardstick's work the build's whole pipeline costs.

Every figure is the median of several runs, taken in one run of this script:
the machines are shared and noisy, so compare the ratios, not the seconds.
Load runs are bounded in time (``wrk -d``) and every server the script starts
is stopped by it. nginx and wrk come from the system's packages (``apt-get
install nginx-light wrk``); without them the load part is skipped.

Peers: ``--peers`` (alone, instead of the figures above) builds the same
generated site with Hugo and with Pelican as well, and prints each tool's cold
build time and its ratio to feeds' for each N::

    .venv/bin/python bench/run.py --peers            # N = 1,000 and 10,000
    .venv/bin/python bench/run.py --peers --quick    # N = 300 (a smoke test)

Hugo is Debian's ``hugo`` (``apt-get install hugo``; skipped without it).
Pelican comes from PyPI, pinned, into a virtual environment of its own under
``~/.cache/feeds-bench/`` made on first use: it is never a dependency of the
project. ``bench/peers.py`` converts the content directory (front matter,
authors, tags, images) into each peer's kind of site; the templates and
settings, written for this benchmark, are in ``bench/peers/``. Every build is
a whole process from an empty output folder and no cache (``feeds build
--no-cache --jobs 2``, ``hugo`` with an empty ``--cacheDir``, Pelican with its
content cache off, as by default), run in turn, feeds, hugo, pelican, feeds,
...; each figure is the median of ``--runs`` runs.

What each does, as far as it can, is what feeds does: article pages (the lead
image with caption and credit, the body, the republishing footer with the
producer, the author bios in byline order, the licence, the original link and
the source, then a Republish block holding that HTML escaped), the index, tag
and author pages paginated 20 a page, and the site, per-tag and per-author
feeds with the full text of the newest 50 articles. Where the work differs:

- feeds also validates every field (and reports every problem with its line),
  sanitises every body with an allowlist and reads every image's size and
  type; it writes JSON Feed, OPML, a sitemap, the XSL stylesheet and a 404
  page, and it swaps the export in atomically. The peers do none of this,
  but for Hugo's JSON Feed, sitemap and 404 page.
- Markdown: feeds uses pyromark (pulldown-cmark: CommonMark, tables, strikethrough);
  Hugo uses Goldmark (its default extensions, raw HTML left out, not
  sanitised), with link and image render hooks that make every URL absolute
  against the page, as feeds does; Pelican uses Python-Markdown with its
  default extensions (``extra``, ``codehilite``, ``meta``) and passes raw HTML
  through. Neither peer sanitises.
- Links: feeds and Hugo resolve the URLs in the bodies as written; for Pelican
  the converter rewrites links into the site in Pelican's own link syntax
  (``{filename}``, ``{tag}``, ``{static}``), which Pelican replaces while it
  builds, and resolves the others to absolute URLs beforehand.
- Parallelism: feeds runs two processes; Hugo uses every core (two here);
  Pelican runs in one process.
- Hugo: RSS is its built-in output format with a template of ours, Atom and
  JSON Feed custom output formats with templates of ours; it also writes a
  ``page/1/`` redirect for the index and each term page, which Hugo 0.111
  cannot be told not to (counted as "other" files, not as pages); summaries
  are Hugo's (the first 70 words; feeds': the first paragraph, cut near 300
  characters), the entry ids feeds' own.
- Pelican: RSS and Atom only, written by its own feed writers (feedgenerator),
  which it cannot be told how to fill: every item names only its first
  author (one ``dc:creator``, one Atom ``<author>`` without URI), even in a
  co-author's own feed; categories have no scheme or label; there is no image
  enclosure and no licence; the RSS full text is in ``<description>`` (no
  ``content:encoded``, no summary) and entry ids are Pelican's ``tag:`` URIs
  from the link and date, not the articles' ids. The lead image and footer
  reach the feeds only because a small plugin of ours (``fulltext``) puts them
  into each article's content. Author pages and per-author feeds are found by
  the author's name (Pelican has no author files): the bios come from a table
  in the settings, rendered by Pelican's Markdown. Summaries are Pelican's
  (the first 50 words of the body).
"""

from __future__ import annotations

import argparse
import os
import random
import re
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path

import frontmatter
import nh3
from markdown_it import MarkdownIt

sys.path.insert(0, str(Path(__file__).resolve().parent))
from corpus import generate, write_story
from peers import (
    PELICAN_VERSION,
    hugo_command,
    pelican_command,
    pelican_python,
    read_content,
    to_hugo,
    to_pelican,
)
from publish import publish_figures, report_publish

PYTHON = sys.executable
FEEDS = [PYTHON, "-m", "feeds.cli"]


def median_of(runs: int, measure: Callable[[], float]) -> float:
    return statistics.median(measure() for _ in range(runs))


def bare_loop(content: Path) -> float:
    """Parse front matter, render Markdown, sanitise: one process, no output."""
    md = MarkdownIt("commonmark").enable(["table", "strikethrough"])
    started = time.perf_counter()
    for path in sorted((content / "articles").glob("*.md")):
        post = frontmatter.load(path)
        nh3.clean(md.render(post.content))
    return time.perf_counter() - started


def peak_of_children() -> float:
    """MB: the largest resident set of any child process waited for so far."""
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def timed(command: list[str], env: dict[str, str] | None = None) -> float:
    started = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, env=env)
    return time.perf_counter() - started


def timed_build(command: list[str]) -> tuple[float, int]:
    """Seconds of a ``feeds build`` and the number of files it wrote (from its
    closing line, "wrote N changed files of M ...")."""
    started = time.perf_counter()
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    seconds = time.perf_counter() - started
    found = re.search(r"wrote (\d+) changed files? of", output)
    return seconds, int(found.group(1)) if found else 0


def largest_file(out: Path) -> tuple[int, str]:
    """Bytes and path of the largest file of an export (files only: a folder
    of 100,000 articles is itself a few MB, and no download)."""
    sizes = (
        (path.stat().st_size, path.relative_to(out).as_posix())
        for path in out.rglob("*")
        if path.is_file()
    )
    return max((size, name) for size, name in sizes if not name.startswith("."))


def build_figures(content: Path, work: Path, runs: int) -> dict[str, float]:
    out, cache = work / "out", work / "cache.sqlite"
    build = [
        *FEEDS,
        "build",
        "--content",
        str(content),
        "--out",
        str(out),
        "--cache",
        str(cache),
        "--jobs",
        "2",
    ]
    figures = {"bare": median_of(runs, lambda: bare_loop(content))}

    def cold() -> float:
        shutil.rmtree(out, ignore_errors=True)
        shutil.rmtree(work / ".out.shadow", ignore_errors=True)
        cache.unlink(missing_ok=True)
        for sidecar in ("-wal", "-shm"):
            Path(f"{cache}{sidecar}").unlink(missing_ok=True)
        return timed(build)

    figures["cold"] = median_of(runs, cold)
    figures["peak_mb"] = peak_of_children()
    figures["largest"], largest = largest_file(out)
    print(f"largest exported file: {largest}, {figures['largest'] / 1e6:.2f} MB")
    figures["noop"] = median_of(runs, lambda: timed(build))
    stories = sorted((content / "articles").glob("*.md"))
    edits = iter(stories[len(stories) // 3 :])

    def one_edit() -> float:
        story = next(edits)
        story.write_text(story.read_text(encoding="utf-8") + "\nA sentence added.\n")
        return timed(build)

    figures["first_edit"] = one_edit()  # also makes the shadow folder: reported apart
    figures["edit"] = median_of(runs, one_edit)
    rng = random.Random(3)
    newest = max(
        datetime.fromisoformat(s.read_text().split("date: ")[1].split("\n")[0])
        for s in stories[-5:]
    )
    slugs = [s.stem for s in stories]
    new_stories: list[tuple[float, int]] = []
    retitled: list[tuple[float, int]] = []
    old = iter(stories[: len(stories) // 3])
    for number in range(runs):
        # A new story, the newest of the wire; then an old story's title changed.
        date = newest + timedelta(minutes=29 * (number + 1))
        write_story(content, f"new-story-{number}", date, rng, slugs)
        new_stories.append(timed_build(build))
        story = next(old)
        text = story.read_text(encoding="utf-8")
        story.write_text(text.replace('title: "', 'title: "Retitled: ', 1), encoding="utf-8")
        retitled.append(timed_build(build))
    figures["new_story"] = statistics.median(t for t, _ in new_stories)
    figures["new_story_files"] = statistics.median(n for _, n in new_stories)
    figures["retitle"] = statistics.median(t for t, _ in retitled)
    figures["retitle_files"] = statistics.median(n for _, n in retitled)
    return figures


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(url: str, process: subprocess.Popen[bytes], seconds: float = 60) -> None:
    import urllib.request

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer within {seconds} s")


@contextmanager
def running(command: list[str], url: str, env: dict[str, str] | None = None) -> Iterator[None]:
    process = subprocess.Popen(
        command,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        wait_for(url, process)
        yield
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def startup(content: Path, cache: Path) -> tuple[float, float]:
    """Seconds until the app has loaded the site with a warm cache, and peak MB."""
    script = (
        "import resource, time\n"
        "started = time.perf_counter()\n"
        "from webapp import create_app\n"
        f"app = create_app({{'CONTENT': {str(content)!r}, 'CACHE': {str(cache)!r}}})\n"
        "app.test_client().get('/rss.xml')\n"
        "print(time.perf_counter() - started, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)\n"
    )
    seconds, peak_kb = subprocess.run(
        [PYTHON, "-c", script], check=True, capture_output=True, text=True
    ).stdout.split()
    return float(seconds), int(peak_kb) / 1024


def wrk(url: str, seconds: int, connections: int, headers: list[str]) -> dict[str, float]:
    command = [
        "wrk",
        "-t",
        "2",
        "-c",
        str(connections),
        "-d",
        f"{seconds}s",
        "--latency",
        "--timeout",
        "5s",
    ]
    for header in headers:
        command += ["-H", header]
    text = subprocess.run(
        [*command, url], check=True, capture_output=True, text=True, timeout=seconds + 30
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))  # type: ignore[union-attr]

    def latency(percent: str) -> float:
        value, unit = re.search(rf"^\s+{percent}%\s+([\d.]+)(\w+)", text, re.M).groups()  # type: ignore[union-attr]
        return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]

    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    return {
        "rps": rps,
        "p50": latency("50"),
        "p99": latency("99"),
        "errors": float(errors.group(1)) if errors else 0.0,
    }


def load_figures(
    export: Path, content: Path, cache: Path, work: Path, seconds: int, runs: int
) -> dict[str, dict[str, float]]:
    """gunicorn and nginx serving /rss.xml, each in turn, 32 connections."""
    import urllib.request

    results: dict[str, dict[str, float]] = {}
    nginx_port, app_port = free_port(), free_port()
    conf = work / "nginx.conf"
    conf.write_text(
        f"daemon off; worker_processes 2; pid {work}/nginx.pid; error_log {work}/nginx.err;\n"
        "events { worker_connections 1024; }\n"
        "http { access_log off; sendfile on; tcp_nopush on; etag on;\n"
        "  types { application/rss+xml xml; }\n"
        f"  client_body_temp_path {work}/nb; proxy_temp_path {work}/np;\n"
        f"  fastcgi_temp_path {work}/nf; uwsgi_temp_path {work}/nu; scgi_temp_path {work}/ns;\n"
        f"  server {{ listen 127.0.0.1:{nginx_port}; root {export}; }} }}\n"
    )
    servers = {
        "nginx": ([shutil.which("nginx") or "nginx", "-c", str(conf), "-p", str(work)], nginx_port),
        "gunicorn": (
            [
                PYTHON,
                "-m",
                "gunicorn",
                "--workers",
                "2",
                "--worker-class",
                "gthread",
                "--threads",
                "16",
                "--bind",
                f"127.0.0.1:{app_port}",
                "--log-level",
                "warning",
                "webapp:create_app()",
            ],
            app_port,
        ),
    }
    env = {**os.environ, "FEEDS_CONTENT": str(content), "FEEDS_CACHE": str(cache)}
    for name, (command, port) in servers.items():
        url = f"http://127.0.0.1:{port}/rss.xml"
        with running(command, url, env):
            with urllib.request.urlopen(url) as response:
                etag = response.headers["ETag"]
            for kind, headers in (("200", []), ("304", [f"If-None-Match: {etag}"])):
                trials = [wrk(url, seconds, 32, headers) for _ in range(runs)]
                results[f"{name} {kind}"] = {
                    key: statistics.median(t[key] for t in trials) for key in trials[0]
                }
    return results


def report(size: int, figures: dict[str, float]) -> None:
    bare = figures["bare"]
    print(f"\n== {size:,} articles ==")
    print(
        f"bare loop (parse, render, sanitise; 1 process) {bare:8.2f} s  "
        f"{bare / size * 1000:6.2f} ms/article"
    )
    for label, name in (
        ("cold build", "cold"),
        ("no-op rebuild", "noop"),
        ("one-article edit", "edit"),
        ("first edit after cold", "first_edit"),
    ):
        value = figures[name]
        print(
            f"{label:<47}{value:8.2f} s  {value / size * 1000:6.2f} ms/article  "
            f"ratio to bare {value / bare:5.2f}"
        )
    for label, name in (("a new story", "new_story"), ("an old story's title", "retitle")):
        print(
            f"build after {label:<35}{figures[name]:8.2f} s  "
            f"files rewritten {figures[name + '_files']:.0f}"
        )
    print(f"peak memory of a build process so far{figures['peak_mb']:13.0f} MB")
    print(f"largest exported file{figures['largest'] / 1e6:29.2f} MB")


def kinds_of_files(out: Path) -> dict[str, int]:
    """How many HTML pages, feeds and other files a build wrote."""
    counts = {"pages": 0, "feeds": 0, "other": 0}
    for path in out.rglob("*"):
        if not path.is_file() or path.name.startswith("."):
            continue
        if path.suffix == ".html" and not is_redirect(path):
            counts["pages"] += 1  # not Hugo's redirects from page/1/ to the listing
        elif path.name in ("rss.xml", "atom.xml", "feed.json"):
            counts["feeds"] += 1
        else:
            counts["other"] += 1
    return counts


def is_redirect(path: Path) -> bool:
    """One of Hugo's ``page/1/`` redirects (feeds' own ``page/1/`` is a page:
    its pages count from the oldest)."""
    return path.match("page/1/index.html") and b'http-equiv="refresh"' in path.read_bytes()[:2000]


def hugo_version() -> str:
    text = subprocess.run(["hugo", "version"], check=True, capture_output=True, text=True).stdout
    found = re.search(r"v(\d+\.\d+\.\d+)", text)
    return found.group(1) if found else "?"


def peer_figures(content: Path, work: Path, runs: int) -> dict[str, dict[str, float]]:
    """Cold builds of one site by feeds, Hugo and Pelican, in turn, ``runs`` times:
    the median seconds of each, and the files of the last build by kind."""
    model = read_content(content)
    out = work / "peer-out"
    commands = {
        "feeds": [
            *FEEDS,
            "build",
            "--content",
            str(content),
            "--out",
            str(out),
            "--no-cache",
            "--jobs",
            "2",
        ]
    }
    if shutil.which("hugo"):
        hugo_site = to_hugo(content, work / "hugo", model)
        commands[f"hugo {hugo_version()}"] = hugo_command(hugo_site, out)
    else:
        print("hugo is not installed (apt-get install hugo): no Hugo figures")
    commands[f"pelican {PELICAN_VERSION}"] = pelican_command(
        pelican_python(), to_pelican(content, work / "pelican", model), out
    )
    del model

    def clear() -> None:
        for leftover in (out, work / f".{out.name}.shadow", work / f".{out.name}.hugo-cache"):
            shutil.rmtree(leftover, ignore_errors=True)

    times: dict[str, list[float]] = {name: [] for name in commands}
    files: dict[str, dict[str, int]] = {}
    for _ in range(runs):
        for name, command in commands.items():
            clear()
            times[name].append(timed(command))
            files[name] = kinds_of_files(out)
    clear()
    return {name: {"seconds": statistics.median(times[name]), **files[name]} for name in commands}


def report_peers(size: int, runs: int, figures: dict[str, dict[str, float]]) -> None:
    feeds = figures["feeds"]["seconds"]
    print(f"\n== {size:,} articles: cold builds, whole processes, medians of {runs} runs ==")
    print(f"{'':<16}     time  peer / feeds  HTML pages   feeds   other")
    for name, figure in figures.items():
        ratio = "" if name == "feeds" else f"{figure['seconds'] / feeds:12.2f}"
        print(
            f"{name:<16}{figure['seconds']:7.2f} s  {ratio:>12}  {figure['pages']:10.0f}  "
            f"{figure['feeds']:6.0f}  {figure['other']:6.0f}"
        )


def corpora(scratch: str, sizes: list[int]) -> Iterator[tuple[int, Path, Path]]:
    """For each size, a folder of its own under ``scratch`` and a generated
    site of that many articles in it: (size, the site's content, the folder)."""
    for size in sizes:
        work = Path(scratch) / str(size)
        work.mkdir()
        yield size, generate(work / "content", size), work


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="small sizes, short load runs")
    parser.add_argument("--sizes", type=int, nargs="*", help="article counts")
    parser.add_argument("--runs", type=int, default=3, help="runs per figure (median)")
    parser.add_argument("--seconds", type=int, default=10, help="seconds per load run")
    parser.add_argument(
        "--publish",
        action="store_true",
        help="only the publish latency: stories written one by one under gunicorn, "
        "with the hub and Varnish (see bench/publish.py)",
    )
    parser.add_argument(
        "--peers",
        action="store_true",
        help="only compare cold builds with Hugo's and Pelican's (see above)",
    )
    args = parser.parse_args()
    # The figures are an installed program's, whose modules are compiled once:
    # with PYTHONDONTWRITEBYTECODE (set in some shells and containers) every
    # process measured would compile feeds' source again, 0.4 s of each.
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    sizes = args.sizes or ([300] if args.quick else [1000, 10000])
    seconds = 3 if args.quick else args.seconds
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores, medians of {args.runs} runs")
    if args.peers:
        with tempfile.TemporaryDirectory(prefix="feeds-peers-") as scratch:
            for size, content, work in corpora(scratch, sizes):
                report_peers(size, args.runs, peer_figures(content, work, args.runs))
        return
    if args.publish:
        with tempfile.TemporaryDirectory(prefix="feeds-publish-") as scratch:
            for size, content, work in corpora(scratch, sizes):
                report_publish(size, publish_figures(content, work))
        return
    with tempfile.TemporaryDirectory(prefix="feeds-bench-") as scratch:
        os.chmod(scratch, 0o755)  # nginx's workers run as another user and must read the export
        for size, content, work in corpora(scratch, sizes):
            report(size, build_figures(content, work, args.runs))
        cache = work / "cache.sqlite"
        seconds_up, peak = statistics.median_low(startup(content, cache) for _ in range(args.runs))
        print(
            f"\napp start-up with a warm cache ({size:,} articles): {seconds_up:.2f} s, "
            f"peak memory {peak:.0f} MB"
        )
        if not (shutil.which("nginx") and shutil.which("wrk")):
            print("\nnginx or wrk is not installed: no load figures")
            return
        load = load_figures(work / "out", content, cache, work, seconds, args.runs)
        print(f"\n/rss.xml, 32 connections, {seconds} s per run on loopback")
        for name, result in load.items():
            print(
                f"{name:<14} {result['rps']:9.0f} req/s   p50 {result['p50']:7.2f} ms   "
                f"p99 {result['p99']:7.2f} ms   non-2xx/3xx {result['errors']:.0f}"
            )
        for kind in ("200", "304"):
            ratio = load[f"gunicorn {kind}"]["rps"] / load[f"nginx {kind}"]["rps"]
            print(f"gunicorn / nginx, {kind}s: {ratio:.0%}")


if __name__ == "__main__":
    main()
