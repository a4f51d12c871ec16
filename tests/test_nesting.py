"""The nesting count (:mod:`feeds.content.nesting`) against an HTML parser's tree.

html5lib builds the tree the HTML standard says a browser builds. For
balanced HTML the count is exact; for any markup at all (tag soup, comments,
raw text, tables, svg) it may err high, never low: a body that nests deeper
than the count says would reach the sanitiser unchecked.
"""

from __future__ import annotations

from typing import Any

import html5lib
from hypothesis import given, settings
from hypothesis import strategies as st

from feeds.content.nesting import balanced_nesting, nesting

VOID = frozenset("area base br col embed hr img input link meta source track wbr".split())


def depth(markup: str, empty: bool = True) -> int:
    """How deeply html5lib's tree of ``markup`` (a fragment in a ``<div>``)
    nests its elements. Void elements, and elements of svg and math that hold
    nothing, are leaves the count need not see; without ``empty``, so is any
    element that holds nothing (HTML makes ``<p></p>`` of a stray ``</p>``)."""
    fragment = html5lib.parseFragment(markup, container="div", namespaceHTMLElements=False)
    deepest = 0
    todo: list[tuple[Any, int]] = [(child, 1) for child in fragment]
    while todo:
        element, level = todo.pop()
        tag = element.tag if isinstance(element.tag, str) else ""
        leaf = len(element) == 0 and (tag.startswith("{") or not empty)
        if leaf or tag in VOID or not tag:
            level -= 1  # no level of nesting (or a comment)
        deepest = max(deepest, level)
        todo.extend((child, level + 1) for child in element)
    return deepest


SETTINGS = settings(max_examples=200, deadline=None, database=None, derandomize=True)
TEXT = st.sampled_from(["", "x", " ", "a b", "&amp;", "1 < 2"])
INLINE_TAGS = st.sampled_from(["span", "b", "em", "i", "code", "strong", "small"])


def element(tag: str, children: list[str]) -> str:
    return f"<{tag}>{''.join(children)}</{tag}>"


#: Phrasing content: text, void elements and inline elements, as HTML allows.
INLINE = st.recursive(
    TEXT | st.sampled_from(["<br>", '<img src="x" alt="">']),
    lambda inner: st.builds(element, INLINE_TAGS, st.lists(inner, max_size=3)),
    max_leaves=12,
)
#: Flow content: blocks holding blocks, paragraphs, lists and phrasing content.
BLOCK = st.recursive(
    st.builds(element, st.just("p"), st.lists(INLINE, max_size=3)),
    lambda inner: (
        st.builds(
            element,
            st.sampled_from(["div", "blockquote", "section"]),
            st.lists(inner | INLINE, max_size=3),
        )
        | st.builds(
            lambda items: element("ul", [element("li", [i]) for i in items]),
            st.lists(inner, max_size=3),
        )
        | st.builds(
            lambda cells: element(
                "table", [element("tbody", [element("tr", [element("td", [c]) for c in cells])])]
            ),
            st.lists(inner | INLINE, min_size=1, max_size=2),
        )
    ),
    max_leaves=16,
)


@SETTINGS
@given(markup=st.lists(BLOCK | INLINE, max_size=4).map("".join))
def test_balanced_html_is_counted_as_the_parser_nests_it(markup: str) -> None:
    assert nesting(markup) == depth(markup) == balanced_nesting(markup), markup


#: Pieces of markup whose meaning HTML's parser decides: implied ends, end
#: tags that close nothing, formatting elements opened again, foster
#: parenting, raw text, comments, attribute values, foreign content.
PIECES = st.sampled_from(
    [
        *(f"<{t}>" for t in "div span p b i a li ul ol table tr td th tbody svg math".split()),
        *(f"</{t}>" for t in "div span p b i a li ul ol table tr td th tbody svg math".split()),
        "<br>",
        "<img>",
        "<hr>",
        "<g>",
        "<circle/>",
        "<foreignObject>",
        "<mi>",
        "<mtext>",
        "<!--",
        "-->",
        "<!-- x -->",
        "<!x ",
        "<![CDATA[",
        "]]>",
        "<script>",
        "</script>",
        "<style>",
        "</style>",
        "<textarea>",
        "</textarea>",
        '<div x=">"',
        '">',
        "<b title=1>",
        "<font color=red>",
        "<select>",
        "<option>",
        "x",
        " ",
        "text",
        ">",
        "<",
    ]
)


@SETTINGS
@given(markup=st.lists(PIECES, max_size=30).map("".join))
def test_any_markup_is_counted_at_least_as_deep_as_the_parser_nests_it(markup: str) -> None:
    assert nesting(markup) >= depth(markup, empty=False), markup
