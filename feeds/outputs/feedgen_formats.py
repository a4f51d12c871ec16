"""RSS 2.0 and Atom 1.0 through feedgen: the only module that imports it.

feedgen's quirks, and how they are contained here:

* ``add_entry`` prepends: entries are added with ``order="append"`` in the
  order :mod:`feeds.outputs.listings` sorted them;
* the RSS channel ``<link>`` is the last ``link()`` call: the alternate (HTML
  page) link is always set last, after the self link;
* feed and entry dates default to the clock: every date is set from the
  articles, so two builds of unchanged content are byte-identical;
* RSS ``<author>`` appears only for authors with an email: RSS gets one
  ``dc:creator`` with the whole byline instead, and no ``<author>`` at all;
* Atom entry links lose ``rel``, ``type`` and ``length`` (feedgen #135) and it
  refuses ``rel="license"``; media has no credit. The extensions below write
  the enclosure and licence links, Media RSS with credit, Creative Commons
  licences and the note for people who open a feed in a browser themselves. Their Atom elements are
  unqualified, like feedgen's, so that lxml does not invent an ``ns0:`` prefix;
* each ``category()`` call rebuilds the entry's RSS categories from all it has:
  an entry's categories are given in one call.

And what feed clients were seen doing with the result:

* feedparser (6.0.14) reads any ``<media:description>`` as the item's
  description: ``summary`` keeps the item's own, but ``summary_detail`` takes
  the one read last, so clients that read ``summary_detail`` showed the
  caption (and with ``type="plain"``, rss2email, which prefers text/plain,
  mailed the caption as the article). Read before the item's
  ``<description>``, the caption made that description a second content;
  written after ``content:encoded``, the description draws the W3C
  validator's ``NeedDescriptionBeforeContent``. No order of Media RSS's
  description works in both, so the caption goes as the image's
  ``<media:title>``, which feedparser keeps apart from the item's title.
* reader, gofeed and rss-parser find a lead image in RSS only as an
  ``<enclosure>``: RSS gets one besides Media RSS, of length 0 when the
  image is on another server (RSS requires a length).
* readers show an Atom category's ``term``, not its ``label``: the term is the
  tag's name, the scheme its page.
* RSS's plain-text elements (titles, the channel's description) write ``&``
  and ``<`` as the hexadecimal character references ``&#x26;`` and ``&#x3C;``,
  as the RSS Best Practices Profile asks: XML reads them as the characters,
  and the W3C validator then knows the text is not HTML. Escaped once more as
  HTML (``&amp;amp;``), a tag named "C&C" showed as HTML to the validator.
"""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timedelta
from typing import Any

from feedgen.entry import FeedEntry
from feedgen.ext.base import BaseEntryExtension, BaseExtension
from feedgen.feed import FeedGenerator
from lxml import etree

from feeds import urls, version
from feeds.model import Article, Site
from feeds.outputs.i18n import Words
from feeds.outputs.listings import Channel, History
from feeds.outputs.render import (
    Renderer,
    byline,
    embargoed_title,
    notice_id,
    own_section,
    rfc3339,
    rights,
    shared_image,
    shares_text,
    withdrawal_html,
)

MEDIA_NS = "http://search.yahoo.com/mrss/"
CC_NS = "http://backend.userland.com/creativeCommonsRssModule"
ATOM_NS = "http://www.w3.org/2005/Atom"
DCTERMS_NS = "http://purl.org/dc/terms/"
FH_NS = "http://purl.org/syndication/history/1.0"
AT_NS = "http://purl.org/atompub/tombstones/1.0"

#: The date of an empty feed: fixed, never the clock.
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def newest(
    articles: tuple[Article, ...], embargoed: tuple[str, ...] = (), early: timedelta = timedelta()
) -> datetime:
    """The feed's date: the newest ``updated`` or ``date`` among its items;
    for an embargoed item (ids in ``embargoed``), the moment it came into the
    early-access feed (``early`` before its date), which is never in the future."""
    return max(
        (a.date - early if a.id in embargoed else a.modified for a in articles), default=EPOCH
    )


def people_note(renderer: Renderer) -> str:
    """What a person who opens a feed in a browser reads first. No browser
    styles our feeds: Chromium shows ``application/rss+xml`` and
    ``application/atom+xml`` as plain text, and Firefox saves them as a file
    (an XSL stylesheet applies in neither); both show the comment first."""
    site = renderer.site
    words = renderer.words(site.language)
    page = urls.absolute(site.base_url, urls.FEEDS_PAGE)
    text = words("This is a web feed, for feed readers. How to follow it: %(url)s", url=page)
    return f" {text} ".replace("--", "- -")  # (a comment may not hold "--")


class _FeedExtras(BaseExtension):  # type: ignore[misc]
    """A note for people (:func:`people_note`); in RSS the WebSub hub link; the
    archive's links and marker (RFC 5005); in the partners' Atom the tombstones
    of withdrawn entries (RFC 6721)."""

    note: str | None = None
    hub: str | None = None
    #: (rel, href) of the archive links: current, prev-archive, next-archive.
    history: tuple[tuple[str, str], ...] = ()
    archive: bool = False
    #: (entry id, withdrawal moment, reason).
    tombstones: tuple[tuple[str, datetime, str], ...] = ()

    def extend_ns(self) -> dict[str, str]:
        found = {"fh": FH_NS} if self.history or self.archive else {}
        return {**found, **({"at": AT_NS} if self.tombstones else {})}

    def _note(self, root: Any) -> None:
        if self.note:
            root.addprevious(etree.Comment(self.note))

    def extend_rss(self, feed: Any) -> Any:
        self._note(feed)
        channel = feed.find("channel")
        at = 3  # beside the self link, after title, link, description
        if self.hub:
            channel.insert(at, etree.Element(f"{{{ATOM_NS}}}link", href=self.hub, rel="hub"))
            at += 1
        for rel, href in self.history:
            channel.insert(at, etree.Element(f"{{{ATOM_NS}}}link", href=href, rel=rel))
            at += 1
        if self.archive:
            channel.insert(at, etree.Element(f"{{{FH_NS}}}archive"))
        return feed

    def extend_atom(self, feed: Any) -> Any:
        self._note(feed)
        at = _index_after_links(feed)
        if self.archive:
            feed.insert(at, etree.Element(f"{{{FH_NS}}}archive"))
            at += 1
        for rel, href in self.history:
            feed.insert(at, etree.Element("link", href=href, rel=rel))
            at += 1
        for ref, when, reason in self.tombstones:
            tombstone = etree.Element(f"{{{AT_NS}}}deleted-entry", ref=ref, when=rfc3339(when))
            etree.SubElement(tombstone, f"{{{AT_NS}}}comment").text = reason
            feed.insert(at, tombstone)
            at += 1
        return feed


class _RssNamespaces(BaseExtension):  # type: ignore[misc]
    """Declares the entry extensions' namespaces on the root, with their usual
    prefixes (feedgen takes the namespace map from feed-level extensions only)."""

    def extend_ns(self) -> dict[str, str]:
        return {"media": MEDIA_NS, "creativeCommons": CC_NS, "dcterms": DCTERMS_NS}


class _RssEntryExtras(BaseEntryExtension):  # type: ignore[misc]
    """The last change (RSS has no element for it), Media RSS with caption (as
    its title) and credit, and the Creative Commons licence."""

    article: Article | None = None

    def extend_rss(self, item: Any) -> Any:
        article = self.article
        assert article is not None
        modified = etree.SubElement(item, f"{{{DCTERMS_NS}}}modified")
        modified.text = rfc3339(article.modified)
        image = shared_image(article)
        if image:
            media = etree.SubElement(item, f"{{{MEDIA_NS}}}content", url=image.url, medium="image")
            if image.media_type:
                media.set("type", image.media_type)
            if image.length is not None:
                media.set("fileSize", str(image.length))
            if image.caption:  # as media:title: see the module's notes
                etree.SubElement(media, f"{{{MEDIA_NS}}}title", type="plain").text = image.caption
            if image.credit:
                credit = etree.SubElement(media, f"{{{MEDIA_NS}}}credit")
                credit.text = image.credit
        if article.license.is_creative_commons:
            etree.SubElement(item, f"{{{CC_NS}}}license").text = article.license.url
        return item


class _AtomEntryExtras(BaseEntryExtension):  # type: ignore[misc]
    """The enclosure and licence links feedgen cannot write, and ``xml:lang``."""

    article: Article | None = None
    language: str | None = None

    def extend_atom(self, entry: Any) -> Any:
        article = self.article
        assert article is not None
        if self.language:
            entry.set("{http://www.w3.org/XML/1998/namespace}lang", self.language)
        image = shared_image(article)
        at = _index_after_links(entry)
        if image:
            link = etree.Element("link", rel="enclosure", href=image.url)
            if image.media_type:
                link.set("type", image.media_type)
            if image.length is not None:
                link.set("length", str(image.length))
            entry.insert(at, link)
            at += 1
        if article.license.url:
            entry.insert(at, etree.Element("link", rel="license", href=article.license.url))
        return entry


def _index_after_links(entry: Any) -> int:
    """Where new links go: after the ones feedgen wrote, to keep them together."""
    index = 0
    for position, child in enumerate(entry):
        if child.tag == "link":
            index = position + 1
    return index


def _generator(
    renderer: Renderer,
    channel: Channel,
    articles: tuple[Article, ...],
    fmt: urls.FeedFormat,
    withdrawn: tuple[Article, ...] = (),
    history: History | None = None,
    embargoed: tuple[str, ...] = (),
    entries: tuple[Article, ...] | None = None,
) -> FeedGenerator:
    """The channel's feed, dated by ``articles``, with an entry for each of
    ``entries`` (by default, ``articles``)."""
    site = renderer.site
    feed_url = urls.absolute(site.base_url, urls.feed(channel.path, fmt))
    page_url = urls.absolute(site.base_url, channel.page)
    hub = site.hub if channel.pushed else None
    feed = FeedGenerator()
    feed.register_extension("extras", _FeedExtras, None, atom=True, rss=True)
    feed.extras.note = people_note(renderer)
    if history is not None:
        feed.extras.archive = history.archive
        feed.extras.history = tuple(
            (rel, urls.absolute(site.base_url, urls.feed(path, fmt)))
            for rel, path in (
                ("current", history.current),
                ("prev-archive", history.prev),
                ("next-archive", history.next),
            )
            if path is not None
        )
    if fmt == "atom" and channel.early:
        # Only for partners: the W3C validator warns of the tombstones'
        # namespace in a public feed (UnknownNamespace), and public readers
        # learn of a withdrawal from the withdrawals feeds.
        feed.extras.tombstones = tuple(
            (a.id, a.withdrawn.date, a.withdrawn.reason) for a in withdrawn if a.withdrawn
        )
    if fmt == "rss":
        feed.load_extension("dc", atom=False, rss=True)
        feed.register_extension("entry_extras", _RssNamespaces, _RssEntryExtras, atom=False)
        feed.extras.hub = hub
    else:
        feed.register_extension("entry_extras", BaseExtension, _AtomEntryExtras, rss=False)
    feed.id(feed_url)
    feed.title(channel.title)
    feed.description(channel.description)
    feed.language(site.language)
    feed.generator("feeds", version())
    feed.rights(rights(site.license, None, site, renderer.words(site.language)))
    early = timedelta(days=site.early_access_days)
    changed = max(
        [newest(articles, embargoed, early), *(a.withdrawn.date for a in withdrawn if a.withdrawn)]
    )
    feed.updated(changed)
    feed.lastBuildDate(changed)
    if site.logo:
        feed.logo(site.logo)
        feed.icon(site.logo)
        if fmt == "rss":
            feed.image(url=site.logo, title=channel.title, link=page_url)
    feed.link(href=feed_url, rel="self", type=urls.FEED_TYPES[fmt])
    if hub and fmt == "atom":
        feed.link(href=hub, rel="hub")
    feed.link(href=page_url, rel="alternate", type="text/html")  # last: RSS <link>
    for article in articles if entries is None else entries:
        content = renderer.item_html(article, channel.early, embargoed)
        words = renderer.words(article.language)
        _entry(feed, article, site, fmt, content, words, article.id in embargoed)
    return feed


def _entry(
    feed: FeedGenerator,
    article: Article,
    site: Site,
    fmt: urls.FeedFormat,
    content: str,
    words: Words,
    embargoed: bool = False,
) -> None:
    entry = feed.add_entry(order="append")
    entry.id(article.id)
    entry.guid(article.id, permalink=article.id == article.url)
    entry.title(embargoed_title(article, words) if embargoed else article.title)
    entry.link(href=article.url, rel="alternate", type="text/html")
    entry.published(article.date)
    entry.updated(article.modified)
    if shares_text(article):  # else title, summary and link only
        entry.content(content, type="html")
    entry.entry_extras.article = article
    image = shared_image(article)
    if fmt == "rss":
        # RSS <description> is HTML: the plain-text summary is encoded.
        entry.description(html_text(article.summary))
        entry.dc.dc_creator(byline(article, words))
        if article.language != site.language:
            entry.dc.dc_language(article.language)
        tag_scheme = urls.absolute(site.base_url, urls.TAGS)
        categories = [{"term": tag.name, "scheme": tag_scheme} for tag in article.tags]
        if section := own_section(article):
            categories.append({"term": section})
        _categories(entry, categories)
        if image and image.media_type:
            # RSS requires a length; the Best Practices Profile's for one not
            # known (an image on another server) is 0.
            length = 0 if image.length is None else image.length
            entry.enclosure(image.url, str(length), image.media_type)
        return
    entry.summary(article.summary, type="text")
    for author in article.authors:
        person = {"name": author.name}
        if author.url:
            person["uri"] = author.url
        if author.email:
            person["email"] = author.email
        entry.author(person)
    categories = [
        {
            "term": tag.name,
            "scheme": urls.absolute(site.base_url, urls.tag(tag.slug)),
            "label": tag.name,
        }
        for tag in article.tags
    ]
    if section := own_section(article):
        categories.append({"term": section, "label": section})
    _categories(entry, categories)
    entry.rights(rights(article.license, article, site, words))
    if article.language != site.language:
        entry.entry_extras.language = article.language


def _categories(entry: FeedEntry, categories: list[dict[str, str]]) -> None:
    """Give ``entry`` its categories in one call: feedgen rebuilds an entry's
    RSS categories from all of them on every call, so one call per tag made an
    article's cost grow with the square of its tags in each of its feeds."""
    if categories:
        entry.category(categories)


def html_text(text: str) -> str:
    """Plain text for an element RSS reads as HTML (an item's
    ``<description>``), escaped once as HTML."""
    return html.escape(text, quote=False)


#: The plain-text elements of RSS: every title; the channel's description too
#: (an item's description is HTML).
_TITLE = re.compile(rb"(<title>)(.*?)(</title>)", re.S)
_TITLE_OR_DESCRIPTION = re.compile(rb"(<title>|<description>)(.*?)(</title>|</description>)", re.S)


def _plain_text_references(xml: bytes) -> bytes:
    """RSS with its plain-text elements' ``&`` and ``<`` as hexadecimal references."""
    head, item, items = xml.partition(b"<item>")
    return (
        _TITLE_OR_DESCRIPTION.sub(_profile_references, head)
        + item
        + _TITLE.sub(_profile_references, items)
    )


def _profile_references(match: re.Match[bytes]) -> bytes:
    text = match.group(2).replace(b"&amp;", b"&#x26;").replace(b"&lt;", b"&#x3C;")
    return match.group(1) + text.replace(b"&gt;", b"&#x3E;") + match.group(3)


#: How each format's entries open and close (at the start and end of a line:
#: lxml escapes ``<`` in text and attributes, so these are always tags), and
#: what follows the last one.
_ENTRY_TAGS = {"rss": (b"<item>", b"</item>\n"), "atom": (b"<entry", b"</entry>\n")}


def _document(
    renderer: Renderer,
    channel: Channel,
    articles: tuple[Article, ...],
    fmt: urls.FeedFormat,
    withdrawn: tuple[Article, ...] = (),
    history: History | None = None,
    embargoed: tuple[str, ...] = (),
) -> bytes:
    """The channel's feed in ``fmt``, each entry serialised by feedgen once
    per build process, in the first feed that carries it, and its bytes
    spliced into every other one (:class:`feeds.render.Entries`).

    An entry's bytes do not depend on the feed: it is written at the same
    depth, with the same indentation, and every namespace it uses is
    declared on the root of every feed, with the same prefix. Its variant is
    its format, its feed's audience and its embargo: partners' entries carry
    more (:func:`feeds.render.partner_html`)."""
    partners = channel.early
    cache = renderer.entries
    found = [cache.get(a, (fmt, partners, a.id in embargoed)) for a in articles]
    missing = tuple(a for a, entry in zip(articles, found, strict=True) if entry is None)
    generator = _generator(
        renderer, channel, articles, fmt, withdrawn, history, embargoed, entries=missing
    )
    xml = bytes(generator.rss_str(pretty=True) if fmt == "rss" else generator.atom_str(pretty=True))
    head, made, tail = _split_entries(xml, fmt)
    if fmt == "rss":
        head = _TITLE_OR_DESCRIPTION.sub(_profile_references, head)
        made = [_TITLE.sub(_profile_references, entry) for entry in made]
    fresh = iter(made)
    body = []
    for article, entry in zip(articles, found, strict=True):
        if entry is None:
            entry = next(fresh)
            cache.put(article, (fmt, partners, article.id in embargoed), entry)
        assert isinstance(entry, bytes)
        body.append(entry)
    return head + b"".join(body) + tail


def _split_entries(xml: bytes, fmt: urls.FeedFormat) -> tuple[bytes, list[bytes], bytes]:
    """A serialised feed's bytes before its entries, each entry (from the
    start of its first line to the end of its last) and what follows them."""
    opening, closing = _ENTRY_TAGS[fmt]
    first = xml.find(opening)
    if first < 0:  # no entries: they would go before the channel's (or feed's) end
        end = xml.rfind(b"</channel>" if fmt == "rss" else b"</feed>")
        start = xml.rfind(b"\n", 0, end) + 1
        return xml[:start], [], xml[start:]
    start = xml.rfind(b"\n", 0, first) + 1
    end = xml.rfind(closing) + len(closing)
    entries = [entry + closing for entry in xml[start : end - len(closing)].split(closing)]
    return xml[:start], entries, xml[end:]


def build_rss(
    renderer: Renderer,
    channel: Channel,
    articles: tuple[Article, ...],
    withdrawn: tuple[Article, ...] = (),
    history: History | None = None,
) -> bytes:
    """The channel's RSS 2.0 feed of ``articles`` (sorted and capped already).
    RSS has no tombstones: a withdrawn article just leaves it."""
    return _document(renderer, channel, articles, "rss", withdrawn, history)


def build_partner_rss(
    renderer: Renderer,
    channel: Channel,
    articles: tuple[Article, ...],
    withdrawn: tuple[Article, ...],
    embargoed: tuple[str, ...],
) -> bytes:
    """An early-access RSS feed: each article of ``embargoed`` (ids) opens
    with the embargo notice. No hub: a hub has no token."""
    return _document(renderer, channel, articles, "rss", withdrawn, None, embargoed)


def build_partner_atom(
    renderer: Renderer,
    channel: Channel,
    articles: tuple[Article, ...],
    withdrawn: tuple[Article, ...],
    embargoed: tuple[str, ...],
) -> bytes:
    """An early-access Atom feed: an embargoed article's ``published`` is
    in the future, and its content opens with the embargo notice."""
    return _document(renderer, channel, articles, "atom", withdrawn, None, embargoed)


def build_atom(
    renderer: Renderer,
    channel: Channel,
    articles: tuple[Article, ...],
    withdrawn: tuple[Article, ...] = (),
    history: History | None = None,
) -> bytes:
    """The channel's Atom 1.0 feed of ``articles`` (sorted and capped already);
    ``withdrawn`` only dates it (partners' feeds carry their tombstones)."""
    return _document(renderer, channel, articles, "atom", withdrawn, history)


def _withdrawals(
    renderer: Renderer,
    channel: Channel,
    withdrawn: tuple[Article, ...],
    fmt: urls.FeedFormat,
    since: datetime,
) -> FeedGenerator:
    """The feed of withdrawal notices: one entry per withdrawn article, newest
    withdrawal first, each with an id of its own (not the article's: readers
    keep one item per id, and the notice must not replace the story in theirs)."""
    site = renderer.site
    feed_url = urls.absolute(site.base_url, urls.feed(channel.path, fmt))
    page_url = urls.absolute(site.base_url, channel.path)
    feed = FeedGenerator()
    feed.register_extension("extras", _FeedExtras, None, atom=True, rss=True)
    feed.extras.note = people_note(renderer)
    if fmt == "rss":
        feed.extras.hub = site.hub
    feed.id(feed_url)
    feed.title(channel.title)
    feed.description(channel.description)
    feed.language(site.language)
    feed.generator("feeds", version())
    changed = max([since, *(a.withdrawn.date for a in withdrawn if a.withdrawn)])
    if fmt == "atom":  # who withdrew them: Atom wants an author for every entry
        feed.author({"name": site.producer, "uri": site.base_url})
    feed.updated(changed)
    feed.lastBuildDate(changed)
    feed.link(href=feed_url, rel="self", type=urls.FEED_TYPES[fmt])
    if site.hub and fmt == "atom":
        feed.link(href=site.hub, rel="hub")
    feed.link(href=page_url, rel="alternate", type="text/html")  # last: RSS <link>
    for article in withdrawn:
        assert article.withdrawn is not None
        words = renderer.words(article.language)
        entry = feed.add_entry(order="append")
        entry.id(notice_id(article))
        entry.guid(notice_id(article), permalink=False)
        entry.title(words("Withdrawn: %(title)s", title=article.title))
        entry.link(href=article.url, rel="alternate", type="text/html")
        entry.published(article.withdrawn.date)
        entry.updated(article.withdrawn.date)
        entry.content(withdrawal_html(article, words), type="html")
        if fmt == "rss":
            entry.description(html_text(article.withdrawn.reason))
        else:
            entry.summary(article.withdrawn.reason, type="text")
    return feed


def build_withdrawals_rss(
    renderer: Renderer, channel: Channel, withdrawn: tuple[Article, ...], since: datetime
) -> bytes:
    """Every withdrawal; ``since`` dates the feed while it has none (the site's
    first article: a stable date, never the clock)."""
    generator = _withdrawals(renderer, channel, withdrawn, "rss", since)
    return _plain_text_references(bytes(generator.rss_str(pretty=True)))


def build_withdrawals_atom(
    renderer: Renderer, channel: Channel, withdrawn: tuple[Article, ...], since: datetime
) -> bytes:
    """As :func:`build_withdrawals_rss`, in Atom."""
    generator = _withdrawals(renderer, channel, withdrawn, "atom", since)
    return bytes(generator.atom_str(pretty=True))
