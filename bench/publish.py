"""How long one new story takes to reach readers, as a wire publishes all day.

The app runs under gunicorn (two workers) on a generated site, with
flask-websub's hub and a subscriber of ``/rss.xml`` (the ones the tests use,
from ``tests/test_websub.py``) and, when ``varnishd`` is installed, Varnish
with ``cdn/varnish.vcl`` in front of the app, purged by it. Stories are then
written one after another; for each, from the moment its file is written:

- *workers*: until every worker serves its page. Each poll opens a new
  connection, which either worker may accept; the figure is the moment after
  which 20 polls in a row answered 200 (the last 404 seen, in effect);
- *ping*: until the hub receives a ping for ``/rss.xml``;
- *hub*: until the subscriber receives ``/rss.xml`` from the hub holding the
  story (the hub fetched the new bytes);
- *cdn*: until Varnish serves the story's page (200).

Besides, the app's start-up (the first 200 of ``/rss.xml`` after gunicorn
starts, with the build cache warm) and the resident memory of each worker then.
"""

from __future__ import annotations

import logging
import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from corpus import write_story

REPO = Path(__file__).resolve().parent.parent
PYTHON = sys.executable


def status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=10) as answer:
            answer.read()
            return int(answer.status)
    except urllib.error.HTTPError as e:
        return int(e.code)
    except OSError:
        return 0


def until(found: Callable[[], bool], seconds: float) -> float | None:
    """Seconds (monotonic) at which ``found()`` first held, or None after ``seconds``."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if found():
            return time.monotonic()
        time.sleep(0.01)
    return None


def every_worker(url: str, seconds: float, streak: int = 20) -> float | None:
    """The moment after which ``streak`` polls in a row on new connections
    answered 200, or None."""
    deadline = time.monotonic() + seconds
    since: float | None = None
    run = 0
    while time.monotonic() < deadline:
        moment = time.monotonic()
        if status(url) == 200:
            since = moment if run == 0 else since
            run += 1
            if run >= streak:
                return since
        else:
            run = 0
        time.sleep(0.005)
    return None


def worker_memory(master: int) -> list[float]:
    """MB resident of each child of the gunicorn master."""
    children = subprocess.run(
        ["pgrep", "-P", str(master)], capture_output=True, text=True, check=False
    ).stdout.split()
    sizes = []
    for pid in children:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                sizes.append(int(line.split()[1]) / 1024)
    return sizes


def start_edge(folder: Path, port: int, app_port: int) -> subprocess.Popen[bytes] | None:
    if shutil.which("varnishd") is None:
        print("varnishd is not installed: no CDN figures")
        return None
    from conftest import start_varnish

    return start_varnish(folder, port, app_port, memory="256m")


def publish_figures(content: Path, work: Path, stories: int = 10) -> dict[str, list[float]]:
    """Start everything, publish ``stories`` stories one by one, stop everything.
    Seconds of each figure, per story; ``startup`` and ``rss_mb`` once."""
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # the hub's request lines
    sys.path.insert(0, str(REPO / "tests"))
    from conftest import Hub, Subscriber, free_port

    app_port, edge_port = free_port(), free_port()
    base = f"http://127.0.0.1:{app_port}/"
    (work / "hub").mkdir(exist_ok=True)
    (work / "subscriber").mkdir(exist_ok=True)
    hub, subscriber = Hub(work / "hub"), Subscriber(work / "subscriber")
    hub.start()
    subscriber.start()
    site = content / "site.toml"
    text = site.read_text(encoding="utf-8")
    base_line = next(line for line in text.splitlines() if line.startswith("base_url"))
    site.write_text(
        text.replace(base_line, f'base_url = "{base}"') + f'hub = "{hub.url}"\n', encoding="utf-8"
    )
    cache = work / "publish-cache.sqlite"
    env = {
        **os.environ,
        "FEEDS_CONTENT": str(content),
        "FEEDS_CACHE": str(cache),
        "FEEDS_STATE": str(work / "state" / "feeds.db"),
        "FEEDS_DATABASE_URL": "",
    }
    # A warm cache for this base URL and hub, as a running wire has.
    subprocess.run(
        [
            PYTHON,
            "-m",
            "feeds.cli",
            "build",
            "--content",
            str(content),
            "--out",
            str(work / "publish-out"),
            "--cache",
            str(cache),
            "--no-ping",
        ],
        check=True,
        stdout=subprocess.DEVNULL,
        env=env,
    )
    varnish = start_edge(work, edge_port, app_port)
    if varnish is not None:
        env["FEEDS_PURGE_URL"] = f"http://127.0.0.1:{edge_port}/"
    figures: dict[str, list[float]] = {"workers": [], "ping": [], "hub": [], "cdn": []}
    started = time.monotonic()
    app = subprocess.Popen(
        [
            PYTHON,
            "-m",
            "gunicorn",
            "--workers",
            "2",
            "--bind",
            f"127.0.0.1:{app_port}",
            "--log-level",
            "warning",
            "webapp:create_app()",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=(work / "app.log").open("wb"),
        start_new_session=True,
    )
    try:
        up = until(lambda: status(base + "rss.xml") == 200, 600)
        if up is None:
            raise RuntimeError(f"the app did not start; see {work / 'app.log'}")
        figures["startup"] = [up - started]
        every_worker(base + "rss.xml", 600)
        figures["rss_mb"] = worker_memory(app.pid)
        topic = base + "rss.xml"
        subscriber.subscribe(topic, hub.url)
        rng = random.Random(7)
        for number in range(stories):
            slug = f"published-now-{number}"
            title = f"Published now {number} {rng.getrandbits(32):08x}"
            since_ping, since_heard = len(hub.published), len(subscriber.received)
            written = time.monotonic()
            date = datetime.now(UTC) - timedelta(seconds=1)
            write_story(content, slug, date, rng, [slug], title=title)
            page = f"articles/{slug}/"
            results: dict[str, float | None] = {}

            def watch(
                name: str,
                found: Callable[[], float | None],
                into: dict[str, float | None] = results,
            ) -> threading.Thread:
                thread = threading.Thread(target=lambda: into.__setitem__(name, found()))
                thread.start()
                return thread

            threads = [
                watch("workers", lambda p=page: every_worker(base + p, 60)),
                watch(
                    "ping",
                    lambda s=since_ping: until(lambda: topic in hub.published[s:], 60),
                ),
                watch(
                    "hub",
                    lambda s=since_heard, t=title: until(
                        lambda: any(t.encode() in b for b in subscriber.bodies(topic, s)), 60
                    ),
                ),
            ]
            if varnish is not None:
                edge = f"http://127.0.0.1:{edge_port}/{page}"
                threads.append(watch("cdn", lambda e=edge: until(lambda: status(e) == 200, 60)))
            for thread in threads:
                thread.join()
            for name, moment in results.items():
                figures[name].append(float("inf") if moment is None else moment - written)
    finally:
        os.killpg(app.pid, signal.SIGTERM)
        app.wait(timeout=30)
        if varnish is not None:
            varnish.terminate()
            varnish.wait(timeout=30)
        hub.stop()
        subscriber.stop()
    return figures


def report_publish(size: int, figures: dict[str, list[float]]) -> None:
    count = len(figures["workers"])
    print(f"\n== {size:,} articles: publishing {count} stories one after another ==")
    memory = ", ".join(f"{mb:.0f}" for mb in figures["rss_mb"])
    print(f"app start-up (first 200, warm cache) {figures['startup'][0]:8.2f} s")
    print(f"worker resident memory after start-up  {memory} MB")
    labels = {
        "workers": "written until every worker serves it",
        "ping": "written until the hub is pinged",
        "hub": "written until the hub delivered it",
        "cdn": "written until the CDN serves it",
    }
    for name, label in labels.items():
        values = figures[name]
        if values:
            print(f"{label:<40} p50 {statistics.median(values):6.2f} s   max {max(values):6.2f} s")
