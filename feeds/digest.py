"""Digests: of bytes (ETags, the cache, the export's manifests) and of this
program's own code. The one place a hash function is chosen."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from functools import cache
from pathlib import Path

#: Files of the package that shape what it outputs.
_CODE_SUFFIXES = (".py", ".html", ".css", ".xsl", ".js", ".po", ".ico")


def digest(data: bytes) -> str:
    """32 hex digits of BLAKE2b: fast, and far from any chance collision."""
    return hashlib.blake2b(data, digest_size=16).hexdigest()


def source_files() -> Iterator[tuple[str, Path]]:
    """(name, path) of every file of the ``feeds`` package that shapes its
    output, sorted: code, templates, stylesheets, catalogues."""
    folder = Path(__file__).resolve().parent
    for path in sorted(folder.rglob("*")):
        if path.suffix in _CODE_SUFFIXES and path.is_file() and "__pycache__" not in path.parts:
            yield path.relative_to(folder).as_posix(), path


@cache
def code_version() -> str:
    """A digest of this program's own files: what other code made is never reused."""
    hashed = hashlib.blake2b(digest_size=8)
    for name, path in source_files():
        hashed.update(name.encode())
        hashed.update(path.read_bytes())
    return hashed.hexdigest()
