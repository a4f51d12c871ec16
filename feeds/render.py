"""Markdown to safe HTML, and the HTML pieces every output shares.

:func:`sanitize` is the one place HTML is cleaned; it makes every URL in it
absolute with :func:`feeds.urls.resolve`, the resolver validation uses too.
Everything that comes from content goes through it. The other helpers build
HTML from already-validated plain text with :func:`html.escape`, and from
URLs that validation has made absolute.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import NamedTuple
from urllib.parse import quote

import nh3

from feeds import markdown, urls
from feeds.errors import FeedsError
from feeds.i18n import Words, words_for
from feeds.model import BUILTIN_PIXEL, Article, Author, Image, Site
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


#: What XML 1.0 cannot carry (C0 controls but tab, LF and CR; C1 controls;
#: U+FFFE and U+FFFF). nh3 decodes character references, so ``&#1;`` in the
#: input comes out of it as a raw U+0001, which would make every feed that
#: carries it ill-formed: the sanitiser's output is cleaned of them after nh3.
XML_UNSAFE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufffe\uffff]")


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
    unsafe = XML_UNSAFE.search(cleaned)
    if unsafe:
        removed.append(f"character U+{ord(unsafe.group()):04X}, which XML cannot carry")
        cleaned = XML_UNSAFE.sub("", cleaned)
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


#: Deepest nesting of elements an article may have, counted on the HTML the
#: Markdown renderer writes, raw HTML included. Readers and browsers give up
#: at some depth, and the sanitiser's time grows with depth times length, so
#: deeper bodies are refused before they are sanitised; never cut.
MAX_NESTING = 16

_TAG = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9]*)[^>]*>")
_VOID = frozenset("area base br col embed hr img input link meta source track wbr".split())
#: Elements whose end tag may be left out when a sibling of the same name
#: starts (``<li>a<li>b``): counting them as nested would be wrong.
_ENDED_BY_SIBLING = frozenset("p li dt dd tr td th option".split())
#: HTML's "special" elements: an end tag of another element is ignored when
#: one of them stands above its start tag (``<span><div></span>``).
_SPECIAL = frozenset(
    """address applet area article aside base basefont bgsound blockquote body br button
    caption center col colgroup dd details dir div dl dt embed fieldset figcaption figure
    footer form frame frameset h1 h2 h3 h4 h5 h6 head header hgroup hr html iframe img input
    keygen li link listing main marquee menu meta nav noembed noframes noscript object ol p
    param plaintext pre script search section select source style summary table tbody td
    template textarea tfoot th thead title tr track ul wbr xmp
    foreignobject desc mi mo mn ms mtext annotation-xml""".split()
)
#: End tags that close whatever is open inside their element, unless one of
#: :data:`_SCOPE` stands between.
_CLOSES_INSIDE = frozenset(
    """address applet article aside blockquote button center dd details dialog dir div dl
    dt fieldset figcaption figure footer h1 h2 h3 h4 h5 h6 header hgroup li listing main
    marquee menu nav object ol p pre search section summary ul""".split()
)
_SCOPE = frozenset(
    "applet caption html table td th marquee object template "
    "foreignobject desc title mi mo mn ms mtext annotation-xml".split()
)
#: Elements HTML opens again inside whatever starts after an element that
#: closed them: after ``<div><b></div>``, the next ``<div>`` holds a ``<b>``.
_FORMATTING = frozenset("a b big code em font i nobr s small strike strong tt u".split())
#: End tags of tables (and lists of options) that close what is open in them.
_TABLE = frozenset("caption colgroup select table tbody td tfoot th thead tr".split())
#: Tags a fragment of a page's body ignores.
_IGNORED = frozenset("html head body frameset frame".split())
#: Elements whose content is text, not markup, up to their end tag.
_RAW_TEXT = frozenset("iframe noembed noframes noscript script style textarea title xmp".split())
#: HTML elements that end the ``<svg>`` or ``<math>`` they start in.
_BREAKS_OUT = frozenset(
    """b big blockquote body br center code dd div dl dt em embed h1 h2 h3 h4 h5 h6 head hr
    i img li listing menu meta nobr ol p pre ruby s small span strong strike sub sup table
    tt u ul var""".split()
)
#: Elements of ``<svg>`` and ``<math>`` whose content is HTML again.
_HTML_INSIDE = {
    "svg": frozenset("foreignobject desc title".split()),
    "math": frozenset("mi mo mn ms mtext".split()),
}
#: Where content is moved out before the table, and what may stand there.
_IN_TABLE = frozenset("table tbody thead tfoot tr".split())
_TABLE_CONTENT = frozenset(
    "caption col colgroup tbody td tfoot th thead tr table script style template input form".split()
)
#: Parts of a table, ignored outside one.
_TABLE_PARTS = frozenset("caption col colgroup tbody td tfoot th thead tr".split())
#: How far down an end tag looks for its start tag; deeper, it is ignored.
_REACH = 64

_S = "\\t\\n\\f\\r "
#: Attributes as HTML reads them: a quote opens a value only after ``=``.
_ATTRIBUTES = re.compile(
    rf"[{_S}/]*+([^{_S}/>][^{_S}/>=]*+)"
    rf"(?>[{_S}]*+=[{_S}]*+(\"[^\"]*+\"?|'[^']*+'?|[^{_S}>]*+))?"
)
#: The next piece of markup: a comment however it ends (or never does), a
#: CDATA section, another ``<!``, ``<?`` or ``</`` (a bogus comment), a tag.
_MARKUP = re.compile(
    r"<!--(?:-?>|.*?--!?>|.*)"
    r"|(?P<cdata><!\[CDATA\[)"
    r"|<[!?][^>]*+>?|</(?![a-zA-Z])[^>]*+>?"
    rf"|<(?P<end>/?)(?P<name>[a-zA-Z][^{_S}/>]*+)"
    rf"(?P<attributes>(?>[{_S}]++|/(?!>)|[^{_S}/>][^{_S}/>=]*+"
    rf"(?>[{_S}]*+=[{_S}]*+(?>\"[^\"]*+\"?|'[^']*+'?|[^{_S}>]*+))?)*+)"
    r"(?P<closed>/?>)?",
    re.S,
)
_RAW_END = {name: re.compile(rf"</{name}[{_S}/>]", re.I) for name in _RAW_TEXT}
#: In a script: where an escape (``<!--``) starts or ends, or the script does.
_SCRIPT = re.compile(rf"<!--(-*>)?|-->|<(/?)script[{_S}/>]", re.I)


@dataclass(eq=False)
class _Open:
    """An element the count holds open."""

    name: str
    #: Name and attributes of a formatting element (see :data:`_FORMATTING`).
    same: str | None = None
    #: ``svg`` or ``math`` for an element of theirs; empty for HTML.
    space: str = ""
    #: Its content is of ``space`` too (it is none of :data:`_HTML_INSIDE`).
    foreign_inside: bool = False
    #: On the stack.
    open: bool = True
    #: Its place in the list of formatting elements, if it has one.
    slot: int | None = None
    #: A table that text or an element was written straight into: HTML moves
    #: them out before it, at a cost that grows with the tables beside it.
    #: The count holds such a table open for good.
    moved_out: bool = False


_HEADINGS = frozenset("h1 h2 h3 h4 h5 h6".split())
#: Start tags that close an open ``<p>``.
_CLOSES_P = frozenset(
    """address article aside blockquote center details dialog dir div dl dd dt fieldset
    figcaption figure footer form h1 h2 h3 h4 h5 h6 header hgroup hr li listing main menu
    nav ol p plaintext pre search section summary table ul xmp""".split()
)
#: Start tags before which HTML does not open again the formatting elements
#: that another element's end tag closed (every other start tag, and text, does).
_NOT_REOPENING = frozenset(
    """address article aside blockquote center details dialog dir div dl dd dt fieldset
    figcaption figure footer form h1 h2 h3 h4 h5 h6 header hgroup hr li listing main menu
    nav ol p pre search section summary table ul""".split()
)
#: Past this depth the count stops opening formatting elements again: the
#: fragment is far too deep already, and the work stays linear.
_REOPEN_LIMIT = 1000


def _script_end(markup: str, start: int) -> int:
    """Where the script whose content starts at ``start`` ends: at the first
    ``</script``, unless an escape (``<!--``) holds a ``<script`` whose own
    ``</script`` comes first, as HTML reads scripts."""
    escaped = double = False
    for found in _SCRIPT.finditer(markup, start):
        token = found.group()
        if token.startswith("<!--"):
            if not escaped:
                escaped = found.group(1) is None  # <!--> ends as it starts
        elif token == "-->":
            escaped = double = False
        elif found.group(2):  # </script
            if not double:
                return found.start()
            double = False
        elif escaped:  # <script inside an escape
            double = True
    return len(markup)


class _Count:
    """The stack of open elements and the list of formatting elements, as an
    HTML parser keeps them, reduced to what decides how deep they go."""

    def __init__(self) -> None:
        self.stack: list[_Open] = []
        #: The formatting elements to open again where content follows, by slot.
        self.formatting: dict[int, _Open] = {}
        #: Their slots, by name and attributes: at most three alike.
        self.alike: dict[str, list[int]] = {}
        self.slots = 0
        #: How many elements of each name are open.
        self.opened: dict[str, int] = {}
        self.deepest = 0

    def push(self, element: _Open) -> None:
        self.stack.append(element)
        self.deepest = max(self.deepest, len(self.stack))
        self.opened[element.name] = self.opened.get(element.name, 0) + 1

    def pop(self) -> _Open:
        element = self.stack.pop()
        element.open = False
        self.opened[element.name] -= 1
        return element

    def forget(self, element: _Open) -> None:
        """Take a formatting element off the list."""
        if element.slot is not None and element.same is not None:
            del self.formatting[element.slot]
            self.alike[element.same].remove(element.slot)
            element.slot = None

    def reopen(self) -> None:
        """Open again the formatting elements at the end of the list that are
        not open (up to the last one that is), in order."""
        if not self.formatting or len(self.stack) > _REOPEN_LIMIT:
            return
        if self.stack and self.stack[-1].foreign_inside:
            return  # not in <svg> or <math>
        run = []
        for slot in reversed(self.formatting):
            if self.formatting[slot].open:
                break
            run.append(slot)
        for slot in reversed(run):
            closed = self.formatting[slot]
            again = _Open(closed.name, closed.same, slot=slot)
            self.formatting[slot] = again
            self.push(again)

    def start_formatting(self, name: str, same: str) -> None:
        """A formatting element starts: the list keeps at most three alike."""
        slots = self.alike.setdefault(same, [])
        if len(slots) >= 3:
            self.forget(self.formatting[slots[0]])
        self.slots += 1
        element = _Open(name, same, slot=self.slots)
        self.formatting[self.slots] = element
        slots.append(self.slots)
        self.push(element)

    def moved_out(self) -> None:
        """Text or an element goes straight into the table open last."""
        for element in reversed(self.stack[-_REACH:]):
            if element.name == "table":
                element.moved_out = True
                return

    def closed_by(self, name: str) -> bool:
        """Close what HTML closes before this start tag: an open ``<p>`` before
        a block, the open list item before another, the table or list of
        options before another (or an ``<input>``), the heading before
        another, a button or link before another. Left open, a later end tag could take one for its
        own and close what was opened since. True when HTML drops the tag:
        a ``<select>`` in one closes it, and nothing more."""
        stack = self.stack
        if name in _CLOSES_P:
            self.end("p")
        if name in ("li", "dd", "dt"):
            items = ("li",) if name == "li" else ("dd", "dt")
            for element in reversed(stack[-_REACH:]):
                if element.name in items:
                    self.end(element.name)
                    break
                if element.name in _SPECIAL and element.name not in ("address", "div", "p"):
                    break
        elif name in _HEADINGS and stack and stack[-1].name in _HEADINGS:
            self.pop()
        elif name in ("button", "a", "nobr"):
            self.end(name)
        elif name == "select":
            return self.end(name)
        elif name == "input":
            self.end("select")
        elif name == "table":  # only straight in a table: not in a cell, nor in what
            for element in reversed(stack[-_REACH:]):  # a table moves out of it
                if element.name == "table" and not element.moved_out:
                    self.end("table")
                if element.name not in ("tbody", "thead", "tfoot", "tr"):
                    break
        return False

    def end(self, name: str) -> bool:
        """What an end tag closes, as HTML's rules for it do, or less."""
        stack = self.stack
        if name == "br" or not self.opened.get(name):
            return False  # </br> is read as <br>
        for down in range(1, min(len(stack), _REACH) + 1):
            element = stack[-down]
            if element.name == name:
                if element.moved_out:
                    return False  # held open for good
                break
            if name == "form":  # </form> takes its form out of the stack, nothing else
                if element.name in _SCOPE:
                    return False
                continue
            if name in _CLOSES_INSIDE:
                if element.name in _SCOPE or (
                    (name == "p" and element.name == "button")
                    or (name == "li" and element.name in ("ol", "ul"))
                ):
                    return False
            elif name in _TABLE:
                if element.name in ("table", "template") or element.moved_out:
                    return False
            elif element.name in _SPECIAL:
                # A formatting element under a block is moved, not closed:
                # counted as open.
                return False
        else:
            return False
        if name == "form":
            del stack[-down]
            self.opened[name] -= 1
            return True
        for _ in range(down):
            closed = self.pop()
        self.forget(closed)
        return True


def balanced_nesting(markup: str) -> int:
    """How deeply the elements of balanced HTML nest (what the Markdown
    renderer writes of Markdown, or the sanitiser returns), in one pass;
    :func:`nesting` for any HTML."""
    depth = deepest = 0
    for closing, name in _TAG.findall(markup):
        if closing:
            depth -= 1
        elif name.lower() not in _VOID:
            depth += 1
            deepest = max(deepest, depth)
    return deepest


def nesting(markup: str) -> int:
    """How deeply HTML nests the elements of a fragment, in one pass.

    Exact for balanced HTML. Raw HTML is read
    as HTML reads it wherever that decides where tags are: comments, CDATA,
    attribute values and the text of ``<script>``, ``<style>`` and the like
    hold no tags, an end tag is ignored above a "special" element or a
    table cell, formatting elements closed by another's end tag are opened
    again where content follows, and ``<svg>`` holds its own elements. Where
    HTML's rules are not followed, the count errs high: an end tag the count
    is not sure closes something (a formatting element under a block, a
    start tag more than :data:`_REACH` down) closes nothing.
    """
    count = _Count()
    stack = count.stack
    position = 0
    while (found := _MARKUP.search(markup, position)) is not None:
        inside = stack[-1] if stack else None
        if found.start() > position:
            count.reopen()  # text
            if (
                inside is not None
                and inside.name in _IN_TABLE
                and markup[position : found.start()].strip()
            ):
                count.moved_out()
        position = found.end()
        inside = stack[-1] if stack else None
        if found.group("cdata") is not None:
            if inside is not None and inside.space:  # CDATA: text up to ]]>
                close = markup.find("]]>", position)
                position = len(markup) if close < 0 else close + 3
                count.reopen()
            else:  # in HTML, a bogus comment up to >
                close = markup.find(">", position)
                position = len(markup) if close < 0 else close + 1
            continue
        name = found.group("name")
        if name is None:
            continue  # a comment
        if found.group("closed") is None:
            break  # a tag the end of the markup cuts: HTML drops it
        name = name.lower()
        if found.group("end"):
            if name in ("p", "br") and inside is not None and inside.name in _IN_TABLE:
                count.moved_out()  # HTML makes an element of these
            if name not in _IGNORED:
                count.end(name)
            continue
        foreign = inside.foreign_inside if inside is not None else False
        attributes = found.group("attributes")
        if foreign and (
            name in _BREAKS_OUT
            or (
                name == "font"
                and any(a.lower() in ("color", "face", "size") for a, _ in _named(attributes))
            )
        ):
            while stack and stack[-1].foreign_inside:
                count.pop()
            foreign = False
        if name in _IGNORED:
            continue
        if foreign:
            if found.group("closed") == "/>":
                continue
            assert inside is not None
            space = inside.space
            if name == "svg" and inside.name == "annotation-xml":
                space = "svg"
            count.push(_Open(name, None, space, _foreign_inside(space, name, attributes)))
            continue
        if stack and stack[-1].name in _IN_TABLE and name not in _TABLE_CONTENT:
            count.moved_out()
        if count.closed_by(name):
            continue
        if name not in _NOT_REOPENING:
            count.reopen()
        if name in _VOID:
            continue
        if name in _ENDED_BY_SIBLING and stack and stack[-1].name == name:
            continue  # the previous one ends where this one starts
        if name in _FORMATTING:
            count.start_formatting(name, name + " " + " ".join(attributes.split()))
            continue
        if name in _TABLE_PARTS and not count.opened.get("table"):
            continue
        space = name if name in ("svg", "math") else ""
        count.push(_Open(name, None, space, bool(space)))
        if name == "plaintext":
            position = len(markup)
        elif name == "script":
            position = _script_end(markup, position)
        elif name in _RAW_TEXT:
            raw_end = _RAW_END[name].search(markup, position)
            position = len(markup) if raw_end is None else raw_end.start()
    if position < len(markup):
        count.reopen()
    return count.deepest


def _foreign_inside(space: str, name: str, attributes: str) -> bool:
    """Is the content of this element of ``<svg>`` or ``<math>`` theirs too,
    not HTML?"""
    if name in _HTML_INSIDE[space]:
        return False
    return not (
        space == "math"
        and name == "annotation-xml"
        and any(
            a.lower() == "encoding"
            and v.strip("\"'").lower() in ("text/html", "application/xhtml+xml")
            for a, v in _named(attributes)
        )
    )


def _named(attributes: str) -> list[tuple[str, str]]:
    """(name, value as written) of each attribute of a tag."""
    return _ATTRIBUTES.findall(attributes)


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
        text = " ".join(html.unescape(_TAG.sub("", match.group(1))).split())
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


def _e(text: str) -> str:
    return html.escape(text, quote=True)


def _link(url: str | None, text: str, rel: str | None = None) -> str:
    if not url:
        return _e(text)
    rel_attr = f' rel="{rel}"' if rel else ""
    return f'<a href="{_e(url)}"{rel_attr}>{_e(text)}</a>'


def _size(image: Image) -> str:
    """`` width="…" height="…"``, when the file is ours and its size known."""
    if image.width is None or image.height is None:
        return ""
    return f' width="{image.width}" height="{image.height}"'


def figure_html(image: Image, words: Words) -> str:
    """The lead image with its caption and credit."""
    caption = []
    if image.caption:
        caption.append(_e(image.caption))
    if image.credit:
        credit = words.html("Credit: %(credit)s", credit=_link(image.credit_url, image.credit))
        caption.append(f'<small class="credit">{credit}</small>')
    figcaption = f"<figcaption>{' '.join(caption)}</figcaption>" if caption else ""
    return (
        f'<figure><img src="{_e(image.url)}" alt="{_e(image.alt)}"{_size(image)}>'
        f"{figcaption}</figure>"
    )


def footer_html(article: Article, words: Words) -> str:
    """What partners must carry with the article: corrections, attribution,
    bios in byline order, licence, canonical link and source."""
    parts = []
    if article.corrections:
        items = "".join(
            "<li><strong>"
            + words.html("Correction, %(date)s:", date=_e(words.date(c.date)))
            + f"</strong> {_e(c.text)}</li>"
            for c in article.corrections
        )
        heading = words.html("Corrections")
        parts.append(f"<h2>{heading}</h2><ul>{items}</ul>")
    canonical = article.canonical_url or article.url
    producer = words.html(
        "This article was produced by %(producer)s.", producer=_link(canonical, article.producer)
    )
    parts.append(f"<p><em>{producer}</em></p>")
    for author in article.authors:
        if author.bio_html:
            parts.append(f"<p><strong>{_link(author.url, author.name)}</strong></p>")
            parts.append(author.bio_html)
    lic = article.license
    if lic.url:
        licence = words.html(
            "This article is licensed under %(licence)s (%(label)s).",
            licence=_link(lic.url, lic.name, rel="license"),
            label=_e(lic.label),
        )
        parts.append(f"<p>{licence}</p>")
    else:
        parts.append(f"<p>{_e(all_rights_reserved(article, words))}</p>")
    original = words.html("Original article: %(link)s", link=_link(canonical, canonical))
    parts.append(f"<p>{original}</p>")
    source = words.html("Source: %(source)s", source=_e(article.source))
    parts.append(f"<p>{source}</p>")
    return "<hr>" + "".join(parts)


def shared_image(article: Article) -> Image | None:
    """The lead image as partners may get it: none when it is not
    ``distributable`` (licensed for our own pages only). Every feed and every
    partner-facing output takes the lead image from here."""
    image = article.image
    return image if image is not None and image.distributable else None


def content_html(article: Article, words: Words) -> str:
    """Full text for feeds: lead image (if it may be shared), body, then the footer."""
    image = shared_image(article)
    figure = figure_html(image, words) if image else ""
    return figure + article.body_html + footer_html(article, words)


class Renderer:
    """What every output builder gets besides its own inputs: the site, the
    words of each language, and each article's full HTML, rendered once
    however many outputs carry it."""

    def __init__(self, site: Site) -> None:
        self.site = site
        self._full: dict[str, str] = {}

    def words(self, language: str) -> Words:
        """The furniture for text in ``language`` (the site's, where there is
        no catalogue for it)."""
        return words_for(language, self.site.language, self.site.zone)

    def full_html(self, article: Article) -> str:
        """The article's full text for feeds (:func:`content_html`)."""
        html = self._full.get(article.id)
        if html is None:
            words = self.words(article.language)
            html = self._full[article.id] = content_html(article, words)
        return html


def all_rights_reserved(article: Article, words: Words) -> str:
    """The notice of an article under no licence, dated in the site's timezone."""
    year = article.date.astimezone(words.zone).year
    return words(
        "© %(year)s %(producer)s. All rights reserved.", year=year, producer=article.producer
    )


def rfc3339(moment: datetime) -> str:
    """``2026-11-27T12:00:00Z``: how feeds and sitemaps write a moment."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def byline_parts(authors: tuple[Author, ...], words: Words) -> Iterator[tuple[Author, str]]:
    """Each author with what follows the name in a byline: "A, B and C", "A, B y C"."""
    marks = [f"\x00{index}\x00" for index in range(len(authors))]
    joined = words.names(marks)
    for index, author in enumerate(authors):
        after = joined.split(marks[index], 1)[1]
        yield author, after.split(marks[index + 1], 1)[0] if index + 1 < len(marks) else after


def byline(article: Article, words: Words) -> str:
    """Plain text: "A", "A and B", "A, B and C", in the words of the article."""
    return words.names([author.name for author in article.authors])


def pixel_url(article: Article, site: Site) -> str | None:
    """The republication pixel of ``article``: the site's own (``builtin``)
    or its template filled in with the article's URL; None without one."""
    if site.republish_pixel is None:
        return None
    if site.republish_pixel == BUILTIN_PIXEL:
        return urls.absolute(site.base_url, urls.pixel(article.id))
    return site.republish_pixel.replace("{url}", quote(article.url, safe=""))


def embargo_html(article: Article, words: Words) -> str:
    """The first line of an embargoed article wherever a partner reads it."""
    moment = article.date.astimezone(words.zone)
    zone = getattr(words.zone, "key", None) or moment.strftime("%Z")  # America/Lima
    when = f"{moment:%Y-%m-%d %H:%M} {zone}"
    notice = words("EMBARGOED until %(moment)s — do not publish before", moment=when)
    return f'<p class="embargo"><strong>{_e(notice)}</strong></p>'


def pixel_html(pixel: str) -> str:
    return f'<img src="{_e(pixel)}" width="1" height="1" alt="">'


def partner_html(full: str, article: Article, site: Site, words: Words, embargoed: bool) -> str:
    """What an item of a partners' feed carries, which their systems
    republish as it is: the embargo notice while there is one, the article's
    full HTML (``full``), and the republication pixel when the site has one."""
    notice = embargo_html(article, words) if embargoed else ""
    pixel = pixel_url(article, site)
    return notice + full + (pixel_html(pixel) if pixel else "")


def republish_html(article: Article, pixel: str | None, words: Words) -> str:
    """Copy-ready HTML for partner outlets, in the article's language:
    headline, byline, date, the lead image only if it may be distributed,
    body, footer, and the tracking pixel when the site has one. Images of
    ours carry their size in pixels, so the partner's page keeps its layout
    while they load."""
    parts = [f"<h1>{_e(article.title)}</h1>"]
    if article.subtitle:
        parts.append(f"<p><em>{_e(article.subtitle)}</em></p>")
    date = f'<time datetime="{article.date.isoformat()}">{_e(words.date(article.date))}</time>'
    by = words.html("By %(names)s, %(date)s", names=_e(byline(article, words)), date=date)
    parts.append(f"<p>{by}</p>")
    if image := shared_image(article):
        parts.append(figure_html(image, words))
    parts.append(article.body_html)
    parts.append(footer_html(article, words))
    if pixel:
        parts.append(pixel_html(pixel))
    return f'<div lang="{_e(article.language)}">{"".join(parts)}</div>'


def withdrawal_html(article: Article, words: Words) -> str:
    """The notice that replaces a withdrawn article: when, why, and what it
    was, so that a partner can find and take down their copy."""
    withdrawn = article.withdrawn
    assert withdrawn is not None
    date = _e(words.date(withdrawn.date))
    moment = f'<time datetime="{withdrawn.date.isoformat()}">{date}</time>'
    when = words.html("This article was withdrawn on %(date)s.", date=moment)
    reason = words.html("Reason: %(reason)s", reason=_e(withdrawn.reason))
    original = words.html("Original address: %(link)s", link=_link(article.url, article.url))
    entry = words.html("Entry id: %(id)s", id=f"<code>{_e(article.id)}</code>")
    return f"<p>{when}</p><p>{reason}</p><p>{original}</p><p>{entry}</p>"
