"""Fixtures: a small valid content directory that each test can break."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import subprocess
import sys
import textwrap
import time
import urllib.parse
import urllib.request
import uuid
from collections import Counter
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from feeds.content.directory import Loaded
from feeds.model import Article, Content
from feeds.outputs.i18n import Words, words_for
from feeds.outputs.plan import Plan

if TYPE_CHECKING:
    from jsonschema import Draft202012Validator

    from feeds.state.database import State

#: A moment after every published date of the fixtures and before the scheduled one.
NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)

SITE_TOML = """\
title = "Test Wire"
description = "A wire service used by the tests."
base_url = "https://wire.example.org/"
language = "en"
timezone = "America/Lima"
license = "CC-BY-4.0"
producer = "Test Wire"
source = "Test Wire newsroom"
"""

ANA = """\
---
name: Ana Quispe
url: https://wire.example.org/authors/ana-quispe/
affiliation: Test Wire
email: ana@wire.example.org
---
Ana Quispe covers water and cities from Lima.
"""

TOMAS = """\
---
name: Tomás Ferreira
email: tomas@wire.example.org
public_email: true
---
Tomás Ferreira edits the [water desk](/tags/agua-potable/).
"""

GOOD = """\
---
title: Lima's reservoirs run low
date: 2026-10-14T09:30:00-05:00
authors: [ana-quispe, tomas-ferreira]
tags: [Perú, Agua potable]
image:
  src: /images/lead.png
  alt: A half-empty reservoir
  caption: The reservoir in October.
  credit: Ana Quispe
---
The city's reservoirs hold a third of their usual water.

More on [the Perú page](../../tags/peru/).
"""

# A 1x1 PNG (grey, 8 bits): the smallest real image file, one that decodes.
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010800000000"
    "3a7e9b550000000a49444154789c636000000002000148afa4710000000049454e44ae426082"
)


def words_of(article: Article, content: Content) -> Words:
    """The furniture an article's outputs are written in."""
    return words_for(article.language, content.site.language, content.site.zone)


def rendered(content: Content, now: datetime) -> dict[str, bytes]:
    """Every public file of a site at ``now``, by the path it is exported as."""
    plan = Plan(Loaded(content), now)
    return {path: plan.render(path) for path in plan.paths()}


#: Variables by which libfaketime (Debian's ``faketime``, for a run of the
#: suite dated years ahead) reaches a child process.
FAKETIME_VARIABLES = ("LD_PRELOAD", "FAKETIME", "FAKETIME_NO_CACHE", "DONT_FAKE_MONOTONIC")


def real_clock_env() -> dict[str, str]:
    """This process's environment without libfaketime, for a child that is
    no part of the product and must keep the real clock: varnishd cannot
    start under it, and pip's TLS refuses certificates years "expired"."""
    return {k: v for k, v in os.environ.items() if k not in FAKETIME_VARIABLES}


def write(root: Path, path: str, text: str | bytes) -> Path:
    """Write a file under root, making folders; text is dedented."""
    file = root / path
    file.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        file.write_bytes(text)
    else:
        file.write_text(textwrap.dedent(text), encoding="utf-8")
    return file


# -- the two tiers ---------------------------------------------------------------
#
# ``pytest`` runs the fast tier: every test in this process, with no server,
# browser or child process. ``pytest --runslow`` runs every test, those marked
# ``slow`` too (gunicorn, Chromium, newsboat, Varnish, PostgreSQL, SeaweedFS, the
# WebSub hub, ``feeds`` in a child process; and test_hostile's property tests,
# which build hundreds of generated sites); CI runs that. A fast test that
# starts a process or opens a socket fails, naming the mark it lacks.


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--runslow",
        action="store_true",
        help="also run the tests marked slow: servers, browsers, child processes (CI does)",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--runslow"):
        return
    slow = [item for item in items if item.get_closest_marker("slow") is not None]
    if slow:
        config.hook.pytest_deselected(items=slow)
        items[:] = [item for item in items if item.get_closest_marker("slow") is None]


def _refused(what: str) -> Callable[..., Any]:
    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError(
            f"{what} in a test of the fast tier: mark the test @pytest.mark.slow"
            " (or its module: pytestmark = pytest.mark.slow)"
        )

    return refuse


@pytest.fixture(autouse=True)
def in_process_only(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """The fast tier proves it is one: no child process, no fork, no socket."""
    if request.node.get_closest_marker("slow") is not None:
        return
    import socket
    import subprocess

    spawn, refuse = subprocess.Popen._execute_child, _refused("a child process")

    def execute_child(self: subprocess.Popen[Any], args: Any, *rest: Any) -> Any:
        if isinstance(args, list) and args and str(args[0]).endswith("/ldconfig"):
            return spawn(self, args, *rest)  # ctypes.util.find_library: no part of the test
        return refuse()

    monkeypatch.setattr(subprocess.Popen, "_execute_child", execute_child)
    monkeypatch.setattr(os, "fork", _refused("a fork"))
    monkeypatch.setattr(socket.socket, "connect", _refused("a connection"))
    monkeypatch.setattr(socket.socket, "connect_ex", _refused("a connection"))
    monkeypatch.setattr(socket.socket, "bind", _refused("a server socket"))


@pytest.fixture(autouse=True)
def private_cache(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Builds run by a test keep their cache and their state database to
    themselves, never in ~/.cache or ./state."""
    monkeypatch.setenv("FEEDS_CACHE", str(tmp_path_factory.mktemp("cache") / "feeds.sqlite"))
    monkeypatch.setenv("FEEDS_STATE", str(tmp_path_factory.mktemp("state") / "feeds.db"))
    monkeypatch.delenv("FEEDS_DATABASE_URL", raising=False)


@pytest.fixture
def content(tmp_path: Path) -> Path:
    """A valid content directory: site.toml, two authors, one image, one article."""
    root = tmp_path / "content"
    write(root, "site.toml", SITE_TOML)
    write(root, "authors/ana-quispe.md", ANA)
    write(root, "authors/tomas-ferreira.md", TOMAS)
    write(root, "images/lead.png", PNG)
    write(root, "articles/good.md", GOOD)
    return root


@pytest.fixture
def now() -> datetime:
    return NOW


REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def sample(tmp_path: Path) -> Path:
    """A copy of the sample site (``content/``) that a test may edit or break."""
    import shutil

    return Path(shutil.copytree(REPO / "content", tmp_path / "content"))


@pytest.fixture(scope="module")
def sample_content() -> Content:
    """The sample site (``content/``), loaded: for reading, never for editing."""
    from feeds.content.directory import load_content

    return load_content(REPO / "content")


@pytest.fixture(scope="module")
def sample_files(sample_content: Content) -> dict[str, bytes]:
    """Every output of the sample site at :data:`NOW`, by path."""
    return rendered(sample_content, NOW)


def tree(root: Path, leave_out: Collection[str] = ()) -> dict[str, bytes]:
    """Every file under root by relative path, but those named in ``leave_out``
    and those in a folder named there."""
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in root.rglob("*")
        if p.is_file() and not any(part in leave_out for part in p.relative_to(root).parts)
    }


def site_files(out: Path, leave_out: Collection[str] = ()) -> dict[str, bytes]:
    """The files of an export, its marker and manifest left out, and those
    named in ``leave_out``."""
    from feeds.publish.export import is_bookkeeping

    return {path: data for path, data in tree(out, leave_out).items() if not is_bookkeeping(path)}


def clean(root: Path, tmp_path: Path, now: datetime = NOW) -> dict[str, bytes]:
    """What a build from nothing gives: no cache, one process; the export's
    marker left out."""
    import shutil

    from feeds.publish.build import build

    out = tmp_path / "clean"
    shutil.rmtree(out, ignore_errors=True)
    build(root, out, now)
    return site_files(out)


#: The first story's date of a generated site (:func:`site`).
START = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
TAGS = ("Water", "Cities", "Climate", "Work")
#: Sections of the stories (one in three has none).
SECTIONS = ("Science", "Economy", None)
AUTHORS = ("ana", "joao")


def story(
    title: str,
    date: datetime,
    tags: tuple[str, ...],
    author: str,
    extra: str = "",
    section: str | None = None,
) -> str:
    listed = ", ".join(tags)
    if section:
        extra += f"section: {section}\n"
    return (
        f'---\ntitle: "{title}"\ndate: {date.isoformat()}\nauthors: [{author}]\n'
        f"tags: [{listed}]\n{extra}---\n{title} happened, and this is the story of it.\n"
    )


def site(root: Path, count: int, feed_items: int = 5) -> Path:
    """A site of ``count`` stories, one an hour, whose archive documents hold
    ``feed_items`` each (pages hold 20)."""
    write(
        root,
        "site.toml",
        'title = "Wire"\ndescription = "A wire."\nbase_url = "https://wire.example.org/"\n'
        f'language = "en"\ntimezone = "UTC"\nlicense = "CC-BY-4.0"\nfeed_items = {feed_items}\n',
    )
    for name in AUTHORS:
        write(root, f"authors/{name}.md", f"---\nname: {name.title()}\n---\nWrites for the wire.\n")
    for n in range(count):
        tags = (TAGS[n % 4], TAGS[(n * 3 + 1) % 4])
        date = START + timedelta(hours=n)
        text = story(f"Story {n}", date, tags, AUTHORS[n % 2], section=SECTIONS[n % 3])
        write(root, f"articles/s{n:03d}.md", text)
    return root


def generate(root: Path, count: int) -> Path:
    """A generated site of ``count`` articles (bench/corpus.py)."""
    import sys

    sys.path.insert(0, str(REPO / "bench"))
    try:
        from corpus import generate as generated
    finally:
        sys.path.remove(str(REPO / "bench"))
    return Path(generated(root, count))


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# -- processes and polling --------------------------------------------------------

#: The installed ``feeds`` command, next to this interpreter.
FEEDS_COMMAND = str(Path(sys.executable).with_name("feeds"))


def feeds_cli(env: dict[str, str], *args: str) -> str:
    """What ``feeds ARGS`` prints, run as a user runs it; it must succeed
    without a traceback."""
    done = subprocess.run(
        [FEEDS_COMMAND, *args], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    return done.stdout


def wait_for(what: Callable[[], Any], message: str = "", seconds: float = 40.0) -> Any:
    """Poll for what must come, and return it: a positive mark, never a fixed sleep."""
    deadline = time.monotonic() + seconds
    while not (found := what()):
        if time.monotonic() > deadline:
            raise AssertionError(f"waited {seconds} s in vain: {message}")
        time.sleep(0.1)
    return found


def http_get(url: str) -> tuple[int, bytes]:
    """The status and body of a GET, an error status as well."""
    import urllib.error

    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def touch_later(path: Path) -> None:
    """Give an edited file a new mtime even on a coarse-grained clock."""
    info = path.stat()
    os.utime(path, ns=(info.st_atime_ns, info.st_mtime_ns + 10_000_000))


def require(tool: str) -> None:
    """Skip without ``tool`` on a developer's machine; fail in CI, which installs it."""
    import os
    import shutil

    if shutil.which(tool) is None:
        message = f"{tool} is not installed (.ci/run installs it)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)


def newsboat_reload(home: Path, *feeds: str) -> Path:
    """Run ``newsboat -x reload`` once over ``feeds``, with ``home`` as its
    home, configuration and cache; the cache database it wrote."""
    import os
    import subprocess

    (home / "urls").write_text("".join(f"{url}\n" for url in feeds))
    (home / "config").write_text("reload-threads 2\n")
    cache = home / "cache.db"
    env = {
        **os.environ,
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home),
        "XDG_DATA_HOME": str(home),
    }
    command = ["newsboat", "-u", str(home / "urls"), "-C", str(home / "config")]
    done = subprocess.run(
        [*command, "-c", str(cache), "-x", "reload"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return cache


def start_varnish(
    folder: Path, port: int, app_port: int, memory: str = "64m"
) -> subprocess.Popen[bytes]:
    """Debian's varnishd on ``port`` with the repository's ``cdn/varnish.vcl``,
    its backend the app on ``app_port``, in the foreground as a child of this
    process, in ``folder`` (its log in ``varnish.log``), on the real clock (it
    cannot start under libfaketime). The caller waits for it and stops it."""
    import shutil

    text = (Path(__file__).resolve().parent.parent / "cdn" / "varnish.vcl").read_text(
        encoding="utf-8"
    )
    assert '.port = "8000";' in text
    vcl = folder / "varnish.vcl"
    vcl.write_text(text.replace('.port = "8000";', f'.port = "{app_port}";'), encoding="utf-8")
    with (folder / "varnish.log").open("wb") as output:
        return subprocess.Popen(
            [
                shutil.which("varnishd") or "varnishd",
                "-F",  # in the foreground, a child of this process
                "-j",
                "none",  # as this user, in its own folder
                "-n",
                str(folder / "varnish"),
                "-a",
                f"127.0.0.1:{port}",
                "-T",
                "127.0.0.1:0",
                "-s",
                f"malloc,{memory}",
                "-f",
                str(vcl),
            ],
            stdout=output,
            stderr=subprocess.STDOUT,
            env=real_clock_env(),
        )


def sample_copy(folder: Path, port: int) -> Path:
    """A copy of the sample site in ``folder``, with base_url on that port."""
    import shutil

    repo = Path(__file__).resolve().parent.parent
    root = Path(shutil.copytree(repo / "content", folder / "content"))
    toml = root / "site.toml"
    toml.write_text(
        toml.read_text(encoding="utf-8").replace(
            'base_url = "https://wire.example.org/"', f'base_url = "http://127.0.0.1:{port}/"'
        ),
        encoding="utf-8",
    )
    return root


@contextmanager
def gunicorn(
    root: Path,
    port: int,
    cache: Path,
    config: str = "",
    stopped: bool = True,
    env: Mapping[str, str] | None = None,
    options: Sequence[str] = (),
    log: Path | None = None,
) -> Iterator[str]:
    """The app under gunicorn (two workers) on a loopback port, its clock
    stopped at :data:`NOW` so that what is public does not depend on the day
    the tests run (``stopped=False``: the real clock); yields its base URL
    once it answers, whatever its status. ``options`` go to gunicorn;
    ``log`` gets its standard error (the app's log)."""
    import os
    import subprocess
    import sys
    import time
    import urllib.error
    import urllib.request

    repo = Path(__file__).resolve().parent.parent
    base = f"http://127.0.0.1:{port}/"
    now = f"'NOW': '{NOW.isoformat()}'" if stopped else "'RELOAD_INTERVAL': 1.0"
    errors = log.open("ab") if log is not None else None
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "--workers",
            "2",
            "--bind",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
            "--graceful-timeout",
            str(GRACEFUL),
            *options,
            f"webapp:create_app({{{now}{config}}})",
        ],
        env={**os.environ, "FEEDS_CONTENT": str(root), "FEEDS_CACHE": str(cache), **(env or {})},
        cwd=repo,
        stderr=errors,
    )
    if errors is not None:
        errors.close()  # gunicorn has its own copy
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(base, timeout=2):
                    break
            except urllib.error.HTTPError:
                break  # it answers
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise RuntimeError("gunicorn did not start") from None
                time.sleep(0.2)
        yield base
    finally:
        took = _stop(server)
    assert took < GRACEFUL, (
        f"gunicorn took {took:.0f} s to stop: a worker hung until it was killed at the"
        f" graceful timeout ({GRACEFUL} s)"
    )


#: gunicorn's ``--graceful-timeout`` in the tests, its default: how long a
#: stopping worker may take (an exchange in flight, up to its deadline, then
#: what its batches still hold, :mod:`webapp.batch`) before it is killed.
GRACEFUL = 30


def _stop(server: subprocess.Popen[bytes]) -> float:
    """Stop gunicorn gracefully (``SIGTERM``); the seconds it took. One that
    has not ended some seconds past its graceful timeout, when it kills its
    workers, hangs: it is killed, and that fails the test."""
    started = time.monotonic()
    server.terminate()
    try:
        server.wait(timeout=GRACEFUL + 15)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()
        raise AssertionError(f"gunicorn had not stopped {GRACEFUL + 15} s after SIGTERM") from None
    return time.monotonic() - started


@contextmanager
def sample_served(
    tmp_path_factory: pytest.TempPathFactory,
    name: str,
    site_toml: str | None = None,
    log: bool = False,
) -> Iterator[tuple[str, Path]]:
    """A copy of the sample site under gunicorn on a free port, base_url
    set to its address (or its site.toml replaced by ``site_toml``), in a
    new folder named ``name``, its cache in another; with ``log``, the app's
    log in ``gunicorn.log`` beside the content. Yields (base URL, content
    directory)."""
    port = free_port()
    root = sample_copy(tmp_path_factory.mktemp(name), port)
    if site_toml is not None:
        (root / "site.toml").write_text(site_toml)
    cache = tmp_path_factory.mktemp(f"{name}-cache") / "cache.sqlite"
    with gunicorn(root, port, cache, log=root.parent / "gunicorn.log" if log else None) as base:
        yield base, root


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """The sample site under gunicorn, with base_url set to its address;
    started once per module. Yields (base URL, content directory)."""
    with sample_served(tmp_path_factory, "served") as found:
        yield found


CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
#: Where screenshots go; CI keeps the folder.
SHOTS = Path(__file__).resolve().parent.parent / "test-artifacts"
#: As root in a closed sandbox, Chromium needs these to start quietly.
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's Chromium, driven by Playwright, started once per module."""
    require(CHROMIUM)
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        require("playwright (the Python package)")
        raise
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield chromium
        chromium.close()


def postgresql_server() -> str:
    """The URL of a PostgreSQL server to make databases on; skips without one,
    fails in CI (``.ci/run`` starts one and sets ``$FEEDS_TEST_DATABASE_URL``)."""
    found = os.environ.get("FEEDS_TEST_DATABASE_URL", "")
    if not found:
        message = "no PostgreSQL server: set $FEEDS_TEST_DATABASE_URL (.ci/run does)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return found


@contextmanager
def state_database(kind: str, folder: Path) -> Iterator[str]:
    """A new, empty state database: SQLite in ``folder``, or a PostgreSQL
    database of its own, dropped afterwards."""
    if kind == "sqlite":
        yield f"sqlite:///{folder / 'state' / 'feeds.db'}"
        return
    import uuid

    from sqlalchemy import create_engine, text

    server = postgresql_server()
    name = f"feeds_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(
        server.replace("postgresql://", "postgresql+psycopg://", 1), isolation_level="AUTOCOMMIT"
    )
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield server.rsplit("/", 1)[0] + "/" + name
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.slow)])
def state(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[State]:
    """The state database opened in process, on SQLite and on PostgreSQL."""
    from feeds.state.database import State

    with state_database(request.param, tmp_path) as url:
        opened = State(url.replace("postgresql://", "postgresql+psycopg://", 1))
        yield opened
        opened.close()


def state_env(url: str) -> dict[str, str]:
    """The environment that points the command line and the app at ``url``."""
    if url.startswith("sqlite:///"):
        return {"FEEDS_STATE": url.removeprefix("sqlite:///"), "FEEDS_DATABASE_URL": ""}
    return {"FEEDS_DATABASE_URL": url}


# -- the IPTC's ninjs schema ---------------------------------------------------------


def ninjs_schemas() -> Path:
    """The folder of the IPTC's ninjs schemas ($FEEDS_NINJS_SCHEMAS)."""
    return Path(os.environ.get("FEEDS_NINJS_SCHEMAS") or REPO.parent / "shared" / "ninjs")


@pytest.fixture(scope="module")
def validator() -> Draft202012Validator:
    """The IPTC's ninjs 2.2 schema, with the format checker (``uri``,
    ``date-time``: jsonschema's ``format-nongpl`` extra checks them)."""
    from jsonschema import Draft202012Validator, FormatChecker

    schema_file = ninjs_schemas() / "ninjs-schema_2.2.json"
    if not schema_file.is_file():
        message = f"{schema_file} is missing (set FEEDS_NINJS_SCHEMAS to the IPTC schemas' folder)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    schema = json.loads(schema_file.read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, format_checker=FormatChecker())


def check_ninjs(validator: Draft202012Validator, found: dict[str, Any]) -> None:
    """``found`` is valid ninjs: else the schema's every complaint, by path."""
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(found)]
    assert not errors, errors


# -- a WebSub hub ----------------------------------------------------------------


class Served:
    """A WSGI app on a loopback port, in a thread of the test process."""

    def __init__(self, app: Any, port: int) -> None:
        from werkzeug.serving import BaseWSGIServer

        self.app, self.port = app, port
        self.server: BaseWSGIServer | None = None

    def start(self) -> None:
        import threading

        from werkzeug.serving import make_server

        self.server = make_server("127.0.0.1", self.port, self.app, threaded=True)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        assert self.server is not None
        self.server.shutdown()
        self.server.server_close()


class Hub(Served):
    """flask-websub's hub, recording the topic of every publish form it is sent."""

    def __init__(self, folder: Path) -> None:
        from celery import Celery
        from flask import Flask, request
        from flask_websub.hub import Hub as WebSubHub
        from flask_websub.hub import SQLite3HubStorage

        celery = Celery("hub", broker="memory://")
        celery.conf.task_always_eager = True  # the hub's tasks run in its requests
        app = Flask("hub")
        app.config["PUBLISH_SUPPORTED"] = True
        hub = WebSubHub(SQLite3HubStorage(str(folder / "hub.db")), celery, REQUEST_TIMEOUT=10)
        app.register_blueprint(hub.build_blueprint(url_prefix="/hub"))
        self.published: list[str] = []
        #: When each of those came, by this process's clock.
        self.times: list[float] = []

        @app.before_request
        def record() -> None:
            if request.form.get("hub.mode") == "publish":
                self.times.append(time.time())
                self.published.append(request.form["hub.topic"])

        super().__init__(app, free_port())
        self.url = f"http://127.0.0.1:{self.port}/hub"

    def pings(self, since: int = 0) -> Counter[str]:
        return Counter(self.published[since:])


#: What the subscriber's hub signs each delivery with.
SECRET = "a secret the hub signs with"


class Subscriber(Served):
    """flask-websub's subscriber: it checks each delivery's signature before
    its listener hears of it."""

    def __init__(self, folder: Path) -> None:
        from flask import Flask, request
        from flask_websub.subscriber import (
            SQLite3SubscriberStorage,
            SQLite3TempSubscriberStorage,
        )
        from flask_websub.subscriber import (
            Subscriber as WebSubSubscriber,
        )

        port = free_port()
        app = Flask("subscriber")
        app.config["SERVER_NAME"] = f"127.0.0.1:{port}"
        db = str(folder / "subscriber.db")
        self.websub = WebSubSubscriber(
            SQLite3SubscriberStorage(db), SQLite3TempSubscriberStorage(db)
        )
        app.register_blueprint(self.websub.build_blueprint(url_prefix="/callbacks"))
        #: (topic, body, X-Hub-Signature) of each delivery whose signature is valid.
        self.received: list[tuple[str, bytes, str]] = []

        def listener(topic: str, callback_id: str, body: bytes) -> None:
            self.received.append((topic, body, request.headers.get("X-Hub-Signature", "")))

        self.websub.add_listener(listener)
        super().__init__(app, port)

    def subscribe(self, topic: str, hub: str) -> None:
        """What ``Subscriber.subscribe`` does, with a secret: flask-websub
        sends a secret only to an https hub, and this one is on loopback."""
        from flask import url_for

        callback_id = uuid.uuid4().hex
        with self.app.app_context():
            callback = url_for(
                f"{self.websub.blueprint_name}.subscription_confirmation",
                callback_id=callback_id,
                _external=True,
            )
        self.websub.temp_storage[callback_id] = {
            "mode": "subscribe",
            "topic_url": topic,
            "hub_url": hub,
            "secret": SECRET,
            "lease_seconds": None,
            "timeout": 600,
        }
        form = {
            "hub.callback": callback,
            "hub.mode": "subscribe",
            "hub.topic": topic,
            "hub.secret": SECRET,
        }
        with urllib.request.urlopen(hub, urllib.parse.urlencode(form).encode()) as response:
            assert response.status == 202
        # The hub verified the intent within that request (Celery is eager).
        assert self.websub.storage[callback_id]["topic_url"] == topic

    def bodies(self, topic: str, since: int = 0) -> list[bytes]:
        return [body for t, body, _ in self.received[since:] if t == topic]


def signed(body: bytes, header: str) -> bool:
    algorithm, _, signature = header.partition("=")
    expected = hmac.new(SECRET.encode(), body, getattr(hashlib, algorithm)).hexdigest()
    return hmac.compare_digest(signature, expected)


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    found = Hub(tmp_path_factory.mktemp("hub"))
    found.start()
    yield found
    found.stop()


@pytest.fixture(scope="module")
def subscriber(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Subscriber]:
    found = Subscriber(tmp_path_factory.mktemp("subscriber"))
    found.start()
    yield found
    found.stop()


def with_hub(root: Path, hub: str) -> None:
    site = root / "site.toml"
    site.write_text(site.read_text(encoding="utf-8") + f'hub = "{hub}"\n', encoding="utf-8")


def append(file: Path, text: str) -> None:
    """An editor's edit, made now by this process's clock: under faketime the
    kernel would stamp it with the real date, years before the articles
    that clock makes public."""
    file.write_text(file.read_text(encoding="utf-8") + f"\n{text}\n", encoding="utf-8")
    now = time.time()
    os.utime(file, (now, now))


class PrivatePostgreSQL:
    """A PostgreSQL cluster of its own (``initdb``, ``pg_ctl``) in a new
    folder, on a free loopback port, trusting local connections: for a test
    that stops the server (``kill -STOP``), which the shared one
    (``$FEEDS_TEST_DATABASE_URL``) must never be. As root (CI), its
    processes run as the ``postgres`` user, as initdb requires."""

    def __init__(self) -> None:
        import glob
        import shutil
        import tempfile

        found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=_version_key)
        initdb = found[-1] if found else shutil.which("initdb")
        if initdb is None:
            require("initdb")
        assert initdb is not None
        self.bin = Path(initdb).parent
        self.folder = Path(tempfile.mkdtemp(prefix="feeds-postgresql-"))
        self.data = self.folder / "data"
        self.port = free_port()
        self.as_user: list[str] = []
        if os.geteuid() == 0:
            shutil.chown(self.folder, "postgres")
            self.as_user = ["runuser", "-u", "postgres", "--"]
        self._run("initdb", "-D", str(self.data), "-U", "feeds", "--auth=trust", "-E", "UTF8")
        self._run(
            "pg_ctl",
            "-D",
            str(self.data),
            "-l",
            str(self.folder / "server.log"),
            "-w",
            "-o",
            f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.folder}",
            "start",
        )
        #: Its ``postgres`` database, to make others in.
        self.url = f"postgresql://feeds@127.0.0.1:{self.port}/postgres"

    def _run(self, tool: str, *args: str) -> None:
        subprocess.run(
            [*self.as_user, str(self.bin / tool), *args],
            check=True,
            capture_output=True,
            env=real_clock_env(),
            timeout=120,
        )

    def processes(self) -> list[int]:
        """The postmaster and every process it started (its backends)."""
        postmaster = int((self.data / "postmaster.pid").read_text().split()[0])
        found = [postmaster]
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except (OSError, IndexError):
                continue
            if int(fields[1]) == postmaster:
                found.append(int(stat.parent.name))
        return found

    @contextmanager
    def stopped(self) -> Iterator[None]:
        """The whole server stopped (``SIGSTOP``: its sockets stay open, the
        kernel still takes what is sent to them, nothing answers), and
        always continued (``SIGCONT``) afterwards."""
        import signal

        stopped: list[int] = []
        try:
            for pid in self.processes():
                os.kill(pid, signal.SIGSTOP)
                stopped.append(pid)
            yield
        finally:
            for pid in stopped:
                with suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGCONT)

    def close(self) -> None:
        import shutil

        try:
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "stop")
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)


def _version_key(path: str) -> tuple[int, ...]:
    return tuple(int(part) for part in Path(path).parts[-3].split(".") if part.isdigit())


@pytest.fixture(scope="module")
def private_postgresql() -> Iterator[PrivatePostgreSQL]:
    """:class:`PrivatePostgreSQL`, started once per module."""
    server = PrivatePostgreSQL()
    try:
        yield server
    finally:
        server.close()
