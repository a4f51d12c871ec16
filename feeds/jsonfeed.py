"""JSON Feed 1.1, written with the standard library.

Two extensions, documented in the README, carry what partners need and the
spec has no field for: ``_license`` (on the feed and on each item) and
``_image`` (the lead image's alt text, caption and credit).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from feeds.listings import Listing
from feeds.model import Article, License, Site
from feeds.render import rfc3339

VERSION = "https://jsonfeed.org/version/1.1"


def _license(lic: License) -> dict[str, Any]:
    return {"id": lic.id, "name": lic.name, "url": lic.url}


def _item(article: Article, site: Site, content_html: str) -> dict[str, Any]:
    item: dict[str, Any] = {
        "id": article.id,
        "url": article.url,
        "title": article.title,
        "content_html": content_html,
        "summary": article.summary,
        "date_published": rfc3339(article.date),
        "date_modified": rfc3339(article.modified),
        "authors": [{"name": a.name, **({"url": a.url} if a.url else {})} for a in article.authors],
    }
    if article.canonical_url:
        item["external_url"] = article.canonical_url
    tags = [tag.name for tag in article.tags]
    if article.section and article.section not in tags:
        tags.append(article.section)
    if tags:
        item["tags"] = tags
    if article.language != site.language:
        item["language"] = article.language
    if article.image:
        image = article.image
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


def build_json_feed(listing: Listing, site: Site, html_of: Callable[[Article], str]) -> bytes:
    """The listing's JSON Feed; ``html_of`` gives each article's full HTML."""
    feed: dict[str, Any] = {
        "version": VERSION,
        "title": listing.title,
        "home_page_url": listing.page_url(site),
        "feed_url": listing.feed_url(site, "json"),
        "description": listing.description,
        "language": site.language,
    }
    if site.logo:
        feed["icon"] = site.logo
        feed["favicon"] = site.logo
    if site.hub:
        feed["hubs"] = [{"type": "WebSub", "url": site.hub}]
    feed["_license"] = _license(site.license)
    feed["items"] = [_item(a, site, html_of(a)) for a in listing.feed_articles(site)]
    return json.dumps(feed, ensure_ascii=False, separators=(",", ":")).encode("utf-8") + b"\n"
