"""HTML pages, the sitemap and the site's static files, rendered from the model.

Pure functions of a :class:`~feeds.outputs.render.Renderer` and their inputs: no
Flask, no request, no clock. The app serves and ``feeds build`` writes what
these return, so the export equals what the app serves. Templates link with
``href(path)`` and the paths of :mod:`feeds.urls`, never by spelling a URL.
"""

from __future__ import annotations

import functools
import html
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import cache
from importlib.resources import files
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

from jinja2 import Environment, FileSystemBytecodeCache, PackageLoader, select_autoescape
from lxml import etree
from markupsafe import Markup

from feeds import urls
from feeds.model import Article, SitePage
from feeds.outputs.i18n import Words, og_locale
from feeds.outputs.jsonld import news_article, script_text
from feeds.outputs.listings import Channel, FeedLink, NewsEntry, Page, SitemapEntry, status
from feeds.outputs.render import (
    Renderer,
    byline,
    byline_parts,
    distributable_image,
    figure_html,
    footer_html,
    pixel_url,
    republish_html,
    withdrawal_html,
)

if TYPE_CHECKING:  # the state database is the app's, not the build's: not imported here
    from feeds.state.partners import Alert, Republication
    from feeds.state.rows import AuditEntry, RefusalRow


@cache
def environment() -> Environment:
    """The templates, compiled once per process, or read back compiled from
    Jinja's own cache (a folder of the user's own under the temporary
    directory, each entry checked against its template's source): a fast
    build or a worker's start-up does not spend 0.2 s compiling them."""
    env = Environment(
        loader=PackageLoader("feeds", "templates"),
        bytecode_cache=FileSystemBytecodeCache(),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.globals["urls"] = urls
    return env


def _render(
    renderer: Renderer,
    template: str,
    words: Words,
    preview: datetime | None = None,
    **context: Any,
) -> bytes:
    """A page in ``words``' language: ``_()`` in a template is its gettext,
    ``date()`` its dates, ``href(path)`` a link within the site, ``mark()``
    what an editor's preview says of an article not public at ``preview``."""
    site = renderer.site
    root = urlsplit(site.base_url).path  # "/" or "/news/": in-site links work on any host

    def href(path: str) -> str:
        return root + quote(path, safe="/")

    def _(message: str, **values: object) -> Markup:
        text = Markup(html.escape(words.translations.gettext(message), quote=False))
        return text % values if values else text

    def mark(article: Article) -> Markup | None:
        state = status(article, preview) if preview else None
        if state == "draft":
            return _("Draft")
        if state == "withdrawn":
            return _("Withdrawn")
        if state == "scheduled":
            return _("Scheduled for %(date)s", date=words.date(article.date))
        return None

    def date(article: Article, which: str = "date") -> Markup:
        moment = article.date if which == "date" else article.modified
        return Markup('<time datetime="{}">{}</time>').format(
            moment.isoformat(), words.date(moment)
        )

    def card(article: Article) -> Markup:
        """The article's card in a listing's page (``card.html``): the same
        on every page that lists it, so rendered once per build process."""
        variant = ("card", words.language, preview, root)
        found = renderer.entries.get(article, variant)
        if found is None:
            found = environment().get_template("card.html").render(tools, article=article)
            renderer.entries.put(article, variant, found)
        return Markup(found)

    tools = {
        "href": href,
        "mark": mark,
        "date": date,
        "words": words,
        "byline": lambda article: byline(article, words),
    }
    lic = site.license
    licence = (
        Markup('<a rel="license" href="{}">{}</a>').format(lic.url, words(lic.name))
        if lic.url
        else words(lic.name).lower()
    )
    context.setdefault("feeds", ())
    page = (
        environment()
        .get_template(template)
        .render(
            site=site,
            site_licence=licence,
            **tools,
            card=card,
            _=_,
            byline_parts=lambda authors: byline_parts(authors, words),
            og_locale=og_locale,
            distributable_image=distributable_image,
            nav=renderer.nav,
            **context,
        )
    )
    return page.encode("utf-8")


def listing_page(
    renderer: Renderer,
    page: Page,
    feeds: tuple[FeedLink, ...],
    archive: str | None = None,
    preview: datetime | None = None,
) -> bytes:
    """A page of a listing (the index, a tag or an author): its front page,
    or a sealed page numbered from the oldest. ``archive``: the path of the
    listing's archive page, which its front page links to."""
    site = renderer.site
    channel = page.channel
    heading = channel.title.removeprefix(f"{site.title}: ") if channel.path else site.title
    author = channel.author

    def goes_to(number: int | None) -> str | None:
        if number is None:
            return None
        return channel.path if number == 0 else urls.page(channel.path, number)

    return _render(
        renderer,
        "listing.html",
        renderer.words(site.language),
        preview,
        listing=channel,
        heading=heading,
        articles=page.articles,
        number=page.number,
        numbers=page.numbers,
        newer=goes_to(page.newer),
        older=goes_to(page.older),
        archive=archive,
        canonical=urls.absolute(site.base_url, page.path),
        feeds=feeds,
        bio=Markup(author.bio_html if author else ""),
    )


def article_page(
    renderer: Renderer,
    article: Article,
    feeds: tuple[FeedLink, ...],
    preview: datetime | None = None,
) -> bytes:
    """An article, in its language's words, with its Republish block."""
    site = renderer.site
    words = renderer.words(article.language)
    image = article.image
    return _render(
        renderer,
        "article.html",
        words,
        preview,
        article=article,
        canonical=article.canonical_url or article.url,
        feeds=feeds,
        structured=Markup(script_text(news_article(article, site))),
        licence=Markup('<a rel="license" href="{}">{}</a>').format(
            article.license.url, words(article.license.name)
        ),
        figure=Markup(figure_html(image, words)) if image else "",
        body=Markup(article.body_html),
        footer=Markup(footer_html(article, words)),
        republish=republish_html(article, pixel_url(article, site), words)
        if article.republish
        else None,
    )


def feeds_page(renderer: Renderer, feeds: tuple[FeedLink, ...]) -> bytes:
    """``/feeds/``: every feed of the site, its tags and its authors, for people
    who click a feed link (browsers show a feed itself as XML)."""
    groups: dict[str, list[FeedLink]] = {}
    for feed in feeds:
        groups.setdefault(feed.channel, []).append(feed)
    return _render(
        renderer,
        "feeds.html",
        renderer.words(renderer.site.language),
        groups=groups,
        feeds=tuple(f for f in feeds if not f.channel),
        canonical=urls.absolute(renderer.site.base_url, urls.FEEDS_PAGE),
    )


def withdrawn_page(renderer: Renderer, article: Article, feeds: tuple[FeedLink, ...]) -> bytes:
    """What a withdrawn article's address shows (the app answers 410 with it):
    its title, when and why; no body, no republish block."""
    words = renderer.words(article.language)
    return _render(
        renderer,
        "withdrawn.html",
        words,
        article=article,
        notice=Markup(withdrawal_html(article, words)),
        feeds=feeds,
        canonical=None,
    )


def withdrawals_page(
    renderer: Renderer, articles: tuple[Article, ...], feeds: tuple[FeedLink, ...]
) -> bytes:
    """``/withdrawals/``: every withdrawn article, for partners."""
    words = renderer.words(renderer.site.language)

    def withdrawn_date(article: Article) -> Markup:
        assert article.withdrawn is not None
        moment = article.withdrawn.date
        return Markup('<time datetime="{}">{}</time>').format(
            moment.isoformat(), words.date(moment)
        )

    return _render(
        renderer,
        "withdrawals.html",
        words,
        articles=articles,
        withdrawn_date=withdrawn_date,
        feeds=feeds,
        canonical=urls.absolute(renderer.site.base_url, urls.WITHDRAWALS),
    )


@dataclass(frozen=True)
class ArchiveEntry:
    """An archive document as its listing's archive page lists it."""

    path: str
    number: int
    #: The dates of its oldest and newest story.
    first: datetime
    last: datetime
    #: How many public stories it holds.
    count: int


def archive_page(
    renderer: Renderer,
    channel: Channel,
    documents: tuple[ArchiveEntry, ...],
    feeds: tuple[FeedLink, ...],
    months: tuple[MonthEntry, ...] = (),
) -> bytes:
    """``/archive/``, ``/tags/<tag>/archive/``: a listing's sealed archive
    documents, newest first, with the dates each covers and its feeds."""
    site = renderer.site
    words = renderer.words(site.language)
    heading = channel.title.removeprefix(f"{site.title}: ") if channel.path else site.title

    def day(moment: datetime) -> Markup:
        return Markup('<time datetime="{}">{}</time>').format(
            moment.isoformat(), words.date(moment)
        )

    return _render(
        renderer,
        "archive.html",
        words,
        listing=channel,
        heading=heading,
        documents=documents,
        months=months,
        month_name=words.month,
        day=day,
        feeds=feeds,
        absolute=functools.partial(urls.absolute, site.base_url),
        canonical=urls.absolute(site.base_url, urls.archives(channel.path)),
    )


@dataclass(frozen=True)
class MonthEntry:
    """A month of the site's stories, as the archive page links to it."""

    year: int
    month: int
    #: How many public stories it holds.
    count: int


@dataclass(frozen=True)
class MonthStory:
    """A story as its month's page lists it."""

    slug: str
    title: str
    date: datetime
    language: str


def month_stories(articles: Sequence[Article]) -> tuple[MonthStory, ...]:
    return tuple(MonthStory(a.slug, a.title, a.date, a.language) for a in articles)


def month_page(renderer: Renderer, year: int, month: int, stories: tuple[MonthStory, ...]) -> bytes:
    """``/archive/<yyyy>/<mm>/``: the month's public stories, newest first,
    under a heading per day (in the site's zone)."""
    site = renderer.site
    words = renderer.words(site.language)
    days: dict[str, list[MonthStory]] = {}
    for story in stories:
        days.setdefault(words.date(story.date), []).append(story)
    return _render(
        renderer,
        "month.html",
        words,
        heading=words.month(year, month),
        days=list(days.items()),
        canonical=urls.absolute(site.base_url, urls.month(year, month)),
    )


@dataclass(frozen=True)
class IndexEntry:
    """A tag, an author or a section as its index lists it."""

    path: str
    name: str
    #: How many public stories it holds.
    count: int


def tag_index_page(renderer: Renderer, entries: tuple[IndexEntry, ...], more: int) -> bytes:
    """``/tags/``: the most used tags first, with their counts; ``more``: how
    many are left out (a wire has thousands: the page stays one size)."""
    words = renderer.words(renderer.site.language)
    return _directory(
        renderer,
        words,
        urls.TAG_INDEX,
        words("Tags"),
        words("Every tag of our stories, the most used first."),
        entries,
        more,
    )


def author_index_page(renderer: Renderer, entries: tuple[IndexEntry, ...]) -> bytes:
    """``/authors/``: every author with a public story, by name, with counts."""
    words = renderer.words(renderer.site.language)
    return _directory(
        renderer,
        words,
        urls.AUTHOR_INDEX,
        words("Authors"),
        words("Everyone who writes for us, with their stories."),
        entries,
        0,
    )


def _directory(
    renderer: Renderer,
    words: Words,
    path: str,
    heading: str,
    lede: str,
    entries: tuple[IndexEntry, ...],
    more: int,
) -> bytes:
    return _render(
        renderer,
        "directory.html",
        words,
        heading=heading,
        lede=lede,
        entries=entries,
        more=more,
        canonical=urls.absolute(renderer.site.base_url, path),
    )


def site_page(renderer: Renderer, page: SitePage) -> bytes:
    """A page of ``content/pages/`` at ``/<slug>/``."""
    return _render(
        renderer,
        "page.html",
        renderer.words(page.language),
        page=page,
        body=Markup(page.body_html),
        canonical=urls.absolute(renderer.site.base_url, urls.site_page(page.slug)),
    )


def not_found_page(renderer: Renderer, feeds: tuple[FeedLink, ...]) -> bytes:
    return _render(
        renderer, "404.html", renderer.words(renderer.site.language), feeds=feeds, canonical=None
    )


_SITEMAPS = "http://www.sitemaps.org/schemas/sitemap/0.9"


def sitemap(renderer: Renderer, entries: tuple[SitemapEntry, ...]) -> bytes:
    """A sitemap (``urlset``): each page, with the date of its last change
    where one is known."""
    return _sitemap("urlset", "url", entries)


def sitemap_index(renderer: Renderer, entries: tuple[SitemapEntry, ...]) -> bytes:
    """A sitemap index (``sitemapindex``): each sitemap, with the date of the
    last change of what it lists where one is known."""
    return _sitemap("sitemapindex", "sitemap", entries)


_NEWS = "http://www.google.com/schemas/sitemap-news/0.9"


def news_sitemap(renderer: Renderer, entries: tuple[NewsEntry, ...]) -> bytes:
    """The Google News sitemap: each story of the last two days with its
    publication (the site's name, the story's language), date and title."""
    sitemaps, news = f"{{{_SITEMAPS}}}", f"{{{_NEWS}}}"
    root = etree.Element(sitemaps + "urlset", nsmap={None: _SITEMAPS, "news": _NEWS})
    name = renderer.site.title
    for entry in entries:
        url = etree.SubElement(root, sitemaps + "url")
        etree.SubElement(url, sitemaps + "loc").text = entry.url
        item = etree.SubElement(url, news + "news")
        publication = etree.SubElement(item, news + "publication")
        etree.SubElement(publication, news + "name").text = name
        etree.SubElement(publication, news + "language").text = entry.language
        etree.SubElement(item, news + "publication_date").text = entry.published
        etree.SubElement(item, news + "title").text = entry.title
    return bytes(etree.tostring(root, encoding="utf-8", xml_declaration=True, pretty_print=True))


def _sitemap(kind: str, item: str, entries: tuple[SitemapEntry, ...]) -> bytes:
    root = ET.Element(kind, xmlns=_SITEMAPS)
    for entry in entries:
        url = ET.SubElement(root, item)
        ET.SubElement(url, "loc").text = entry.url
        if entry.lastmod:
            ET.SubElement(url, "lastmod").text = entry.lastmod
    ET.indent(root)
    return bytes(ET.tostring(root, encoding="utf-8", xml_declaration=True)) + b"\n"


#: What crawlers are kept from: what only a token opens (the early-access
#: feeds, the desk) and the republication pixels, which count who fetches them.
_NOT_FOR_CRAWLERS = (urls.PARTNERS, urls.DESK, urls.PIXELS)


def robots_txt(renderer: Renderer) -> bytes:
    """``robots.txt``: the paths crawlers are kept from, and the sitemap index."""
    site = renderer.site
    root = urlsplit(site.base_url).path
    lines = [f"# Crawl rules of {site.title}", "User-agent: *"]
    lines += [f"Disallow: {root}{quote(path, safe='/')}" for path in _NOT_FOR_CRAWLERS]
    lines += ["", f"Sitemap: {urls.absolute(site.base_url, urls.SITEMAP)}"]
    return "\n".join(lines).encode("utf-8") + b"\n"


def static_file(renderer: Renderer, name: str) -> bytes:
    """A file of the package's ``static/`` folder, as it is."""
    return files("feeds").joinpath("static", name).read_bytes()


#: Days of hits the desk's charts show.
CHART_DAYS = 30
#: The desk shows the most republished articles, and the origins that
#: showed each most, up to these numbers (``feeds partner republications``
#: has them all): its size does not grow with the pixel's figures.
DESK_ARTICLES = 50
DESK_ORIGINS = 20


def desk_page(
    renderer: Renderer,
    figures: list[Republication],
    entries: list[AuditEntry],
    alerts: Sequence[Alert] = (),
    refused: Sequence[RefusalRow] = (),
) -> bytes:
    """The editors' desk (app only): compliance alerts (withdrawn stories
    still shown, per origin), each article's republications with a bar chart
    of its hits a day, the newest partner fetches, and the newest counts of
    refused requests."""
    site = renderer.site

    def chart(figure: Republication) -> Markup:
        """Bars of hits a day over :data:`CHART_DAYS` days, with an axis:
        the most hits a day at its top, 0 at its foot, the first and last
        days under it."""
        days = dict(figure.days)
        last = max(days) if days else "1970-01-01"
        end = date.fromisoformat(last)
        shown = [(end - timedelta(days=n)).isoformat() for n in range(CHART_DAYS - 1, -1, -1)]
        top = max(days.values(), default=1)
        left, foot = 34, 44  # room for the axis's numbers, and for the dates under it
        bars = []
        for index, day in enumerate(shown):
            count = days.get(day, 0)
            height = round(40 * count / top) if count else 0
            bars.append(
                Markup(
                    '<rect x="{}" y="{}" width="8" height="{}" fill="#2a6f97">'
                    "<title>{}: {}</title></rect>"
                ).format(left + index * 10, foot - height, height, day, count)
            )
        right = left + CHART_DAYS * 10
        axis = Markup(
            '<line x1="{l}" y1="4" x2="{l}" y2="{f}"/><line x1="{l}" y1="{f}" x2="{r}" y2="{f}"/>'
            '<text x="{t}" y="12" text-anchor="end">{top}</text>'
            '<text x="{t}" y="{f}" text-anchor="end">0</text>'
            '<text x="{l}" y="58">{first}</text>'
            '<text x="{r}" y="58" text-anchor="end">{last}</text>'
        ).format(l=left, f=foot, r=right, t=left - 4, top=top, first=shown[0], last=shown[-1])
        label = f"Hits a day, {shown[0]} to {shown[-1]}, at most {top}"
        return Markup(
            '<svg class="chart" role="img" aria-label="{}" width="{}" height="62" '
            'viewBox="0 0 {} 62" xmlns="http://www.w3.org/2000/svg">{}{}</svg>'
        ).format(label, right + 2, right + 2, axis, Markup("").join(bars))

    return _render(
        renderer,
        "desk.html",
        renderer.words(site.language),
        figures=figures[:DESK_ARTICLES],
        more_articles=max(len(figures) - DESK_ARTICLES, 0),
        origins_shown=DESK_ORIGINS,
        entries=entries,
        alerts=alerts,
        refused=refused,
        chart=chart,
        moment=lambda seconds: (
            f"{datetime.fromtimestamp(seconds, UTC).astimezone(site.zone):%Y-%m-%d %H:%M}"
        ),
        feeds=(),
        canonical=None,
    )
