"""The OPML lists a reader imports.

``/feeds.opml`` holds one feed per listing: the site's, the updates', the
withdrawals', then the tags', the authors' and the sections' each in a nested group
(``<outline text="Tags">``: a folder in readers that have folders, a tag in
newsboat), tags most used first. Readers import every ``type="rss"`` outline
of a list however deeply nested (`reader`, newsboat, listparser), and a story
is in the site's feed and in each of its tags' and authors': that list shows
each story many times. So ``/feeds/site.opml``, which /feeds/ offers first,
holds the site's feed and the withdrawals' (what a reader of the whole site
follows), and the tags and the authors are lists of their own too
(``/feeds/tags.opml``, ``/feeds/authors.opml``), for readers to choose."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from feeds.outputs.listings import FeedLink
from feeds.outputs.render import Renderer


def build_opml(
    renderer: Renderer,
    feeds: tuple[FeedLink, ...],
    group: str = "",
    groups: tuple[tuple[str, tuple[FeedLink, ...]], ...] = (),
) -> bytes:
    """The list of ``feeds``; with ``group`` (a key of
    :data:`feeds.urls.OPML_GROUPS`), nested in an outline named after it;
    ``groups``: more feeds after them, each group nested so."""
    site = renderer.site
    words = renderer.words(site.language)
    names = {"tags/": words("Tags"), "authors/": words("Authors"), "sections/": words("Sections")}
    group = names[group] if group else ""
    root = ET.Element("opml", version="2.0")
    head = ET.SubElement(root, "head")
    title = f"{site.title}: {group}" if group else f"{site.title}: feeds"
    ET.SubElement(head, "title").text = title
    ET.SubElement(head, "ownerId").text = site.base_url
    body = ET.SubElement(root, "body")
    parent = ET.SubElement(body, "outline", text=group, title=title) if group else body
    _outlines(parent, feeds)
    for prefix, nested in groups:
        if nested:
            name = names[prefix]
            _outlines(ET.SubElement(body, "outline", text=name, title=name), nested)
    ET.indent(root)
    return bytes(ET.tostring(root, encoding="utf-8", xml_declaration=True)) + b"\n"


def _outlines(parent: ET.Element, feeds: tuple[FeedLink, ...]) -> None:
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
