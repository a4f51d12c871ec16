"""``/feeds.opml``: one feed per listing (the site, each tag, each author) and
the withdrawals feed, for a reader to import."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from feeds.listings import FeedLink
from feeds.render import Renderer


def build_opml(renderer: Renderer, feeds: tuple[FeedLink, ...]) -> bytes:
    site = renderer.site
    root = ET.Element("opml", version="2.0")
    head = ET.SubElement(root, "head")
    ET.SubElement(head, "title").text = f"{site.title}: feeds"
    ET.SubElement(head, "ownerId").text = site.base_url
    body = ET.SubElement(root, "body")
    for feed in feeds:
        # OPML 2.0 has one subscription type, "rss"; it stands for every format.
        ET.SubElement(
            body,
            "outline",
            type="rss",
            text=feed.title,
            title=feed.title,
            xmlUrl=feed.url,
            htmlUrl=feed.page_url,
        )
    ET.indent(root)
    return bytes(ET.tostring(root, encoding="utf-8", xml_declaration=True)) + b"\n"
