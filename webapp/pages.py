"""HTML pages and the sitemap, rendered from the model with Jinja.

Pure functions of (content, listings, now): no Flask, no request. The app and
``feeds build`` call the same ones, so the export equals what the app serves.
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import tzinfo
from typing import Any
from urllib.parse import urlsplit

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup

from feeds.listings import FEED_FILES, FEED_TYPES, Listing
from feeds.model import Article, Content, Site
from feeds.render import byline, figure_html, footer_html, human_date, republish_html
from feeds.validate import zone_of

#: Articles per index, tag and author page.
PAGE_SIZE = 20

FEED_LABELS = {"rss": "RSS", "atom": "Atom", "json": "JSON Feed"}


def environment() -> Environment:
    env = Environment(
        loader=PackageLoader("webapp", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["byline"] = byline
    return env


@dataclass(frozen=True)
class Feed:
    """An autodiscovery link."""

    title: str
    url: str
    type: str


@dataclass(frozen=True)
class Pages:
    """Renders each page of one site at one moment."""

    content: Content
    env: Environment

    @property
    def site(self) -> Site:
        return self.content.site

    @property
    def zone(self) -> tzinfo:
        return zone_of(self.site)

    @property
    def root(self) -> str:
        """The site's path ("/" or "/news/"): in-site links work on any host."""
        return urlsplit(self.site.base_url).path

    def feeds_of(self, listing: Listing) -> list[Feed]:
        return [
            Feed(
                f"{listing.title} ({FEED_LABELS[fmt]})",
                listing.feed_url(self.site, fmt),
                FEED_TYPES[fmt],
            )
            for fmt in FEED_FILES
        ]

    def _render(self, template: str, **context: Any) -> bytes:
        context.setdefault("feeds", [])
        page = self.env.get_template(template).render(
            site=self.site, root=self.root, date=self.date, **context
        )
        return page.encode("utf-8")

    def date(self, article: Article, which: str = "date") -> Markup:
        moment = article.date if which == "date" else article.modified
        return Markup('<time datetime="{}">{}</time>').format(
            moment.isoformat(), human_date(moment, self.zone)
        )

    def page_count(self, listing: Listing) -> int:
        return max(1, math.ceil(len(listing.articles) / PAGE_SIZE))

    def page_path(self, listing: Listing, number: int) -> str:
        return listing.path if number == 1 else f"{listing.path}page/{number}/"

    def listing_page(self, listing: Listing, site_listing: Listing, number: int) -> bytes:
        """A page of a listing: the index, a tag or an author."""
        start = (number - 1) * PAGE_SIZE
        count = self.page_count(listing)
        feeds = self.feeds_of(site_listing)
        if listing is not site_listing:
            feeds = self.feeds_of(listing) + feeds
        return self._render(
            "listing.html",
            listing=listing,
            heading=listing.title.removeprefix(f"{self.site.title}: ")
            if listing.path
            else self.site.title,
            articles=listing.articles[start : start + PAGE_SIZE],
            number=number,
            count=count,
            previous=self.root + self.page_path(listing, number - 1) if number > 1 else None,
            next=self.root + self.page_path(listing, number + 1) if number < count else None,
            canonical=self.site.base_url + self.page_path(listing, number),
            feeds=feeds,
            bio=Markup(listing.author.bio_html if listing.author else ""),
        )

    def article_page(self, article: Article, site_listing: Listing) -> bytes:
        image = article.image
        return self._render(
            "article.html",
            article=article,
            canonical=article.canonical_url or article.url,
            feeds=self.feeds_of(site_listing),
            figure=Markup(figure_html(image)) if image else "",
            body=Markup(article.body_html),
            footer=Markup(footer_html(article, self.zone)),
            republish=republish_html(article, self.site.republish_pixel, self.zone)
            if article.republish
            else None,
        )

    def not_found(self, site_listing: Listing) -> bytes:
        return self._render("404.html", feeds=self.feeds_of(site_listing), canonical=None)


def sitemap(site: Site, urls: list[tuple[str, str | None]]) -> bytes:
    """``urls`` as (absolute URL, W3C date or None)."""
    namespace = "http://www.sitemaps.org/schemas/sitemap/0.9"
    root = ET.Element("urlset", xmlns=namespace)
    for loc, lastmod in urls:
        url = ET.SubElement(root, "url")
        ET.SubElement(url, "loc").text = loc
        if lastmod:
            ET.SubElement(url, "lastmod").text = lastmod
    ET.indent(root)
    return bytes(ET.tostring(root, encoding="utf-8", xml_declaration=True)) + b"\n"
