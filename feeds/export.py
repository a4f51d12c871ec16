"""Write a static export atomically: build beside it, then swap it in.

A failed or killed build leaves the last export exactly as it was. On Linux
the swap is one ``renameat2(RENAME_EXCHANGE)`` call, so there is no moment at
which the export is missing; elsewhere it is two renames.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import fcntl
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from feeds.errors import FeedsError

#: Written into every export, so that a build never replaces a folder it did not make.
MARKER = ".feeds-export"

_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


class ExportError(FeedsError):
    """The export could not be written; the previous one is untouched."""


def write_export(
    out: Path,
    files: Mapping[str, bytes],
    copies: Mapping[str, Path],
    progress: Callable[[int, int], None] | None = None,
) -> None:
    """Replace ``out`` with exactly ``files`` (path to bytes) and ``copies``
    (path to a source file to copy)."""
    out = out.absolute()
    out.parent.mkdir(parents=True, exist_ok=True)
    with _exclusive(out):
        _refuse_foreign(out)
        _remove_leftovers(out)
        _write(out, files, copies, progress)


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


def _write(
    out: Path,
    files: Mapping[str, bytes],
    copies: Mapping[str, Path],
    progress: Callable[[int, int], None] | None,
) -> None:
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent))
    try:
        total, done = len(files) + len(copies), 0
        made: set[Path] = {staging}
        for path, data in sorted(files.items()):
            target = _target(staging, path, made)
            target.write_bytes(data)
            done += 1
            if progress:
                progress(done, total)
        for path, source in sorted(copies.items()):
            shutil.copyfile(source, _target(staging, path, made))
            done += 1
            if progress:
                progress(done, total)
        (staging / MARKER).write_bytes(b"")
        staging.chmod(0o755)
        _swap(staging, out)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _target(root: Path, path: str, made: set[Path]) -> Path:
    target = root / path
    if not target.resolve().is_relative_to(root.resolve()):
        raise ExportError(f"refusing to write outside the export: {path!r}")
    if target.parent not in made:
        target.parent.mkdir(parents=True, exist_ok=True)
        made.add(target.parent)
    return target


def _refuse_foreign(out: Path) -> None:
    if out.is_symlink() or (out.exists() and not out.is_dir()):
        raise ExportError(f"{out} exists and is not a folder; refusing to replace it")
    if out.is_dir() and any(out.iterdir()) and not (out / MARKER).exists():
        raise ExportError(
            f"{out} is not empty and was not written by feeds build; refusing to replace it"
        )


def _remove_leftovers(out: Path) -> None:
    """Staging folders of builds that were killed before they could clean up."""
    for stale in out.parent.glob(f".{out.name}.tmp-*"):
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
