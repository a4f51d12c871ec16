"""A content directory to a validated :class:`Content`, or every problem in it."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

from feeds.errors import ContentError, Problem
from feeds.load import TomlDocument, read_document, read_toml
from feeds.model import Article, Author, Content, Site, Tag
from feeds.validate import (
    image_path,
    local_images,
    validate_article,
    validate_author,
    validate_site,
)


def load_content(root: Path, base_url: str | None = None) -> Content:
    """Read and validate everything under ``root``.

    Raises :class:`ContentError` listing every problem of every file, sorted
    by file and line; a broken ``site.toml`` does not stop the articles from
    being checked too. ``base_url`` replaces the one of ``site.toml`` (previews).
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
    articles: list[Article] = []
    for path in _markdown_files(root, "articles", problems):
        try:
            doc = read_document(root, path, site.max_article_bytes)
        except ContentError as e:
            problems.extend(e.problems)
            continue
        article = validate_article(doc, site, authors, images, problems)
        if article is not None:
            articles.append(article)
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
    for entry in sorted(directory.iterdir()):
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
        if entry.is_file() and entry.suffix == ".md":
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
    names: dict[str, str] = {}
    for article in sorted(articles, key=lambda a: (a.draft, a.date, a.path)):
        for tag in article.tags:
            names.setdefault(tag.slug, tag.name)
    return tuple(
        dataclasses.replace(article, tags=tuple(Tag(names[t.slug], t.slug) for t in article.tags))
        for article in articles
    )
