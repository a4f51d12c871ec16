"""The OPML lists a reader imports.

``/feeds.opml``, the default, holds the site's feed and the withdrawals': what
a reader of the whole site follows. Readers import every ``type="rss"``
outline of a list however deeply nested (`reader`, newsboat, listparser), and
a story is in the site's feed and in each of its tags' and authors': a list of
every feed showed each story many times. So the tags and the authors are
lists of their own (``/feeds/tags.opml``, ``/feeds/authors.opml``), each one
nested group (``<outline text="Tags">``: a folder in readers that have
folders, a tag in newsboat), tags most used first, for readers to choose."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from feeds.listings import FeedLink
from feeds.render import Renderer


def build_opml(renderer: Renderer, feeds: tuple[FeedLink, ...], group: str = "") -> bytes:
    """The list of ``feeds``; with ``group`` (a key of
    :data:`feeds.urls.OPML_GROUPS`), nested in an outline named after it."""
    site = renderer.site
    words = renderer.words(site.language)
    group = {"tags/": words("Tags"), "authors/": words("Authors")}[group] if group else ""
    root = ET.Element("opml", version="2.0")
    head = ET.SubElement(root, "head")
    title = f"{site.title}: {group}" if group else f"{site.title}: feeds"
    ET.SubElement(head, "title").text = title
    ET.SubElement(head, "ownerId").text = site.base_url
    body = ET.SubElement(root, "body")
    parent = ET.SubElement(body, "outline", text=group, title=title) if group else body
    for feed in feeds:
        # OPML 2.0 has one subscription type, "rss"; it stands for every format.
        ET.SubElement(
            parent,
            "outline",
            type="rss",
            text=feed.title,
            title=feed.title,
            xmlUrl=feed.url,
            htmlUrl=feed.page_url,
        )
    ET.indent(root)
    return bytes(ET.tostring(root, encoding="utf-8", xml_declaration=True)) + b"\n"
