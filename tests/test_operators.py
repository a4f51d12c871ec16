"""What an operator runs: the package as pip installs it, gunicorn with
``--preload``, the state database wherever the server starts, the static
export on hosts that read ``_redirects``, and ``feeds watch``."""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import pytest

from conftest import REPO, free_port, gunicorn, sample_copy

# -- issue 24, item 17: deployment details --------------------------------------------


def test_gunicorn_is_installed_with_the_package() -> None:
    """The README's run commands use gunicorn: ``pip install feeds`` brings it."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    names = [re.split(r"[<>=\[ ;]", d, maxsplit=1)[0].lower() for d in project["dependencies"]]
    assert "gunicorn" in names


@pytest.mark.slow
def test_feeds_version_names_the_installed_version() -> None:
    from importlib.metadata import version

    done = subprocess.run(
        [sys.executable, "-m", "feeds.cli", "--version"], capture_output=True, text=True
    )
    assert (done.returncode, done.stdout, done.stderr) == (0, f"feeds {version('feeds')}\n", "")


def _held(port: int, path: str) -> socket.socket:
    """A request whose headers are not finished: a sync worker takes it and
    waits for the rest, so that the next one goes to the other worker."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    sock.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n".encode())
    return sock


def _finish(sock: socket.socket) -> bytes:
    sock.sendall(b"Connection: close\r\n\r\n")
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    sock.close()
    return data


@pytest.mark.slow
def test_preload_forks_no_thread_and_both_workers_serve_an_edit_within_a_second(
    tmp_path: Path,
) -> None:
    """``gunicorn --preload -w 2`` with a state database (so that changes are
    told to partners): the master forks its workers with no thread of ours
    running (a thread forked mid-transaction leaves a worker hung on a lock
    it never gets back), and an edit reaches both workers, each answering one
    of two requests made at once, within about a second of its second."""
    from feeds.state.database import State

    port = free_port()
    root = sample_copy(tmp_path, port)
    database = tmp_path / "state" / "feeds.db"
    State(f"sqlite:///{database}").close()  # `feeds partner add` made it
    threads = tmp_path / "threads.jsonl"
    config = tmp_path / "gunicorn.conf.py"
    config.write_text(
        "import json, threading\n"
        "def pre_fork(server, worker):\n"
        f"    with open({str(threads)!r}, 'a') as f:\n"
        "        f.write(json.dumps([t.name for t in threading.enumerate()]) + '\\n')\n",
        encoding="utf-8",
    )
    path = "/articles/coral-nursery-cartagena/"
    article = root / "articles" / "coral-nursery-cartagena.md"
    env = {"FEEDS_STATE": str(database)}
    options = ["--preload", "--config", str(config)]
    with gunicorn(root, port, tmp_path / "cache.sqlite", env=env, options=options):
        forked = [json.loads(line) for line in threads.read_text().splitlines()]
        assert len(forked) == 2 and forked == [["MainThread"]] * 2
        text = article.read_text(encoding="utf-8")
        article.write_text(text.replace('title: "', 'title: "Edited: ', 1), encoding="utf-8")
        edited = article.stat().st_mtime
        while True:
            first = _held(port, path)
            second = _held(port, path)
            pair = [b"Edited: " in _finish(first), b"Edited: " in _finish(second)]
            if all(pair):
                break
            # A change is served once its second is over (see webapp.reload), then
            # within the watcher's interval of a second: 2 s after that second ends.
            assert time.time() < int(edited) + 1 + 2.0, pair
            time.sleep(0.1)


# -- issue 24, item 15: the state database, wherever the process starts ----------------


def _feeds(
    *args: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    import os

    return subprocess.run(
        [sys.executable, "-m", "feeds.cli", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**os.environ, "PYTHONPATH": str(REPO), **(env or {})},
    )


@pytest.mark.slow
def test_partner_add_anywhere_and_gunicorn_elsewhere_share_the_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``feeds partner add`` run from one folder and gunicorn started in
    another (``--chdir``) use the one database beside the content: the token
    it printed is granted. The command names the file; the app logs it; the
    file is its owner's alone."""
    monkeypatch.delenv("FEEDS_STATE")  # the default, as an operator has it
    port = free_port()
    root = sample_copy(tmp_path / "site", port)
    database = tmp_path / "site" / "state" / "feeds.db"
    somewhere, elsewhere = tmp_path / "somewhere", tmp_path / "elsewhere"
    somewhere.mkdir()
    elsewhere.mkdir()
    added = _feeds("partner", "add", "La Prensa", "--content", str(root), cwd=somewhere)
    assert added.returncode == 0, added.stderr
    assert f"state database: {database} (not made yet)" in added.stderr
    token = re.search(r"fp_\S+", added.stdout)
    assert token is not None
    assert database.stat().st_mode & 0o777 == 0o600
    assert database.parent.stat().st_mode & 0o777 == 0o700
    listed = _feeds("partner", "list", cwd=somewhere, env={"FEEDS_CONTENT": str(root)})
    assert f"state database: {database}\n" in listed.stderr and "La Prensa" in listed.stdout
    log = tmp_path / "app.log"
    options = ["--chdir", str(elsewhere)]
    with gunicorn(root, port, tmp_path / "cache.sqlite", options=options, log=log) as base:
        import urllib.request

        request = urllib.request.Request(
            base + "partners/rss.xml", headers={"Authorization": f"Bearer {token.group()}"}
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status == 200
    assert f"state database: {database}\n" in log.read_text(encoding="utf-8")
    assert not (elsewhere / "state").exists() and not (somewhere / "state").exists()


# -- issue 24, item 16: withdrawn pages on static hosts --------------------------------


def _redirects(out: Path) -> dict[str, tuple[str, str]]:
    """``_redirects`` read as Netlify does: ``from to status`` a line, ``#`` comments."""
    found = {}
    for line in (out / "_redirects").read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            source, target, status = line.split()
            found[source] = (target, status)
    return found


def test_static_hosts_are_told_withdrawn_pages_are_gone(
    sample: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``feeds build`` writes ``_redirects``: each withdrawn article's URL
    answers 410 with its notice (``!``: although the file exists), nothing
    else does; the notice and the 404 page say ``noindex``. A later
    withdrawal reaches it on the fast path, as a clean build writes it."""
    from conftest import NOW, clean
    from feeds.cli import main

    out = tmp_path / "out"
    args = ["build", "--content", str(sample), "--out", str(out), "--jobs", "1"]
    monkeypatch.setenv("FEEDS_NOW", NOW.isoformat())
    assert main(args) == 0
    notice = "/articles/arequipa-well-study/index.html"
    assert _redirects(out) == {
        "/articles/arequipa-well-study/": (notice, "410!"),
        notice: (notice, "410!"),
    }
    assert '<meta name="robots" content="noindex">' in (out / notice[1:]).read_text()
    assert '<meta name="robots" content="noindex">' in (out / "404.html").read_text()
    story = sample / "articles" / "opinion-bus-corridors.md"
    story.write_text(
        story.read_text(encoding="utf-8").replace(
            "\n---\n",
            "\nwithdrawn:\n  date: 2026-11-26T10:00:00Z\n  reason: Plagiarised.\n---\n",
            1,
        ),
        encoding="utf-8",
    )
    capsys.readouterr()
    assert main(args) == 0
    assert "wrote" in capsys.readouterr().out
    assert _redirects(out)["/articles/opinion-bus-corridors/"] == (
        "/articles/opinion-bus-corridors/index.html",
        "410!",
    )
    assert (out / "_redirects").read_bytes() == clean(sample, tmp_path)["_redirects"]


# -- issue 24, item 14: scheduled stories and withdrawals on static hosting -------------


def test_build_says_when_the_next_change_by_the_clock_falls_due(
    content: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A story scheduled for 14:30 UTC: ``feeds build`` at 12:00 says the
    export goes stale then, and says it again when it had nothing to do."""
    from conftest import GOOD, NOW, write
    from feeds.cli import main

    write(
        content,
        "articles/later.md",
        GOOD.replace("date: 2026-10-14T09:30:00-05:00", "date: 2026-11-27T09:30:00-05:00"),
    )
    monkeypatch.setenv("FEEDS_NOW", NOW.isoformat())  # 2026-11-27 12:00 UTC
    args = ["build", "--content", str(content), "--out", str(tmp_path / "out"), "--jobs", "1"]
    for _ in range(2):
        assert main(args) == 0
        assert "next change by the clock at 2026-11-27 14:30:00 UTC" in capsys.readouterr().out


def test_watch_builds_on_each_change_and_when_a_moment_falls_due() -> None:
    """The loop, with a clock and wakes of the test's: it builds at its first
    wake, on a change, and on the first wake at or after the moment the last
    build named; never on a tick before it."""
    from datetime import UTC, datetime, timedelta

    from feeds.publish.watch import loop

    start = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
    second = timedelta(seconds=1)
    moments = iter([start + n * second for n in range(10)])  # 0 s, 1 s, ... 9 s
    built: list[datetime] = []
    # Each build names the moment 3 s after it as due, but the third, none.
    dues = iter([start + 3 * second, start + 7 * second, None])

    def build(now: datetime) -> datetime | None:
        built.append(now)
        return next(dues)

    # The first wake (0 s) is the watcher's start; a change at 2 s.
    #        0 s   1 s    2 s   3 s    4 s    5 s    6 s    7 s    8 s    9 s
    wakes = [True, False, True, False, False, False, False, False, False, False]
    assert loop(build, lambda: next(moments), wakes) == 3
    # At start; on the change at 2 s (3 s passes unbuilt: the build at 2 s
    # named 7 s); at 7 s; then nothing is due.
    assert built == [start, start + 2 * second, start + 7 * second]


class _Lines:
    """The lines a child process prints, read as they come."""

    def __init__(self, stream: object) -> None:
        import queue
        import threading

        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []

        def read() -> None:
            for line in stream:  # type: ignore[attr-defined]
                self.lines.put(line)

        threading.Thread(target=read, daemon=True).start()

    def until(self, text: str, timeout: float = 60) -> str:
        """The next line holding ``text``; fails after ``timeout`` seconds."""
        import queue

        deadline = time.monotonic() + timeout
        while True:
            try:
                line = self.lines.get(timeout=max(deadline - time.monotonic(), 0.01))
            except queue.Empty:
                raise AssertionError(f"no line with {text!r} in: {self.seen}") from None
            self.seen.append(line)
            if text in line:
                return line


@pytest.mark.slow
@pytest.mark.parametrize("signal_name", ["SIGTERM", "SIGINT"])
def test_feeds_watch_rebuilds_on_a_change_and_stops_cleanly(
    sample: Path, tmp_path: Path, signal_name: str
) -> None:
    """``feeds watch`` as a service runs it: it builds, says when the next
    change by the clock falls due, builds again when an article is edited
    (the export then has the edit), and stops on SIGTERM or SIGINT with exit
    code 0, saying so, without a traceback."""
    import os
    import signal

    from conftest import NOW

    out = tmp_path / "out"
    watcher = subprocess.Popen(
        [sys.executable, "-m", "feeds.cli", "watch", "--content", str(sample), "--out", str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "FEEDS_NOW": NOW.isoformat(), "PYTHONPATH": str(REPO)},
    )
    try:
        lines = _Lines(watcher.stdout)
        assert "wrote" in lines.until(" files of ")
        # The sample's next moment: the retracted study's tombstone ends,
        # 90 days after its withdrawal on 2026-11-21 16:00 -05:00.
        assert "next build at 2027-02-19 21:00:00 UTC or on a change" in lines.until("watching")
        story = sample / "articles" / "coral-nursery-cartagena.md"
        story.write_text(
            story.read_text(encoding="utf-8").replace('title: "', 'title: "Watched: ', 1),
            encoding="utf-8",
        )
        assert "wrote" in lines.until(" files of ")
        lines.until("watching")
        page = out / "articles" / "coral-nursery-cartagena" / "index.html"
        assert "Watched: The coral nursery" in page.read_text(encoding="utf-8")
        watcher.send_signal(getattr(signal, signal_name))
        assert watcher.wait(timeout=30) == 0
        assert f"stopped watching {sample}" in lines.until("stopped")
        assert watcher.stderr is not None
        assert "Traceback" not in watcher.stderr.read()
        watcher.stderr.close()
    finally:
        if watcher.poll() is None:
            watcher.kill()
        watcher.communicate()  # the rest of its output, and its pipes closed
