"""A content directory to a validated :class:`Content`, or every problem in it."""

from __future__ import annotations

import dataclasses
import gc
import io
import os
import pickle
import threading
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from datetime import datetime
from multiprocessing import get_all_start_methods, get_context
from pathlib import Path

from feeds.cache import Cache, code_version, digest
from feeds.errors import ContentError, Problem
from feeds.licenses import LICENSES
from feeds.load import TomlDocument, decode, parse_document, read_bytes, read_document, read_toml
from feeds.model import Article, Author, Content, License, Site, Tag
from feeds.validate import (
    image_path,
    local_images,
    validate_article,
    validate_author,
    validate_site,
)

Signature = tuple[tuple[str, int, int], ...]


def scan(root: Path) -> Signature:
    """(path, mtime in ns, size) of every file and folder under root, sorted."""
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


#: Held while a process pool is forked with a module global its workers read.
FORKING = threading.Lock()

#: Fewer articles than this to validate are not worth starting processes for.
PARALLEL_FROM = 200


def load_content(
    root: Path, base_url: str | None = None, cache: Cache | None = None, jobs: int = 1
) -> Content:
    """Read and validate everything under ``root``.

    Raises :class:`ContentError` listing every problem of every file, sorted
    by file and line; a broken ``site.toml`` does not stop the articles from
    being checked too. ``base_url`` replaces the one of ``site.toml`` (previews).

    With a ``cache``, an article whose file and context (site settings,
    authors, images, code) are unchanged is taken from it instead of being
    parsed and rendered again; the others are validated in ``jobs`` processes.
    """
    problems: list[Problem] = []
    if not root.is_dir():
        raise ContentError([Problem(str(root), None, None, "no such content directory")])
    site = _site(root, problems, base_url)
    images = _image_sizes(root, problems)
    authors: dict[str, Author] = {}
    for path in _markdown_files(root, "authors", problems):
        try:
            doc = read_document(root, path)
        except ContentError as e:
            problems.extend(e.problems)
            continue
        author = validate_author(doc, site, problems)
        if author is not None and author.id is not None:
            authors[author.id] = author
    paths = _markdown_files(root, "articles", problems)
    context = digest(
        repr((site, tuple(authors.values()), sorted(images.items()), code_version())).encode()
    )
    found = _articles(root, paths, (site, authors, images, context), cache, jobs, problems)
    articles = [found[path] for path in paths if path in found]
    problems.extend(_duplicates(articles))
    if problems:
        raise ContentError(sorted(set(problems), key=_problem_order))
    always = {path for a in authors.values() for path in local_images(a.bio_html, site)}
    if site.logo and (logo := image_path(site.logo, site)):
        always.add(logo)
    return Content(
        site=site,
        authors=tuple(authors.values()),
        articles=_unify_tags(articles),
        images=tuple(sorted(images)),
        site_images=tuple(sorted(always)),
    )


#: (mtime_ns, size, sha of the bytes, pickled article or None, problems)
Validated = tuple[int, int, str, bytes | None, list[Problem]]


def _articles(
    root: Path,
    paths: list[str],
    shared: Shared,
    cache: Cache | None,
    jobs: int,
    problems: list[Problem],
) -> dict[str, Article]:
    """Each article from the cache when its file and context are unchanged,
    else validated (in ``jobs`` processes); the cache is brought up to date."""
    context = shared[3]
    authors = shared[1]
    known = cache.articles() if cache else {}

    def thaw(blob: bytes) -> Article:
        return _Thaw(io.BytesIO(blob), authors).load()  # type: ignore[no-any-return]

    found: dict[str, Article] = {}
    todo: list[str] = []
    fresh: list[tuple[str, int, int, str, str, bytes]] = []
    folder = str(root)
    with no_gc():
        for path in paths:
            row = known.get(path)
            if row is not None and row[3] == context:
                info = os.stat(f"{folder}/{path}")
                if (info.st_mtime_ns, info.st_size) == row[:2]:
                    found[path] = thaw(row[4])
                    continue
                if digest((root / path).read_bytes()) == row[2]:  # touched, not changed
                    found[path] = thaw(row[4])
                    fresh.append((path, info.st_mtime_ns, info.st_size, row[2], context, row[4]))
                    continue
            todo.append(path)
        for path, result in zip(todo, _validate_all(root, todo, shared, jobs), strict=True):
            mtime_ns, size, sha, blob, file_problems = result
            problems.extend(file_problems)
            if blob is not None:
                found[path] = thaw(blob)
                fresh.append((path, mtime_ns, size, sha, context, blob))
    if cache is not None:
        cache.put_articles(fresh)
        cache.forget_articles(paths)
    return found


@contextmanager
def no_gc() -> Iterator[None]:
    """Without the cycle collector: loading or building ten thousand articles
    triggers collections that walk them all and find nothing to free (the
    model has no reference cycles; reference counting frees it)."""
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            gc.enable()


#: (site, authors, images, context): what validating an article needs besides its file.
Shared = tuple[Site, dict[str, Author], dict[str, int], str]

# What the validating processes share; set before they are forked.
_shared: tuple[Path, Shared] | None = None


def _validate_all(root: Path, paths: list[str], shared: Shared, jobs: int) -> Iterator[Validated]:
    """Validate ``paths``, in ``jobs`` processes when there are enough of them."""
    global _shared
    if jobs <= 1 or len(paths) < PARALLEL_FROM or "fork" not in get_all_start_methods():
        yield from (_validate_with((root, shared), path) for path in paths)
        return
    with FORKING:  # one pool at a time may use the global its workers inherit
        _shared = (root, shared)
        try:
            with ProcessPoolExecutor(jobs, mp_context=get_context("fork")) as pool:
                chunk = max(1, len(paths) // (jobs * 8))
                yield from pool.map(_validate_one, paths, chunksize=chunk)
        finally:
            _shared = None


def _validate_one(path: str) -> Validated:
    """In a forked worker: validate with what the parent shared."""
    assert _shared is not None
    return _validate_with(_shared, path)


class _Freeze(pickle.Pickler):
    """Pickles an article without copies of its authors and licence: they are
    written as references and joined to the current ones when read, so ten
    thousand articles do not unpickle twenty thousand copies of a few authors."""

    def persistent_id(self, obj: object) -> tuple[str, str] | None:
        if isinstance(obj, Author) and obj.id is not None:
            return ("author", obj.id)
        if isinstance(obj, License):
            return ("license", obj.id)
        return None


class _Thaw(pickle.Unpickler):
    def __init__(self, file: io.BytesIO, authors: dict[str, Author]) -> None:
        super().__init__(file)
        self.authors = authors

    def persistent_load(self, pid: tuple[str, str]) -> object:
        kind, key = pid
        # The article's context includes every author, so these are the ones it saw.
        return self.authors[key] if kind == "author" else LICENSES[key]


def freeze(article: Article) -> bytes:
    buffer = io.BytesIO()
    _Freeze(buffer, pickle.HIGHEST_PROTOCOL).dump(article)
    return buffer.getvalue()


def _validate_with(shared: tuple[Path, Shared], path: str) -> Validated:
    root, (site, authors, images, context) = shared
    problems: list[Problem] = []
    try:
        info = (root / path).stat()
        data = read_bytes(root, path, site.max_article_bytes)
        doc = parse_document(path, decode(path, data))
    except ContentError as e:
        return (0, 0, "", None, list(e.problems))
    article = validate_article(doc, site, authors, images, problems)
    sha = digest(data)
    blob = None
    if article is not None:
        # The path too: the default slug and id come from the file's name.
        article = dataclasses.replace(article, fingerprint=f"{sha}.{context}.{path}")
        blob = freeze(article)
    return (info.st_mtime_ns, info.st_size, sha, blob, problems)


def _problem_order(problem: Problem) -> tuple[str, int, str, str]:
    return (problem.path, problem.line or 0, problem.field or "", problem.message)


def _site(root: Path, problems: list[Problem], base_url: str | None) -> Site:
    try:
        doc = read_toml(root, "site.toml")
    except ContentError as e:
        problems.extend(e.problems)
        # A stand-in, so that the articles still get checked.
        doc = TomlDocument(
            "site.toml",
            {"title": "?", "description": "?", "base_url": "https://example.invalid/"},
            {},
        )
    return validate_site(doc, problems, base_url)


def _markdown_files(root: Path, folder: str, problems: list[Problem]) -> list[str]:
    """``folder/*.md`` relative to root, sorted; anything else there is reported."""
    directory = root / folder
    if not directory.is_dir():
        return []
    found = []
    for entry in sorted(os.scandir(directory), key=lambda e: e.name):
        if entry.name.startswith(".") or entry.name.endswith("~"):
            continue  # editors' and systems' hidden and backup files
        relative = f"{folder}/{entry.name}"
        try:
            entry.name.encode("utf-8")
        except UnicodeEncodeError:
            shown = entry.name.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
            problems.append(
                Problem(
                    f"{folder}/{shown}", None, None, "file name is not valid UTF-8; rename the file"
                )
            )
            continue
        if entry.is_file() and entry.name.endswith(".md"):
            found.append(relative)
        else:
            problems.append(
                Problem(
                    relative, None, None, f"not a Markdown file; {folder}/ holds only .md files"
                )
            )
    return found


def _image_sizes(root: Path, problems: list[Problem]) -> dict[str, int]:
    """Files under ``images/`` by path relative to it, with their sizes. A link
    that leads out of ``images/`` is reported: it would publish that file."""
    directory = root / "images"
    if not directory.is_dir():
        return {}
    inside = directory.resolve()
    sizes = {}
    for folder, subfolders, names in os.walk(directory):
        subfolders[:] = [d for d in subfolders if not d.startswith(".")]
        for name in names:
            path = Path(folder) / name
            relative = path.relative_to(directory).as_posix()
            if name.startswith("."):
                continue
            if not path.resolve().is_relative_to(inside):
                problems.append(
                    Problem(
                        f"images/{relative}",
                        None,
                        None,
                        "links to a file outside images/; it is not published",
                    )
                )
                continue
            if path.is_file():
                sizes[relative] = path.stat().st_size
    return sizes


def _duplicates(articles: list[Article]) -> list[Problem]:
    """Slugs and ids must be unique across the site; both files are named."""
    problems = []
    for field in ("slug", "id"):
        first: dict[str, Article] = {}
        for article in articles:
            value = getattr(article, field)
            other = first.setdefault(value, article)
            if other is not article:
                problems.append(
                    Problem(article.path, None, field, f"{value!r} is already used by {other.path}")
                )
    return problems


def _unify_tags(articles: list[Article]) -> tuple[Article, ...]:
    """Tags with one slug are one tag, named as the oldest article that is not a
    draft writes it (the one most likely public already: a draft's or a
    scheduled article's spelling must not show before it does)."""
    first: dict[str, tuple[bool, datetime, str, str]] = {}
    for article in articles:
        for tag in article.tags:
            rank = (article.draft, article.date, article.path, tag.name)
            if tag.slug not in first or rank < first[tag.slug]:
                first[tag.slug] = rank
    names = {slug: rank[3] for slug, rank in first.items()}
    return tuple(
        article
        if all(names[t.slug] == t.name for t in article.tags)
        else dataclasses.replace(
            article, tags=tuple(Tag(names[t.slug], t.slug) for t in article.tags)
        )
        for article in articles
    )
