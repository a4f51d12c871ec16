"""Write a static export atomically: build beside it, then swap it in.

A failed or killed build leaves the last export exactly as it was. On Linux
the swap is one ``renameat2(RENAME_EXCHANGE)`` call, so there is no moment at
which the export is missing; elsewhere it is two renames.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from feeds.cache import Cache
from feeds.digest import digest
from feeds.errors import FeedsError

#: Written into every export, so that a build never replaces a folder it did not make.
MARKER = ".feeds-export"
#: Written into a folder a build is making or updating (in place of the
#: marker, which it gets once finished): what says that a folder left by a
#: killed build is ours to remove. A folder with neither is never removed.
PARTIAL = ".feeds-export.partial"
#: The export's own manifest: the digest and size of every file the build put
#: in it. It is written into the new version before its marker, so it swaps in
#: with the files it describes; ``feeds deploy`` plans from it and reads only
#: the files it uploads. The build's word: a file edited by hand in the export
#: is not what it describes (the export is the build's, never edited). This
#: file holds the build's id and the digest of each of the manifest's shards,
#: in :data:`MANIFEST_SHARDS`: a change rewrites the shards of the paths it
#: changes, not the whole manifest (a file an exported file, at wire scale).
MANIFEST_FILE = ".feeds-manifest.json"
#: The manifest's shards: ``<x>.json`` holds the entries of the paths whose
#: digest starts with ``x`` (:func:`shard_of`), sorted by path.
MANIFEST_SHARDS = ".feeds-manifest"


def is_bookkeeping(path: str) -> bool:
    """Is ``path`` (relative to an export) one of the build's own files, the
    marker and the manifest, rather than an exported file?"""
    return path in (MARKER, PARTIAL, MANIFEST_FILE) or path.startswith(MANIFEST_SHARDS + "/")


_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


class ExportError(FeedsError):
    """The export could not be written; the previous one is untouched."""


#: ``write(target, paths, present)`` builds ``paths``, writes into the folder
#: ``target`` (with :func:`write_file`) those whose digest differs from
#: ``present[path]``, and returns every path's digest.
Writer = Callable[[Path, list[str], Mapping[str, str]], dict[str, str]]


@dataclass(frozen=True)
class Published:
    #: The build's id (a digest of its manifest), as written in the marker.
    build: str
    #: path -> digest of every file of the export.
    manifest: dict[str, str]
    #: How many files were written because their bytes changed; 0 when nothing
    #: changed. (Unchanged files taken from the live export as hard links are
    #: not counted.)
    written: int
    #: Files whose bytes differ from the export this one replaced (added,
    #: changed or removed), sorted.
    changed: tuple[str, ...] = ()
    #: How many files were built (rendered), whether or not their bytes changed.
    built: int = 0


@dataclass(frozen=True)
class Manifest:
    """What :data:`MANIFEST_FILE` and its shards say of the export they are in."""

    #: The build's id, as in the marker beside it.
    build: str
    #: path -> (digest, size in bytes) of every file of the export but the
    #: marker and the manifest itself.
    files: dict[str, tuple[str, int]]


#: path -> (digest, size) of the files of one shard.
Entries = dict[str, tuple[str, int]]


@dataclass(frozen=True)
class Top:
    """:data:`MANIFEST_FILE` itself: the build and its shards' digests."""

    build: str
    #: How many files the manifest lists.
    files: int
    #: shard name (:func:`shard_of`) -> digest of its file's bytes.
    shards: dict[str, str]

    @property
    def width(self) -> int:
        return width(self.files)


def width(files: int) -> int:
    """How many hex digits name a shard of a manifest of ``files`` files: 16
    shards up to 4,096 files, 256 up to 262,144, 4,096 above, so that a shard
    lists about a thousand files at most and a small site has few."""
    return 1 if files <= 4096 else 2 if files <= 262144 else 3


def shard_of(path: str, digits: int) -> str:
    """The manifest shard that lists ``path``, of shards named by ``digits``
    hex digits: evenly filled."""
    return digest(path.encode())[:digits]


def shard_path(name: str) -> str:
    """The file of shard ``name``, relative to the export."""
    return f"{MANIFEST_SHARDS}/{name}.json"


def _shard_bytes(entries: Entries) -> bytes:
    return json.dumps(dict(sorted(entries.items())), separators=(",", ":")).encode("ascii")


def _top_bytes(top: Top) -> bytes:
    shards = dict(sorted(top.shards.items()))
    found = {"version": 2, "build": top.build, "files": top.files, "shards": shards}
    return json.dumps(found, separators=(",", ":")).encode("ascii")


def build_id(shards: Mapping[str, str]) -> str:
    """The id of the build whose manifest has these shards: the same files,
    the same id, whichever way they were built."""
    return digest("\n".join(f"{name} {sha}" for name, sha in sorted(shards.items())).encode())


def read_top(folder: Path) -> Top | None:
    """:data:`MANIFEST_FILE` of an export; None for none, or one that does not read."""
    try:
        found = json.loads((folder / MANIFEST_FILE).read_bytes())
        if found["version"] != 2:
            return None
        shards = {str(name): str(sha) for name, sha in found["shards"].items()}
        return Top(str(found["build"]), int(found["files"]), shards)
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        return None


def read_shard(folder: Path, top: Top, name: str) -> Entries | None:
    """The entries of shard ``name`` of the manifest ``top`` of ``folder``
    (none for a shard it does not have); None when its file is missing or
    is not the one ``top`` names."""
    sha = top.shards.get(name)
    if sha is None:
        return {}
    try:
        data = (folder / shard_path(name)).read_bytes()
        if digest(data) != sha:
            return None
        return {str(path): (str(d), int(size)) for path, (d, size) in json.loads(data).items()}
    except (OSError, ValueError, TypeError, AttributeError):
        return None


def read_manifest(folder: Path) -> Manifest | None:
    """The whole manifest an export holds; None for none, or one that does not read."""
    top = read_top(folder)
    if top is None:
        return None
    files: Entries = {}
    for name in top.shards:
        entries = read_shard(folder, top, name)
        if entries is None:
            return None
        files.update(entries)
    return Manifest(top.build, files)


def _write_shards(
    folder: Path,
    shards: Mapping[str, Entries],
    before: Mapping[str, str],
    files: int,
    build: str | None = None,
) -> str:
    """Write these ``shards`` of ``folder``'s manifest (an empty one is
    removed), the others as ``before`` gives their digests, then
    :data:`MANIFEST_FILE` for ``files`` files, as build ``build`` (None: the
    id the shards give, :func:`build_id`, whichever build wrote them); return
    the build's id."""
    digests = dict(before)
    for name, entries in shards.items():
        if entries:
            data = _shard_bytes(entries)
            write_file(folder, shard_path(name), data)
            digests[name] = digest(data)
        else:
            _remove(folder, shard_path(name))
            digests.pop(name, None)
    top = Top(build or build_id(digests), files, digests)
    write_file(folder, MANIFEST_FILE, _top_bytes(top))
    return top.build


def _write_manifest(
    folder: Path, build: str | None, manifest: Mapping[str, str], known: Manifest | None
) -> str:
    """Write ``folder``'s whole manifest, as build ``build`` (None: the id
    its shards give), and return the build's id: sizes from ``known`` (an
    earlier manifest) for the bytes it already described, else from the
    files themselves."""
    sizes = {sha: size for sha, size in known.files.values()} if known else {}
    shards: dict[str, Entries] = {}
    digits = width(len(manifest))
    for path, sha in manifest.items():
        size = sizes.get(sha)
        entry = (sha, os.stat(f"{folder}/{path}").st_size if size is None else size)
        shards.setdefault(shard_of(path, digits), {})[path] = entry
    stale = folder / MANIFEST_SHARDS
    for name in os.listdir(stale) if stale.is_dir() else ():
        shards.setdefault(name.removesuffix(".json"), {})
    return _write_shards(folder, shards, {}, len(manifest), build)


def _keep(out: Path, build: str | None, manifest: Mapping[str, str], live: Manifest | None) -> None:
    """The export stays as it is: give it its manifest if it has none (it
    was written before exports had one, or it was removed by hand)."""
    if build and live is None:
        _write_manifest(out, build, manifest, None)


def _finish(
    folder: Path, build: str | None, manifest: Mapping[str, str], known: Manifest | None
) -> str:
    """Mark ``folder`` a finished export of ``build`` (None: the id its
    manifest gives), its manifest first; return the build's id."""
    build = _write_manifest(folder, build, manifest, known)
    write_marker(folder, build)
    return build


def publish(
    out: Path,
    wanted: Mapping[str, str | None],
    write: Writer,
    copies: Mapping[str, tuple[Callable[[], bytes], str]],
    cache: Cache | None = None,
) -> Published:
    """Make ``out`` hold exactly the ``wanted`` files (path to digest, or None
    where only building the file will tell) and the ``copies`` (path to a
    reader of the source file, and its digest), then swap it in.

    With a ``cache``, the previous export is kept beside ``out`` as a shadow
    folder, one version behind, together with the manifests of both: the new
    version is made by changing in the shadow only the files that differ,
    taking unchanged ones from ``out`` as hard links, and the two are then
    exchanged. Without one, the new version is written whole.
    """
    out = out.absolute()
    out.parent.mkdir(parents=True, exist_ok=True)
    with _exclusive(out):
        _refuse_foreign(out)
        _remove_leftovers(out)
        return _publish(out, wanted, write, copies, cache)


def _publish(
    out: Path,
    wanted: Mapping[str, str | None],
    write: Writer,
    copies: Mapping[str, tuple[Callable[[], bytes], str]],
    cache: Cache | None,
) -> Published:
    _folders.clear()
    shadow = out.with_name(f".{out.name}.shadow")
    out_build, shadow_build = read_marker(out), read_marker(shadow)
    current = cache.manifest(out_build) if cache and out_build else None
    base = cache.manifest(shadow_build) if cache and shadow_build else None
    if base is None and shadow.exists():
        if not _ours(shadow):
            raise ExportError(
                f"{shadow} is in the way and was not written by feeds build; "
                "move it, or choose another --out"
            )
        shutil.rmtree(shadow)
    have = current or {}
    # The shadow's manifest, less files removed from it by hand since (it was
    # the live export then): one lstat each, far cheaper than a wrong export.
    present = {p: sha for p, sha in (base or {}).items() if os.path.lexists(f"{shadow}/{p}")}
    # What must be built: unknown files, and known ones neither folder holds.
    build = sorted(
        path
        for path, sha in wanted.items()
        if sha is None or (present.get(path) != sha and have.get(path) != sha)
    )
    # The live export's own manifest, if it is the one of the files beside it.
    live = read_manifest(out) if out_build else None
    if live is not None and live.build != out_build:
        live = None
    if not build and current is not None and current == _known(wanted, copies):
        _keep(out, out_build, current, live)
        return Published(out_build or "", current, 0)  # nothing built
    # Without a cache, what the live export holds is known only from its files.
    before = current if current is not None else _manifest_on_disk(out)
    target = (
        shadow
        if base is not None
        else Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent))
    )
    (target / PARTIAL).touch()  # ours, and unfinished until the marker says otherwise
    (target / MARKER).unlink(missing_ok=True)
    (target / MANIFEST_FILE).unlink(missing_ok=True)
    try:
        built = write(target, build, present) if build else {}
        manifest: dict[str, str] = {}
        written = sum(present.get(path) != sha for path, sha in built.items())
        missing = []  # files out should hold but does not (removed by hand)
        for path, sha in wanted.items():
            manifest[path] = sha = built.get(path, sha)  # type: ignore[assignment]
            if path not in built and present.get(path) != sha:
                try:
                    link_file(out / path, target, path)
                except FileNotFoundError:
                    missing.append(path)
        if missing:
            rebuilt = write(target, missing, present)
            written += len(rebuilt)
            manifest.update(rebuilt)
        for path, (read, sha) in copies.items():
            manifest[path] = sha
            if present.get(path) != sha:
                try:
                    if have.get(path) != sha:
                        raise FileNotFoundError(path)
                    link_file(out / path, target, path)
                except FileNotFoundError:
                    write_file(target, path, read())
                    written += 1
        for path in present.keys() - manifest.keys():
            _remove(target, path)
        if before == manifest:  # built again, and the same after all
            if target == shadow and out_build:
                _finish(target, out_build, manifest, live)  # it now holds just what out holds
            else:
                shutil.rmtree(target)
            _keep(out, out_build, manifest, live)
            return Published(out_build or "", manifest, 0, built=len(built) + len(missing))
        made = _finish(target, None, manifest, live)
        target.chmod(0o755)
        _swap(target, out)
    except BaseException:
        if target != shadow:
            shutil.rmtree(target, ignore_errors=True)
        raise
    if target.exists():  # the previous export
        if cache is None:
            shutil.rmtree(target)
        elif target != shadow:
            os.rename(target, shadow)
    if cache is not None:
        cache.put_manifest(made, manifest, {out_build} if out_build else set())
    changed = sorted(p for p in manifest.keys() | before.keys() if manifest.get(p) != before.get(p))
    return Published(made, manifest, written, tuple(changed), len(built) + len(missing))


def _manifest_on_disk(out: Path) -> dict[str, str]:
    """path -> digest of every file of an export, read from its files."""
    if read_marker(out) is None:
        return {}
    found = {}
    for folder, _, names in os.walk(out):
        for name in names:
            path = Path(folder, name)
            relative = path.relative_to(out).as_posix()
            if not is_bookkeeping(relative):
                found[relative] = digest(path.read_bytes())
    return found


def _known(
    wanted: Mapping[str, str | None], copies: Mapping[str, tuple[Callable[[], bytes], str]]
) -> dict[str, str | None]:
    return {**wanted, **{path: sha for path, (_, sha) in copies.items()}}


def read_marker(folder: Path) -> str | None:
    """The build id an export's marker holds, or None."""
    try:
        return (folder / MARKER).read_text(encoding="ascii").strip() or None
    except (OSError, UnicodeDecodeError):
        return None


def write_marker(folder: Path, build: str) -> None:
    """Mark ``folder`` a finished export of build ``build``."""
    (folder / MARKER).write_text(build + "\n", encoding="ascii")
    (folder / PARTIAL).unlink(missing_ok=True)


def _ours(folder: Path) -> bool:
    """Was ``folder`` made by a build (finished, or left by a killed one)?"""
    return (folder / MARKER).is_file() or (folder / PARTIAL).is_file()


@contextmanager
def _exclusive(out: Path) -> Iterator[None]:
    """One build at a time beside an export: a second waits for the first,
    which would otherwise remove its staging folder as a leftover. The lock is
    on the parent folder itself, so no lock file is left lying about."""
    folder = os.open(out.parent, os.O_RDONLY)
    try:
        fcntl.flock(folder, fcntl.LOCK_EX)
        yield
    finally:
        os.close(folder)


#: Folders this process has made or seen: creating folders is what costs most
#: on slow disks, so each is asked for once.
_folders: set[str] = set()


def _destination(root: Path, path: str) -> str:
    if ".." in Path(path).parts or Path(path).is_absolute():
        raise ExportError(f"refusing to write outside the export: {path!r}")
    target = f"{root}/{path}"
    folder = os.path.dirname(target)
    if folder not in _folders:
        os.makedirs(folder, exist_ok=True)
        _folders.add(folder)
    return target


def write_file(root: Path, path: str, data: bytes) -> None:
    """Write ``root/path``. A file already there may be a hard link shared
    with the live export, which must not change: it is replaced by renaming a
    new file over it, never written into."""
    target = _destination(root, path)
    try:
        try:
            file = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            file, temporary = _temporary(target)
            with os.fdopen(file, "wb") as new:
                new.write(data)
            os.replace(temporary, target)
            return
        with os.fdopen(file, "wb") as new:
            new.write(data)
    except OSError as e:  # a full disk, a quota: say which file, and leave the export be
        raise ExportError(f"cannot write {target}: {e.strerror or e}") from e


def _temporary(target: str) -> tuple[int, str]:
    """A new, empty file beside ``target`` that no exported file can be named
    like (a hidden name, as images/ never publishes), opened for writing."""
    file, name = tempfile.mkstemp(prefix=".feeds-", dir=os.path.dirname(target))
    os.fchmod(file, 0o644)
    return file, name


def link_file(source: Path, root: Path, path: str) -> None:
    """``root/path`` becomes a hard link to ``source`` (a copy where links fail).
    Raises FileNotFoundError when ``source`` is missing."""
    target = _destination(root, path)
    try:
        os.link(source, target)
        return
    except FileExistsError:
        pass
    except FileNotFoundError:
        raise
    except OSError:
        shutil.copyfile(source, target)
        return
    if os.path.samefile(source, target):
        return  # (a rename between two links to one file would leave the new link)
    file, temporary = _temporary(target)
    os.close(file)
    os.unlink(temporary)
    os.link(source, temporary)
    os.replace(temporary, target)


def _remove(root: Path, path: str) -> None:
    """Delete ``root/path`` and the folders it leaves empty."""
    _folders.clear()
    (root / path).unlink(missing_ok=True)
    folder = (root / path).parent
    while folder != root:
        try:
            folder.rmdir()
        except OSError:
            break
        folder = folder.parent


def _refuse_foreign(out: Path) -> None:
    if out.is_symlink() or (out.exists() and not out.is_dir()):
        raise ExportError(f"{out} exists and is not a folder; refusing to replace it")
    if out.is_dir() and any(out.iterdir()) and not (out / MARKER).exists():
        raise ExportError(
            f"{out} is not empty and was not written by feeds build; refusing to replace it"
        )


def _remove_leftovers(out: Path) -> None:
    """Staging folders of builds that were killed before they could clean up
    (a killed update of the shadow folder leaves it unfinished, and it is
    discarded when read). A folder named like one but not made by a build is
    left alone."""
    for stale in out.parent.glob(f".{out.name}.tmp-*"):
        if stale.is_dir() and not stale.is_symlink() and _ours(stale):
            shutil.rmtree(stale, ignore_errors=True)


def _swap(staging: Path, out: Path) -> None:
    """Put ``staging`` at ``out``; the old export ends up at ``staging``."""
    if not out.exists():
        os.rename(staging, out)
        return
    if _exchange(staging, out):
        return
    old = staging.with_name(staging.name + "-old")  # pragma: no cover - non-Linux
    os.rename(out, old)
    os.rename(staging, out)
    os.rename(old, staging)


def _exchange(a: Path, b: Path) -> bool:
    """Atomically exchange two paths with renameat2; False where it is unavailable."""
    import ctypes  # only here: a no-op build needs none of it
    import ctypes.util

    libc_name = ctypes.util.find_library("c")
    if not libc_name:
        return False
    libc = ctypes.CDLL(libc_name, use_errno=True)
    renameat2 = getattr(libc, "renameat2", None)
    if renameat2 is None:
        return False
    result = renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE)
    if result != 0:
        errno = ctypes.get_errno()
        if errno in (22, 38, 95):  # EINVAL, ENOSYS, EOPNOTSUPP: the filesystem cannot
            return False
        raise OSError(errno, os.strerror(errno), str(b))
    return True


def publish_changes(
    out: Path,
    files: Mapping[str, bytes | None],
    cache: Cache,
) -> Published | None:
    """Change ``files`` (path -> new bytes, None: remove) in the export at
    ``out`` and nothing else: the shadow folder is brought up to the live
    export by the last build's changes (:meth:`Cache.shadowed`), changed by
    these, and swapped in. A file whose bytes are unchanged is not written.
    The manifests are updated in the cache's open transaction (the caller
    commits once the swap is done). None when the export and its shadow are
    not the ones the cache knows: the caller builds it all then."""
    out = out.absolute()
    shadow = out.with_name(f".{out.name}.shadow")
    with _exclusive(out):
        live = read_marker(out)
        top = read_top(out)
        if live is None or live != cache.get("out_build") or top is None or top.build != live:
            return None
        if not shadow.exists() and not cache.get("shadow_build"):
            # The first change after a build from nothing: the shadow starts as
            # the live export, each file a link to its own.
            whole = read_manifest(out)
            if whole is None:
                return None
            _remove_leftovers(out)
            staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent))
            (staging / PARTIAL).touch()
            for path in [*whole.files, *map(shard_path, top.shards)]:
                link_file(out / path, staging, path)
            write_marker(staging, live)
            os.rename(staging, shadow)
            cache.db.execute("DELETE FROM shadowed")
            cache.db.execute("INSERT OR REPLACE INTO meta VALUES ('shadow_build', ?)", (live,))
        behind = read_marker(shadow)
        if behind != cache.get("shadow_build") or (shadow / PARTIAL).exists():
            return None
        behind_by = cache.shadowed()  # the last build's changes
        if behind_by is None:
            return None
        # Only the manifest's shards of the paths changed then and now are read.
        digits = top.width
        caught_up = {shard_of(path, digits) for path in behind_by}
        shards: dict[str, Entries] = {}
        for name in caught_up | {shard_of(path, digits) for path in files}:
            entries = read_shard(out, top, name)
            if entries is None:
                return None
            shards[name] = entries

        def known(path: str) -> tuple[str, int] | None:
            return shards[shard_of(path, digits)].get(path)

        if not all(os.path.lexists(out / p) for p in behind_by if known(p)):
            return None  # removed from the export by hand: the whole build mends it
        count = top.files + sum(
            (data is not None) - (known(path) is not None) for path, data in files.items()
        )
        if width(count) != digits:
            return None  # the manifest is sharded anew: the whole build writes it
        _folders.clear()
        (shadow / PARTIAL).touch()
        (shadow / MARKER).unlink()
        for path, sha in behind_by.items():
            if known(path):
                link_file(out / path, shadow, path)
            elif sha is not None:
                _remove(shadow, path)
        # The shards the last build changed, and any the shadow lacks or has
        # beyond the live export's (sharded anew, or by an older release), as
        # the live export has them.
        folder = shadow / MANIFEST_SHARDS
        there = {n.removesuffix(".json") for n in os.listdir(folder)} if folder.is_dir() else set()
        for name in (caught_up | there) - top.shards.keys():
            _remove(shadow, shard_path(name))
        for name in (caught_up & top.shards.keys()) | (top.shards.keys() - there):
            link_file(out / shard_path(name), shadow, shard_path(name))
        changes: dict[str, str | None] = {}
        touched: dict[str, Entries] = {}
        for path, data in sorted(files.items(), key=lambda item: item[0]):
            old = known(path)
            entries = shards[shard_of(path, digits)]
            if data is None:
                if old is not None:
                    _remove(shadow, path)
                    del entries[path]
                    touched[shard_of(path, digits)] = entries
                    changes[path] = None
                continue
            sha = digest(data)
            if old is not None and old[0] == sha:
                continue
            write_file(shadow, path, data)
            entries[path] = (sha, len(data))
            touched[shard_of(path, digits)] = entries
            changes[path] = sha
        if not changes:  # the shadow now holds what the live export holds
            cache.db.execute("DELETE FROM shadowed")
            cache.db.execute("INSERT OR REPLACE INTO meta VALUES ('shadow_build', ?)", (live,))
            write_marker(shadow, live)
            return Published(live, {}, 0)
        build = _write_shards(shadow, touched, top.shards, count)
        write_marker(shadow, build)
        cache.swapped(build, changes)
        _swap(shadow, out)
        return Published(build, {}, len(changes), tuple(sorted(changes)))
