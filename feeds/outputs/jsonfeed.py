"""JSON Feed 1.1, written with the standard library.

Extensions, documented in the README, carry what partners need and the spec
has no field for: ``_license`` (on the feed and on each item), ``_image``
(the lead image's alt text, caption and credit), ``_withdrawn`` (the
withdrawals it used to carry) and, in the early-access feeds, ``_embargoed``.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from feeds import urls
from feeds.model import Article, License, Site
from feeds.outputs.listings import Channel, History
from feeds.outputs.render import (
    Renderer,
    embargoed_title,
    notice_id,
    own_section,
    rfc3339,
    shared_image,
    shares_text,
    withdrawal_html,
)

VERSION = "https://jsonfeed.org/version/1.1"


def _license(lic: License) -> dict[str, Any]:
    return {"id": lic.id, "name": lic.name, "url": lic.url}


def _item(article: Article, site: Site, content_html: str, title: str) -> dict[str, Any]:
    # An article that may not be republished: title, summary and link only
    # (JSON Feed wants some content: the summary is all there is).
    content = (
        {"content_html": content_html}
        if shares_text(article)
        else {"content_text": article.summary}
    )
    item: dict[str, Any] = {
        "id": article.id,
        "url": article.url,
        "title": title,
        **content,
        "summary": article.summary,
        "date_published": rfc3339(article.date),
        "date_modified": rfc3339(article.modified),
        "authors": [{"name": a.name, **({"url": a.url} if a.url else {})} for a in article.authors],
    }
    if article.canonical_url:
        item["external_url"] = article.canonical_url
    tags = [tag.name for tag in article.tags]
    if section := own_section(article):
        tags.append(section)
    if tags:
        item["tags"] = tags
    if article.language != site.language:
        item["language"] = article.language
    if image := shared_image(article):
        item["image"] = image.url
        item["_image"] = {
            key: value
            for key, value in (
                ("url", image.url),
                ("alt", image.alt),
                ("caption", image.caption),
                ("credit", image.credit),
                ("credit_url", image.credit_url),
            )
            if value is not None
        }
    item["_license"] = _license(article.license)
    return item


def withdrawal(article: Article) -> dict[str, Any]:
    """What ``_withdrawn`` says of a withdrawn article."""
    assert article.withdrawn is not None
    return {
        "id": article.id,
        "url": article.url,
        "title": article.title,
        "date_withdrawn": rfc3339(article.withdrawn.date),
        "reason": article.withdrawn.reason,
    }


def build_json_feed(
    renderer: Renderer,
    channel: Channel,
    articles: tuple[Article, ...],
    withdrawn: tuple[Article, ...] = (),
    history: History | None = None,
) -> bytes:
    """The channel's JSON Feed of ``articles`` (sorted and capped already).
    ``_withdrawn`` lists the ``withdrawn`` articles it used to carry; ``next_url``
    leads from a subscription feed to its newest archive document, and from
    each document to the next older one."""
    return _feed(renderer, channel, articles, withdrawn, history, ())


def build_partner_json(
    renderer: Renderer,
    channel: Channel,
    articles: tuple[Article, ...],
    withdrawn: tuple[Article, ...],
    embargoed: tuple[str, ...],
) -> bytes:
    """An early-access JSON Feed: each article of ``embargoed`` (ids) opens
    with the embargo notice and carries ``_embargoed``, the moment it lifts
    (the ``embargoed`` of IPTC's ninjs). No hub: a hub has no token."""
    return _feed(renderer, channel, articles, withdrawn, None, embargoed)


def _feed(
    renderer: Renderer,
    channel: Channel,
    articles: tuple[Article, ...],
    withdrawn: tuple[Article, ...],
    history: History | None,
    embargoed: tuple[str, ...],
) -> bytes:
    site = renderer.site
    feed: dict[str, Any] = {
        "version": VERSION,
        "title": channel.title,
        "home_page_url": urls.absolute(site.base_url, channel.page),
        "feed_url": urls.absolute(site.base_url, urls.feed(channel.path, "json")),
        "description": channel.description,
        "language": site.language,
    }
    if site.logo:
        feed["icon"] = site.logo
        feed["favicon"] = site.logo
    if site.hub and channel.pushed:
        feed["hubs"] = [{"type": "WebSub", "url": site.hub}]
    if history is not None and history.prev is not None:
        feed["next_url"] = urls.absolute(site.base_url, urls.feed(history.prev, "json"))
    feed["_license"] = _license(site.license)
    if withdrawn:
        feed["_withdrawn"] = [withdrawal(a) for a in withdrawn]
    partners = channel.early
    items = []
    for article in articles:
        early = article.id in embargoed
        variant = ("json", partners, early)
        item = renderer.entries.get(article, variant)
        if item is None:
            content = renderer.item_html(article, partners, embargoed)
            words = renderer.words(article.language)
            made = _item(
                article, site, content, embargoed_title(article, words) if early else article.title
            )
            if early:
                made["_embargoed"] = rfc3339(article.date)
            item = _dumps(made).encode("utf-8")
            renderer.entries.put(article, variant, item)
        assert isinstance(item, bytes)
        items.append(item)
    # The items, each serialised once per build process, go last, as
    # json.dumps would write them as the feed's last key.
    head = _dumps(feed).removesuffix("}").encode("utf-8")
    return head + b',"items":[' + b",".join(items) + b"]}\n"


def _dumps(value: dict[str, Any]) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def build_withdrawals_json(
    renderer: Renderer, channel: Channel, withdrawn: tuple[Article, ...], since: datetime
) -> bytes:
    """Every withdrawal as a JSON Feed item with its ``_withdrawal``."""
    site = renderer.site
    items = []
    for article in withdrawn:
        notice = withdrawal(article)
        words = renderer.words(article.language)
        items.append(
            {
                "id": notice_id(article),
                "url": article.url,
                "title": words("Withdrawn: %(title)s", title=article.title),
                "content_html": withdrawal_html(article, words),
                "summary": notice["reason"],
                "date_published": notice["date_withdrawn"],
                "_withdrawal": notice,
            }
        )
    feed: dict[str, Any] = {
        "version": VERSION,
        "title": channel.title,
        "home_page_url": urls.absolute(site.base_url, channel.path),
        "feed_url": urls.absolute(site.base_url, urls.feed(channel.path, "json")),
        "description": channel.description,
        "language": site.language,
        "items": items,
    }
    if site.hub:
        feed["hubs"] = [{"type": "WebSub", "url": site.hub}]
    return json.dumps(feed, ensure_ascii=False, separators=(",", ":")).encode("utf-8") + b"\n"
