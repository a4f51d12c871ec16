"""``feeds publish``: a draft (or a scheduled article) goes out now.

Its ``date`` becomes the moment given (the command's clock, in the site's
time zone) and its ``draft`` line goes; every other byte of the file is kept,
comments, quoting and order included. The article is checked as rewritten,
and the file is put back as it was when it has problems.
"""

from __future__ import annotations

import dataclasses
import os
import re
import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from feeds.cache import Cache
from feeds.content.directory import ARTICLES, load, load_site
from feeds.content.documents import decode, parse_document, read_bytes
from feeds.content.fields import parse_date
from feeds.errors import ContentError, Problem, UsageError


@dataclass(frozen=True)
class Published:
    """What ``feeds publish`` did to a file."""

    #: Relative to the content directory.
    path: str
    #: The date it now has, as written.
    date: str
    #: What its front matter said of ``draft`` before (the line's text), if anything.
    draft: str | None


def article_path(root: Path, given: str) -> str:
    """``articles/<stem>.md`` of the content directory ``root`` for a file
    named as an editor would: a path (from here, or from the content
    directory), or a bare file name or stem."""
    articles = (root / ARTICLES).resolve()
    for candidate in (Path(given), root / given, root / ARTICLES / given):
        for path in (candidate, candidate.with_name(candidate.name + ".md")):
            if path.is_file() and path.resolve().parent == articles:
                return f"{ARTICLES}/{path.name}"
    raise UsageError(f"{given}: no such article in {root / ARTICLES}")


def publish(root: Path, given: str, now: datetime, cache_file: Path) -> Published:
    """Date the article ``given`` (see :func:`article_path`) at ``now`` and
    take its ``draft`` line out, checking it with the build cache in
    ``cache_file``. Raises :class:`UsageError` for an article
    that is public already, :class:`ContentError` (the file left as it was)
    for one with problems."""
    site = load_site(root)
    path = article_path(root, given)
    data = read_bytes(root, path, site.max_article_bytes)
    text = decode(path, data)
    doc = parse_document(path, text)
    values, lines_of = doc.meta.values, doc.meta.key_lines
    draft = values.get("draft")
    is_draft = draft is not None and draft.data is True
    written = values.get("date")
    date = None
    if written is not None and isinstance(written.data, str):
        date = parse_date(written.data, site.zone)
    if not is_draft and date is not None and date <= now:
        shown = date.astimezone(site.zone).isoformat()
        raise UsageError(
            f"{path} is public already (date: {shown}); publish dates only drafts and "
            "scheduled articles"
        )
    stamp = now.astimezone(site.zone).replace(microsecond=0).isoformat()
    lines = re.findall(r"[^\n]*\n|[^\n]+\Z", text)
    ending = "\r\n" if lines and lines[0].endswith("\r\n") else "\n"

    def line_of(key: str) -> int | None:
        """The index of the line that writes ``key:``, if it is one line of its own."""
        if key not in lines_of:
            return None
        index = lines_of[key] - 1
        if index >= len(lines) or not re.match(rf"{key}\s*:", lines[index]):
            raise UsageError(
                f"{path}:{index + 1}: {key}: cannot rewrite this line; edit the file by hand"
            )
        return index

    dropped = None
    drop, redate = line_of("draft"), line_of("date")
    # Each edit's (first line it moved, in the file as edited so far; by how much
    # to move it back): to tell a problem at its line in the file as it was.
    moves: list[tuple[int, int]] = []
    if redate is not None:
        end = lines[redate][len(lines[redate].rstrip("\r\n")) :]
        lines[redate] = f"date: {stamp}{end}"
    else:  # the last line before the closing '---'
        added = doc.body_line - 2
        lines.insert(added, f"date: {stamp}{ending}")
        moves.append((added + 2, -1))
        if drop is not None and drop >= added:
            drop += 1
    if drop is not None:
        dropped = lines[drop].rstrip("\r\n")
        lines[drop] = ""
        moves.append((drop + 1, +1))
    new = "".join(lines)
    _replace(root / path, new.encode("utf-8"))
    cache = Cache(cache_file)
    try:
        loaded = load(root, cache=cache, partial=True)
    except ContentError:
        _replace(root / path, data)
        raise
    finally:
        cache.close()
    problems = [_moved(p, moves) for p in loaded.problems if p.path == path]
    if problems:
        _replace(root / path, data)
        raise ContentError(problems)
    return Published(path, stamp, dropped)


def _moved(problem: Problem, moves: list[tuple[int, int]]) -> Problem:
    """A problem of the rewritten file, told at its line in the file as it was."""
    if problem.line is None:
        return problem
    line = problem.line
    for start, shift in reversed(moves):  # undone in the reverse order of the edits
        if line >= start:
            line += shift
    return dataclasses.replace(problem, line=line)


def _replace(file: Path, data: bytes) -> None:
    """Write ``file`` whole or not at all: a running preview or build never
    reads half of it."""
    fd, temporary = tempfile.mkstemp(dir=file.parent, prefix=".", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.chmod(temporary, file.stat().st_mode & 0o7777)
        os.replace(temporary, file)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
