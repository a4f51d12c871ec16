"""Markdown to safe HTML, and the HTML pieces every output shares.

:func:`sanitize` is the one place HTML is cleaned; it makes every URL in it
absolute with :func:`feeds.urls.resolve`, the resolver validation uses too.
Everything that comes from content goes through it. The other helpers build
HTML from already-validated plain text with :func:`html.escape`, and from
URLs that validation has made absolute.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Hashable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import NamedTuple
from urllib.parse import quote

import nh3

from feeds import markdown, urls
from feeds.errors import FeedsError
from feeds.i18n import Words, words_for
from feeds.model import BUILTIN_PIXEL, Article, Author, Image, License, Site
from feeds.nesting import MAX_NESTING, TAG, balanced_nesting, nesting
from feeds.urls import resolve

SUMMARY_LENGTH = 300

ALLOWED_TAGS = frozenset(
    """a abbr b blockquote br cite code dd del dl dt em figcaption figure h1 h2 h3 h4 h5 h6
    hr i img ins kbd li mark ol p pre q s small strong sub sup table tbody td tfoot th thead
    tr u ul""".split()
)
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "abbr": {"title"},
    "img": {"src", "alt", "title", "width", "height"},
    "ol": {"start"},
    "td": {"colspan", "rowspan", "style"},
    "th": {"colspan", "rowspan", "style"},
}
#: Tags whose content goes too, not only the tag.
DROPPED_WITH_CONTENT = frozenset(
    "script style template noscript iframe object embed svg math textarea select title".split()
)
URL_SCHEMES = frozenset({"http", "https", "mailto"})
_URL_ATTRIBUTES = frozenset({"href", "src"})


class RenderError(FeedsError):
    """HTML could not be rendered for a page (a bug in the caller, never content)."""


#: What XML 1.0 cannot carry (C0 controls but tab, LF and CR; C1 controls;
#: U+FFFE and U+FFFF). nh3 decodes character references, so ``&#1;`` in the
#: input comes out of it as a raw U+0001, which would make every feed that
#: carries it ill-formed: the sanitiser's output is cleaned of them after nh3.
XML_UNSAFE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufffe\uffff]")


class Sanitised(NamedTuple):
    #: Safe HTML, absolute URLs, only characters XML can carry.
    html: str
    #: Every URL it links to or shows, in document order.
    urls: tuple[str, ...]
    #: What was taken out that the input held, as sentence fragments.
    removed: tuple[str, ...] = ()
    #: Each of ``urls`` as the fragment wrote it.
    written: tuple[str, ...] = ()


def sanitize(fragment: str, page_url: str, base_url: str, report: bool = False) -> Sanitised:
    """Clean an HTML fragment from the page at ``page_url`` and make every URL
    in it absolute.

    ``base_url`` is the site's: a root-relative ``/x`` means ``base_url + "x"``,
    so a site served under a path (``https://example.org/news/``) keeps its
    images. Allowlist of tags and attributes; no script, style, frame, form or
    event handler; only http, https and mailto URLs; table alignment is the
    only inline style kept. A URL that cannot be resolved is dropped. With
    ``report`` (``feeds check``), ``removed`` also says which elements and
    attributes of the fragment are taken out.
    """
    if not page_url.startswith(base_url):
        raise RenderError(f"{page_url!r} is not under {base_url!r}")
    found: list[str] = []
    written: list[str] = []

    def absolute(element: str, attribute: str, value: str) -> str | None:
        if attribute not in _URL_ATTRIBUTES:
            return value
        url = resolve(value, page_url, base_url)
        # nh3 asks about elements it then drops (an iframe's src): not shown, not found.
        if url is not None and attribute in ALLOWED_ATTRIBUTES.get(element, ()):
            found.append(url)
            written.append(value)
        return url

    cleaned = nh3.clean(
        fragment,
        tags=set(ALLOWED_TAGS),
        clean_content_tags=set(DROPPED_WITH_CONTENT),
        attributes={tag: set(attrs) for tag, attrs in ALLOWED_ATTRIBUTES.items()},
        attribute_filter=absolute,
        url_schemes=set(URL_SCHEMES),
        link_rel=None,
        filter_style_properties={"text-align"},
        url_relative="pass_through",
    )
    removed = removed_markup(fragment, page_url, base_url) if report else []
    unsafe = XML_UNSAFE.search(cleaned)
    if unsafe:
        removed.append(f"character U+{ord(unsafe.group()):04X}, which XML cannot carry")
        cleaned = XML_UNSAFE.sub("", cleaned)
    return Sanitised(cleaned, tuple(found), tuple(removed), tuple(written))


_START_TAG = re.compile(r"<([a-zA-Z][a-zA-Z0-9-]*)((?:[^>\"']|\"[^\"]*\"|'[^']*')*)>")
_ATTRIBUTE = re.compile(r"""([^\s"'/>=]+)(?:\s*=\s*("[^"]*"|'[^']*'|[^\s>]+))?""")


def removed_markup(fragment: str, page_url: str, base_url: str) -> list[str]:
    """What :func:`sanitize` takes out of ``fragment``, each once, in order:
    ``<script> and its content``, ``the onerror attribute of <img>``, ``the
    href 'javascript:…' of <a>``. For an editor's warning: it reads the
    fragment as the allowlist does, not as nh3 does, and errs on the side of
    saying too much."""
    found: dict[str, None] = {}
    for tag, attributes in _START_TAG.findall(fragment):
        name = tag.lower()
        if name not in ALLOWED_TAGS:
            content = " and its content" if name in DROPPED_WITH_CONTENT else ""
            found[f"<{name}>{content}"] = None
            continue
        allowed = ALLOWED_ATTRIBUTES.get(name, ())
        for attribute, quoted in _ATTRIBUTE.findall(attributes):
            key = attribute.lower()
            value = html.unescape(quoted.strip("\"'"))
            if key not in allowed:
                found[f"the {key} attribute of <{name}>"] = None
            elif key in _URL_ATTRIBUTES and resolve(value, page_url, base_url) is None:
                shown = value if len(value) <= 40 else value[:39] + "…"
                found[f"the {key} {shown!r} of <{name}>"] = None
            elif key == "style" and not re.fullmatch(r"\s*text-align\s*:\s*\w+\s*;?\s*", value):
                found[f"the style {value!r} of <{name}> (only text-align is kept)"] = None
    return list(found)


class Rendered(NamedTuple):
    #: Safe HTML, absolute URLs.
    html: str
    #: Plain text of the first paragraph, as readers see it (after sanitising).
    first_paragraph: str
    #: How deeply its elements nest (see :data:`MAX_NESTING`).
    depth: int
    #: Every URL it links to or shows.
    urls: tuple[str, ...]
    #: What the sanitiser took out (see :class:`Sanitised`).
    removed: tuple[str, ...] = ()
    #: Each of ``urls`` as the Markdown wrote it.
    written: tuple[str, ...] = ()


def render_markdown(text: str, page_url: str, base_url: str, report: bool = False) -> Rendered:
    """Markdown to safe HTML with the plain text of its first paragraph; URLs
    as in :func:`sanitize`.

    ``depth`` says how deeply the body nests; callers refuse one deeper than
    :data:`MAX_NESTING`. Such a body is not sanitised at all (the
    sanitiser's time grows with depth times length): it comes back with no
    HTML, only its depth.
    """
    raw = markdown.to_html(text)
    # Without a "<", the Markdown holds no HTML: all of it is the renderer's own.
    depth = nesting(raw) if "<" in text else balanced_nesting(raw)
    if depth > MAX_NESTING:
        return Rendered("", "", depth, ())
    body = sanitize(raw, page_url, base_url, report)
    return Rendered(
        body.html,
        first_paragraph(body.html),
        max(depth, balanced_nesting(body.html)),
        body.urls,
        body.removed,
        body.written,
    )


_IMAGE = re.compile(r'<img src="([^"]*)"([^>]*)>')


def with_sizes(safe_html: str, size_of: Callable[[str], tuple[int, int] | None]) -> str:
    """Sanitised HTML whose images have ``width`` and ``height`` where
    ``size_of(url)`` knows them and the writer gave none: a page (ours, or a
    partner's that pastes it) keeps its layout while images load."""
    if "<img " not in safe_html:
        return safe_html

    def sized(match: re.Match[str]) -> str:
        rest = match.group(2)
        size = (
            None
            if " width=" in rest or " height=" in rest
            else size_of(html.unescape(match.group(1)))
        )
        if size is None:
            return match.group()
        return f'<img src="{match.group(1)}" width="{size[0]}" height="{size[1]}"{rest}>'

    return _IMAGE.sub(sized, safe_html)


_PARAGRAPH = re.compile(r"<p>(.*?)</p>", re.S)


def first_paragraph(safe_html: str) -> str:
    """The text of the first paragraph with any text, from sanitised HTML: what
    a reader sees of it, so nothing the sanitiser removed (a script's text)
    reaches a summary. Sanitised HTML is well formed, with ``<`` in text
    escaped, so its tags can be stripped by pattern."""
    for match in _PARAGRAPH.finditer(safe_html):
        text = " ".join(html.unescape(TAG.sub("", match.group(1))).split())
        if text:
            return text
    return ""


def shorten(text: str, limit: int = SUMMARY_LENGTH) -> str:
    """At most ``limit`` characters, cut at a word boundary, with an ellipsis when cut."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]  # room for the ellipsis
    if text[limit - 1] != " ":  # the cut is inside a word: go back to its start
        space = cut.rfind(" ")
        if space > limit // 2:
            cut = cut[:space]
    return cut.rstrip(" ,;:.-\u2013\u2014") + "\u2026"


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


def shared_image(article: Article) -> Image | None:
    """The lead image as partners may get it: none when it is not
    ``distributable`` (licensed for our own pages only), nor when the article
    may not be republished (its feed items carry its title, summary and link
    only). Every feed and every partner-facing output takes the lead image
    from here."""
    image = article.image
    if image is None or not image.distributable or not article.republish:
        return None
    return image


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

    def __init__(self, site: Site, nav: tuple[NavLink, ...] = ()) -> None:
        self.site = site
        #: The sections' and pages' links every page's header shows.
        self.nav = nav
        self._full: dict[str, str] = {}
        #: Feed entries, serialised once per format and variant; cards.
        self.entries = Entries()

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
