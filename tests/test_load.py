"""A bounded load test on loopback: readers poll the feeds with conditional GETs
while an editor adds, edits, breaks and deletes articles. It stops by itself."""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import re
import threading
import time
from collections import Counter
from pathlib import Path

import pytest
from lxml import etree

from conftest import write

#: Six readers polling gunicorn while the content changes.
pytestmark = pytest.mark.slow

#: Seconds of load; CI runs this short form, `LOAD_SECONDS` makes it longer.
SECONDS = float(os.environ.get("LOAD_SECONDS", "8"))
CLIENTS = 6
FEEDS = [
    "/rss.xml",
    "/atom.xml",
    "/feed.json",
    "/tags/peru/rss.xml",
    "/authors/ana-quispe/atom.xml",
]


class Tally:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.statuses: Counter[int] = Counter()
        self.problems: list[str] = []
        #: ETag -> digest of the bytes it was sent with, and back.
        self.by_etag: dict[str, str] = {}
        self.by_bytes: dict[str, str] = {}

    def record(
        self, path: str, status: int, etag: str | None, body: bytes, length: str | None
    ) -> None:
        with self.lock:
            self.statuses[status] += 1
            if status >= 500:
                self.problems.append(f"{path}: {status}")
            if status != 200:
                return
            if length is None or int(length) != len(body):
                self.problems.append(f"{path}: incomplete body ({len(body)} of {length})")
            try:
                if path.endswith(".json"):
                    json.loads(body)
                else:
                    etree.fromstring(body)
            except ValueError as e:
                self.problems.append(f"{path}: not well formed: {e}")
            digest = hashlib.sha256(body).hexdigest()
            if etag is None:
                self.problems.append(f"{path}: no ETag")
                return
            if self.by_etag.setdefault(etag, digest) != digest:
                self.problems.append(f"{path}: ETag {etag} sent with different bytes")
            if self.by_bytes.setdefault(digest, etag) != etag:
                self.problems.append(f"{path}: the same bytes under two ETags")


def reader(host: str, port: int, deadline: float, tally: Tally, offset: int) -> None:
    """Poll the feeds in turn with If-None-Match, as a feed reader does."""
    etags: dict[str, str] = {}
    connection = http.client.HTTPConnection(host, port, timeout=10)
    turn = offset
    while time.monotonic() < deadline:
        path = FEEDS[turn % len(FEEDS)]
        turn += 1
        headers = {"If-None-Match": etags[path]} if path in etags else {}
        try:
            connection.request("GET", path, headers=headers)
            response = connection.getresponse()
            body = response.read()
        except (OSError, http.client.HTTPException) as e:
            tally.record(path, 599, None, b"", None)
            tally.problems.append(f"{path}: {type(e).__name__}: {e}")
            connection.close()
            connection = http.client.HTTPConnection(host, port, timeout=10)
            continue
        etag = response.getheader("ETag")
        tally.record(path, response.status, etag, body, response.getheader("Content-Length"))
        if response.status == 200 and etag:
            etags[path] = etag
        if response.getheader("Connection", "").lower() == "close":
            connection.close()
            connection = http.client.HTTPConnection(host, port, timeout=10)
    connection.close()


def editor(root: Path, deadline: float, done: list[str]) -> None:
    """Add, edit, break, fix and delete articles until the deadline."""
    target = root / "articles/opinion-bus-corridors.md"
    original = target.read_text(encoding="utf-8")
    step = 0
    while time.monotonic() < deadline:
        step += 1
        action = step % 5
        if action == 0:
            write(
                root,
                f"articles/burst-{step}.md",
                f"---\ntitle: Burst {step}\ndate: 2026-11-2{step % 7}\nauthors: [ana-quispe]\n"
                f"tags: [Perú]\n---\nNews {step}.\n",
            )
        elif action == 1:
            target.write_text(
                re.sub(r'^title: "', f'title: "Take {step}: ', original, count=1, flags=re.M),
                encoding="utf-8",
            )
        elif action == 2:
            target.write_text(original.replace("date: ", "date: broken-", 1), encoding="utf-8")
        elif action == 3:
            target.write_text(original, encoding="utf-8")
        else:
            for old in root.glob("articles/burst-*.md"):
                old.unlink()
        done.append(("add", "edit", "break", "fix", "delete")[(action - 1) % 5])
        time.sleep(1.1)  # long enough for each version to be served (within ~1 s)


def test_polling_while_the_content_changes(
    served: tuple[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    base, root = served
    host, port = base.removeprefix("http://").rstrip("/").split(":")
    tally = Tally()
    edits: list[str] = []
    started = time.monotonic()
    deadline = started + SECONDS
    threads = [
        threading.Thread(target=reader, args=(host, int(port), deadline, tally, n))
        for n in range(CLIENTS)
    ]
    threads.append(threading.Thread(target=editor, args=(root, deadline, edits)))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=SECONDS + 30)
    took = time.monotonic() - started
    requests = sum(tally.statuses.values())
    with capsys.disabled():
        print(
            f"\nload: {requests} requests in {took:.1f} s ({requests / took:.0f}/s) by {CLIENTS} "
            f"readers, {len(edits)} edits; statuses {dict(sorted(tally.statuses.items()))}; "
            f"{len(tally.by_etag)} distinct ETags; {len(tally.problems)} problems"
        )
    assert not any(thread.is_alive() for thread in threads)
    assert tally.problems == []
    assert requests > 100 and tally.statuses[200] > 0 and tally.statuses[304] > 0
    assert len(tally.by_etag) > len(FEEDS)  # the edits were seen
    assert {"add", "edit", "break", "fix", "delete"} <= set(edits)
