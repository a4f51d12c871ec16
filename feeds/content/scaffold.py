"""``feeds new``: a draft article that already passes ``feeds check``."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

from slugify import slugify

from feeds.content.directory import ARTICLES, AUTHORS, markdown_files
from feeds.content.documents import FORBIDDEN_CHARACTERS, read_toml
from feeds.content.fields import did_you_mean
from feeds.content.validate import validate_site
from feeds.errors import ContentError, Problem, UsageError

SLUG_LENGTH = 60

#: Apostrophes join their word, as people read it and as WordPress writes its
#: slugs: "Quito's" is ``quitos``, not ``quito-s``.
APOSTROPHES = [["'", ""], ["\u2019", ""], ["\u02bc", ""]]


def new_article(root: Path, title: str, author_ids: list[str], now: datetime) -> Path:
    """Write ``articles/<slug>.md`` under ``root`` and return its path.

    The id is written out so that renaming the file later never changes it;
    the date is ``now`` in the site's timezone. Without authors, the site's
    only author is used, or the draft lists none yet and ``feeds check`` says
    so. An existing file is never overwritten, and nothing is written at all
    when anything is wrong.
    """
    title = " ".join(title.split())
    try:
        title.encode("utf-8")
    except UnicodeEncodeError as e:
        raise UsageError(
            "the title is not valid UTF-8 text (is the terminal's encoding UTF-8?)"
        ) from e
    bad = FORBIDDEN_CHARACTERS.search(title)
    if bad:
        raise UsageError(f"the title has a control character (U+{ord(bad.group()):04X})")
    slug = slugify(title, max_length=SLUG_LENGTH, word_boundary=True, replacements=APOSTROPHES)
    if not slug:
        raise UsageError(f"the title {title!r} has no letters or digits to make a file name of")
    problems: list[Problem] = []
    site = validate_site(read_toml(root, "site.toml"), problems)
    if problems:
        raise ContentError(problems)
    known = sorted(path[len(AUTHORS) + 1 : -3] for path in markdown_files(root, AUTHORS))
    if not author_ids and len(known) == 1:
        author_ids = known
    for author in author_ids:
        if author not in known:
            hint = did_you_mean(author, known) or f" (known: {', '.join(known) or 'none'})"
            raise UsageError(f"unknown author {author!r}{hint}")
    local = now.astimezone(site.zone).replace(second=0, microsecond=0)
    entry_id = site.tag_prefix(local.date().isoformat()) + slug
    lines = [
        "---",
        f"title: {json.dumps(title, ensure_ascii=False)}",
        f"date: {local.isoformat()}",
        *(
            ["authors:", *(f"  - {author}" for author in author_ids)]
            if author_ids
            else [f"authors: []  # add author ids from authors/: {', '.join(known) or 'none yet'}"]
        ),
        f"id: {json.dumps(entry_id)}",
        f"slug: {slug}",
        "draft: true",
        "---",
        "",
        "Write the article here, in Markdown. The first paragraph becomes the summary",
        "unless the front matter gives one.",
        "",
    ]
    data = "\n".join(lines).encode("utf-8")
    path = root / ARTICLES / f"{slug}.md"
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        with path.open("xb") as file:
            file.write(data)
    except FileExistsError as e:
        raise UsageError(f"{path} already exists; it was left as it is") from e
    return path
