"""An article as an IPTC ninjs 2.2 item ("News in JSON"), the format partner
newsrooms' systems (Superdesk, the agencies' APIs) ingest.

The schema's root refuses any property it does not define, so every fact is
put in a standard field (the README's table says which). The item carries
what the article's feed items carry, from the same functions: the id, the
dates, the byline, the full HTML, the rights. An article that may not be
republished (``republish: false``) has no item at all.

The item depends on ``now`` only through two facts: whether the article has
been withdrawn by then (``pubstatus: canceled``, with the reason and no text)
and, for partners, whether it is still embargoed (``embargoed`` and an
editor's note). Nothing here reads the clock.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from feeds import urls
from feeds.model import Article, Author, Image, Site, is_withdrawn
from feeds.outputs.i18n import Words, words_for
from feeds.outputs.render import (
    Renderer,
    byline,
    content_html,
    embargo_notice,
    partner_html,
    rfc3339,
    rights,
    shared_image,
)

#: The standard and the schema every item is valid against.
STANDARD = {
    "name": "ninjs",
    "version": "2.2",
    "schema": "http://www.iptc.org/std/ninjs/ninjs-schema_2.2.json",
}
MEDIA_TYPE = "application/json"


class NotRepublishable(ValueError):
    """Asked for the item of an article that may not be republished: a bug in
    the caller (no partner output carries such an article)."""


def item(article: Article, site: Site, now: datetime, *, partner: bool = False) -> dict[str, Any]:
    """The ninjs 2.2 item of ``article`` at ``now``: ``usable`` with its full
    text, or ``canceled`` (headline, byline, dates and the reason, no text)
    once it is withdrawn. With ``partner`` (the early-access feeds and the
    change stream), as partners get it: an article not public yet is
    ``embargoed`` until its date, and its body opens with the embargo notice
    and ends with the republication pixel, as in the early-access feeds.

    Raises :class:`NotRepublishable` for an article with ``republish: false``.
    """
    if not article.republish:
        raise NotRepublishable(f"{article.path}: republish: false: it has no ninjs item")
    words = words_for(article.language, site.language, site.zone)
    withdrawal = article.withdrawn
    canceled = is_withdrawn(article, now)
    embargoed = partner and not canceled and article.date > now
    found: dict[str, Any] = {
        "uri": urls.as_uri(article.id),
        "standard": dict(STANDARD),
        "type": "text",
        "representationtype": "partial" if canceled else "full",
        "pubstatus": "canceled" if canceled else "usable",
        "slugline": article.slug,
        "firstcreated": rfc3339(article.date),
        # A withdrawal is the item's last version: it was made then.
        "versioncreated": rfc3339(withdrawal.date if canceled and withdrawal else article.modified),
        "language": article.language,
        "title": article.title,
        "headlines": _headlines(article),
        "by": byline(article, words),
        "people": [_person(author, site) for author in article.authors],
        "copyrightholder": article.producer,
        "usageterms": rights(article.license, article, site, words),
        "infosources": [{"name": article.source, "role": "source"}],
        "renditions": _pages(article),
    }
    if article.license.url:
        found["rightsinfo"] = {"linkedrights": urls.as_uri(article.license.url)}
    if found["uri"] != article.id:  # the feeds' spelling, when it is not a strict URI
        found["altids"] = [{"role": "id", "value": article.id}]
    if canceled and withdrawal is not None:
        found["ednote"] = " ".join(
            (
                words("This article was withdrawn on %(date)s.", date=words.date(withdrawal.date)),
                words("Reason: %(reason)s", reason=withdrawal.reason),
            )
        )
        return found
    if embargoed:
        found["embargoed"] = rfc3339(article.date)
        found["ednote"] = embargo_notice(article, words)
    subjects = _subjects(article, site)
    if subjects:
        found["subjects"] = subjects
    found["descriptions"] = [
        {"role": "summary", "contenttype": "text/plain", "value": article.summary}
    ]
    found["bodies"] = [
        {
            "role": "main",
            "contenttype": "text/html",
            "value": _body(article, site, words, partner, embargoed),
        }
    ]
    image = shared_image(article)
    if image is not None:
        found["associations"] = [_picture(image)]
    return found


def item_bytes(article: Article, site: Site, now: datetime, *, partner: bool = False) -> bytes:
    """:func:`item` as UTF-8 JSON, the same bytes for the same article and
    moment (keys in a fixed order, no spaces, a final newline)."""
    found = item(article, site, now, partner=partner)
    return json.dumps(found, ensure_ascii=False, separators=(",", ":")).encode("utf-8") + b"\n"


def ninjs_file(renderer: Renderer, article: Article, as_of: datetime) -> bytes:
    """The public ``articles/<slug>/ninjs.json``: the item as anyone sees it
    at ``as_of``, a moment the plan chooses to stand for every moment the
    item is the same (the article's date while it is public, its
    withdrawal's once it is withdrawn), so the clock is no input of the file."""
    return item_bytes(article, renderer.site, as_of)


def _headlines(article: Article) -> list[dict[str, str]]:
    found = [{"role": "main", "contenttype": "text/plain", "value": article.title}]
    if article.subtitle:
        found.append({"role": "sub", "contenttype": "text/plain", "value": article.subtitle})
    return found


def _person(author: Author, site: Site) -> dict[str, Any]:
    """An author as one of the people the item names, ``rel: author``: their
    page here as their ``uri`` (or, given inline, their own), their own site
    and public email as contact information. ninjs has no field for a bio:
    the bios are in the body, as in the feeds."""
    person: dict[str, Any] = {"name": author.name, "rel": "author"}
    page = urls.absolute(site.base_url, urls.author(author.id)) if author.id else author.url
    if page:
        person["uri"] = urls.as_uri(page)
    contacts = []
    if author.url:
        contacts.append({"type": "web", "value": author.url})
    if author.email:
        contacts.append({"type": "email", "value": author.email})
    if contacts:
        person["contactinfo"] = contacts
    return person


def _subjects(article: Article, site: Site) -> list[dict[str, Any]]:
    """Each tag with its page as its ``uri``; the section, ``rel: section``."""
    found: list[dict[str, Any]] = [
        {"name": tag.name, "uri": urls.absolute(site.base_url, urls.tag(tag.slug))}
        for tag in article.tags
    ]
    if article.section:
        found.append({"name": article.section, "rel": "section"})
    return found


def _pages(article: Article) -> list[dict[str, Any]]:
    """The web renditions: the canonical page (where the article first
    appeared, if elsewhere), then ours when that is another."""
    canonical = article.canonical_url or article.url
    found = [{"name": "canonical", "href": urls.as_uri(canonical), "contenttype": "text/html"}]
    if canonical != article.url:
        found.append({"name": "page", "href": urls.as_uri(article.url), "contenttype": "text/html"})
    return found


def _body(article: Article, site: Site, words: Words, partner: bool, embargoed: bool) -> str:
    """The HTML the article's feed items carry: in an early-access feed, with
    the embargo notice and the republication pixel."""
    full = content_html(article, words)
    return partner_html(full, article, site, words, embargoed) if partner else full


def _picture(image: Image) -> dict[str, Any]:
    """The lead image (one partners may have) as the ``featuremedia``
    association: a picture with its caption, alt text and credit, and the
    file as its one rendition, with type, pixels and bytes where known."""
    href = urls.as_uri(image.url)
    rendition: dict[str, Any] = {"name": "original", "href": href}
    if image.media_type:
        rendition["contenttype"] = image.media_type
    if image.width is not None and image.height is not None:
        rendition["width"] = image.width
        rendition["height"] = image.height
    if image.length is not None:
        rendition["sizeinbytes"] = image.length
    picture: dict[str, Any] = {"name": "featuremedia", "uri": href, "type": "picture"}
    descriptions = []
    if image.caption:
        descriptions.append(
            {"role": "caption", "contenttype": "text/plain", "value": image.caption}
        )
    descriptions.append({"role": "alt", "contenttype": "text/plain", "value": image.alt})
    picture["descriptions"] = descriptions
    if image.credit:
        picture["by"] = image.credit
        source: dict[str, str] = {"name": image.credit, "role": "credit"}
        if image.credit_url:
            source["uri"] = urls.as_uri(image.credit_url)
        picture["infosources"] = [source]
    picture["renditions"] = [rendition]
    return picture
