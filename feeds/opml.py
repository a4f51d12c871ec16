"""``/feeds.opml``: every feed, for a reader to import, grouped by format."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from feeds.listings import Listing
from feeds.model import Site

#: OPML 2.0 defines one subscription type, "rss"; it stands for feeds of every format.
FORMATS = (("rss", "RSS 2.0"), ("atom", "Atom 1.0"), ("json", "JSON Feed 1.1"))


def build_opml(listings: tuple[Listing, ...], site: Site) -> bytes:
    root = ET.Element("opml", version="2.0")
    head = ET.SubElement(root, "head")
    ET.SubElement(head, "title").text = f"{site.title}: feeds"
    ET.SubElement(head, "ownerId").text = site.base_url
    body = ET.SubElement(root, "body")
    for fmt, label in FORMATS:
        group = ET.SubElement(body, "outline", text=label, title=label)
        for listing in listings:
            ET.SubElement(
                group,
                "outline",
                type="rss",
                text=listing.title,
                title=listing.title,
                xmlUrl=listing.feed_url(site, fmt),
                htmlUrl=listing.page_url(site),
            )
    ET.indent(root)
    return bytes(ET.tostring(root, encoding="utf-8", xml_declaration=True)) + b"\n"
