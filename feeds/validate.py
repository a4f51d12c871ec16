"""Raw located values to the domain model, reporting every problem at once.

Each ``validate_*`` function takes what :mod:`feeds.load` read and a list to
append problems to. It never stops at the first problem: an editor fixing a
file wants the whole list.
"""

from __future__ import annotations

import difflib
import mimetypes
import re
from collections.abc import Collection, Iterator
from datetime import UTC, datetime, tzinfo
from html import unescape
from typing import Any
from urllib.parse import quote, unquote, urljoin, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from slugify import slugify

from feeds.errors import Problem
from feeds.licenses import LICENSES
from feeds.load import Document, Mapping, TomlDocument, Value, describe
from feeds.model import Article, Author, Correction, Image, Site, Tag
from feeds.render import MAX_NESTING, render_markdown, shorten

#: Slugs and author ids: they become URL segments and file names.
SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_EMAIL = re.compile(r"^[^@\s<>\"]+@[^@\s<>\"]+\.[^@\s<>\"]+$")
_URI_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:\S+$")
_BCP47 = re.compile(r"^(?:[A-Za-z]{2,3}|[A-Za-z]{5,8})(?:-[A-Za-z0-9]{1,8})*$")

SITE_FIELDS = (
    "title description base_url language timezone license producer source feed_items logo "
    "hub cache_max_age republish_pixel max_article_bytes"
).split()
AUTHOR_FIELDS = ("name", "url", "affiliation", "email", "public_email")
INLINE_AUTHOR_FIELDS = ("name", "url", "bio")
ARTICLE_FIELDS = (
    "title date authors id slug subtitle summary updated image tags section language producer "
    "source canonical_url license republish draft corrections"
).split()
IMAGE_FIELDS = ("src", "alt", "caption", "credit", "credit_url", "distributable")
CORRECTION_FIELDS = ("date", "text")


def did_you_mean(word: str, choices: Collection[str]) -> str:
    """``; did you mean 'x'?`` when one choice is close, else an empty string."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    if not close:
        close = [c for c in choices if c.lower() == word.lower()]
    return f"; did you mean {close[0]!r}?" if close else ""


#: Dates outside these years are refused: they would overflow once moved to UTC
#: or formatted, and no article of a news service has one.
YEARS = (1000, 9000)


def parse_date(text: str, zone: tzinfo) -> datetime | None:
    """ISO 8601 to an aware UTC datetime; a date or time without offset is in
    ``zone``. None when it is not a date, or is outside :data:`YEARS`."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    if not YEARS[0] <= moment.year <= YEARS[1]:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    return moment.astimezone(UTC)


def _is_iso(text: str) -> bool:
    try:
        datetime.fromisoformat(text.strip())
    except ValueError:
        return False
    return True


def is_language_tag(tag: str) -> bool:
    import langcodes  # its registry takes a while to load: only when a tag is checked

    return bool(_BCP47.match(tag)) and langcodes.tag_is_valid(tag)


def is_web_url(url: str) -> bool:
    """An absolute http(s) URL that parses, ports included."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port out of range
    except ValueError:
        return False
    return (
        parts.scheme in ("http", "https")
        and bool(parts.hostname)
        and not any(c.isspace() or ord(c) < 32 for c in url)
    )


_URL_ATTRIBUTE = re.compile(r'(?:src|href)="([^"]+)"')


def local_images(html: str, site: Site) -> set[str]:
    """Paths under ``images/`` that sanitised HTML (absolute URLs only) refers to."""
    return {
        path
        for url in _URL_ATTRIBUTE.findall(html)
        if (path := image_path(unescape(url), site)) is not None
    }


def image_path(url: str, site: Site) -> str | None:
    """``images/a b.png`` for ``<base>images/a%20b.png``; None for other URLs."""
    prefix = site.base_url + "images/"
    if not url.startswith(prefix):
        return None
    return unquote(urlsplit(url[len(prefix) :]).path) or None


def resolve(reference: str, page_url: str, base_url: str) -> str:
    """A URL written in content, made absolute the way :func:`feeds.render.sanitize`
    does: ``/x`` is under the site's base URL, anything else relative to the page."""
    if reference.startswith("/") and not reference.startswith("//"):
        return base_url + reference[1:]
    return urljoin(page_url, reference)


def too_deep(depth: int) -> str:
    return f"nested {depth} levels deep (quotes, lists, HTML elements); at most {MAX_NESTING}"


def tag_slug(name: str) -> str:
    """ASCII URL segment for a tag: lowercase, hyphens, other scripts transliterated."""
    return str(slugify(name, max_length=80, word_boundary=True))


class Fields:
    """Typed, located reads of one mapping; each bad value becomes a problem."""

    def __init__(
        self,
        path: str,
        mapping: Mapping,
        line: int,
        problems: list[Problem],
        prefix: str | None = None,
    ) -> None:
        self.path = path
        self.mapping = mapping
        self.line = line
        self.problems = problems
        self.prefix = prefix

    def name(self, key: str) -> str:
        return f"{self.prefix}.{key}" if self.prefix else key

    def problem(self, key: str | None, message: str, line: int | None = None) -> None:
        if line is None:
            line = self.line_of(key) if key else self.line
        self.problems.append(
            Problem(self.path, line, self.name(key) if key else self.prefix, message)
        )

    def line_of(self, key: str) -> int | None:
        value = self.mapping.values.get(key)
        return value.line if value is not None else None

    def only(self, allowed: Collection[str]) -> None:
        """Every key must be one of ``allowed``: a typo must never drop data."""
        for key, line in self.mapping.key_lines.items():
            if key not in allowed:
                hint = did_you_mean(key, allowed) or f" (known fields: {', '.join(allowed)})"
                self.problem(key, f"unknown field{hint}", line)

    def raw(self, key: str, required: bool = False) -> Value | None:
        value = self.mapping.values.get(key)
        if value is None:
            if required:
                self.problems.append(
                    Problem(
                        self.path,
                        self.line if self.prefix else None,
                        self.name(key),
                        "required field is missing",
                    )
                )
            return None
        if value.data is None:
            if required:
                self.problem(key, "required field is empty")
            return None
        return value

    def text(self, key: str, required: bool = False, one_line: bool = True) -> str | None:
        value = self.raw(key, required)
        if value is None:
            return None
        if not isinstance(value.data, str):
            hint = "; put it in quotes" if isinstance(value.data, int | float | bool) else ""
            self.problem(key, f"expected text, got {describe(value.data)}{hint}")
            return None
        text = " ".join(value.data.split()) if one_line else value.data.strip()
        if not text:
            if required:
                self.problem(key, "must not be empty")
            return None
        return text

    def boolean(self, key: str, default: bool) -> bool:
        value = self.raw(key)
        if value is None:
            return default
        if not isinstance(value.data, bool):
            self.problem(key, f"expected true or false, got {describe(value.data)}")
            return default
        return value.data

    def integer(self, key: str, default: int, minimum: int) -> int:
        value = self.raw(key)
        if value is None:
            return default
        if not isinstance(value.data, int) or isinstance(value.data, bool):
            self.problem(key, f"expected a whole number, got {describe(value.data)}")
            return default
        if value.data < minimum:
            self.problem(key, f"must be at least {minimum}, got {value.data}")
            return default
        return value.data

    def web_url(self, key: str, required: bool = False) -> str | None:
        text = self.text(key, required)
        if text is None:
            return None
        if not is_web_url(text):
            self.problem(key, f"expected an absolute http or https URL, got {text!r}")
            return None
        return text

    def date(self, key: str, zone: tzinfo, required: bool = False) -> datetime | None:
        value = self.raw(key, required)
        if value is None:
            return None
        moment = parse_date(value.data, zone) if isinstance(value.data, str) else None
        if moment is None:
            hint = ""
            if isinstance(value.data, str) and _is_iso(value.data):  # a date, but out of range
                hint = f" between the years {YEARS[0]} and {YEARS[1]}"
            self.problem(key, f"expected an ISO 8601 date{hint}, got {describe(value.data)}")
        return moment

    def language(self, key: str, default: str) -> str:
        text = self.text(key)
        if text is None:
            return default
        if not is_language_tag(text):
            self.problem(
                key, f"expected a BCP 47 language tag such as 'en' or 'es-PE', got {text!r}"
            )
            return default
        return text

    def license(self, key: str, default: str) -> str:
        text = self.text(key)
        if text is None:
            return default
        if text not in LICENSES:
            hint = did_you_mean(text, LICENSES) or f" (known: {', '.join(LICENSES)})"
            self.problem(key, f"unknown licence {text!r}{hint}")
            return default
        return text

    def items(self, key: str) -> Iterator[tuple[str, Value]]:
        """``(field name, value)`` for each entry of a list field."""
        value = self.raw(key)
        if value is None:
            return
        if not isinstance(value.data, list):
            self.problem(key, f"expected a list, got {describe(value.data)}")
            return
        for index, item in enumerate(value.data, start=1):
            yield f"{self.name(key)}[{index}]", item

    def mapping_of(self, name: str, value: Value) -> Fields | None:
        """A nested mapping as :class:`Fields`, or a problem if it is not one."""
        if not isinstance(value.data, Mapping):
            self.problems.append(
                Problem(
                    self.path, value.line, name, f"expected a mapping, got {describe(value.data)}"
                )
            )
            return None
        return Fields(self.path, value.data, value.line, self.problems, name)


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
    base_url = base_url or "https://example.invalid/"
    id_host = urlsplit(base_url).hostname or "example.invalid"
    base_url = base_url_override or base_url
    timezone = fields.text("timezone") or "UTC"
    if site_zone(timezone) is None:
        hint = " (IANA names look like 'America/Lima' or 'Europe/Madrid')"
        fields.problem("timezone", f"unknown time zone {timezone!r}{hint}")
        timezone = "UTC"
    logo = fields.text("logo")
    if logo is not None:
        logo = resolve(logo, base_url, base_url)
        if not is_web_url(logo):
            fields.problem("logo", f"expected a path or an http(s) URL, got {logo!r}")
            logo = None
    pixel = fields.web_url("republish_pixel")
    if pixel and "{url}" not in pixel:
        fields.problem("republish_pixel", "must contain '{url}', where the article's URL goes")
        pixel = None
    return Site(
        title=title,
        description=fields.text("description", required=True) or title,
        base_url=base_url,
        language=fields.language("language", "en"),
        timezone=timezone,
        license=LICENSES[fields.license("license", "all-rights-reserved")],
        producer=fields.text("producer") or title,
        source=fields.text("source") or title,
        feed_items=fields.integer("feed_items", 50, 1),
        logo=logo,
        hub=fields.web_url("hub"),
        cache_max_age=fields.integer("cache_max_age", 300, 0),
        republish_pixel=pixel,
        max_article_bytes=fields.integer("max_article_bytes", 2_000_000, 1_000),
        id_host=id_host,
    )


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


def site_zone(name: str) -> ZoneInfo | None:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def zone_of(site: Site) -> ZoneInfo:
    """The site's timezone (validated, so it exists)."""
    return site_zone(site.timezone) or ZoneInfo("UTC")


def validate_author(doc: Document, site: Site, problems: list[Problem]) -> Author | None:
    """``authors/<id>.md`` to :class:`Author`, or None when it has problems."""
    before = len(problems)
    author_id = doc.path.rsplit("/", 1)[-1].removesuffix(".md")
    if not SLUG.match(author_id):
        problems.append(
            Problem(
                doc.path,
                None,
                None,
                "file name must be lowercase letters, "
                "digits and hyphens: it is the author's id and URL",
            )
        )
    fields = Fields(doc.path, doc.meta, doc.meta_line, problems)
    fields.only(AUTHOR_FIELDS)
    name = fields.text("name", required=True)
    url = fields.web_url("url")
    affiliation = fields.text("affiliation")
    email = fields.text("email")
    if email and not _EMAIL.match(email):
        fields.problem("email", f"expected an email address, got {email!r}")
    public = fields.boolean("public_email", False)
    if len(problems) > before or name is None:
        return None
    bio_html, _, depth = render_markdown(
        doc.body, f"{site.base_url}authors/{author_id}/", site.base_url
    )
    if depth > MAX_NESTING:
        problems.append(Problem(doc.path, doc.body_line, "body", too_deep(depth)))
        return None
    return Author(
        id=author_id,
        name=name,
        url=url,
        affiliation=affiliation,
        email=email if public else None,
        bio_html=bio_html,
    )


def validate_article(
    doc: Document,
    site: Site,
    authors: dict[str, Author],
    images: dict[str, int],
    problems: list[Problem],
) -> Article | None:
    """``articles/<stem>.md`` to :class:`Article`, or None when it has problems.

    ``images`` maps paths under ``images/`` to their sizes, so that a lead
    image can be checked and described (type, length) for enclosures.
    """
    before = len(problems)
    zone = zone_of(site)
    stem = doc.path.rsplit("/", 1)[-1].removesuffix(".md")
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
        if not SLUG.match(stem):
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
    elif not SLUG.match(slug):
        fields.problem(
            "slug",
            f"{slug!r} is not a valid URL segment; use lowercase letters, digits and hyphens",
        )
    url = f"{site.base_url}articles/{slug}/"

    entry_id = fields.text("id")
    if entry_id is not None and not _URI_SCHEME.match(entry_id):
        fields.problem(
            "id",
            f"expected a permanent URI such as '{site.tag_prefix('2026-01-31')}{stem}', "
            f"got {entry_id!r}",
        )
    if entry_id is None and date is not None:
        day = date.astimezone(zone).date().isoformat()
        entry_id = site.tag_prefix(day) + quote(stem)

    byline = _byline(fields, authors, url, site.base_url)
    image = _image(fields, site, url, images)
    tags = _tags(fields)
    corrections = _corrections(fields, zone, date)
    section = fields.text("section")
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
    body_html, first_paragraph, depth = render_markdown(doc.body, url, site.base_url)
    if depth > MAX_NESTING:
        problems.append(
            Problem(
                doc.path,
                doc.body_line,
                "body",
                f"nested {depth} levels deep (quotes, lists, HTML elements); at most {MAX_NESTING}",
            )
        )
        return None
    used = local_images(body_html, site)
    for author in byline:
        if author.id is None:  # an inline bio appears only with this article
            used |= local_images(author.bio_html, site)
    if image and (lead := image_path(image.url, site)):
        used.add(lead)
    return Article(
        path=doc.path,
        id=entry_id,
        slug=slug,
        url=url,
        title=title,
        date=date,
        authors=byline,
        summary=summary or shorten(first_paragraph),
        body_html=body_html,
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
        images=tuple(sorted(used)),
    )


def _byline(fields: Fields, authors: dict[str, Author], url: str, root: str) -> tuple[Author, ...]:
    byline: list[Author] = []
    value = fields.raw("authors", required=True)
    if value is not None and value.data == []:
        fields.problem("authors", "must list at least one author")
    entries = list(fields.items("authors"))
    for name, value in entries:
        author: Author | None = None
        if isinstance(value.data, str):
            author = authors.get(value.data)
            if author is None:
                hint = did_you_mean(value.data, authors) or (
                    f" (known: {', '.join(sorted(authors))})" if authors else ""
                )
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
                bio_html, _, depth = render_markdown(bio, url, root) if bio else ("", "", 0)
                if depth > MAX_NESTING:
                    inline.problem("bio", too_deep(depth))
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
            if author in byline:
                fields.problems.append(
                    Problem(fields.path, value.line, name, f"{author.name!r} is listed twice")
                )
            else:
                byline.append(author)
    return tuple(byline)


def _image(fields: Fields, site: Site, page_url: str, images: dict[str, int]) -> Image | None:
    value = fields.raw("image")
    if value is None:
        return None
    image = fields.mapping_of(fields.name("image"), value)
    if image is None:
        return None
    image.only(IMAGE_FIELDS)
    src = image.text("src", required=True)
    alt = image.text("alt", required=True)
    caption = image.text("caption")
    credit = image.text("credit")
    credit_url = image.web_url("credit_url")
    distributable = image.boolean("distributable", True)
    if src is None or alt is None:
        return None
    url = resolve(src, page_url, site.base_url)
    if not is_web_url(url):
        image.problem("src", f"expected a path under /images/ or an http(s) URL, got {src!r}")
        return None
    media_type, _ = mimetypes.guess_type(urlsplit(url).path)
    length = None
    local_root = f"{site.base_url}images/"
    if url.startswith(site.base_url):
        local = url[len(local_root) :] if url.startswith(local_root) else None
        if local is None or local not in images:
            image.problem("src", f"no such file in images/: {src!r}")
            return None
        length = images[local]
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
        length=length,
    )


def _tags(fields: Fields) -> tuple[Tag, ...]:
    tags: dict[str, Tag] = {}
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
        slug = tag_slug(text)
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
    return tuple(tags.values())


def _corrections(
    fields: Fields, zone: tzinfo, published: datetime | None
) -> tuple[Correction, ...]:
    corrections = []
    for name, value in fields.items("corrections"):
        item = fields.mapping_of(name, value)
        if item is None:
            continue
        item.only(CORRECTION_FIELDS)
        date = item.date("date", zone, required=True)
        text = item.text("text", required=True)
        if date and published and date < published:
            item.problem("date", "is before the article's date")
        elif date and text:
            corrections.append(Correction(date, text))
    return tuple(sorted(corrections, key=lambda c: c.date))
