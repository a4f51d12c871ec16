"""What is public at ``now``, grouped the ways readers subscribe: the whole site,
each tag, each author. The one place that decides what is public, what is
withdrawn, sorts, caps feeds and cuts each listing's slot sequence into sealed
pages and sealed archive documents (RFC 5005)."""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from feeds import urls
from feeds.model import Article, Author, Content, Site, is_withdrawn

#: Articles per index, tag and author page.
PAGE_SIZE = 20
#: How long a withdrawn article's tombstone stays in the feeds that carried it.
TOMBSTONE_DAYS = timedelta(days=90)
#: How long a story stays in the Google News sitemap: Google's two days.
NEWS_DAYS = timedelta(days=2)
#: The most URLs Google reads of a news sitemap.
NEWS_MOST = 1_000


def is_public(article: Article, now: datetime) -> bool:
    """Not a draft, its time has come, and it has not been withdrawn."""
    return not article.draft and article.date <= now and not is_withdrawn(article, now)


def is_mourned(article: Article, now: datetime) -> bool:
    """Withdrawn recently enough for the feeds that carried it to say so."""
    withdrawn = article.withdrawn
    return (
        not article.draft
        and withdrawn is not None
        and withdrawn.date <= now < withdrawn.date + TOMBSTONE_DAYS
    )


def partners_saw(article: Article, site: Site) -> bool:
    """Was a killed article (:attr:`~feeds.model.Article.killed`) in the
    partners' early access before its kill? Only then are they told of it."""
    assert article.withdrawn is not None
    early = timedelta(days=site.early_access_days)
    return article.republish and article.date - early <= article.withdrawn.date


def is_shown(article: Article, now: datetime, drafts: bool = False) -> bool:
    """Public; or, in an editor's preview with drafts (``feeds serve
    --drafts``), any article at all."""
    return drafts or is_public(article, now)


def status(article: Article, now: datetime) -> str | None:
    """``"draft"`` or ``"scheduled"`` for an article that is not public yet."""
    if article.draft:
        return "draft"
    if is_withdrawn(article, now):
        return "withdrawn"
    return "scheduled" if article.date > now else None


def is_embargoed(article: Article, now: datetime, site: Site) -> bool:
    """Scheduled, and within ``early_access_days`` of its time: partners see it."""
    early = timedelta(days=site.early_access_days)
    return (
        not article.draft
        and article.republish
        and not is_withdrawn(article, now)
        and now < article.date <= now + early
    )


def _moments(content: Content, partners: bool = True) -> list[datetime]:
    """The moments at which what is public changes by itself: a scheduled
    article's time comes, its leaving the Google News sitemap two days later,
    a withdrawal's, a tombstone's end; with
    ``partners``, also when an article enters the partners' early access."""
    moments = []
    early = timedelta(days=content.site.early_access_days)
    for article in content.articles:
        if article.draft:
            continue
        if article.killed:  # nothing public ever changes with it
            if partners and article.withdrawn is not None:
                kill = article.withdrawn.date
                moments += [kill, kill + TOMBSTONE_DAYS]
                if article.republish:
                    moments.append(article.date - early)
            continue
        moments.append(article.date)
        leaves = article.date + NEWS_DAYS  # the Google News sitemap's window
        if article.canonical_url is None and (
            article.withdrawn is None or article.withdrawn.date >= leaves
        ):
            moments.append(leaves)
        if partners and article.republish:
            moments.append(article.date - early)
        if article.withdrawn is not None:
            moments += [article.withdrawn.date, article.withdrawn.date + TOMBSTONE_DAYS]
    return moments


def next_change(content: Content, now: datetime) -> datetime | None:
    """The next moment after ``now`` at which what is served changes by
    itself (the partners' feeds included), or None."""
    return min((moment for moment in _moments(content) if moment > now), default=None)


def last_change(content: Content, now: datetime) -> datetime | None:
    """The last moment up to ``now`` at which what is public changed by itself,
    or None: never an early access's start, which ``Last-Modified`` would
    give away to anyone (the partners' feeds have no validators)."""
    moments = _moments(content, partners=False)
    return max((moment for moment in moments if moment <= now), default=None)


#: What a channel is: mypy checks every comparison with one of these.
ChannelKind = Literal[
    "site", "tag", "author", "section", "archive", "withdrawals", "partners", "updates"
]


@dataclass(frozen=True)
class Channel:
    """What a listing is, without its articles: what its pages and feeds say of it."""

    #: Where its first page lives: "", "tags/peru/", "authors/ana-quispe/".
    path: str
    #: Feed and page title.
    title: str
    description: str
    kind: ChannelKind = "site"
    #: The author of an author listing.
    author: Author | None = None
    #: The page its feeds link to, when it is not ``path`` (the early-access
    #: feeds have no page: they link to the public one).
    home: str | None = None

    @property
    def page(self) -> str:
        """The path of the page its feeds link to."""
        return self.path if self.home is None else self.home

    @property
    def early(self) -> bool:
        """Whether it is an early-access channel (``partners/``): its items
        carry embargo notices and its feeds are served with a token only."""
        return self.kind == "partners"

    @property
    def pushed(self) -> bool:
        """Whether its feeds name the site's WebSub hub: not an early-access
        channel's (a hub has no token) nor an archive document's (sealed,
        nothing to push)."""
        return not self.early and self.kind != "archive"


@dataclass(frozen=True)
class Listing(Channel):
    """A channel and every public article in it, newest first."""

    articles: tuple[Article, ...] = ()
    #: Articles of the channel withdrawn in the last :data:`TOMBSTONE_DAYS`,
    #: most recently withdrawn first: their feeds say so.
    withdrawn: tuple[Article, ...] = ()
    #: Its slot sequence: every article of it ever public (withdrawn ones
    #: too, which keep their slot), OLDEST first by ``(date, id)``. Its sealed
    #: pages and archive documents are cut from it, so a new story appends a
    #: slot and moves none; only a story dated before others moves them.
    slots: tuple[Article, ...] = ()

    @classmethod
    def of(cls, channel: Channel, **found: Any) -> Listing:
        """``channel`` with what is found in it (the fields of :class:`Listing`)."""
        fields = {f.name: getattr(channel, f.name) for f in dataclasses.fields(Channel)}
        return cls(**fields, **found)

    @property
    def channel(self) -> Channel:
        """The channel alone: what its feeds and pages are built from besides articles."""
        return Channel(self.path, self.title, self.description, self.kind, self.author, self.home)

    def page_url(self, site: Site) -> str:
        return urls.absolute(site.base_url, self.path)

    def feed_url(self, site: Site, fmt: urls.FeedFormat) -> str:
        """Absolute URL of this listing's feed in ``fmt`` (rss, atom or json)."""
        return urls.absolute(site.base_url, urls.feed(self.path, fmt))

    def feed_articles(self, site: Site) -> tuple[Article, ...]:
        """The newest ``feed_items`` articles."""
        return self.articles[: site.feed_items]

    def _shown(self, slots: tuple[Article, ...]) -> tuple[Article, ...]:
        """The public articles among ``slots``, newest first."""
        public = self._public_ids
        return tuple(a for a in reversed(slots) if a.id in public)

    @functools.cached_property
    def _public_ids(self) -> frozenset[str]:
        return frozenset(a.id for a in self.articles)

    def sealed_pages(self) -> int:
        """How many full pages of :data:`PAGE_SIZE` slots it has."""
        return len(self.slots) // PAGE_SIZE

    def pages(self) -> tuple[Page, ...]:
        """Its front page, then its sealed pages, oldest first.

        Sealed page k holds slots ``[(k-1)*20, k*20)`` and links only to
        pages whose place does not depend on how many there are (k-3 to k+1
        when sealed, page 1, the front page): a new story leaves it as it was,
        but the newest sealed page's "Newer" link once a page more is sealed.
        The front page shows the slots of no sealed page, then those of the
        newest sealed one: from 20 to 39 stories once there are 20.
        """
        sealed = self.sealed_pages()
        channel = self.channel
        front = self._shown(self.slots[max(0, sealed - 1) * PAGE_SIZE :])
        pages = [Page(channel, None, front, *page_nav(None, sealed))]
        for number in range(1, sealed + 1):
            shown = self._shown(self.slots[(number - 1) * PAGE_SIZE : number * PAGE_SIZE])
            pages.append(Page(channel, number, shown, *page_nav(number, sealed)))
        return tuple(pages)

    def documents(self, size: int) -> tuple[Document, ...]:
        """Its sealed archive documents (RFC 5005), oldest first: document n
        holds slots ``[(n-1)*size, n*size)``; the slots after the last full
        one are in no document (the subscription feed carries them)."""
        found = []
        for number in range(1, len(self.slots) // size + 1):
            slots = self.slots[(number - 1) * size : number * size]
            ids = {a.id for a in slots}
            found.append(
                Document(
                    self.path,
                    number,
                    self._shown(slots),
                    tuple(a for a in self.withdrawn if a.id in ids),
                    first=slots[0].date,
                    last=slots[-1].date,
                )
            )
        return tuple(found)


def page_nav(number: int | None, sealed: int) -> tuple[tuple[int, ...], int | None, int | None]:
    """The page numbers page ``number`` (None: the front page) of a listing
    with ``sealed`` sealed pages links to, and where its "Newer" and "Older"
    lead (:class:`Page`). A sealed page's depend on ``sealed`` only while it
    is the newest: page k links to k-3 to k+1 when sealed, and to page 1."""
    if number is None:
        near = range(max(1, sealed - 3), sealed + 1)
        numbers = tuple(sorted({1, *near})) if sealed else ()
        return numbers, None, sealed - 1 if sealed > 1 else None
    near = range(max(1, number - 3), min(sealed, number + 1) + 1)
    newer = number + 1 if number < sealed else 0
    return tuple(sorted({1, *near})), newer, number - 1 if number > 1 else None


@dataclass(frozen=True)
class Page:
    """One page of a listing: its front page or a sealed one, what it shows,
    and the pages it leads to."""

    channel: Channel
    #: Counted from the oldest page; None for the front page.
    number: int | None
    #: The public articles among its slots, newest first.
    articles: tuple[Article, ...]
    #: The sealed pages it links to by number, in order.
    numbers: tuple[int, ...] = ()
    #: Where "Newer" leads: a sealed page's number, 0 the front page; None: nowhere.
    newer: int | None = None
    #: Where "Older" leads: a sealed page's number, or None.
    older: int | None = None

    @property
    def path(self) -> str:
        if self.number is None:
            return self.channel.path
        return urls.page(self.channel.path, self.number)


@dataclass(frozen=True)
class Document:
    """One sealed archive document (RFC 5005) of a listing."""

    #: Where its listing's front page is.
    listing: str
    #: Counted from the oldest.
    number: int
    #: The public articles among its slots, newest first.
    articles: tuple[Article, ...]
    #: Those of its slots withdrawn lately, for tombstones.
    withdrawn: tuple[Article, ...]
    #: The dates of its first (oldest) and last slot.
    first: datetime
    last: datetime

    @property
    def path(self) -> str:
        return urls.archive(self.listing, self.number)


@dataclass(frozen=True)
class FeedLink:
    """A feed as the pages (autodiscovery), the OPML list and people see it."""

    #: The path of its channel (:attr:`Channel.path`).
    channel: str
    #: The title of its channel.
    title: str
    fmt: urls.FeedFormat
    #: Absolute URL of the feed.
    url: str
    #: Absolute URL of its channel's first page.
    page_url: str
    #: The kind of its channel.
    kind: ChannelKind = "site"

    @property
    def label(self) -> str:
        """``Field Notes Wire (RSS)``."""
        return f"{self.title} ({urls.FEED_LABELS[self.fmt]})"

    @property
    def media_type(self) -> str:
        return urls.FEED_TYPES[self.fmt]


@dataclass(frozen=True)
class SitemapEntry:
    """A page as the sitemap lists it."""

    #: Absolute URL of the page.
    url: str
    #: W3C date of its last change, when one is known.
    lastmod: str | None


@dataclass(frozen=True)
class NewsEntry:
    """A story as the Google News sitemap lists it."""

    url: str
    title: str
    #: ISO 639 code, as Google wants it (``pt``, ``zh-cn``).
    language: str
    #: First publication, as W3C date-time.
    published: str


def news(content: Content, now: datetime) -> tuple[NewsEntry, ...]:
    """The public stories of the last :data:`NEWS_DAYS` at ``now``, newest
    first, at most :data:`NEWS_MOST`; not a story that first appeared
    elsewhere (``canonical_url``): it is news there."""
    since = now - NEWS_DAYS
    recent = sorted(
        (
            a
            for a in content.articles
            if is_public(a, now) and a.date > since and a.canonical_url is None
        ),
        key=lambda a: (a.date, a.id),
        reverse=True,
    )[:NEWS_MOST]
    return tuple(news_entry(a) for a in recent)


def news_entry(article: Article) -> NewsEntry:
    language = _news_language(article.language)
    return NewsEntry(article.url, article.title, language, article.date.isoformat())


def _news_language(tag: str) -> str:
    """Google News's language: the ISO 639 code, but ``zh-cn`` and ``zh-tw``."""
    primary, _, rest = tag.lower().partition("-")
    if primary == "zh":
        return "zh-tw" if rest in ("tw", "hant", "hk", "hant-tw") else "zh-cn"
    return primary


def oldest_first(articles: tuple[Article, ...] | list[Article]) -> tuple[Article, ...]:
    """By first publication, oldest first, ties broken by id: slot order."""
    return tuple(sorted(articles, key=lambda a: (a.date, a.id)))


def newest_first(articles: tuple[Article, ...] | list[Article]) -> tuple[Article, ...]:
    """By first publication, newest first: slot order reversed, so a feed's
    newest stories are its listing's newest slots."""
    return tuple(reversed(oldest_first(articles)))


def public_articles(content: Content, now: datetime, drafts: bool = False) -> tuple[Article, ...]:
    """Neither drafts nor scheduled after ``now`` (but with ``drafts``), newest first."""
    return newest_first([a for a in content.articles if is_shown(a, now, drafts)])


def withdrawals(content: Content, now: datetime) -> tuple[Article, ...]:
    """Every article withdrawn by ``now``, the most recently withdrawn first;
    not those killed before their date, which were never public."""
    gone = [a for a in content.articles if not a.draft and not a.killed and is_withdrawn(a, now)]
    return tuple(sorted(newest_first(gone), key=_withdrawn_on, reverse=True))


def revisions(content: Content, now: datetime, count: int) -> tuple[Article, ...]:
    """The public articles updated or corrected since their publication, the
    latest changed first (then by id, newest first), at most ``count``: the
    updates feeds' entries."""
    revised = [a for a in content.articles if a.revised and is_public(a, now)]
    return tuple(sorted(revised, key=lambda a: (a.modified, a.id), reverse=True)[:count])


def _withdrawn_on(article: Article) -> datetime:
    assert article.withdrawn is not None
    return article.withdrawn.date


def _mourned(content: Content, now: datetime) -> tuple[Article, ...]:
    return tuple(a for a in withdrawals(content, now) if is_mourned(a, now))


def home_channel(site: Site) -> Channel:
    return Channel(urls.HOME, site.title, site.description)


def tag_channel(site: Site, slug: str, name: str) -> Channel:
    """The channel of the tag ``slug``, named ``name``
    (:func:`feeds.content.validate.unify_tags`)."""
    return Channel(
        urls.tag(slug),
        f"{site.title}: {name}",
        f"Articles tagged “{name}” from {site.title}.",
        "tag",
    )


def section_channel(site: Site, slug: str, name: str) -> Channel:
    """The channel of the section ``slug``, named ``name`` (:func:`section_names`)."""
    return Channel(
        urls.section(slug),
        f"{site.title}: {name}",
        f"Articles of the section “{name}” from {site.title}.",
        "section",
    )


def section_slug(name: str) -> str:
    return urls.tag_slug(name)


def section_names(articles: Iterable[Article]) -> dict[str, str]:
    """Each section's name by its slug: as the oldest article that is not a
    draft writes it, as tags are named (:func:`feeds.content.validate.unify_tags`)."""
    first: dict[str, tuple[bool, datetime, str, str]] = {}
    for article in articles:
        if article.section:
            slug = section_slug(article.section)
            rank = (article.draft, article.date, article.path, article.section)
            if slug not in first or rank < first[slug]:
                first[slug] = rank
    return {slug: rank[3] for slug, rank in first.items()}


def author_channel(site: Site, author: Author) -> Channel:
    assert author.id is not None
    return Channel(
        urls.author(author.id),
        f"{site.title}: {author.name}",
        f"Articles by {author.name} from {site.title}.",
        "author",
        author,
    )


def listings(content: Content, now: datetime, drafts: bool = False) -> tuple[Listing, ...]:
    """The site listing, then one per tag, per author and per section that
    has public articles, or had until a withdrawal of the last :data:`TOMBSTONE_DAYS`.

    A tag or author whose only articles are drafts or scheduled has no listing,
    so nothing about them is public before their time. With ``drafts`` (the
    editor's preview), every article is listed. Each listing also names the
    articles of it withdrawn lately, for the tombstones of its feeds, and
    holds its slot sequence (:attr:`Listing.slots`).
    """
    site = content.site
    slots = oldest_first([a for a in content.articles if drafts or ever_public(a, now)])
    public = tuple(a for a in reversed(slots) if is_shown(a, now, drafts))
    mourned = _mourned(content, now)
    result = [
        Listing.of(
            home_channel(site),
            articles=public,
            withdrawn=mourned,
            slots=slots,
        )
    ]
    tags: dict[str, list[Article]] = {}
    names: dict[str, str] = {}
    by_author: dict[str, list[Article]] = {}
    for article in public:
        for tag in article.tags:
            tags.setdefault(tag.slug, []).append(article)
            names[tag.slug] = tag.name
        for writer in article.authors:
            if writer.id is not None:
                by_author.setdefault(writer.id, []).append(article)
    # A tag or author whose articles were all withdrawn lately keeps its
    # listing while the tombstones last: its subscribers learn of them.
    for article in mourned:
        for tag in article.tags:
            tags.setdefault(tag.slug, [])
            names.setdefault(tag.slug, tag.name)
        for writer in article.authors:
            if writer.id is not None:
                by_author.setdefault(writer.id, [])
    # Each listing's slots: every article of it ever public, withdrawn or not.
    tag_slots: dict[str, list[Article]] = {slug: [] for slug in tags}
    author_slots: dict[str, list[Article]] = {writer: [] for writer in by_author}
    for article in slots:
        for tag in article.tags:
            if tag.slug in tag_slots:
                tag_slots[tag.slug].append(article)
        for writer in article.authors:
            if writer.id is not None and writer.id in author_slots:
                author_slots[writer.id].append(article)
    for slug in sorted(tags):
        result.append(
            Listing.of(
                tag_channel(site, slug, names[slug]),
                articles=tuple(tags[slug]),
                withdrawn=tuple(a for a in mourned if any(t.slug == slug for t in a.tags)),
                slots=_unique(tag_slots[slug]),
            )
        )
    for author in content.authors:
        written = tuple(by_author.get(author.id or "", ()))
        if author.id in by_author and author.id is not None:
            result.append(
                Listing.of(
                    author_channel(site, author),
                    articles=written,
                    withdrawn=tuple(a for a in mourned if author in a.authors),
                    slots=_unique(author_slots[author.id]),
                )
            )
    _sections(result, site, content, slots, public, mourned)
    return tuple(result)


def _sections(
    result: list[Listing],
    site: Site,
    content: Content,
    slots: tuple[Article, ...],
    public: tuple[Article, ...],
    mourned: tuple[Article, ...],
) -> None:
    """Add a listing per section with a public or lately withdrawn article:
    after the authors', sorted by slug."""
    names = section_names(content.articles)
    found: dict[str, list[Article]] = {}
    for article in public:
        if article.section:
            found.setdefault(section_slug(article.section), []).append(article)
    for article in mourned:
        if article.section:
            found.setdefault(section_slug(article.section), [])
    own: dict[str, list[Article]] = {slug: [] for slug in found}
    for article in slots:
        if article.section and (slug := section_slug(article.section)) in own:
            own[slug].append(article)
    for slug in sorted(found):
        result.append(
            Listing.of(
                section_channel(site, slug, names[slug]),
                articles=tuple(found[slug]),
                withdrawn=tuple(
                    a for a in mourned if a.section and section_slug(a.section) == slug
                ),
                slots=tuple(own[slug]),
            )
        )


def ever_public(article: Article, now: datetime) -> bool:
    """Public at some moment up to ``now``, withdrawn since or not: it has a
    slot. Never one killed before its date."""
    return not article.draft and not article.killed and article.date <= now


def _unique(articles: list[Article]) -> tuple[Article, ...]:
    """``articles`` with each once, in order (a tag written twice on one article)."""
    return tuple({a.id: a for a in articles}.values())


def partner_listings(content: Content, now: datetime, title: str) -> tuple[Listing, ...]:
    """The early-access channels, for partners with a token: the site's and
    each tag's, holding what is public and what is embargoed (never drafts,
    nor articles with ``republish: false``), newest first. ``title`` names
    them ("early access")."""
    site = content.site
    shown = newest_first(
        [
            a
            for a in content.articles
            if a.republish and (is_public(a, now) or is_embargoed(a, now, site))
        ]
    )
    # Tombstones: the public ones', and those of the stories killed while
    # partners could see them (which nothing public shows).
    killed = [
        a
        for a in content.articles
        if a.killed and not a.draft and is_mourned(a, now) and partners_saw(a, site)
    ]
    mourned = tuple(
        sorted(
            newest_first([*(a for a in _mourned(content, now) if a.republish), *killed]),
            key=_withdrawn_on,
            reverse=True,
        )
    )
    result = [
        Listing(
            urls.partners(urls.HOME),
            f"{site.title}: {title}",
            site.description,
            "partners",
            home=urls.HOME,
            articles=shown,
            withdrawn=mourned,
        )
    ]
    tags: dict[str, list[Article]] = {}
    names: dict[str, str] = {}
    for article in shown:
        for tag in article.tags:
            tags.setdefault(tag.slug, []).append(article)
            names.setdefault(tag.slug, tag.name)
    # A tag of a story killed lately keeps its feeds while the tombstone
    # lasts: a partner following only that tag learns of the kill.
    for article in killed:
        for tag in article.tags:
            tags.setdefault(tag.slug, [])
            names.setdefault(tag.slug, tag.name)
    for slug in sorted(tags):
        result.append(
            Listing(
                urls.partners(urls.tag(slug)),
                f"{site.title}: {names[slug]}: {title}",
                f"Articles tagged “{names[slug]}” from {site.title}.",
                "partners",
                # A tag of embargoed stories only has no public page yet.
                home=urls.tag(slug) if any(is_public(a, now) for a in tags[slug]) else urls.HOME,
                articles=tuple(tags[slug]),
                withdrawn=tuple(a for a in mourned if any(t.slug == slug for t in a.tags)),
            )
        )
    return tuple(result)


@dataclass(frozen=True)
class History:
    """Where a feed stands in the archive (RFC 5005): channel paths, whose
    feeds in the same format the links point to."""

    #: This document is an archive document (``fh:archive``), not a subscription feed.
    archive: bool = False
    #: The subscription feed of an archive document.
    current: str | None = None
    #: The next older document; the next newer one (or the subscription feed).
    prev: str | None = None
    next: str | None = None


def public_images(content: Content, now: datetime, drafts: bool = False) -> tuple[str, ...]:
    """Files under ``images/`` that may be published at ``now``: all of them but
    those used only by drafts and scheduled articles, which would give them away.
    The logo and images in author bios are always public."""
    hidden: set[str] = set()
    shown = set(content.site_images)
    for article in content.articles:
        (shown if is_shown(article, now, drafts) else hidden).update(article.images)
    return tuple(path for path in content.images if path not in hidden - shown)
