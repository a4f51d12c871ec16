"""Markdown to safe HTML: the one place HTML from content is cleaned.

:func:`sanitize` makes every URL in it absolute with :func:`feeds.urls.resolve`,
the resolver validation uses too. Everything that comes from content goes
through it, when it is validated; the outputs only show what it returned
(:mod:`feeds.outputs.render` builds the HTML around it).
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from typing import NamedTuple

import nh3

from feeds.content import markdown
from feeds.content.documents import FORBIDDEN_CHARACTERS
from feeds.content.nesting import MAX_NESTING, TAG, balanced_nesting, nesting
from feeds.errors import FeedsError
from feeds.urls import resolve

SUMMARY_LENGTH = 300

ALLOWED_TAGS = frozenset(
    """a abbr b blockquote br cite code dd del dl dt em figcaption figure h1 h2 h3 h4 h5 h6
    hr i img ins kbd li mark ol p pre q s small strong sub sup table tbody td tfoot th thead
    tr u ul""".split()
)
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "abbr": {"title"},
    "img": {"src", "alt", "title", "width", "height"},
    "ol": {"start"},
    "td": {"colspan", "rowspan", "style"},
    "th": {"colspan", "rowspan", "style"},
}
#: Tags whose content goes too, not only the tag.
DROPPED_WITH_CONTENT = frozenset(
    "script style template noscript iframe object embed svg math textarea select title".split()
)
URL_SCHEMES = frozenset({"http", "https", "mailto"})
_URL_ATTRIBUTES = frozenset({"href", "src"})


class RenderError(FeedsError):
    """HTML could not be rendered for a page (a bug in the caller, never content)."""


# What XML 1.0 cannot carry (:data:`~feeds.content.documents.FORBIDDEN_CHARACTERS`,
# which files are refused for). nh3 decodes character references, so ``&#1;``
# in the input comes out of it as a raw U+0001, which would make every feed
# that carries it ill-formed: the sanitiser's output is cleaned of them after nh3.


class Sanitised(NamedTuple):
    #: Safe HTML, absolute URLs, only characters XML can carry.
    html: str
    #: Every URL it links to or shows, in document order.
    urls: tuple[str, ...]
    #: What was taken out that the input held, as sentence fragments.
    removed: tuple[str, ...] = ()
    #: Each of ``urls`` as the fragment wrote it.
    written: tuple[str, ...] = ()


def sanitize(fragment: str, page_url: str, base_url: str, report: bool = False) -> Sanitised:
    """Clean an HTML fragment from the page at ``page_url`` and make every URL
    in it absolute.

    ``base_url`` is the site's: a root-relative ``/x`` means ``base_url + "x"``,
    so a site served under a path (``https://example.org/news/``) keeps its
    images. Allowlist of tags and attributes; no script, style, frame, form or
    event handler; only http, https and mailto URLs; table alignment is the
    only inline style kept. A URL that cannot be resolved is dropped. With
    ``report`` (``feeds check``), ``removed`` also says which elements and
    attributes of the fragment are taken out.
    """
    if not page_url.startswith(base_url):
        raise RenderError(f"{page_url!r} is not under {base_url!r}")
    found: list[str] = []
    written: list[str] = []

    def absolute(element: str, attribute: str, value: str) -> str | None:
        if attribute not in _URL_ATTRIBUTES:
            return value
        url = resolve(value, page_url, base_url)
        # nh3 asks about elements it then drops (an iframe's src): not shown, not found.
        if url is not None and attribute in ALLOWED_ATTRIBUTES.get(element, ()):
            found.append(url)
            written.append(value)
        return url

    cleaned = nh3.clean(
        fragment,
        tags=set(ALLOWED_TAGS),
        clean_content_tags=set(DROPPED_WITH_CONTENT),
        attributes={tag: set(attrs) for tag, attrs in ALLOWED_ATTRIBUTES.items()},
        attribute_filter=absolute,
        url_schemes=set(URL_SCHEMES),
        link_rel=None,
        filter_style_properties={"text-align"},
        url_relative="pass_through",
    )
    removed = removed_markup(fragment, page_url, base_url) if report else []
    unsafe = FORBIDDEN_CHARACTERS.search(cleaned)
    if unsafe:
        removed.append(f"character U+{ord(unsafe.group()):04X}, which XML cannot carry")
        cleaned = FORBIDDEN_CHARACTERS.sub("", cleaned)
    return Sanitised(cleaned, tuple(found), tuple(removed), tuple(written))


_START_TAG = re.compile(r"<([a-zA-Z][a-zA-Z0-9-]*)((?:[^>\"']|\"[^\"]*\"|'[^']*')*)>")
_ATTRIBUTE = re.compile(r"""([^\s"'/>=]+)(?:\s*=\s*("[^"]*"|'[^']*'|[^\s>]+))?""")


def removed_markup(fragment: str, page_url: str, base_url: str) -> list[str]:
    """What :func:`sanitize` takes out of ``fragment``, each once, in order:
    ``<script> and its content``, ``the onerror attribute of <img>``, ``the
    href 'javascript:…' of <a>``. For an editor's warning: it reads the
    fragment as the allowlist does, not as nh3 does, and errs on the side of
    saying too much."""
    found: dict[str, None] = {}
    for tag, attributes in _START_TAG.findall(fragment):
        name = tag.lower()
        if name not in ALLOWED_TAGS:
            content = " and its content" if name in DROPPED_WITH_CONTENT else ""
            found[f"<{name}>{content}"] = None
            continue
        allowed = ALLOWED_ATTRIBUTES.get(name, ())
        for attribute, quoted in _ATTRIBUTE.findall(attributes):
            key = attribute.lower()
            value = html.unescape(quoted.strip("\"'"))
            if key not in allowed:
                found[f"the {key} attribute of <{name}>"] = None
            elif key in _URL_ATTRIBUTES and resolve(value, page_url, base_url) is None:
                shown = value if len(value) <= 40 else value[:39] + "…"
                found[f"the {key} {shown!r} of <{name}>"] = None
            elif key == "style" and not re.fullmatch(r"\s*text-align\s*:\s*\w+\s*;?\s*", value):
                found[f"the style {value!r} of <{name}> (only text-align is kept)"] = None
    return list(found)


class Rendered(NamedTuple):
    #: Safe HTML, absolute URLs.
    html: str
    #: Plain text of the first paragraph, as readers see it (after sanitising).
    first_paragraph: str
    #: How deeply its elements nest (see :data:`MAX_NESTING`).
    depth: int
    #: Every URL it links to or shows.
    urls: tuple[str, ...]
    #: What the sanitiser took out (see :class:`Sanitised`).
    removed: tuple[str, ...] = ()
    #: Each of ``urls`` as the Markdown wrote it.
    written: tuple[str, ...] = ()


def render_markdown(text: str, page_url: str, base_url: str, report: bool = False) -> Rendered:
    """Markdown to safe HTML with the plain text of its first paragraph; URLs
    as in :func:`sanitize`.

    ``depth`` says how deeply the body nests; callers refuse one deeper than
    :data:`MAX_NESTING`. Such a body is not sanitised at all (the
    sanitiser's time grows with depth times length): it comes back with no
    HTML, only its depth.
    """
    raw = markdown.to_html(text)
    # Without a "<", the Markdown holds no HTML: all of it is the renderer's own.
    depth = nesting(raw) if "<" in text else balanced_nesting(raw)
    if depth > MAX_NESTING:
        return Rendered("", "", depth, ())
    body = sanitize(raw, page_url, base_url, report)
    return Rendered(
        body.html,
        first_paragraph(body.html),
        max(depth, balanced_nesting(body.html)),
        body.urls,
        body.removed,
        body.written,
    )


_IMAGE = re.compile(r'<img src="([^"]*)"([^>]*)>')


def with_sizes(safe_html: str, size_of: Callable[[str], tuple[int, int] | None]) -> str:
    """Sanitised HTML whose images have ``width`` and ``height`` where
    ``size_of(url)`` knows them and the writer gave none: a page (ours, or a
    partner's that pastes it) keeps its layout while images load."""
    if "<img " not in safe_html:
        return safe_html

    def sized(match: re.Match[str]) -> str:
        rest = match.group(2)
        size = (
            None
            if " width=" in rest or " height=" in rest
            else size_of(html.unescape(match.group(1)))
        )
        if size is None:
            return match.group()
        return f'<img src="{match.group(1)}" width="{size[0]}" height="{size[1]}"{rest}>'

    return _IMAGE.sub(sized, safe_html)


_PARAGRAPH = re.compile(r"<p>(.*?)</p>", re.S)


def first_paragraph(safe_html: str) -> str:
    """The text of the first paragraph with any text, from sanitised HTML: what
    a reader sees of it, so nothing the sanitiser removed (a script's text)
    reaches a summary. Sanitised HTML is well formed, with ``<`` in text
    escaped, so its tags can be stripped by pattern."""
    for match in _PARAGRAPH.finditer(safe_html):
        text = " ".join(html.unescape(TAG.sub("", match.group(1))).split())
        if text:
            return text
    return ""


def shorten(text: str, limit: int = SUMMARY_LENGTH) -> str:
    """At most ``limit`` characters, cut at a word boundary, with an ellipsis when cut."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]  # room for the ellipsis
    if text[limit - 1] != " ":  # the cut is inside a word: go back to its start
        space = cut.rfind(" ")
        if space > limit // 2:
            cut = cut[:space]
    return cut.rstrip(" ,;:.-\u2013\u2014") + "\u2026"
