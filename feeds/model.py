"""The domain: frozen dataclasses built only by :mod:`feeds.content.validate`.

Every datetime is timezone-aware and in UTC; every URL is absolute; every HTML
string has been through :func:`feeds.content.sanitize.sanitize`. Nothing here knows how
the model is cached or built: that bookkeeping lives beside it, never on it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo


@dataclass(frozen=True)
class License:
    #: SPDX identifier, or ``all-rights-reserved``.
    id: str
    #: Human name, e.g. "Creative Commons Attribution 4.0 International".
    name: str
    #: Short label, e.g. "CC BY 4.0".
    label: str
    #: The licence's deed, or None for all rights reserved.
    url: str | None

    @property
    def is_creative_commons(self) -> bool:
        return self.url is not None and "creativecommons.org" in self.url


#: ``republish_pixel = "builtin"``: the app counts republications itself.
BUILTIN_PIXEL = "builtin"


@dataclass(frozen=True)
class Site:
    title: str
    description: str
    #: Absolute, ends in ``/``.
    base_url: str
    #: BCP 47 tag.
    language: str
    #: The site's IANA time zone; naive dates in content are taken in it, and
    #: every date shown to people is in it.
    zone: ZoneInfo
    #: Default licence of articles.
    license: License
    #: Default attribution ("This article was produced by ...").
    producer: str
    #: Default "Source:" line.
    source: str
    #: Items per feed.
    feed_items: int = 50
    #: Absolute URL of the logo, if any.
    logo: str | None = None
    #: WebSub hub URL, if any.
    hub: str | None = None
    #: Seconds for ``Cache-Control: max-age``.
    cache_max_age: int = 300
    #: Tracking-image URL template with ``{url}``, or :data:`BUILTIN_PIXEL`
    #: for the app's own (``/r/<digest>.gif``), if any.
    republish_pixel: str | None = None
    #: Days before its date that partners see a scheduled article (embargoed).
    early_access_days: int = 7
    #: Articles larger than this are refused.
    max_article_bytes: int = 2_000_000
    #: Days the audit keeps each granted partner request (``audit_days``).
    audit_days: int = 90
    #: Host of site.toml's base_url, for default ``tag:`` ids: it stays the
    #: same when a preview serves the site from another address.
    id_host: str = ""

    def tag_prefix(self, day: str) -> str:
        """``tag:<host>,<day>:``, the start of a default entry id (RFC 4151)."""
        return f"tag:{self.id_host},{day}:"


@dataclass(frozen=True)
class Author:
    #: File stem in ``authors/``; None for an author given inline in an article.
    id: str | None
    name: str
    url: str | None = None
    affiliation: str | None = None
    #: Only set when the author file says ``public_email: true``.
    email: str | None = None
    #: Sanitised HTML with absolute URLs; empty when there is no bio.
    bio_html: str = ""
    #: Files under ``images/`` the bio shows or links to.
    images: tuple[str, ...] = ()


@dataclass(frozen=True)
class Image:
    #: Absolute URL.
    url: str
    alt: str
    caption: str | None = None
    credit: str | None = None
    credit_url: str | None = None
    #: False keeps the image out of HTML meant for republishing.
    distributable: bool = True
    #: Media type, e.g. ``image/png``; None when unknown (remote file).
    media_type: str | None = None
    #: Size in bytes of the local file; None for a remote file.
    length: int | None = None
    #: Pixels, read from the local file; None for a remote file or an unknown format.
    width: int | None = None
    height: int | None = None


@dataclass(frozen=True)
class ImageFile:
    """A file under the content's ``images/``."""

    #: Size in bytes.
    length: int
    #: Pixels, when the file is an image whose format is known.
    width: int | None = None
    height: int | None = None


@dataclass(frozen=True)
class Tag:
    #: The name as first written in the content (by file order).
    name: str
    #: ASCII URL segment; two names with one slug are one tag.
    slug: str


@dataclass(frozen=True)
class Correction:
    date: datetime
    text: str


@dataclass(frozen=True)
class Withdrawal:
    """An article taken down: from ``date`` it is gone from every listing and
    feed, its page answers 410 with the reason, and tombstones tell readers.
    Dated before the article's own date, it is a kill (:attr:`Article.killed`)."""

    date: datetime
    #: Plain text, shown publicly.
    reason: str


@dataclass(frozen=True)
class Article:
    #: Source file relative to the content directory (``articles/x.md``).
    path: str
    #: Permanent entry id (a ``tag:`` URI unless given).
    id: str
    slug: str
    #: Absolute URL of the article page.
    url: str
    title: str
    #: First publication; a future date means scheduled.
    date: datetime
    authors: tuple[Author, ...]
    #: Plain text.
    summary: str
    #: Sanitised HTML of the Markdown body, absolute URLs.
    body_html: str
    license: License
    language: str
    producer: str
    source: str
    subtitle: str | None = None
    #: Last substantive change; never before ``date``.
    updated: datetime | None = None
    image: Image | None = None
    tags: tuple[Tag, ...] = ()
    section: str | None = None
    #: Where the article first appeared, if elsewhere.
    canonical_url: str | None = None
    republish: bool = True
    draft: bool = False
    corrections: tuple[Correction, ...] = ()
    withdrawn: Withdrawal | None = None
    #: Files under ``images/`` that the article shows or links to (lead image and body).
    images: tuple[str, ...] = ()

    @property
    def modified(self) -> datetime:
        """Its last substantive change: the later of ``updated`` (else
        ``date``) and its newest correction (a correction is one)."""
        return max([self.updated or self.date, *(c.date for c in self.corrections)])

    @property
    def revised(self) -> bool:
        """Changed in substance since its publication: updated or corrected."""
        return self.modified > self.date

    @property
    def killed(self) -> bool:
        """Withdrawn before its date: killed under embargo, never public.
        Nothing public ever shows it existed; the partners who could see it
        early are told (their feeds' tombstones, the change stream)."""
        return self.withdrawn is not None and self.withdrawn.date < self.date


def is_withdrawn(article: Article, now: datetime) -> bool:
    """Taken down: its withdrawal's date has come. The one test of it, for
    the feeds, the pages, the ninjs items and the partner desk alike."""
    return article.withdrawn is not None and article.withdrawn.date <= now


@dataclass(frozen=True)
class SitePage:
    """A page that is not an article (``pages/<slug>.md``): served at
    ``/<slug>/``, listed in the navigation and the sitemap, never in a feed."""

    #: The content file, relative to the content directory.
    path: str
    #: File stem: its URL segment.
    slug: str
    title: str
    #: Sanitised HTML of the Markdown body, absolute URLs.
    body_html: str
    language: str
    #: Plain text, for the page's description; None: the site's.
    description: str | None = None
    #: Its place in the navigation: lower first, then by slug.
    order: int = 0
    #: Files under ``images/`` the page shows or links to.
    images: tuple[str, ...] = ()


@dataclass(frozen=True)
class Content:
    """A whole validated content directory."""

    site: Site
    #: Every author with a file, by id order.
    authors: tuple[Author, ...]
    #: Every article, drafts and scheduled ones included, in file order.
    articles: tuple[Article, ...]
    #: Paths of the files under ``images/``, relative to it, sorted.
    images: tuple[str, ...] = ()
    #: Images the site shows whatever is published: the logo, those in bios.
    site_images: tuple[str, ...] = ()
    #: Pages that are not articles, in navigation order.
    pages: tuple[SitePage, ...] = ()
