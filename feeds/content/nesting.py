"""How deeply a fragment of HTML nests, counted before it is sanitised.

The sanitiser's time grows with depth times length, so a body deeper than
:data:`MAX_NESTING` is refused before it reaches nh3. Raw HTML written in
Markdown is counted as an HTML parser reads it (comments, raw text,
attribute values, implied ends, formatting elements opened again, tables,
svg and math), erring high where it does not follow the rules, so that no
markup hides its depth from the check; the renderer's own HTML is balanced
and is counted the fast way.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

#: Deepest nesting of elements an article may have, counted on the HTML the
#: Markdown renderer writes, raw HTML included. Readers and browsers give up
#: at some depth, and the sanitiser's time grows with depth times length, so
#: deeper bodies are refused before they are sanitised; never cut.
MAX_NESTING = 16

#: A start or end tag of balanced HTML (the renderer's, or the sanitiser's).
TAG = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9]*)[^>]*>")
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
    for closing, name in TAG.findall(markup):
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
