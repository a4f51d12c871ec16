"""``feeds deploy``: the last export, synced to S3-compatible object storage.

What is in the bucket is known without asking each object: every object
carries the digest of its bytes and of its headers in its metadata
(``x-amz-meta-feeds-digest``, ``x-amz-meta-feeds-headers``), and a manifest
object beside them (:data:`MANIFEST`) keeps those digests with each object's
ETag. One paginated listing then tells which objects are as the manifest
describes them (same ETag and size); only the others are asked with a HEAD.

What is in the export is known without reading it either: the build writes
the export's own manifest (:data:`feeds.publish.export.MANIFEST_FILE`, each file's
digest and size) with the files, and the deploy plans from it, reading only
the files it uploads. The ``_headers`` file, which gives each file its
headers, is read only when something is uploaded or it changed since the
last deploy (whose digest of it the bucket's manifest keeps): otherwise each
object's headers are still those the last deploy gave it. The manifest is the
build's word: a file edited by hand in the export is not deployed, and one
that is uploaded and does not match it stops the deploy.

The order keeps the site whole at every moment, so that a deploy stopped
anywhere leaves an old or a new version of each file and no link to a file
not yet uploaded:

1. objects that are new in the bucket, leaves first (images, stylesheets,
   then article pages, listing pages, the home page, feeds, and last the
   OPML list and the sitemap). Nothing already published links to them yet;
2. then objects that exist and changed, in the same order: whatever their new
   version links to is already there;
3. deletions at the very end, when nothing links to those objects any more;
4. the manifest, which a deploy marks as under way (before its first write)
   for the objects it is about to touch, so that the next deploy asks those
   objects themselves and reports them as changed if this one was stopped.

Planning (:func:`stale`, :func:`plan`, the manifests) is pure; the boto3 I/O
is in :func:`deploy` and the functions it calls.
"""

from __future__ import annotations

import enum
import gzip
import json
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from feeds import urls
from feeds.digest import digest
from feeds.errors import FeedsError
from feeds.model import Site
from feeds.outputs.headers import (
    HEADERS_FILE,
    REDIRECTS_FILE,
    HeaderRules,
    Headers,
    read_headers_file,
    url_path,
)
from feeds.publish.export import MANIFEST_FILE, MARKER, Manifest, read_manifest, read_marker

#: The object beside the site's that records what the last deploy left.
MANIFEST = ".feeds-deploy.json.gz"
#: Metadata names (``x-amz-meta-...``) of the digests each object carries.
DIGEST_KEY = "feeds-digest"
HEADERS_KEY = "feeds-headers"
#: Headers an S3 object can carry, by the name ``put_object`` gives them.
#: Every other header of :func:`feeds.outputs.headers.headers` is reported as not carried.
CARRIED = {
    "Content-Type": "ContentType",
    "Cache-Control": "CacheControl",
    "Content-Language": "ContentLanguage",
    "Content-Disposition": "ContentDisposition",
    "Content-Encoding": "ContentEncoding",
}
DEFAULT_MAX_DELETES = 50
#: Requests in flight at once: uploads wait on the network, not on the CPU.
JOBS = 8
#: Objects one DeleteObjects request may name.
DELETE_BATCH = 1000
#: A digest the deploy knows exists but not what it is (a foreign object).
UNKNOWN = "?"

#: ``progress(done, total, done_bytes, total_bytes)`` after each object.
Progress = Callable[[int, int, int, int], None]
#: A boto3 S3 client (boto3 has no type hints).
Client = Any


class DeployError(FeedsError):
    """The deploy could not be done; what was uploaded before it stopped is consistent."""


class TooManyDeletes(DeployError):
    """More objects would be deleted than allowed; nothing was changed."""

    def __init__(self, target: Target, paths: tuple[str, ...], limit: int) -> None:
        self.target = target
        self.paths = paths
        self.limit = limit
        shown = ", ".join(paths[:3]) + (", ..." if len(paths) > 3 else "")
        super().__init__(
            f"{target}: would delete {len(paths)} objects ({shown}), more than "
            f"--max-deletes {limit}; nothing was changed (check --to and --out, "
            "or pass --force)"
        )


@dataclass(frozen=True)
class Target:
    """Where the site goes: a bucket, and a prefix inside it."""

    bucket: str
    #: ``""`` or a prefix ending in ``/``.
    prefix: str = ""

    @classmethod
    def parse(cls, text: str) -> Target:
        """``s3://BUCKET`` or ``s3://BUCKET/PREFIX``."""
        scheme, _, rest = text.partition("://")
        bucket, _, prefix = rest.partition("/")
        if scheme != "s3" or not bucket:
            raise DeployError(f"expected s3://BUCKET or s3://BUCKET/PREFIX, got {text!r}")
        prefix = prefix.strip("/")
        if "//" in prefix or any(part in (".", "..") for part in prefix.split("/")):
            raise DeployError(f"{text}: the prefix must be a plain path, like site/")
        return cls(bucket, prefix + "/" if prefix else "")

    def key(self, path: str) -> str:
        return self.prefix + path

    def __str__(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}"


@dataclass(frozen=True)
class LocalFile:
    """A file of the export, as it should be in the bucket."""

    #: Relative to the export, with forward slashes (``articles/x/index.html``).
    path: str
    size: int
    #: :func:`feeds.digest.digest` of the bytes.
    digest: str
    #: Every header :func:`feeds.outputs.headers.headers` gives the file; None when
    #: ``_headers`` was not read (it is as the last deploy applied it).
    headers: Headers | None
    #: The digest of its carried headers when ``headers`` is None: what the
    #: last deploy gave the object.
    applied: str = ""

    @property
    def carried(self) -> Headers:
        """The headers the object itself carries."""
        if self.headers is None:
            raise DeployError(f"{self.path}: its headers were not read")  # pragma: no cover
        return tuple((name, value) for name, value in self.headers if name in CARRIED)

    @property
    def headers_digest(self) -> str:
        if self.headers is None:
            return self.applied
        return digest(repr(self.carried).encode())


@dataclass(frozen=True)
class Listed:
    """An object as the bucket's listing shows it."""

    etag: str
    size: int


@dataclass(frozen=True)
class Known:
    """What the manifest says of an object."""

    #: The digest of its bytes when the last deploy finished; None when it was
    #: absent then, :data:`UNKNOWN` when it was there but not ours.
    digest: str | None
    headers: str | None = None
    #: Its ETag then; None while a deploy is under way for it: ask the object.
    etag: str | None = None
    size: int = 0


@dataclass(frozen=True)
class Applied:
    """The export's ``_headers`` a finished deploy gave the objects, as its
    manifest records it."""

    #: Its digest, as the export's manifest gives it.
    digest: str
    #: The headers it names that objects cannot carry, sorted.
    not_carried: tuple[str, ...]


@dataclass(frozen=True)
class Stored:
    """What an object holds now, from its metadata."""

    #: None for an object without our metadata (not written by feeds deploy).
    digest: str | None
    headers: str | None


class Kind(enum.Enum):
    #: Not in the bucket yet.
    NEW = "new"
    #: In the bucket with other bytes.
    CHANGED = "changed"
    #: The same bytes with other headers (``cache_max_age`` changed, say).
    HEADERS = "headers"
    DELETE = "delete"


@dataclass(frozen=True)
class Action:
    kind: Kind
    path: str
    #: Bytes to upload (0 for a deletion).
    size: int = 0


@dataclass(frozen=True)
class Plan:
    """What a deploy does, in order."""

    #: Uploads in groups: every object of a group is uploaded before any of
    #: the next group; within one, in any order (in parallel).
    phases: tuple[tuple[Action, ...], ...]
    #: Deletions, after every upload.
    deletes: tuple[Action, ...]
    #: Exported files the bucket already holds as they are.
    unchanged: int
    #: Exported paths whose bytes differ from what the last finished deploy
    #: left (added, changed or removed), sorted: what a hub is told about.
    changed: tuple[str, ...]
    #: Objects under the prefix that no deploy wrote (``robots.txt`` put
    #: there by hand), sorted: left where they are.
    foreign: tuple[str, ...] = ()

    @property
    def uploads(self) -> tuple[Action, ...]:
        return tuple(action for phase in self.phases for action in phase)


@dataclass(frozen=True)
class Report:
    """What ``feeds deploy`` did, or would do with ``dry_run``."""

    target: Target
    #: Uploads in the order of the plan (by phase), then deletions.
    actions: tuple[Action, ...]
    #: Exported files the bucket already held as they are.
    unchanged: int
    #: Bytes uploaded.
    bytes: int
    #: Exported paths whose bytes changed since the last finished deploy
    #: (uploaded with new bytes, or deleted), sorted.
    changed: tuple[str, ...]
    #: Headers of the site's policy that objects cannot carry, sorted: a CDN
    #: or the static host in front of the bucket must add them.
    not_carried: tuple[str, ...]
    dry_run: bool = False
    #: (path, digest of the bytes deployed) of each changed path the export
    #: still has: what a hub is told of.
    fresh: tuple[tuple[str, str], ...] = ()
    #: Objects no deploy wrote, left where they are (see :attr:`Plan.foreign`).
    foreign: tuple[str, ...] = ()

    @property
    def uploaded(self) -> tuple[str, ...]:
        return tuple(a.path for a in self.actions if a.kind is not Kind.DELETE)

    @property
    def deleted(self) -> tuple[str, ...]:
        return tuple(a.path for a in self.actions if a.kind is Kind.DELETE)


# -- planning (pure) ---------------------------------------------------------------

#: Upload ranks: what links to others goes after them.
ASSET, ARTICLE, LISTING, HOME, FEED, INDEX = range(6)
_ARTICLES = urls.article("-").removesuffix("-/")  # the folder of article pages


def rank(path: str) -> int:
    """Where an exported file goes in the upload order: images, stylesheets
    and scripts first, then article pages, listing pages, the home page (where
    readers come in), feeds, and last the OPML list, the sitemap and
    robots.txt, which name every feed and page or the sitemap (the sitemaps
    the index names, of pages, articles and news, go with the feeds)."""
    if path in (urls.OPML, urls.SITEMAP, urls.ROBOTS):
        return INDEX
    if urls.is_feed(path) or path.startswith(urls.SITEMAPS):
        return FEED
    if not path.endswith(".html") or path == urls.NOT_FOUND:
        return ASSET
    if path == urls.file_of(urls.HOME):
        return HOME
    return ARTICLE if path.startswith(_ARTICLES) else LISTING


def stale(
    local: Mapping[str, LocalFile], listed: Mapping[str, Listed], known: Mapping[str, Known]
) -> list[str]:
    """The exported paths whose object must be asked what it holds: those in
    the bucket that the manifest does not describe as they are listed."""
    found = []
    for path in sorted(local.keys() & listed.keys()):
        entry, seen = known.get(path), listed[path]
        if (
            entry is None
            or entry.etag is None
            or (entry.etag, entry.size) != (seen.etag, seen.size)
            or entry.digest in (None, UNKNOWN)
        ):
            found.append(path)
    return found


def stored(
    listed: Mapping[str, Listed], known: Mapping[str, Known], asked: Mapping[str, Stored]
) -> dict[str, Stored]:
    """What each listed object holds: its own answer where it was asked, else
    the manifest's."""
    found = {}
    for path in listed:
        if path in asked:
            found[path] = asked[path]
        elif (entry := known.get(path)) is not None and entry.digest not in (None, UNKNOWN):
            found[path] = Stored(entry.digest, entry.headers)
    return found


def previous(
    path: str, listed: Mapping[str, Listed], known: Mapping[str, Known], now: Mapping[str, Stored]
) -> str | None:
    """The digest the last finished deploy left at ``path`` (None: nothing,
    :data:`UNKNOWN`: something not ours)."""
    if path in known:
        return known[path].digest
    if path in listed:
        return (now[path].digest if path in now else None) or UNKNOWN
    return None


def plan(
    target: Target,
    local: Mapping[str, LocalFile],
    listed: Mapping[str, Listed],
    known: Mapping[str, Known],
    asked: Mapping[str, Stored],
    max_deletes: int = DEFAULT_MAX_DELETES,
    force: bool = False,
    delete_foreign: bool = False,
) -> Plan:
    """Decide what to upload, in which order, and what to delete.

    ``listed`` is the bucket's listing (exported paths only, the manifest
    left out), ``known`` the manifest and ``asked`` the answers of the objects
    :func:`stale` and :func:`unowned` named. Only objects a deploy wrote (the
    manifest or the object's own metadata says so) are deleted: the others
    are :attr:`Plan.foreign`, and left unless ``delete_foreign``. Raises
    :class:`TooManyDeletes` when more than ``max_deletes`` objects would go,
    unless ``force``.
    """
    now = stored(listed, known, asked)
    uploads = []
    for path in sorted(local):
        file = local[path]
        if path not in listed:
            kind: Kind | None = Kind.NEW
        elif path not in now or now[path].digest != file.digest:
            kind = Kind.CHANGED
        elif now[path].headers != file.headers_digest:
            kind = Kind.HEADERS
        else:
            kind = None
        if kind is not None:
            uploads.append(Action(kind, path, file.size))
    gone = sorted(listed.keys() - local.keys())
    foreign = tuple(path for path in gone if not _ours(now.get(path)))
    deletes = tuple(
        Action(Kind.DELETE, path) for path in gone if delete_foreign or path not in foreign
    )
    kept = frozenset(foreign) if not delete_foreign else frozenset()
    if len(deletes) > max_deletes and not force:
        raise TooManyDeletes(target, tuple(a.path for a in deletes), max_deletes)

    def order(action: Action) -> tuple[bool, int]:
        return (action.kind is not Kind.NEW, rank(action.path))

    phases: dict[tuple[bool, int], list[Action]] = {}
    for action in sorted(uploads, key=lambda a: (order(a), a.path)):
        phases.setdefault(order(action), []).append(action)
    paths = local.keys() | listed.keys() | {p for p, k in known.items() if k.digest is not None}
    changed = tuple(
        sorted(
            path
            for path in paths - kept
            if (local[path].digest if path in local else None) != previous(path, listed, known, now)
        )
    )
    return Plan(
        phases=tuple(tuple(group) for group in phases.values()),
        deletes=deletes,
        unchanged=len(local) - len(uploads),
        changed=changed,
        foreign=foreign,
    )


def _ours(found: Stored | None) -> bool:
    """Did a deploy write this object (as far as its digest says)?"""
    return found is not None and found.digest not in (None, UNKNOWN)


def unowned(
    local: Mapping[str, LocalFile], listed: Mapping[str, Listed], known: Mapping[str, Known]
) -> list[str]:
    """The listed paths the export does not have and the manifest does not
    say a deploy wrote: each is asked (its metadata says whether it is ours)
    before anything deletes it."""
    return [
        path
        for path in sorted(listed.keys() - local.keys())
        if (entry := known.get(path)) is None or entry.digest in (None, UNKNOWN)
    ]


def manifest_during(
    work: Plan, listed: Mapping[str, Listed], known: Mapping[str, Known], now: Mapping[str, Stored]
) -> dict[str, Known]:
    """The manifest while ``work`` is under way: what the last finished deploy
    left, with every object about to be touched marked to be asked again."""
    during = dict(known)
    for action in (*work.uploads, *work.deletes):
        entry = known.get(action.path)
        if entry is None:
            seen = now.get(action.path)
            entry = Known(previous(action.path, listed, known, now), seen.headers if seen else None)
        during[action.path] = Known(entry.digest, entry.headers, None, entry.size)
    return during


def manifest_after(
    local: Mapping[str, LocalFile], etags: Mapping[str, str | None]
) -> dict[str, Known]:
    """The manifest once the bucket holds exactly the export."""
    return {
        path: Known(file.digest, file.headers_digest, etags.get(path), file.size)
        for path, file in local.items()
    }


def encode_manifest(entries: Mapping[str, Known], applied: Applied | None = None) -> bytes:
    objects = {p: [k.digest, k.headers, k.etag, k.size] for p, k in sorted(entries.items())}
    found: dict[str, Any] = {"version": 1, "objects": objects}
    if applied is not None:
        found["headers"] = [applied.digest, list(applied.not_carried)]
    text = json.dumps(found, separators=(",", ":"))
    return gzip.compress(text.encode(), mtime=0)


def decode_manifest(data: bytes) -> tuple[dict[str, Known], Applied | None]:
    """The entries of a manifest and the ``_headers`` it records; none for
    one that cannot be read (every object is then asked, ``_headers`` read)."""
    try:
        found = json.loads(gzip.decompress(data))
        if found.get("version") != 1:
            return {}, None
        entries = {
            str(path): Known(sha, headers, etag, int(size))
            for path, (sha, headers, etag, size) in found["objects"].items()
        }
    except (OSError, EOFError, ValueError, TypeError, KeyError, AttributeError):
        return {}, None
    try:
        sha, names = found["headers"]
        return entries, Applied(str(sha), tuple(str(name) for name in names))
    except (KeyError, ValueError, TypeError):
        return entries, None


# -- the export and the site -------------------------------------------------------


def check_export(out: Path) -> Manifest:
    """The manifest of the export in ``out``; refuses a folder that ``feeds
    build`` did not write, and an export whose manifest is not its own."""
    build = read_marker(out) if out.is_dir() else None
    if build is None:
        raise DeployError(
            f"{out} is not an export written by feeds build (it has no {MARKER}); "
            "run feeds build first"
        )
    manifest = read_manifest(out)
    if manifest is None:
        raise DeployError(
            f"{out} has no readable {MANIFEST_FILE} (an export of an older feeds?); "
            "run feeds build again"
        )
    if manifest.build != build or read_marker(out) != build:
        raise DeployError(
            f"{out}/{MANIFEST_FILE} is not the manifest of the export beside it (a build "
            "ran meanwhile?); run feeds deploy again, or remove it and run feeds build"
        )
    if HEADERS_FILE not in manifest.files:
        raise DeployError(f"{out} has no {HEADERS_FILE} file: build it again")
    return manifest


def read_export_file(out: Path, path: str) -> bytes:
    """The bytes of one file of the export: the only way a deploy reads one."""
    try:
        return (out / path).read_bytes()
    except OSError as e:
        raise DeployError(
            f"cannot read {out / path}: {e.strerror or e} (run feeds build again)"
        ) from e


def local_files(
    out: Path, manifest: Manifest, site: Site, rules: HeaderRules | None = None
) -> dict[str, LocalFile]:
    """Every file of the export as the build's ``manifest`` describes it, with
    the headers ``rules`` (read from ``_headers`` by :func:`read_rules`) give
    it; without ``rules``, with none (see :func:`applied`)."""
    found = {}
    for path, (sha, size) in manifest.files.items():
        if path in (HEADERS_FILE, REDIRECTS_FILE):  # a static host's, not files of the site
            continue
        rule = None
        if rules is not None:
            rule = rules.get(url_path(path, site))
            if rule is None:
                raise DeployError(f"{out}/{HEADERS_FILE} has no rule for {path}: build it again")
        found[path] = LocalFile(path, size, sha, rule)
    return found


def applied(
    local: Mapping[str, LocalFile], known: Mapping[str, Known]
) -> dict[str, LocalFile] | None:
    """``local`` with the headers each object was given by the last deploy,
    when the export's ``_headers`` is the one it applied; None when one of
    them has none on record (``_headers`` must then be read)."""
    found = {}
    for path, file in local.items():
        entry = known.get(path)
        if entry is None or entry.headers is None:
            return None
        found[path] = LocalFile(path, file.size, file.digest, None, entry.headers)
    return found


def read_rules(out: Path, manifest: Manifest) -> HeaderRules:
    """The rules of the export's ``_headers``."""
    data = read_export_file(out, HEADERS_FILE)
    if digest(data) != manifest.files[HEADERS_FILE][0]:
        raise _not_built(out, HEADERS_FILE)
    return read_headers_file(data)


def _not_built(out: Path, path: str) -> DeployError:
    return DeployError(
        f"{out / path} is not what feeds build wrote (a build ran during the deploy, or "
        "it was edited by hand: an export is the build's, edit the content); nothing "
        "after it was uploaded: run feeds deploy again"
    )


def not_carried(local: Iterable[LocalFile]) -> tuple[str, ...]:
    """The headers of the policy that objects cannot carry, sorted."""
    return tuple(sorted({n for file in local for n, _ in file.headers or () if n not in CARRIED}))


# -- the bucket (boto3) ------------------------------------------------------------


def client(endpoint_url: str | None = None) -> Client:
    """An S3 client with credentials from the standard AWS environment
    variables and files (never from the content)."""
    import boto3
    from botocore.config import Config
    from botocore.exceptions import BotoCoreError

    try:
        session = boto3.session.Session()
        return session.client(
            "s3",
            endpoint_url=endpoint_url,
            config=Config(max_pool_connections=JOBS * 2, retries={"mode": "standard"}),
        )
    except (BotoCoreError, ValueError) as e:
        raise DeployError(f"cannot make an S3 client: {_one_line(str(e))}") from e


def deploy(
    out: Path,
    target: Target,
    site: Site,
    s3: Client,
    dry_run: bool = False,
    max_deletes: int = DEFAULT_MAX_DELETES,
    force: bool = False,
    progress: Progress | None = None,
    jobs: int = JOBS,
    check_bucket: bool = False,
    delete_foreign: bool = False,
) -> Report:
    """Make the bucket hold the export in ``out`` under ``target``: upload new
    and changed files in the order of :func:`plan`, then delete what the export
    no longer has. ``dry_run`` plans and changes nothing.

    The bucket's manifest says what is there: only the objects a stopped
    deploy left unsure are asked. Without a manifest, or with
    ``check_bucket``, every object under the prefix is listed (what was
    changed or added behind the deploy's back is then found)."""
    from botocore.exceptions import BotoCoreError, ClientError

    manifest = check_export(out)
    try:
        with ThreadPoolExecutor(jobs) as pool:
            found = _read_manifest(s3, target)
            known, last = found or ({}, None)
            if found is None or check_bucket:
                listed = _list(s3, target)
                unsure: list[str] = []
            else:  # as the manifest has them; those a stopped deploy touched are asked
                listed = {
                    path: Listed(entry.etag, entry.size)
                    for path, entry in known.items()
                    if entry.etag is not None and entry.digest is not None
                }
                unsure = sorted(path for path, entry in known.items() if entry.etag is None)
            local = local_files(out, manifest, site)
            asked = _ask(s3, target, unsure, pool)
            for path, answer in asked.items():
                if answer is not None:
                    listed[path] = answer[0]
            more = [path for path in stale(local, listed, known) if path not in asked]
            more += [path for path in unowned(local, listed, known) if path not in asked]
            asked.update(_ask(s3, target, more, pool))
            for path, answer in asked.items():
                if answer is None:  # gone since the listing
                    listed.pop(path, None)
            answers = {p: a[1] for p, a in asked.items() if a is not None}
            rules = Applied(manifest.files[HEADERS_FILE][0], ())
            work = None
            # With the export's _headers as the last deploy applied it, and
            # nothing to upload, it need not be read.
            unread = applied(local, known) if last and last.digest == rules.digest else None
            if last is not None and unread is not None:
                work = plan(
                    target, unread, listed, known, answers, max_deletes, force, delete_foreign
                )
                local, rules = unread, last
            if work is None or work.uploads:
                local = local_files(out, manifest, site, read_rules(out, manifest))
                work = plan(
                    target, local, listed, known, answers, max_deletes, force, delete_foreign
                )
                rules = Applied(rules.digest, not_carried(local.values()))
            report = Report(
                target=target,
                actions=(*work.uploads, *work.deletes),
                unchanged=work.unchanged,
                bytes=sum(a.size for a in work.uploads),
                changed=work.changed,
                not_carried=rules.not_carried,
                dry_run=dry_run,
                fresh=tuple((p, local[p].digest) for p in work.changed if p in local),
                foreign=work.foreign,
            )
            if dry_run:
                return report
            now = stored(listed, known, answers)
            if work.uploads or work.deletes:
                during = manifest_during(work, listed, known, now)
                _put_manifest(s3, target, during, last)
            etags: dict[str, str | None] = {p: listed[p].etag for p in local if p in listed}
            advance = _tracker(len(report.actions), report.bytes, progress)
            etags.update(_upload(s3, target, out, local, work, pool, advance))
            _delete(s3, target, [a.path for a in work.deletes], advance)
            after = manifest_after(local, etags)
            if after != known or rules != last:
                _put_manifest(s3, target, after, rules)
            return report
    except (BotoCoreError, ClientError) as e:
        raise _failure(target, e) from e


def _tracker(total: int, size: int, progress: Progress | None) -> Callable[[int, int], None]:
    """``advance(objects, bytes)``: counts what is done, and tells ``progress``."""
    done = [0, 0]

    def advance(count: int, sent: int) -> None:
        done[0] += count
        done[1] += sent
        if progress:
            progress(done[0], total, done[1], size)

    return advance


def _list(s3: Client, target: Target) -> dict[str, Listed]:
    """Every object under the prefix but the manifest, by exported path."""
    listed = {}
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=target.bucket, Prefix=target.prefix)
    for page in pages:
        for item in page.get("Contents", ()):
            path = item["Key"][len(target.prefix) :]
            if path and path != MANIFEST and not path.endswith("/"):  # a folder marker is no file
                listed[path] = Listed(item.get("ETag", ""), int(item.get("Size", 0)))
    return listed


def _read_manifest(s3: Client, target: Target) -> tuple[dict[str, Known], Applied | None] | None:
    """The bucket's manifest; None when there is none."""
    from botocore.exceptions import ClientError

    try:
        answer = s3.get_object(Bucket=target.bucket, Key=target.key(MANIFEST))
    except ClientError as e:
        if e.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
            return None
        raise
    return decode_manifest(answer["Body"].read())


def _put_manifest(
    s3: Client, target: Target, entries: Mapping[str, Known], applied: Applied | None
) -> None:
    s3.put_object(
        Bucket=target.bucket,
        Key=target.key(MANIFEST),
        Body=encode_manifest(entries, applied),
        ContentType="application/gzip",
        CacheControl="no-store",
    )


def _ask(
    s3: Client, target: Target, paths: list[str], pool: ThreadPoolExecutor
) -> dict[str, tuple[Listed, Stored] | None]:
    """What each object is and holds (None for one that is not there)."""
    from botocore.exceptions import ClientError

    def head(path: str) -> tuple[Listed, Stored] | None:
        try:
            answer = s3.head_object(Bucket=target.bucket, Key=target.key(path))
        except ClientError as e:
            if e.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return None
            raise
        metadata = {k.lower(): v for k, v in answer.get("Metadata", {}).items()}
        seen = Listed(answer.get("ETag", ""), int(answer.get("ContentLength", 0)))
        return seen, Stored(metadata.get(DIGEST_KEY), metadata.get(HEADERS_KEY))

    return dict(zip(paths, pool.map(head, paths), strict=True))


def _upload(
    s3: Client,
    target: Target,
    out: Path,
    local: Mapping[str, LocalFile],
    work: Plan,
    pool: ThreadPoolExecutor,
    advance: Callable[[int, int], None],
) -> dict[str, str | None]:
    """Upload each phase whole before the next; the ETag of each object."""
    etags: dict[str, str | None] = {}

    def put(file: LocalFile) -> str | None:
        data = read_export_file(out, file.path)
        if digest(data) != file.digest or len(data) != file.size:
            raise _not_built(out, file.path)
        answer = s3.put_object(
            Bucket=target.bucket,
            Key=target.key(file.path),
            Body=data,
            Metadata={DIGEST_KEY: file.digest, HEADERS_KEY: file.headers_digest},
            **{CARRIED[name]: value for name, value in file.carried},
        )
        etag: str | None = answer.get("ETag")
        return etag

    for phase in work.phases:
        futures: dict[Future[str | None], Action] = {
            pool.submit(put, local[action.path]): action for action in phase
        }
        try:
            for future in as_completed(futures):
                action = futures[future]
                etags[action.path] = future.result()
                advance(1, action.size)
        finally:  # a failure stops the deploy before the next phase
            for future in futures:
                future.cancel()
    return etags


def _delete(
    s3: Client, target: Target, paths: list[str], advance: Callable[[int, int], None]
) -> None:
    for start in range(0, len(paths), DELETE_BATCH):
        batch = paths[start : start + DELETE_BATCH]
        answer = s3.delete_objects(
            Bucket=target.bucket,
            Delete={"Objects": [{"Key": target.key(p)} for p in batch], "Quiet": True},
        )
        errors = answer.get("Errors") or ()
        if errors:
            first = errors[0]
            raise DeployError(
                f"{target}: could not delete {len(errors)} objects, such as "
                f"{first.get('Key')}: {first.get('Code')}: {first.get('Message')}"
            )
        advance(len(batch), 0)


def _failure(target: Target, error: Exception) -> DeployError:
    """A boto3 or botocore error as one line that names the target."""
    from botocore.exceptions import ClientError, NoCredentialsError

    if isinstance(error, NoCredentialsError):
        return DeployError(
            f"{target}: no AWS credentials found (set AWS_ACCESS_KEY_ID and "
            "AWS_SECRET_ACCESS_KEY, or AWS_PROFILE with ~/.aws/credentials)"
        )
    if isinstance(error, ClientError):
        info = error.response.get("Error", {})
        code = info.get("Code") or "error"
        message = info.get("Message") or _STATUS.get(code, "")
        text = f"{error.operation_name} failed: {code}" + (f": {message}" if message else "")
        return DeployError(f"{target}: {_one_line(text)}")
    return DeployError(f"{target}: {_one_line(str(error))}")


#: What a HEAD's bare status code means (a HEAD response has no message).
_STATUS = {"403": "access denied", "404": "not found", "400": "bad request"}


def _one_line(text: str) -> str:
    return " ".join(text.split())
