"""What ``feeds check`` warns of: content that will be changed or lost on its
way to readers, though it can be built.

- HTML the sanitiser removes from a body or a bio (which element, which
  attribute), and characters XML cannot carry; a tag typed into a correction,
  which is plain text and shows it as written;
- links and images in a body to a URL of this site that does not exist (no
  such article, tag, author, page or image);
- one tag spelled several ways (which spelling is shown, where the others are);
- a withdrawal dated before its story's date once that date has passed: the
  story counts as killed under embargo, so nothing public shows it (if it was
  public, a withdrawal dated at or after its date tells readers).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection
from datetime import datetime
from pathlib import Path

from feeds import urls
from feeds.content.directory import ARTICLES, Loaded
from feeds.content.documents import read_document
from feeds.errors import ContentError, Problem
from feeds.outputs.plan import Plan


def warnings(loaded: Loaded, now: datetime, held: Collection[str] = ()) -> list[Problem]:
    """Every warning about content loaded with ``lint``, sorted by file and
    line. ``held``: the URL paths of the articles left out for their problems
    (:func:`held_pages`), which links may lead to without a warning: their
    problems are said already."""
    found = [w for notes in loaded.notes.values() for w in notes.warnings]
    found += _missing_pages(loaded, now, frozenset(held))
    found += _tag_spellings(loaded)
    found += _kills(loaded, now)
    return sorted(set(found), key=lambda p: (p.path, p.line or 0, p.field or "", p.message))


def held_pages(root: Path, loaded: Loaded) -> set[str]:
    """The URL paths of the articles loaded with ``partial`` that were left
    out for their problems: the slug their front matter gives, if it reads,
    else their file's stem."""
    found = set()
    for held in loaded.held:
        if not held.path.startswith(f"{ARTICLES}/"):
            continue
        slug = held.path.rsplit("/", 1)[-1].removesuffix(".md")
        try:
            value = read_document(root, held.path).meta.values.get("slug")
        except ContentError:
            value = None
        if value is not None and isinstance(value.data, str):
            slug = value.data
        found.add(urls.article(slug))
    return found


def _missing_pages(loaded: Loaded, now: datetime, held: frozenset[str]) -> list[Problem]:
    """Links to this site that lead nowhere. Everything that will exist counts
    (drafts and scheduled articles included): a link to a story that comes
    out later is an editor's plan, not a mistake."""
    content = loaded.content
    site = content.site
    outputs = Plan(loaded, now, drafts=True).outputs
    images = set(content.images)
    hosts = frozenset({site.id_host})
    found = []
    for path, notes in loaded.notes.items():
        for url, line in notes.links:
            target = urls.site_path(url, site.base_url, hosts)
            if target is None:
                continue
            if target in held or target + "/" in held:
                continue
            if target.startswith(urls.IMAGES):
                exists = target.removeprefix(urls.IMAGES) in images
            else:
                exists = urls.file_of(target) in outputs or urls.file_of(target + "/") in outputs
            if not exists:
                found.append(
                    Problem(
                        path,
                        line,
                        "body",
                        f"links to {url}, which this site does not have",
                        warning=True,
                    )
                )
    return found


def _kills(loaded: Loaded, now: datetime) -> list[Problem]:
    """A withdrawal dated before its story's date is a kill under embargo
    (:attr:`feeds.model.Article.killed`). Before the date, that is what the
    editor means; once it has passed, the story may have been public (a
    withdrawal written later and dated too early), and a kill hides it as if
    it never existed: say so, since content alone cannot tell the two apart."""
    return [
        Problem(
            article.path,
            None,
            "withdrawn.date",
            "is before the article's date, which has passed: the story counts as killed "
            "before release and nothing public shows it ever existed (no 410 page, not on "
            "/withdrawals/); if it was public, date the withdrawal at or after its date",
            warning=True,
        )
        for article in loaded.content.articles
        if article.killed and not article.draft and article.date <= now
    ]


def _tag_spellings(loaded: Loaded) -> list[Problem]:
    """One warning for a tag written several ways, where its shown spelling is
    first written, naming every place of the others."""
    shown = {tag.slug: tag.name for article in loaded.content.articles for tag in article.tags}
    written: dict[str, dict[str, list[tuple[str, int]]]] = defaultdict(lambda: defaultdict(list))
    for path, notes in sorted(loaded.notes.items()):
        for name, slug, line in notes.tags:
            written[slug][name].append((path, line))
    found = []
    for slug, spellings in sorted(written.items()):
        shown_as = shown.get(slug)
        if len(spellings) < 2 or shown_as is None or shown_as not in spellings:
            continue
        name = shown_as
        path, line = spellings[name][0]
        others = [
            f"{spelling!r} in " + ", ".join(f"{p}:{n}" for p, n in places)
            for spelling, places in spellings.items()
            if spelling != name
        ]
        found.append(
            Problem(
                path,
                line,
                "tags",
                f"tag {name!r} is also written {'; '.join(others)}; it is shown as {name!r} "
                "everywhere (write it one way)",
                warning=True,
            )
        )
    return found
