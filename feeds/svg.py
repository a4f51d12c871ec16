"""SVG images that could run script, refused before they are published.

An SVG is a document: a ``<script>``, an event handler (``onload``), a
``javascript:`` link or HTML in a ``<foreignObject>`` runs when the file is
opened on its own, with the origin of wherever it is served. The app serves
images with a sandboxing Content-Security-Policy, but an object store (what
``feeds deploy`` writes to) sends none: so such a file is never published.
Parsed with lxml, without fetching or reading anything the file points to.
"""

from __future__ import annotations

import re
from pathlib import Path

from lxml import etree

#: Elements that run script or embed a document: ``handler`` and
#: ``listener`` are SVG Tiny 1.2's and XML Events' script.
_ACTIVE = frozenset({"script", "foreignobject", "handler", "listener", "iframe", "embed", "object"})
#: What browsers ignore inside a URL's scheme (``java&#9;script:``).
_IGNORED = re.compile(r"[\x00-\x20\x7f]+")
_SCHEMES = ("javascript:", "vbscript:", "data:text/html", "data:application/")


def _local(name: object) -> str:
    return str(name).rpartition("}")[2].lower() if isinstance(name, str) else ""


def script_in(path: Path) -> tuple[int | None, str] | None:
    """What in the SVG at ``path`` could run script, said for the editor,
    and its line; None when nothing could."""
    parser = etree.XMLParser(
        resolve_entities="internal",
        no_network=True,
        load_dtd=False,
        huge_tree=False,
    )
    try:
        root = etree.parse(str(path), parser).getroot()
    except (etree.XMLSyntaxError, OSError, ValueError) as e:
        return None, f"is not a well-formed SVG ({e}); it cannot be checked for script"
    for element in root.iter():
        if not isinstance(element.tag, str):
            continue  # a comment or processing instruction
        name = _local(element.tag)
        if name in _ACTIVE:
            return element.sourceline, f"has a <{element.tag.rpartition('}')[2]}> element"
        for attribute, value in element.attrib.items():
            key = _local(attribute)
            if key.startswith("on"):
                return element.sourceline, f"has an event handler, {key}="
            if _IGNORED.sub("", str(value)).lower().startswith(_SCHEMES):
                return element.sourceline, f"has a script URL in {key}="
    return None
