"""The state database off the request path, under gunicorn (two workers):
a state database that cannot answer (SQLite write-locked by another process,
a PostgreSQL server that takes the connection and never answers) makes token
requests 503 within a few seconds, never holds a public page or a request
without a token, kills no worker; and a graceful stop while it is locked
loses no pixel hit and no audit row."""

from __future__ import annotations

import base64
import os
import re
import signal
import socket
import sqlite3
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from conftest import (
    FEEDS_COMMAND,
    PrivatePostgreSQL,
    free_port,
    gunicorn,
    sample_copy,
    state_env,
    wait_for,
)

pytestmark = pytest.mark.slow

#: What "at once" means for a request that needs no database: far under the
#: state database's 5 s timeout, which a request that waited for it takes.
AT_ONCE = 3.0
#: What "within a few seconds" means: the state database's timeout, and room.
FEW_SECONDS = 12.0


def fetch(url: str, authorization: str | None = None, **headers: str) -> tuple[int, float]:
    """The status of a GET, and the seconds it took."""
    request = urllib.request.Request(url, headers=headers)
    if authorization:
        request.add_header("Authorization", authorization)
    started = time.monotonic()
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            response.read()
            status = response.status
    except urllib.error.HTTPError as e:
        e.read()
        status = e.code
    return status, time.monotonic() - started


def bearer(token: str) -> str:
    return "Bearer " + token


def partner_token(env: dict[str, str]) -> str:
    done = subprocess.run(
        [FEEDS_COMMAND, "partner", "add", "La Prensa"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    found = re.search(r"^  (fp_\S+)$", done.stdout, re.M)
    assert found is not None, done.stdout
    return found[1]


def site(folder: Path, port: int) -> Path:
    root = sample_copy(folder, port)
    toml = root / "site.toml"
    text = re.sub(r"republish_pixel = .*", 'republish_pixel = "builtin"', toml.read_text())
    toml.write_text(text, encoding="utf-8")
    return root


def pixel_of(base: str) -> str:
    with urllib.request.urlopen(base + "articles/lima-reservoirs-dry-season/") as response:
        page = response.read().decode()
    found = re.search(r"/r/([0-9a-f]{32})\.gif", page)
    assert found is not None, "the republish block carries the pixel"
    return base + found[0].removeprefix("/")


@contextmanager
def locked(database: Path) -> Iterator[sqlite3.Connection]:
    """Another process's exclusive lock on a SQLite database in a rollback
    journal (as one made before WAL, or being switched): nobody reads or
    writes it until the lock is let go."""
    holder = sqlite3.connect(database, isolation_level=None)
    holder.execute("PRAGMA journal_mode=DELETE")
    holder.execute("BEGIN EXCLUSIVE")
    try:
        yield holder
    finally:
        if holder.in_transaction:
            holder.execute("ROLLBACK")
        holder.close()


def with_partner(folder: Path) -> tuple[int, Path, Path, str]:
    """The site for a free port, with a SQLite state database in ``folder``
    and one partner, La Prensa: (the port, the content, the database, its token)."""
    port = free_port()
    root = site(folder, port)
    database = folder / "state" / "feeds.db"
    env = {**os.environ, **state_env(f"sqlite:///{database}"), "FEEDS_CONTENT": str(root)}
    return port, root, database, partner_token(env)


def no_worker_killed(log: Path) -> None:
    text = log.read_text(errors="replace")
    assert "WORKER TIMEOUT" not in text
    assert "SIGKILL" not in text
    assert "Traceback" not in text


def public_and_refused_at_once(base: str, token: str) -> None:
    """While a token request waits for the state database: a public page and
    a request without a token are answered at once, and the token request
    gets 503 within a few seconds."""
    answers: list[tuple[int, float]] = []
    waiting = threading.Thread(
        target=lambda: answers.append(fetch(base + "partners/rss.xml", bearer(token)))
    )
    waiting.start()
    try:
        for _ in range(3):
            status, took = fetch(base)
            assert (status, took < AT_ONCE) == (200, True), took
            status, took = fetch(base + "partners/rss.xml")
            assert (status, took < AT_ONCE) == (401, True), took
    finally:
        waiting.join()
    [(status, took)] = answers
    assert status == 503
    assert took < FEW_SECONDS


def test_a_locked_sqlite_gives_503_to_tokens_and_holds_nothing_else(tmp_path: Path) -> None:
    port, root, database, token = with_partner(tmp_path)
    log = tmp_path / "app.log"
    # Locked before the app starts: with a state database there, its workers
    # use it from the start (the partners' stream), and a journal mode can
    # only change while nobody has it open.
    with (
        locked(database) as holder,
        gunicorn(
            root, port, tmp_path / "cache.sqlite", env=state_env(f"sqlite:///{database}"), log=log
        ) as base,
    ):
        public_and_refused_at_once(base, token)
        pixel = pixel_of(base)
        for _ in range(20):
            status, took = fetch(pixel, Referer="https://partner.example/")
            assert (status, took < AT_ONCE) == (200, True)
        no_worker_killed(log)
        holder.execute("ROLLBACK")  # let go before the stop, which then writes at once


def test_a_stop_while_the_database_is_locked_loses_no_hit_and_no_audit_row(
    tmp_path: Path,
) -> None:
    """Hits and refused requests while another process holds the lock, then
    SIGTERM: once the lock is let go, every hit and every refused request is stored."""
    port, root, database, _ = with_partner(tmp_path)
    log, pid = tmp_path / "app.log", tmp_path / "gunicorn.pid"
    hits, refused = 600, 40
    with (
        locked(database) as holder,
        gunicorn(
            root,
            port,
            tmp_path / "cache.sqlite",
            env=state_env(f"sqlite:///{database}"),
            options=("--log-level", "info", "--pid", str(pid)),
            log=log,
        ) as base,
    ):
        pixel = pixel_of(base)
        for number in range(hits):
            status, _ = fetch(pixel, Referer=f"https://partner-{number % 7}.example/page")
            assert status == 200
        for _ in range(refused):
            status, _ = fetch(base + "partners/feed.json")
            assert status == 401
        os.kill(int(pid.read_text()), signal.SIGTERM)
        # The workers say they keep trying (or, had they given up, the
        # server is gone): only then is the lock let go.
        wait_for(lambda: re.search("stopping: writing|Shutting down: Master", log.read_text()))
        holder.execute("ROLLBACK")
        wait_for(lambda: "Shutting down: Master" in log.read_text(), seconds=60)
    no_worker_killed(log)
    with sqlite3.connect(database) as connection:
        stored = connection.execute("SELECT SUM(hits) FROM hits").fetchone()[0]
        # Refused requests are counted, per hour, outcome and client (issue 23).
        audited = connection.execute(
            "SELECT SUM(requests) FROM refusals WHERE status = 401 AND outcome = 'no token'"
        ).fetchone()[0]
    assert (stored, audited) == (hits, refused)


class Silent:
    """A loopback server that takes every connection and never answers: a
    PostgreSQL server that stopped."""

    def __init__(self) -> None:
        self.socket = socket.create_server(("127.0.0.1", 0))
        self.port = self.socket.getsockname()[1]
        self.held: list[socket.socket] = []
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while True:
            try:
                connection, _ = self.socket.accept()
            except OSError:
                return
            self.held.append(connection)

    def close(self) -> None:
        self.socket.close()
        for connection in self.held:
            connection.close()


def test_a_silent_postgresql_gives_503_to_tokens_and_holds_nothing_else(
    tmp_path: Path,
) -> None:
    silent = Silent()
    try:
        port = free_port()
        root = site(tmp_path, port)
        url = f"postgresql://feeds@127.0.0.1:{silent.port}/feeds"
        log, pid = tmp_path / "app.log", tmp_path / "gunicorn.pid"
        with gunicorn(
            root,
            port,
            tmp_path / "cache.sqlite",
            ", 'STOP_DEADLINE': 1",
            env=state_env(url),
            options=("--log-level", "info", "--pid", str(pid)),
            log=log,
        ) as base:
            public_and_refused_at_once(base, "fp_someone.secret")
            # The pixel answers at once too: its counts wait in the worker.
            pixel = pixel_of(base)
            for _ in range(20):
                status, took = fetch(pixel, Referer="https://partner.example/")
                assert (status, took < AT_ONCE) == (200, True)
            no_worker_killed(log)
            # A stop with a database that never answers ends after its
            # deadline, and says what it could not write.
            os.kill(int(pid.read_text()), signal.SIGTERM)
            wait_for(lambda: "Shutting down: Master" in log.read_text(), seconds=60)
        assert silent.held, "the app did try the database"
        text = log.read_text()
        assert "pixel counts lost" in text and "audit rows lost" in text
        no_worker_killed(log)
    finally:
        silent.close()


def test_a_stopped_postgresql_gives_503_to_tokens_and_holds_nothing_else(
    tmp_path: Path, private_postgresql: PrivatePostgreSQL
) -> None:
    """A real PostgreSQL server (a cluster of the test's own), stopped with
    ``SIGSTOP`` once both workers hold pooled connections to it: its
    sockets stay open and the kernel takes what is sent, so only the
    client's own deadline ends a wait. Token requests get 503 within a few
    seconds, public pages are answered at once, no worker is killed; once
    it continues, token requests are served again."""
    url = private_postgresql.url
    port = free_port()
    root = site(tmp_path, port)
    env = {**os.environ, **state_env(url), "FEEDS_CONTENT": str(root)}
    token = partner_token(env)
    log = tmp_path / "app.log"
    with gunicorn(root, port, tmp_path / "cache.sqlite", env=state_env(url), log=log) as base:
        for _ in range(6):  # whichever worker takes them: each its pool
            status, _ = fetch(base + "partners/rss.xml", bearer(token))
            assert status == 200
        with private_postgresql.stopped():
            public_and_refused_at_once(base, token)
            public_and_refused_at_once(base, token)  # a fresh connection waits no longer
            no_worker_killed(log)
        wait_for(lambda: fetch(base + "partners/rss.xml", bearer(token))[0] == 200)
        no_worker_killed(log)


def test_a_token_request_with_a_write_locked_wal_database_is_served(tmp_path: Path) -> None:
    """SQLite in WAL: another process's write lock stops no reader, and a
    partner's request only reads: it is served at once, its audit row
    written once the lock is gone."""
    port, root, database, token = with_partner(tmp_path)
    log = tmp_path / "app.log"
    with gunicorn(
        root, port, tmp_path / "cache.sqlite", env=state_env(f"sqlite:///{database}"), log=log
    ) as base:
        holder = sqlite3.connect(database, isolation_level=None)
        holder.execute("BEGIN EXCLUSIVE")
        try:
            status, took = fetch(base + "partners/rss.xml", bearer(token))
            assert (status, took < AT_ONCE) == (200, True), took
            status, took = fetch(base + "partners/rss.xml", "Basic " + _basic(token))
            assert (status, took < AT_ONCE) == (200, True), took
        finally:
            holder.execute("ROLLBACK")
            holder.close()

        def audited() -> int:
            with sqlite3.connect(database) as connection:
                found: int = connection.execute(
                    "SELECT COUNT(*) FROM audit WHERE outcome = 'ok' AND status = 200"
                ).fetchone()[0]
                return found

        wait_for(lambda: audited() == 2)
        no_worker_killed(log)


def _basic(token: str) -> str:
    return base64.b64encode(f"newsroom:{token}".encode()).decode()
