"""``/feeds.opml``: the site's feeds, for a reader to import, grouped by format."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from feeds.listings import FeedLink
from feeds.render import Renderer

#: OPML 2.0 defines one subscription type, "rss"; it stands for feeds of every format.
FORMATS = (("rss", "RSS 2.0"), ("atom", "Atom 1.0"), ("json", "JSON Feed 1.1"))


def build_opml(renderer: Renderer, feeds: tuple[FeedLink, ...]) -> bytes:
    site = renderer.site
    root = ET.Element("opml", version="2.0")
    head = ET.SubElement(root, "head")
    ET.SubElement(head, "title").text = f"{site.title}: feeds"
    ET.SubElement(head, "ownerId").text = site.base_url
    body = ET.SubElement(root, "body")
    for fmt, label in FORMATS:
        group = ET.SubElement(body, "outline", text=label, title=label)
        for feed in feeds:
            if feed.fmt == fmt:
                ET.SubElement(
                    group,
                    "outline",
                    type="rss",
                    text=feed.title,
                    title=feed.title,
                    xmlUrl=feed.url,
                    htmlUrl=feed.page_url,
                )
    ET.indent(root)
    return bytes(ET.tostring(root, encoding="utf-8", xml_declaration=True)) + b"\n"
