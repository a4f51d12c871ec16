"""What users see of :mod:`feeds.outputs.render`: safe HTML, absolute URLs, summaries,
dates, the lead figure and the footer partners must carry; plus the date and
tag-slug parsing from :mod:`feeds.content.fields` and :mod:`feeds.urls` that the
rendered output relies on.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from feeds.content.fields import parse_date
from feeds.content.sanitize import render_markdown, shorten
from feeds.licenses import LICENSES
from feeds.model import Article, Author, Correction, Image
from feeds.outputs.i18n import words_for
from feeds.outputs.render import content_html, figure_html, footer_html
from feeds.urls import tag_slug
from safe_html import XSS_VECTORS, assert_safe_html, parse, text_of

LIMA = ZoneInfo("America/Lima")
#: The furniture in English, dates in Lima.
IN_LIMA = words_for("en", "en", LIMA)
MADRID = ZoneInfo("Europe/Madrid")
XSS_BASE = "https://wire.example.org/articles/x/"
PAGE = "https://wire.example.org/articles/peru-water/"
ELLIPSIS = "\u2026"

# --------------------------------------------------------------------------- helpers

#: The site the test pages belong to.
SITE_URL = "https://wire.example.org/"


def rendered(markdown_text: str, page_url: str = XSS_BASE) -> str:
    return render_markdown(markdown_text, page_url, SITE_URL).html


def summary_of(markdown_text: str) -> str:
    return render_markdown(markdown_text, PAGE, SITE_URL).first_paragraph


def utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


def make_article(**changes: Any) -> Article:
    article = Article(
        path="articles/peru-water.md",
        id="tag:wire.example.org,2026-06-01:peru-water",
        slug="peru-water",
        url=PAGE,
        title="Peru's water",
        date=utc(2026, 6, 1, 15),
        authors=(Author(id="ana", name="Ana Quispe", bio_html="<p>Ana reports from Lima.</p>"),),
        summary="Summary.",
        body_html="<p>The body.</p>",
        license=LICENSES["CC-BY-4.0"],
        language="en",
        producer="Wire Desk",
        source="Wire Service",
    )
    return replace(article, **changes)


def positions(haystack: str, needles: list[str]) -> list[int]:
    found = [haystack.find(needle) for needle in needles]
    assert -1 not in found, f"missing {needles[found.index(-1)]!r} in {haystack!r}"
    return found


# --------------------------------------------------------------------------- XSS


@pytest.mark.parametrize(
    "markdown_text", [pytest.param(text, id=name) for name, text in XSS_VECTORS]
)
def test_xss_vector_is_neutralised(markdown_text: str) -> None:
    assert_safe_html(rendered(markdown_text))


@pytest.mark.parametrize(
    "markdown_text", [pytest.param(text, id=name) for name, text in XSS_VECTORS]
)
def test_xss_vector_is_neutralised_inside_a_paragraph(markdown_text: str) -> None:
    """The same vectors mid-paragraph, where Markdown treats HTML as inline."""
    assert_safe_html(rendered(f"Before the vector {markdown_text} after it.\n\nNext paragraph."))


def test_cdata_terminator_in_text_is_escaped() -> None:
    # Feeds may wrap content in CDATA; a literal "]]>" would end it early.
    html_out = rendered("Ends a CDATA section: ]]> and goes on.")
    assert "]]>" not in html_out
    assert text_of(html_out) == "Ends a CDATA section: ]]> and goes on."


def test_javascript_link_text_is_kept_as_visible_text() -> None:
    html_out = rendered("[x](javascript:alert(1))")
    assert parse(html_out).anchors == []
    assert text_of(html_out) == "[x](javascript:alert(1))"


def test_script_content_is_dropped_not_shown() -> None:
    html_out = rendered("Before\n\n<script>alert('stolen')</script>\n\nAfter")
    assert "stolen" not in html_out
    assert text_of(html_out) == "Before After"


def test_event_handler_is_removed_but_the_safe_element_is_kept() -> None:
    html_out = rendered('<a href="https://ok.example/" OnClick="alert(1)">x</a>')
    assert parse(html_out).anchors == [({"href": "https://ok.example/"}, "x")]


def test_links_get_no_rel_added_and_keep_title() -> None:
    html_out = rendered('<a href="https://ok.example/" title="t" target="_blank">ok</a>')
    assert parse(html_out).anchors == [({"href": "https://ok.example/", "title": "t"}, "ok")]


# --------------------------------------------------------------------------- relative URLs

RELATIVE_URLS = [
    ("/images/a.png", "https://wire.example.org/images/a.png"),
    ("../other/", "https://wire.example.org/articles/other/"),
    ("./notes/", "https://wire.example.org/articles/peru-water/notes/"),
    ("other.pdf", "https://wire.example.org/articles/peru-water/other.pdf"),
    ("//cdn.example.net/x.png", "https://cdn.example.net/x.png"),
    ("#section-2", "https://wire.example.org/articles/peru-water/#section-2"),
    ("../other/#frag", "https://wire.example.org/articles/other/#frag"),
    ("mailto:desk@wire.example.org", "mailto:desk@wire.example.org"),
    ("https://example.com/a?b=1&c=2", "https://example.com/a?b=1&c=2"),
    ("?page=2", "https://wire.example.org/articles/peru-water/?page=2"),
]


@pytest.mark.parametrize(("url", "expected"), RELATIVE_URLS)
def test_markdown_link_url_is_made_absolute(url: str, expected: str) -> None:
    parsed = parse(rendered(f"[t]({url})", PAGE))
    assert parsed.anchors == [({"href": expected}, "t")]


@pytest.mark.parametrize(("url", "expected"), RELATIVE_URLS)
def test_markdown_image_url_is_made_absolute(url: str, expected: str) -> None:
    parsed = parse(rendered(f"![alt]({url})", PAGE))
    assert parsed.attrs("img") == [{"src": expected, "alt": "alt"}]


@pytest.mark.parametrize(("url", "expected"), RELATIVE_URLS)
def test_raw_html_urls_are_made_absolute(url: str, expected: str) -> None:
    parsed = parse(rendered(f'<a href="{url}">t</a> <img src="{url}" alt="a">', PAGE))
    assert [a["href"] for a in parsed.attrs("a")] == [expected]
    assert [img["src"] for img in parsed.attrs("img")] == [expected]


# --------------------------------------------------------------------------- Markdown features


def test_table_renders_with_header_and_cells_and_keeps_alignment() -> None:
    html_out = rendered("| City | Litres |\n|:--|--:|\n| Lima | 120 |")
    parsed = parse(html_out)
    assert parsed.names == ["table", "thead", "tr", "th", "th", "tbody", "tr", "td", "td"]
    assert parsed.attrs("th") == [{"style": "text-align:left"}, {"style": "text-align:right"}]
    assert parsed.attrs("td") == [{"style": "text-align:left"}, {"style": "text-align:right"}]
    assert text_of(html_out) == "City Litres Lima 120"


def test_strikethrough() -> None:
    parsed = parse(rendered("~~gone~~ here"))
    assert parsed.names[0] == "p"
    assert parsed.names[1] in {"s", "del"}
    assert parsed.all_text.strip() == "gone here"


@pytest.mark.parametrize(
    ("markdown_text", "tags"),
    [
        ("# One\n\n## Two\n\n###### Six", ["h1", "h2", "h6"]),
        ("- a\n- b", ["ul", "li", "li"]),
        ("1. a\n2. b", ["ol", "li", "li"]),
        ("3. c\n4. d", ["ol", "li", "li"]),
        ("> quoted", ["blockquote", "p"]),
        ("```python\nx = 1 < 2\n```", ["pre", "code"]),
        ("    indented code", ["pre", "code"]),
        ("Some `code` here", ["p", "code"]),
        ("*em* **strong**", ["p", "em", "strong"]),
        ("line  \nbreak", ["p", "br"]),
        ("a\n\n---\n\nb", ["p", "hr", "p"]),
        ("hi <em>there</em>", ["p", "em"]),
        ('<abbr title="World Health Organization">WHO</abbr>', ["p", "abbr"]),
        ("H<sub>2</sub>O and x<sup>2</sup>", ["p", "sub", "sup"]),
    ],
)
def test_markdown_structure_is_kept(markdown_text: str, tags: list[str]) -> None:
    assert parse(rendered(markdown_text)).names == tags


def test_ordered_list_keeps_its_start() -> None:
    assert parse(rendered("3. c\n4. d")).attrs("ol") == [{"start": "3"}]


def test_code_block_content_is_escaped_text() -> None:
    html_out = rendered("```\n<b>not bold</b> & more\n```")
    parsed = parse(html_out)
    assert parsed.names == ["pre", "code"]
    assert parsed.all_text.strip() == "<b>not bold</b> & more"


def test_div_is_stripped_but_its_text_kept() -> None:
    html_out = rendered("<div>hello <b>bold</b></div>")
    parsed = parse(html_out)
    assert "div" not in parsed.names
    assert parsed.names == ["b"]
    assert text_of(html_out) == "hello bold"


def test_image_attributes_are_kept() -> None:
    parsed = parse(rendered('<img src="/a.png" width="10" height="5" alt="a" title="t">', PAGE))
    assert parsed.attrs("img") == [
        {
            "src": "https://wire.example.org/a.png",
            "width": "10",
            "height": "5",
            "alt": "a",
            "title": "t",
        }
    ]


# --------------------------------------------------------------------------- summaries


@pytest.mark.parametrize(
    ("markdown_text", "expected"),
    [
        ("Just one paragraph.", "Just one paragraph."),
        ("First paragraph.\n\nSecond paragraph.", "First paragraph."),
        ("# A heading\n\nThe lede.", "The lede."),
        ("A *styled* **lede** with `code`.", "A styled lede with code."),
        ("See [the report](/report) now.", "See the report now."),
        ("Water &amp; power &eacute;t&#233; &lt;b&gt;", "Water & power été <b>"),
        ("Escaped \\*stars\\*.", "Escaped *stars*."),
        ("A soft\nline break.", "A soft line break."),
        ("A hard  \nline break.", "A hard line break."),
        ("Inline <b>html</b> removed.", "Inline html removed."),
        ("![Lead photo](/images/a.png)\n\nThe real lede.", "The real lede."),
        ("![a](/a.png) ![b](/b.png)\n\nAfter two images.", "After two images."),
        ("<span></span>\n\nAfter an empty paragraph.", "After an empty paragraph."),
        ("> A quoted lede.\n\nNext.", "A quoted lede."),
        ("   Spaced    out   \n   text.  ", "Spaced out text."),
        ("", ""),
        ("# Only a heading", ""),
        ("![Only an image](/a.png)", ""),
    ],
)
def test_summary_is_plain_text_of_first_paragraph(markdown_text: str, expected: str) -> None:
    assert summary_of(markdown_text) == expected


@pytest.mark.parametrize(
    ("text", "limit", "expected"),
    [
        ("Short enough.", 300, "Short enough."),
        ("  spaced   out\n\ttext  ", 300, "spaced out text"),
        ("exactly ten", 11, "exactly ten"),
        ("aaaaaaaaaa", 10, "aaaaaaaaaa"),
        ("one two three four five six", 20, f"one two three four{ELLIPSIS}"),
        # "four" ends exactly at the limit minus one: it fits with the ellipsis.
        ("one two three four five six", 19, f"one two three four{ELLIPSIS}"),
        ("one two three four five six", 14, f"one two three{ELLIPSIS}"),
        ("a" * 50, 10, "a" * 9 + ELLIPSIS),
        ("Supercalifragilistic word", 10, f"Supercali{ELLIPSIS}"),
        ("The mayor spoke, then left quickly", 20, f"The mayor spoke{ELLIPSIS}"),
        ("Prices rose; wages did not", 16, f"Prices rose{ELLIPSIS}"),
        ("Two causes: drought and waste", 16, f"Two causes{ELLIPSIS}"),
        ("It rained. Then it stopped", 14, f"It rained{ELLIPSIS}"),
        ("Water \u2014 the crisis deepens", 10, f"Water{ELLIPSIS}"),
        ("Water - the crisis deepens", 10, f"Water{ELLIPSIS}"),
        ("Água e energia no Peru em crise", 16, f"Água e energia{ELLIPSIS}"),
    ],
)
def test_shorten(text: str, limit: int, expected: str) -> None:
    assert shorten(text, limit) == expected


def test_shorten_default_limit_is_300() -> None:
    text = " ".join(["word"] * 100)  # 499 characters
    short = shorten(text)
    assert len(short) <= 300
    assert short.endswith(ELLIPSIS)
    assert shorten("word " * 60) == ("word " * 60).strip()  # 299 characters


SENTENCE = "Lima's reservoirs fell to a third of capacity, officials said on Tuesday night."


@pytest.mark.parametrize("limit", range(20, len(SENTENCE)))
def test_shorten_always_fits_and_cuts_at_a_word_boundary(limit: int) -> None:
    text = SENTENCE
    short = shorten(text, limit)
    assert len(short) <= limit
    assert short.endswith(ELLIPSIS)
    kept = short[: -len(ELLIPSIS)]
    assert text.startswith(kept)
    assert text[len(kept)] in " ,."
    assert not kept.endswith((" ", ",", "."))


# --------------------------------------------------------------------------- dates


@pytest.mark.parametrize(
    ("text", "zone", "expected"),
    [
        ("2026-10-14T09:30:00-05:00", LIMA, utc(2026, 10, 14, 14, 30)),
        ("2026-10-14T09:30:00-05:00", MADRID, utc(2026, 10, 14, 14, 30)),
        ("2026-10-14T09:30:00+05:30", LIMA, utc(2026, 10, 14, 4, 0)),
        ("2026-10-14 09:30", LIMA, utc(2026, 10, 14, 14, 30)),
        ("2026-10-14T09:30", LIMA, utc(2026, 10, 14, 14, 30)),
        ("2026-10-14T09:30:15", LIMA, utc(2026, 10, 14, 14, 30, 15)),
        ("2026-10-14", LIMA, utc(2026, 10, 14, 5, 0)),
        ("2026-10-14", MADRID, utc(2026, 10, 13, 22, 0)),
        ("2026-10-14T09:30:00Z", LIMA, utc(2026, 10, 14, 9, 30)),
        ("2026-10-14T09:30:00+00:00", MADRID, utc(2026, 10, 14, 9, 30)),
        ("2026-12-31 23:30", LIMA, utc(2027, 1, 1, 4, 30)),
        ("  2026-10-14 09:30  ", LIMA, utc(2026, 10, 14, 14, 30)),
        # Europe/Madrid: +01:00 in winter, +02:00 in summer (29 March to 25 October 2026).
        ("2026-07-14 12:00", MADRID, utc(2026, 7, 14, 10, 0)),
        ("2026-12-14 12:00", MADRID, utc(2026, 12, 14, 11, 0)),
        ("2026-03-28 12:00", MADRID, utc(2026, 3, 28, 11, 0)),
        ("2026-03-30 12:00", MADRID, utc(2026, 3, 30, 10, 0)),
        ("2026-10-24 12:00", MADRID, utc(2026, 10, 24, 10, 0)),
        ("2026-10-26 12:00", MADRID, utc(2026, 10, 26, 11, 0)),
    ],
)
def test_parse_date_gives_aware_utc(text: str, zone: ZoneInfo, expected: datetime) -> None:
    moment = parse_date(text, zone)
    assert moment == expected
    assert moment is not None
    assert moment.tzinfo is not None
    assert moment.utcoffset() == timedelta(0)
    assert moment.tzinfo == UTC


@pytest.mark.parametrize(
    "text",
    [
        "2024-13-01",
        "2024-02-30",
        "2023-02-29",
        "2024-01-01T25:00",
        "yesterday",
        "",
        "   ",
        "1/2/24",
    ],
)
def test_parse_date_refuses_impossible_dates(text: str) -> None:
    assert parse_date(text, LIMA) is None


@pytest.mark.parametrize(
    ("moment", "zone", "expected"),
    [
        (utc(2026, 11, 28, 3, 0), LIMA, "27 November 2026"),
        (utc(2026, 11, 28, 3, 0), ZoneInfo("UTC"), "28 November 2026"),
        (utc(2026, 7, 1, 22, 30), MADRID, "2 July 2026"),
        (utc(2026, 1, 5, 12, 0), LIMA, "5 January 2026"),
        (utc(2027, 1, 1, 3, 0), LIMA, "31 December 2026"),
    ],
)
def test_dates_are_in_the_given_zone(moment: datetime, zone: ZoneInfo, expected: str) -> None:
    assert words_for("en", "en", zone).date(moment) == expected


# --------------------------------------------------------------------------- figure

NASTY = 'Tom & <Jerry> "quoted" <script>steal()</script>'


def test_figure_with_caption_and_linked_credit() -> None:
    image = Image(
        url="https://wire.example.org/images/dry-river.jpg",
        alt="A dry river bed",
        caption="The Rímac in August.",
        credit="Ana Quispe",
        credit_url="https://ana.example/photos?set=1&page=2",
    )
    assert figure_html(image, IN_LIMA) == (
        '<figure><img src="https://wire.example.org/images/dry-river.jpg" alt="A dry river bed">'
        "<figcaption>The Rímac in August. "
        '<small class="credit">Credit: '
        '<a href="https://ana.example/photos?set=1&amp;page=2">Ana Quispe</a></small>'
        "</figcaption></figure>"
    )


def test_figure_credit_without_url_is_plain_text() -> None:
    image = Image(url="https://cdn.example.net/x.png", alt="x", credit="Wire Photo")
    html_out = figure_html(image, IN_LIMA)
    assert parse(html_out).anchors == []
    assert text_of(html_out) == "Credit: Wire Photo"


def test_figure_without_caption_or_credit_has_no_figcaption() -> None:
    html_out = figure_html(Image(url="https://cdn.example.net/x.png", alt="x"), IN_LIMA)
    assert html_out == '<figure><img src="https://cdn.example.net/x.png" alt="x"></figure>'


def test_figure_escapes_every_plain_text_field() -> None:
    image = Image(
        url="https://wire.example.org/images/a.png?size=1&q=2",
        alt=NASTY,
        caption=NASTY,
        credit=NASTY,
        credit_url="https://ana.example/?a=1&b=2",
    )
    html_out = figure_html(image, IN_LIMA)
    parsed = parse(html_out)
    assert parsed.names == ["figure", "img", "figcaption", "small", "a"]
    assert parsed.attrs("img") == [
        {"src": "https://wire.example.org/images/a.png?size=1&q=2", "alt": NASTY}
    ]
    assert parsed.anchors == [({"href": "https://ana.example/?a=1&b=2"}, NASTY)]
    assert text_of(html_out) == " ".join(f"{NASTY} Credit: {NASTY}".split())


# --------------------------------------------------------------------------- footer

ANA = Author(
    id="ana",
    name="Ana Quispe",
    url="https://ana.example/",
    bio_html="<p>Ana reports from Lima.</p>",
)
ZED = Author(id=None, name="Zed Álvarez", bio_html="<p>Zed edits the desk.</p>")


def test_footer_order() -> None:
    article = make_article(
        authors=(ZED, ANA),
        corrections=(Correction(utc(2026, 6, 3, 12), "The reservoir is the Yuracmayo."),),
    )
    html_out = footer_html(article, IN_LIMA)
    assert html_out.startswith("<hr>")
    assert f'produced by <a href="{PAGE}">Wire Desk</a>.' in html_out
    found = positions(
        text_of(html_out),
        [
            "Corrections",
            "The reservoir is the Yuracmayo.",
            "This article was produced by Wire Desk.",
            "Zed edits the desk.",
            "Ana reports from Lima.",
            "This article is licensed under",
            "Original article:",
            "Source: Wire Service",
        ],
    )
    assert found == sorted(found)


def test_footer_text_lines() -> None:
    article = make_article(
        authors=(ZED, ANA),
        corrections=(
            Correction(utc(2026, 6, 3, 12), "First fix."),
            Correction(utc(2026, 11, 28, 3), "Second fix."),
        ),
    )
    assert text_of(footer_html(article, IN_LIMA)) == (
        "Corrections "
        "Correction, 3 June 2026: First fix. "
        "Correction, 27 November 2026: Second fix. "
        "This article was produced by Wire Desk. "
        "Zed Álvarez Zed edits the desk. "
        "Ana Quispe Ana reports from Lima. "
        "This article is licensed under Creative Commons Attribution 4.0 International "
        "(CC BY 4.0). "
        "Original article: https://wire.example.org/articles/peru-water/ "
        "Source: Wire Service"
    )


def test_footer_without_corrections_has_no_corrections_heading() -> None:
    html_out = footer_html(make_article(), IN_LIMA)
    assert "Correction" not in html_out
    assert "h2" not in parse(html_out).names


def test_footer_bios_follow_byline_order_and_link_author_url() -> None:
    html_out = footer_html(make_article(authors=(ZED, ANA)), IN_LIMA)
    assert html_out.index("Zed Álvarez") < html_out.index("Ana Quispe")
    anchors = parse(html_out).anchors
    assert ({"href": "https://ana.example/"}, "Ana Quispe") in anchors
    assert not any(text == "Zed Álvarez" for _, text in anchors)
    assert "<p>Zed edits the desk.</p>" in html_out
    assert "<p>Ana reports from Lima.</p>" in html_out


@pytest.mark.parametrize("license_id", [lid for lid, lic in LICENSES.items() if lic.url])
def test_footer_licence_links_to_its_deed(license_id: str) -> None:
    lic = LICENSES[license_id]
    html_out = footer_html(make_article(license=lic), IN_LIMA)
    assert ({"href": lic.url, "rel": "license"}, lic.name) in parse(html_out).anchors
    assert f"This article is licensed under {lic.name} ({lic.label})." in text_of(html_out)


def test_footer_all_rights_reserved_has_no_licence_link() -> None:
    article = make_article(license=LICENSES["all-rights-reserved"])
    html_out = footer_html(article, IN_LIMA)
    assert not any(attrs.get("rel") == "license" for attrs, _ in parse(html_out).anchors)
    assert "licensed under" not in html_out
    assert "© 2026 Wire Desk. All rights reserved." in text_of(html_out)


def test_footer_all_rights_reserved_year_is_in_the_site_zone() -> None:
    # 03:00 UTC on 1 January 2027 is still 31 December 2026 in Lima.
    article = make_article(license=LICENSES["all-rights-reserved"], date=utc(2027, 1, 1, 3))
    assert "© 2026 Wire Desk. All rights reserved." in text_of(footer_html(article, IN_LIMA))


def test_footer_original_link_is_the_article_url_by_default() -> None:
    anchors = parse(footer_html(make_article(), IN_LIMA)).anchors
    assert anchors[-1] == ({"href": PAGE}, PAGE)


def test_footer_original_link_is_canonical_url_when_set() -> None:
    canonical = "https://origin.example/news/peru-water?ref=wire&lang=en"
    html_out = footer_html(make_article(canonical_url=canonical), IN_LIMA)
    assert parse(html_out).anchors[-1] == ({"href": canonical}, canonical)
    assert PAGE not in html_out


def test_footer_escapes_every_plain_text_field() -> None:
    article = make_article(
        producer=NASTY,
        source=NASTY,
        authors=(
            Author(id=None, name=NASTY, url="https://a.example/?x=1&y=2", bio_html="<p>Bio</p>"),
        ),
        corrections=(Correction(utc(2026, 6, 3, 12), NASTY),),
        license=LICENSES["all-rights-reserved"],
    )
    html_out = footer_html(article, IN_LIMA)
    parsed = parse(html_out)
    assert set(parsed.names) <= {"hr", "h2", "ul", "li", "strong", "p", "em", "a"}
    assert_safe_html(html_out)
    text = parsed.all_text
    assert f"Correction, 3 June 2026: {NASTY}" in text
    assert f"This article was produced by {NASTY}." in text
    assert f"© 2026 {NASTY}. All rights reserved." in text
    assert f"Source: {NASTY}" in text
    assert ({"href": "https://a.example/?x=1&y=2"}, NASTY) in parsed.anchors


# --------------------------------------------------------------------------- content


def test_content_is_figure_then_body_then_footer() -> None:
    image = Image(url="https://wire.example.org/images/a.png", alt="Lead", caption="Cap")
    article = make_article(image=image, body_html="<p>The body.</p>")
    html_out = content_html(article, IN_LIMA)
    assert html_out == figure_html(image, IN_LIMA) + "<p>The body.</p>" + footer_html(
        article, IN_LIMA
    )
    found = positions(html_out, ["<figure>", "<p>The body.</p>", "<hr>", "Source: Wire Service"])
    assert found == sorted(found)
    assert found[0] == 0


def test_content_without_image_has_no_figure() -> None:
    article = make_article(image=None)
    html_out = content_html(article, IN_LIMA)
    assert "figure" not in parse(html_out).names
    assert html_out.startswith("<p>The body.</p><hr>")


def test_content_of_a_rendered_article_is_safe() -> None:
    body = render_markdown(
        "Lede <img src=x onerror=alert(1)> [x](javascript:alert(1)) ![p](/images/p.png)",
        PAGE,
        SITE_URL,
    ).html
    article = make_article(
        body_html=body,
        image=Image(url="https://wire.example.org/images/a.png", alt=NASTY, caption=NASTY),
        producer=NASTY,
    )
    html_out = content_html(article, IN_LIMA)
    assert_safe_html(html_out)
    srcs = [img["src"] for img in parse(html_out).attrs("img")]
    assert srcs == [
        "https://wire.example.org/images/a.png",
        "https://wire.example.org/articles/peru-water/x",
        "https://wire.example.org/images/p.png",
    ]


# --------------------------------------------------------------------------- tag slugs


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Perú", "peru"),
        ("São Paulo", "sao-paulo"),
        ("Climate Change", "climate-change"),
        ("climate  change", "climate-change"),
        ("CLIMATE change", "climate-change"),
        ("  Peru  ", "peru"),
        ("Côte d'Ivoire", "cote-d-ivoire"),
        ("Москва", "moskva"),
        ("Ελλάδα", "ellada"),
        ("北京", "bei-jing"),
        ("COP 30", "cop-30"),
        ("!!!", ""),
    ],
)
def test_tag_slug(name: str, expected: str) -> None:
    slug = tag_slug(name)
    assert slug == expected
    assert slug.isascii()
