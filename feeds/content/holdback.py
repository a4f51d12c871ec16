"""Which files with problems are held back, and what of each is published.

A broken file holds back only itself. An article or an author file with
problems is published at its *last good version*, the last one that was
published, or is left out if it never was good; every other change goes out.
A draft with problems is simply left out: it is never public. This module is
the one place that decides it, for ``feeds build``, the app and the preview
alike (through :func:`feeds.content.directory.load` with ``partial``).

Last good versions are found in the build cache (:mod:`feeds.cache` keeps,
per path, the last version of each article and author file that was
published), and in an app worker's previous load. Either is used only if it
was made for the same site address: a preview's copy never reaches an export.

Two files claiming one slug or one id: the one that introduced the clash is
held back, the one whose last good version did not claim it (a new file, or
an edit); when both or neither did, the later file by name. An article that
names an unknown author is broken itself, and held back like any other.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property

from feeds.cache import Cache, freeze, thaw, thaw_author
from feeds.errors import Problem
from feeds.model import Article, Author, Content, Site


@dataclass(frozen=True)
class Held:
    """A file with problems, and what is published of it instead."""

    #: Path relative to the content directory.
    path: str
    #: Everything wrong with it.
    problems: tuple[Problem, ...]
    #: Its last good version is kept in its place (else nothing of it is).
    kept: bool = False
    #: A draft: never public, so it holds nothing back (``--strict`` included).
    draft: bool = False

    @property
    def verdict(self) -> str:
        """What became of it, as ``feeds build`` and the log say after its problems."""
        if self.draft:
            return "left out: a draft, never published"
        if self.kept:
            return "held back: its last good version stays published"
        return "left out: it has no last good version"


@dataclass(frozen=True)
class LastGood:
    """Where the last good version of a file is found: an app worker's
    previous load first, then the build cache."""

    site: Site
    cache: Cache | None = None
    previous: Content | None = None

    @cached_property
    def _previous(self) -> tuple[dict[str, Article], dict[str, Author]]:
        content = self.previous
        if content is None or content.site.base_url != self.site.base_url:
            return {}, {}
        return (
            {a.path: a for a in content.articles},
            {f"authors/{a.id}.md": a for a in content.authors if a.id is not None},
        )

    def author(self, path: str) -> Author | None:
        found = self._previous[1].get(path)
        if found is None and self.cache is not None:
            found = thaw_author(self.cache.good_authors(self.site.base_url).get(path))
        return found

    def article(self, path: str, authors: Mapping[str, Author]) -> Article | None:
        """Its last good version, with the authors of now (as a cached article
        is): None when one of them is gone, or when it was made for another
        address."""
        from feeds import urls  # here: a build with nothing to do needs none of it

        before = self._previous[0].get(path)
        blob = freeze(before) if before is not None else None
        if blob is None and self.cache is not None:
            blob = self.cache.article_blob(path)
        found = thaw(blob, dict(authors)) if blob is not None else None
        if found is None or found.path != path:
            return None
        if found.url != urls.absolute(self.site.base_url, urls.article(found.slug)):
            return None
        return found


@dataclass
class Settled:
    """The articles to publish, and what became of the files with problems."""

    #: In file order; a held-back file's last good version in its place.
    articles: list[Article]
    #: Paths whose current version is published (neither held back nor out).
    current: set[str]
    #: Path -> (kept, draft) of each file held back or left out.
    held: dict[str, tuple[bool, bool]] = field(default_factory=dict)
    #: Problems of clashes between files, on the file held back.
    problems: list[Problem] = field(default_factory=list)


def settle_articles(
    paths: Sequence[str],
    valid: Mapping[str, Article],
    broken: Mapping[str, bool | None],
    last: LastGood,
    authors: Mapping[str, Author],
    line_of: Callable[[str, str], int | None],
) -> Settled:
    """Decide what is published of each article file. ``valid``: the files
    whose current version validated; ``broken``: the others, each with what
    its front matter says of ``draft`` (None when it does not read).
    ``line_of(path, field)``: where a field is written, for a clash's problem."""
    chosen: dict[str, Article] = {}
    kept: set[str] = set()
    held: dict[str, tuple[bool, bool]] = {}
    for path in paths:
        if path in valid:
            chosen[path] = valid[path]
        elif path in broken:
            says = broken[path]
            good = None if says else last.article(path, authors)
            if good is not None:
                chosen[path] = good
                kept.add(path)
            draft = bool(says) or (says is None and good is not None and good.draft)
            held[path] = (good is not None, draft)
    order = {path: n for n, path in enumerate(paths)}
    problems: list[Problem] = []
    while losers := _clashes(chosen, kept, last, authors, order, line_of):
        for path, problem in losers.items():
            problems.append(problem)
            draft = chosen[path].draft
            good = None if path in kept else last.article(path, authors)
            if good is None:
                del chosen[path]
                kept.discard(path)
            else:
                chosen[path] = good
                kept.add(path)
            held[path] = (good is not None, draft)
    return Settled([chosen[p] for p in paths if p in chosen], set(chosen) - kept, held, problems)


def _clashes(
    chosen: Mapping[str, Article],
    kept: set[str],
    last: LastGood,
    authors: Mapping[str, Author],
    order: Mapping[str, int],
    line_of: Callable[[str, str], int | None],
) -> dict[str, Problem]:
    """The files to hold back for claiming a slug or an id another file
    holds, each with its problem."""
    losers: dict[str, Problem] = {}
    for key in ("slug", "id"):
        claims: dict[str, list[str]] = {}
        for path, article in chosen.items():
            claims.setdefault(getattr(article, key), []).append(path)
        for value, claimants in claims.items():
            if len(claimants) < 2:
                continue

            def rank(path: str, key: str = key, value: str = value) -> tuple[int, int]:
                good = chosen[path] if path in kept else last.article(path, authors)
                had = good is not None and getattr(good, key) == value
                return (0 if had else 1, order[path])

            first, *others = sorted(claimants, key=rank)
            for path in others:
                losers.setdefault(
                    path,
                    Problem(path, line_of(path, key), key, f"{value!r} is already used by {first}"),
                )
        if losers:
            return losers  # the slugs settled first: a loser's last good version may differ
    return losers


def held_files(
    problems: Sequence[Problem], decided: Mapping[str, tuple[bool, bool]]
) -> tuple[Held, ...]:
    """Every file with problems, by path: those not decided otherwise (an
    image, a file that is no article) are left out."""
    grouped: dict[str, list[Problem]] = {}
    for problem in problems:
        grouped.setdefault(problem.path, []).append(problem)
    return tuple(
        Held(path, tuple(found), *decided.get(path, (False, False)))
        for path, found in sorted(grouped.items())
    )


def blocking(held: Sequence[Held]) -> tuple[Held, ...]:
    """The files ``feeds build --strict`` stops for: all but drafts."""
    return tuple(h for h in held if not h.draft)


def dump(held: Sequence[Held]) -> str:
    """``held`` as text, for a build that finds nothing to do to tell again."""
    return json.dumps(
        [
            [h.path, h.kept, h.draft, [[p.path, p.line, p.field, p.message] for p in h.problems]]
            for h in held
        ]
    )


def undump(text: str | None) -> tuple[Held, ...] | None:
    """What :func:`dump` wrote; None for what it did not."""
    try:
        return tuple(
            Held(path, tuple(Problem(*p) for p in problems), bool(kept), bool(draft))
            for path, kept, draft, problems in json.loads(text or "")
        )
    except (ValueError, TypeError):
        return None
