"""Markdown to (unsanitised) HTML: the one module that knows which library does it.

CommonMark with the GitHub tables and strikethrough extensions (``~x~`` and
``~~x~~``, written ``<del>``), rendered by pulldown-cmark through pyromark.
It has no nesting limit that would drop text silently (bodies nested too
deeply are refused by :func:`feeds.content.sanitize.render_markdown` instead), and the
runs of brackets that made markdown-it-py quadratic cost it linear time
(``bench/limits.py``).

Raw HTML passes through, as CommonMark requires: :func:`feeds.content.sanitize.sanitize`
must clean what this returns, and it is the defence. One thing is decided
here, because only the Markdown parser can do it: a Markdown link or image
whose destination is ``javascript:`` (or vbscript, data, file), however
disguised, is not made a link at all. Its source is shown as text, as it was
written, so an editor sees what was refused rather than a link that does
nothing.
"""

from __future__ import annotations

import html
import re
from typing import Any
from urllib.parse import unquote

import pyromark

_OPTIONS = pyromark.Options.ENABLE_TABLES | pyromark.Options.ENABLE_STRIKETHROUGH
_PARSER = pyromark.Markdown(options=_OPTIONS)

#: Schemes that must never reach a link, however they are disguised.
_BAD_SCHEME = re.compile(r"^(?:javascript|vbscript|data|file):")
#: What browsers ignore inside a URL's scheme: ASCII whitespace and controls.
_IGNORED_IN_URLS = re.compile(r"[\x00-\x20\x7f]+")
#: The URLs the renderer writes for Markdown links and images that could
#: name a scheme: not those that start as a path, a fragment or a web URL,
#: nearly all of them. (Raw HTML may match too: then there is simply nothing
#: to escape, and the sanitiser drops the URL.)
_RENDERED_URL = re.compile(r'<(?:a href|img src)="(?!/|\.|#|https?://)([^"]*)"')
#: Escaping a refused link can turn the brackets around it into a new link
#: (``[[x](javascript:a)](javascript:b)``); each pass undoes one level. Past
#: this many, what is left is only made harmless by the sanitiser.
_PASSES = 4


def refused(url: str) -> bool:
    """Whether a link destination names a scheme no link may have. Browsers
    drop tabs and newlines from URLs, so ``java&#x09;script:`` is one."""
    bare = _IGNORED_IN_URLS.sub("", unquote(url)).lower()
    return bool(_BAD_SCHEME.match(bare))


def to_html(text: str) -> str:
    """CommonMark with tables and strikethrough to HTML, not sanitised."""
    out = _PARSER.html(text)
    for _ in range(_PASSES):
        if not any(refused(html.unescape(url)) for url in _RENDERED_URL.findall(out)):
            break
        escaped = _escape_refused_links(text)
        if escaped == text:  # what is left came from raw HTML: the sanitiser's
            break
        text = escaped
        out = _PARSER.html(text)
    return out


def _escape_refused_links(text: str) -> str:
    """The text with a backslash before the opening bracket (or ``<``) of each
    link, image and reference definition whose destination is refused, so
    that it reads as the literal text it was written as."""
    at: set[int] = set()
    for event, span in _PARSER.events_with_range(text):
        start = event.get("Start") if isinstance(event, dict) else None
        if not isinstance(start, dict):
            continue
        link: Any = start.get("Link")
        if link is not None and refused(link["dest_url"]):
            at.add(span["start"])  # '[' or the '<' of an autolink
        image: Any = start.get("Image")
        if image is not None and refused(image["dest_url"]):
            at.add(span["start"] + 1)  # the '[' after '!'
    for definition in _PARSER.reference_definitions(text).values():
        if refused(definition["dest"]):
            at.add(definition["span"]["start"])
    if not at:
        return text
    data = text.encode()
    pieces = []
    previous = 0
    for offset in sorted(at):
        pieces += [data[previous:offset], b"\\"]
        previous = offset
    pieces.append(data[previous:])
    return b"".join(pieces).decode()
