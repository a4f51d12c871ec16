"""A content directory to a validated :class:`Content`, or every problem in it.

What the content is: which files count, how they are read and validated.
How it is made fast lives elsewhere: the cache (:mod:`feeds.cache`) and the
process pool (:mod:`feeds.parallel`).
"""

from __future__ import annotations

import json
import mimetypes
import os
import re
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import PIL.Image
import PIL.ImageSequence

from feeds.cache import Cache, freeze, freeze_author, thaw
from feeds.content.documents import (
    TomlDocument,
    decode,
    parse_document,
    read_bytes,
    read_document,
    read_toml,
)
from feeds.content.holdback import Held, LastGood, held_files, settle_articles
from feeds.content.svg import refused_in
from feeds.content.validate import (
    Notes,
    duplicate_problems,
    local_image,
    unify_tags,
    validate_article,
    validate_author,
    validate_page,
    validate_site,
)
from feeds.digest import code_version, digest
from feeds.errors import ContentError, Problem
from feeds.files import FileRefused, read_inside
from feeds.files import Signature as Signature  # what webapp.reload compares
from feeds.files import scan as scan
from feeds.model import Article, Author, Content, ImageFile, Site, SitePage
from feeds.parallel import fork_map, no_gc
from feeds.terminal import visible

#: Folders of Markdown files, and what each holds.
ARTICLES, AUTHORS, PAGES = "articles", "authors", "pages"
SITE = "site.toml"

#: Files editors and tools leave beside the ones they edit: hidden files and
#: Emacs lock files (``.#x.md``), autosaves (``#x.md#``), backups (``x.md~``),
#: merge leftovers (``x.md.orig``) and Vim swap files. They are not content.
_NOT_CONTENT = re.compile(r"^(?:\..*|#.*#|.*~|.*\.orig|.*\.sw[a-p])\Z", re.S)


@dataclass(frozen=True)
class Loaded:
    """Validated content, with what the build cache knows of each article."""

    content: Content
    #: Article path -> a digest of its file and of everything it was validated
    #: with. Two loads giving an article the same version give the same article.
    versions: Mapping[str, str] = field(default_factory=dict)
    #: File path -> what ``feeds check`` warns of in it (loaded with ``lint``).
    notes: Mapping[str, Notes] = field(default_factory=dict)
    #: The problems of the files held back or left out (loaded with ``partial``).
    problems: tuple[Problem, ...] = ()
    #: Each file with problems, and what became of it (loaded with ``partial``).
    held: tuple[Held, ...] = ()
    #: Article path -> (slug, name) of its tags as its file writes them, before
    #: :func:`feeds.content.validate.unify_tags` names each tag one way.
    written: Mapping[str, tuple[tuple[str, str], ...]] = field(default_factory=dict)
    #: What every article was validated with besides its file (a digest), and
    #: the files under ``images/`` it could use.
    context: str = ""
    images: Mapping[str, ImageFile] = field(default_factory=dict)


def is_content_name(name: str) -> bool:
    """Is a file of this name content (not an editor's hidden or temporary file)?"""
    return _NOT_CONTENT.match(name) is None


def markdown_files(
    root: Path,
    folder: str,
    problems: list[Problem] | None = None,
    stats: dict[str, tuple[int, int]] | None = None,
    seen: Mapping[str, tuple[int, int]] | None = None,
) -> list[str]:
    """``folder/*.md`` relative to root, sorted: the one list of the articles or
    authors there is. Anything else in the folder is reported to ``problems``;
    ``stats`` gets each file's (mtime_ns, size), from the one listing, or
    from ``seen`` (by path, as :func:`feeds.files.fingerprint` gives them)."""
    directory = root / folder
    if not directory.is_dir():
        return []
    found = []
    report = problems if problems is not None else []
    for entry in sorted(os.scandir(directory), key=lambda e: e.name):
        if not is_content_name(entry.name):
            continue
        relative = f"{folder}/{entry.name}"
        try:
            entry.name.encode("utf-8")
        except UnicodeEncodeError:
            shown = entry.name.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
            report.append(
                Problem(
                    f"{folder}/{shown}", None, None, "file name is not valid UTF-8; rename the file"
                )
            )
            continue
        if entry.is_file() and entry.name.endswith(".md"):
            found.append(relative)
            if stats is not None:
                known = seen.get(entry.path) if seen is not None else None
                if known is None:
                    info = entry.stat()
                    known = (info.st_mtime_ns, info.st_size)
                stats[relative] = known
        else:
            report.append(
                Problem(
                    relative, None, None, f"not a Markdown file; {folder}/ holds only .md files"
                )
            )
    return found


def load_content(root: Path, base_url: str | None = None) -> Content:
    """Read and validate everything under ``root``; see :func:`load`."""
    return load(root, base_url).content


def load(
    root: Path,
    base_url: str | None = None,
    cache: Cache | None = None,
    jobs: int = 1,
    lint: bool = False,
    partial: bool = False,
    previous: Content | None = None,
) -> Loaded:
    """Read and validate everything under ``root``.

    Raises :class:`ContentError` listing every problem of every file, sorted
    by file and line; a broken ``site.toml`` does not stop the articles from
    being checked too. ``base_url`` replaces the one of ``site.toml`` (previews).

    With a ``cache``, an article whose file and context (site settings,
    authors, images, code) are unchanged is taken from it instead of being
    parsed and rendered again; the others are validated in ``jobs`` processes.
    With ``lint``, every file is validated afresh and ``notes`` say what
    ``feeds check`` warns of. With ``partial`` (``feeds build``, the app), a
    file with problems holds back only itself (:mod:`feeds.content.holdback`): its
    last good version, from ``previous`` (the app's last load) or the cache,
    stays in its place, or it is left out; ``held`` says which and why. A
    broken ``site.toml`` still stops the load.
    """
    problems: list[Problem] = []
    if not root.is_dir():
        raise ContentError([Problem(str(root), None, None, "no such content directory")])
    with no_gc():
        site = _site(root, problems, base_url)
        # Without site.toml nothing can be built: the rest is only checked.
        stopped = bool(problems)
        last = LastGood(site, None if stopped else cache, previous)
        refused: dict[str, str] = {}
        # Decoding every image at each load would cost what the images weigh:
        # one decoded whole before and unchanged since is not read again.
        known = decoded_images(cache) if cache is not None and not lint else None
        seen: dict[str, tuple[int, int]] = {}
        images = image_files(root, problems, known, seen, refused)
        authors: dict[str, Author] = {}
        good_authors: dict[str, bytes] = {}
        decided: dict[str, tuple[bool, bool]] = {}
        notes: dict[str, Notes] = {}
        author_paths = markdown_files(root, AUTHORS, problems)
        for path in author_paths:
            try:
                doc = read_document(root, path, site.max_article_bytes)
            except ContentError as e:
                problems.extend(e.problems)
                author = None
            else:
                author = validate_author(
                    doc, site, problems, notes.setdefault(path, Notes()) if lint else None
                )
            if author is not None:
                good_authors[path] = freeze_author(author)
            elif partial:
                author = last.author(path)
                if author is not None:
                    decided[path] = (True, False)
            if author is not None and author.id is not None:
                authors[author.id] = author
        pages = _pages(root, site, problems, notes if lint else None)
        paths = markdown_files(root, ARTICLES, problems)
        context = context_of(site, authors, images)
        shared = Shared(root, site, authors, images, context, lint, refused)
        found, fresh, says_draft = _articles(
            shared, paths, None if lint else cache, jobs, problems, notes
        )
        if not partial or stopped:
            articles = [found[path][0] for path in paths if path in found]
            problems.extend(duplicate_problems(articles))
            if problems:
                raise ContentError(sorted(set(problems), key=_problem_order))
            current = set(found)
        else:
            settled = settle_articles(
                paths,
                {path: found[path][0] for path in found},
                {path: says_draft.get(path) for path in paths if path not in found},
                last,
                authors,
                partial_line_of(root, site),
            )
            problems.extend(settled.problems)
            decided.update(settled.held)
            articles, current = settled.articles, settled.current
        if cache is not None and not lint:
            cache.put_articles(row for row in fresh if row[0] in current)
            cache.forget_articles(paths)
            cache.put_good_authors(site.base_url, good_authors, set(author_paths))
            decoded = {
                name: [*seen[name], f.length, f.width, f.height]
                for name, f in images.items()
                if name in seen
            }
            cache.set(decoded_images=json.dumps(decoded, sort_keys=True))
        always = {name for author in authors.values() for name in author.images}
        always.update(name for page in pages for name in page.images)
        if site.logo and (logo := local_image(site.logo, site)):
            always.add(logo)
        written = {a.path: tuple((t.slug, t.name) for t in a.tags) for a in articles}
        unified = unify_tags(articles)
        content = Content(
            site=site,
            authors=tuple(authors.values()),
            articles=unified,
            images=tuple(sorted(images)),
            site_images=tuple(sorted(always)),
            pages=pages,
        )
    # Tags are named across articles: another article can rename one of this
    # one's. A held-back article has no version: it is keyed by its fields.
    versions = {
        a.path: found[a.path][1] + "|" + "|".join(t.name for t in a.tags)
        for a in unified
        if a.path in current
    }
    problems = sorted(set(problems), key=_problem_order)
    held = held_files(problems, decided)
    return Loaded(content, versions, notes, tuple(problems), held, written, context, images)


def decoded_images(cache: Cache) -> dict[str, tuple[int, int, ImageFile]]:
    """The images a load with ``cache`` decoded whole, by name under
    ``images/``: (mtime_ns, size) when it did, and what it found."""
    try:
        stored = json.loads(cache.get("decoded_images") or "{}")
        return {
            name: (int(m), int(z), ImageFile(n, w, h)) for name, (m, z, n, w, h) in stored.items()
        }
    except (ValueError, TypeError):
        return {}  # written by another version: decode them again


def _pages(
    root: Path, site: Site, problems: list[Problem], notes: dict[str, Notes] | None
) -> tuple[SitePage, ...]:
    """Every valid page of ``pages/``, in navigation order; the problems of
    the others go to ``problems`` (a broken page is left out of a build)."""
    found = []
    for path in markdown_files(root, PAGES, problems):
        try:
            doc = read_document(root, path, site.max_article_bytes)
        except ContentError as e:
            problems.extend(e.problems)
            continue
        noted = notes.setdefault(path, Notes()) if notes is not None else None
        page = validate_page(doc, site, problems, noted)
        if page is not None:
            found.append(page)
    return tuple(sorted(found, key=lambda p: (p.order, p.slug)))


def context_of(site: Site, authors: Mapping[str, Author], images: Mapping[str, ImageFile]) -> str:
    """What every article is validated with besides its file, as a digest:
    the site's settings, the authors, the images and this program's code."""
    found = (site, tuple(authors.values()), sorted(images.items()), code_version())
    return digest(repr(found).encode())


def partial_line_of(root: Path, site: Site) -> Callable[[str, str], int | None]:
    """Where a field is written in an article's front matter, if it reads."""

    def line_of(path: str, name: str) -> int | None:
        try:
            doc = read_document(root, path, site.max_article_bytes)
        except ContentError:
            return None
        return doc.meta.key_lines.get(name)

    return line_of


@dataclass(frozen=True)
class Shared:
    """What validating an article needs besides its file."""

    root: Path
    site: Site
    authors: dict[str, Author]
    images: dict[str, ImageFile]
    #: A digest of all of the above and of the code.
    context: str
    #: Gather what ``feeds check`` warns of.
    lint: bool = False
    #: Why each file under ``images/`` that is not published is not.
    refused: dict[str, str] = field(default_factory=dict)


#: (mtime_ns, size, digest of the bytes, the stored article or None, problems,
#: notes, what the front matter says of ``draft``: None when it does not read)
_Validated = tuple[int, int, str, bytes | None, list[Problem], Notes | None, bool | None]
#: A row of the cache's articles: (path, mtime_ns, size, sha, context, stored article)
_Row = tuple[str, int, int, str, str, bytes]


def _articles(
    shared: Shared,
    paths: list[str],
    cache: Cache | None,
    jobs: int,
    problems: list[Problem],
    notes: dict[str, Notes],
) -> tuple[dict[str, tuple[Article, str]], list[_Row], dict[str, bool | None]]:
    """Each article that validates, with its version: from the cache when
    its file and context are unchanged, else validated (in ``jobs``
    processes). Also the cache's rows to bring up to date (the caller keeps
    those of the articles it publishes), and what the front matter of each
    file that does not validate says of ``draft`` (None when it does not read)."""
    context = shared.context
    known = cache.articles() if cache else {}
    found: dict[str, tuple[Article, str]] = {}
    todo: list[str] = []
    fresh: list[_Row] = []
    says_draft: dict[str, bool | None] = {}
    folder = str(shared.root)

    def version(path: str, sha: str) -> str:
        # The path too: the default slug and id come from the file's name.
        return f"{sha}.{context}.{path}"

    for path in paths:
        row = known.get(path)
        if row is not None and row[3] == context:
            info = os.stat(f"{folder}/{path}")
            stored = thaw(row[4], shared.authors)
            if stored is not None and (info.st_mtime_ns, info.st_size) == row[:2]:
                found[path] = (stored, version(path, row[2]))
                continue
            if stored is not None and _same_bytes(shared.root, path, row[2]):
                found[path] = (stored, version(path, row[2]))  # touched, not changed
                fresh.append((path, info.st_mtime_ns, info.st_size, row[2], context, row[4]))
                continue
        todo.append(path)
    chunk = max(1, len(todo) // (jobs * 8))
    results = fork_map(validate_file, shared, todo, jobs, chunksize=chunk)
    for path, (mtime_ns, size, sha, blob, file_problems, file_notes, draft) in zip(
        todo, results, strict=True
    ):
        problems.extend(file_problems)
        if file_notes is not None:
            notes[path] = file_notes
        if blob is not None:
            article = thaw(blob, shared.authors)
            assert article is not None
            found[path] = (article, version(path, sha))
            fresh.append((path, mtime_ns, size, sha, context, blob))
        else:
            says_draft[path] = draft
    return found, fresh, says_draft


def _same_bytes(root: Path, path: str, sha: str) -> bool:
    """Does the file still hold the bytes of digest ``sha`` (touched, not changed)?"""
    try:
        return digest(read_inside(root, path)) == sha
    except (OSError, FileRefused):
        return False  # validation will say what is wrong with it


def validate_file(shared: Shared, path: str) -> _Validated:
    """Validate one article file (in a worker process, or this one)."""
    problems: list[Problem] = []
    try:
        info = (shared.root / path).stat()
        data = read_bytes(shared.root, path, shared.site.max_article_bytes)
        doc = parse_document(path, decode(path, data))
    except ContentError as e:
        return (0, 0, "", None, list(e.problems), None, None)
    notes = Notes() if shared.lint else None
    article = validate_article(
        doc, shared.site, shared.authors, shared.images, problems, notes, shared.refused
    )
    blob = freeze(article) if article is not None else None
    draft = doc.meta.values.get("draft")
    says = draft is not None and draft.data is True
    return (info.st_mtime_ns, info.st_size, digest(data), blob, problems, notes, says)


def _problem_order(problem: Problem) -> tuple[str, int, str, str]:
    return (problem.path, problem.line or 0, problem.field or "", problem.message)


def load_site(root: Path) -> Site:
    """``site.toml`` alone (what a command needs that reads no article)."""
    problems: list[Problem] = []
    site = _site(root, problems, None)
    if problems:
        raise ContentError(problems)
    return site


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


def image_files(
    root: Path,
    problems: list[Problem],
    known: Mapping[str, tuple[int, int, ImageFile]] | None = None,
    stats: dict[str, tuple[int, int]] | None = None,
    refused: dict[str, str] | None = None,
) -> dict[str, ImageFile]:
    """Files under ``images/`` by path relative to it, with their sizes in bytes
    and pixels. A file that is not an image is reported (it would be served
    from the site's origin: an HTML page there runs as the site's), and so is
    a link that leads out of ``images/`` (it would publish that file), the
    folder itself being such a link included. ``known``: what an earlier call
    found of each file, by its (mtime_ns, size), not read again while those
    are unchanged; ``stats`` gets each file's. Every other image is decoded
    whole (Pillow): a file that does not decode (text named ``.jpg``, a
    truncated PNG) is reported, never published. ``refused`` gets why each
    file under ``images/`` is not published, by its name there."""
    directory = root / "images"
    if not directory.is_dir():
        return {}
    inside = Path(os.path.realpath(root)) / "images"
    sizes = {}
    why = refused if refused is not None else {}

    def refuse(relative: str, line: int | None, message: str) -> None:
        problems.append(Problem(f"images/{visible(relative)}", line, None, message))
        why[relative] = message

    for folder, subfolders, names in os.walk(directory):
        subfolders[:] = [d for d in subfolders if is_content_name(d)]
        for name in names:
            path = Path(folder) / name
            relative = path.relative_to(directory).as_posix()
            if not is_content_name(name):
                continue
            unusable = _unusable_name(relative)
            if unusable:
                refuse(relative, None, unusable)
                continue
            if not Path(os.path.realpath(path)).is_relative_to(inside):
                refuse(relative, None, "links to a file outside images/; it is not published")
                continue
            kind = mimetypes.guess_type(name)[0]
            if kind is None or not kind.startswith("image/"):
                found = f" ({kind})" if kind else ""
                refuse(relative, None, f"not an image{found}; images/ publishes images only")
                continue
            info = path.stat() if path.is_file() else None
            stat = (info.st_mtime_ns, info.st_size) if info is not None else None
            before = known.get(relative) if known is not None else None
            if stat is not None and before is not None and before[:2] == stat:
                sizes[relative] = before[2]
                if stats is not None:
                    stats[relative] = stat
                continue
            if kind == "image/svg+xml" and path.is_file():
                risk = refused_in(path)
                if risk is not None:
                    line, found = risk
                    message = f"{found}: an SVG may hold only a drawing's elements and attributes"
                    refuse(relative, line, message)
                    continue
            if info is not None and stat is not None:
                pixels: tuple[int | None, int | None] = (None, None)
                if kind != "image/svg+xml":  # an SVG is checked above; Pillow draws none
                    decoded = _decoded(path)
                    if isinstance(decoded, str):
                        refuse(relative, None, decoded)
                        continue
                    pixels = decoded
                sizes[relative] = ImageFile(info.st_size, *pixels)
                if stats is not None:
                    stats[relative] = stat
    return sizes


def _unusable_name(relative: str) -> str | None:
    """Why an image's path under ``images/`` cannot be published, if it
    cannot: it is written into ``_headers`` and HTTP headers, one line per
    path, so a line break in it would add a header of the editor's choosing,
    and a byte that is not UTF-8 cannot be written at all."""
    try:
        relative.encode("utf-8")
    except UnicodeEncodeError:
        return "file name is not valid UTF-8; rename the file"
    bad = next((c for c in relative if not c.isprintable()), None)
    if bad is not None:
        return (
            f"file name contains U+{ord(bad):04X}, a character that is not printable "
            "(a line break, a control or format character); rename the file"
        )
    return None


def _decoded(path: Path) -> tuple[int, int] | str:
    """Width and height of an image file that Pillow decodes whole, every
    frame of it; else why it does not, as a problem says it. An image of
    more pixels than Pillow's bound is refused before it is decoded (a
    decompression bomb would take the memory of the machine)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", PIL.Image.DecompressionBombWarning)
            with PIL.Image.open(path) as image:
                width, height = image.size
                for frame in PIL.ImageSequence.Iterator(image):
                    frame.load()
    except PIL.UnidentifiedImageError:
        return "does not decode as an image (not a format Pillow reads); it is not published"
    except (PIL.Image.DecompressionBombWarning, PIL.Image.DecompressionBombError):
        limit = PIL.Image.MAX_IMAGE_PIXELS or 0
        return f"has more pixels than the {limit:,} an image may have; it is not published"
    except (OSError, ValueError, SyntaxError, EOFError) as e:
        return f"does not decode as an image ({e}); it is not published"
    return int(width), int(height)
