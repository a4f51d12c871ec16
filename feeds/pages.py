"""HTML pages, the sitemap and the site's static files, rendered from the model.

Pure functions of a :class:`~feeds.render.Renderer` and their inputs: no
Flask, no request, no clock. The app serves and ``feeds build`` writes what
these return, so the export equals what the app serves. Templates link with
``href(path)`` and the paths of :mod:`feeds.urls`, never by spelling a URL.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from functools import cache
from importlib.resources import files
from typing import Any
from urllib.parse import quote, urlsplit

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup

from feeds import urls
from feeds.listings import FeedLink, Page, SitemapEntry
from feeds.model import Article
from feeds.render import (
    Renderer,
    byline,
    byline_parts,
    figure_html,
    footer_html,
    human_date,
    republish_html,
)


@cache
def environment() -> Environment:
    """The templates, compiled once per process."""
    env = Environment(
        loader=PackageLoader("feeds", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["byline"] = byline
    env.globals["byline_parts"] = byline_parts
    env.globals["urls"] = urls
    return env


def _render(renderer: Renderer, template: str, **context: Any) -> bytes:
    site = renderer.site
    root = urlsplit(site.base_url).path  # "/" or "/news/": in-site links work on any host

    def href(path: str) -> str:
        return root + quote(path, safe="/")

    def date(article: Article, which: str = "date") -> Markup:
        moment = article.date if which == "date" else article.modified
        return Markup('<time datetime="{}">{}</time>').format(
            moment.isoformat(), human_date(moment, site.zone)
        )

    context.setdefault("feeds", ())
    page = environment().get_template(template).render(site=site, href=href, date=date, **context)
    return page.encode("utf-8")


def listing_page(renderer: Renderer, page: Page, feeds: tuple[FeedLink, ...]) -> bytes:
    """A page of a listing: the index, a tag or an author."""
    site = renderer.site
    channel = page.channel
    heading = channel.title.removeprefix(f"{site.title}: ") if channel.path else site.title
    number, count = page.number, page.count
    author = channel.author
    return _render(
        renderer,
        "listing.html",
        listing=channel,
        heading=heading,
        articles=page.articles,
        number=number,
        count=count,
        previous=urls.page(channel.path, number - 1) if number > 1 else None,
        next=urls.page(channel.path, number + 1) if number < count else None,
        canonical=urls.absolute(site.base_url, page.path),
        feeds=feeds,
        bio=Markup(author.bio_html if author else ""),
    )


def article_page(renderer: Renderer, article: Article, feeds: tuple[FeedLink, ...]) -> bytes:
    site = renderer.site
    image = article.image
    return _render(
        renderer,
        "article.html",
        article=article,
        canonical=article.canonical_url or article.url,
        feeds=feeds,
        figure=Markup(figure_html(image)) if image else "",
        body=Markup(article.body_html),
        footer=Markup(footer_html(article, site.zone)),
        republish=republish_html(article, site.republish_pixel, site.zone)
        if article.republish
        else None,
    )


def not_found_page(renderer: Renderer, feeds: tuple[FeedLink, ...]) -> bytes:
    return _render(renderer, "404.html", feeds=feeds, canonical=None)


def sitemap(renderer: Renderer, entries: tuple[SitemapEntry, ...]) -> bytes:
    """Every listed page, with the date of its last change where one is known."""
    namespace = "http://www.sitemaps.org/schemas/sitemap/0.9"
    root = ET.Element("urlset", xmlns=namespace)
    for entry in entries:
        url = ET.SubElement(root, "url")
        ET.SubElement(url, "loc").text = entry.url
        if entry.lastmod:
            ET.SubElement(url, "lastmod").text = entry.lastmod
    ET.indent(root)
    return bytes(ET.tostring(root, encoding="utf-8", xml_declaration=True)) + b"\n"


def static_file(renderer: Renderer, name: str) -> bytes:
    """A file of the package's ``static/`` folder, as it is."""
    return files("feeds").joinpath("static", name).read_bytes()
