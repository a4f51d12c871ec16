"""The HTML pieces every output shares: figures, footers, bylines, rights,
embargo and withdrawal notices, and the :class:`Renderer` of the templates.

They build HTML from already-validated plain text with :func:`html.escape`,
and from URLs that validation has made absolute; the bodies they place were
cleaned by :func:`feeds.content.directory.sanitize.sanitize` when they were validated.
"""

from __future__ import annotations

import html
from collections.abc import Hashable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import quote

from feeds import urls
from feeds.model import BUILTIN_PIXEL, Article, Author, Image, License, Site
from feeds.outputs.i18n import Words, words_for


def _e(text: str) -> str:
    return html.escape(text, quote=True)


def _link(url: str | None, text: str, rel: str | None = None) -> str:
    if not url:
        return _e(text)
    rel_attr = f' rel="{rel}"' if rel else ""
    return f'<a href="{_e(url)}"{rel_attr}>{_e(text)}</a>'


def _size(image: Image) -> str:
    """`` width="…" height="…"``, when the file is ours and its size known."""
    if image.width is None or image.height is None:
        return ""
    return f' width="{image.width}" height="{image.height}"'


def figure_html(image: Image, words: Words) -> str:
    """The lead image with its caption and credit."""
    caption = []
    if image.caption:
        caption.append(_e(image.caption))
    if image.credit:
        credit = words.html("Credit: %(credit)s", credit=_link(image.credit_url, image.credit))
        caption.append(f'<small class="credit">{credit}</small>')
    figcaption = f"<figcaption>{' '.join(caption)}</figcaption>" if caption else ""
    return (
        f'<figure><img src="{_e(image.url)}" alt="{_e(image.alt)}"{_size(image)}>'
        f"{figcaption}</figure>"
    )


def footer_html(article: Article, words: Words) -> str:
    """What partners must carry with the article: corrections, attribution,
    bios in byline order, licence, canonical link and source."""
    parts = []
    if article.corrections:
        items = "".join(
            "<li><strong>"
            + words.html("Correction, %(date)s:", date=_e(words.date(c.date)))
            + f"</strong> {_e(c.text)}</li>"
            for c in article.corrections
        )
        heading = words.html("Corrections")
        parts.append(f"<h2>{heading}</h2><ul>{items}</ul>")
    canonical = article.canonical_url or article.url
    producer = words.html(
        "This article was produced by %(producer)s.", producer=_link(canonical, article.producer)
    )
    parts.append(f"<p><em>{producer}</em></p>")
    for author in article.authors:
        if author.bio_html:
            parts.append(f"<p><strong>{_link(author.url, author.name)}</strong></p>")
            parts.append(author.bio_html)
    lic = article.license
    if lic.url:
        licence = words.html(
            "This article is licensed under %(licence)s (%(label)s).",
            licence=_link(lic.url, words(lic.name), rel="license"),
            label=_e(lic.label),
        )
        parts.append(f"<p>{licence}</p>")
    else:
        parts.append(f"<p>{_e(all_rights_reserved(article, words))}</p>")
    original = words.html("Original article: %(link)s", link=_link(canonical, canonical))
    parts.append(f"<p>{original}</p>")
    source = words.html("Source: %(source)s", source=_e(article.source))
    parts.append(f"<p>{source}</p>")
    return "<hr>" + "".join(parts)


def own_section(article: Article) -> str | None:
    """The article's section as a category of its own in feeds: none when a
    tag says it already (same slug), or readers show it twice."""
    section = article.section
    if section is None or urls.tag_slug(section) in {tag.slug for tag in article.tags}:
        return None
    return section


def distributable_image(article: Article) -> Image | None:
    """The lead image if it may leave our own pages at all: none when it is
    not ``distributable`` (licensed for our own pages only). The article
    page's ``og:image`` is this one."""
    image = article.image
    return image if image is not None and image.distributable else None


def shared_image(article: Article) -> Image | None:
    """The lead image as partners may get it: the :func:`distributable_image`,
    but none when the article may not be republished (its feed items carry
    its title, summary and link only). Every feed and every partner-facing
    output takes the lead image from here."""
    return distributable_image(article) if article.republish else None


def shares_text(article: Article) -> bool:
    """Whether feed items carry the article's full text: not when it may not
    be republished (``republish: false``), since partners' systems ingest
    public feeds as they are; its items then carry title, summary and link."""
    return article.republish


def content_html(article: Article, words: Words) -> str:
    """Full text for feeds: lead image (if it may be shared), body, then the footer."""
    image = shared_image(article)
    figure = figure_html(image, words) if image else ""
    return figure + article.body_html + footer_html(article, words)


@dataclass(frozen=True)
class NavLink:
    """A link of the site's navigation, besides the ones every site has
    (archive, tags, authors, feeds)."""

    #: The path it leads to: ``sections/science/``, ``about/``.
    path: str
    title: str
    #: "section" (shown first) or "page" (shown last).
    kind: str


#: How many bytes of serialised feed entries (and cards) a :class:`Renderer`
#: keeps, in each build process: every entry of a site of a few thousand
#: articles in every format (about 5 kB each), and the most recently used
#: ones of a larger site.
ENTRY_BUDGET = 128 * 2**20


class Entries:
    """An article's pieces that many outputs carry, rendered once: its feed
    entries, serialised and spliced into every feed that carries them, in
    each format and variant (its feed's audience, its embargo), and its card
    in listing pages. By the article object (kept alive here, so that its
    ``id()`` stays its own) and the variant. The least recently used go once
    they hold more than ``budget`` bytes (characters, for a card)."""

    def __init__(self, budget: int = ENTRY_BUDGET) -> None:
        self.budget = budget
        self._held: dict[tuple[int, Hashable], tuple[Article, bytes | str]] = {}
        self._size = 0
        #: Entries found, and entries that had to be rendered (the cost, counted).
        self.hits = 0
        self.misses = 0

    def get(self, article: Article, variant: Hashable) -> bytes | str | None:
        key = (id(article), variant)
        held = self._held.pop(key, None)
        if held is None:
            self.misses += 1
            return None
        self._held[key] = held  # the most recently used last
        self.hits += 1
        return held[1]

    def put(self, article: Article, variant: Hashable, entry: bytes | str) -> None:
        key = (id(article), variant)
        old = self._held.pop(key, None)
        if old is not None:
            self._size -= len(old[1])
        self._held[key] = (article, entry)
        self._size += len(entry)
        while self._size > self.budget and self._held:
            oldest = next(iter(self._held))
            self._size -= len(self._held.pop(oldest)[1])


class Renderer:
    """What every output builder gets besides its own inputs: the site, its
    navigation, the words of each language, and each article's full HTML,
    rendered once however many outputs carry it; so are its feed entries
    and its card in listings (:attr:`entries`)."""

    def __init__(
        self, site: Site, nav: tuple[NavLink, ...] = (), budget: int = ENTRY_BUDGET
    ) -> None:
        self.site = site
        #: The sections' and pages' links every page's header shows.
        self.nav = nav
        self._full: dict[str, str] = {}
        #: Feed entries, serialised once per format and variant; cards: at
        #: most ``budget`` bytes of them.
        self.entries = Entries(budget)

    def words(self, language: str) -> Words:
        """The furniture for text in ``language`` (the site's, where there is
        no catalogue for it)."""
        return words_for(language, self.site.language, self.site.zone)

    def full_html(self, article: Article) -> str:
        """The article's full text for feeds (:func:`content_html`)."""
        html = self._full.get(article.id)
        if html is None:
            words = self.words(article.language)
            html = self._full[article.id] = content_html(article, words)
        return html

    def item_html(self, article: Article, partners: bool, embargoed: tuple[str, ...]) -> str:
        """What a feed's item of ``article`` carries: its full text; in a
        partners' feed (``partners``), as :func:`partner_html` gives it."""
        full = self.full_html(article)
        if not partners:
            return full
        words = self.words(article.language)
        return partner_html(full, article, self.site, words, article.id in embargoed)


def rights(lic: License, article: Article | None, site: Site, words: Words) -> str:
    """A plain-text rights statement, for a feed, an entry or a ninjs item."""
    if lic.url is not None:
        return f"{words(lic.name)} ({lic.label}), {lic.url}"
    if article is None:
        return words("© %(producer)s. All rights reserved.", producer=site.producer)
    return all_rights_reserved(article, words)


def all_rights_reserved(article: Article, words: Words) -> str:
    """The notice of an article under no licence, dated in the site's timezone."""
    year = article.date.astimezone(words.zone).year
    return words(
        "© %(year)s %(producer)s. All rights reserved.", year=year, producer=article.producer
    )


def rfc3339(moment: datetime) -> str:
    """``2026-11-27T12:00:00Z``: how feeds and sitemaps write a moment."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def byline_parts(authors: tuple[Author, ...], words: Words) -> Iterator[tuple[Author, str]]:
    """Each author with what follows the name in a byline: "A, B and C", "A, B y C"."""
    marks = [f"\x00{index}\x00" for index in range(len(authors))]
    joined = words.names(marks)
    for index, author in enumerate(authors):
        after = joined.split(marks[index], 1)[1]
        yield author, after.split(marks[index + 1], 1)[0] if index + 1 < len(marks) else after


def byline(article: Article, words: Words) -> str:
    """Plain text: "A", "A and B", "A, B and C", in the words of the article."""
    return words.names([author.name for author in article.authors])


def pixel_url(article: Article, site: Site) -> str | None:
    """The republication pixel of ``article``: the site's own (``builtin``)
    or its template filled in with the article's URL; None without one."""
    if site.republish_pixel is None:
        return None
    if site.republish_pixel == BUILTIN_PIXEL:
        return urls.absolute(site.base_url, urls.pixel(article.id))
    return site.republish_pixel.replace("{url}", quote(article.url, safe=""))


def embargo_moment(article: Article, words: Words) -> str:
    """When an embargo lifts, as every notice of it writes the moment:
    ``2026-12-01 08:00 America/Lima``, in the site's zone."""
    moment = article.date.astimezone(words.zone)
    zone = getattr(words.zone, "key", None) or moment.strftime("%Z")  # America/Lima
    return f"{moment:%Y-%m-%d %H:%M} {zone}"


def embargo_notice(article: Article, words: Words) -> str:
    """The embargo notice as plain text (an editor's note of ninjs)."""
    when = embargo_moment(article, words)
    return words("EMBARGOED until %(moment)s — do not publish before", moment=when)


def embargo_html(article: Article, words: Words) -> str:
    """The first line of an embargoed article wherever a partner reads it."""
    return f'<p class="embargo"><strong>{_e(embargo_notice(article, words))}</strong></p>'


def embargoed_title(article: Article, words: Words) -> str:
    """An embargoed article's title in an early-access feed, so that a
    partner's editor sees the embargo in any list of titles."""
    when = embargo_moment(article, words)
    return words("EMBARGOED until %(moment)s: %(title)s", moment=when, title=article.title)


def pixel_html(pixel: str) -> str:
    return f'<img src="{_e(pixel)}" width="1" height="1" alt="">'


def partner_html(full: str, article: Article, site: Site, words: Words, embargoed: bool) -> str:
    """What an item of a partners' feed carries, which their systems
    republish as it is: the embargo notice while there is one, the article's
    full HTML (``full``), and the republication pixel when the site has one."""
    notice = embargo_html(article, words) if embargoed else ""
    pixel = pixel_url(article, site)
    return notice + full + (pixel_html(pixel) if pixel else "")


def republish_html(article: Article, pixel: str | None, words: Words) -> str:
    """Copy-ready HTML for partner outlets, in the article's language:
    headline, byline, date, the lead image only if it may be distributed,
    body, footer, and the tracking pixel when the site has one. Images of
    ours carry their size in pixels, so the partner's page keeps its layout
    while they load."""
    parts = [f"<h1>{_e(article.title)}</h1>"]
    if article.subtitle:
        parts.append(f"<p><em>{_e(article.subtitle)}</em></p>")
    date = f'<time datetime="{article.date.isoformat()}">{_e(words.date(article.date))}</time>'
    by = words.html("By %(names)s, %(date)s", names=_e(byline(article, words)), date=date)
    parts.append(f"<p>{by}</p>")
    if image := shared_image(article):
        parts.append(figure_html(image, words))
    parts.append(article.body_html)
    parts.append(footer_html(article, words))
    if pixel:
        parts.append(pixel_html(pixel))
    return f'<div lang="{_e(article.language)}">{"".join(parts)}</div>'


def notice_id(article: Article) -> str:
    """The id of the notice of an article's withdrawal, in every format of
    the withdrawals' feeds and of a listing's tombstones."""
    return f"{article.id}#withdrawn"


def withdrawal_html(article: Article, words: Words) -> str:
    """The notice that replaces a withdrawn article: when, why, and what it
    was, so that a partner can find and take down their copy."""
    withdrawn = article.withdrawn
    assert withdrawn is not None
    date = _e(words.date(withdrawn.date))
    moment = f'<time datetime="{withdrawn.date.isoformat()}">{date}</time>'
    when = words.html("This article was withdrawn on %(date)s.", date=moment)
    reason = words.html("Reason: %(reason)s", reason=_e(withdrawn.reason))
    original = words.html("Original address: %(link)s", link=_link(article.url, article.url))
    entry = words.html("Entry id: %(id)s", id=f"<code>{_e(article.id)}</code>")
    return f"<p>{when}</p><p>{reason}</p><p>{original}</p><p>{entry}</p>"
