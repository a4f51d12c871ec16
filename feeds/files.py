"""Reading a file of the content directory, and nothing else.

Every file the loader reads, the app serves and the export copies is read by
:func:`read_inside`: opened once, then checked, through the open file itself,
to be a regular file inside its folder at the moment it is read. A symlink
swapped in after the content was loaded cannot make the app serve a file from
elsewhere, and a FIFO named ``site.toml`` cannot make ``feeds check`` hang.
"""

from __future__ import annotations

import hashlib
import os
import stat
from array import array
from pathlib import Path

from feeds.errors import FeedsError

#: Where Linux shows what an open file descriptor really is.
_PROC_FD = Path("/proc/self/fd")


class FileRefused(FeedsError):
    """A file that may not be read: outside its folder, not a regular file, too big."""

    def __init__(self, reason: str, size: int | None = None) -> None:
        #: Why, as a sentence fragment (``links outside images/``).
        self.reason = reason
        #: The file's size, when it was refused for it.
        self.size = size
        super().__init__(reason)


def read_inside(root: Path, relative: str, max_bytes: int | None = None) -> bytes:
    """The bytes of ``root/relative``, a file of the content directory ``root``.

    Raises :class:`FileRefused` when the file, once opened, is not a regular
    file, lies outside its top folder of ``root`` (``images/`` for
    ``images/x.png``; ``root`` itself for ``site.toml``) because it, or a
    folder on its way, is a link that leads out, or is larger than
    ``max_bytes``; ``OSError`` when it cannot be opened or read.
    """
    top, _, rest = relative.partition("/")
    inside = Path(os.path.realpath(root))
    if rest:
        inside = inside / top
    flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NOCTTY", 0)
    fd = os.open(root / relative, flags)  # non-blocking: opening a FIFO does not wait
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise FileRefused("is not a regular file")
        if not _real_path(fd, root / relative).is_relative_to(inside):
            where = f"{top}/" if rest else "the content directory"
            raise FileRefused(f"links to a file outside {where}; it is not published")
        if max_bytes is not None and info.st_size > max_bytes:
            raise FileRefused(f"is {info.st_size:,} bytes, more than {max_bytes:,}", info.st_size)
        os.set_blocking(fd, True)
        chunks = []
        while chunk := os.read(fd, 1 << 20):
            chunks.append(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


def _real_path(fd: int, path: Path) -> Path:
    """What an open file really is: read off the descriptor where the system
    shows it (no window in which the name can change), else resolved by name."""
    try:
        return Path(os.readlink(_PROC_FD / str(fd)))
    except OSError:  # pragma: no cover - not Linux
        return Path(os.path.realpath(path))


def fingerprint(root: Path, stats: dict[str, tuple[int, int]] | None = None) -> str:
    """A digest of what :func:`scan` finds, made without its sorted tuple:
    what changes when anything in the content changes. One stat per file is
    what it costs (as git's index does); the names and numbers go to the hash
    as two strings, not as a tuple per file. ``stats`` gets each file's
    (mtime_ns, size) by its path under ``root``, so that no later step of the
    same build stats it again."""
    names: list[str] = []
    numbers = array("q")
    stack = [str(root)]
    while stack:
        folder = stack.pop()
        try:
            with os.scandir(folder) as found:
                entries = sorted(found, key=_name)
            numbers.append(os.stat(folder).st_mtime_ns)
        except OSError:
            continue
        names.append(folder)
        for entry in entries:
            try:
                if entry.is_dir(follow_symlinks=False):
                    stack.append(entry.path)
                    continue
                info = entry.stat()
            except OSError:
                continue  # deleted between listing and stat: the next walk sees it
            names.append(entry.name)
            numbers.append(info.st_mtime_ns)
            numbers.append(info.st_size)
            if stats is not None:
                stats[entry.path] = (info.st_mtime_ns, info.st_size)
    hashed = hashlib.blake2b(digest_size=16)
    hashed.update("\0".join(names).encode("utf-8", "surrogateescape"))
    hashed.update(numbers.tobytes())
    return hashed.hexdigest()


def _name(entry: os.DirEntry[str]) -> str:
    return entry.name


#: (path, mtime in ns, size) of every file and folder under a content directory.
Signature = tuple[tuple[str, int, int], ...]


def scan(root: Path) -> Signature:
    """(path, mtime in ns, size) of every file and folder under root, sorted:
    what changes when anything in the content changes."""
    found: list[tuple[str, int, int]] = []
    stack = [root]
    while stack:
        folder = stack.pop()
        try:
            entries = list(os.scandir(folder))
            found.append((str(folder), folder.stat().st_mtime_ns, 0))
        except OSError:
            continue
        for entry in entries:
            try:
                if entry.is_dir(follow_symlinks=False):
                    stack.append(Path(entry.path))
                else:
                    info = entry.stat()
                    found.append((entry.path, info.st_mtime_ns, info.st_size))
            except OSError:
                continue  # deleted between listing and stat: the next walk sees it
    return tuple(sorted(found))
