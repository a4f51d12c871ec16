"""Raw located values to the domain model, reporting every problem at once.

Each ``validate_*`` function takes what :mod:`feeds.content.documents` read and a list to
append problems to. It never stops at the first problem: an editor fixing a
file wants the whole list. The reading of single values is
:mod:`feeds.content.fields`; what is checked across files (unique slugs and ids, one
spelling per tag) is here too.
"""

from __future__ import annotations

import dataclasses
import mimetypes
import re
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from typing import Any
from urllib.parse import quote, unquote, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from feeds import urls
from feeds.content.documents import Document, Mapping, TomlDocument, Value, describe
from feeds.content.fields import EMAIL, SLUG, URI, Fields, is_web_url, too_deep
from feeds.content.nesting import MAX_NESTING
from feeds.content.sanitize import Rendered, render_markdown, shorten, with_sizes
from feeds.errors import Problem
from feeds.licenses import LICENSES
from feeds.model import (
    BUILTIN_PIXEL,
    Article,
    Author,
    Correction,
    Image,
    ImageFile,
    Site,
    SitePage,
    Tag,
    Withdrawal,
)
from feeds.terminal import visible

SITE_FIELDS = (
    "title description base_url language timezone license producer source feed_items logo "
    "hub cache_max_age republish_pixel early_access_days max_article_bytes audit_days"
).split()
AUTHOR_FIELDS = ("name", "url", "affiliation", "email", "public_email")
PAGE_FIELDS = ("title", "description", "language", "order")
INLINE_AUTHOR_FIELDS = ("name", "url", "bio")
ARTICLE_FIELDS = (
    "title date authors id slug subtitle summary updated image tags section language producer "
    "source canonical_url license republish draft corrections withdrawn"
).split()
IMAGE_FIELDS = ("src", "alt", "caption", "credit", "credit_url", "distributable")
CORRECTION_FIELDS = ("date", "text")
WITHDRAWAL_FIELDS = ("date", "reason")


def validate_site(
    doc: TomlDocument, problems: list[Problem], base_url_override: str | None = None
) -> Site:
    """``site.toml`` to :class:`Site`; bad values fall back to defaults so the
    rest of the content can still be checked.

    ``base_url_override`` serves a preview from another address (as
    ``hugo server`` does): every URL of the output is built from it instead.
    """
    fields = Fields(doc.path, toml_mapping(doc), 1, problems)
    fields.only(SITE_FIELDS)
    title = fields.text("title", required=True) or "Untitled"
    base_url = fields.web_url("base_url", required=True)
    if base_url and not base_url.endswith("/"):
        fields.problem("base_url", f"must end with '/', got {base_url!r}")
        base_url = None
    if base_url and (urlsplit(base_url).query or urlsplit(base_url).fragment):
        fields.problem("base_url", "must not have a query or fragment")
        base_url = None
    if base_url and not _as_uri(fields, "base_url", base_url):
        base_url = None
    base_url = base_url or "https://example.invalid/"
    id_host = urlsplit(base_url).hostname or "example.invalid"
    base_url = base_url_override or base_url
    timezone = fields.text("timezone") or "UTC"
    zone = _zone(timezone)
    if zone is None:
        hint = " (IANA names look like 'America/Lima' or 'Europe/Madrid')"
        fields.problem("timezone", f"unknown time zone {timezone!r}{hint}")
        zone = ZoneInfo("UTC")
    written_logo = fields.text("logo")
    logo = None
    if written_logo is not None:
        logo = urls.resolve(written_logo, base_url, base_url)
        if logo is None or not is_web_url(logo):
            fields.problem("logo", f"expected a path or an http(s) URL, got {written_logo!r}")
            logo = None
    pixel = fields.text("republish_pixel")
    if pixel is not None and pixel != BUILTIN_PIXEL:
        if not is_web_url(pixel):
            fields.problem(
                "republish_pixel",
                f'expected "builtin" or an absolute http or https URL, got {pixel!r}',
            )
            pixel = None
        elif "{url}" not in pixel:
            fields.problem("republish_pixel", "must contain '{url}', where the article's URL goes")
            pixel = None
    hub = fields.web_url("hub")
    return Site(
        title=title,
        description=fields.text("description", required=True) or title,
        base_url=base_url,
        language=fields.language("language", "en"),
        zone=zone,
        license=LICENSES[fields.license("license", "all-rights-reserved")],
        producer=fields.text("producer") or title,
        source=fields.text("source") or title,
        # Each archive document holds feed_items stories: at most 100 keeps
        # every document well under 2 MB, what readers and aggregators take.
        feed_items=fields.integer("feed_items", 50, 1, 100),
        logo=logo,
        hub=hub if hub and _as_uri(fields, "hub", hub) else None,
        # Every number is bounded: a moment or a size computed from it must
        # neither overflow (early_access_days = 3000000) nor disable a limit.
        cache_max_age=fields.integer("cache_max_age", 300, 0, MAX_AGE),
        republish_pixel=pixel,
        early_access_days=fields.integer("early_access_days", 7, 0, MAX_EARLY_ACCESS_DAYS),
        max_article_bytes=fields.integer("max_article_bytes", 2_000_000, 1_000, MAX_ARTICLE_BYTES),
        audit_days=fields.integer("audit_days", 90, 1, MAX_AUDIT_DAYS),
        id_host=id_host,
    )


#: Bounds of the numeric settings (``feed_items`` has its own, 1 to 100).
MAX_AGE = 31_536_000  # a year, what RFC 9111 caches are told at most
MAX_EARLY_ACCESS_DAYS = 366
MAX_AUDIT_DAYS = 3_660  # ten years
MAX_ARTICLE_BYTES = 50_000_000


def _as_uri(fields: Fields, key: str, url: str) -> bool:
    """Can ``url`` be written as a URI (in a ``Link`` header)? A problem if not."""
    try:
        urls.uri(url)
    except ValueError as e:
        fields.problem(key, f"cannot be written as a URI for HTTP headers: {e}")
        return False
    return True


def toml_mapping(doc: TomlDocument) -> Mapping:
    """TOML values as a located :class:`Mapping` (lines of top-level keys only)."""

    def wrap(data: Any, line: int) -> Value:
        if isinstance(data, dict):
            return Value(
                Mapping({k: wrap(v, line) for k, v in data.items()}, dict.fromkeys(data, line)),
                line,
            )
        if isinstance(data, list):
            return Value([wrap(item, line) for item in data], line)
        return Value(data, line)

    lines = {key: doc.key_lines.get(key, 1) for key in doc.values}
    return Mapping({k: wrap(v, lines[k]) for k, v in doc.values.items()}, lines)


def _zone(name: str) -> ZoneInfo | None:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


@dataclass
class Notes:
    """What ``feeds check`` warns of, gathered while a file is validated (only
    when asked for: builds do not need it)."""

    #: Warnings about this file alone (what the sanitiser removes).
    warnings: list[Problem] = field(default_factory=list)
    #: (URL of this site the body links to or shows, line where it is written).
    links: list[tuple[str, int]] = field(default_factory=list)
    #: (tag as written, its slug, line).
    tags: list[tuple[str, str, int]] = field(default_factory=list)


def _stem(doc: Document) -> str:
    """The file's name without ``.md``: an author's id, a page's or an article's slug."""
    return doc.path.rsplit("/", 1)[-1].removesuffix(".md")


def _bad_file_name(doc: Document, why: str) -> Problem:
    """A file whose name is not a slug, though ``why`` says it must be one."""
    return Problem(
        doc.path, None, None, f"file name must be lowercase letters, digits and hyphens: {why}"
    )


def _line_of(doc: Document, needles: list[str]) -> int:
    """The line of the body where the first of ``needles`` is found, else
    where the body starts."""
    for needle in needles:
        if needle and (at := doc.body.find(needle)) >= 0:
            return doc.body_line + doc.body.count("\n", 0, at)
    return doc.body_line


def _body(
    doc: Document, url: str, site: Site, problems: list[Problem], notes: Notes | None
) -> Rendered | None:
    """The Markdown body of ``doc`` (an article, a bio, a page) rendered for
    ``url``, its sanitiser's changes noted; None, with the problem, when it
    nests deeper than a browser or feed reader should be asked to."""
    body = render_markdown(doc.body, url, site.base_url, notes is not None)
    if body.depth > MAX_NESTING:
        problems.append(Problem(doc.path, doc.body_line, "body", too_deep(body.depth)))
        return None
    _note_rendered(notes, doc, "body", body, site)
    return body


def _images_shown(body: Rendered, site: Site) -> tuple[str, ...]:
    """The files under ``images/`` that a rendered body shows, by name, sorted."""
    return tuple(sorted({name for u in body.urls if (name := local_image(u, site))}))


def _note_rendered(
    notes: Notes | None, doc: Document, name: str, rendered: Rendered, site: Site
) -> None:
    """What the sanitiser removed from ``doc``'s body (or a bio in it), and the
    links to this site it holds."""
    if notes is None:
        return
    for removed in rendered.removed:
        needle = re.search(r"<(\w+)>|the (\S+) |^(character)", removed)
        token = ""
        if needle:
            token = f"<{needle.group(1)}" if needle.group(1) else needle.group(2) or "&#"
        line = _line_of(doc, [token, token.lower()])
        notes.warnings.append(
            Problem(doc.path, line, name, f"the sanitiser removes {removed}", warning=True)
        )
    for url, written in zip(rendered.urls, rendered.written, strict=True):
        if urls.site_path(url, site.base_url, frozenset({site.id_host})) is not None:
            notes.links.append((url, _line_of(doc, [written, unquote(written)])))


def validate_author(
    doc: Document, site: Site, problems: list[Problem], notes: Notes | None = None
) -> Author | None:
    """``authors/<id>.md`` to :class:`Author`, or None when it has problems."""
    before = len(problems)
    author_id = _stem(doc)
    if not SLUG.fullmatch(author_id):
        problems.append(_bad_file_name(doc, "it is the author's id and URL"))
    fields = Fields(doc.path, doc.meta, doc.meta_line, problems)
    fields.only(AUTHOR_FIELDS)
    name = fields.text("name", required=True)
    url = fields.web_url("url")
    affiliation = fields.text("affiliation")
    email = fields.text("email")
    if email and not EMAIL.fullmatch(email):
        fields.problem("email", f"expected an email address, got {email!r}")
    public = fields.boolean("public_email", False)
    if len(problems) > before or name is None:
        return None
    bio = _body(doc, urls.absolute(site.base_url, urls.author(author_id)), site, problems, notes)
    if bio is None:
        return None
    return Author(
        id=author_id,
        name=name,
        url=url,
        affiliation=affiliation,
        email=email if public else None,
        bio_html=bio.html,
        images=_images_shown(bio, site),
    )


def validate_page(
    doc: Document, site: Site, problems: list[Problem], notes: Notes | None = None
) -> SitePage | None:
    """``pages/<slug>.md`` to :class:`SitePage`, or None when it has problems."""
    before = len(problems)
    slug = _stem(doc)
    if not SLUG.fullmatch(slug):
        problems.append(_bad_file_name(doc, "it is the page's URL"))
    elif slug in urls.RESERVED:
        problems.append(
            Problem(
                doc.path,
                None,
                None,
                f"/{slug}/ is one of the site's own addresses; name the page otherwise",
            )
        )
    fields = Fields(doc.path, doc.meta, doc.meta_line, problems)
    fields.only(PAGE_FIELDS)
    title = fields.text("title", required=True)
    description = fields.text("description")
    language = fields.language("language", site.language)
    order = fields.integer("order", 0, -1000, 1000)
    if len(problems) > before or title is None:
        return None
    body = _body(doc, urls.absolute(site.base_url, urls.site_page(slug)), site, problems, notes)
    if body is None:
        return None
    return SitePage(
        path=doc.path,
        slug=slug,
        title=title,
        body_html=body.html,
        language=language,
        description=description,
        order=order,
        images=_images_shown(body, site),
    )


def validate_article(
    doc: Document,
    site: Site,
    authors: dict[str, Author],
    images: dict[str, ImageFile],
    problems: list[Problem],
    notes: Notes | None = None,
    refused: dict[str, str] | None = None,
) -> Article | None:
    """``articles/<stem>.md`` to :class:`Article`, or None when it has problems.

    ``images`` maps paths under ``images/`` to their sizes, so that a lead
    image can be checked and described (type, length) for enclosures;
    ``refused``: why each file there that is not published is not.
    """
    before = len(problems)
    zone = site.zone
    stem = _stem(doc)
    fields = Fields(doc.path, doc.meta, doc.meta_line, problems)
    fields.only(ARTICLE_FIELDS)

    title = fields.text("title", required=True)
    date = fields.date("date", zone, required=True)
    updated = fields.date("updated", zone)
    if date and updated and updated < date:
        fields.problem("updated", "is before date; updated is the last change after publication")

    slug = fields.text("slug")
    if slug is None:
        slug = stem
        if not SLUG.fullmatch(stem):
            problems.append(
                Problem(
                    doc.path,
                    None,
                    "slug",
                    f"file name {stem!r} is not a valid "
                    "URL segment; rename the file or set slug (lowercase letters, "
                    "digits and hyphens)",
                )
            )
    elif not SLUG.fullmatch(slug):
        fields.problem(
            "slug",
            f"{slug!r} is not a valid URL segment; use lowercase letters, digits and hyphens",
        )
    url = urls.absolute(site.base_url, urls.article(slug))

    entry_id = fields.text("id")
    if entry_id is not None and not URI.fullmatch(entry_id):
        fields.problem(
            "id",
            f"expected a permanent URI such as '{site.tag_prefix('2026-01-31')}{stem}', "
            f"got {entry_id!r}",
        )
    if entry_id is None and date is not None:
        day = date.astimezone(zone).date().isoformat()
        entry_id = site.tag_prefix(day) + quote(stem)

    byline, bio_urls = _byline(fields, authors, url, site.base_url, notes)
    image = _image(fields, site, url, images, refused or {})
    tags = _tags(fields, notes)
    corrections = _corrections(fields, zone, date, notes)
    withdrawn = _withdrawal(fields, zone)
    section = fields.text("section")
    if section is not None and not urls.tag_slug(section):
        # A section has a page and feeds at its slug, as a tag has.
        fields.problem("section", f"{section!r} has no letters or digits to make a URL of")
        section = None
    subtitle = fields.text("subtitle")
    summary = fields.text("summary")
    language = fields.language("language", site.language)
    license_id = fields.license("license", site.license.id)
    producer = fields.text("producer") or site.producer
    source = fields.text("source") or site.source
    canonical = fields.web_url("canonical_url")
    republish = fields.boolean("republish", True)
    draft = fields.boolean("draft", False)

    if not doc.body.strip():
        problems.append(
            Problem(
                doc.path, doc.body_line, "body", "the article has no text below the front matter"
            )
        )
    if len(problems) > before or title is None or date is None or entry_id is None:
        return None
    body = _body(doc, url, site, problems, notes)
    if body is None:
        return None
    # Inline bios appear only with this article, so their images are its own.
    shown = [*body.urls, *bio_urls, *([image.url] if image else [])]
    used = {name for u in shown if (name := local_image(u, site)) is not None}

    def size_of(url: str) -> tuple[int, int] | None:
        file = images.get(local_image(url, site) or "")
        return (file.width, file.height) if file and file.width and file.height else None

    return Article(
        path=doc.path,
        id=entry_id,
        slug=slug,
        url=url,
        title=title,
        date=date,
        authors=byline,
        summary=summary or shorten(body.first_paragraph),
        body_html=with_sizes(body.html, size_of),
        license=LICENSES[license_id],
        language=language,
        producer=producer,
        source=source,
        subtitle=subtitle,
        updated=updated,
        image=image,
        tags=tags,
        section=section,
        canonical_url=canonical,
        republish=republish,
        draft=draft,
        corrections=corrections,
        withdrawn=withdrawn,
        images=tuple(sorted(used)),
    )


def local_image(url: str, site: Site) -> str | None:
    """The file under ``images/`` an absolute URL of this site names, if any."""
    return urls.image_path(url, site.base_url, frozenset({site.id_host}))


#: The longest byline: a news story has a few authors, and each is checked,
#: rendered and written in every output that carries the byline.
MAX_AUTHORS = 100


def _byline(
    fields: Fields, authors: dict[str, Author], url: str, root: str, notes: Notes | None
) -> tuple[tuple[Author, ...], list[str]]:
    """The authors, and the URLs in their inline bios.

    An author listed twice (the same id, or the same inline name, URL and
    bio) is a problem; they are looked up in a set, so a byline of
    thousands costs no more per author than one of three.
    """
    byline: list[Author] = []
    listed: set[Author] = set()
    bio_urls: list[str] = []
    value = fields.raw("authors", required=True)
    if value is not None and value.data == []:
        fields.problem("authors", "must list at least one author")
    entries = list(fields.items("authors"))
    if len(entries) > MAX_AUTHORS:
        fields.problem("authors", f"at most {MAX_AUTHORS} authors, got {len(entries)}")
        entries = []
    for name, value in entries:
        author: Author | None = None
        if isinstance(value.data, str):
            author = authors.get(value.data)
            if author is None:
                hint = fields.hint(value.data, authors)
                fields.problems.append(
                    Problem(fields.path, value.line, name, f"unknown author {value.data!r}{hint}")
                )
        elif isinstance(value.data, Mapping):
            inline = fields.mapping_of(name, value)
            assert inline is not None
            inline.only(INLINE_AUTHOR_FIELDS)
            author_name = inline.text("name", required=True)
            author_url = inline.web_url("url")
            bio = inline.text("bio", one_line=False)
            if author_name:
                bio_html = ""
                if bio:
                    rendered = render_markdown(bio, url, root, notes is not None)
                    for removed in rendered.removed:
                        assert notes is not None  # only asked for a report with notes
                        notes.warnings.append(
                            Problem(
                                fields.path,
                                inline.line_of("bio"),
                                f"{name}.bio",
                                f"the sanitiser removes {removed}",
                                warning=True,
                            )
                        )
                    if rendered.depth > MAX_NESTING:
                        inline.problem("bio", too_deep(rendered.depth))
                    bio_html = rendered.html
                    bio_urls.extend(rendered.urls)
                author = Author(id=None, name=author_name, url=author_url, bio_html=bio_html)
        else:
            fields.problems.append(
                Problem(
                    fields.path,
                    value.line,
                    name,
                    f"expected an author id or a mapping with a name, got {describe(value.data)}",
                )
            )
        if author is not None:
            if author in listed:
                fields.problems.append(
                    Problem(fields.path, value.line, name, f"{author.name!r} is listed twice")
                )
            else:
                byline.append(author)
                listed.add(author)
    return tuple(byline), bio_urls


def _image(
    fields: Fields,
    site: Site,
    page_url: str,
    images: dict[str, ImageFile],
    refused: dict[str, str],
) -> Image | None:
    image = fields.section("image", IMAGE_FIELDS)
    if image is None:
        return None
    src = image.text("src", required=True)
    alt = image.text("alt", required=True)
    caption = image.text("caption")
    credit = image.text("credit")
    credit_url = image.web_url("credit_url")
    distributable = image.boolean("distributable", True)
    if src is None or alt is None:
        return None
    url = urls.resolve(src, page_url, site.base_url)
    if url is None or not is_web_url(url):
        image.problem("src", f"expected a path under /images/ or an http(s) URL, got {src!r}")
        return None
    local = local_image(url, site)
    media_type, _ = mimetypes.guess_type(local or urlsplit(url).path)
    file = None
    if local is not None or url.startswith(site.base_url):
        if local is not None and local in refused:
            image.problem("src", f"images/{visible(local)} {refused[local]}")
            return None
        if local is None or local not in images:
            image.problem("src", f"no such file in images/: {src!r}")
            return None
        file = images[local]
        url = urls.absolute(site.base_url, urls.image(local))  # one spelling of each file
    if media_type is not None and not media_type.startswith("image/"):
        image.problem("src", f"not an image file: {src!r} ({media_type})")
        return None
    return Image(
        url=url,
        alt=alt,
        caption=caption,
        credit=credit,
        credit_url=credit_url,
        distributable=distributable,
        media_type=media_type,
        length=file.length if file else None,
        width=file.width if file else None,
        height=file.height if file else None,
    )


#: Tags an article may have: each is a page and three feeds that carry the
#: article, and every feed entry lists all its tags, so the cost of an article
#: grows with the square of its tags (1,000 did not build in two minutes).
MAX_TAGS = 50


def _tags(fields: Fields, notes: Notes | None) -> tuple[Tag, ...]:
    tags: dict[str, Tag] = {}
    value = fields.raw("tags")
    if value is not None and isinstance(value.data, list) and len(value.data) > MAX_TAGS:
        count = len(value.data)
        line = fields.mapping.key_lines.get("tags")
        fields.problem("tags", f"{count} tags; an article may have at most {MAX_TAGS}", line)
        return ()
    for name, value in fields.items("tags"):
        if not isinstance(value.data, str) or not value.data.strip():
            fields.problems.append(
                Problem(
                    fields.path,
                    value.line,
                    name,
                    f"expected a tag name, got {describe(value.data)}",
                )
            )
            continue
        text = " ".join(value.data.split())
        slug = urls.tag_slug(text)
        if not slug:
            fields.problems.append(
                Problem(
                    fields.path,
                    value.line,
                    name,
                    f"{text!r} has no letters or digits to make a URL of",
                )
            )
            continue
        tags.setdefault(slug, Tag(text, slug))
        if notes is not None:
            notes.tags.append((text, slug, value.line))
    return tuple(tags.values())


#: An HTML tag, as an editor may type one into a correction's plain text.
_WRITTEN_TAG = re.compile(r"</?([a-zA-Z][a-zA-Z0-9]*)\b[^<>]*>")


def _corrections(
    fields: Fields, zone: tzinfo, published: datetime | None, notes: Notes | None
) -> tuple[Correction, ...]:
    corrections = []
    for name, value in fields.items("corrections"):
        item = fields.mapping_of(name, value)
        if item is None:
            continue
        item.only(CORRECTION_FIELDS)
        date = item.date("date", zone, required=True)
        text = item.text("text", required=True)
        if notes is not None and text and (tag := _WRITTEN_TAG.search(text)):
            # A correction is plain text: markup in it reaches readers as typed.
            notes.warnings.append(
                Problem(
                    fields.path,
                    item.line_of("text"),
                    item.name("text"),
                    f"a correction is plain text: <{tag.group(1)}> is shown as written, "
                    "not as HTML",
                    warning=True,
                )
            )
        if date and published and date < published:
            item.problem("date", "is before the article's date")
        elif date and text:
            corrections.append(Correction(date, text))
    return tuple(sorted(corrections, key=lambda c: c.date))


def _withdrawal(fields: Fields, zone: tzinfo) -> Withdrawal | None:
    item = fields.section("withdrawn", WITHDRAWAL_FIELDS)
    if item is None:
        return None
    date = item.date("date", zone, required=True)
    reason = item.text("reason", required=True)
    # Before the article's date: a kill under embargo (Article.killed).
    return Withdrawal(date, reason) if date and reason else None


def duplicate_problems(articles: list[Article]) -> list[Problem]:
    """Slugs and ids must be unique across the site; both files are named."""
    problems = []
    for key in ("slug", "id"):
        first: dict[str, Article] = {}
        for article in articles:
            value = getattr(article, key)
            other = first.setdefault(value, article)
            if other is not article:
                problems.append(
                    Problem(article.path, None, key, f"{value!r} is already used by {other.path}")
                )
    return problems


def unify_tags(articles: list[Article]) -> tuple[Article, ...]:
    """Tags with one slug are one tag, named as the oldest article that is not a
    draft writes it (the one most likely public already: a draft's or a
    scheduled article's spelling must not show before it does)."""
    first: dict[str, tuple[bool, datetime, str, str]] = {}
    for article in articles:
        for tag in article.tags:
            # A killed story is never public: its spelling never shows.
            rank = (article.draft or article.killed, article.date, article.path, tag.name)
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
